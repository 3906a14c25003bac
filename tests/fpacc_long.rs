//! The long accumulator `fpacc-long` (docs/fpacc.md, "The long accumulator") on the RTL:
//! the worked case against `fpacc`'s per-step rounding, and a register that wraps.

use lowbit_tests::verilate;
use model::float::FloatFormat;
use model::fpacc::{FpaccLongParams, FpaccParams, FpaccSum, Operand, Preset};
use model::UnitParams;
use sim::{cosim, CosimOptions};

/// One beat: rst, in_valid, clear, a, b.
fn beat(valid: bool, clear: bool, a: u64, b: u64) -> [u64; 5] {
    [0, valid.into(), clear.into(), a, b]
}

/// Run `beats` (clear, a, b) and `latency` idle cycles on the RTL, checked against
/// the model on every cycle; the last cycle's outputs (acc, uf, of, out_valid).
fn run(p: &FpaccLongParams, beats: &[(bool, u64, u64)]) -> [u64; 4] {
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
    out[out.len() - 4..].try_into().unwrap()
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
/// a register narrower than the output significand,
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
    for (i, p) in [wide, int16, narrow].into_iter().enumerate() {
        let s = lowbit_tests::random_stimulus(&p.interface(), 3000, 0x10f6 + i as u64);
        lowbit_tests::check_unit_with(p, &s).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        let piped = model::pipeline::Piped::new(p, 2);
        lowbit_tests::check_unit_with(piped, &s).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    }
}
