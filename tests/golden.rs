//! The behavioural references (`gen <unit> --golden`) against the models: each is
//! lint-clean and co-simulates equal to the unit's model on random streams. `gen prove`
//! shows the generated RTL equal to its reference; this checks the reference itself
//! against the executable spec, including configurations too wide to prove in CI. The
//! references' jammed float adder is checked against the exact sum on every operand
//! pair of small formats. Every unit's reference is also linted (`verilator --lint-only
//! -Wall`, no waivers) at random accepted parameter sets drawn from the parameters'
//! ranges, with issue 12's former failures as fixed cases.

use gen::registry::{each_unit, Registered, Visit};
use hdl::golden::golden_verilog;
use hdl::{Header, Reference};
use lowbit_tests::{cases, random_stimulus, scratch, verilator_lint};
use model::bfp::{BfpAddParams, BfpDotParams, BfpQuantParams, BfpRounding};
use model::expq::{ExpqDotParams, ExpqQuantParams};
use model::float::{FloatFormat, Rounding};
use model::fpacc::{FpaccParams, Operand, Preset};
use model::lns::{LnsMacParams, LnsMulParams};
use model::mac::{MacParams, Operand as MacOperand, Overflow};
use model::mx::{Elem, MxDequantParams, MxQuantParams, MxRounding};
use model::param::sample_declared;
use model::pipeline::Piped;
use model::Sampler;
use model::UnitParams;
use proptest::prelude::*;
use sim::{cosim, CosimOptions, Verilated};

fn check_golden<P: Reference>(p: &P, beats: usize, seed: u64) -> Result<(), String> {
    let header = Header {
        generator: "test".into(),
        command: None,
    };
    let text = golden_verilog(p, &header).map_err(|e| e.to_string())?;
    let top = p.module_name();
    let files = vec![(format!("{top}.v"), text.clone())];
    verilator_lint(&scratch(&format!("golden/{top}")), &files, &top)?;
    let dut = Verilated::build(
        &[(files[0].0.as_str(), text.as_str())],
        &top,
        &p.interface(),
    )
    .map_err(|e| e.to_string())?;
    let mut model = p.model().map_err(|e| e.to_string())?;
    let stimulus = random_stimulus(&p.interface(), beats, seed);
    cosim(&dut, model.as_mut(), &stimulus, &CosimOptions::default())
        .map(|_| ())
        .map_err(|e| format!("{p:?}: {e}"))
}

