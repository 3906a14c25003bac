//! `gen <unit>`: build a unit's RTL (or its reference), write its metadata and its
//! Verilog; `--freq` picks the pipeline depth by running the FPGA flow.

use std::ffi::OsString;
use std::io::Write;

use hdl::{design_verilog, Generate, Header, Reference};
use model::iface::{Metadata, Timing};
use model::UnitParams;

use crate::error::Failure;
use crate::generator_id;
use crate::output::{write_all, Planned, Target};
use crate::synth::{Device, SynthArgs, Tools};
use std::path::PathBuf;

/// Where `gen <unit>` writes, and how `--freq` chooses a depth: plain values, filled by
/// the command line (`cli::args::OutputArgs`) or by a library caller.
#[derive(Clone, Debug, Default)]
pub struct Outputs {
    /// The Verilog's file; `None` (or `-`) for stdout.
    pub output: Option<PathBuf>,
    /// The metadata JSON's file.
    pub meta: Option<PathBuf>,
    /// Write `<dir>/<module>.v` and `.json` instead.
    pub output_dir: Option<PathBuf>,
    /// Emit the behavioural reference instead of the RTL.
    pub golden: bool,
    /// Choose the pipeline depth for this clock target (MHz) by running the flow.
    pub freq: Option<f64>,
    pub device: Device,
    pub tools: Tools,
    pub tools_dir: Option<PathBuf>,
}

/// The command line as it will appear in the file header, program name as `gen`.
pub fn command_line(args: &[OsString]) -> String {
    let mut words = vec!["gen".to_string()];
    for a in args.iter().skip(1) {
        let a = a.to_string_lossy();
        let plain = a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=.,/:+".contains(c));
        words.push(if plain && !a.is_empty() {
            a.into_owned()
        } else {
            format!("'{}'", a.replace('\'', r"'\''"))
        });
    }
    words.join(" ")
}

/// Validate the parameters (a usage error, exit 2) and build the unit's RTL.
pub fn build_rtl<P: Generate>(params: &P) -> Result<hdl::Module, Failure> {
    params
        .validate()
        .map_err(|e| Failure::usage(e.to_string()))?;
    params.rtl().map_err(|e| Failure {
        code: 1,
        message: e.to_string(),
    })
}

/// Build a unit, write its metadata if asked, then its Verilog.
pub fn emit_unit<P: Reference>(
    params: &P,
    out: &Outputs,
    command_line: &str,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let (chosen, timing) = match out.freq {
        Some(target) => {
            let (p, t) = choose_pipeline(params, out, target, stderr)?;
            (p, Some(t))
        }
        None => (params.clone(), None),
    };
    let params = &chosen;
    let module = build_rtl(params)?;
    let header = Header {
        generator: generator_id(),
        command: Some(command_line.to_string()),
    };
    let verilog = if out.golden {
        hdl::golden::golden_verilog(params, &header).map_err(|e| Failure::other(e.to_string()))?
    } else {
        design_verilog(&module, &header)
    };
    let meta = metadata_json_with(params, timing);
    let mut planned = Vec::new();
    match &out.output_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| {
                Failure::usage(format!(
                    "invalid value '{}' for '--output-dir <DIR>': {e}",
                    dir.display()
                ))
            })?;
            let name = params.module_name();
            let file = |ext: &str| Target::Path(dir.join(format!("{name}.{ext}")));
            planned.push(Planned::new(
                "--output-dir",
                file("v"),
                verilog.into_bytes(),
            ));
            planned.push(Planned::new(
                "--output-dir",
                file("json"),
                meta.into_bytes(),
            ));
        }
        None => {
            if let Some(path) = &out.meta {
                planned.push(Planned::new(
                    "--meta",
                    Target::from(path.as_path()),
                    meta.into_bytes(),
                ));
            }
            let target = out.output.as_deref().map_or(Target::Stdout, Target::from);
            planned.push(Planned::new("--output", target, verilog.into_bytes()));
        }
    }
    Ok(write_all(planned, stdout)?)
}

/// The metadata JSON of a unit (docs/conventions.md), pretty-printed.
pub fn metadata_json<P: UnitParams>(params: &P) -> String {
    metadata_json_with(params, None)
}

/// [`metadata_json`] with the timing search's result.
pub fn metadata_json_with<P: UnitParams>(params: &P, timing: Option<Timing>) -> String {
    let module = params.module_name();
    let iface = params.interface();
    let meta = Metadata {
        module: &module,
        unit: P::KIND,
        params,
        latency: params.latency(),
        ports: &iface.ports,
        generator: generator_id(),
        timing,
    };
    serde_json::to_string_pretty(&meta).expect("metadata serializes") + "\n"
}

/// Run the flow at each pipeline depth, shallowest first, until one reaches `target`
/// MHz; the deepest (fastest) if none does.
fn choose_pipeline<P: Generate>(
    params: &P,
    out: &Outputs,
    target: f64,
    stderr: &mut dyn Write,
) -> Result<(P, Timing), Failure> {
    let Some(depths) = params.pipeline_depths() else {
        return Err(Failure::usage(format!(
            "'--freq': {} has no pipeline depth to choose (units with --pipeline: {})",
            P::KIND,
            crate::registry::pipelined_commands().join(", ")
        )));
    };
    let args = SynthArgs {
        device: out.device,
        dsp: false,
        tools: out.tools,
        freq: target,
        seed: 1,
        out: None,
        reference: false,
        json: None,
        tools_dir: out.tools_dir.clone(),
    };
    let mut tried = Vec::new();
    let mut best: Option<(P, u32, f64, String)> = None;
    for depth in depths {
        let p = params.with_pipeline(depth);
        let _ = writeln!(stderr, "[freq] {} at depth {depth}", p.module_name());
        let r = crate::commands::synth::run_unit_flow(&p, &args, stderr)?;
        let _ = writeln!(
            stderr,
            "[freq] depth {depth}: {:.1} MHz (target {target} MHz)",
            r.fmax_mhz
        );
        tried.push((depth, r.fmax_mhz));
        let tools = format!("{}: {}; {}", out.tools.name(), r.yosys, r.nextpnr);
        let met = r.fmax_mhz >= target;
        if best.as_ref().is_none_or(|(_, _, f, _)| r.fmax_mhz > *f) || met {
            best = Some((p, depth, r.fmax_mhz, tools));
        }
        if met {
            break;
        }
    }
    let (p, depth, fmax, tools) = best.expect("at least one depth");
    let met = fmax >= target;
    if !met {
        let _ = writeln!(
            stderr,
            "[freq] no depth reaches {target} MHz on {}; using the fastest, {:.1} MHz",
            out.device.name(),
            fmax
        );
    }
    let timing = Timing {
        device: out.device.name().into(),
        tools,
        target_mhz: target,
        pipeline: depth,
        fmax_mhz: fmax,
        met,
        tried,
    };
    Ok((p, timing))
}
