//! The report tables: the open-flow table, generated against hand-written MAC, and the
//! clock-target table (the density tables are in [`super::density`]).

use std::io::Write;
use std::path::Path;

use model::mac::{MacParams, Overflow};

use crate::cli::args::Depth;
use crate::commands::emit;
use crate::commands::synth::{built_report, run_flow};
use crate::error::Failure;
use crate::registry::{each_unit, Registered, Visit};
use crate::synth::{Device, SynthArgs, SynthReport, Tools};

/// A finished table: to `--output` FILE when asked (all or nothing, through links and
/// to devices), and to stdout; `--output -` prints it once.
pub fn emit_table(
    table: &str,
    output: Option<&Path>,
    stdout: &mut dyn Write,
) -> Result<(), Failure> {
    Ok(crate::output::write_table(table, output, stdout)?)
}

pub fn flow_table(
    output: Option<&Path>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let mut table = String::from(
        "| design | acc | device | tools | DSP | LUTs | carries | FFs | DSPs | logic cells (with wrapper) | Fmax MHz |\n\
         | --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let mut versions = std::collections::BTreeSet::new();
    for acc_bits in [12, 32] {
        for (device, tools) in [
            (Device::Up5k, Tools::Debian),
            (Device::Up5k, Tools::Yowasp),
            (Device::Ecp5_25k, Tools::Yowasp),
        ] {
            for dsp in [false, true] {
                let params = MacParams {
                    acc_bits,
                    ..MacParams::default()
                };
                let args = SynthArgs {
                    device,
                    dsp,
                    tools,
                    freq: None,
                    seed: 1,
                    out: None,
                    reference: false,
                    json: None,
                    tools_dir: None,
                };
                let r = run_flow(&params, &args, stderr)?;
                versions.insert(format!("{}: {}; {}", tools.name(), r.yosys, r.nextpnr));
                let line = format!(
                    "| {} | {acc_bits} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} |\n",
                    r.design,
                    device.name(),
                    tools.name(),
                    if dsp { "yes" } else { "no" },
                    r.unit.luts,
                    r.unit.carries,
                    r.unit.ffs,
                    r.unit.dsps,
                    r.logic_cells.0,
                    r.fmax_mhz
                );
                let _ = write!(stderr, "[synth] row {line}");
                table += &line;
            }
        }
    }
    table += "\nLUTs (LUT4), carries (bits), FFs and DSPs (SB_MAC16 or MULT18X18D): the unit \
              synthesized alone. Logic cells (ICESTORM_LC or TRELLIS_COMB) and Fmax: the unit \
              inside the 4-pin wrapper after place and route, seed 1. Tools: ";
    table += &versions.into_iter().collect::<Vec<_>>().join(" / ");
    table += ".\n";
    emit_table(&table, output, stdout)
}

pub fn synth_table(
    output: Option<&Path>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let mut table = String::from(
        "| design | acc | DSP | LUTs | carries | FFs | DSPs | LCs (with wrapper) | Fmax MHz |\n\
         | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for acc_bits in [12, 32] {
        for dsp in [false, true] {
            for reference in [false, true] {
                let params = MacParams {
                    acc_bits,
                    overflow: Overflow::Saturate,
                    ..MacParams::default()
                };
                let args = SynthArgs {
                    device: Device::Up5k,
                    dsp,
                    tools: Tools::Debian,
                    freq: None,
                    seed: 1,
                    out: None,
                    reference,
                    json: None,
                    tools_dir: None,
                };
                let r = run_flow(&params, &args, stderr)?;
                let line = format!(
                    "| {} | {acc_bits} | {} | {} | {} | {} | {} | {} | {:.1} |\n",
                    if reference {
                        "hand-written mac_ref"
                    } else {
                        r.design.as_str()
                    },
                    if dsp { "yes" } else { "no" },
                    r.unit.luts,
                    r.unit.carries,
                    r.unit.ffs,
                    r.unit.dsps,
                    r.logic_cells.0,
                    r.fmax_mhz
                );
                let _ = write!(stderr, "[synth] row {line}");
                table += &line;
            }
        }
    }
    table += "\nLUTs, carries, FFs and DSPs: the unit synthesized alone (Yosys 0.23 synth_ice40). \
              LCs and Fmax: unit inside the 4-pin wrapper after nextpnr-ice40 place and route \
              on the iCE40 UP5K (SG48), seed 1.\n";
    emit_table(&table, output, stdout)
}

/// The clock targets of issue 14, each a `gen synth` command line with `--freq`.
const FREQ_TARGETS: &[(&str, f64)] = &[
    ("mac --acc 32", 40.0),
    ("bfp-dot --block 16 --mant 4 --lanes 4", 30.0),
    ("bfp-dot --block 32 --mant 4 --lanes 32", 25.0),
    ("bfp-dot --block 32 --mant 4 --lanes 32 --acc long", 25.0),
    (
        "lns-mac --exp-bits 4 --frac-bits 2 --table-bits 8 --acc 24",
        40.0,
    ),
    (
        "expq-dot --exp-bits 4 --base 2 --exp-min=-7 --frac-bits 8 --k-max 64",
        30.0,
    ),
    ("fpacc --preset acc12", 20.0),
    ("fpacc --preset fp32", 15.0),
];

/// One measured design of the frequency table.
struct FreqRow {
    command: String,
    target: f64,
    flat: SynthReport,
    piped: SynthReport,
    macs_per_cycle: f64,
}

/// Reports of one command: unpipelined, with `--freq`, and its MACs per cycle.
type Measured = (SynthReport, SynthReport, f64);

/// `gen freq-table`: every target command unpipelined and with `--freq` (the depth the
/// delay model picks, one retry deeper if the route misses), UP5K, YoWASP tools, seed 1;
/// MAC/s per LUT against the int8 MAC (acc 12, depth 0) measured in the same run.
pub fn freq_table(
    output: Option<&Path>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    struct Measure<'a> {
        words: Vec<String>,
        target: f64,
        stderr: &'a mut dyn Write,
        row: Option<Result<Measured, Failure>>,
    }
    impl Measure<'_> {
        fn run<U: Registered>(&mut self) -> Result<Measured, Failure> {
            let argv: Vec<&str> = std::iter::once("gen")
                .chain(self.words.iter().map(String::as_str))
                .collect();
            let m = crate::cli::command()
                .try_get_matches_from(argv)
                .map_err(|e| Failure::other(e.to_string()))?;
            let (_, sub) = m.subcommand().expect("a unit subcommand");
            let unit = crate::cli::params::parse::<U>(sub)?;
            let args = SynthArgs {
                device: Device::Up5k,
                dsp: false,
                tools: Tools::Yowasp,
                freq: Some(self.target),
                seed: 1,
                out: None,
                reference: false,
                json: None,
                tools_dir: None,
            };
            let flat = emit::build(unit.clone(), Some(Depth::Fixed(0)), None, Device::Up5k)?;
            let flat = built_report(flat, false, &args, self.stderr)?;
            let piped = emit::build(unit.clone(), None, Some(self.target), Device::Up5k)?;
            let piped = built_report(piped, true, &args, self.stderr)?;
            Ok((flat, piped, unit.macs_per_cycle()))
        }
    }
    impl Visit for Measure<'_> {
        fn visit<U: Registered>(&mut self) {
            if self.row.is_none() && self.words[0] == U::COMMAND {
                self.row = Some(self.run::<U>());
            }
        }
    }
    let mut rows = Vec::new();
    let mut base = None;
    for (command, target) in std::iter::once(&("mac --acc 12", 0.0)).chain(FREQ_TARGETS) {
        let _ = writeln!(stderr, "[freq-table] {command} --freq {target}");
        let mut m = Measure {
            words: command.split(' ').map(String::from).collect(),
            target: if *target > 0.0 { *target } else { 100.0 },
            stderr,
            row: None,
        };
        each_unit(&mut m);
        let (flat, piped, macs_per_cycle) = m.row.expect("a registered unit")?;
        if base.is_none() {
            base = Some(flat);
            continue;
        }
        rows.push(FreqRow {
            command: command.to_string(),
            target: *target,
            flat,
            piped,
            macs_per_cycle,
        });
    }
    let base = base.expect("the baseline row");
    let per_lut_s = |r: &SynthReport, macs: f64| macs * r.fmax_mhz / r.unit.luts.max(1) as f64;
    let base_rate = per_lut_s(&base, 1.0);
    let mut table = format!(
        "Baseline: int8 MAC, acc 12, depth 0: {} LUTs, {:.1} MHz (UP5K, YoWASP, seed 1).\n\n\
         | `gen synth` command | target MHz | depth 0: LUTs, Fmax | `--freq`: depth, latency \
         | LUTs | FFs | Fmax MHz | met | MAC/s per LUT vs int8 MAC |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n",
        base.unit.luts, base.fmax_mhz
    );
    for r in &rows {
        table += &format!(
            "| `{} --freq {}` | {} | {}, {:.1} | {}, {} | {} | {} | {:.1} | {} | {:.2}x |\n",
            r.command,
            r.target,
            r.target,
            r.flat.unit.luts,
            r.flat.fmax_mhz,
            r.piped.pipeline.unwrap_or(0),
            r.piped.latency.unwrap_or(0),
            r.piped.unit.luts,
            r.piped.unit.ffs,
            r.piped.fmax_mhz,
            if r.piped.fmax_mhz >= r.target {
                "yes"
            } else {
                "no"
            },
            per_lut_s(&r.piped, r.macs_per_cycle) / base_rate,
        );
    }
    emit_table(&table, output, stdout)
}