#[test]
fn integer_and_block_references_match_the_models() {
    let mac = MacParams::default();
    let units: Vec<Box<dyn Fn() -> Result<(), String>>> = vec![
        Box::new(move || check_golden(&mac, 20_000, 1)),
        Box::new(move || {
            check_golden(
                &Piped::new(
                    MacParams {
                        signed: false,
                        overflow: Overflow::Wrap,
                        ..mac
                    },
                    2,
                ),
                20_000,
                2,
            )
        }),
        // Mixed operands: int4 x uint8 saturating, uint8 x int4 wrapping and pipelined.
        Box::new(move || {
            check_golden(
                &MacParams {
                    in_bits: 4,
                    b: Some(MacOperand {
                        bits: 8,
                        signed: false,
                    }),
                    ..mac
                },
                20_000,
                3,
            )
        }),
        Box::new(move || {
            check_golden(
                &Piped::new(
                    MacParams {
                        signed: false,
                        overflow: Overflow::Wrap,
                        b: Some(MacOperand {
                            bits: 4,
                            signed: true,
                        }),
                        ..mac
                    },
                    2,
                ),
                20_000,
                4,
            )
        }),
        // Issue 12's lint failures, now also checked against the models.
        Box::new(move || {
            check_golden(
                &Piped::new(
                    MacParams {
                        acc_bits: 32,
                        ..mac
                    },
                    2,
                ),
                20_000,
                17,
            )
        }),
        Box::new(|| {
            check_golden(
                &LnsMacParams {
                    exp_bits: 3,
                    frac_bits: 2,
                    ..LnsMacParams::default()
                },
                20_000,
                18,
            )
        }),
        Box::new(|| {
            check_golden(
                // The narrowest y: the product's top bits are discarded.
                &ExpqDotParams {
                    out_bits: Some(ExpqDotParams::default().min_out_bits()),
                    ..ExpqDotParams::default()
                },
                20_000,
                19,
            )
        }),
        Box::new(|| {
            check_golden(
                &BfpAddParams {
                    block: 39,
                    mant_bits: 3,
                    exp_bits: 2,
                    rounding: BfpRounding::Sr,
                    rnd_bits: 9,
                },
                5_000,
                20,
            )
        }),
        Box::new(|| check_golden(&LnsMulParams::default(), 20_000, 3)),
        Box::new(|| {
            check_golden(
                &LnsMacParams {
                    overflow: Overflow::Wrap,
                    ..LnsMacParams::default()
                },
                20_000,
                4,
            )
        }),
        Box::new(|| check_golden(&ExpqQuantParams::default(), 20_000, 5)),
        Box::new(|| check_golden(&BfpQuantParams::default(), 5_000, 8)),
        Box::new(|| {
            check_golden(
                &BfpQuantParams {
                    block: 8,
                    rounding: BfpRounding::Sr,
                    rnd_bits: 5,
                    ..BfpQuantParams::default()
                },
                5_000,
                9,
            )
        }),
        Box::new(|| {
            check_golden(
                &BfpQuantParams {
                    block: 3,
                    mant_bits: 8,
                    rounding: BfpRounding::Rz,
                    ..BfpQuantParams::default()
                },
                5_000,
                10,
            )
        }),
        // Serial beats (`held`, `beat_count`) and run-time mantissa widths (`mode`).
        Box::new(|| {
            check_golden(
                &BfpQuantParams {
                    block: 8,
                    lanes: Some(2),
                    mant_bits: 6,
                    modes: Some("4,6".parse().expect("widths")),
                    ..BfpQuantParams::default()
                },
                5_000,
                11,
            )
        }),
        Box::new(|| {
            check_golden(
                &BfpQuantParams {
                    block: 4,
                    lanes: Some(1),
                    mant_bits: 8,
                    rounding: BfpRounding::Sr,
                    rnd_bits: 3,
                    modes: Some("2,5,8".parse().expect("widths")),
                    ..BfpQuantParams::default()
                },
                5_000,
                12,
            )
        }),
        Box::new(|| {
            check_golden(
                &BfpQuantParams {
                    block: 6,
                    lanes: Some(3),
                    mant_bits: 4,
                    rounding: BfpRounding::Rz,
                    modes: Some("3,4".parse().expect("widths")),
                    ..BfpQuantParams::default()
                },
                5_000,
                13,
            )
        }),
        Box::new(|| check_golden(&ExpqDotParams::default(), 20_000, 6)),
        // Lanes with both offsets: the reference's loop over the lanes against the trees.
        Box::new(|| {
            check_golden(
                &ExpqDotParams {
                    exp_bits: 2,
                    k_max: 20,
                    lanes: 5,
                    offset_w: "0.25".parse().expect("a decimal offset"),
                    offset_a: "1".parse().expect("a decimal offset"),
                    ..ExpqDotParams::default()
                },
                20_000,
                23,
            )
        }),
        // Both offsets: every group of counters (exponent sums, weight and activation
        // exponents, the sign counter).
        Box::new(|| {
            check_golden(
                &ExpqDotParams {
                    base: "1.5".parse().expect("a decimal base"),
                    exp_min: -2,
                    offset_w: "0.5".parse().expect("a decimal offset"),
                    offset_a: "0.3".parse().expect("a decimal offset"),
                    ..ExpqDotParams::default()
                },
                20_000,
                22,
            )
        }),
        // MX at the default block (32, in 8-lane beats) and 8 lanes, wider than the proofs'.
        Box::new(|| {
            check_golden(
                &MxQuantParams {
                    lanes: Some(8),
                    ..MxQuantParams::default()
                },
                5_000,
                21,
            )
        }),
        Box::new(|| {
            check_golden(
                &MxQuantParams {
                    elem: Elem::E5m2,
                    block: 16,
                    rounding: MxRounding::Sr,
                    ..MxQuantParams::default()
                },
                5_000,
                22,
            )
        }),
        Box::new(|| {
            check_golden(
                &MxDequantParams {
                    lanes: 8,
                    ..MxDequantParams::default()
                },
                20_000,
                23,
            )
        }),
        // bfp_dot: whole blocks, serial beats with run-time widths, the narrowest.
        Box::new(|| check_golden(&BfpDotParams::default(), 20_000, 14)),
        Box::new(|| {
            check_golden(
                &BfpDotParams {
                    block: 8,
                    lanes: Some(2),
                    mant_bits: 6,
                    modes: Some("2,4,6".parse().expect("widths")),
                    ..BfpDotParams::default()
                },
                20_000,
                15,
            )
        }),
        // --narrow-pack at the density table's shape: 16 HBFP4 or 8 HBFP6 products a beat.
        Box::new(|| {
            check_golden(
                &BfpDotParams {
                    lanes: Some(8),
                    mant_bits: 6,
                    modes: Some("4,6".parse().expect("widths")),
                    narrow_pack: true,
                    ..BfpDotParams::default()
                },
                20_000,
                17,
            )
        }),
        Box::new(|| {
            check_golden(
                &BfpDotParams {
                    block: 1,
                    mant_bits: 2,
                    exp_bits: 2,
                    ..BfpDotParams::default()
                },
                20_000,
                16,
            )
        }),
        Box::new(|| {
            check_golden(
                &BfpAddParams {
                    block: 4,
                    rounding: BfpRounding::Sr,
                    ..BfpAddParams::default()
                },
                20_000,
                7,
            )
        }),
    ];
    for check in units {
        check().unwrap_or_else(|e| panic!("{e}"));
    }
}

