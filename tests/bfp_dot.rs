//! The block dot product `bfp_dot` against its model, against Rust's own `f32`
//! arithmetic, and in mixed-mantissa mode against the fixed-width unit.

use lowbit_tests::{check_unit, verilate, Rng};
use model::bfp::{quantize, BfpDotParams, BfpRounding, Block, LongWindow};
use model::iface::set_field;
use model::int;
use model::UnitParams;
use proptest::prelude::*;
use sim::{cosim, CosimOptions};

/// One beat of `bfp_dot` (one block pair per beat, no mode): rst, in_valid, clear, ea,
/// qa, eb, qb, each field in as many words as its port needs.
fn beat(p: &BfpDotParams, valid: bool, clear: bool, a: &Block, b: &Block) -> Vec<u64> {
    let m = p.mant_bits;
    let words = p.interface().port("qa").unwrap().words();
    let pack = |q: &[i64]| {
        let mut w = vec![0u64; words];
        for (i, v) in q.iter().enumerate() {
            set_field(&mut w, m * i as u32, m, int::to_bits((*v).into(), m) as u64);
        }
        w
    };
    let e = |x: i32| int::to_bits(x.into(), p.exp_bits) as u64;
    let mut beat = vec![0, valid as u64, clear as u64, e(a.exp)];
    beat.extend(pack(&a.q));
    beat.push(e(b.exp));
    beat.extend(pack(&b.q));
    beat
}

fn idle(p: &BfpDotParams) -> Vec<u64> {
    let zero = Block {
        exp: 0,
        q: vec![0; p.block as usize],
    };
    beat(p, false, false, &zero, &zero)
}

