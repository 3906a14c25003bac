//! `gen synth`: a unit (or the hand-written reference MAC) through the FPGA flow, the
//! report on stdout.

use std::io::Write;

use hdl::{Generate, Header};
use model::mac::MacParams;
use model::UnitParams;

use crate::cli::args::Depth;
use crate::commands::emit::{self, build_rtl, Built};
use crate::error::Failure;
use crate::generator_id;
use crate::synth::{self, SynthArgs, SynthReport};

pub fn run_flow(
    params: &MacParams,
    args: &SynthArgs,
    stderr: &mut dyn Write,
) -> Result<SynthReport, Failure> {
    if !args.reference {
        return run_unit_flow(params, args, stderr);
    }
    params
        .validate()
        .map_err(|e| Failure::usage(e.to_string()))?;
    let plain = MacParams {
        in_bits: params.in_bits,
        acc_bits: params.acc_bits,
        ..MacParams::default()
    };
    if *params != plain {
        return Err(Failure::usage(
            "'--reference' is the hand-written signed, saturating MAC without pipeline: \
             only --in and --acc may change",
        ));
    }
    let n = [
        ("N", u64::from(params.in_bits)),
        ("A", u64::from(params.acc_bits)),
    ];
    let sources = [synth::reference_source()];
    let mut progress = |line: &str| {
        let _ = writeln!(stderr, "[synth] {line}");
    };
    Ok(synth::synthesize(
        &sources,
        "mac_ref",
        &params.interface(),
        &n,
        args,
        &mut progress,
    )?)
}

/// Run the iCE40 flow on any generated unit.
pub fn run_unit_flow<P: Generate>(
    params: &P,
    args: &SynthArgs,
    stderr: &mut dyn Write,
) -> Result<SynthReport, Failure> {
    let module = build_rtl(params)?;
    let header = Header {
        generator: generator_id(),
        command: None,
    };
    let sources = hdl::design_files(&module, &header);
    let mut progress = |line: &str| {
        let _ = writeln!(stderr, "[synth] {line}");
    };
    Ok(synth::synthesize(
        &sources,
        &module.name,
        &params.interface(),
        &[],
        args,
        &mut progress,
    )?)
}

/// `gen synth <unit>`: the built unit through the flow, the report on stdout (and in
/// `--json`) with its depth, latency and initiation interval. When the depth was chosen
/// for `--freq` and the route misses it, one more stage is tried and the faster kept.
/// With `copies` > 1 the design is `copies` copies of the unit side by side
/// (`synth::array`, `--copies`).
pub fn synth_built<U: Generate>(
    built: Built<U>,
    depth_was_auto: bool,
    args: &SynthArgs,
    copies: u32,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let report = built_report_copies(built, depth_was_auto, args, copies, stderr)?;
    print_report(&report, stdout)
}

/// [`synth_built`]'s report, also written to `--json`.
pub fn built_report<U: Generate>(
    built: Built<U>,
    depth_was_auto: bool,
    args: &SynthArgs,
    stderr: &mut dyn Write,
) -> Result<SynthReport, Failure> {
    built_report_copies(built, depth_was_auto, args, 1, stderr)
}

/// [`built_report`] of `copies` copies of the unit side by side (`synth::array`).
pub fn built_report_copies<U: Generate>(
    built: Built<U>,
    depth_was_auto: bool,
    args: &SynthArgs,
    copies: u32,
    stderr: &mut dyn Write,
) -> Result<SynthReport, Failure> {
    if args.reference {
        return Err(Failure::usage(
            "'--reference' is the hand-written signed, saturating MAC without pipeline: \
             only --in and --acc may change",
        ));
    }
    let json = synth::json_target(args)?;
    let quiet = SynthArgs {
        json: None,
        ..args.clone()
    };
    let mut report = flow_of(&built, &quiet, copies, stderr)?;
    if let (true, Some(target)) = (depth_was_auto, args.freq) {
        let next = built.params.pipeline + 1;
        if report.fmax_mhz < target && model::pipeline::DEPTHS.contains(&next) {
            let _ = writeln!(
                stderr,
                "[synth] {:.1} MHz misses {target} MHz at depth {}: one retry at depth {next}",
                report.fmax_mhz, built.params.pipeline
            );
            let deeper = emit::build(
                built.params.unit.clone(),
                Some(Depth::Fixed(next)),
                Some(target),
                built.device,
            )?;
            let second = flow_of(&deeper, &quiet, copies, stderr)?;
            if second.fmax_mhz > report.fmax_mhz {
                report = second;
            }
        }
    }
    if let Some(t) = json {
        synth::write_json(&report, t)?;
    }
    Ok(report)
}

/// The flow on one built unit (or `copies` of it side by side), with its timing fields
/// filled.
fn flow_of<U: Generate>(
    built: &Built<U>,
    args: &SynthArgs,
    copies: u32,
    stderr: &mut dyn Write,
) -> Result<SynthReport, Failure> {
    let header = Header {
        generator: generator_id(),
        command: None,
    };
    let (top, iface) = if copies == 1 {
        (built.rtl.clone(), built.params.interface())
    } else {
        let unit = built.params.interface();
        let top = synth::array::array(&built.rtl, &unit, copies)
            .map_err(|e| Failure::other(e.to_string()))?;
        (top, synth::array::array_interface(&unit, copies))
    };
    let sources = hdl::design_files(&top, &header);
    let _ = writeln!(
        stderr,
        "[synth] {} at pipeline depth {} (delay model: {:.1} MHz)",
        top.name,
        built.params.pipeline,
        built.estimate.mhz()
    );
    let mut progress = |line: &str| {
        let _ = writeln!(stderr, "[synth] {line}");
    };
    let mut r = synth::synthesize(&sources, &top.name, &iface, &[], args, &mut progress)?;
    r.pipeline = Some(built.params.pipeline);
    r.latency = Some(built.params.latency());
    r.initiation_interval = Some(built.params.initiation_interval());
    r.target_mhz = built.target_mhz;
    r.estimated_mhz = Some((built.estimate.mhz() * 10.0).round() / 10.0);
    Ok(r)
}

/// `gen synth --reference`: the hand-written MAC, the report on stdout.
pub fn synth_reference(
    params: &MacParams,
    args: &SynthArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let report = run_flow(params, args, stderr)?;
    print_report(&report, stdout)
}

pub fn print_report(report: &SynthReport, stdout: &mut dyn Write) -> Result<(), Failure> {
    writeln!(stdout, "{report}").map_err(|e| Failure {
        code: 1,
        message: e.to_string(),
    })
}
