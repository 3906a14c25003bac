//! The floating-point accumulator `fpacc` (docs/fpacc.md): the worked cases on the
//! RTL, the fp32 preset against Rust's own `f32` arithmetic, and property tests over
//! formats, rounding, chunking and pipelining on streams built to underflow, overflow,
//! cancel, tie and swamp.

use lowbit_tests::{cases, check_unit_with, verilate, Rng};
use model::float::{FloatFormat, Rounding};
use model::fpacc::{FpaccParams, IntOperand, Operand, Preset, BIAS};
use model::int;
use model::pipeline::Piped;
use model::UnitParams;
use proptest::prelude::*;
use sim::{cosim, CosimOptions};

/// One beat: rst, in_valid, clear, a, b.
fn beat(valid: bool, clear: bool, a: u64, b: u64) -> [u64; 5] {
    [0, valid.into(), clear.into(), a, b]
}

/// Run a stimulus on the RTL, check it against the model on every beat, and return the
/// RTL's outputs (acc, uf, of, out_valid per beat).
fn run(p: &FpaccParams, stimulus: &[u64]) -> Vec<u64> {
    let dut = verilate(p);
    let mut model = p.model().unwrap();
    cosim(&dut, model.as_mut(), stimulus, &CosimOptions::default())
        .unwrap_or_else(|e| panic!("{p:?}: {e}"));
    let mut out = vec![0u64; stimulus.len() / 5 * 4];
    dut.instance().unwrap().run(stimulus, &mut out);
    out
}

/// The last beat's outputs: (acc value, uf, of, out_valid).
fn last(p: &FpaccParams, out: &[u64]) -> (f64, bool, bool, bool) {
    let o = &out[out.len() - 4..];
    (p.acc.decode(o[0]).to_f64(), o[1] == 1, o[2] == 1, o[3] == 1)
}

/// docs/fpacc.md, on the RTL: E4M7 bias 10 accumulator, RNE. 1.0 plus 2^-8 added
/// 256 times is 1.0 without chunks and 2.0 with chunks of 16; 63.75 + 1 saturates with
/// `of`; 2^-10 alone flushes with `uf`.
#[test]
fn spec_worked_cases_on_the_rtl() {
    // E5M2 operands (bias 15): 1.0 * 1.0 and 2^-4 * 2^-4 = 2^-8 exactly.
    let e5m2 = FloatFormat {
        exp_bits: 5,
        man_bits: 2,
        bias: 15,
        reserve_top_exponent: false,
    };
    let pow2 = |e: i32| ((e + 15) as u64) << 2;
    for (chunk, want) in [(0, 1.0), (16, 2.0)] {
        let p = FpaccParams {
            operand: Operand::Float { format: e5m2 },
            chunk,
            ..FpaccParams::default()
        };
        let mut s: Vec<u64> = beat(true, true, pow2(0), pow2(0)).to_vec();
        if chunk > 0 {
            // 1.0 enters as a chunk of its own: 1.0 and 15 zero products.
            for _ in 1..chunk {
                s.extend(beat(true, false, 0, 0));
            }
        }
        for _ in 0..256 {
            s.extend(beat(true, false, pow2(-4), pow2(-4)));
        }
        for _ in 0..=p.latency() {
            s.extend(beat(false, false, 0, 0));
        }
        let out = run(&p, &s);
        assert_eq!(last(&p, &out), (want, false, false, false), "chunk {chunk}");
    }

    // 63.75 + 1 -> 63.75 with `of`: 10-bit operands with one fraction bit, 255/2 * 1/2.
    let p = FpaccParams {
        operand: Operand::int(10, 1),
        ..FpaccParams::default()
    };
    let mut s = beat(true, true, 255, 1).to_vec();
    s.extend(beat(false, false, 0, 0));
    s.extend(beat(true, false, 2, 2));
    s.extend(beat(false, false, 0, 0));
    let out = run(&p, &s);
    assert_eq!(p.acc.decode(out[8]).to_f64(), 63.75);
    assert_eq!(&out[9..11], &[0, 0]);
    assert_eq!(last(&p, &out), (63.75, false, true, true));

    // 2^-10 alone flushes to zero with `uf`: 8-bit operands with 5 fraction bits, 1 * 1.
    let p = FpaccParams {
        operand: Operand::int(8, 5),
        ..FpaccParams::default()
    };
    let mut s = beat(true, true, 1, 1).to_vec();
    s.extend(beat(false, false, 0, 0));
    let out = run(&p, &s);
    assert_eq!(last(&p, &out), (0.0, true, false, true));
}

