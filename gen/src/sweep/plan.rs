//! From a spec's points to built designs: each point becomes the command line
//! `gen synth <unit> --flag value ... --device D --tools T --seed S` and is parsed by
//! `gen`'s own parser ([`crate::cli::command`], the unit's declared flags, its
//! `validate`), then built ([`crate::commands::emit::build`]). Every range and rule is
//! the command line's; a point the command line would refuse is a spec error naming the
//! file, line and key, found before anything runs.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use clap::FromArgMatches;
use hdl::{design_verilog, Header};
use model::param::Kind;
use model::study::{Errors, StudyError, Workload};
use model::UnitParams;

use super::spec::{Setting, Spec, SpecError, Stage, UnitSweep, Value};
use crate::cli::args::{Depth, PipelineArgs};
use crate::commands::emit;
use crate::commands::synth::built_report;
use crate::error::Failure;
use crate::registry::{visit_named, Registered, Visit};
use crate::synth::{Device, SynthArgs, SynthReport};

/// The keys a unit table takes besides the unit's own flags: `gen synth`'s pipelining
/// and clock target, and its DSP switch.
const EXTRA_KEYS: [(&str, bool); 3] = [("pipeline", false), ("freq", false), ("dsp", true)];

/// The units whose products per cycle ([`model::UnitParams::macs_per_cycle`]) make a
/// MAC/s per LUT figure, as the density tables use it; the others (quantizers,
/// converters) get an empty cell.
const MAC_KINDS: [&str; 8] = [
    "mac",
    "fpacc",
    "fpacc_long",
    "bfp_dot",
    "lns_mac",
    "expq_dot",
    "mx_dot",
    "palq_pe",
];

/// The flow on a built design, with its `gen synth` flags; progress lines go to the
/// writer.
pub type Flow = dyn Fn(&SynthArgs, &mut dyn Write) -> Result<SynthReport, Failure> + Send + Sync;

/// The unit's error study ([`model::Unit::study`]) on a workload.
pub type Study = dyn Fn(&Workload) -> Option<Result<Errors, StudyError>> + Send + Sync;

/// Co-simulate the design against its model on `beats` random beats from `seed`; a
/// failure's waveform goes into the folder.
pub type Cosim = dyn Fn(usize, u64, &Path) -> Result<(), String> + Send + Sync;

/// One point on one device, built.
pub struct Task {
    /// The unit's subcommand.
    pub unit: &'static str,
    /// The point's keys and values as the spec gives them.
    pub settings: Vec<(String, String)>,
    /// The same, typed: what `--emit-jobs` writes into the point's own spec.
    pub point: Vec<(String, Value)>,
    pub device: Device,
    pub module: String,
    pub latency: u32,
    pub pipeline: u32,
    /// Products per cycle, for units that multiply-accumulate.
    pub macs_per_cycle: Option<f64>,
    /// Whether the design depends on the device (pipelined by its delay model).
    pub device_specific: bool,
    pub verilog: String,
    /// The Verilog as the flows see it: without the header's command line, which
    /// differs between points that build the same design (`signed = true` and the
    /// default). The cache keys hash this text.
    pub design: String,
    pub meta: String,
    /// `gen synth`'s flags for each tool build of the spec.
    pub synths: Vec<SynthArgs>,
    pub flow: Arc<Flow>,
    /// The unit's parameters without the pipeline (what its error study depends on),
    /// as the cache keys hash them.
    pub unit_key: String,
    pub study: Arc<Study>,
    pub cosim: Arc<Cosim>,
}

/// Every task of a spec, or its first defect.
pub fn plan(spec: &Spec, tools_dir: Option<&Path>) -> Result<Vec<Task>, SpecError> {
    let mut tasks = Vec::new();
    for u in &spec.units {
        let mut p = Plan {
            unit: u,
            spec,
            tools_dir,
            result: Ok(Vec::new()),
        };
        if !visit_named(&u.name, &mut p) {
            let names: Vec<&str> = crate::registry::infos().iter().map(|i| i.command).collect();
            return Err(SpecError::at(
                u.line,
                format!(
                    "key 'name': unknown unit '{}': allowed {}",
                    u.name,
                    names.join(", ")
                ),
            ));
        }
        tasks.extend(p.result?);
    }
    Ok(tasks)
}

struct Plan<'a> {
    unit: &'a UnitSweep,
    spec: &'a Spec,
    tools_dir: Option<&'a Path>,
    result: Result<Vec<Task>, SpecError>,
}

impl Visit for Plan<'_> {
    fn visit<U: Registered>(&mut self) {
        self.result = self.tasks::<U>();
    }
}

