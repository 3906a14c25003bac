//! A sweep on a cluster, on engines that already exist: `gen sweep SPEC --emit-jobs DIR`
//! writes one self-contained command per task (a point on a device) for GNU Parallel or a
//! Slurm job array, and `gen sweep --collect DIR` merges their results.
//!
//! DIR after `--emit-jobs` (the spec checked as for a run, nothing run):
//! - `points/<i>.toml`: the task's own spec, every key a single value;
//! - `jobs.txt`: line i is `gen sweep DIR/points/<i>.toml --output-dir DIR/results/<i>
//!   --jobs 1 --cache DIR/cache` (or `--cache`'s folder), with absolute paths (`gen` as this executable): a GNU
//!   Parallel job file (`parallel < DIR/jobs.txt`);
//! - `slurm.sh`: an `sbatch` array script whose task i runs line i;
//! - `jobs.json`: the manifest `--collect` reads (the spec, its columns, the count).
//!
//! `--collect DIR` reads every `results/<i>/sweep.json` and writes DIR/sweep.csv,
//! sweep.json and sweep.svg with the rows in job order, as a local run would; jobs with
//! no results yet are named, and make the exit status 1 after the merge is written.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::plan::Task;
use super::report::{self, Document};
use super::spec::{PlotSpec, Source, Spec, Value};
use crate::error::Failure;

/// `DIR/jobs.json`.
#[derive(Serialize, Deserialize)]
struct Manifest {
    generator: String,
    spec: String,
    stages: Vec<String>,
    devices: Vec<String>,
    seed: u64,
    keys: Vec<String>,
    /// The spec's `[[plot]]` tables, drawn by `--collect`.
    #[serde(default)]
    plots: Vec<PlotSpec>,
    jobs: usize,
}

/// A path as a POSIX shell word.
fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// A TOML string (TOML's basic strings take JSON's escapes).
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

