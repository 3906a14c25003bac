//! `requant` (docs/requant.md) on the RTL against an implementation of gemmlowp's
//! reference functions written here, apart from the model: random and corner operands
//! (INT32_MIN, the saturating product, every shift the 6-bit port carries, ties at every
//! rounding point), signed and unsigned outputs, several widths, channels and lanes; and
//! the worked cases of the docs page on the RTL and on the model; and two chains from a
//! MAC into the requantizer: int8 x int8, and W4A8 (int4 weights x uint8 activations)
//! against TFLite's `QuantizeMultiplier` and `MultiplyByQuantizedMultiplier`.

use lowbit_tests::{verilate, Rng};
use model::requant::{rdbpot, requantize, srdhm, RequantParams};
use model::UnitParams;

/// gemmlowp's `SaturatingRoundingDoublingHighMul`, from its text, in i64 arithmetic.
fn ref_srdhm(a: i32, b: i32) -> i32 {
    let overflow = a == b && a == i32::MIN;
    let a_64 = a as i64;
    let b_64 = b as i64;
    let ab_64 = a_64 * b_64;
    let nudge: i64 = if ab_64 >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    let ab_x2_high32 = ((ab_64 + nudge) / (1i64 << 31)) as i32;
    if overflow {
        i32::MAX
    } else {
        ab_x2_high32
    }
}

/// gemmlowp's `RoundingDivideByPOT`, from its text, in i64 arithmetic.
fn ref_rdbpot(x: i32, exponent: u32) -> i32 {
    let x = x as i64;
    let mask = (1i64 << exponent) - 1;
    let remainder = x & mask;
    let threshold = (mask >> 1) + if x < 0 { 1 } else { 0 };
    ((x >> exponent) + if remainder > threshold { 1 } else { 0 }) as i32
}

/// One lane, TFLite's way: `MultiplyByQuantizedMultiplier` with the port's shift clamped
/// to -31..=30 (docs/requant.md), `acc * (1 << ls)` wrapping in 32 bits, then the
/// offset and the clamp to the output range.
fn ref_lane(acc: i32, mult: i32, shift: i32, zp: i32, w: u32, signed: bool) -> i64 {
    let shift = shift.clamp(-31, 30);
    let left = if shift > 0 { shift } else { 0 };
    let right = if shift > 0 { 0 } else { -shift };
    let x = acc.wrapping_mul(1i32.wrapping_shl(left as u32));
    let v = ref_rdbpot(ref_srdhm(x, mult), right as u32) as i64 + zp as i64;
    let (lo, hi) = if signed {
        (-(1i64 << (w - 1)), (1i64 << (w - 1)) - 1)
    } else {
        (0, (1i64 << w) - 1)
    };
    v.max(lo).min(hi)
}

/// The rules as arithmetic on exact values: SRDHM is `a*b / 2^31` to nearest with ties
/// toward plus infinity, RDBPOT `x / 2^e` to nearest with ties away from zero.
#[test]
fn the_reference_functions_round_as_stated() {
    let mut rng = Rng::new(16);
    for i in 0..200_000u32 {
        let (a, b) = (rng.next_u64() as i32, rng.next_u64() as i32);
        let (a, b) = if i % 7 == 0 {
            (a >> 16, b >> 15)
        } else {
            (a, b)
        };
        let p = i128::from(a) * i128::from(b);
        let want = if a == i32::MIN && b == i32::MIN {
            i128::from(i32::MAX)
        } else {
            (2 * p + (1 << 31)).div_euclid(1 << 32)
        };
        assert_eq!(i128::from(ref_srdhm(a, b)), want, "SRDHM({a}, {b})");
        assert_eq!(srdhm(a, b), ref_srdhm(a, b), "model SRDHM({a}, {b})");
        let e = (rng.next_u64() % 32) as u32;
        let x = a;
        let q = i128::from(x) * 2;
        let d = 1i128 << e;
        // |2x| / 2^e, rounded half up in magnitude, with x's sign.
        let mag = (q.abs() + d).div_euclid(2 * d);
        let want = if x < 0 { -mag } else { mag };
        assert_eq!(i128::from(ref_rdbpot(x, e)), want, "RDBPOT({x}, {e})");
        assert_eq!(rdbpot(x, e), ref_rdbpot(x, e), "model RDBPOT({x}, {e})");
    }
}

