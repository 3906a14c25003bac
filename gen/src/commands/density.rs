//! `gen density bfp|lns|fpacc|mx|palq`: the arithmetic-density tables, each unit family
//! against the integer MAC, multiply-accumulates per cycle per LUT and per second.

use std::io::Write;
use std::path::Path;

use hdl::Generate;
use model::bfp::BfpDotParams;
use model::expq::ExpqDotParams;
use model::lns::LnsMacParams;
use model::mac::{MacParams, Overflow};
use model::UnitParams;

use crate::cli::args::Depth;
use crate::commands::emit;
use crate::commands::synth::{built_report, built_report_copies, run_unit_flow};
use crate::commands::tables::emit_table;
use crate::error::Failure;
use crate::synth::{Device, SynthArgs, SynthReport, Tools};

/// One row of the density table: a design, its multiply-accumulates per cycle, and its
/// flow result.
struct DensityRow {
    label: String,
    /// Products per cycle, sustained.
    macs_per_cycle: f64,
    report: SynthReport,
}

/// The integer MAC rows every density table compares against: 8x8, saturating, one
/// accumulator width per row.
fn mac_baselines(acc_widths: &[u32], stderr: &mut dyn Write) -> Result<Vec<DensityRow>, Failure> {
    acc_widths
        .iter()
        .map(|&acc_bits| {
            let mac = MacParams {
                acc_bits,
                ..MacParams::default()
            };
            Ok(DensityRow {
                label: format!("int8 MAC, acc {acc_bits} sat"),
                macs_per_cycle: 1.0,
                report: flow_up5k_or_hx8k(&mac, stderr)?,
            })
        })
        .collect()
}

/// Run the flow on the UP5K; if that fails (a design too large for its 5280 cells), on
/// the HX8K.
fn flow_up5k_or_hx8k<P: Generate>(
    params: &P,
    stderr: &mut dyn Write,
) -> Result<SynthReport, Failure> {
    flow_up5k_or_hx8k_dsp(params, false, stderr)
}

/// The unit pipelined by the delay model for `mhz` on the UP5K (the depth `--freq`
/// picks, one retry deeper if the route misses), Debian tools, seed 1: the pipelined
/// rows of the density tables.
fn flow_for_freq<U: Generate>(
    unit: U,
    mhz: f64,
    stderr: &mut dyn Write,
) -> Result<SynthReport, Failure> {
    let args = SynthArgs {
        device: Device::Up5k,
        dsp: false,
        tools: Tools::Debian,
        freq: Some(mhz),
        seed: 1,
        out: None,
        reference: false,
        json: None,
        tools_dir: None,
    };
    let built = emit::build(unit, None, Some(mhz), Device::Up5k)?;
    let _ = writeln!(
        stderr,
        "[density] {} for {mhz} MHz",
        built.params.module_name()
    );
    built_report(built, true, &args, stderr)
}

/// [`flow_up5k_or_hx8k`], optionally mapping multipliers to DSP blocks.
fn flow_up5k_or_hx8k_dsp<P: Generate>(
    params: &P,
    dsp: bool,
    stderr: &mut dyn Write,
) -> Result<SynthReport, Failure> {
    let mut args = SynthArgs {
        device: Device::Up5k,
        dsp,
        tools: Tools::Debian,
        freq: None,
        seed: 1,
        out: None,
        reference: false,
        json: None,
        tools_dir: None,
    };
    match run_unit_flow(params, &args, stderr) {
        Ok(r) => Ok(r),
        Err(e) if e.code == 2 => Err(e),
        Err(e) => {
            let _ = writeln!(
                stderr,
                "[density] {} did not fit or route on the UP5K ({}); trying the HX8K",
                params.module_name(),
                e.message.lines().next().unwrap_or("")
            );
            args.device = Device::Hx8k;
            run_unit_flow(params, &args, stderr)
        }
    }
}

