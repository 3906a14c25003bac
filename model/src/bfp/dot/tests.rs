use super::*;
use crate::bfp::test_support::{block_values, q};
use crate::bfp::{block_to_binary32, quantize, BfpFormat, BfpRounding, DotAccumulator};
use proptest::prelude::*;

/// Pack signed m-bit elements into one field word, element 0 lowest.
fn pack(q: &[i64], m: u32) -> u64 {
    q.iter().enumerate().fold(0, |acc, (i, v)| {
        acc | (int::to_bits((*v).into(), m) as u64) << (m * i as u32)
    })
}

#[test]
fn dot_cycle_model_pipelines_blocks_in_lanes() {
    let p = BfpDotParams {
        block: 4,
        lanes: Some(2),
        ..BfpDotParams::default()
    };
    assert_eq!(p.module_name(), "bfp_dot_n4_m4_e10_l2");
    assert_eq!(p.sum_width(), 10);
    // Two beats a block: one extra cycle for the adder.
    assert_eq!((p.conversion_stages(), p.accumulation_stages()), (0, 1));
    assert_eq!(p.latency(), 4);
    let mut m = BfpDot::new(p).unwrap();
    // docs/bfp.md: x = [1.5, -0.3, 0.05, 0.9] -> q = [6, -1, 0, 4], weights
    // [0.5, 0.5, -1.0, 0.25] -> q = [2, 2, -4, 1], both E_s = -2: 14 * 2^-4 = 0.875.
    let (qa, qb) = ([6, -1, 0, 4], [2, 2, -4, 1]);
    let e = int::to_bits(-2, 10) as u64;
    // Beat layout: rst, in_valid, clear, ea, qa, eb, qb.
    let beat = |v: bool, clear: bool, half: usize| {
        let lo = 2 * half;
        [
            0,
            v as u64,
            clear as u64,
            e,
            pack(&qa[lo..lo + 2], 4),
            e,
            pack(&qb[lo..lo + 2], 4),
        ]
    };
    let mut o = [0u64; 4];
    m.step(&beat(true, false, 0), &mut o);
    m.step(&beat(true, true, 1), &mut o); // last beat: clear starts a new dot product
    for _ in 0..p.latency() {
        assert_eq!(o[3], 0);
        m.step(&beat(false, false, 0), &mut o);
    }
    assert_eq!(
        (f32::from_bits(o[0] as u32), o[1], o[2], o[3]),
        (0.875, 0, 0, 1)
    );
    // The same block again without clear accumulates: 1.75.
    m.step(&beat(true, false, 0), &mut o);
    m.step(&beat(true, false, 1), &mut o);
    for _ in 0..p.latency() {
        m.step(&beat(false, false, 0), &mut o);
    }
    assert_eq!((f32::from_bits(o[0] as u32), o[3]), (1.75, 1));
    m.step(&beat(false, false, 0), &mut o);
    assert_eq!((f32::from_bits(o[0] as u32), o[3]), (1.75, 0), "acc holds");
}

/// docs/bfp.md's latency table: 3, plus the extra cycles of blocks over several beats.
#[test]
fn latency_grows_with_the_beats_per_block() {
    for (beats, latency) in [
        (1, 3),
        (2, 4),
        (3, 6),
        (4, 7),
        (5, 9),
        (6, 10),
        (7, 12),
        (8, 13),
        (64, 13),
    ] {
        let p = BfpDotParams {
            block: 64 / beats * beats,
            lanes: Some(64 / beats),
            ..BfpDotParams::default()
        };
        assert_eq!(
            (p.beats_per_block(), p.latency()),
            (beats, latency),
            "{p:?}"
        );
    }
}

#[test]
fn dot_flags_flush_and_saturate() {
    let (tiny, big) = (block_to_binary32(1, -130), block_to_binary32(127, 126));
    assert_eq!((tiny.bits, tiny.underflow), (0, true));
    assert_eq!((big.bits as u32, big.overflow), (f32::MAX.to_bits(), true));
    let mut acc = DotAccumulator::default();
    acc.add(true, tiny);
    assert_eq!((acc.acc, acc.uf, acc.of), (0, true, false));
    acc.add(false, big);
    assert_eq!((acc.acc, acc.uf, acc.of), (f32::MAX.to_bits(), true, true));
    acc.add(true, block_to_binary32(-3, 0));
    assert_eq!(
        (f32::from_bits(acc.acc), acc.uf, acc.of),
        (-3.0, false, false)
    );
}

