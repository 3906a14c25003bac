//! A sweep's results: DIR/sweep.csv and DIR/sweep.json, one row per (point, device,
//! tool build), with the parameters, module, latency, metrics and error.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::plan::Task;
use super::run::Row;
use super::spec::Spec;
use crate::error::Failure;

/// The columns after the parameters, in order.
const COLUMNS: [&str; 16] = [
    "device",
    "tools",
    "module",
    "pipeline",
    "latency",
    "lint",
    "luts",
    "carries",
    "ffs",
    "dsps",
    "logic_cells",
    "fmax_mhz",
    "macs_per_cycle",
    "mmacs_per_lut",
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
        ("sweep.csv", csv.into_bytes()),
        ("sweep.json", json.into_bytes()),
    ];
    let text = |r: &Map<String, Value>, k: &str| {
        r.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let several = {
        let mut builds: Vec<(String, String)> = doc
            .rows
            .iter()
            .map(|r| (text(r, "device"), text(r, "tools")))
            .collect();
        builds.sort();
        builds.dedup();
        builds.len() > 1
    };
    let points: Vec<super::plot::Point> = doc
        .rows
        .iter()
        .filter_map(|r| {
            let luts = r.get("luts")?.as_f64()?;
            let fmax_mhz = r.get("fmax_mhz")?.as_f64()?;
            let unit = if several {
                format!(
                    "{} {} {}",
                    text(r, "unit"),
                    text(r, "device"),
                    text(r, "tools")
                )
            } else {
                text(r, "unit")
            };
            Some(super::plot::Point {
                unit,
                luts,
                fmax_mhz,
            })
        })
        .collect();
    let title = format!(
        "Fmax against LUTs, {}",
        Path::new(&doc.spec)
            .file_name()
            .map_or(String::new(), |f| f.to_string_lossy().into_owned())
    );
    if let Some(svg) = super::plot::svg(&points, &title).map_err(Failure::other)? {
        files.push(("sweep.svg", svg.into_bytes()));
    }
    for (name, bytes) in files {
        let path = out.join(name);
        super::run::write_atomic(&path, &bytes).map_err(|e| Failure::io(&path, e))?;
    }
    Ok(())
}