/// The arithmetic-density table of issue #3: HBFP block dot products against the
/// integer MAC, multiply-accumulates per cycle per LUT.
pub fn density_table(
    output: Option<&Path>,
    quick: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let mut rows = mac_baselines(&[12, 32], stderr)?;
    let shapes: &[(u32, u32)] = if quick {
        &[(8, 4), (16, 4), (16, 6)]
    } else {
        &[
            (8, 4),
            (8, 6),
            (8, 8),
            (16, 4),
            (16, 6),
            (16, 8),
            (32, 4),
            (32, 6),
            (32, 8),
        ]
    };
    let mut dots: Vec<(String, BfpDotParams)> = shapes
        .iter()
        .map(|&(block, mant_bits)| {
            (
                format!("HBFP{mant_bits} dot, n {block}"),
                BfpDotParams {
                    block,
                    mant_bits,
                    ..BfpDotParams::default()
                },
            )
        })
        .collect();
    dots.push((
        "HBFP4/6 mixed dot, n 16".to_string(),
        BfpDotParams {
            block: 16,
            mant_bits: 6,
            modes: Some("4,6".parse().expect("valid modes")),
            ..BfpDotParams::default()
        },
    ));
    for (label, p) in dots {
        let _ = writeln!(stderr, "[density] {label}: {}", p.module_name());
        rows.push(DensityRow {
            label,
            macs_per_cycle: f64::from(p.lanes()),
            report: flow_up5k_or_hx8k(&p, stderr)?,
        });
    }
    // issue 21: the packed 4/6 unit, 8 lanes: 8 HBFP6 products a cycle (a block in two
    // beats) or 16 HBFP4 ones (a block a beat), one flow, a row for each mode.
    let packed = BfpDotParams {
        block: 16,
        mant_bits: 6,
        lanes: Some(8),
        modes: Some("4,6".parse().expect("valid modes")),
        narrow_pack: true,
        ..BfpDotParams::default()
    };
    let _ = writeln!(stderr, "[density] packed 4/6: {}", packed.module_name());
    let report = flow_up5k_or_hx8k(&packed, stderr)?;
    for (mode, label) in [(0, "HBFP4 mode"), (1, "HBFP6 mode")] {
        rows.push(DensityRow {
            label: format!("HBFP4/6 packed dot, n 16, 8 lanes, {label}"),
            macs_per_cycle: f64::from(packed.products_per_beat(mode)),
            report: report.clone(),
        });
    }
    for (block, long, mhz) in [(16, false, 25.0), (32, false, 25.0), (32, true, 25.0)] {
        let p = BfpDotParams {
            block,
            mant_bits: 4,
            long: long.then(model::bfp::LongWindow::default),
            ..BfpDotParams::default()
        };
        let acc = if long { ", long acc" } else { "" };
        rows.push(DensityRow {
            label: format!("HBFP4 dot, n {block}{acc}, --freq {mhz}"),
            macs_per_cycle: p.macs_per_cycle(),
            report: flow_for_freq(p, mhz, stderr)?,
        });
    }
    let mut table = render_density(&rows);
    table += "\nOne block (n element products) per cycle for bfp_dot (lanes = n), one product per \
              cycle for the MAC. The packed 4/6 unit (`--narrow-pack --lanes 8`) is one design \
              shown in each mode: 16 HBFP4 or 8 HBFP6 products a cycle. LUTs, carries, FFs: the unit alone (Yosys 0.23 synth_ice40, no \
              DSPs); LCs and Fmax: inside the 4-pin wrapper after nextpnr-ice40 place and route, \
              seed 1. \"vs int8 MAC\" compares with the first row. Rows with --freq are pipelined \
              by the delay model for that clock (depth in the module name, `_p<N>`); the \
              binary32 accumulation loop is not pipelined; \"long acc\" sums in a 24-bit \
              fixed-point window and rounds once (`--acc long`, docs/bfp.md). The FP32 and bfloat16 \
              accumulators alone are in `gen density fpacc`.\n";
    emit_table(&table, output, stdout)
}

