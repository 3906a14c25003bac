//! The `[[plot]]` tables of a spec and the columns they may name.

use toml::de::{DeTable, DeValue};

use super::{axis, boolean, string, AsRefStr, Lines, Spec, SpecError, Stage};

/// The columns a row has besides its parameters that hold numbers, with the stage that
/// fills them (for plots).
pub const NUMERIC_COLUMNS: [(&str, Option<Stage>); 15] = [
    ("pipeline", None),
    ("latency", None),
    ("macs_per_cycle", None),
    ("luts", Some(Stage::Synth)),
    ("carries", Some(Stage::Synth)),
    ("ffs", Some(Stage::Synth)),
    ("dsps", Some(Stage::Synth)),
    ("logic_cells", Some(Stage::Synth)),
    ("fmax_mhz", Some(Stage::Synth)),
    ("mmacs_per_lut", Some(Stage::Synth)),
    ("k", Some(Stage::Error)),
    ("snr_db", Some(Stage::Error)),
    ("rel_rms", Some(Stage::Error)),
    ("max_rel", Some(Stage::Error)),
    ("flagged", Some(Stage::Error)),
];

/// Text columns a plot may group its series by, besides the parameters.
pub const TEXT_COLUMNS: [&str; 4] = ["unit", "device", "tools", "module"];

/// Which way a plot's Pareto front goes: the points no other point beats with a
/// smaller-or-equal x and a better-or-equal y.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Front {
    /// Larger y is better (SNR, Fmax, MAC/s per LUT).
    Max,
    /// Smaller y is better (an error).
    Min,
}

/// A `[[plot]]` table: one SVG of column `y` against column `x`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlotSpec {
    pub x: String,
    pub y: String,
    /// Columns whose values name a row's series (its colour), joined by spaces.
    pub series: Vec<String>,
    pub front: Option<Front>,
    pub log_x: bool,
    pub log_y: bool,
    /// Join each series' points by increasing x.
    pub lines: bool,
    /// Only the rows whose column holds one of the values (`where = { k = 4096 }`).
    #[serde(default, rename = "where")]
    pub filter: Vec<(String, Vec<String>)>,
    /// The file name in the output folder, e.g. `error-vs-luts.svg`.
    pub file: String,
    pub title: Option<String>,
    pub line: usize,
}