/// Operands of one beat: acc per lane; mult, shift, zp per channel.
#[derive(Clone, Debug)]
struct Beat {
    acc: Vec<i32>,
    mult: Vec<i32>,
    shift: Vec<i32>,
    zp: Vec<i32>,
}

fn pack(words: &mut Vec<u64>, values: &[i32], bits: u32) {
    let n = (values.len() as u32 * bits).div_ceil(64) as usize;
    let start = words.len();
    words.resize(start + n, 0);
    for (i, v) in values.iter().enumerate() {
        let raw = (*v as i64 as u64) & ((1u64 << bits) - 1);
        model::iface::set_field(&mut words[start..], i as u32 * bits, bits, raw);
    }
}

/// Run `beats` (all valid, after one reset cycle) through the RTL of `p`; returns the
/// outputs of each beat, lane by lane, as integers of the output's signedness.
fn run_rtl(p: &RequantParams, beats: &[Beat]) -> Vec<Vec<i64>> {
    let iface = p.interface();
    let mut stim = Vec::new();
    let idle = Beat {
        acc: vec![0; p.lanes as usize],
        mult: vec![0; p.per_channel as usize],
        shift: vec![0; p.per_channel as usize],
        zp: vec![0; p.per_channel as usize],
    };
    let mut push = |rst: bool, valid: bool, b: &Beat| {
        stim.push(rst as u64);
        stim.push(valid as u64);
        pack(&mut stim, &b.acc, 32);
        pack(&mut stim, &b.mult, 32);
        pack(&mut stim, &b.shift, 6);
        pack(&mut stim, &b.zp, 32);
    };
    push(true, false, &idle);
    for b in beats {
        push(false, true, b);
    }
    push(false, false, &idle);
    let n = beats.len() + 2;
    assert_eq!(stim.len(), n * iface.in_words());
    let dut = verilate(p);
    let ow = iface.out_words();
    let mut out = vec![0u64; n * ow];
    dut.instance().unwrap().run(&stim, &mut out);
    let w = p.out_bits;
    let yw = (w * p.lanes).div_ceil(64) as usize;
    (0..beats.len())
        .map(|t| {
            let o = &out[(t + 2) * ow..(t + 3) * ow];
            assert_eq!(o[yw], 1, "out_valid one cycle after beat {t}");
            (0..p.lanes)
                .map(|l| {
                    let raw = model::iface::get_field(&o[..yw], l * w, w);
                    model::int::from_bits(raw.into(), w, p.signed) as i64
                })
                .collect()
        })
        .collect()
}

/// The expected outputs: lane `l` of beat `t` uses channel `(t*L + l) mod C`.
fn expected(p: &RequantParams, beats: &[Beat]) -> Vec<Vec<i64>> {
    let (c, l) = (p.per_channel as usize, p.lanes as usize);
    beats
        .iter()
        .enumerate()
        .map(|(t, b)| {
            (0..l)
                .map(|lane| {
                    let ch = (t * l + lane) % c;
                    ref_lane(
                        b.acc[lane],
                        b.mult[ch],
                        b.shift[ch],
                        b.zp[ch],
                        p.out_bits,
                        p.signed,
                    )
                })
                .collect()
        })
        .collect()
}

/// A corner-biased 32-bit operand.
fn operand(rng: &mut Rng) -> i32 {
    match rng.next_u64() % 10 {
        0 => i32::MIN,
        1 => i32::MAX,
        2 => 0,
        3 => 1,
        4 => -1,
        5 => 1 << 30,
        6 => (rng.next_u64() as i32) >> (rng.next_u64() % 31),
        _ => rng.next_u64() as i32,
    }
}

/// A multiplier: mostly the normal Q0.31 range [2^30, 2^31), sometimes anything.
fn multiplier(rng: &mut Rng) -> i32 {
    match rng.next_u64() % 6 {
        0 => operand(rng),
        1 => (rng.next_u64() as i32) | i32::MIN, // negative
        _ => (1 << 30) | (rng.next_u64() as i32 & 0x3fff_ffff),
    }
}