/// docs/bfp.md: x = [1.5, -0.3, 0.05, 0.9] and weights [0.5, 0.5, -1.0, 0.25] as
/// HBFP4 give the integer 14 at exponent -4: 0.875.
#[test]
fn spec_worked_case_on_the_rtl() {
    let p = BfpDotParams {
        block: 4,
        ..BfpDotParams::default()
    };
    let f = p.format();
    let x = quantize(
        &f,
        &[1.5f32, -0.3, 0.05, 0.9].map(f32::to_bits),
        BfpRounding::Rne,
        &[],
        0,
    );
    let w = quantize(
        &f,
        &[0.5f32, 0.5, -1.0, 0.25].map(f32::to_bits),
        BfpRounding::Rne,
        &[],
        0,
    );
    assert_eq!((x.block.exp, &x.block.q[..]), (-2, &[6, -1, 0, 4][..]));
    assert_eq!((w.block.exp, &w.block.q[..]), (-2, &[2, 2, -4, 1][..]));
    let mut stimulus = beat(&p, true, true, &x.block, &w.block);
    for _ in 0..3 {
        stimulus.extend(idle(&p));
    }
    let dut = verilate(&p);
    let mut out = vec![0u64; 4 * 4];
    dut.instance().unwrap().run(&stimulus, &mut out);
    // Outputs per beat: acc, uf, of, out_valid; the result three cycles after the block.
    assert_eq!(&out[8..12], &[0, 0, 0, 0]);
    assert_eq!(f32::from_bits(out[12] as u32), 0.875);
    assert_eq!(&out[13..16], &[0, 0, 1]);
    let mut model = p.model().unwrap();
    cosim(&dut, model.as_mut(), &stimulus, &CosimOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
}

/// A vector of `n` f32 values at a common scale, with zeros and mixed signs.
fn tensor(rng: &mut Rng, n: u32, scale: i32) -> Vec<u32> {
    (0..n)
        .map(|_| {
            if rng.one_in(8) {
                return 0;
            }
            let man = (rng.next_u64() % (1 << 23)) as u32;
            let e = scale - (rng.next_u64() % 6) as i32;
            let sign = ((rng.next_u64() & 1) as u32) << 31;
            sign | ((e + 127) as u32) << 23 | man
        })
        .collect()
}

/// Quantized blocks of real-looking tensors, accumulated on the RTL: every result must
/// be the `f32` sum of the blocks' values, added in block order with IEEE RNE, wherever
/// every value and partial sum stays in the normal range (checked, and all do here).
#[test]
fn accumulation_is_ieee_f32_addition() {
    for (mant_bits, block) in [(4, 16), (6, 8), (8, 32), (2, 4)] {
        let p = BfpDotParams {
            block,
            mant_bits,
            ..BfpDotParams::default()
        };
        let f = p.format();
        let mut rng = Rng::new(u64::from(mant_bits * 100 + block));
        let mut stimulus = Vec::new();
        let mut want = Vec::new();
        let mut sum = 0f32;
        let blocks = 2000;
        for i in 0..blocks {
            let clear = i % 50 == 0;
            let scale = (rng.next_u64() % 40) as i32 - 20;
            let xa = quantize(
                &f,
                &tensor(&mut rng, block, scale),
                BfpRounding::Rne,
                &[],
                0,
            );
            let xb = quantize(
                &f,
                &tensor(&mut rng, block, -scale / 2),
                BfpRounding::Rne,
                &[],
                0,
            );
            let (a, b) = (xa.block, xb.block);
            // Each block's value is exact in f32 (at most 22 significant bits, in range).
            let int: i64 = a.q.iter().zip(&b.q).map(|(x, y)| x * y).sum();
            let v = (int as f64 * 2f64.powi(a.exp + b.exp)) as f32;
            assert_eq!(f64::from(v), int as f64 * 2f64.powi(a.exp + b.exp));
            sum = if clear { v } else { sum + v };
            assert!(sum == 0.0 || sum.abs() >= f32::MIN_POSITIVE);
            want.push(if sum == 0.0 { 0.0f32 } else { sum }.to_bits());
            stimulus.extend(beat(&p, true, clear, &a, &b));
        }
        for _ in 0..3 {
            stimulus.extend(idle(&p));
        }
        let dut = verilate(&p);
        let beats = stimulus.len() / p.interface().in_words();
        let mut out = vec![0u64; beats * 4];
        dut.instance().unwrap().run(&stimulus, &mut out);
        let got: Vec<u32> = out.chunks(4).skip(3).map(|o| o[0] as u32).collect();
        assert_eq!(got, want, "m={mant_bits} n={block}");
        assert!(out.chunks(4).all(|o| o[1] == 0 && o[2] == 0), "no flags");
        let mut model = p.model().unwrap();
        cosim(&dut, model.as_mut(), &stimulus, &CosimOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// A mixed-mantissa dot product (`--mant 6 --modes 4,6`) in 4-bit mode gives exactly the
/// outputs of a unit built with `--mant 4`, whatever the upper bits of each 6-bit field
/// hold; in 6-bit mode those of `--mant 6`. RTL against RTL.
#[test]
fn mixed_mantissa_modes_equal_the_fixed_units() {
    let mixed = BfpDotParams {
        block: 8,
        lanes: Some(4),
        mant_bits: 6,
        exp_bits: 6,
        modes: Some("4,6".parse().unwrap()),
        long: None,
        narrow_pack: false,
    };
    let mixed_rtl = verilate(&mixed);
    for (mode, width) in [(0u64, 4u32), (1, 6)] {
        let fixed = BfpDotParams {
            mant_bits: width,
            modes: None,
            ..mixed
        };
        let iface = fixed.interface();
        let stimulus = lowbit_tests::random_stimulus(&iface, 6000, 21 + mode);
        // Widen each element field to 6 bits with random upper bits, append the mode.
        let mut rng = Rng::new(5);
        let iw = iface.in_words();
        let widen = |q: u64, rng: &mut Rng| {
            (0..4).fold(0u64, |acc, i| {
                let field = (q >> (width * i)) & ((1 << width) - 1);
                let junk = if width < 6 {
                    (rng.next_u64() & 3) << width
                } else {
                    0
                };
                acc | (field | junk) << (6 * i)
            })
        };
        let mixed_stimulus: Vec<u64> = stimulus
            .chunks(iw)
            .flat_map(|b| {
                let (qa, qb) = (widen(b[4], &mut rng), widen(b[6], &mut rng));
                [b[0], b[1], b[2], b[3], qa, b[5], qb, mode]
            })
            .collect();
        let mut fixed_out = vec![0u64; 6000 * 4];
        verilate(&fixed)
            .instance()
            .unwrap()
            .run(&stimulus, &mut fixed_out);
        let mut mixed_out = vec![0u64; 6000 * 4];
        mixed_rtl
            .instance()
            .unwrap()
            .run(&mixed_stimulus, &mut mixed_out);
        assert_eq!(fixed_out, mixed_out, "mode {mode}");
        let results = fixed_out.chunks(4).filter(|o| o[3] == 1).count();
        let nonzero = fixed_out.chunks(4).filter(|o| o[0] != 0).count();
        assert!(results > 500 && nonzero > 3000, "{results} results");
    }
    // And the mixed unit against its own model, with the mode changing at random.
    check_unit(mixed, 9, 4000).unwrap_or_else(|e| panic!("{e}"));
}

fn dot_params() -> impl Strategy<Value = BfpDotParams> {
    let shape =
        prop_oneof![1u32..=8, Just(12u32), Just(16u32), Just(32u32)].prop_flat_map(|block| {
            let divisors: Vec<u32> = (1..=block).filter(|d| block.is_multiple_of(*d)).collect();
            (Just(block), prop::sample::select(divisors))
        });
    // Mostly narrow exponents, whose sums keep the accumulator in range and exercise
    // rounding and cancellation; sometimes wide ones, which reach the flags.
    let exp_bits = prop_oneof![3 => 2u32..=7, 1 => 8u32..=16];
    // Half of the cases with --acc long: windows narrow enough to wrap and to truncate.
    let long = prop_oneof![
        Just(None),
        (8u32..=40, -12i32..=6).prop_map(|(bits, lsb)| Some(LongWindow { bits, lsb })),
    ];
    (shape, 2u32..=8, exp_bits, any::<u8>(), long).prop_map(
        |((block, lanes), mant_bits, exp_bits, pick, long)| {
            let narrower: Vec<String> = (2..mant_bits)
                .filter(|w| pick >> w & 1 == 1)
                .map(|w| w.to_string())
                .collect();
            let modes = (pick & 1 == 1 && !narrower.is_empty()).then(|| {
                format!("{},{mant_bits}", narrower.join(","))
                    .parse()
                    .unwrap()
            });
            BfpDotParams {
                block,
                mant_bits,
                exp_bits,
                lanes: Some(lanes),
                modes,
                long,
                narrow_pack: false,
            }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: lowbit_tests::cases(8), max_shrink_iters: 16, failure_persistence: lowbit_tests::regressions!("bfp_dot.txt"), ..ProptestConfig::default() })]

    #[test]
    fn bfp_dot_rtl_matches_model(p in dot_params(), seed in any::<u64>()) {
        check_unit(p, seed, 4000).map_err(TestCaseError::fail)?;
    }
}

/// `--narrow-pack` (issue 21): the RTL against the model (which tests/model check against
/// the exact block sums), random modes on each block's first beat and junk on the later
/// beats' `mode`, with binary32 and long accumulation, narrow blocks in one beat and more.
#[test]
fn narrow_pack_rtl_matches_model() {
    for (block, lanes, mant_bits, modes, long) in [
        (16, 8, 6, "4,6", None),
        (16, 4, 6, "4,6", None),
        (8, 2, 8, "4,8", Some(LongWindow { bits: 16, lsb: -4 })),
        (12, 2, 5, "3,5", None),
        (4, 1, 3, "2,3", Some(LongWindow { bits: 10, lsb: -2 })),
    ] {
        let p = BfpDotParams {
            block,
            lanes: Some(lanes),
            mant_bits,
            exp_bits: 5,
            modes: Some(modes.parse().unwrap()),
            long,
            narrow_pack: true,
        };
        check_unit(p, u64::from(block), 4000).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    }
}

/// The widest blocks, whole and serial, every run.
#[test]
fn bfp_dot_wide_blocks_match_model() {
    for (lanes, mant_bits) in [(64, 8), (1, 4)] {
        let p = BfpDotParams {
            block: 64,
            lanes: Some(lanes),
            mant_bits,
            exp_bits: 5,
            ..BfpDotParams::default()
        };
        check_unit(p, u64::from(lanes), 3000).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// `--acc long` against the model at windows that keep everything, truncate often and
/// wrap often, whole blocks and serial beats, with run-time widths.
#[test]
fn long_accumulation_matches_model() {
    for (block, lanes, mant_bits, exp_bits, bits, lsb, modes) in [
        (16, 16, 4, 10, 48, -24, None),
        (32, 32, 4, 10, 24, -12, None),
        (32, 32, 8, 4, 64, -20, None),
        (4, 2, 4, 4, 12, -3, None),
        (8, 1, 6, 5, 9, 2, Some("3,6")),
        (2, 2, 2, 2, 8, -1, None),
        (64, 64, 8, 16, 128, -70_000, None),
    ] {
        let p = BfpDotParams {
            block,
            lanes: Some(lanes),
            mant_bits,
            exp_bits,
            modes: modes.map(|m: &str| m.parse().unwrap()),
            long: Some(LongWindow { bits, lsb }),
            narrow_pack: false,
        };
        check_unit(p, u64::from(bits), 4000).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    }
}

/// docs/bfp.md: 2^20 + 2^-4 - 2^20 in three HBFP4 blocks. The binary32 accumulation
/// rounds 2^20 + 2^-4 to 2^20 (a tie, to even) and ends at 0; a long register of 48 bits
/// from 2^-24 keeps 2^-4 and reads out 0.0625. The default window (24 bits from 2^-12)
/// cannot hold 2^20: the first block wraps, and `of` says so. All on the RTL.
#[test]
fn long_register_keeps_what_binary32_loses() {
    let one = |exp: i32, v: i64| Block {
        exp,
        q: vec![v, 0, 0, 0],
    };
    // 4 * 4 * 2^16 = 2^20; 1 * 1 * 2^-4; -4 * 4 * 2^16.
    let blocks = [
        (one(8, 4), one(8, 4)),
        (one(-2, 1), one(-2, 1)),
        (one(8, -4), one(8, 4)),
    ];
    let wide = LongWindow { bits: 48, lsb: -24 };
    for (long, want, of) in [
        (None, 0.0f32, 0),
        (Some(wide), 0.0625, 0),
        (Some(LongWindow::default()), 0.0625, 1),
    ] {
        let p = BfpDotParams {
            block: 4,
            long,
            ..BfpDotParams::default()
        };
        let mut stimulus = Vec::new();
        for (i, (a, b)) in blocks.iter().enumerate() {
            stimulus.extend(beat(&p, true, i == 0, a, b));
        }
        for _ in 0..p.latency() {
            stimulus.extend(idle(&p));
        }
        let dut = verilate(&p);
        let beats = stimulus.len() / p.interface().in_words();
        let mut out = vec![0u64; beats * 4];
        dut.instance().unwrap().run(&stimulus, &mut out);
        let last = &out[out.len() - 4..];
        assert_eq!(
            (f32::from_bits(last[0] as u32), last[1], last[2]),
            (want, 0, of),
            "{long:?}"
        );
        let mut model = p.model().unwrap();
        cosim(&dut, model.as_mut(), &stimulus, &CosimOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The RTL and the reference of `--acc long` build at every accepted register width,
/// with the narrowest and the widest blocks: the reference's read-out once panicked on a
/// 2^127 literal at 126 bits (CI, seed 17273557335127164042). No tools needed.
#[test]
fn long_mode_builds_at_every_register_width() {
    use hdl::{Generate, Reference};
    for bits in model::bfp::LONG_BITS.range() {
        for (block, mant_bits) in [(1, 2), (64, 8)] {
            let p = BfpDotParams {
                block,
                mant_bits,
                long: Some(LongWindow { bits, lsb: -12 }),
                ..BfpDotParams::default()
            };
            p.rtl().unwrap_or_else(|e| panic!("{p:?}: {e}"));
            p.golden()
                .unwrap_or_else(|e| panic!("{p:?}: reference: {e}"));
        }
    }
}

/// The widest registers `--acc long` accepts (127 and 128 bits, the model's `i128` at
/// its edge) against the model on random streams, every output of every cycle.
#[test]
fn widest_long_registers_match_the_model() {
    for bits in [127, 128] {
        let p = BfpDotParams {
            block: 4,
            exp_bits: 8,
            long: Some(LongWindow { bits, lsb: -40 }),
            ..BfpDotParams::default()
        };
        let s = lowbit_tests::random_stimulus(&p.interface(), 2000, 0xb1d + u64::from(bits));
        lowbit_tests::check_unit_with(p, &s).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    }
}