/// An operand value for stream generation for port `a` or `b`: mostly ordinary, often an
/// extreme.
fn operand(rng: &mut Rng, op: &Operand, port: char) -> u64 {
    match op.ints() {
        Some((oa, ob)) => {
            let o = if port == 'b' { ob } else { oa };
            let (lo, hi) = (
                int::min_value(o.bits, o.signed),
                int::max_value(o.bits, o.signed),
            );
            let v = match rng.next_u64() % 8 {
                0 => 0,
                1 => 1,
                2 => -1,
                3 => hi,
                4 => lo,
                5 => (rng.next_u64() % 8) as i128 - 4,
                _ => lo + (rng.next_u64() as i128).rem_euclid(hi - lo + 1),
            };
            int::to_bits(v.clamp(lo, hi), o.bits) as u64
        }
        None => {
            let Operand::Float { format } = op else {
                unreachable!("float operands")
            };
            let (e, m) = (format.exp_bits, format.man_bits);
            let top = (1u64 << e) - 1;
            let field = match rng.next_u64() % 8 {
                0 => 0,
                1 => 1,
                2 => top,
                _ => rng.next_u64() % (top + 1),
            };
            let sign = rng.next_u64() & 1;
            (sign << (e + m)) | (field << m) | (rng.next_u64() & ((1 << m) - 1))
        }
    }
}

/// The same operand `a` with the other sign (so that `a*b` cancels a previous product;
/// an unsigned `a` becomes 0).
fn negate(op: &Operand, a: u64) -> u64 {
    match op.ints() {
        Some((o, _)) => {
            let v = int::from_bits(a.into(), o.bits, o.signed);
            int::to_bits(int::saturate(-v, o.bits, o.signed), o.bits) as u64
        }
        None => {
            let Operand::Float { format } = op else {
                unreachable!("float operands")
            };
            a ^ (1 << (format.exp_bits + format.man_bits))
        }
    }
}

/// A stream of `beats` beats that exercises the accumulator's corners: runs of one small
/// product after a large one (swamping, ties), products followed by their negation
/// (cancellation), extremes (overflow, underflow), clears, idle cycles and rare resets.
fn stream(p: &FpaccParams, beats: usize, seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    let mut s = Vec::with_capacity(beats * 5);
    while s.len() < beats * 5 {
        let clear = rng.one_in(40);
        match rng.next_u64() % 10 {
            0 => {
                // A run of one product: swamping and repeated ties.
                let (a, b) = (
                    operand(&mut rng, &p.operand, 'a'),
                    operand(&mut rng, &p.operand, 'b'),
                );
                for _ in 0..(8 + rng.next_u64() % 56) {
                    s.extend(beat(!rng.one_in(9), false, a, b));
                }
            }
            1 => {
                // A product and its negation.
                let (a, b) = (
                    operand(&mut rng, &p.operand, 'a'),
                    operand(&mut rng, &p.operand, 'b'),
                );
                s.extend(beat(true, clear, a, b));
                s.extend(beat(true, false, negate(&p.operand, a), b));
            }
            2 => s.extend(beat(false, false, 0, 0)),
            3 if rng.one_in(20) => s.extend([1, 1, 0, 0, 0]),
            _ => {
                let (a, b) = (
                    operand(&mut rng, &p.operand, 'a'),
                    operand(&mut rng, &p.operand, 'b'),
                );
                s.extend(beat(true, clear, a, b));
            }
        }
    }
    s.truncate(beats * 5);
    match p.sr {
        // Stochastic rounding: each beat's random word after b.
        Some(sr) => s
            .chunks(5)
            .flat_map(|b| {
                let rnd = rng.next_u64() & ((1 << sr.width()) - 1);
                b.iter().copied().chain([rnd]).collect::<Vec<_>>()
            })
            .collect(),
        None => s,
    }
}