/// A beat that lands exactly on a rounding tie. SRDHM ties: odd `acc` times `2^30`
/// (a*b = acc/2 in units of 2^31). RDBPOT ties at exponent e: `acc = 2x` with
/// `x = k * 2^e + 2^(e-1)` (either sign) and `mult = 2^30`, so SRDHM gives x exactly.
fn tie(rng: &mut Rng) -> (i32, i32, i32) {
    if rng.one_in(3) {
        let acc = (rng.next_u64() as i32 >> (rng.next_u64() % 31)) | 1;
        let shift = -((rng.next_u64() % 2) as i32);
        return (acc, 1 << 30, shift);
    }
    let e = 1 + (rng.next_u64() % 31) as i64;
    let span = (1i64 << 30) >> e; // |k| < 2^(30-e): |x| <= 2^30
    let k = if span == 0 {
        0
    } else {
        (rng.next_u64() % (span as u64)) as i64
    };
    let mut x = k * (1 << e) + (1 << (e - 1));
    if rng.one_in(2) {
        x = -x;
    }
    ((2 * x) as i32, 1 << 30, -(e as i32))
}

fn random_beats(p: &RequantParams, n: usize, seed: u64) -> Vec<Beat> {
    let mut rng = Rng::new(seed);
    let (c, l) = (p.per_channel as usize, p.lanes as usize);
    (0..n)
        .map(|_| {
            let mut b = Beat {
                acc: (0..l).map(|_| operand(&mut rng)).collect(),
                mult: (0..c).map(|_| multiplier(&mut rng)).collect(),
                // Every value of the 6-bit port, -32 and 31 included.
                shift: (0..c).map(|_| (rng.next_u64() % 64) as i32 - 32).collect(),
                zp: (0..c)
                    .map(|_| match rng.next_u64() % 4 {
                        0 => operand(&mut rng),
                        _ => (rng.next_u64() % 256) as i32 - 128,
                    })
                    .collect(),
            };
            if rng.one_in(3) {
                // A tie in lane 0 (and whatever channel it meets).
                let (acc, mult, shift) = tie(&mut rng);
                b.acc[0] = acc;
                b.mult.iter_mut().for_each(|m| *m = mult);
                b.shift.iter_mut().for_each(|s| *s = shift);
                // A zero point near the middle of the range keeps the result visible.
                b.zp.iter_mut().for_each(|z| *z = 0);
            }
            if rng.one_in(20) {
                // The saturating product: acc << ls = -2^31 and mult = -2^31.
                b.acc[0] = i32::MIN;
                b.mult.iter_mut().for_each(|m| *m = i32::MIN);
                b.shift.iter_mut().for_each(|s| *s = 0);
                let z = -(i32::MAX - 5);
                b.zp.iter_mut().for_each(|v| *v = z);
            }
            b
        })
        .collect()
}

#[test]
fn rtl_matches_the_gemmlowp_reference() {
    let sets = [
        (8, true, 1, 1),
        (8, false, 1, 1),
        (16, true, 1, 1),
        (2, true, 1, 2),
        (4, false, 3, 2),
        (16, false, 5, 3),
        (8, true, 4, 4),
        (12, true, 64, 16),
    ];
    for (i, (out_bits, signed, per_channel, lanes)) in sets.into_iter().enumerate() {
        let p = RequantParams {
            out_bits,
            signed,
            per_channel,
            lanes,
        };
        let beats = random_beats(&p, 20_000, 100 + i as u64);
        let want = expected(&p, &beats);
        let got = run_rtl(&p, &beats);
        for (t, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{p:?} beat {t}: {:?}", beats[t]);
        }
        // The model agrees too (on values, through its beat function).
        let mut model = model::requant::Requant::new(p).unwrap();
        for (t, b) in beats.iter().enumerate() {
            assert_eq!(
                model.beat(&b.acc, &b.mult, &b.shift, &b.zp),
                want[t],
                "model {p:?} beat {t}"
            );
        }
    }
}

/// Every shift the 6-bit port carries, against every sign of a few operands: the two
/// ends of the shift range, the wrap of `acc << ls`, and the clamp of -32 and 31.
#[test]
fn every_shift_value_on_the_rtl() {
    let p = RequantParams {
        out_bits: 16,
        ..RequantParams::default()
    };
    let mut beats = Vec::new();
    for shift in -32..=31 {
        for acc in [i32::MIN, i32::MAX, -1, 1, 3, -12345, 1 << 15, 0x5555_5555] {
            for mult in [i32::MIN, i32::MAX, 1 << 30, 1_518_500_250, -(1 << 30)] {
                for zp in [0, -30000] {
                    beats.push(Beat {
                        acc: vec![acc],
                        mult: vec![mult],
                        shift: vec![shift],
                        zp: vec![zp],
                    });
                }
            }
        }
    }
    assert_eq!(run_rtl(&p, &beats), expected(&p, &beats));
}