/// The log-domain density table of issue #4: `lns_mac` and `expq_dot` at 4-, 5- and
/// 6-bit codes (a sign bit and 3, 4, 5 exponent bits; the zero flag on its own wire)
/// against the integer MAC at 8 bits.
pub fn lns_density_table(
    output: Option<&Path>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let mut rows = mac_baselines(&[12, 24], stderr)?;
    for exp_bits in [3, 4, 5] {
        let p = LnsMacParams {
            exp_bits,
            ..LnsMacParams::default()
        };
        let _ = writeln!(stderr, "[density] {}", p.module_name());
        rows.push(DensityRow {
            label: format!("LNS MAC, {}-bit codes, acc 24", exp_bits + 1),
            macs_per_cycle: 1.0,
            report: flow_up5k_or_hx8k(&p, stderr)?,
        });
    }
    for exp_bits in [3, 4, 5] {
        // Exponents centred on zero, so the table stays within 64 bits at 5 bits.
        let p = ExpqDotParams {
            exp_bits,
            exp_min: 1 - (1 << (exp_bits - 1)),
            ..ExpqDotParams::default()
        };
        let _ = writeln!(stderr, "[density] {}", p.module_name());
        rows.push(DensityRow {
            label: format!("DNA-TEQ dot, {}-bit codes, K 64", exp_bits + 1),
            macs_per_cycle: p.macs_per_cycle(),
            report: flow_up5k_or_hx8k(&p, stderr)?,
        });
    }
    // Issue 21: L pairs a beat into one set of counters, 4-bit codes at e_min = -7.
    for lanes in [1, 4, 8, 16] {
        let p = ExpqDotParams {
            exp_bits: 3,
            exp_min: -7,
            lanes,
            ..ExpqDotParams::default()
        };
        let _ = writeln!(stderr, "[density] {}", p.module_name());
        rows.push(DensityRow {
            label: format!("DNA-TEQ dot, 4-bit codes, e_min -7, K 64, {lanes} lane(s)"),
            macs_per_cycle: p.macs_per_cycle(),
            report: flow_up5k_or_hx8k(&p, stderr)?,
        });
    }
    let lns = LnsMacParams {
        exp_bits: 4,
        ..LnsMacParams::default()
    };
    rows.push(DensityRow {
        label: "LNS MAC, 5-bit codes, acc 24, --freq 40".into(),
        macs_per_cycle: 1.0,
        report: flow_for_freq(lns, 40.0, stderr)?,
    });
    let expq = ExpqDotParams {
        exp_bits: 4,
        exp_min: -7,
        ..ExpqDotParams::default()
    };
    rows.push(DensityRow {
        label: "DNA-TEQ dot, 5-bit codes, K 64, --freq 30".into(),
        macs_per_cycle: expq.macs_per_cycle(),
        report: flow_for_freq(expq, 30.0, stderr)?,
    });
    let mut table = render_density(&rows);
    table += "\nCodes: a sign bit and 3, 4 or 5 exponent bits (the zero flag is a separate wire). \
              lns_mac: base 2^(1/4), 8-bit table, 24-bit saturating accumulator, one product per \
              cycle. expq_dot: base 2, codes centred on 1.0 (e_min = 1 - 2^(E-1)), 8 fractional bits, \
              dot products of K = 64 pairs, one pair \
              per cycle and then a walk of one cycle per counter, so it sustains K / (K + walk) \
              products per cycle; with L lanes, L pairs a beat into the same counters, K / \
              (ceil(K / L) + walk). LUTs, carries, FFs, DSPs: the unit alone (Yosys 0.23 \
              synth_ice40); LCs and Fmax: inside the 4-pin wrapper after nextpnr-ice40, seed 1. \
              Rows with --freq are pipelined by the delay model for that clock (`_p<N>`: N \
              stages). \"vs int8 MAC\" compares with the first row.\n";
    emit_table(&table, output, stdout)
}

