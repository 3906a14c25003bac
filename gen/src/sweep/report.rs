//! A sweep's results: DIR/sweep.csv and DIR/sweep.json, one row per (point, device,
//! tool build), with the parameters, module, latency, metrics and error.

use std::path::Path;

use serde::Serialize;
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
#[derive(Serialize)]
struct Document {
    generator: String,
    spec: String,
    stages: Vec<&'static str>,
    devices: Vec<&'static str>,
    seed: u64,
    rows: Vec<Map<String, Value>>,
}

/// Write DIR/sweep.csv and DIR/sweep.json.
pub fn write(
    out: &Path,
    spec: &Spec,
    tasks: &[Task],
    rows: &[Row],
    spec_file: &Path,
) -> Result<(), Failure> {
    let json_rows: Vec<Map<String, Value>> =
        rows.iter().map(|r| row_json(&tasks[r.task], r)).collect();
    // The parameter columns: every key of every unit, in the spec's order.
    let mut keys: Vec<String> = Vec::new();
    for u in &spec.units {
        for (k, _) in &u.keys {
            // `pipeline` has its column among the results: the depth built.
            if !keys.contains(k) && !COLUMNS.contains(&k.as_str()) {
                keys.push(k.clone());
            }
        }
    }
    let mut csv = String::from("unit");
    for k in &keys {
        csv += &format!(",{}", csv_field(k));
    }
    for c in COLUMNS {
        csv += &format!(",{c}");
    }
    csv += "\n";
    for (r, row) in json_rows.iter().zip(rows) {
        let short = row.short_error().map(Value::String);
        csv += &csv_value(r.get("unit"));
        let params = r.get("params").and_then(Value::as_object);
        for k in &keys {
            csv += ",";
            csv += &csv_value(params.and_then(|p| p.get(k)));
        }
        for c in COLUMNS {
            csv += ",";
            csv += &csv_value(if c == "error" {
                short.as_ref()
            } else {
                r.get(c)
            });
        }
        csv += "\n";
    }
    let doc = Document {
        generator: crate::generator_id(),
        spec: spec_file.display().to_string(),
        stages: spec.stages.iter().map(|s| s.name()).collect(),
        devices: spec.devices.iter().map(|d| d.name()).collect(),
        seed: spec.seed,
        rows: json_rows,
    };
    let json = serde_json::to_string_pretty(&doc).expect("rows serialize") + "\n";
    let mut files = vec![
        ("sweep.csv", csv.into_bytes()),
        ("sweep.json", json.into_bytes()),
    ];
    let several = spec.devices.len() * spec.tools.len() > 1;
    let points: Vec<super::plot::Point> = rows
        .iter()
        .filter_map(|r| {
            let m = r.synth.as_ref()?.as_ref().ok()?;
            let t = &tasks[r.task];
            let unit = if several {
                format!(
                    "{} {} {}",
                    t.unit,
                    t.device.name(),
                    r.tools.map_or("", |x| x.name())
                )
            } else {
                t.unit.to_string()
            };
            Some(super::plot::Point {
                unit,
                luts: m.luts as f64,
                fmax_mhz: m.fmax_mhz,
            })
        })
        .collect();
    let title = format!(
        "Fmax against LUTs, {}",
        spec_file
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