#[test]
fn dot_modes_read_the_low_bits() {
    let p = BfpDotParams {
        block: 2,
        mant_bits: 6,
        modes: Some("4,6".parse().unwrap()),
        ..BfpDotParams::default()
    };
    assert_eq!(p.module_name(), "bfp_dot_n2_m6_e10_modes4_6");
    assert_eq!((p.width_for_mode(0), p.width_for_mode(1)), (4, 6));
    let mut m = BfpDot::new(p).unwrap();
    // Fields 0b10_0111 (= -25 in 6 bits, 7 in 4 bits) and 0b00_1111 (15; -1 in 4 bits).
    let beat = |v: bool, mode: u64| [0, v as u64, 1, 0, 0b001111_100111, 0, 0b000001_000001, mode];
    let mut o = [0u64; 4];
    m.step(&beat(true, 0), &mut o);
    m.step(&beat(true, 1), &mut o);
    m.step(&beat(false, 0), &mut o);
    m.step(&beat(false, 0), &mut o);
    assert_eq!(f32::from_bits(o[0] as u32), 7.0 - 1.0);
    m.step(&beat(false, 0), &mut o);
    assert_eq!(f32::from_bits(o[0] as u32), -25.0 + 15.0);
}

/// `--narrow-pack` against the exact block dot products: random 4/6 blocks, the mode
/// switching between blocks at random, each block on its own (`clear`) so `acc` must be
/// its exact value `sum * 2^(ea+eb)` (exact in binary32 at these widths), and the same
/// stream accumulated (no `clear`) against f32 additions of those exact values.
#[test]
fn narrow_pack_is_exact_in_both_modes_and_switches_between_blocks() {
    let p = BfpDotParams {
        block: 16,
        lanes: Some(4),
        mant_bits: 6,
        modes: Some("4,6".parse().unwrap()),
        narrow_pack: true,
        ..BfpDotParams::default()
    };
    assert_eq!(p.module_name(), "bfp_dot_n16_m6_e10_l4_modes4_6_pack");
    assert_eq!(
        (p.field_bits(), p.beats_for_mode(0), p.beats_for_mode(1)),
        (8, 2, 4)
    );
    // Blocks come at least 2 cycles apart (narrow): one extra accumulation cycle.
    assert_eq!((p.accumulation_stages(), p.latency()), (1, 4));
    let mut rng = crate::unit::Sampler::new(21);
    let mut exact_sums = Vec::new();
    for accumulate in [false, true] {
        let mut m = BfpDot::new(p).unwrap();
        let mut o = [0u64; 4];
        let mut want = 0f32;
        let mut seen = 0;
        for blk in 0..40 {
            let narrow = rng.one_in(2);
            let (w, width) = if narrow { (4, 4) } else { (6, 8) };
            let lim = (1i64 << (w - 1)) - 1;
            let el = |rng: &mut crate::unit::Sampler| rng.int(0..=2 * lim as u32) as i64 - lim;
            let qa: Vec<i64> = (0..16).map(|_| el(&mut rng)).collect();
            let qb: Vec<i64> = (0..16).map(|_| el(&mut rng)).collect();
            let (ea, eb) = (rng.int_i32(-8..=8), rng.int_i32(-8..=8));
            let exact: i64 = qa.iter().zip(&qb).map(|(a, b)| a * b).sum();
            let value = exact as f64 * 2f64.powi(ea + eb);
            // Narrow: 8 elements a beat, w bits apart; wide: 4 a beat in 8-bit fields.
            let per_beat = if narrow { 8 } else { 4 };
            let beats = 16 / per_beat;
            let pack = |q: &[i64]| {
                q.iter().enumerate().fold(0u64, |acc, (i, v)| {
                    acc | (int::to_bits((*v).into(), w) as u64) << (width * i as u32)
                })
            };
            for beat in 0..beats {
                let r = beat * per_beat..(beat + 1) * per_beat;
                // The mode is read on the first beat only: later beats show garbage.
                let mode = if beat == 0 {
                    u64::from(!narrow)
                } else {
                    rng.int(0..=1).into()
                };
                let ins = [
                    0,
                    1,
                    u64::from(!accumulate || blk == 0),
                    int::to_bits(ea.into(), 10) as u64,
                    pack(&qa[r.clone()]),
                    int::to_bits(eb.into(), 10) as u64,
                    pack(&qb[r]),
                    mode,
                ];
                m.step(&ins, &mut o);
                if o[3] == 1 {
                    seen += 1;
                }
            }
            for _ in 0..p.latency() {
                m.step(&[0; 8], &mut o);
                if o[3] == 1 {
                    seen += 1;
                    break;
                }
            }
            let got = f32::from_bits(o[0] as u32);
            if accumulate {
                want = if blk == 0 {
                    value as f32
                } else {
                    want + value as f32
                };
                assert_eq!(got, want, "block {blk}");
            } else {
                assert_eq!(f64::from(got), value, "block {blk} narrow {narrow}");
                exact_sums.push(exact);
            }
            // Drain so the next block starts with the pipeline empty.
            for _ in 0..p.latency() {
                m.step(&[0; 8], &mut o);
            }
        }
        assert_eq!(seen, 40);
    }
    assert!(
        exact_sums.iter().any(|s| s.abs() > 7 * 7 * 16),
        "wide blocks seen"
    );
}