/// The worked cases of docs/requant.md on the RTL and on the model. SRDHM and RDBPOT
/// alone are read through the output window: with `shift = 0` RDBPOT is the identity,
/// and `zp` moves the SRDHM result into 16 bits.
#[test]
fn worked_cases_on_rtl_and_model() {
    let p16 = RequantParams {
        out_bits: 16,
        ..RequantParams::default()
    };
    // (acc, mult, shift, zp, expected y): y - zp is the value of the function.
    let cases = [
        // SRDHM(2^30, 2^30) = 2^29.
        (1 << 30, 1 << 30, 0, -(1 << 29) + 5, 5),
        // SRDHM(-2^31, -2^31) = 2^31 - 1 (saturated).
        (i32::MIN, i32::MIN, 0, -(i32::MAX - 7), 7),
        // SRDHM(2x, 2^30) = x, then RDBPOT(x, e).
        (10, 1 << 30, -1, 0, 3),   // RDBPOT(5, 1) = 3
        (-10, 1 << 30, -1, 0, -3), // RDBPOT(-5, 1) = -3
        (-12, 1 << 30, -2, 0, -2), // RDBPOT(-6, 2) = -2
        (12, 1 << 30, -2, 0, 2),   // RDBPOT(6, 2) = 2
    ];
    let beats: Vec<Beat> = cases
        .iter()
        .map(|&(acc, mult, shift, zp, _)| Beat {
            acc: vec![acc],
            mult: vec![mult],
            shift: vec![shift],
            zp: vec![zp],
        })
        .collect();
    let want: Vec<Vec<i64>> = cases.iter().map(|c| vec![c.4]).collect();
    assert_eq!(run_rtl(&p16, &beats), want);
    for (acc, mult, shift, zp, y) in cases {
        assert_eq!(requantize(acc, mult, shift, zp, 16, true), y);
    }
    assert_eq!(srdhm(1 << 30, 1 << 30), 1 << 29);
    assert_eq!(srdhm(i32::MIN, i32::MIN), i32::MAX);
    assert_eq!(
        [rdbpot(5, 1), rdbpot(-5, 1), rdbpot(-6, 2), rdbpot(6, 2)],
        [3, -3, -2, 2]
    );

    // acc = 1000, mult = 1518500250 (0.70710678 in Q0.31), shift = -4, zp = -3,
    // signed 8-bit: round(1000 * 0.70710678 / 16) - 3 = 44 - 3 = 41.
    let p8 = RequantParams::default();
    let b = Beat {
        acc: vec![1000],
        mult: vec![1_518_500_250],
        shift: vec![-4],
        zp: vec![-3],
    };
    assert_eq!(run_rtl(&p8, &[b]), vec![vec![41]]);
    assert_eq!(requantize(1000, 1_518_500_250, -4, -3, 8, true), 41);
}

/// Channels rotate as documented: with C = 3 and L = 2 and the zero points 0, 100,
/// 200 (and a zero multiplier, so y = zp), the lanes read 0, 100 | 200, 0 | 100, 200.
#[test]
fn channels_rotate_on_the_rtl() {
    let p = RequantParams {
        out_bits: 16,
        signed: true,
        per_channel: 3,
        lanes: 2,
    };
    let b = Beat {
        acc: vec![7, 7],
        mult: vec![0; 3],
        shift: vec![0; 3],
        zp: vec![0, 100, 200],
    };
    let got = run_rtl(&p, &vec![b; 4]);
    assert_eq!(
        got,
        vec![vec![0, 100], vec![200, 0], vec![100, 200], vec![0, 100]]
    );
}

