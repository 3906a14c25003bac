//! Running a sweep's tasks: `--jobs` worker threads, each taking the next task (a point
//! on a device): emit its files, lint them, co-simulate them, synthesize with each tool
//! build, and run the unit's error study on each workload. Every stage's result goes
//! through a content-addressed cache, so that a repeated or interrupted sweep only runs
//! what is new.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::plan::Task;
use super::spec::Stage;
use crate::synth::{SynthArgs, Tools};

/// What synthesis measured, as the rows and the cache keep it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Metrics {
    /// The unit synthesized alone.
    pub luts: u64,
    pub carries: u64,
    pub ffs: u64,
    pub dsps: u64,
    /// Logic cells of unit and wrapper after place and route.
    pub logic_cells: u64,
    pub fmax_mhz: f64,
    /// Depth and latency of the design synthesized (`--freq` may retry one deeper).
    pub pipeline: Option<u32>,
    pub latency: Option<u32>,
    /// Where the flow's files are.
    pub dir: PathBuf,
}

/// What the error study measured ([`model::study::Errors`]), as rows and the cache
/// keep it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct StudyMetrics {
    pub results: usize,
    pub rel_rms: f64,
    pub snr_db: f64,
    pub max_rel: f64,
    pub flagged: f64,
}

impl From<model::study::Errors> for StudyMetrics {
    fn from(e: model::study::Errors) -> Self {
        StudyMetrics {
            results: e.results,
            rel_rms: e.rel_rms,
            snr_db: e.snr_db,
            max_rel: e.max_rel,
            flagged: e.flagged,
        }
    }
}

/// A row's error study: the workload's K and the result (`Ok(None)`: no study).
pub type StudyCell = (usize, Result<Option<StudyMetrics>, String>);

/// A row's synthesis: the tool build and the result.
type SynthCell = (Option<Tools>, Option<Result<Metrics, String>>);

/// One workload of the error stage: its rows of length `k`, and what identifies it in
/// cache keys (the distribution, length, trials and seed, or the files' hash).
pub struct Workload {
    pub k: usize,
    pub data: model::study::Workload,
    pub id: String,
}

/// One row: a task with one tool build (or none without the synth stage) and one
/// workload (or none without the error stage).
#[derive(Clone, Debug)]
pub struct Row {
    pub task: usize,
    pub tools: Option<Tools>,
    /// `None` when the stage did not run; the error text otherwise.
    pub emit: Result<PathBuf, String>,
    pub lint: Option<Result<(), String>>,
    /// Beats co-simulated.
    pub cosim: Option<Result<u64, String>>,
    pub synth: Option<Result<Metrics, String>>,
    /// The workload's K and the study's result; `Ok(None)`: the unit has no study.
    pub study: Option<StudyCell>,
    /// Every stage that ran came from the cache.
    pub cached: bool,
}

impl Row {
    /// The row's error: every failed stage, named.
    pub fn error(&self) -> Option<String> {
        let mut e = Vec::new();
        if let Err(m) = &self.emit {
            e.push(format!("emit: {m}"));
        }
        if let Some(Err(m)) = &self.lint {
            e.push(format!("lint: {m}"));
        }
        if let Some(Err(m)) = &self.cosim {
            e.push(format!("cosim: {m}"));
        }
        if let Some(Err(m)) = &self.synth {
            e.push(format!("synth: {m}"));
        }
        if let Some((_, Err(m))) = &self.study {
            e.push(format!("error study: {m}"));
        }
        (!e.is_empty()).then(|| e.join("\n"))
    }
}