#[test]
fn narrow_pack_validates_its_shape() {
    let p = BfpDotParams {
        block: 16,
        lanes: Some(8),
        mant_bits: 6,
        modes: Some("4,6".parse().unwrap()),
        narrow_pack: true,
        ..BfpDotParams::default()
    };
    assert!(p.validate().is_ok());
    let bad = |q: BfpDotParams| q.validate().unwrap_err().param;
    assert_eq!(bad(BfpDotParams { lanes: None, ..p }), "--lanes");
    assert_eq!(bad(BfpDotParams { modes: None, ..p }), "--narrow-pack");
    let m = |t: &str| Some(t.parse().unwrap());
    assert_eq!(
        bad(BfpDotParams {
            modes: m("2,6"),
            ..p
        }),
        "--narrow-pack"
    );
    assert_eq!(
        bad(BfpDotParams {
            modes: m("2,4,6"),
            ..p
        }),
        "--narrow-pack"
    );
    assert!(BfpDotParams {
        modes: m("3,6"),
        ..p
    }
    .validate()
    .is_ok());
    assert!(BfpDotParams {
        mant_bits: 8,
        modes: m("4,8"),
        ..p
    }
    .validate()
    .is_ok());
    // The wide mode keeps the unit's products a beat; the narrow mode doubles them.
    assert_eq!((p.products_per_beat(0), p.products_per_beat(1)), (16, 8));
}

#[test]
fn long_mode_names_latency_and_flags() {
    let p = BfpDotParams {
        block: 32,
        long: Some(LongWindow::default()),
        ..BfpDotParams::default()
    };
    assert_eq!(p.module_name(), "bfp_dot_n32_m4_e10_long24_lsbm12");
    assert_eq!(p.latency(), 6);
    let serial = BfpDotParams {
        lanes: Some(4),
        ..p
    };
    assert_eq!((serial.accumulation_stages(), serial.latency()), (0, 6));
    let bad = BfpDotParams {
        long: Some(LongWindow { bits: 7, lsb: 0 }),
        ..p
    };
    assert_eq!(bad.validate().unwrap_err().param, "--long-bits");
    use crate::param::Given;
    let e = BfpDotParams::from_flags(&Given::of(&[("long-bits", "32")])).unwrap_err();
    assert_eq!(e.param, "--long-bits");
    let e = BfpDotParams::from_flags(&Given::of(&[("acc", "long"), ("long-lsb", "200000")]))
        .unwrap_err();
    assert_eq!(
        (e.param, e.allowed.as_str()),
        ("--long-lsb", "-140000..=140000")
    );
    let ok = BfpDotParams::from_flags(&Given::of(&[("acc", "long"), ("long-bits", "32")])).unwrap();
    assert_eq!(ok.long, Some(LongWindow { bits: 32, lsb: -12 }));
}

proptest! {
    /// The dot product is exact and fits its documented width.
    #[test]
    fn dot_is_exact(x in block_values(), w in block_values(), m in 2u32..=8) {
        let f = BfpFormat { mant_bits: m, exp_bits: 10 };
        let n = x.len().min(w.len());
        let qa = quantize(&f, &x[..n].iter().map(|v| v.to_bits()).collect::<Vec<_>>(), BfpRounding::Rne, &[], 0).block;
        let qb = quantize(&f, &w[..n].iter().map(|v| v.to_bits()).collect::<Vec<_>>(), BfpRounding::Rne, &[], 0).block;
        let (sum, exp) = dot(&qa, &qb);
        let want: f64 = qa.q.iter().zip(&qb.q).map(|(a, b)| (*a * *b) as f64).sum::<f64>() * 2f64.powi(exp);
        prop_assert_eq!(sum as f64 * 2f64.powi(exp), want);
        prop_assert!(int::fits(sum.into(), dot_width(m, n as u32), true));
    }

    /// The accumulator agrees with f32 arithmetic in the normal range.
    #[test]
    fn accumulator_matches_f32(blocks in prop::collection::vec((block_values(), block_values()), 1..8)) {
        let mut acc = DotAccumulator::default();
        let mut want = 0f32;
        for (i, (x, w)) in blocks.iter().enumerate() {
            let n = x.len().min(w.len());
            let qa = q(&x[..n], BfpRounding::Rne);
            let qb = q(&w[..n], BfpRounding::Rne);
            let (sum, exp) = dot(&qa, &qb);
            let v = (sum as f64 * 2f64.powi(exp)) as f32;
            want = if i == 0 { v } else { want + v };
            acc.step(i == 0, &qa, &qb);
            prop_assume!(want == 0.0 || want.abs() >= f32::MIN_POSITIVE);
            prop_assume!(v == 0.0 || v.abs() >= f32::MIN_POSITIVE);
            let w = if want == 0.0 { 0f32 } else { want };
            prop_assert_eq!(acc.acc, w.to_bits());
        }
    }
}