/// An int8 matrix-vector product end to end on the RTL: a 4x16 int8 matrix times an
/// int8 vector on the MAC RTL (`gen mac --acc 32`), one row after the other with
/// `clear`, then the four 32-bit sums through the requant RTL with one channel per row
/// (`--per-channel 4 --lanes 4`, one beat); both against the models (`mac_step` for the
/// sums, `requantize` per row) and the sums against plain integer arithmetic.
#[test]
fn int8_matrix_vector_product_end_to_end() {
    use model::mac::{mac_step, MacParams, Overflow};
    let (rows, k) = (4usize, 16usize);
    let mut rng = Rng::new(2018);
    let byte = |rng: &mut Rng| (rng.next_u64() % 256) as i64 - 128;
    let w: Vec<Vec<i64>> = (0..rows)
        .map(|_| (0..k).map(|_| byte(&mut rng)).collect())
        .collect();
    let x: Vec<i64> = (0..k).map(|_| byte(&mut rng)).collect();

    // The MAC RTL: reset, then each row's K beats, the first with clear.
    let mac = MacParams {
        in_bits: 8,
        signed: true,
        acc_bits: 32,
        overflow: Overflow::Saturate,
        b: None,
    };
    let mut stim = vec![1, 0, 0, 0, 0];
    for row in &w {
        for (j, (wj, xj)) in row.iter().zip(&x).enumerate() {
            stim.extend([
                0,
                1,
                (j == 0) as u64,
                (*wj as u64) & 0xff,
                (*xj as u64) & 0xff,
            ]);
        }
    }
    stim.extend([0, 0, 0, 0, 0]);
    let n = stim.len() / 5;
    let mut out = vec![0u64; n * 3];
    verilate(&mac).instance().unwrap().run(&stim, &mut out);
    let mut sums_rtl = Vec::new();
    let mut sums_model = Vec::new();
    for (r, row) in w.iter().enumerate() {
        // The row's last beat is cycle 1 + (r+1)*K - 1; its sum shows one cycle later.
        let o = &out[(1 + (r + 1) * k) * 3..][..3];
        assert_eq!(o[2], 1);
        sums_rtl.push(model::int::from_bits(o[0].into(), 32, true) as i32);
        let (mut acc, mut ovf) = (0i128, false);
        for (j, (wj, xj)) in row.iter().zip(&x).enumerate() {
            (acc, ovf) = mac_step(&mac, acc, ovf, j == 0, (*wj).into(), (*xj).into());
        }
        assert!(!ovf);
        sums_model.push(acc as i32);
        let plain: i64 = row.iter().zip(&x).map(|(a, b)| a * b).sum();
        assert_eq!(i64::from(acc as i32), plain);
    }
    assert_eq!(sums_rtl, sums_model);

    // Per-row scales about 1/64 .. 1/512 (Q0.31 multipliers with right shifts), zero
    // points near zero: int8 outputs.
    let mult = vec![1_518_500_250, 1 << 30, 2_000_000_000, 1_234_567_890];
    let shift = vec![-6, -7, -8, -5];
    let zp = vec![-3, 0, 5, 1];
    let p = RequantParams {
        out_bits: 8,
        signed: true,
        per_channel: 4,
        lanes: 4,
    };
    let beat = Beat {
        acc: sums_rtl.clone(),
        mult: mult.clone(),
        shift: shift.clone(),
        zp: zp.clone(),
    };
    let y_rtl = run_rtl(&p, &[beat]);
    let y_model: Vec<i64> = (0..rows)
        .map(|r| requantize(sums_model[r], mult[r], shift[r], zp[r], 8, true))
        .collect();
    assert_eq!(y_rtl, vec![y_model.clone()]);
    assert!(
        y_model.iter().any(|&v| v != 0 && v.abs() < 127),
        "outputs inside the range, not all clamped or zero: {y_model:?}"
    );
    // And each is the real-valued rescaling rounded (within one step) and clamped.
    for r in 0..rows {
        let real = f64::from(sums_model[r]) * f64::from(mult[r]) / 2f64.powi(31)
            * 2f64.powi(shift[r])
            + f64::from(zp[r]);
        let want = real.round().clamp(-128.0, 127.0);
        assert!(
            approx::abs_diff_eq!(y_model[r] as f64, want, epsilon = 1.0),
            "row {r}: {real} vs {y_model:?}"
        );
    }
}

