//! `gen sweep SPEC.toml`: units across their parameters, devices and tool builds, one
//! row per design point in CSV and JSON (docs/sweep.md).
//!
//! - [`spec`] reads the TOML and expands each `[[unit]]` table into points;
//! - [`plan`] parses every point through `gen`'s own command line and builds it, so a
//!   bad spec is refused (exit 2, file, line and key) before anything runs;
//! - [`run`] runs the stages on `--jobs` threads through a content-addressed cache;
//! - [`report`] writes DIR/sweep.csv and DIR/sweep.json, and [`plot`] DIR/sweep.svg.

pub mod jobs;
pub mod plan;
pub mod plot;
pub mod report;
pub mod run;
pub mod spec;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::Failure;
use spec::Stage;

/// Flags of `gen sweep`.
#[derive(Args, Debug, Clone)]
pub struct SweepArgs {
    /// The sweep: devices, tool builds, stages, seed, [workload], [[unit]] and [[plot]]
    /// tables (docs/sweep.md); TOML, or JSON of the same shape when the name ends in .json.
    #[arg(value_name = "SPEC.toml", required_unless_present = "collect")]
    pub spec: Option<PathBuf>,
    /// Check the spec and write one self-contained command per point and device into
    /// DIR (jobs.txt for GNU Parallel, slurm.sh for an `sbatch` job array, each point's
    /// own spec), instead of running them.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["collect", "output_dir", "jobs"])]
    pub emit_jobs: Option<PathBuf>,
    /// Merge the results of the jobs `--emit-jobs DIR` wrote into DIR/sweep.csv,
    /// sweep.json and sweep.svg.
    #[arg(long, value_name = "DIR",
          conflicts_with_all = ["spec", "output_dir", "jobs", "stages", "cache", "tools_dir"])]
    pub collect: Option<PathBuf>,
    /// Points run at once [default: the number of cores].
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = crate::values::ranged_u64(1, 256))]
    pub jobs: Option<u64>,
    /// Folder for sweep.csv, sweep.json, the points' files and the flows' folders
    /// [default: build/sweep/<spec name>].
    #[arg(long = "output-dir", value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Stages to run, instead of the spec's: emit, lint, cosim, synth, error.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "STAGE,...")]
    pub stages: Option<Vec<Stage>>,
    /// Folder of the result cache [default: DIR/.cache].
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Folder searched first for the tools, as for `gen synth`.
    #[arg(long, value_name = "DIR")]
    pub tools_dir: Option<PathBuf>,
}

/// Run a sweep.
pub fn run(
    args: &SweepArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let _ = stdout;
    if let Some(dir) = &args.collect {
        return jobs::collect(dir, stderr);
    }
    let file = args
        .spec
        .as_ref()
        .expect("clap requires SPEC without --collect");
    let text = std::fs::read_to_string(file).map_err(|e| {
        Failure::usage(format!(
            "invalid value '{}' for '<SPEC.toml>': {e}",
            file.display()
        ))
    })?;
    let source = spec::SpecText::new(file, text).map_err(|e| {
        Failure::usage(match e.line {
            Some(l) => format!("{}:{l}: {}", file.display(), e.message),
            None => format!("{}: {}", file.display(), e.message),
        })
    })?;
    let mut spec =
        spec::parse(&source.toml).map_err(|e| Failure::usage(source.render(file, &e)))?;
    if let Some(stages) = &args.stages {
        spec.stages = stages.clone();
        spec.stages_line = None;
    }
    spec.stages.sort();
    spec.stages.dedup();
    if args.stages.is_some() {
        // The spec's plots whose columns the stages chosen here do not fill are left out.
        let stages = spec.stages.clone();
        spec.plots.retain(|p| {
            let missing = p.missing_stage(&stages);
            if let Some(stage) = missing {
                let _ = writeln!(
                    stderr,
                    "sweep: {} left out: it needs the {} stage",
                    p.file,
                    stage.name()
                );
            }
            missing.is_none()
        });
    }
    let workloads = if spec.stages.contains(&Stage::Error) {
        workloads(&spec, file).map_err(Failure::usage)?
    } else {
        Vec::new()
    };
    crate::tools::check_dirs(args.tools_dir.as_deref()).map_err(Failure::usage)?;
    let tasks = plan::plan(&spec, args.tools_dir.as_deref())
        .map_err(|e| Failure::usage(source.render(file, &e)))?;
    if let Some(dir) = &args.emit_jobs {
        return jobs::emit(
            &spec,
            &tasks,
            file,
            dir,
            args.cache.as_deref(),
            args.tools_dir.as_deref(),
            stderr,
        );
    }
    check_tools(&spec, &tasks, args.tools_dir.as_deref())?;

    let out = args.output_dir.clone().unwrap_or_else(|| {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "sweep".into());
        Path::new("build/sweep").join(stem)
    });
    let cache_dir = args.cache.clone().unwrap_or_else(|| out.join(".cache"));
    for (flag, d) in [("--output-dir <DIR>", &out), ("--cache <DIR>", &cache_dir)] {
        std::fs::create_dir_all(d).map_err(|e| {
            Failure::usage(format!("invalid value '{}' for '{flag}': {e}", d.display()))
        })?;
    }
    if spec.stages.contains(&Stage::Cosim) {
        // Verilated models are built once per design, beside the sweep's other results.
        sim::build::set_cache_dir(&cache_dir.join("sim"));
    }
    let cache = run::Cache::new(cache_dir);
    let jobs = args.jobs.map(|j| j as usize).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let cx = run::Context {
        out: &out,
        cache: &cache,
        stages: &spec.stages,
        several_devices: spec.devices.len() > 1,
        seed: spec.seed,
        workloads: &workloads,
        cosim_beats: spec.cosim_beats,
    };
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(tasks.len() as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} points, {elapsed} elapsed, ETA {eta} {wide_msg}",
        )
        .expect("a valid template"),
    );
    let start = Instant::now();
    let rows = run::run_all(&tasks, &cx, jobs, &|rows: &[run::Row]| {
        if let Some(r) = rows.first() {
            bar.set_message(tasks[r.task].module.clone());
        }
        bar.inc(1);
    });
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();

    report::write(&out, &spec, &tasks, &rows, file)?;
    let failed = rows.iter().filter(|r| r.error().is_some()).count();
    let cached = rows.iter().filter(|r| r.cached).count();
    let stages: Vec<&str> = spec.stages.iter().map(|s| s.name()).collect();
    let _ = writeln!(
        stderr,
        "sweep: {} points on {} device(s) = {} rows ({}): {} done, {cached} from the cache, \
         {failed} failed, {seconds:.1} s; {}",
        spec.units.iter().map(|u| u.points.len()).sum::<usize>(),
        spec.devices.len(),
        rows.len(),
        stages.join(", "),
        rows.len() - failed,
        out.join("sweep.csv").display()
    );
    if failed > 0 {
        return Err(Failure::other(format!(
            "{failed} of {} rows failed: see the error column of {}",
            rows.len(),
            out.join("sweep.csv").display()
        )));
    }
    Ok(())
}