fn job_name(i: usize, count: usize) -> String {
    let width = count.to_string().len().max(4);
    format!("{i:0width$}")
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The spec of one task: the run's devices (this task's), tools, stages and seed, and
/// one `[[unit]]` table of single values.
fn point_spec(spec: &Spec, task: &Task, spec_file: &Path) -> String {
    let origin = spec_file.display().to_string();
    let list = |v: Vec<&str>| {
        v.iter()
            .map(|s| toml_string(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut t = format!(
        "# One task of {origin}: {} on {}.\n",
        task.module,
        task.device.name()
    );
    t += &format!("devices = [{}]\n", list(vec![task.device.name()]));
    t += &format!(
        "tools = [{}]\n",
        list(spec.tools.iter().map(|x| x.name()).collect())
    );
    t += &format!(
        "stages = [{}]\n",
        list(spec.stages.iter().map(|s| s.name()).collect())
    );
    t += &format!(
        "seed = {}\n\n[[unit]]\nname = {}\n",
        spec.seed,
        toml_string(task.unit)
    );
    for (key, value) in &task.point {
        let v = match value {
            Value::Text(s) => toml_string(s),
            Value::Switch(b) => b.to_string(),
        };
        t += &format!("{key} = {v}\n");
    }
    t += &format!("\n[cosim]\nbeats = {}\n\n[workload]\n", spec.cosim_beats);
    let w = &spec.workload;
    match &w.source {
        Source::Synthetic(d) => {
            let ks: Vec<String> = w.ks.iter().map(|k| k.to_string()).collect();
            t += &format!(
                "dist = {}\nk = [{}]\ntrials = {}\n",
                toml_string(d.name()),
                ks.join(", "),
                w.trials
            );
        }
        Source::Files { x, w } => {
            // Absolute: the point's spec lives in another folder than the sweep's.
            let base = spec_file.parent().unwrap_or(Path::new("."));
            for (key, f) in [("x", x), ("w", w)] {
                let path = absolute(&base.join(f));
                t += &format!("{key} = {}\n", toml_string(&path.display().to_string()));
            }
        }
    }
    t
}

/// Write the job set of `tasks` into `dir`.
pub fn emit(
    spec: &Spec,
    tasks: &[Task],
    spec_file: &Path,
    dir: &Path,
    cache: Option<&Path>,
    tools_dir: Option<&Path>,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let bad_dir = |e: &dyn std::fmt::Display| {
        Failure::usage(format!(
            "invalid value '{}' for '--emit-jobs <DIR>': {e}",
            dir.display()
        ))
    };
    if dir.join("jobs.txt").exists() {
        return Err(bad_dir(
            &"it already holds a job set (jobs.txt): choose a new folder, or remove it first",
        ));
    }
    let dir = absolute(dir);
    let gen = std::env::current_exe().map_err(|e| bad_dir(&e))?;
    std::fs::create_dir_all(dir.join("points")).map_err(|e| bad_dir(&e))?;
    let origin = spec_file.display().to_string();
    let cache = cache.map_or_else(|| dir.join("cache"), absolute);
    let mut jobs = String::new();
    for (i, task) in tasks.iter().enumerate() {
        let name = job_name(i + 1, tasks.len());
        let point = dir.join("points").join(format!("{name}.toml"));
        std::fs::write(&point, point_spec(spec, task, spec_file))
            .map_err(|e| Failure::io(&point, e))?;
        jobs += &format!(
            "{} sweep {} --output-dir {} --jobs 1 --cache {}",
            quote(&gen),
            quote(&point),
            quote(&dir.join("results").join(&name)),
            quote(&cache)
        );
        if let Some(t) = tools_dir {
            jobs += &format!(" --tools-dir {}", quote(&absolute(t)));
        }
        jobs += "\n";
    }
    let list = dir.join("jobs.txt");
    let slurm = format!(
        "#!/bin/sh\n\
         # The sweep {origin} as a Slurm job array: array task i runs line i of jobs.txt.\n\
         # Submit with: sbatch {script}\n\
         # then merge with: gen sweep --collect {dirq}\n\
         #SBATCH --job-name=lowbit-sweep\n\
         #SBATCH --array=1-{n}\n\
         #SBATCH --cpus-per-task=1\n\
         #SBATCH --output={out}/slurm-%A_%a.log\n\
         exec sh -c \"$(sed -n \"${{SLURM_ARRAY_TASK_ID}}p\" {listq})\"\n",
        script = quote(&dir.join("slurm.sh")),
        dirq = quote(&dir),
        n = tasks.len(),
        out = dir.join("logs").display(),
        listq = quote(&list),
    );
    let manifest = Manifest {
        generator: crate::generator_id(),
        spec: origin,
        stages: spec.stages.iter().map(|s| s.name().to_string()).collect(),
        devices: spec.devices.iter().map(|d| d.name().to_string()).collect(),
        seed: spec.seed,
        keys: report::param_keys(spec),
        plots: spec.plots.clone(),
        jobs: tasks.len(),
    };
    std::fs::create_dir_all(dir.join("logs")).map_err(|e| bad_dir(&e))?;
    for (name, text) in [
        ("slurm.sh", slurm),
        (
            "jobs.json",
            serde_json::to_string_pretty(&manifest).expect("serializes") + "\n",
        ),
        // Last: its presence marks a complete job set.
        ("jobs.txt", jobs),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| Failure::io(&path, e))?;
    }
    let _ = writeln!(
        stderr,
        "sweep: {} jobs in {}\n  GNU Parallel: parallel --joblog {} < {}\n  Slurm:        sbatch {}\n  \
         then:         gen sweep --collect {}",
        tasks.len(),
        dir.display(),
        quote(&dir.join("parallel.log")),
        quote(&list),
        quote(&dir.join("slurm.sh")),
        quote(&dir),
    );
    Ok(())
}

/// Merge the results of the job set in `dir`.
pub fn collect(dir: &Path, stderr: &mut dyn Write) -> Result<(), Failure> {
    let path = dir.join("jobs.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Failure::usage(format!(
            "invalid value '{}' for '--collect <DIR>': no job set there ({}: {e}); \
             `gen sweep SPEC --emit-jobs DIR` writes one",
            dir.display(),
            path.display()
        ))
    })?;
    let m: Manifest = serde_json::from_str(&text).map_err(|e| {
        Failure::usage(format!(
            "invalid value '{}' for '--collect <DIR>': {} is not a job manifest: {e}",
            dir.display(),
            path.display()
        ))
    })?;
    let mut doc = Document {
        generator: crate::generator_id(),
        spec: m.spec,
        stages: m.stages,
        devices: m.devices,
        seed: m.seed,
        keys: m.keys,
        plots: m.plots,
        rows: Vec::new(),
    };
    let mut missing = Vec::new();
    for i in 1..=m.jobs {
        let name = job_name(i, m.jobs);
        let part = dir.join("results").join(&name).join("sweep.json");
        let Ok(text) = std::fs::read_to_string(&part) else {
            missing.push(name);
            continue;
        };
        let d: Document = serde_json::from_str(&text).map_err(|e| {
            Failure::other(format!("{} is not a sweep's result: {e}", part.display()))
        })?;
        doc.rows.extend(d.rows);
    }
    report::write_document(dir, &doc)?;
    let failed = doc
        .rows
        .iter()
        .filter(|r| r.get("error").is_some_and(|e| !e.is_null()))
        .count();
    let _ = writeln!(
        stderr,
        "sweep: {} of {} jobs collected, {} rows, {failed} failed; {}",
        m.jobs - missing.len(),
        m.jobs,
        doc.rows.len(),
        dir.join("sweep.csv").display()
    );
    if !missing.is_empty() {
        return Err(Failure::other(format!(
            "{} of {} jobs have no results yet (results/<job>/sweep.json): {}",
            missing.len(),
            m.jobs,
            missing.join(", ")
        )));
    }
    if failed > 0 {
        return Err(Failure::other(format!(
            "{failed} of {} rows failed: see the error column of {}",
            doc.rows.len(),
            dir.join("sweep.csv").display()
        )));
    }
    Ok(())
}
