//! A sweep's results: DIR/sweep.csv and DIR/sweep.json, one row per (point, device,
//! tool build), with the parameters, module, latency, metrics and error.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::plan::Task;
use super::plot::Point;
use super::run::Row;
use super::spec::{Front, PlotSpec, Spec};
use crate::error::Failure;

/// The columns after the parameters, in order.
const COLUMNS: [&str; 22] = [
    "device",
    "tools",
    "module",
    "pipeline",
    "latency",
    "lint",
    "cosim",
    "luts",
    "carries",
    "ffs",
    "dsps",
    "logic_cells",
    "fmax_mhz",
    "macs_per_cycle",
    "mmacs_per_lut",
    "k",
    "snr_db",
    "rel_rms",
    "max_rel",
    "flagged",
    "cached",
    "error",
];

/// One row as JSON: unit, params, then [`COLUMNS`] (null where empty).
fn row_json(task: &Task, row: &Row) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("unit".into(), task.unit.into());
    let params: Map<String, Value> = task
        .settings
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    m.insert("params".into(), Value::Object(params));
    m.insert("device".into(), task.device.name().into());
    m.insert("tools".into(), row.tools.map(|t| t.name()).into());
    m.insert("module".into(), task.module.clone().into());
    let synth = row.synth.as_ref().and_then(|s| s.as_ref().ok());
    let pipeline = synth.and_then(|s| s.pipeline).unwrap_or(task.pipeline);
    let latency = synth.and_then(|s| s.latency).unwrap_or(task.latency);
    m.insert("pipeline".into(), pipeline.into());
    m.insert("latency".into(), latency.into());
    m.insert(
        "lint".into(),
        row.lint
            .as_ref()
            .map(|l| if l.is_ok() { "clean" } else { "failed" })
            .into(),
    );
    let num = |f: fn(&super::run::Metrics) -> u64| synth.map(f).into();
    m.insert("luts".into(), num(|s| s.luts));
    m.insert("carries".into(), num(|s| s.carries));
    m.insert("ffs".into(), num(|s| s.ffs));
    m.insert("dsps".into(), num(|s| s.dsps));
    m.insert("logic_cells".into(), num(|s| s.logic_cells));
    m.insert("fmax_mhz".into(), synth.map(|s| s.fmax_mhz).into());
    m.insert("macs_per_cycle".into(), task.macs_per_cycle.into());
    let per_lut = match (synth, task.macs_per_cycle) {
        (Some(s), Some(macs)) if s.luts > 0 => {
            Some((macs * s.fmax_mhz / s.luts as f64 * 1000.0).round() / 1000.0)
        }
        _ => None,
    };
    m.insert("mmacs_per_lut".into(), per_lut.into());
    m.insert(
        "cosim".into(),
        row.cosim
            .as_ref()
            .map(|c| if c.is_ok() { "passed" } else { "failed" })
            .into(),
    );
    let study = row.study.as_ref();
    m.insert("k".into(), study.map(|s| s.0).into());
    let errors = study
        .and_then(|s| s.1.as_ref().ok())
        .and_then(|e| e.as_ref());
    // Ten significant digits: what the workload can tell apart, and the same text from
    // builds whose floating-point code differs in the last bit.
    let digits = |v: f64| format!("{v:.9e}").parse::<f64>().unwrap_or(v);
    m.insert("snr_db".into(), errors.map(|e| digits(e.snr_db)).into());
    m.insert("rel_rms".into(), errors.map(|e| digits(e.rel_rms)).into());
    m.insert("max_rel".into(), errors.map(|e| digits(e.max_rel)).into());
    m.insert("flagged".into(), errors.map(|e| e.flagged).into());
    m.insert("cached".into(), row.cached.into());
    m.insert("error".into(), row.error().into());
    m.insert("error_summary".into(), row.short_error().into());
    m
}

/// A CSV field: quoted when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_value(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => csv_field(s),
        Some(other) => csv_field(&other.to_string()),
    }
}

/// The whole JSON document.
#[derive(Serialize, Deserialize)]
pub struct Document {
    pub generator: String,
    pub spec: String,
    pub stages: Vec<String>,
    pub devices: Vec<String>,
    pub seed: u64,
    /// The parameter columns, in the spec's order.
    #[serde(default)]
    pub keys: Vec<String>,
    /// The spec's `[[plot]]` tables (empty: the default plots).
    #[serde(default)]
    pub plots: Vec<PlotSpec>,
    pub rows: Vec<Map<String, Value>>,
}

/// The parameter columns: every key of every unit, in the spec's order.
pub fn param_keys(spec: &Spec) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for u in &spec.units {
        for (k, _) in &u.keys {
            // `pipeline` has its column among the results: the depth built.
            if !keys.contains(k) && !COLUMNS.contains(&k.as_str()) {
                keys.push(k.clone());
            }
        }
    }
    keys
}

/// Write DIR/sweep.csv, DIR/sweep.json and DIR/sweep.svg of a run.
pub fn write(
    out: &Path,
    spec: &Spec,
    tasks: &[Task],
    rows: &[Row],
    spec_file: &Path,
) -> Result<(), Failure> {
    let doc = Document {
        generator: crate::generator_id(),
        spec: spec_file.display().to_string(),
        stages: spec.stages.iter().map(|s| s.name().to_string()).collect(),
        devices: spec.devices.iter().map(|d| d.name().to_string()).collect(),
        seed: spec.seed,
        keys: param_keys(spec),
        plots: spec.plots.clone(),
        rows: rows.iter().map(|r| row_json(&tasks[r.task], r)).collect(),
    };
    write_document(out, &doc)
}

