//! A sweep's spec (TOML, docs/sweep.md): devices, tool builds, stages, seed and
//! `[[unit]]` tables whose keys are the unit's flags (without `--`), each a scalar, a
//! list or a range table `{ from, to, step }`. This module reads the file with its
//! spans and expands each unit table into points; it checks only the shape of the file.
//! Whether a point's values are allowed is decided by the command-line parser itself
//! ([`super::plan`]), so no range is declared twice.

use std::path::Path;

use clap::ValueEnum;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::synth::{Device, Tools};

mod json;
mod plots;
mod workload;

pub use json::SpecText;
pub use plots::{check_plots, Front, PlotSpec, NUMERIC_COLUMNS, TEXT_COLUMNS};
pub use workload::{Source, WorkloadSpec};

/// What a sweep runs on each point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Stage {
    /// The Verilog and metadata JSON into DIR/points/<module>/ (always done).
    Emit,
    /// `verilator --lint-only -Wall` on the emitted Verilog.
    Lint,
    /// Yosys and nextpnr: LUTs, FFs, DSPs, Fmax (`gen synth`'s flow).
    Synth,
    /// Verilator co-simulation of the emitted design against the unit's model on random
    /// beats (a smoke test: `[cosim] beats`, default 20000).
    Cosim,
    /// The numerical error study of the unit's model on the `[workload]`.
    Error,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Emit => "emit",
            Stage::Lint => "lint",
            Stage::Synth => "synth",
            Stage::Cosim => "cosim",
            Stage::Error => "error",
        }
    }
}

/// A value of one flag at one point, as the command line would take it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Text given after the flag (`--acc 12`).
    Text(String),
    /// A switch: on (`--dsp`) or off (absent).
    Switch(bool),
}

impl Value {
    /// How the value appears in the CSV and JSON.
    pub fn show(&self) -> String {
        match self {
            Value::Text(t) => t.clone(),
            Value::Switch(b) => b.to_string(),
        }
    }
}

/// One key of a unit table at one point: key, value and the line it came from.
#[derive(Clone, Debug)]
pub struct Setting {
    pub key: String,
    pub value: Value,
    pub line: usize,
}

/// One `[[unit]]` table, expanded.
#[derive(Clone, Debug)]
pub struct UnitSweep {
    /// The `name` as written (a subcommand or a kind).
    pub name: String,
    /// The line of `name`.
    pub line: usize,
    /// The keys, in file order, each with its line (for errors about a key).
    pub keys: Vec<(String, usize)>,
    /// Every point: one setting per key.
    pub points: Vec<Vec<Setting>>,
}

/// A whole spec.
#[derive(Clone, Debug)]
pub struct Spec {
    pub devices: Vec<Device>,
    pub tools: Vec<Tools>,
    pub stages: Vec<Stage>,
    /// The line of `stages`, if given.
    pub stages_line: Option<usize>,
    /// The lines of `devices` and `tools`, if given.
    pub devices_line: Option<usize>,
    pub tools_line: Option<usize>,
    pub seed: u64,
    pub units: Vec<UnitSweep>,
    pub workload: WorkloadSpec,
    /// Random beats per point in the cosim stage.
    pub cosim_beats: usize,
    /// The `[[plot]]` tables; empty: the default plots (docs/sweep.md).
    pub plots: Vec<PlotSpec>,
}

/// A defect of the spec: where, and what.
#[derive(Clone, Debug)]
pub struct SpecError {
    pub line: Option<usize>,
    pub message: String,
}

impl SpecError {
    pub fn at(line: usize, message: impl Into<String>) -> SpecError {
        SpecError {
            line: Some(line),
            message: message.into(),
        }
    }