/// TFLite's `QuantizeMultiplier` (tensorflow/lite/kernels/internal/quantization_util.cc,
/// the default double-rounding build): a positive real multiplier `m` as a Q0.31
/// `mult` in [2^30, 2^31) and a power-of-two exponent `shift` (positive: left), so that
/// `m ~ mult * 2^(shift - 31)`. `frexp` is written out on the f64's exponent field (the
/// multipliers here are normal numbers); the fraction is rounded half away from zero
/// (`TfLiteRound`, i.e. `std::round`), a fraction that rounds up to 1.0 is halved with
/// the exponent raised, and an exponent below -31 gives the zero multiplier.
fn quantize_multiplier(m: f64) -> (i32, i32) {
    if m == 0.0 {
        return (0, 0);
    }
    assert!(m.is_normal() && m > 0.0, "multiplier {m}");
    // frexp: m = q * 2^shift with q in [0.5, 1).
    let mut shift = ((m.to_bits() >> 52) & 0x7ff) as i32 - 1022;
    let q = m / 2f64.powi(shift);
    assert!((0.5..1.0).contains(&q), "frexp({m}) = {q} * 2^{shift}");
    let mut q_fixed = (q * 2f64.powi(31)).round() as i64;
    assert!(q_fixed <= 1 << 31);
    if q_fixed == 1 << 31 {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        shift = 0;
        q_fixed = 0;
    }
    (i32::try_from(q_fixed).unwrap(), shift)
}

/// TFLite's `MultiplyByQuantizedMultiplier(x, quantized_multiplier, shift)`: the left
/// part of the shift as a 32-bit multiply, SRDHM, then RDBPOT by the right part, with
/// gemmlowp's functions as written at the top of this file.
fn multiply_by_quantized_multiplier(x: i32, quantized_multiplier: i32, shift: i32) -> i32 {
    assert!(
        (-31..=30).contains(&shift),
        "TFLite's shifts stay in -31..=30"
    );
    let left_shift = shift.max(0);
    let right_shift = (-shift).max(0);
    ref_rdbpot(
        ref_srdhm(x.wrapping_mul(1 << left_shift), quantized_multiplier),
        right_shift as u32,
    )
}

/// Run `stim` (whole input records) through the Verilated RTL of `p` and through its
/// cycle model, check that every output word agrees at every beat, and return the
/// outputs (one record per beat).
fn rtl_equals_model_every_beat<P: hdl::Generate>(p: &P, stim: &[u64]) -> Vec<Vec<u64>> {
    let iface = p.interface();
    let (iw, ow) = (iface.in_words(), iface.out_words());
    assert_eq!(stim.len() % iw, 0);
    let n = stim.len() / iw;
    let mut rtl = vec![0u64; n * ow];
    verilate(p).instance().unwrap().run(stim, &mut rtl);
    let mut model = p.model().unwrap();
    let mut want = vec![0u64; n * ow];
    model.run(stim, &mut want);
    for t in 0..n {
        assert_eq!(
            rtl[t * ow..][..ow],
            want[t * ow..][..ow],
            "{}: RTL (left) differs from the model (right) at beat {t}",
            p.module_name()
        );
    }
    rtl.chunks(ow).map(<[u64]>::to_vec).collect()
}