/// Every plot's columns exist: a result column or a unit table's key.
pub fn check_plots(spec: &Spec) -> Result<(), SpecError> {
    let keys: Vec<&str> = spec
        .units
        .iter()
        .flat_map(|u| u.keys.iter().map(|(k, _)| k.as_str()))
        .collect();
    let numeric: Vec<&str> = NUMERIC_COLUMNS.iter().map(|c| c.0).collect();
    for p in &spec.plots {
        for (what, col) in [("x", &p.x), ("y", &p.y)] {
            if !numeric.contains(&col.as_str()) && !keys.contains(&col.as_str()) {
                return Err(SpecError::at(
                    p.line,
                    format!(
                        "[[plot]] key '{what}': no column '{col}': allowed {} or a unit key \
                         ({})",
                        numeric.join(", "),
                        if keys.is_empty() {
                            "none".to_string()
                        } else {
                            keys.join(", ")
                        }
                    ),
                ));
            }
            if let Some(stage) = stage_of(col).filter(|s| !spec.stages.contains(s)) {
                return Err(SpecError::at(
                    p.line,
                    format!(
                        "[[plot]] key '{what}': column '{col}' comes from the {} stage, which \
                         the sweep does not run (stages = {:?})",
                        stage.name(),
                        spec.stages.iter().map(|s| s.name()).collect::<Vec<_>>()
                    ),
                ));
            }
        }
        for col in p.series.iter().chain(p.filter.iter().map(|f| &f.0)) {
            if !TEXT_COLUMNS.contains(&col.as_str())
                && !numeric.contains(&col.as_str())
                && !keys.contains(&col.as_str())
            {
                return Err(SpecError::at(
                    p.line,
                    format!(
                        "[[plot]] key 'series' or 'where': no column '{col}': allowed {}, a \
                         result column or a unit key",
                        TEXT_COLUMNS.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The stage that fills a numeric column, if one does.
fn stage_of(column: &str) -> Option<Stage> {
    NUMERIC_COLUMNS
        .iter()
        .find(|c| c.0 == column)
        .and_then(|c| c.1)
}

impl PlotSpec {
    /// A stage the plot's axes need that is not among `stages`.
    pub fn missing_stage(&self, stages: &[Stage]) -> Option<Stage> {
        [&self.x, &self.y]
            .into_iter()
            .filter_map(|c| stage_of(c))
            .find(|s| !stages.contains(s))
    }
}

/// A `[[plot]]` table.
pub(super) fn plot(lines: &Lines, line: usize, table: &DeTable) -> Result<PlotSpec, SpecError> {
    let mut p = PlotSpec {
        x: String::new(),
        y: String::new(),
        series: vec!["unit".into()],
        front: None,
        log_x: false,
        log_y: false,
        lines: false,
        filter: Vec::new(),
        file: String::new(),
        title: None,
        line,
    };
    for (k, v) in table.iter() {
        match k.get_ref().as_ref_str() {
            "x" => p.x = string(lines, "x", v)?,
            "y" => p.y = string(lines, "y", v)?,
            "series" => {
                p.series = match v.get_ref() {
                    DeValue::Array(a) => a
                        .iter()
                        .map(|i| string(lines, "series", i))
                        .collect::<Result<_, _>>()?,
                    _ => vec![string(lines, "series", v)?],
                }
            }
            "front" => {
                p.front = match string(lines, "front", v)?.as_str() {
                    "max" => Some(Front::Max),
                    "min" => Some(Front::Min),
                    "none" => None,
                    other => {
                        return Err(SpecError::at(
                            lines.of(v),
                            format!(
                                "key 'front': '{other}' is not allowed: allowed max (larger y \
                                 is better), min, none"
                            ),
                        ))
                    }
                }
            }
            "log_x" => p.log_x = boolean(lines, "log_x", v)?,
            "log_y" => p.log_y = boolean(lines, "log_y", v)?,
            "lines" => p.lines = boolean(lines, "lines", v)?,
            "where" => {
                let t = v.get_ref().as_table().ok_or_else(|| {
                    SpecError::at(
                        lines.of(v),
                        "key 'where': a table of columns and values, e.g. where = { k = 4096 }",
                    )
                })?;
                for (col, vals) in t.iter() {
                    let col = col.get_ref().as_ref_str().to_string();
                    let values = axis(lines, &col, vals)?
                        .into_iter()
                        .map(|(v, _)| v.show())
                        .collect();
                    p.filter.push((col, values));
                }
            }
            "file" => {
                let f = string(lines, "file", v)?;
                let plain = !f.is_empty()
                    && f.ends_with(".svg")
                    && f.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                    && !f.starts_with('.');
                if !plain {
                    return Err(SpecError::at(
                        lines.of(v),
                        format!(
                            "key 'file': '{f}' is not allowed: a file name ending in .svg, of \
                             letters, digits, '-', '_' and '.' (it goes in the output folder)"
                        ),
                    ));
                }
                p.file = f;
            }
            "title" => p.title = Some(string(lines, "title", v)?),
            other => {
                return Err(SpecError::at(
                    lines.of(k),
                    format!(
                        "unknown key '{other}' in [[plot]]: allowed x, y, series, front, log_x, \
                         log_y, lines, where, file, title"
                    ),
                ))
            }
        }
    }
    for (key, v) in [("x", &p.x), ("y", &p.y)] {
        if v.is_empty() {
            return Err(SpecError::at(
                line,
                format!(
                    "[[plot]] without '{key}': give a column, e.g. x = \"luts\", y = \"snr_db\""
                ),
            ));
        }
    }
    if p.file.is_empty() {
        p.file = format!("{}-vs-{}.svg", p.y, p.x);
    }
    Ok(p)
}