    /// The message as `gen` prints it: `FILE:LINE: message`.
    pub fn render(&self, file: &Path) -> String {
        match self.line {
            Some(l) => format!("{}:{l}: {}", file.display(), self.message),
            None => format!("{}: {}", file.display(), self.message),
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// Spans to lines.
struct Lines<'a>(&'a str);

impl Lines<'_> {
    fn of<T>(&self, s: &Spanned<T>) -> usize {
        line_of(self.0, s.span().start)
    }
}

/// Read and expand a spec's text.
pub fn parse(text: &str) -> Result<Spec, SpecError> {
    let lines = Lines(text);
    let root = DeTable::parse(text).map_err(|e| SpecError {
        line: e.span().map(|s| line_of(text, s.start)),
        message: format!("not valid TOML: {}", e.message().trim()),
    })?;
    let mut spec = Spec {
        devices: vec![Device::Up5k],
        tools: vec![Tools::Yowasp],
        stages: vec![Stage::Emit, Stage::Lint, Stage::Synth],
        stages_line: None,
        devices_line: None,
        tools_line: None,
        seed: 1,
        units: Vec::new(),
        workload: WorkloadSpec::default(),
        cosim_beats: 20_000,
        plots: Vec::new(),
    };
    let mut any_unit = false;
    for (key, value) in root.get_ref().iter() {
        let line = lines.of(key);
        match key.get_ref().as_ref_str() {
            "devices" => {
                spec.devices = names(&lines, "devices", value, Device::from_str)?;
                spec.devices_line = Some(line);
            }
            "tools" => {
                spec.tools = names(&lines, "tools", value, Tools::from_str)?;
                spec.tools_line = Some(line);
            }
            "stages" => {
                spec.stages = names(&lines, "stages", value, Stage::from_str)?;
                spec.stages_line = Some(line);
            }
            "seed" => {
                let v = value.get_ref();
                let seed = v
                    .as_integer()
                    .and_then(|i| i64::from_str_radix(i.as_str(), i.radix()).ok())
                    .filter(|s| (0..=i64::from(u32::MAX)).contains(s))
                    .ok_or_else(|| {
                        SpecError::at(
                            lines.of(value),
                            format!(
                                "key 'seed': {} is not a placement seed: allowed an integer in \
                                 0..={}",
                                show_toml(v),
                                u32::MAX
                            ),
                        )
                    })?;
                spec.seed = seed as u64;
            }
            "unit" => {
                any_unit = true;
                let Some(array) = value.get_ref().as_array() else {
                    return Err(SpecError::at(
                        line,
                        "'unit' must be an array of tables: write each as [[unit]]",
                    ));
                };
                for t in array.iter() {
                    let Some(table) = t.get_ref().as_table() else {
                        return Err(SpecError::at(
                            lines.of(t),
                            "each 'unit' must be a table: write each as [[unit]]",
                        ));
                    };
                    spec.units.push(unit(&lines, lines.of(t), table)?);
                }
            }
            "workload" => {
                let table = value.get_ref().as_table().ok_or_else(|| {
                    SpecError::at(line, "'workload' must be a table: write it as [workload]")
                })?;
                spec.workload = workload::workload(&lines, line, table)?;
            }
            "cosim" => {
                let table = value.get_ref().as_table().ok_or_else(|| {
                    SpecError::at(line, "'cosim' must be a table: write it as [cosim]")
                })?;
                for (k, v) in table.iter() {
                    match k.get_ref().as_ref_str() {
                        "beats" => {
                            spec.cosim_beats = integer(&lines, "beats", v, 1, 10_000_000)? as usize
                        }
                        other => {
                            return Err(SpecError::at(
                                lines.of(k),
                                format!("unknown key '{other}' in [cosim]: allowed beats"),
                            ))
                        }
                    }
                }
            }
            "plot" => {
                let Some(array) = value.get_ref().as_array() else {
                    return Err(SpecError::at(
                        line,
                        "'plot' must be an array of tables: write each as [[plot]]",
                    ));
                };
                for t in array.iter() {
                    let Some(table) = t.get_ref().as_table() else {
                        return Err(SpecError::at(
                            lines.of(t),
                            "each 'plot' must be a table: write each as [[plot]]",
                        ));
                    };
                    spec.plots.push(plots::plot(&lines, lines.of(t), table)?);
                }
            }
            other => {
                return Err(SpecError::at(
                    line,
                    format!(
                        "unknown key '{other}': the top level takes devices, tools, stages, \
                         seed, [workload], [cosim], [[unit]] and [[plot]] tables"
                    ),
                ))
            }
        }
    }
    if !any_unit {
        return Err(SpecError {
            line: None,
            message: "no [[unit]] table: a sweep needs at least one unit".into(),
        });
    }
    check_plots(&spec)?;
    Ok(spec)
}

/// An integer in `lo..=hi`.
fn integer(
    lines: &Lines,
    key: &str,
    value: &Spanned<DeValue>,
    lo: i64,
    hi: i64,
) -> Result<i64, SpecError> {
    value
        .get_ref()
        .as_integer()
        .and_then(|i| i64::from_str_radix(i.as_str(), i.radix()).ok())
        .filter(|v| (lo..=hi).contains(v))
        .ok_or_else(|| {
            SpecError::at(
                lines.of(value),
                format!(
                    "key '{key}': {} is not allowed: allowed an integer in {lo}..={hi}",
                    show_toml(value.get_ref())
                ),
            )
        })
}

/// A string.
fn string(lines: &Lines, key: &str, value: &Spanned<DeValue>) -> Result<String, SpecError> {
    value.get_ref().as_str().map(str::to_string).ok_or_else(|| {
        SpecError::at(
            lines.of(value),
            format!(
                "key '{key}': {} is not a string",
                show_toml(value.get_ref())
            ),
        )
    })
}

/// A boolean.
fn boolean(lines: &Lines, key: &str, value: &Spanned<DeValue>) -> Result<bool, SpecError> {
    value.get_ref().as_bool().ok_or_else(|| {
        SpecError::at(
            lines.of(value),
            format!(
                "key '{key}': {} is not allowed: give true or false",
                show_toml(value.get_ref())
            ),
        )
    })
}

trait AsRefStr {
    fn as_ref_str(&self) -> &str;
}

impl AsRefStr for std::borrow::Cow<'_, str> {
    fn as_ref_str(&self) -> &str {
        self
    }
}

