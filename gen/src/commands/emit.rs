//! `gen <unit>`: build a unit's RTL (or its reference) at the pipeline depth asked for
//! (or the one `--freq` needs, by the device's delay model), write its metadata and its
//! Verilog.

use std::ffi::OsString;
use std::io::Write;

use std::path::PathBuf;

use hdl::ir::delay::{DelayModel, Estimate};
use hdl::{design_verilog, Generate, Header, Reference};
use model::iface::{Metadata, Timing};
use model::pipeline::Piped;
use model::UnitParams;

use crate::cli::args::Depth;
use crate::error::Failure;
use crate::generator_id;
use crate::output::{write_all, Planned, Target};
use crate::synth::Device;

/// Where `gen <unit>` writes, and for which device and clock it pipelines: plain values,
/// filled by the command line (`cli::args::OutputArgs`) or by a library caller.
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
    /// The clock target (MHz) `--pipeline auto` pipelines for.
    pub freq: Option<f64>,
    /// The part whose delay model places the pipeline registers.
    pub device: Device,
    /// With `output_dir`: also write `<dir>/<module>.core`, a FuseSoC core.
    pub core: bool,
}

/// A unit resolved to one depth and built: what `gen <unit>`, `gen synth` and `gen prove`
/// work on.
#[derive(Clone, Debug)]
pub struct Built<U> {
    pub params: Piped<U>,
    pub rtl: hdl::Module,
    /// The delay model's critical path of `rtl`.
    pub estimate: Estimate,
    /// The clock target the depth was chosen for, if any.
    pub target_mhz: Option<f64>,
    pub device: Device,
}

/// Resolve `--pipeline` (a depth, `auto`, or absent) and `--freq` for `unit` on `device`
/// and build its RTL. With `--freq` and no depth, the depth is `auto`.
pub fn build<U: Generate>(
    unit: U,
    depth: Option<Depth>,
    freq: Option<f64>,
    device: Device,
) -> Result<Built<U>, Failure> {
    unit.validate().map_err(|e| Failure::usage(e.to_string()))?;
    let dm = DelayModel::for_device(device.name()).expect("a delay model for every device");
    let hdl_err = |e: hdl::HdlError| Failure::other(e.to_string());
    let (params, piped) = match (depth, freq) {
        (Some(Depth::Auto), None) => {
            return Err(Failure::usage(
                "'--pipeline auto' needs '--freq <MHZ>', the clock to pipeline for",
            ))
        }
        (Some(Depth::Auto) | None, Some(f)) => {
            hdl::pipeline::rtl_auto(&unit, 1000.0 / f, &dm).map_err(hdl_err)?
        }
        (d, _) => {
            let n = match d {
                Some(Depth::Fixed(n)) => n,
                _ => 0,
            };
            let p = Piped::new(unit, n);
            p.validate().map_err(|e| Failure::usage(e.to_string()))?;
            let built = hdl::pipeline::rtl_for(&p, &dm).map_err(hdl_err)?;
            (p, built)
        }
    };
    Ok(Built {
        params,
        rtl: piped.module,
        estimate: piped.estimate,
        target_mhz: freq,
        device,
    })
}

impl<U: UnitParams> Built<U> {
    /// The metadata's `timing`: device, target, depth and the delay model's estimate.
    pub fn timing(&self) -> Timing {
        Timing {
            device: self.device.name().into(),
            target_mhz: self.target_mhz,
            pipeline: self.params.pipeline,
            estimated_mhz: (self.estimate.mhz() * 10.0).round() / 10.0,
            met: self.target_mhz.is_none_or(|t| self.estimate.mhz() >= t),
            critical_path: self.estimate.path.clone(),
        }
    }
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

/// Write a built unit's metadata if asked, then its Verilog (or its reference's).
pub fn emit_unit<U: Reference + model::Unit>(
    built: &Built<U>,
    out: &Outputs,
    command_line: &str,
    stdout: &mut dyn Write,
) -> Result<(), Failure> {
    let params = &built.params;
    let header = Header {
        generator: generator_id(),
        command: Some(command_line.to_string()),
    };
    let verilog = if out.golden {
        hdl::golden::golden_verilog(params, &header).map_err(|e| Failure::other(e.to_string()))?
    } else {
        design_verilog(&built.rtl, &header)
    };
    let timing = (params.pipeline > 0 || built.target_mhz.is_some()).then(|| built.timing());
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
            if out.core {
                let core = crate::fusesoc::Core {
                    module: &name,
                    summary: U::SUMMARY,
                    params,
                    latency: params.latency(),
                    golden: out.golden,
                    command: command_line,
                };
                planned.push(Planned::new(
                    "--core",
                    file("core"),
                    core.text().into_bytes(),
                ));
            }
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
        initiation_interval: params.initiation_interval(),
        ports: &iface.ports,
        generator: generator_id(),
        timing,
    };
    serde_json::to_string_pretty(&meta).expect("metadata serializes") + "\n"
}