/// The tools the stages need, found before anything runs (a missing tool is not a
/// failed point).
fn check_tools(
    spec: &spec::Spec,
    tasks: &[plan::Task],
    tools_dir: Option<&Path>,
) -> Result<(), Failure> {
    for stage in [Stage::Lint, Stage::Cosim] {
        if spec.stages.contains(&stage) && crate::tools::find("verilator", None).is_none() {
            return Err(Failure::other(format!(
                "`verilator` not found on PATH, which the {} stage needs: {}",
                stage.name(),
                crate::tools::install_hint("verilator")
            )));
        }
    }
    if spec.stages.contains(&Stage::Synth) {
        for t in tasks {
            for a in &t.synths {
                let (pnr, pack) = match a.device.family() {
                    crate::synth::Family::Ice40 => ("nextpnr-ice40", "icepack"),
                    crate::synth::Family::Ecp5 => ("nextpnr-ecp5", "ecppack"),
                };
                for tool in ["yosys", pnr, pack] {
                    a.tools.command(tool, tools_dir).map_err(Failure::from)?;
                }
            }
        }
    }
    Ok(())
}

/// The error stage's workloads: one per length of a synthetic workload, or the rows of
/// the spec's `.npy` files (relative to the spec's folder), checked before anything runs.
fn workloads(spec: &spec::Spec, file: &Path) -> Result<Vec<run::Workload>, String> {
    let w = &spec.workload;
    match &w.source {
        spec::Source::Synthetic(dist) => Ok(w
            .ks
            .iter()
            .map(|&k| run::Workload {
                k,
                data: model::study::Workload::synthetic(*dist, k, w.trials, spec.seed),
                id: format!(
                    "{} k {k} trials {} seed {}",
                    dist.name(),
                    w.trials,
                    spec.seed
                ),
            })
            .collect()),
        spec::Source::Files { x, w: wf } => {
            let base = file.parent().unwrap_or(Path::new("."));
            let at = |key: &str| match w.line {
                Some(l) => format!("{}:{l}: [workload] key '{key}'", file.display()),
                None => format!("{}: [workload] key '{key}'", file.display()),
            };
            // Shape, values and the file's bytes (for the cache key).
            type Read = (Vec<usize>, Vec<f64>, Vec<u8>);
            let read = |key: &str, name: &str| -> Result<Read, String> {
                let path = base.join(name);
                let bytes = std::fs::read(&path)
                    .map_err(|e| format!("{}: {}: {e}", at(key), path.display()))?;
                let (shape, elements) = crate::fit::parse_npy_shaped(&bytes)
                    .map_err(|e| format!("{}: {}: {e}", at(key), path.display()))?;
                if shape.is_empty() || shape.len() > 2 {
                    return Err(format!(
                        "{}: {}: shape {shape:?}: give rows of K values (a 2-D array) or one row",
                        at(key),
                        path.display()
                    ));
                }
                let values = elements
                    .iter()
                    .map(|e| match e {
                        crate::fit::Element::Int(i) => *i as f64,
                        crate::fit::Element::Float(f) => *f,
                    })
                    .collect();
                Ok((shape, values, bytes))
            };
            let (sx, vx, bx) = read("x", x)?;
            let (sw, vw, bw) = read("w", wf)?;
            if sx != sw {
                return Err(format!(
                    "{}: the activations have shape {sx:?} and the weights {sw:?}: give the same shape",
                    at("w")
                ));
            }
            let k = *sx.last().expect("a parsed array has a shape");
            let data = model::study::Workload::from_rows(format!("{x} . {wf}"), k, vx, vw)
                .map_err(|e| format!("{}: {e}", at("x")))?;
            let mut h = <sha2::Sha256 as sha2::Digest>::new();
            sha2::Digest::update(&mut h, &bx);
            sha2::Digest::update(&mut h, b"\0");
            sha2::Digest::update(&mut h, &bw);
            let digest: String = sha2::Digest::finalize(h)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            Ok(vec![run::Workload {
                k,
                data,
                id: format!("files {digest}"),
            }])
        }
    }
}