/// W4A8 end to end (issue 21 item 5, docs/requant.md "Mixed operands upstream (W4A8)"):
/// int4 weights times uint8 activations on `gen mac --in-a 4 --in-b 8 --b-unsigned --acc
/// 32`, one dot product (row) after the other with `clear` and random idle beats, then
/// each 32-bit sum, plus the row's folded bias, through `gen requant` (int8 output, one
/// parameter set per beat). Both units run on their Verilated RTL and on their cycle
/// models, unpipelined and pipelined, and must agree at every beat; the int8 outputs
/// must equal an independent computation: the exact integer dot product of the weights
/// with the *centred* activations `x - zp_x` plus the bias, then TFLite's
/// `MultiplyByQuantizedMultiplier` with `(mult, shift)` from the real scales by
/// TFLite's `QuantizeMultiplier`, the output zero point and the int8 clamp.
///
/// The activation zero point is folded into the bias, as TFLite does offline for
/// constant weights with a zero weight zero point: `bias' = bias - zp_x * sum_k w_k`, so
/// `sum_k w_k * x_k + bias' = sum_k w_k * (x_k - zp_x) + bias`. Neither unit has a bias
/// port; the one 32-bit add of `bias'` between them is the test's (where an accelerator
/// has its bias stage). The rows include the two extremes `gen accwidth --in-a 4 --in-b
/// 8 --b-unsigned --k 4096` reports (all weights -8 or all 7, all activations 255).
#[test]
fn w4a8_mac_into_requant_end_to_end() {
    use model::accwidth::worst_case_k_mixed;
    use model::mac::{MacParams, Operand, Overflow};
    use model::pipeline::Piped;

    const K_WORST: usize = 4096;
    let mac = MacParams {
        in_bits: 4,
        signed: true,
        acc_bits: 32,
        overflow: Overflow::Saturate,
        b: Some(Operand::unsigned(8)),
    };
    assert_eq!(mac.module_name(), "mac_s4xu8_acc32_sat");
    let rq = RequantParams::default(); // int32 -> int8, one channel, one lane
    assert_eq!((rq.out_bits, rq.signed), (8, true));
    let worst = worst_case_k_mixed(K_WORST as u64, 8, false, 4, true);
    assert_eq!((worst.min, worst.max), (-8 * 255 * 4096, 7 * 255 * 4096));
    assert_eq!(worst.accumulator_width(), 24);

    // Rows: random lengths up to 1024 with corner-biased operands, then the two extremes.
    let mut rng = Rng::new(0x4a8);
    let weight = |rng: &mut Rng| match rng.next_u64() % 8 {
        0 => -8,
        1 => 7,
        _ => (rng.next_u64() % 16) as i64 - 8,
    };
    let act = |rng: &mut Rng| match rng.next_u64() % 8 {
        0 => 0,
        1 => 255,
        _ => (rng.next_u64() % 256) as i64,
    };
    let mut rows: Vec<(Vec<i64>, Vec<i64>)> = (0..40)
        .map(|r| {
            let k = [1, 2, 7, 16, 64, 100, 300, 1024][r % 8];
            let w = (0..k).map(|_| weight(&mut rng)).collect();
            let x = (0..k).map(|_| act(&mut rng)).collect();
            (w, x)
        })
        .collect();
    let random_rows = rows.len();
    rows.push((vec![-8; K_WORST], vec![255; K_WORST]));
    rows.push((vec![7; K_WORST], vec![255; K_WORST]));

    // Real-valued quantization: per-row (per output channel) weight scales, one
    // activation scale and zero point, int32 biases in units of s_w * s_x, an int8
    // output whose scale is calibrated so the random rows span about +-100.
    let zp_x: i64 = 113;
    let s_x = 0.0197;
    let s_w: Vec<f64> = (0..rows.len())
        .map(|_| 0.002 + (rng.next_u64() % 1000) as f64 * 0.000_018)
        .collect();
    let bias: Vec<i64> = (0..rows.len())
        .map(|_| (rng.next_u64() % 200_001) as i64 - 100_000)
        .collect();
    // The exact integer dot product of the weights with the centred activations.
    let centred: Vec<i64> = rows
        .iter()
        .zip(&bias)
        .map(|((w, x), b)| w.iter().zip(x).map(|(w, x)| w * (x - zp_x)).sum::<i64>() + b)
        .collect();
    let s_y = (0..random_rows)
        .map(|r| (s_w[r] * s_x * centred[r] as f64).abs())
        .fold(0.0, f64::max)
        / 100.0;
    let zp_y: i32 = -5;
    let scales: Vec<(i32, i32)> = s_w
        .iter()
        .map(|s| quantize_multiplier(s * s_x / s_y))
        .collect();

    // The independent result per row.
    let want: Vec<i64> = centred
        .iter()
        .zip(&scales)
        .map(|(&c, &(mult, shift))| {
            let c = i32::try_from(c).expect("the centred sum fits int32");
            (i64::from(multiply_by_quantized_multiplier(c, mult, shift)) + i64::from(zp_y))
                .clamp(-128, 127)
        })
        .collect();
    // It is the real-valued result rounded (within one step) and clamped, and it is not
    // degenerate: many distinct values, some clamped, most inside the range.
    for r in 0..rows.len() {
        let real = s_w[r] * s_x / s_y * centred[r] as f64 + f64::from(zp_y);
        assert!(
            (want[r] as f64 - real.round().clamp(-128.0, 127.0)).abs() <= 1.0,
            "row {r}: {} vs real {real}",
            want[r]
        );
    }
    let distinct: std::collections::BTreeSet<i64> = want.iter().copied().collect();
    assert!(distinct.len() >= 20, "{want:?}");
    assert!(want[random_rows..].iter().all(|&y| y == -128 || y == 127));
    assert!(
        want[..random_rows].iter().all(|&y| -128 < y && y < 127),
        "{want:?}"
    );

    // The folded bias: bias' = bias - zp_x * sum_k w_k, from the weights alone.
    let folded: Vec<i32> = rows
        .iter()
        .zip(&bias)
        .map(|((w, _), b)| i32::try_from(b - zp_x * w.iter().sum::<i64>()).unwrap())
        .collect();

    for (mac_depth, rq_depth) in [(0, 0), (2, 2)] {
        let mac_p = Piped::new(mac, mac_depth);
        let rq_p = Piped::new(rq, rq_depth);
        let mut rng = Rng::new(21 + u64::from(mac_depth));

        // The MAC: reset, each row's beats with `clear` on the first, idle beats (with
        // garbage operands) sprinkled in; record each row's last valid beat.
        let mut stim: Vec<u64> = vec![1, 0, 0, 0, 0];
        let mut last = Vec::new();
        for (w, x) in &rows {
            for (j, (wj, xj)) in w.iter().zip(x).enumerate() {
                while rng.one_in(8) {
                    stim.extend([
                        0,
                        0,
                        rng.next_u64() & 1,
                        rng.next_u64() & 0xf,
                        rng.next_u64() & 0xff,
                    ]);
                }
                stim.extend([0, 1, (j == 0) as u64, (*wj as u64) & 0xf, *xj as u64]);
            }
            last.push(stim.len() / 5 - 1);
        }
        stim.extend(vec![0; 5 * (mac_depth as usize + 2)]);
        let out = rtl_equals_model_every_beat(&mac_p, &stim);
        let lat = mac_p.latency() as usize;
        assert_eq!(lat, 1 + mac_depth as usize);
        let sums: Vec<i32> = last
            .iter()
            .zip(&rows)
            .map(|(&t, (w, x))| {
                let o = &out[t + lat];
                assert_eq!((o[1], o[2]), (0, 1), "no overflow, out_valid");
                let s = model::int::from_bits(o[0].into(), 32, true);
                let plain: i64 = w.iter().zip(x).map(|(w, x)| w * x).sum();
                assert_eq!(
                    s,
                    i128::from(plain),
                    "the MAC's sum is the exact dot product"
                );
                s as i32
            })
            .collect();
        assert_eq!(sums[random_rows..], [worst.min as i32, worst.max as i32]);

        // The requantizer: one beat per row, acc = sum + bias', the row's (mult, shift),
        // the output zero point; idle beats sprinkled in.
        let beat = |valid: bool, acc: i32, (mult, shift): (i32, i32)| {
            let mut v = vec![0, valid as u64];
            pack(&mut v, &[acc], 32);
            pack(&mut v, &[mult], 32);
            pack(&mut v, &[shift], 6);
            pack(&mut v, &[zp_y], 32);
            v
        };
        let iw = rq_p.interface().in_words();
        let mut stim = beat(false, 0, (0, 0));
        stim[0] = 1;
        let mut at = Vec::new();
        for r in 0..rows.len() {
            while rng.one_in(4) {
                stim.extend(beat(false, rng.next_u64() as i32, (1 << 30, -3)));
            }
            let acc = sums[r]
                .checked_add(folded[r])
                .expect("sum + bias' fits int32");
            assert_eq!(
                i64::from(acc),
                centred[r],
                "the folded bias moves the sum exactly"
            );
            at.push(stim.len() / iw);
            stim.extend(beat(true, acc, scales[r]));
        }
        for _ in 0..rq_depth + 2 {
            stim.extend(beat(false, 0, (0, 0)));
        }
        let out = rtl_equals_model_every_beat(&rq_p, &stim);
        let lat = rq_p.latency() as usize;
        assert_eq!(lat, 1 + rq_depth as usize);
        let got: Vec<i64> = at
            .iter()
            .map(|&t| {
                let o = &out[t + lat];
                assert_eq!(o[1], 1, "out_valid");
                model::int::from_bits(o[0].into(), 8, true) as i64
            })
            .collect();
        assert_eq!(got, want, "depths {mac_depth}, {rq_depth}: int8 outputs");
        // The model's own functions give the same (the chain, not only the units).
        for r in 0..rows.len() {
            let (mult, shift) = scales[r];
            let acc = sums[r] + folded[r];
            assert_eq!(requantize(acc, mult, shift, zp_y, 8, true), want[r]);
        }
    }
}