/// A TOML value as the user wrote it, roughly, for messages.
fn show_toml(v: &DeValue) -> String {
    match v {
        DeValue::String(s) => format!("'{s}'"),
        DeValue::Integer(i) => i.to_string(),
        DeValue::Float(f) => f.to_string(),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        DeValue::Array(_) => "a list".into(),
        DeValue::Table(_) => "a table".into(),
    }
}

/// A list of names (or one name) each parsed by `parse` (clap's own value parser for
/// devices and tool builds, so the names are the ones `gen synth` takes).
fn names<T: ValueEnum>(
    lines: &Lines,
    key: &str,
    value: &Spanned<DeValue>,
    parse: fn(&str, bool) -> Result<T, String>,
) -> Result<Vec<T>, SpecError> {
    let items: Vec<&Spanned<DeValue>> = match value.get_ref() {
        DeValue::Array(a) => a.iter().collect(),
        _ => vec![value],
    };
    if items.is_empty() {
        return Err(SpecError::at(
            lines.of(value),
            format!("key '{key}': the list is empty"),
        ));
    }
    let allowed: Vec<String> = T::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
        .collect();
    let mut out = Vec::new();
    for item in items {
        let bad = || {
            SpecError::at(
                lines.of(item),
                format!(
                    "key '{key}': {} is not allowed: allowed {}",
                    show_toml(item.get_ref()),
                    allowed.join(", ")
                ),
            )
        };
        let name = item.get_ref().as_str().ok_or_else(bad)?;
        out.push(parse(name, false).map_err(|_| bad())?);
    }
    Ok(out)
}

/// One `[[unit]]` table: its name and the product of its keys' values.
fn unit(lines: &Lines, line: usize, table: &DeTable) -> Result<UnitSweep, SpecError> {
    let mut name = None;
    let mut keys = Vec::new();
    let mut axes: Vec<Vec<Setting>> = Vec::new();
    for (key, value) in table.iter() {
        let k = key.get_ref().as_ref_str().to_string();
        let key_line = lines.of(key);
        if k == "name" {
            let n = value.get_ref().as_str().ok_or_else(|| {
                SpecError::at(
                    key_line,
                    "key 'name': the unit's subcommand as a string, e.g. name = \"mac\"",
                )
            })?;
            name = Some((n.to_string(), key_line));
            continue;
        }
        let values = axis(lines, &k, value)?;
        axes.push(
            values
                .into_iter()
                .map(|(value, line)| Setting {
                    key: k.clone(),
                    value,
                    line,
                })
                .collect(),
        );
        keys.push((k, key_line));
    }
    let Some((name, name_line)) = name else {
        return Err(SpecError::at(
            line,
            "a [[unit]] table without 'name': give the unit's subcommand, e.g. name = \"mac\"",
        ));
    };
    let mut points: Vec<Vec<Setting>> = vec![Vec::new()];
    for axis in &axes {
        points = points
            .iter()
            .flat_map(|p| {
                axis.iter().map(move |s| {
                    let mut q = p.clone();
                    q.push(s.clone());
                    q
                })
            })
            .collect();
    }
    Ok(UnitSweep {
        name,
        line: name_line,
        keys,
        points,
    })
}

