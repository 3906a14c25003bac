//! The long accumulator `fpacc-long` (docs/fpacc.md, "The long accumulator") on the RTL:
//! the worked case against `fpacc`'s per-step rounding, a register that wraps, and mixed
//! integer operands (every int4 x uint3 pair) against integer arithmetic.

use lowbit_tests::verilate;
use model::float::FloatFormat;
use model::fpacc::{FpaccLongParams, FpaccParams, FpaccSum, IntOperand, Operand, Preset};
use model::int;
use model::UnitParams;
use sim::{cosim, CosimOptions};

/// One beat: rst, in_valid, clear, a, b.
fn beat(valid: bool, clear: bool, a: u64, b: u64) -> [u64; 5] {
    [0, valid.into(), clear.into(), a, b]
}

/// Run `beats` (clear, a, b) and `latency` idle cycles on the RTL, checked against
/// the model on every cycle; the last cycle's outputs (acc, uf, of, out_valid).
fn run(p: &FpaccLongParams, beats: &[(bool, u64, u64)]) -> [u64; 4] {
    let out = run_all(p, beats);
    out[out.len() - 4..].try_into().unwrap()
}

/// As [`run`], every cycle's outputs: beat `i`'s read-out is at cycle `i + latency`.
fn run_all(p: &FpaccLongParams, beats: &[(bool, u64, u64)]) -> Vec<u64> {
    let mut s = Vec::new();
    for (i, &(clear, a, b)) in beats.iter().enumerate() {
        s.extend(beat(true, clear || i == 0, a, b));
    }
    for _ in 0..p.latency() {
        s.extend(beat(false, false, 0, 0));
    }
    let dut = verilate(p);
    let mut model = p.model().unwrap();
    cosim(&dut, model.as_mut(), &s, &CosimOptions::default())
        .unwrap_or_else(|e| panic!("{p:?}: {e}"));
    let mut out = vec![0u64; s.len() / 5 * 4];
    dut.instance().unwrap().run(&s, &mut out);
    out
}

/// 16-bit two's complement bits of `v`.
fn i16b(v: i64) -> u64 {
    (v as u64) & 0xffff
}

/// docs/fpacc.md: products 2^24, 1 and -2^24 of 16-bit integers give exactly 1.0 in the
/// long accumulator with a binary32 read-out, and 0 in `fpacc --preset fp32 --in 16`
/// (2^24 + 1 rounds to 2^24, the step there being 2).
#[test]
fn worked_case_exact_sum_on_the_rtl() {
    let p = FpaccLongParams {
        operand: Operand::int(16, 0),
        acc: Preset::Fp32.format(),
        ..FpaccLongParams::default()
    };
    let beats = [(true, 4096, 4096), (false, 1, 1), (false, -4096, 4096)]
        .map(|(c, a, b)| (c, i16b(a), i16b(b)));
    let out = run(&p, &beats);
    assert_eq!(f32::from_bits(out[0] as u32), 1.0);
    assert_eq!(out[1..], [0, 0, 1]);

    let f = FpaccParams {
        operand: p.operand,
        product: p.acc,
        acc: p.acc,
        ..FpaccParams::default()
    };
    let mut step = FpaccSum::new(f);
    for &(clear, a, b) in &beats {
        step.push(clear, a, b);
    }
    assert_eq!((step.acc, step.uf, step.of), (0, false, false));
}

/// With no guard bits two largest 4-bit products wrap the 8-bit register: `of` stays
/// set until `clear`; small floats of a product that reaches the register's top likewise.
#[test]
fn wrapping_register_sets_a_sticky_overflow_on_the_rtl() {
    let p = FpaccLongParams {
        operand: Operand::int(4, 0),
        guard: 0,
        ..FpaccLongParams::default()
    };
    let out = run(&p, &[(true, 8, 8), (false, 8, 8), (false, 1, 1)]);
    assert_eq!(out[2], 1, "of after the wrap");
    let out = run(&p, &[(true, 8, 8), (false, 8, 8), (true, 1, 1)]);
    assert_eq!((p.acc.decode(out[0]).to_f64(), out[2]), (1.0, 0));

    let e3m2 = FloatFormat {
        exp_bits: 3,
        man_bits: 2,
        bias: 3,
        reserve_top_exponent: false,
    };
    let p = FpaccLongParams {
        operand: Operand::Float { format: e3m2 },
        guard: 1,
        ..FpaccLongParams::default()
    };
    // The largest E3M2 value (0x1f: 1.75 * 2^4) squared, three times.
    let out = run(
        &p,
        &[(true, 0x1f, 0x1f), (false, 0x1f, 0x1f), (false, 0x1f, 0x1f)],
    );
    assert_eq!(out[2], 1);
}

