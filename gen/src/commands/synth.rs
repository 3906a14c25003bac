//! `gen synth`: a unit (or the hand-written reference MAC) through the FPGA flow, the
//! report on stdout.

use std::io::Write;

use hdl::{Generate, Header};
use model::mac::MacParams;
use model::UnitParams;

use crate::commands::emit::build_rtl;
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

/// `gen synth` for the MAC (which alone has `--reference`): the report on stdout.
pub fn synth_mac(
    params: &MacParams,
    args: &SynthArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let report = run_flow(params, args, stderr)?;
    print_report(&report, stdout)
}

/// `gen synth` for any other unit: the report on stdout.
pub fn synth_unit<P: Generate>(
    params: &P,
    args: &SynthArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    if args.reference {
        return Err(Failure::usage(
            "'--reference' exists only for the MAC (the hand-written tests/ref/mac_ref.v)",
        ));
    }
    let report = run_unit_flow(params, args, stderr)?;
    print_report(&report, stdout)
}

pub fn print_report(report: &SynthReport, stdout: &mut dyn Write) -> Result<(), Failure> {
    writeln!(stdout, "{report}").map_err(|e| Failure {
        code: 1,
        message: e.to_string(),
    })
}

/// `gen synth <unit>`: the MAC goes through [`synth_mac`] (it alone has a hand-written
/// reference design for `--reference`), every other unit through [`synth_unit`].
pub fn synth_any<P: Generate + 'static>(
    params: &P,
    args: &SynthArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    match (params as &dyn std::any::Any).downcast_ref::<MacParams>() {
        Some(mac) => synth_mac(mac, args, stdout, stderr),
        None => synth_unit(params, args, stdout, stderr),
    }
}