impl Row {
    /// The error in one line, for the CSV: per failed stage, the tool's `ERROR` or
    /// Verilator's `%Error`/`%Warning` lines if it printed any, else the first line.
    pub fn short_error(&self) -> Option<String> {
        let mut parts = Vec::new();
        let mut add = |stage: &str, m: &str| {
            let mut findings: Vec<String> = m.lines().filter_map(over_capacity).collect();
            findings.extend(
                m.lines()
                    .map(str::trim)
                    .filter(|l| l.starts_with("ERROR") || l.starts_with('%'))
                    .map(String::from),
            );
            let text = if findings.is_empty() {
                m.lines().next().unwrap_or("").to_string()
            } else {
                findings.join(" / ")
            };
            parts.push(format!("{stage}: {text}"));
        };
        if let Err(m) = &self.emit {
            add("emit", m);
        }
        if let Some(Err(m)) = &self.lint {
            add("lint", m);
        }
        if let Some(Err(m)) = &self.cosim {
            add("cosim", m);
        }
        if let Some(Err(m)) = &self.synth {
            add("synth", m);
        }
        if let Some((_, Err(m))) = &self.study {
            add("error study", m);
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// A line of nextpnr's utilisation table whose resource is over capacity, e.g.
/// `Info:  ICESTORM_LC:  8308/ 5280   157%` as `ICESTORM_LC 8308/5280 used`.
fn over_capacity(line: &str) -> Option<String> {
    let rest = line.trim().strip_prefix("Info:")?.trim();
    let (name, counts) = rest.split_once(':')?;
    let (used, avail) = counts.split_once('/')?;
    let used: u64 = used.trim().parse().ok()?;
    let avail: u64 = avail.split_whitespace().next()?.parse().ok()?;
    (used > avail).then(|| format!("{} {used}/{avail} used", name.trim()))
}

/// The cache: one JSON file per result, named by the hash of everything it depends on.
pub struct Cache {
    pub dir: PathBuf,
    /// One lock per key: two points that build the same design (a switch that repeats a
    /// default) run its flow once, the second taking the first's result, and never in
    /// the same folder at once.
    locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl Cache {
    pub fn new(dir: PathBuf) -> Cache {
        Cache {
            dir,
            locks: Mutex::new(HashMap::new()),
        }
    }

    /// The lock of `key`, to hold while looking it up and computing it.
    pub fn lock(&self, key: &str) -> Arc<Mutex<()>> {
        let mut m = self.locks.lock().expect("no worker panicked");
        m.entry(key.to_string()).or_default().clone()
    }

    /// The key of `stage` on `verilog` with these settings and this `gen`.
    pub fn key(stage: Stage, verilog: &str, parts: &[&str]) -> String {
        let mut h = Sha256::new();
        h.update(b"lowbit sweep cache 1\0");
        h.update(crate::generator_id().as_bytes());
        h.update(b"\0");
        h.update(stage.name().as_bytes());
        for p in parts {
            h.update(b"\0");
            h.update(p.as_bytes());
        }
        h.update(b"\0");
        h.update(verilog.as_bytes());
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    pub fn get<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Option<T> {
        let text = std::fs::read_to_string(self.path(key)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Store a result (whole or not at all: written aside, then renamed).
    pub fn put<T: Serialize>(&self, key: &str, value: &T) {
        let text = serde_json::to_string_pretty(value).expect("results serialize");
        let _ = write_atomic(&self.path(key), text.as_bytes());
    }
}

/// Write `bytes` to `path` through a temporary file in the same folder and a rename,
/// so that a reader (or an interrupted run) never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}.{n}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Where a task's files go: DIR/points/<module>/, with a folder per device when the
/// device's delay model placed its pipeline registers and the spec has several devices.
pub fn point_dir(out: &Path, task: &Task, several_devices: bool) -> PathBuf {
    let d = out.join("points").join(&task.module);
    if task.device_specific && several_devices {
        d.join(task.device.name())
    } else {
        d
    }
}

/// Everything a worker needs besides its task.
pub struct Context<'a> {
    pub out: &'a Path,
    pub cache: &'a Cache,
    pub stages: &'a [Stage],
    pub several_devices: bool,
    pub seed: u64,
    /// The error stage's workloads (empty without it).
    pub workloads: &'a [Workload],
    /// Random beats per point in the cosim stage.
    pub cosim_beats: usize,
}

/// A stage's result from the cache, or computed (and stored) under the key's lock;
/// whether it came from the cache.
fn cached<T>(cache: &Cache, key: &str, compute: impl FnOnce() -> T) -> (T, bool)
where
    T: Serialize + for<'de> Deserialize<'de>,
{
    let lock = cache.lock(key);
    let _held = lock.lock().expect("no worker panicked");
    match cache.get::<T>(key) {
        Some(r) => (r, true),
        None => {
            let r = compute();
            cache.put(key, &r);
            (r, false)
        }
    }
}

/// Run one task: its rows, by tool build then workload.
pub fn run_task(i: usize, task: &Task, cx: &Context) -> Vec<Row> {
    let dir = point_dir(cx.out, task, cx.several_devices);
    let emit = emit(task, &dir);
    let mut cached_all = true;
    let mut ran_any = false;
    let device = task.device.name();
    let lint = match (&emit, cx.stages.contains(&Stage::Lint)) {
        (Ok(file), true) => {
            ran_any = true;
            let key = Cache::key(Stage::Lint, &task.design, &[device]);
            let (r, hit) = cached(cx.cache, &key, || lint(file, &task.module));
            cached_all &= hit;
            Some(r)
        }
        _ => None,
    };
    let cosim = match (&emit, cx.stages.contains(&Stage::Cosim)) {
        (Ok(_), true) => {
            ran_any = true;
            let (beats, seed) = (cx.cosim_beats.to_string(), cx.seed.to_string());
            let key = Cache::key(Stage::Cosim, &task.design, &[device, &beats, &seed]);
            let (r, hit) = cached(cx.cache, &key, || {
                (task.cosim)(cx.cosim_beats, cx.seed, &dir).map(|()| cx.cosim_beats as u64)
            });
            cached_all &= hit;
            Some(r)
        }
        _ => None,
    };
    let studies: Vec<Option<StudyCell>> = if cx.stages.contains(&Stage::Error) {
        ran_any = true;
        cx.workloads
            .iter()
            .map(|w| {
                // The study depends on the parameters, not on the device's pipeline.
                let key = Cache::key(Stage::Error, &task.unit_key, &[&w.id]);
                let (r, hit) = cached(cx.cache, &key, || match (task.study)(&w.data) {
                    None => Ok(None),
                    Some(r) => r.map(|e| Some(e.into())).map_err(|e| e.0),
                });
                cached_all &= hit;
                Some((w.k, r))
            })
            .collect()
    } else {
        vec![None]
    };
    let synths: Vec<SynthCell> = if cx.stages.contains(&Stage::Synth) {
        ran_any = true;
        task.synths
            .iter()
            .map(|args| {
                let (r, hit) = synth(task, args, cx);
                cached_all &= hit;
                (Some(args.tools), Some(r))
            })
            .collect()
    } else {
        vec![(None, None)]
    };
    let mut rows = Vec::new();
    for (tools, synth) in &synths {
        for study in &studies {
            rows.push(Row {
                task: i,
                tools: *tools,
                emit: emit.clone(),
                lint: lint.clone(),
                cosim: cosim.clone(),
                synth: synth.clone(),
                study: study.clone(),
                cached: ran_any && cached_all,
            });
        }
    }
    rows
}

/// Write the task's Verilog and metadata; the Verilog file's path.
fn emit(task: &Task, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let v = dir.join(format!("{}.v", task.module));
    let j = dir.join(format!("{}.json", task.module));
    write_atomic(&v, task.verilog.as_bytes()).map_err(|e| format!("{}: {e}", v.display()))?;
    write_atomic(&j, task.meta.as_bytes()).map_err(|e| format!("{}: {e}", j.display()))?;
    Ok(v)
}

/// `verilator --lint-only -Wall` with no waivers: clean when it succeeds and prints no
/// `%Warning` or `%Error` line.
fn lint(file: &Path, top: &str) -> Result<(), String> {
    let out = Command::new("verilator")
        .args(["--lint-only", "-Wall", "--top-module", top])
        .arg(file)
        .output()
        .map_err(|e| format!("verilator cannot start: {e}"))?;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let findings: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("%Warning") || l.starts_with("%Error"))
        .collect();
    if out.status.success() && findings.is_empty() {
        Ok(())
    } else if findings.is_empty() {
        Err(format!(
            "verilator failed without a finding: {}",
            text.trim()
        ))
    } else {
        Err(findings.join("\n"))
    }
}

/// The flow with one tool build, from the cache if it holds the result; whether it did.
fn synth(task: &Task, args: &SynthArgs, cx: &Context) -> (Result<Metrics, String>, bool) {
    let freq = args.freq.map(|f| f.to_string()).unwrap_or_default();
    let seed = cx.seed.to_string();
    let key = Cache::key(
        Stage::Synth,
        &task.design,
        &[
            task.device.name(),
            args.tools.name(),
            &seed,
            if args.dsp { "dsp" } else { "" },
            &freq,
        ],
    );
    cached(cx.cache, &key, || {
        // Unique per cache key but for the seed (one per sweep): no two flows share a folder.
        let tag = format!(
            "{}-{}-{}{}{}",
            task.module,
            task.device.name(),
            args.tools.name(),
            if args.dsp { "-dsp" } else { "" },
            args.freq.map(|f| format!("-f{f}")).unwrap_or_default()
        );
        let dir = cx.out.join("synth").join(tag);
        let args = SynthArgs {
            out: Some(dir.clone()),
            json: None,
            ..args.clone()
        };
        let mut log = Vec::new();
        let r = (task.flow)(&args, &mut log)
            .map(|rep| Metrics {
                luts: rep.unit.luts,
                carries: rep.unit.carries,
                ffs: rep.unit.ffs,
                dsps: rep.unit.dsps,
                logic_cells: rep.logic_cells.0,
                fmax_mhz: (rep.fmax_mhz * 100.0).round() / 100.0,
                pipeline: rep.pipeline,
                latency: rep.latency,
                dir: rep.dir.clone(),
            })
            .map_err(|f| f.message);
        if std::fs::create_dir_all(&dir).is_ok() {
            let _ = std::fs::write(dir.join("sweep.log"), &log);
        }
        r
    })
}

/// Run every task on `jobs` threads; `done` is called after each task with its rows.
pub fn run_all(
    tasks: &[Task],
    cx: &Context,
    jobs: usize,
    done: &(dyn Fn(&[Row]) + Sync),
) -> Vec<Row> {
    let next = AtomicUsize::new(0);
    let rows = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, tasks.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(task) = tasks.get(i) else { break };
                let r = run_task(i, task, cx);
                done(&r);
                rows.lock().expect("no worker panicked").extend(r);
            });
        }
    });
    let mut rows = rows.into_inner().expect("no worker panicked");
    rows.sort_by_key(|r| {
        let tool = tasks[r.task]
            .synths
            .iter()
            .position(|a| Some(a.tools) == r.tools);
        (r.task, tool, r.study.as_ref().map(|s| s.0))
    });
    rows
}