/// Configurations the generic sampler rarely or never draws: the widest register the unit
/// accepts (E5M10 operands, 32 guard bits: 115 bits), 16-bit integers into bfloat16 and
/// a register narrower than the output significand, and mixed operands (two unsigned
/// 16-bit ones with 32 guard bits, signed 5-bit by unsigned 12-bit fixed point),
/// on random streams (resets, clears, idle cycles), every output of every cycle
/// against the model; and the same with the generic pipeline.
#[test]
fn wide_registers_match_the_model_on_random_streams() {
    let e5m10 = FloatFormat {
        exp_bits: 5,
        man_bits: 10,
        bias: 15,
        reserve_top_exponent: false,
    };
    let wide = FpaccLongParams {
        operand: Operand::Float { format: e5m10 },
        acc: Preset::Fp32.format(),
        rounding: model::float::Rounding::Rz,
        guard: 32,
    };
    assert_eq!(wide.long_width(), 115);
    let int16 = FpaccLongParams {
        operand: Operand::int(16, 3),
        acc: Preset::Bf16.format(),
        ..FpaccLongParams::default()
    };
    // A register narrower than the significand (17 bits into 21): read out exactly,
    // without rounding (CI found this one unbuilt, seed 18038097651269420897).
    let narrow = FpaccLongParams {
        operand: Operand::int(4, 2),
        acc: FloatFormat {
            exp_bits: 2,
            man_bits: 20,
            bias: -1,
            reserve_top_exponent: false,
        },
        rounding: model::float::Rounding::Rz,
        guard: 9,
    };
    assert!(narrow.long_width() < narrow.acc.man_bits + 1);
    let int_op = |bits, signed| IntOperand { bits, signed };
    let u16_long = FpaccLongParams {
        operand: Operand::mixed(int_op(16, false), int_op(16, false), 0),
        acc: Preset::Fp32.format(),
        guard: 32,
        ..FpaccLongParams::default()
    };
    assert_eq!(u16_long.long_width(), 65);
    let i5xu12 = FpaccLongParams {
        operand: Operand::mixed(int_op(5, true), int_op(12, false), 6),
        acc: Preset::Bf16.format(),
        rounding: model::float::Rounding::Rz,
        guard: 3,
    };
    for (i, p) in [wide, int16, narrow, u16_long, i5xu12]
        .into_iter()
        .enumerate()
    {
        let s = lowbit_tests::random_stimulus(&p.interface(), 3000, 0x10f6 + i as u64);
        lowbit_tests::check_unit_with(p, &s).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        let piped = model::pipeline::Piped::new(p, 2);
        lowbit_tests::check_unit_with(piped, &s).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    }
}

fn int4_by_uint3() -> Operand {
    Operand::mixed(IntOperand::signed(4), IntOperand::unsigned(3), 0)
}

/// Mixed operands, every pair on the RTL (against the model on every cycle too): int4
/// `a` by uint3 `b`.
/// - Each pair from a clear: into E5M12 (bias 15), which holds every product, `acc` is
///   `a * b` exactly; into E3M2 (bias 4, largest 14), `a * b` rounded to 3 significant
///   bits (RNE) by integer arithmetic, saturated at 14 with `of`.
/// - Every pair into one running sum (no clear after the first): `acc` shows the exact
///   integer sum after each beat (E5M12 holds every partial sum, below 2^13).
#[test]
fn mixed_operands_every_pair_on_the_rtl() {
    let pairs: Vec<(i64, i64)> = lowbit_tests::int4_by_uint3_pairs();
    let bits = |&(a, b): &(i64, i64)| (int::to_bits(a.into(), 4) as u64, b as u64);
    let exact = FloatFormat::finite(5, 12, 15);
    for (format, holds_all) in [(exact, true), (FloatFormat::finite(3, 2, 4), false)] {
        let p = FpaccLongParams {
            operand: int4_by_uint3(),
            acc: format,
            ..FpaccLongParams::default()
        };
        assert_eq!(
            p.module_name(),
            format!(
                "fpacc_long_i4xu3_e{}m{}b{}_rne_g8",
                format.exp_bits, format.man_bits, format.bias
            )
        );
        let beats: Vec<_> = pairs
            .iter()
            .map(|ab| {
                let (a, b) = bits(ab);
                (true, a, b)
            })
            .collect();
        let out = run_all(&p, &beats);
        lowbit_tests::check_lone_products(&out, p.latency() as usize, &pairs, format, holds_all);
    }

    let p = FpaccLongParams {
        operand: int4_by_uint3(),
        acc: exact,
        ..FpaccLongParams::default()
    };
    let beats: Vec<_> = pairs
        .iter()
        .enumerate()
        .map(|(i, ab)| {
            let (a, b) = bits(ab);
            (i == 0, a, b)
        })
        .collect();
    let out = run_all(&p, &beats);
    let lat = p.latency() as usize;
    let mut sum = 0i64;
    for (i, &(a, b)) in pairs.iter().enumerate() {
        sum += a * b;
        let o = &out[(i + lat) * 4..(i + lat + 1) * 4];
        assert_eq!(
            (exact.decode(o[0]).to_f64(), o[1], o[2], o[3]),
            (sum as f64, 0, 0, 1),
            "after {a} * {b}"
        );
    }
    assert_eq!(sum, -8 * 28, "(sum of a) (sum of b)");
}

/// Two unsigned operands need the product width's extra bit: uint3 x uint3 with no guard
/// bits holds 7 * 7 = 49 (7 bits, sign included) without `of`, and wraps on the second.
#[test]
fn unsigned_operands_fill_their_register_on_the_rtl() {
    let u3 = IntOperand::unsigned(3);
    let p = FpaccLongParams {
        operand: Operand::mixed(u3, u3, 0),
        guard: 0,
        ..FpaccLongParams::default()
    };
    assert_eq!(
        (p.module_name().as_str(), p.long_width()),
        ("fpacc_long_u3_e4m7b10_rne_g0", 7)
    );
    let out = run(&p, &[(true, 7, 7)]);
    assert_eq!((p.acc.decode(out[0]).to_f64(), out[2]), (49.0, 0));
    let out = run(&p, &[(true, 7, 7), (false, 7, 7)]);
    assert_eq!(out[2], 1, "98 leaves the 7-bit register");
}