/// The MX table of issue 15: MXFP4/6/8 and MXINT8 block dot products (k = 32, 4 products
/// a cycle, pipelined for 25 MHz) against the int8 MAC and HBFP4 with the same shape.
/// E5M2 runs at 2 lanes: its 33-bit fixed-point elements make the 4-lane unit pipelined for
/// 25 MHz too large for the UP5K (5472 logic cells of 5280, measured).
pub fn mx_density_table(
    output: Option<&Path>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    use model::mx::{Elem, MxDotParams};
    const MHZ: f64 = 25.0;
    const LANES: u32 = 4;
    let mut rows = mac_baselines(&[12], stderr)?;
    let hbfp4 = BfpDotParams {
        block: 32,
        mant_bits: 4,
        lanes: Some(LANES),
        ..BfpDotParams::default()
    };
    rows.push(DensityRow {
        label: format!("HBFP4 dot, n 32, {LANES} lanes, --freq {MHZ}"),
        macs_per_cycle: hbfp4.macs_per_cycle(),
        report: flow_for_freq(hbfp4, MHZ, stderr)?,
    });
    for elem in [Elem::E2m1, Elem::E2m3, Elem::E3m2, Elem::E4m3, Elem::Int8] {
        let p = MxDotParams {
            elem_a: elem,
            elem_b: elem,
            block: 32,
            lanes: Some(LANES),
        };
        rows.push(DensityRow {
            label: format!("mx-dot {}, k 32, {LANES} lanes, --freq {MHZ}", elem.name()),
            macs_per_cycle: p.macs_per_cycle(),
            report: flow_for_freq(p, MHZ, stderr)?,
        });
    }
    let e5m2 = MxDotParams {
        elem_a: Elem::E5m2,
        elem_b: Elem::E5m2,
        block: 32,
        lanes: Some(2),
    };
    rows.push(DensityRow {
        label: format!("mx-dot e5m2, k 32, 2 lanes, --freq {MHZ}"),
        macs_per_cycle: e5m2.macs_per_cycle(),
        report: flow_for_freq(e5m2, MHZ, stderr)?,
    });
    let mut table = render_density(&rows);
    table += &format!(
        "\nEvery dot product takes {LANES} element pairs a cycle (blocks of 32 in 8 beats) and \
         accumulates blocks in binary32; pipelined by the delay model for {MHZ} MHz (`_p<N>`). \
         LUTs, carries, FFs, DSPs: the unit alone (Yosys 0.23 synth_ice40); LCs and Fmax: inside \
         the 4-pin wrapper after nextpnr-ice40, seed 1. \"vs int8 MAC\" compares with the first \
         row. MXFP8 E5M2 runs at 2 lanes (blocks in 16 beats): its elements are 33-bit \
         fixed-point integers, whose products make the 4-lane unit pipelined for 25 MHz need \
         5472 logic cells, more than the UP5K's 5280.\n"
    );
    emit_table(&table, output, stdout)
}