impl Plan<'_> {
    fn tasks<U: Registered>(&self) -> Result<Vec<Task>, SpecError> {
        let u = self.unit;
        // Every key is a flag of the unit (or of `gen synth`), of the right sort.
        for (key, line) in &u.keys {
            let switch = U::PARAMS
                .iter()
                .find(|p| p.name() == key)
                .map(|p| p.kind == Kind::Switch)
                .or_else(|| EXTRA_KEYS.iter().find(|e| e.0 == key).map(|e| e.1));
            let Some(switch) = switch else {
                let mut flags: Vec<&str> = U::PARAMS.iter().map(|p| p.name()).collect();
                flags.extend(EXTRA_KEYS.iter().map(|e| e.0));
                return Err(SpecError::at(
                    *line,
                    format!(
                        "unknown key '{key}' for unit '{}': allowed {}",
                        U::COMMAND,
                        flags.join(", ")
                    ),
                ));
            };
            for s in u.points.iter().flatten().filter(|s| &s.key == key) {
                match (&s.value, switch) {
                    (Value::Switch(_), true) | (Value::Text(_), false) => {}
                    (Value::Text(t), true) => {
                        return Err(SpecError::at(
                            s.line,
                            format!("key '{key}': '{t}' for a switch: give true or false"),
                        ))
                    }
                    (Value::Switch(b), false) => {
                        return Err(SpecError::at(
                            s.line,
                            format!("key '{key}': {b} for a flag that takes a value"),
                        ))
                    }
                }
            }
        }
        let mut tasks = Vec::new();
        for point in &u.points {
            for &device in &self.spec.devices {
                tasks.push(self.task::<U>(point, device)?);
            }
        }
        Ok(tasks)
    }

    /// The flags of a point, as command-line words.
    fn flags(point: &[Setting], with_dsp: bool) -> Vec<String> {
        let mut words = Vec::new();
        for s in point {
            if s.key == "dsp" && !with_dsp {
                continue;
            }
            match &s.value {
                Value::Text(t) => {
                    words.push(format!("--{}", s.key));
                    words.push(t.clone());
                }
                Value::Switch(true) => words.push(format!("--{}", s.key)),
                Value::Switch(false) => {}
            }
        }
        words
    }

    /// The spec error for a point the command line refuses: the line of the key the
    /// message names (else of the unit's name).
    fn refuse(&self, point: &[Setting], message: &str) -> SpecError {
        // The key whose flag the message names first.
        let named = point
            .iter()
            .filter_map(|s| {
                let flag = format!("--{}", s.key);
                message
                    .match_indices(&flag)
                    .find(|(i, _)| {
                        !message[i + flag.len()..]
                            .chars()
                            .next()
                            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    })
                    .map(|(i, _)| (i, s))
            })
            .min_by_key(|(i, _)| *i)
            .map(|(_, s)| s);
        let at: Vec<String> = point
            .iter()
            .map(|s| format!("{} = {}", s.key, s.value.show()))
            .collect();
        let at = if at.is_empty() {
            "its defaults".to_string()
        } else {
            at.join(", ")
        };
        match named {
            Some(s) => SpecError::at(
                s.line,
                format!(
                    "unit '{}', key '{}' = {} (at {}): {message}",
                    self.unit.name,
                    s.key,
                    s.value.show(),
                    at
                ),
            ),
            // A rule about the device or the tool build: the line of `tools` or `devices`.
            None => {
                let top = if message.contains("--tools") {
                    self.spec.tools_line.map(|l| (l, "tools"))
                } else {
                    None
                }
                .or_else(|| {
                    message
                        .contains("--device")
                        .then_some(self.spec.devices_line.map(|l| (l, "devices")))
                        .flatten()
                });
                match top {
                    Some((line, key)) => SpecError::at(
                        line,
                        format!("key '{key}', unit '{}' at {at}: {message}", self.unit.name),
                    ),
                    None => SpecError::at(
                        self.unit.line,
                        format!("unit '{}' at {at}: {message}", self.unit.name),
                    ),
                }
            }
        }
    }

    fn task<U: Registered>(&self, point: &[Setting], device: Device) -> Result<Task, SpecError> {
        let seed = self.spec.seed.to_string();
        let mut synths = Vec::new();
        let mut parsed: Option<(U, Option<Depth>)> = None;
        for &tools in &self.spec.tools {
            let mut words: Vec<String> = vec!["gen".into(), "synth".into(), U::COMMAND.into()];
            words.extend(Self::flags(point, true));
            words.extend(
                [
                    "--device",
                    device.name(),
                    "--tools",
                    tools.name(),
                    "--seed",
                    &seed,
                ]
                .map(String::from),
            );
            if let Some(d) = self.tools_dir {
                words.push("--tools-dir".into());
                words.push(d.display().to_string());
            }
            let m = crate::cli::command()
                .try_get_matches_from(&words)
                .map_err(|e| {
                    let text = e.render().to_string();
                    let first = text
                        .lines()
                        .next()
                        .unwrap_or("")
                        .trim_start_matches("error: ");
                    self.refuse(point, first)
                })?;
            let unit_m = m
                .subcommand()
                .and_then(|(_, s)| s.subcommand())
                .map(|(_, u)| u)
                .expect("`gen synth <unit>` parsed");
            let p = crate::cli::params::parse::<U>(unit_m)
                .map_err(|f| self.refuse(point, &f.message))?;
            let depth = PipelineArgs::from_arg_matches(unit_m)
                .map_err(|e| self.refuse(point, &e.to_string()))?
                .pipeline;
            let args = SynthArgs::from_arg_matches(unit_m)
                .map_err(|e| self.refuse(point, &e.to_string()))?;
            if self.spec.stages.contains(&Stage::Synth) {
                crate::synth::check_combination(&args)
                    .map_err(|e| self.refuse(point, &e.to_string()))?;
            }
            parsed.get_or_insert((p, depth));
            synths.push(args);
        }
        let (p, depth) = parsed.expect("at least one tool build");
        let freq = synths[0].freq;
        let built =
            emit::build(p, depth, freq, device).map_err(|f| self.refuse(point, &f.message))?;
        // The command that emits the same file, for its header.
        let mut words: Vec<std::ffi::OsString> = vec!["gen".into(), U::COMMAND.into()];
        words.extend(Self::flags(point, false).into_iter().map(Into::into));
        words.extend(["--device".into(), device.name().into()]);
        let header = Header {
            generator: crate::generator_id(),
            command: Some(emit::command_line(&words)),
        };
        let verilog = design_verilog(&built.rtl, &header);
        let design = design_verilog(
            &built.rtl,
            &Header {
                generator: crate::generator_id(),
                command: None,
            },
        );
        let timing =
            (built.params.pipeline > 0 || built.target_mhz.is_some()).then(|| built.timing());
        let meta = emit::metadata_json_with(&built.params, timing);
        let auto = depth == Some(Depth::Auto) || (depth.is_none() && freq.is_some());
        let macs = MAC_KINDS
            .contains(&U::KIND)
            .then(|| built.params.macs_per_cycle());
        let task = Task {
            unit: U::COMMAND,
            settings: point
                .iter()
                .map(|s| (s.key.clone(), s.value.show()))
                .collect(),
            point: point
                .iter()
                .map(|s| (s.key.clone(), s.value.clone()))
                .collect(),
            device,
            module: built.params.module_name(),
            latency: built.params.latency(),
            pipeline: built.params.pipeline,
            macs_per_cycle: macs,
            device_specific: built.params.pipeline > 0 || freq.is_some(),
            verilog,
            design: design.clone(),
            meta,
            synths,
            flow: Arc::new({
                let built = built.clone();
                move |args: &SynthArgs, log: &mut dyn Write| {
                    built_report(built.clone(), auto, args, log)
                }
            }),
            unit_key: format!(
                "{} {}",
                U::KIND,
                serde_json::to_string(&built.params.unit).expect("parameters serialize")
            ),
            study: Arc::new({
                let p = built.params.unit.clone();
                move |w: &Workload| p.study(w)
            }),
            cosim: Arc::new({
                let params = built.params.clone();
                let (top, text) = (params.module_name(), design.clone());
                move |beats: usize, seed: u64, dir: &Path| {
                    cosimulate(&params, &top, &text, beats, seed, dir)
                }
            }),
        };
        Ok(task)
    }
}

