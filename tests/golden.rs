//! The behavioural references (`gen <unit> --golden`) against the models: each is
//! lint-clean and co-simulates equal to the unit's model on random streams. `gen prove`
//! shows the generated RTL equal to its reference; this checks the reference itself
//! against the executable spec, including configurations too wide to prove in CI. The
//! references' jammed float adder is checked against the exact sum on every operand
//! pair of small formats. Every unit's reference is also linted (`verilator --lint-only
//! -Wall`, no waivers) at random accepted parameter sets drawn from the parameters'
//! ranges, with issue 12's former failures as fixed cases.

use hdl::golden::golden_verilog;
use hdl::{Generate, Header};
use lowbit_tests::{cases, random_stimulus, scratch, verilator_lint, Rng};
use model::bfp::{BfpAddParams, BfpDotParams, BfpQuantParams, BfpRounding};
use model::expq::{ExpqDotParams, ExpqQuantParams};
use model::float::{FloatFormat, Rounding};
use model::fpacc::{FpaccParams, Operand, Preset};
use model::lns::{LnsMacParams, LnsMulParams};
use model::mac::{MacParams, Overflow};
use model::UnitParams;
use proptest::prelude::*;
use sim::{cosim, CosimOptions, Verilated};

fn check_golden<P: Generate>(p: &P, beats: usize, seed: u64) -> Result<(), String> {
    let header = Header {
        generator: "test".into(),
        command: None,
    };
    let text = golden_verilog(p, &header)
        .ok_or_else(|| format!("{} has no reference", P::KIND))?
        .map_err(|e| e.to_string())?;
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
                &MacParams {
                    signed: false,
                    overflow: Overflow::Wrap,
                    pipeline: 2,
                    ..mac
                },
                20_000,
                2,
            )
        }),
        // Issue 12's lint failures, now also checked against the models.
        Box::new(move || {
            check_golden(
                &MacParams {
                    acc_bits: 32,
                    pipeline: 2,
                    ..mac
                },
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

fn fpacc_params() -> impl Strategy<Value = FpaccParams> {
    let operand = prop_oneof![
        (2u32..=10, 0u32..=8).prop_map(|(bits, frac)| Operand::Int { bits, frac }),
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
    )
        .prop_map(
            |(operand, acc, product, rounding, chunk, pipeline)| FpaccParams {
                operand,
                product: product.unwrap_or(acc),
                acc,
                rounding,
                chunk,
                pipeline,
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
fn lint_goldens<P: Generate>(sets: Vec<P>) {
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
            Ok(None) => panic!("{} has no reference", P::KIND),
            Ok(Some(Err(e))) => {
                failures.push(format!("{p:?}: {e}"));
                continue;
            }
            Ok(Some(Ok(text))) => text,
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

/// Random parameter sets drawn by `draw` (uniform over each field's range) until `n`
/// of them are accepted by `validate`, plus the `fixed` ones, without repeats.
fn sample<P: UnitParams + PartialEq>(
    n: usize,
    seed: u64,
    fixed: Vec<P>,
    mut draw: impl FnMut(&mut Rng) -> P,
) -> Vec<P> {
    let mut rng = Rng::new(seed);
    let mut sets = fixed;
    let mut tries = 0;
    let mut drawn = 0;
    while drawn < n {
        tries += 1;
        assert!(tries < 100 * n + 1000, "too few accepted {} sets", P::KIND);
        let p = draw(&mut rng);
        if p.validate().is_ok() && !sets.contains(&p) {
            sets.push(p);
            drawn += 1;
        }
    }
    sets
}

/// A uniform value in `r`.
fn pick(rng: &mut Rng, r: std::ops::RangeInclusive<u32>) -> u32 {
    r.start() + (rng.next_u64() % u64::from(r.end() - r.start() + 1)) as u32
}

/// A uniform value in `lo..=hi`.
fn pick_i(rng: &mut Rng, lo: i32, hi: i32) -> i32 {
    lo + (rng.next_u64() % (hi - lo + 1) as u64) as i32
}

fn overflow(rng: &mut Rng) -> Overflow {
    if rng.one_in(2) {
        Overflow::Saturate
    } else {
        Overflow::Wrap
    }
}

fn bfp_rounding(rng: &mut Rng) -> BfpRounding {
    [BfpRounding::Rne, BfpRounding::Rz, BfpRounding::Sr][(rng.next_u64() % 3) as usize]
}

fn base(rng: &mut Rng) -> model::expq::Base {
    ["2", "1.5", "1.25", "3", "1.1", "16", "1.001"][(rng.next_u64() % 7) as usize]
        .parse()
        .expect("valid base")
}

/// A divisor of `block`, or none (all lanes).
fn lanes(rng: &mut Rng, block: u32) -> Option<u32> {
    if rng.one_in(2) {
        return None;
    }
    let divisors: Vec<u32> = (1..=block).filter(|d| block.is_multiple_of(*d)).collect();
    Some(divisors[(rng.next_u64() % divisors.len() as u64) as usize])
}

/// Two or more widths in 2..=mant, the widest `mant`, or none.
fn modes(rng: &mut Rng, mant: u32) -> Option<model::bfp::Modes> {
    if mant < 3 || rng.one_in(2) {
        return None;
    }
    let mut widths: Vec<u32> = (2..mant).filter(|_| rng.one_in(2)).collect();
    if widths.is_empty() {
        widths.push(2);
    }
    widths.push(mant);
    let text: Vec<String> = widths.iter().map(u32::to_string).collect();
    Some(text.join(",").parse().expect("widths"))
}

fn float_format(rng: &mut Rng, man: std::ops::RangeInclusive<u32>) -> FloatFormat {
    use model::fpacc::{BIAS, EXP_BITS};
    let exp_bits = pick(rng, EXP_BITS);
    FloatFormat {
        exp_bits,
        man_bits: pick(rng, man),
        bias: if rng.one_in(2) {
            (1 << (exp_bits - 1)) - 1
        } else {
            pick_i(rng, *BIAS.start(), *BIAS.end())
        },
        reserve_top_exponent: rng.one_in(2),
    }
}

/// Sets per unit kind: ~0.2 s of lint each, a few seconds per kind.
const LINT_SETS: usize = 24;

#[test]
fn random_mac_references_lint_clean() {
    use model::mac::{ACC_BITS, IN_BITS, PIPELINE};
    let fixed = vec![MacParams {
        acc_bits: 32,
        pipeline: 2,
        ..MacParams::default()
    }];
    lint_goldens(sample(LINT_SETS, 21, fixed, |rng| MacParams {
        in_bits: pick(rng, IN_BITS),
        signed: rng.one_in(2),
        acc_bits: pick(rng, ACC_BITS),
        overflow: overflow(rng),
        pipeline: pick(rng, PIPELINE),
    }));
}

#[test]
fn random_lns_mul_references_lint_clean() {
    use model::lns::{EXP_BITS, FRAC_BITS};
    lint_goldens(sample(LINT_SETS, 22, vec![], |rng| {
        let exp_bits = pick(rng, EXP_BITS);
        LnsMulParams {
            exp_bits,
            frac_bits: pick(rng, FRAC_BITS),
            exp_min: if rng.one_in(2) {
                None
            } else {
                Some(pick_i(rng, -(1 << exp_bits), 1 << exp_bits))
            },
        }
    }));
}

#[test]
fn random_lns_mac_references_lint_clean() {
    use model::lns::{ACC_BITS, EXP_BITS, FRAC_BITS, TABLE_BITS};
    let fixed = vec![LnsMacParams {
        exp_bits: 3,
        frac_bits: 2,
        ..LnsMacParams::default()
    }];
    lint_goldens(sample(LINT_SETS, 23, fixed, |rng| {
        let exp_bits = pick(rng, EXP_BITS);
        LnsMacParams {
            exp_bits,
            frac_bits: pick(rng, FRAC_BITS),
            exp_min: if rng.one_in(2) {
                None
            } else {
                Some(pick_i(rng, -(1 << exp_bits), 1 << exp_bits))
            },
            table_bits: pick(rng, TABLE_BITS),
            acc_bits: pick(rng, ACC_BITS),
            overflow: overflow(rng),
        }
    }));
}

#[test]
fn random_expq_quant_references_lint_clean() {
    use model::expq::{EXP_BITS, IN_BITS};
    lint_goldens(sample(LINT_SETS, 24, vec![], |rng| {
        let in_bits = pick(rng, IN_BITS);
        ExpqQuantParams {
            in_bits,
            in_frac: pick(rng, 0..=in_bits),
            exp_bits: pick(rng, EXP_BITS),
            base: base(rng),
            alpha: model::expq::parse_scale(
                ["1", "0.75", "3.2", "0.001", "1000"][(rng.next_u64() % 5) as usize],
            )
            .expect("valid scale"),
            exp_min: pick_i(rng, -64, 64),
        }
    }));
}

#[test]
fn random_expq_dot_references_lint_clean() {
    use model::expq::{EXP_BITS, FRAC_BITS, K_MAX};
    lint_goldens(sample(LINT_SETS, 25, vec![], |rng| {
        let p = ExpqDotParams {
            exp_bits: pick(rng, EXP_BITS),
            base: base(rng),
            exp_min: pick_i(rng, -64, 64),
            frac_bits: pick(rng, FRAC_BITS),
            k_max: pick(rng, K_MAX),
            out_bits: None,
        };
        let min = p.min_out_bits();
        ExpqDotParams {
            out_bits: if rng.one_in(2) {
                None
            } else {
                Some(pick(rng, min..=min + 8))
            },
            ..p
        }
    }));
}

#[test]
fn random_bfp_quant_references_lint_clean() {
    use model::bfp::{BLOCK, EXP_BITS, MANT_BITS, RND_BITS};
    lint_goldens(sample(LINT_SETS, 26, vec![], |rng| {
        let block = pick(rng, BLOCK);
        let mant_bits = pick(rng, MANT_BITS);
        BfpQuantParams {
            block,
            mant_bits,
            exp_bits: pick(rng, EXP_BITS),
            rounding: bfp_rounding(rng),
            rnd_bits: pick(rng, RND_BITS),
            lanes: lanes(rng, block),
            modes: modes(rng, mant_bits),
        }
    }));
}

#[test]
fn random_bfp_add_references_lint_clean() {
    use model::bfp::{ADD_EXP_BITS, BLOCK, MANT_BITS, RND_BITS};
    lint_goldens(sample(LINT_SETS, 27, vec![], |rng| BfpAddParams {
        block: pick(rng, BLOCK),
        mant_bits: pick(rng, MANT_BITS),
        exp_bits: pick(rng, ADD_EXP_BITS),
        rounding: bfp_rounding(rng),
        rnd_bits: pick(rng, RND_BITS),
    }));
}

#[test]
fn random_bfp_dot_references_lint_clean() {
    use model::bfp::{BLOCK, DOT_EXP_BITS, MANT_BITS};
    lint_goldens(sample(LINT_SETS, 28, vec![], |rng| {
        let block = pick(rng, BLOCK);
        let mant_bits = pick(rng, MANT_BITS);
        BfpDotParams {
            block,
            mant_bits,
            exp_bits: pick(rng, DOT_EXP_BITS),
            lanes: lanes(rng, block),
            modes: modes(rng, mant_bits),
        }
    }));
}

#[test]
fn random_fpacc_references_lint_clean() {
    use model::fpacc::{INT_BITS, MAN_BITS, OPERAND_MAN_BITS, PIPELINE};
    // `--prod-exp 8`: a 9-bit field shifted across a wide fixed point.
    let acc = Preset::Acc12.format();
    let fixed = vec![FpaccParams {
        product: FloatFormat {
            exp_bits: 8,
            bias: 127,
            ..acc
        },
        ..FpaccParams::default()
    }];
    lint_goldens(sample(LINT_SETS, 29, fixed, |rng| {
        let acc = float_format(rng, MAN_BITS);
        FpaccParams {
            operand: if rng.one_in(2) {
                Operand::Int {
                    bits: pick(rng, INT_BITS),
                    frac: pick(rng, 0..=32),
                }
            } else {
                Operand::Float {
                    format: FloatFormat {
                        reserve_top_exponent: false,
                        ..float_format(rng, OPERAND_MAN_BITS)
                    },
                }
            },
            acc,
            product: if rng.one_in(2) {
                acc
            } else {
                float_format(rng, MAN_BITS)
            },
            rounding: if rng.one_in(2) {
                Rounding::Rne
            } else {
                Rounding::Rz
            },
            chunk: [0, 1, 2, 3, 16, 65535][(rng.next_u64() % 6) as usize],
            pipeline: pick(rng, PIPELINE),
        }
    }));
}