/// The accumulator table of issue #5: what a narrow floating-point accumulator costs
/// next to bf16, fp32 and the integer MAC, all fed by 8x8 signed integer products.
pub fn fpacc_density_table(
    output: Option<&Path>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    use model::fpacc::{FpaccLongParams, FpaccParams, Preset};
    let mut rows = Vec::new();
    for dsp in [false, true] {
        let with = if dsp { ", DSP" } else { "" };
        for acc_bits in [12, 32] {
            let mac = MacParams {
                acc_bits,
                ..MacParams::default()
            };
            let _ = writeln!(stderr, "[density] {}{with}", mac.module_name());
            rows.push(DensityRow {
                label: format!("int8 MAC, acc {acc_bits} sat{with}"),
                macs_per_cycle: 1.0,
                report: flow_up5k_or_hx8k_dsp(&mac, dsp, stderr)?,
            });
        }
        for (preset, chunk, label) in [
            (Preset::Acc12, 0, "fpacc acc12 (E4M7)"),
            (Preset::Acc12, 16, "fpacc acc12, chunks of 16"),
            (Preset::Bf16, 0, "fpacc bf16 (E8M7)"),
            (Preset::Fp32, 0, "fpacc fp32 (E8M23)"),
        ] {
            let f = preset.format();
            let p = FpaccParams {
                product: f,
                acc: f,
                chunk,
                ..FpaccParams::default()
            };
            let _ = writeln!(stderr, "[density] {}{with}", p.module_name());
            rows.push(DensityRow {
                label: format!("{label}{with}"),
                macs_per_cycle: 1.0,
                report: flow_up5k_or_hx8k_dsp(&p, dsp, stderr)?,
            });
        }
    }
    for (preset, mhz) in [
        (Preset::Acc12, 20.0),
        (Preset::Bf16, 15.0),
        (Preset::Fp32, 15.0),
    ] {
        let f = preset.format();
        let p = FpaccParams {
            product: f,
            acc: f,
            ..FpaccParams::default()
        };
        rows.push(DensityRow {
            label: format!("fpacc {preset:?}, --freq {mhz}").to_lowercase(),
            macs_per_cycle: 1.0,
            report: flow_for_freq(p, mhz, stderr)?,
        });
    }
    for (preset, k, mhz) in [
        (Preset::Acc12, 2, 40.0),
        (Preset::Acc12, 4, 40.0),
        (Preset::Fp32, 2, 30.0),
    ] {
        let f = preset.format();
        let p = FpaccParams {
            product: f,
            acc: f,
            interleave: k,
            ..FpaccParams::default()
        };
        rows.push(DensityRow {
            label: format!("fpacc {preset:?}, --interleave {k} --freq {mhz}").to_lowercase(),
            macs_per_cycle: 1.0,
            report: flow_for_freq(p, mhz, stderr)?,
        });
    }
    for preset in [Preset::Acc12, Preset::Fp32] {
        let p = FpaccLongParams {
            acc: preset.format(),
            ..FpaccLongParams::default()
        };
        let _ = writeln!(stderr, "[density] {}", p.module_name());
        rows.push(DensityRow {
            label: format!("fpacc-long into {preset:?}").to_lowercase(),
            macs_per_cycle: 1.0,
            report: flow_up5k_or_hx8k(&p, stderr)?,
        });
    }
    let mut table = render_density(&rows);
    table += "\nEvery unit takes one signed 8x8 product per cycle. fpacc rounds the product \
              into the accumulator format (Q_prod) and adds it (Q_acc) in one cycle, RNE, no \
              subnormals; with chunks a second adder folds each chunk into the outer sum. \
              Rows with --freq are pipelined by the delay model for that clock (`_p<N>`: N \
              stages before the loop, which keeps per-step rounding). fpacc-long adds the \
              exact product into a long register and rounds once on read-out (docs/fpacc.md). \
              LUTs, carries, FFs, DSPs: the unit \
              alone (Yosys 0.23 synth_ice40, with -dsp on the DSP rows); LCs and Fmax: inside \
              the 4-pin wrapper after nextpnr-ice40, seed 1. \"vs int8 MAC\" compares with \
              the first row.\n";
    emit_table(&table, output, stdout)
}

/// `copies` copies of `unit` side by side (`synth::array`) on the UP5K, Debian tools,
/// seed 1: at depth 0, or pipelined by the delay model for `mhz` (each copy, as
/// [`flow_for_freq`]).
fn flow_array<U: Generate>(
    unit: U,
    copies: u32,
    mhz: Option<f64>,
    stderr: &mut dyn Write,
) -> Result<SynthReport, Failure> {
    let args = SynthArgs {
        device: Device::Up5k,
        dsp: false,
        tools: Tools::Debian,
        freq: mhz,
        seed: 1,
        out: None,
        reference: false,
        json: None,
        tools_dir: None,
    };
    let depth = mhz.is_none().then_some(Depth::Fixed(0));
    let built = emit::build(unit, depth, mhz, Device::Up5k)?;
    let _ = writeln!(
        stderr,
        "[density] {} copies of {}",
        copies,
        built.params.module_name()
    );
    built_report_copies(built, mhz.is_some(), &args, copies, stderr)
}