/// Exponent of the smallest nonzero product magnitude.
fn smallest_product_exp(op: &Operand) -> i32 {
    match op {
        Operand::Int { frac, .. } => -2 * *frac as i32,
        Operand::Float { format } => 2 * (1 - format.bias),
    }
}

/// A format of `exp_bits`/`man_bits` whose smallest normal sits `offset` octaves above
/// `floor`, with or without a reserved top exponent.
fn format_near(
    exp_bits: u32,
    man_bits: u32,
    floor: i32,
    offset: i32,
    reserve: bool,
) -> FloatFormat {
    FloatFormat {
        exp_bits,
        man_bits,
        bias: (1 - floor - offset).clamp(*BIAS.start(), *BIAS.end()),
        reserve_top_exponent: reserve,
    }
}

fn params() -> impl Strategy<Value = FpaccParams> {
    let operand = prop_oneof![
        (2u32..=16, 0u32..=12).prop_map(|(bits, frac)| Operand::int(bits, frac)),
        // Mixed operands: each its own width and signedness.
        (
            2u32..=16,
            any::<bool>(),
            2u32..=16,
            any::<bool>(),
            0u32..=12
        )
            .prop_map(|(na, sa, nb, sb, frac)| Operand::mixed(
                IntOperand {
                    bits: na,
                    signed: sa
                },
                IntOperand {
                    bits: nb,
                    signed: sb
                },
                frac
            )),
        (2u32..=6, 1u32..=10, -3i32..=3).prop_map(|(e, m, db)| Operand::Float {
            format: FloatFormat {
                exp_bits: e,
                man_bits: m,
                bias: (1 << (e - 1)) - 1 + db,
                reserve_top_exponent: false,
            },
        }),
    ];
    let format = (2u32..=8, 1u32..=23, -3i32..=6, any::<bool>());
    (
        operand,
        format.clone(),
        prop::option::of(format),
        prop_oneof![Just(Rounding::Rne), Just(Rounding::Rz)],
        prop_oneof![Just(0u32), Just(1), Just(2), Just(3), Just(5), Just(16)],
        prop_oneof![Just(1u32), Just(2), Just(4), Just(8)],
        prop::option::weighted(0.3, 1u32..=16),
    )
        .prop_map(|(operand, (e, m, off, r), prod, rounding, chunk, k, sr)| {
            let floor = smallest_product_exp(&operand);
            let acc = format_near(e, m, floor, off, r);
            let product = prod.map_or(acc, |(e, m, off, _)| format_near(e, m, floor, off, r));
            let sr = sr.map(|bits| model::fpacc::SrFields { bits });
            // Stochastic rounding rounds the plain sum only (RNE is its canonical mode).
            let plain = sr.is_some();
            FpaccParams {
                operand,
                product,
                acc,
                rounding: if plain { Rounding::Rne } else { rounding },
                sr,
                chunk: if plain { 0 } else { chunk },
                // Interleaved sums take no chunks: half the cases without chunks use them.
                interleave: if chunk == 0 && !plain { k } else { 1 },
            }
        })
}

/// docs/fpacc.md, on the RTL: 2^24, 1 and -2^24 (16-bit integer products) sum to 0 in
/// one binary32 accumulator and to 1 with two interleaved partial sums (2^24 and -2^24
/// meet in one of them), shown `latency` cycles after the last beat.
#[test]
fn interleaved_worked_case_on_the_rtl() {
    let f = Preset::Fp32.format();
    let p = FpaccParams {
        operand: Operand::int(16, 0),
        product: f,
        acc: f,
        interleave: 2,
        ..FpaccParams::default()
    };
    let i16b = |v: i64| (v as u64) & 0xffff;
    let mut s = Vec::new();
    for (clear, a, b) in [(true, 4096, 4096), (false, 1, 1), (false, -4096, 4096)] {
        s.extend(beat(true, clear, i16b(a), i16b(b)));
    }
    for _ in 0..p.latency() {
        s.extend(beat(false, false, 0, 0));
    }
    let out = run(&p, &s);
    assert_eq!(last(&p, &out), (1.0, false, false, true));
    // The plain accumulator: 2^24 + 1 rounds to 2^24.
    let plain = FpaccParams { interleave: 1, ..p };
    let mut sum = model::fpacc::FpaccSum::new(plain);
    for (clear, a, b) in [(true, 4096, 4096), (false, 1, 1), (false, -4096, 4096)] {
        sum.push(clear, i16b(a), i16b(b));
    }
    assert_eq!(sum.acc, 0);
}