fn fpacc_params() -> impl Strategy<Value = Piped<FpaccParams>> {
    let operand = prop_oneof![
        (2u32..=10, 0u32..=8).prop_map(|(bits, frac)| Operand::int(bits, frac)),
        // Mixed operands: each its own width and signedness.
        (2u32..=10, any::<bool>(), 2u32..=10, any::<bool>(), 0u32..=8).prop_map(
            |(na, sa, nb, sb, frac)| Operand::mixed(
                model::fpacc::IntOperand {
                    bits: na,
                    signed: sa
                },
                model::fpacc::IntOperand {
                    bits: nb,
                    signed: sb
                },
                frac
            )
        ),
        (2u32..=5, 1u32..=6).prop_map(|(e, m)| Operand::Float {
            format: FloatFormat {
                exp_bits: e,
                man_bits: m,
                bias: (1 << (e - 1)) - 1,
                reserve_top_exponent: false,
            },
        }),
    ];
    let format =
        (2u32..=6, 1u32..=12, -4i32..=20, any::<bool>()).prop_map(|(e, m, b, r)| FloatFormat {
            exp_bits: e,
            man_bits: m,
            bias: b,
            reserve_top_exponent: r,
        });
    (
        operand,
        format.clone(),
        prop::option::of(format),
        prop_oneof![Just(Rounding::Rne), Just(Rounding::Rz)],
        prop_oneof![Just(0u32), Just(1), Just(3), Just(16)],
        0u32..=2,
        prop_oneof![Just(1u32), Just(2), Just(4)],
        prop::option::weighted(0.3, 1u32..=16),
    )
        .prop_map(
            |(operand, acc, product, rounding, chunk, pipeline, k, sr)| {
                // Stochastic rounding: the plain sum, RNE its canonical mode.
                let sr = sr.map(|bits| model::fpacc::SrFields { bits });
                let plain = sr.is_some();
                Piped::new(
                    FpaccParams {
                        operand,
                        product: product.unwrap_or(acc),
                        acc,
                        rounding: if plain { Rounding::Rne } else { rounding },
                        sr,
                        chunk: if plain { 0 } else { chunk },
                        interleave: if chunk == 0 && !plain { k } else { 1 },
                    },
                    pipeline,
                )
            },
        )
}