/// The PalQuant table of issue 17 item 4: the 2-bit `palq_pe` array (G 4, P 8) against
/// 4-bit datapaths with about the same LUTs: `palq_pe` at 16 levels and an array of
/// `mac --in 4` copies, at depth 0 and pipelined for [`PALQ_MHZ`].
pub fn palq_density_table(
    output: Option<&Path>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    use model::palq::PalqPeParams;
    const PALQ_MHZ: f64 = 40.0;
    // Chosen by Yosys 0.23 LUT counts of the unit alone (docs/palquant.md): the G x P
    // and the number of MACs whose LUTs come closest to the 2-bit array's, at depth 0
    // and at the depth --freq 40 picks.
    const LANES_4BIT: u32 = 12;
    const LANES_4BIT_G4: u32 = 2;
    const MACS: u32 = 12;
    const MACS_PIPED: u32 = 11;
    let two_bit = PalqPeParams::default();
    let four_bit = |groups, lanes| PalqPeParams {
        groups,
        lanes,
        levels: 16,
        ..PalqPeParams::default()
    };
    let mac4 = MacParams {
        in_bits: 4,
        signed: true,
        acc_bits: 18,
        overflow: Overflow::Wrap,
        b: None,
    };
    let mut rows = mac_baselines(&[12, 32], stderr)?;
    let _ = writeln!(stderr, "[density] {}", two_bit.module_name());
    rows.push(DensityRow {
        label: "palq-pe 2-bit, G 4, P 8".into(),
        macs_per_cycle: two_bit.macs_per_cycle(),
        report: flow_up5k_or_hx8k(&two_bit, stderr)?,
    });
    for (g, p) in [(1, LANES_4BIT), (4, LANES_4BIT_G4)] {
        let u = four_bit(g, p);
        let _ = writeln!(stderr, "[density] {}", u.module_name());
        rows.push(DensityRow {
            label: format!("palq-pe 4-bit (--levels 16), G {g}, P {p}"),
            macs_per_cycle: u.macs_per_cycle(),
            report: flow_up5k_or_hx8k(&u, stderr)?,
        });
    }
    rows.push(DensityRow {
        label: format!("{MACS} x mac --in 4 --acc 18 --overflow wrap (--copies {MACS})"),
        macs_per_cycle: f64::from(MACS),
        report: flow_array(mac4, MACS, None, stderr)?,
    });
    rows.push(DensityRow {
        label: format!("palq-pe 2-bit, G 4, P 8, --freq {PALQ_MHZ}"),
        macs_per_cycle: two_bit.macs_per_cycle(),
        report: flow_for_freq(two_bit, PALQ_MHZ, stderr)?,
    });
    let u = four_bit(1, LANES_4BIT);
    rows.push(DensityRow {
        label: format!("palq-pe 4-bit, G 1, P {LANES_4BIT}, --freq {PALQ_MHZ}"),
        macs_per_cycle: u.macs_per_cycle(),
        report: flow_for_freq(u, PALQ_MHZ, stderr)?,
    });
    rows.push(DensityRow {
        label: format!("{MACS_PIPED} x mac --in 4 --acc 18 --overflow wrap, --freq {PALQ_MHZ}"),
        macs_per_cycle: f64::from(MACS_PIPED),
        report: flow_array(mac4, MACS_PIPED, Some(PALQ_MHZ), stderr)?,
    });
    let mut table = render_density(&rows);
    // MAC/s per LUT of a row, and the 2-bit array's against a 4-bit design when a 4-bit
    // product costs G 2-bit products.
    let rate = |i: usize| {
        let r = &rows[i];
        r.macs_per_cycle * r.report.fmax_mhz / r.report.unit.luts.max(1) as f64
    };
    let effective = |two: usize, four: usize, g: f64| rate(two) / g / rate(four);
    table += &format!(
        "\nUP5K, Debian tools (Yosys 0.23 synth_ice40, nextpnr-ice40), seed 1. LUTs, carries, \
         FFs, DSPs: the unit alone; LCs and Fmax: inside the 4-pin wrapper after place and \
         route. \"vs int8 MAC\" compares with the first row. A product is one code product \
         per cycle: a 2-bit x 2-bit code product for the 2-bit array, 4 x 4 bits for the \
         others. palq-pe (docs/palquant.md): G groups of P lanes of unsigned code products, \
         two accumulators per group exact for K = 1024 products, the signed correction on \
         read-out. The 4-bit rows have about the 2-bit array's LUTs (its G x P, and the number \
         of MACs, chosen by Yosys LUT counts; G 1 is the ordinary, ungrouped 4-bit layer, G 4 \
         keeps the 2-bit array's groups). The MACs: signed 4 x 4 bits (a 4-bit layer's \
         weights are signed), 18-bit accumulator, the exact width for K = 1024 signed 4-bit \
         products (`gen accwidth --k 1024 --in 4 --weight-bits 4`), wrapping: exact for K \
         products, so saturation would never act and only costs LUTs; N copies in one design \
         (`gen synth mac --copies N`: control shared, data concatenated). Rows with --freq \
         are pipelined by the delay model for {PALQ_MHZ} MHz (`_p<N>`).\n\n\
         **Per 4-bit product.** The layer model (`model::palq::layer`) computes a grouped \
         layer of G groups, C_in inputs and C_out outputs with `C_in/G * k * k` products per \
         output, C_out * H * W outputs: `C_out * C_in * H * W * k^2 / G` products. PalQuant \
         replaces a 4-bit layer of C_in -> C_out channels by G groups each as wide as the \
         original (G*C_in -> G*C_out), which is `G*C_out * G*C_in * H * W * k^2 / G = G` \
         times the 4-bit layer's products, all 2-bit: **G 2-bit products per 4-bit product**. \
         The 2-bit array's MAC/s per LUT divided by G, against the 4-bit designs: \
         depth 0, G = 2: {:.2}x the 4-bit palq-pe (G 1), {:.2}x the 4-bit MACs; G = 4: \
         {:.2}x and {:.2}x. Pipelined for {PALQ_MHZ} MHz, G = 2: {:.2}x and {:.2}x; G = 4: \
         {:.2}x and {:.2}x.\n",
        effective(2, 3, 2.0),
        effective(2, 5, 2.0),
        effective(2, 3, 4.0),
        effective(2, 5, 4.0),
        effective(6, 7, 2.0),
        effective(6, 8, 2.0),
        effective(6, 7, 4.0),
        effective(6, 8, 4.0),
    );
    emit_table(&table, output, stdout)
}