/// Interleaved sums at every K on corner streams: 4 sums in a narrow format that
/// saturates and flushes often (RZ), 8 in the acc12 preset behind a pipeline stage.
#[test]
fn interleaved_sums_match_the_model() {
    let narrow = FloatFormat {
        exp_bits: 3,
        man_bits: 3,
        bias: 4,
        reserve_top_exponent: false,
    };
    let four = FpaccParams {
        operand: Operand::int(4, 0),
        product: narrow,
        acc: narrow,
        rounding: Rounding::Rz,
        interleave: 4,
        ..FpaccParams::default()
    };
    let eight = FpaccParams {
        interleave: 8,
        ..FpaccParams::default()
    };
    for (p, depth, seed) in [(four, 0, 1), (eight, 1, 2)] {
        let s = stream(&p, 4000, seed);
        check_unit_with(Piped::new(p, depth), &s).unwrap_or_else(|e| panic!("{e}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(8), max_shrink_iters: 16, failure_persistence: lowbit_tests::regressions!("fpacc.txt"), ..ProptestConfig::default() })]

    /// Any formats, rounding, chunk size and pipeline depth: the RTL matches the model
    /// on every beat, lints, synthesizes and compiles in Icarus.
    #[test]
    fn fpacc_rtl_matches_model(p in params(), depth in 0u32..=2, seed in any::<u64>()) {
        prop_assume!(p.validate().is_ok());
        let s = stream(&p, 3000, seed);
        check_unit_with(Piped::new(p, depth), &s).map_err(TestCaseError::fail)?;
    }
}

/// `Q_prod` and `Q_acc` of the fp32 preset with Rust's `f32` (RNE): the product rounded
/// once from its exact value, then one IEEE addition per beat (and per chunk).
struct F32Reference {
    chunk: u32,
    outer: f32,
    inner: f32,
    pos: u32,
}

impl F32Reference {
    fn push(&mut self, clear: bool, product: f32) {
        if clear {
            (self.outer, self.pos) = (0.0, 0);
        }
        if self.chunk == 0 {
            self.outer += product;
            return;
        }
        self.inner = if self.pos == 0 {
            product
        } else {
            self.inner + product
        };
        self.pos += 1;
        if self.pos == self.chunk {
            self.outer += self.inner;
            self.pos = 0;
        }
    }
}

/// f32 value of an operand pair's exact product, rounded once (f64 holds it exactly).
fn f32_product(op: &Operand, a: u64, b: u64) -> f32 {
    match op {
        Operand::Int { bits, frac, .. } => {
            let v = |x: u64| int::from_bits(x.into(), *bits, true) as f64;
            (v(a) * v(b) * 2f64.powi(-2 * *frac as i32)) as f32
        }
        Operand::Float { format } => (format.decode(a).to_f64() * format.decode(b).to_f64()) as f32,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(6), max_shrink_iters: 8, failure_persistence: lowbit_tests::regressions!("fpacc.txt"), ..ProptestConfig::default() })]

    /// The fp32 preset is IEEE binary32 arithmetic: with operands whose products and sums
    /// stay in the normal range (16-bit fixed point, or E5M10 floats), the RTL's
    /// accumulator after every beat equals Rust's own `f32` sums, bit for bit.
    #[test]
    fn fp32_preset_is_ieee_f32(
        float_operands in any::<bool>(),
        frac in 0u32..=12,
        chunk in prop_oneof![Just(0u32), Just(4), Just(16)],
        seed in any::<u64>(),
    ) {
        let operand = if float_operands {
            Operand::Float { format: FloatFormat { exp_bits: 5, man_bits: 10, bias: 15, reserve_top_exponent: false } }
        } else {
            Operand::int(16, frac)
        };
        let f = Preset::Fp32.format();
        let p = FpaccParams { operand, product: f, acc: f, rounding: Rounding::Rne, sr: None, chunk, interleave: 1 };
        // No resets: the reference follows valid beats and clears only.
        let mut s = stream(&p, 4000, seed);
        for b in s.chunks_mut(5) {
            b[0] = 0;
        }
        let out = run(&p, &s);
        let mut reference = F32Reference { chunk, outer: 0.0, inner: 0.0, pos: 0 };
        let mut expected = std::collections::VecDeque::new();
        let mut checked = 0;
        for (i, (b, o)) in s.chunks(5).zip(out.chunks(4)).enumerate() {
            if o[3] == 1 {
                let want: f32 = expected.pop_front().expect("out_valid without a beat");
                let want = if want == 0.0 { 0.0 } else { want }; // the unit gives +0
                prop_assert_eq!(o[0] as u32, want.to_bits(), "beat {}: {} vs {}", i, f32::from_bits(o[0] as u32), want);
                checked += 1;
            }
            if b[1] == 1 {
                reference.push(b[2] == 1, f32_product(&p.operand, b[3], b[4]));
                expected.push_back(reference.outer);
            }
        }
        prop_assert!(checked > 3000, "only {} results checked", checked);
    }
}

/// Stochastic rounding (docs/fpacc.md, "Stochastic rounding"), on the model: E5M2
/// operands into acc12. `1.0 + 2^-8` lies exactly between 1.0 and `1 + 2^-7`: with R
/// random bits it rounds up for exactly half of the `2^R` values of the accumulator's
/// field (its discarded fraction is `2^(R-1) / 2^R`), and `1.0 + 2^-9` for a quarter. The
/// product (`2^-8`, exact in E4M7) rounds the same whatever the product's field holds.
#[test]
fn sr_worked_case_half_of_the_rnd_values_round_up() {
    use model::fpacc::{FpaccSum, SrFields};
    let e5m2 = FloatFormat::finite(5, 2, 15);
    let p = FpaccParams {
        operand: Operand::Float { format: e5m2 },
        ..FpaccParams::default()
    };
    let pow2 = |e: i32| ((e + 15) as u64) << 2;
    for bits in [1, 3, 8, 16] {
        let sr = SrFields { bits };
        let count_up = |small: (i32, i32)| {
            let mut up = 0u64;
            for r in 0..1u64 << bits {
                let mut s = FpaccSum::new(p);
                s.push_sr(true, pow2(0), pow2(0), sr, 0);
                // Product field all ones: an exact product must not move.
                let rnd = (r << bits) | ((1 << bits) - 1);
                s.push_sr(false, pow2(small.0), pow2(small.1), sr, rnd);
                let v = p.acc.decode(s.acc).to_f64();
                assert!(v == 1.0 || v == 1.0 + 2f64.powi(-7), "{v}");
                assert!(!s.uf && !s.of);
                up += u64::from(v > 1.0);
            }
            up
        };
        assert_eq!(count_up((-4, -4)), 1 << (bits - 1), "R = {bits}, a tie");
        if bits >= 2 {
            assert_eq!(count_up((-4, -5)), 1 << (bits - 2), "R = {bits}, a quarter");
        } else {
            // With one bit the quarter is cut away: it never rounds up.
            assert_eq!(count_up((-4, -5)), 0);
        }
    }
}

/// The expected-value property of stochastic rounding, as a statistical test on a fixed
/// seed. Stream: clear with 1024, then 512 small positive integer products (1..=3 times
/// 1..=3) into E5M7 (bias 15): above 1024 the step is 8 (16 above 2048), so RNE drops
/// every product below half a step and RZ every one below a step (stagnation). Every
/// discarded fraction here is a multiple of 1/16, within R = 8 bits, so the mean of SR
/// sums is the exact sum itself. Over T = 2000 random streams the mean must be within 4
/// standard errors of the exact sum, while RNE and RZ miss it by more than 20.
#[test]
fn sr_mean_is_the_exact_sum_while_rne_and_rz_are_biased() {
    use model::fpacc::{FpaccSum, SrFields};
    let f = FloatFormat::finite(5, 7, 15);
    let p = FpaccParams {
        operand: Operand::int(12, 0),
        product: f,
        acc: f,
        ..FpaccParams::default()
    };
    let mut rng = Rng::new(21);
    let beats: Vec<(u64, u64)> = std::iter::once((32, 32))
        .chain((0..512).map(|_| (1 + rng.next_u64() % 3, 1 + rng.next_u64() % 3)))
        .collect();
    let exact: f64 = beats.iter().map(|(a, b)| (a * b) as f64).sum();
    let deterministic = |rounding| {
        let mut s = FpaccSum::new(FpaccParams { rounding, ..p });
        for (i, (a, b)) in beats.iter().enumerate() {
            s.push(i == 0, *a, *b);
        }
        assert!(!s.uf && !s.of);
        p.acc.decode(s.acc).to_f64()
    };
    let sr = SrFields { bits: 8 };
    let trials = 2000;
    let sums: Vec<f64> = (0..trials)
        .map(|_| {
            let mut s = FpaccSum::new(p);
            for (i, (a, b)) in beats.iter().enumerate() {
                s.push_sr(i == 0, *a, *b, sr, rng.next_u64());
            }
            assert!(!s.uf && !s.of);
            p.acc.decode(s.acc).to_f64()
        })
        .collect();
    let mean = sums.iter().sum::<f64>() / trials as f64;
    let var = sums.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (trials - 1) as f64;
    let se = (var / trials as f64).sqrt();
    let (rne, rz) = (deterministic(Rounding::Rne), deterministic(Rounding::Rz));
    println!(
        "exact {exact}, SR mean {mean:.2} (sd {:.2}, se {se:.2}, {:.2} se off), RNE {rne} \
         ({:.0} se off), RZ {rz} ({:.0} se off)",
        var.sqrt(),
        (mean - exact) / se,
        (rne - exact) / se,
        (rz - exact) / se
    );
    assert!(
        (mean - exact).abs() <= 4.0 * se,
        "SR mean {mean} vs {exact}"
    );
    assert!((rne - exact).abs() > 20.0 * se, "RNE {rne} vs {exact}");
    assert!((rz - exact).abs() > 20.0 * se, "RZ {rz} vs {exact}");
}

/// Mixed operands, every pair on the RTL (against the model on every beat too): int4 `a`
/// by uint3 `b`. Into E4M5 (bias 7), which holds every product, `acc` is `a * b` exactly;
/// into E3M2 (bias 4, largest 14), the product rounded to 3 significant bits (RNE) by
/// integer arithmetic, saturated at 14 with `of`.
#[test]
fn mixed_operands_every_pair_on_the_rtl() {
    let op = Operand::mixed(IntOperand::signed(4), IntOperand::unsigned(3), 0);
    for (format, exact) in [
        (FloatFormat::finite(4, 5, 7), true),
        (FloatFormat::finite(3, 2, 4), false),
    ] {
        let p = FpaccParams {
            operand: op,
            product: format,
            acc: format,
            ..FpaccParams::default()
        };
        assert_eq!(
            p.module_name(),
            format!(
                "fpacc_i4xu3_e{}m{}b{}_rne",
                format.exp_bits, format.man_bits, format.bias
            )
        );
        let pairs: Vec<(i64, i64)> = lowbit_tests::int4_by_uint3_pairs();
        let mut s = Vec::new();
        for &(a, b) in &pairs {
            s.extend(beat(true, true, int::to_bits(a.into(), 4) as u64, b as u64));
        }
        for _ in 0..p.latency() {
            s.extend(beat(false, false, 0, 0));
        }
        let out = run(&p, &s);
        lowbit_tests::check_lone_products(&out, p.latency() as usize, &pairs, format, exact);
    }
}