/// The cosim stage on one design: Verilate it (built models are cached under the
/// folder `sim::build::set_cache_dir` chose), drive it and the unit's cycle model with the
/// same random beats, compare every output of every beat.
fn cosimulate<P: UnitParams>(
    params: &P,
    top: &str,
    verilog: &str,
    beats: usize,
    seed: u64,
    dir: &Path,
) -> Result<(), String> {
    let iface = params.interface();
    let file = format!("{top}.v");
    let dut = sim::Verilated::build(&[(file.as_str(), verilog)], top, &iface)
        .map_err(|e| e.to_string())?;
    let mut model = params.model().map_err(|e| e.to_string())?;
    let stimulus = sim::stimulus::random_stimulus(&iface, beats, seed);
    let opts = sim::CosimOptions {
        threads: 1,
        vcd_dir: Some(dir.to_path_buf()),
        ..sim::CosimOptions::default()
    };
    sim::cosim(&dut, model.as_mut(), &stimulus, &opts)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdl::Generate;
    use model::mac::{MacParams, Overflow};

    /// The cosim stage fails a design that differs from its model, naming the beat and
    /// writing the waveform into the point's folder: the saturating MAC's model against
    /// the wrapping MAC's RTL under the saturating MAC's name.
    #[test]
    fn the_cosim_stage_catches_a_design_that_differs_from_its_model() {
        let sat = MacParams::default();
        let wrap = MacParams {
            overflow: Overflow::Wrap,
            ..sat
        };
        let header = Header {
            generator: "test".into(),
            command: None,
        };
        let text = design_verilog(&wrap.rtl().unwrap(), &header)
            .replace(&wrap.module_name(), &sat.module_name());
        let dir = std::env::temp_dir().join(format!("lowbit-cosim-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = cosimulate(&sat, &sat.module_name(), &text, 5000, 1, &dir).unwrap_err();
        assert!(e.contains("differs from the model at beat"), "{e}");
        assert!(e.contains(".vcd"), "{e}");
        let good = design_verilog(&sat.rtl().unwrap(), &header);
        cosimulate(&sat, &sat.module_name(), &good, 5000, 1, &dir).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