/// The acc12, bf16 and fp32 presets' references.
#[test]
fn fpacc_preset_references_match_the_model() {
    for (i, preset) in [Preset::Acc12, Preset::Bf16, Preset::Fp32]
        .into_iter()
        .enumerate()
    {
        let f = preset.format();
        let p = FpaccParams {
            product: f,
            acc: f,
            chunk: if i == 1 { 16 } else { 0 },
            ..FpaccParams::default()
        };
        check_golden(&p, 20_000, 10 + i as u64).unwrap_or_else(|e| panic!("{e}"));
        // The same format with stochastic rounding (R = 8).
        let sr = FpaccParams {
            chunk: 0,
            sr: Some(model::fpacc::SrFields { bits: 8 }),
            ..p
        };
        check_golden(&sr, 20_000, 20 + i as u64).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// `fpacc-long`'s reference against the model with mixed integer operands: int4 x uint8
/// with fraction bits (W4A8), two unsigned operands with no guard bits (the register
/// wraps) pipelined, uint3 x int6 into bf16 with RZ, and signed operands of two widths.
#[test]
fn fpacc_long_mixed_references_match_the_model() {
    use model::fpacc::{FpaccLongParams, IntOperand};
    let op = |bits, signed| IntOperand { bits, signed };
    let d = FpaccLongParams::default();
    let sets = [
        Piped::new(
            FpaccLongParams {
                operand: Operand::mixed(op(4, true), op(8, false), 4),
                ..d
            },
            0,
        ),
        Piped::new(
            FpaccLongParams {
                operand: Operand::mixed(op(5, false), op(5, false), 0),
                guard: 0,
                ..d
            },
            2,
        ),
        Piped::new(
            FpaccLongParams {
                operand: Operand::mixed(op(3, false), op(6, true), 2),
                acc: Preset::Bf16.format(),
                rounding: Rounding::Rz,
                guard: 1,
            },
            1,
        ),
        Piped::new(
            FpaccLongParams {
                operand: Operand::mixed(op(7, true), op(3, true), 0),
                guard: 2,
                ..d
            },
            0,
        ),
    ];
    for (i, p) in sets.iter().enumerate() {
        assert!(p.unit.operand.is_mixed());
        check_golden(p, 20_000, 30 + i as u64).unwrap_or_else(|e| panic!("{e}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(6), max_shrink_iters: 8, failure_persistence: lowbit_tests::regressions!("golden.txt"), ..ProptestConfig::default() })]

    /// `fpacc`'s reference over formats, operands, rounding, chunks and depth.
    #[test]
    fn fpacc_reference_matches_the_model(p in fpacc_params(), seed in any::<u64>()) {
        prop_assume!(p.validate().is_ok());
        check_golden(&p, 5_000, seed).map_err(TestCaseError::fail)?;
    }
}

/// The jammed float adder of the references (`hdl::golden::jam_add_function`, used by
/// `bfp_dot`'s) equals "sum exactly, round once" (`fix_function` and `round_function`,
/// used by `fpacc`'s) on every pair of operands of small formats, in both rounding modes:
/// the alignment window and the jam bit lose nothing that rounding could see.
#[test]
fn the_jammed_adder_rounds_like_the_exact_sum() {
    use hdl::golden::{fix_function, jam_add_function, round_function};
    lowbit_tests::require("iverilog");
    let formats = [(4, 3, 7), (3, 4, 3), (2, 5, 0)];
    for (exp_bits, man_bits, bias) in formats {
        for mode in [Rounding::Rne, Rounding::Rz] {
            let f = FloatFormat {
                exp_bits,
                man_bits,
                bias,
                reserve_top_exponent: false,
            };
            let w = f.width();
            let lsb = f.min_exp() - man_bits as i32;
            let cw = (f.max_exp() - lsb + 1) as u32 + 2;
            let bench = format!(
                "module jam_check;
{exact_round}{fix}{jam_round}{jam}    function [{wp1}:0] exact_add;
        input [{wm1}:0] x, y;
        reg signed [{cwm1}:0] s;
        begin
            s = fix(x) + fix(y);
            exact_add = round_exact(s < 0, s < 0 ? -s : s, {lsb});
        end
    endfunction
    integer x, y, bad;
    initial begin
        bad = 0;
        for (x = 0; x < {n}; x = x + 1)
            for (y = 0; y < {n}; y = y + 1)
                if (jam_add(x[{wm1}:0], y[{wm1}:0]) !== exact_add(x[{wm1}:0], y[{wm1}:0])) begin
                    if (bad < 4) $display(\"x=%h y=%h jam=%h exact=%h\", x[{wm1}:0], y[{wm1}:0],
                        jam_add(x[{wm1}:0], y[{wm1}:0]), exact_add(x[{wm1}:0], y[{wm1}:0]));
                    bad = bad + 1;
                end
        $display(\"pairs %0d mismatches %0d\", {n} * {n}, bad);
        $finish;
    end
endmodule
",
                exact_round = round_function("round_exact", &f, mode, cw),
                fix = fix_function("fix", &f, lsb, cw),
                jam_round = round_function("round_jam", &f, mode, man_bits + 5),
                jam = jam_add_function("jam_add", "round_jam", &f),
                wp1 = w + 1,
                wm1 = w - 1,
                cwm1 = cw - 1,
                n = 1u32 << w,
            );
            let dir = scratch(&format!("jam/e{exp_bits}m{man_bits}_{mode:?}"));
            std::fs::write(dir.join("jam_check.v"), &bench).unwrap();
            let built = std::process::Command::new("iverilog")
                .args(["-g2005", "-o", "jam_check", "jam_check.v"])
                .current_dir(&dir)
                .output()
                .unwrap();
            assert!(
                built.status.success(),
                "{}",
                String::from_utf8_lossy(&built.stderr)
            );
            let run = std::process::Command::new("vvp")
                .args(["-n", "jam_check"])
                .current_dir(&dir)
                .output()
                .unwrap();
            let out = String::from_utf8_lossy(&run.stdout);
            let pairs = 1u64 << (2 * w);
            assert!(
                out.contains(&format!("pairs {pairs} mismatches 0")),
                "E{exp_bits}M{man_bits} {mode:?}: {out}"
            );
        }
    }
}

/// Lint the `--golden` output of every parameter set in `sets` with
/// `verilator --lint-only -Wall`; every failure is collected, then all are reported.
fn lint_goldens<P: Reference>(sets: Vec<P>) {
    let header = Header {
        generator: "test".into(),
        command: None,
    };
    let mut failures = Vec::new();
    for p in &sets {
        assert!(
            p.validate().is_ok(),
            "{p:?} is not an accepted parameter set"
        );
        let top = p.module_name();
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| golden_verilog(p, &header)));
        let text = match result {
            Err(_) => {
                failures.push(format!("{p:?}: the reference builder panicked"));
                continue;
            }
            Ok(Err(e)) => {
                failures.push(format!("{p:?}: {e}"));
                continue;
            }
            Ok(Ok(text)) => text,
        };
        let files = vec![(format!("{top}.v"), text)];
        if let Err(e) = verilator_lint(&scratch(&format!("golden_lint/{top}")), &files, &top) {
            failures.push(format!("{p:?}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {} references fail:\n{}",
        failures.len(),
        sets.len(),
        P::KIND,
        failures.join("\n")
    );
}

/// Sets per unit kind: ~0.2 s of lint each, a few seconds per kind.
const LINT_SETS: u64 = 24;

/// Every registered unit's reference at random accepted parameter sets drawn from its
/// declared flags (the corners of every range), plus issue 12's former failures.
#[test]
fn every_units_reference_lints_clean_at_random_declared_parameters() {
    struct Lint;
    impl Visit for Lint {
        fn visit<U: Registered>(&mut self) {
            let sets = (0..LINT_SETS)
                .map(|i| sample_declared::<U>(&mut Sampler::new(i * 7919 + 1)))
                .collect();
            lint_goldens::<U>(sets);
        }
    }
    each_unit(&mut Lint);
    lint_goldens(vec![Piped::new(
        MacParams {
            acc_bits: 32,
            ..MacParams::default()
        },
        2,
    )]);
    lint_goldens(vec![LnsMacParams {
        exp_bits: 3,
        frac_bits: 2,
        ..LnsMacParams::default()
    }]);
    // `--prod-exp 8`: a 9-bit field shifted across a wide fixed point.
    let acc = Preset::Acc12.format();
    lint_goldens(vec![FpaccParams {
        product: FloatFormat {
            exp_bits: 8,
            bias: 127,
            ..acc
        },
        ..FpaccParams::default()
    }]);
}