/// The values of one key: a scalar, a list of scalars, or a range table.
fn axis(
    lines: &Lines,
    key: &str,
    value: &Spanned<DeValue>,
) -> Result<Vec<(Value, usize)>, SpecError> {
    let line = lines.of(value);
    match value.get_ref() {
        DeValue::Array(a) => {
            if a.is_empty() {
                return Err(SpecError::at(
                    line,
                    format!("key '{key}': the list is empty"),
                ));
            }
            a.iter()
                .map(|v| Ok((scalar(lines, key, v)?, lines.of(v))))
                .collect()
        }
        DeValue::Table(t) => range(lines, key, line, t),
        _ => Ok(vec![(scalar(lines, key, value)?, line)]),
    }
}

/// A scalar: integer, float or string as text, a boolean as a switch.
fn scalar(lines: &Lines, key: &str, value: &Spanned<DeValue>) -> Result<Value, SpecError> {
    Ok(match value.get_ref() {
        DeValue::Integer(i) => Value::Text(
            i64::from_str_radix(i.as_str(), i.radix())
                .map(|v| v.to_string())
                .unwrap_or_else(|_| i.as_str().to_string()),
        ),
        DeValue::Float(f) => Value::Text(f.as_str().to_string()),
        DeValue::String(s) => Value::Text(s.to_string()),
        DeValue::Boolean(b) => Value::Switch(*b),
        other => {
            return Err(SpecError::at(
                lines.of(value),
                format!(
                    "key '{key}': {} is not a value: give a number, a string, true/false, a \
                     list of those, or a range {{ from = 4, to = 16, step = 4 }}",
                    show_toml(other)
                ),
            ))
        }
    })
}

/// A range table `{ from, to, step = 1 }` of integers, `to` included.
fn range(
    lines: &Lines,
    key: &str,
    line: usize,
    t: &DeTable,
) -> Result<Vec<(Value, usize)>, SpecError> {
    let mut from = None;
    let mut to = None;
    let mut step = 1i64;
    for (k, v) in t.iter() {
        let int = v
            .get_ref()
            .as_integer()
            .and_then(|i| i64::from_str_radix(i.as_str(), i.radix()).ok())
            .ok_or_else(|| {
                SpecError::at(
                    lines.of(v),
                    format!(
                        "key '{key}': the range's '{}' must be an integer",
                        k.get_ref()
                    ),
                )
            })?;
        match k.get_ref().as_ref_str() {
            "from" => from = Some(int),
            "to" => to = Some(int),
            "step" => step = int,
            other => {
                return Err(SpecError::at(
                    lines.of(k),
                    format!(
                        "key '{key}': a range takes from, to and step, not '{other}' \
                         (e.g. {{ from = 4, to = 16, step = 4 }})"
                    ),
                ))
            }
        }
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(SpecError::at(
            line,
            format!("key '{key}': a range needs 'from' and 'to' (e.g. {{ from = 4, to = 16 }})"),
        ));
    };
    if step <= 0 {
        return Err(SpecError::at(
            line,
            format!("key '{key}': the range's step {step} must be positive"),
        ));
    }
    if from > to {
        return Err(SpecError::at(
            line,
            format!("key '{key}': the range from {from} to {to} is empty"),
        ));
    }
    let mut out = Vec::new();
    let mut v = from;
    while v <= to {
        out.push((Value::Text(v.to_string()), line));
        if out.len() > 100_000 {
            return Err(SpecError::at(
                line,
                format!("key '{key}': the range has more than 100000 values"),
            ));
        }
        match v.checked_add(step) {
            Some(n) => v = n,
            None => break,
        }
    }
    Ok(out)
}