/// The density table's Markdown rows; "vs int8 MAC" compares with the first row.
fn render_density(rows: &[DensityRow]) -> String {
    let base = &rows[0];
    let base_per_lut = base.macs_per_cycle / base.report.unit.luts.max(1) as f64;
    let base_per_lut_s = base_per_lut * base.report.fmax_mhz;
    let mut table = String::from(
        "| design | module | device | LUTs | carries | FFs | DSPs | LCs | Fmax MHz | MAC/cycle \
         | MAC/cycle per 1k LUTs | vs int8 MAC | GMAC/s | vs int8 MAC (MAC/s per LUT) |\n\
         | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows {
        let luts = r.report.unit.luts.max(1) as f64;
        let per_lut = r.macs_per_cycle / luts;
        let gmacs = r.macs_per_cycle * r.report.fmax_mhz / 1000.0;
        table += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2}x | {:.3} | {:.2}x |\n",
            r.label,
            r.report.design,
            r.report.device.name(),
            r.report.unit.luts,
            r.report.unit.carries,
            r.report.unit.ffs,
            r.report.unit.dsps,
            r.report.logic_cells.0,
            r.report.fmax_mhz,
            r.macs_per_cycle,
            1000.0 * per_lut,
            per_lut / base_per_lut,
            gmacs,
            per_lut * r.report.fmax_mhz / base_per_lut_s,
        );
    }
    table
}