/// Write a document's rows as DIR/sweep.csv, DIR/sweep.json and (when any row was
/// synthesized) DIR/sweep.svg: for a run, and for `--collect`'s merged rows.
pub fn write_document(out: &Path, doc: &Document) -> Result<(), Failure> {
    let mut csv = String::from("unit");
    for k in &doc.keys {
        csv += &format!(",{}", csv_field(k));
    }
    for c in COLUMNS {
        csv += &format!(",{c}");
    }
    csv += "\n";
    for r in &doc.rows {
        csv += &csv_value(r.get("unit"));
        let params = r.get("params").and_then(Value::as_object);
        for k in &doc.keys {
            csv += ",";
            csv += &csv_value(params.and_then(|p| p.get(k)));
        }
        for c in COLUMNS {
            csv += ",";
            csv += &csv_value(r.get(if c == "error" { "error_summary" } else { c }));
        }
        csv += "\n";
    }
    let json = serde_json::to_string_pretty(doc).expect("rows serialize") + "\n";
    let mut files = vec![
        ("sweep.csv".to_string(), csv.into_bytes()),
        ("sweep.json".to_string(), json.into_bytes()),
    ];
    for plot in plots_for(doc) {
        let points = plot_points(doc, &plot);
        if let Some(svg) = super::plot::svg(&points, &plot).map_err(Failure::other)? {
            files.push((plot.file.clone(), svg.into_bytes()));
        }
    }
    for (name, bytes) in files {
        let path = out.join(&name);
        super::run::write_atomic(&path, &bytes).map_err(|e| Failure::io(&path, e))?;
    }
    Ok(())
}

/// A row's cell: a result column, else a parameter.
fn cell<'a>(row: &'a Map<String, Value>, column: &str) -> Option<&'a Value> {
    row.get(column).or_else(|| {
        row.get("params")
            .and_then(Value::as_object)
            .and_then(|p| p.get(column))
    })
}

/// A cell as a number (a parameter `true`/`false` as 1/0).
fn number(row: &Map<String, Value>, column: &str) -> Option<f64> {
    match cell(row, column)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "true" => Some(1.0),
            "false" => Some(0.0),
            t => t.parse().ok(),
        },
        _ => None,
    }
}

/// A cell as text, for series names.
fn text(row: &Map<String, Value>, column: &str) -> Option<String> {
    match cell(row, column)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The rows of a plot: every row with both columns, named by its series columns (with
/// the column name for parameters and K, `acc 12`; the unit, device and tool build
/// bare).
fn plot_points(doc: &Document, plot: &PlotSpec) -> Vec<Point> {
    doc.rows
        .iter()
        .filter(|r| {
            plot.filter
                .iter()
                .all(|(c, vals)| text(r, c).is_some_and(|t| vals.contains(&t)))
        })
        .filter_map(|r| {
            let (x, y) = (number(r, &plot.x)?, number(r, &plot.y)?);
            let series: Vec<String> = plot
                .series
                .iter()
                .filter_map(|c| {
                    let t = text(r, c)?;
                    Some(if super::spec::TEXT_COLUMNS.contains(&c.as_str()) {
                        t
                    } else {
                        format!("{c} {t}")
                    })
                })
                .collect();
            Some(Point {
                series: series.join(" "),
                x,
                y,
            })
        })
        .collect()
}

/// The plots of a document: its own, or by default Fmax against LUTs (sweep.svg) when
/// rows were synthesized, and the error at the longest K against LUTs (error.svg) when
/// they were also studied; series by unit, and by device and tool build when there are
/// several.
pub fn plots_for(doc: &Document) -> Vec<PlotSpec> {
    if !doc.plots.is_empty() {
        return doc.plots.clone();
    }
    let distinct = |c: &str| {
        let mut v: Vec<String> = doc.rows.iter().filter_map(|r| text(r, c)).collect();
        v.sort();
        v.dedup();
        v.len()
    };
    let mut series = vec!["unit".to_string()];
    if distinct("device") > 1 {
        series.push("device".into());
    }
    if distinct("tools") > 1 {
        series.push("tools".into());
    }
    let has = |c: &str| doc.rows.iter().any(|r| number(r, c).is_some());
    let base = PlotSpec {
        x: "luts".into(),
        y: "fmax_mhz".into(),
        series: series.clone(),
        front: Some(Front::Max),
        log_x: false,
        log_y: false,
        lines: false,
        filter: Vec::new(),
        file: "sweep.svg".into(),
        title: Some(format!(
            "Fmax against LUTs, {}",
            Path::new(&doc.spec)
                .file_name()
                .map_or(String::new(), |f| f.to_string_lossy().into_owned())
        )),
        line: 0,
    };
    let mut plots = Vec::new();
    if has("luts") {
        plots.push(base.clone());
        if has("snr_db") {
            // A front compares designs on one workload: the longest dot products.
            let k = doc
                .rows
                .iter()
                .filter_map(|r| number(r, "k"))
                .fold(0.0, f64::max);
            plots.push(PlotSpec {
                y: "snr_db".into(),
                series,
                filter: vec![("k".into(), vec![format!("{k}")])],
                file: "error.svg".into(),
                title: Some(format!("SNR of K = {k} dot products against LUTs")),
                ..base
            });
        }
    }
    plots
}
