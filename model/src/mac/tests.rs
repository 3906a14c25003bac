//! The MAC model's tests: worked cases, corners, parameters and the batch path.

use super::*;

fn beat(clear: bool, a: i128, b: i128) -> MacIn {
    MacIn {
        rst: false,
        in_valid: true,
        clear,
        a,
        b,
    }
}

#[test]
fn default_is_the_readme_mac() {
    let p = MacParams::default();
    assert_eq!(p.module_name(), "mac_s8x8_acc12_sat");
    assert_eq!(p.latency(), 1);
    assert_eq!(p.sum_bits(), 17);
}

#[test]
fn saturates_at_every_step_and_order_matters() {
    let p = MacParams::default();
    // 127*127 = 16129 saturates to 2047; then -128*16 = -2048 gives -1.
    let mut m = Mac::new(p).unwrap();
    m.step(beat(true, 127, 127));
    m.step(beat(false, -128, 16));
    let o = m.step(MacIn::default());
    assert_eq!((o.acc, o.ovf, o.out_valid), (-1, true, true));
    // The other order: -2048 exactly, then +16129 saturates to 2047.
    let mut m = Mac::new(p).unwrap();
    m.step(beat(true, -128, 16));
    assert!(!m.outputs().ovf);
    m.step(beat(false, 127, 127));
    assert_eq!((m.outputs().acc, m.outputs().ovf), (2047, true));
}

#[test]
fn wraps_and_flags() {
    let p = MacParams {
        overflow: Overflow::Wrap,
        ..MacParams::default()
    };
    let (acc, ovf) = mac_step(&p, 2000, false, false, 10, 10);
    assert_eq!((acc, ovf), (2100 - 4096, true));
    // clear starts a new sum and drops the sticky flag.
    assert_eq!(mac_step(&p, 5, true, true, 3, 4), (12, false));
    // ovf is sticky without clear.
    assert_eq!(mac_step(&p, 5, true, false, 3, 4), (17, true));
}

#[test]
fn unsigned_accumulator() {
    let p = MacParams {
        signed: false,
        acc_bits: 8,
        ..MacParams::default()
    };
    assert_eq!(mac_step(&p, 250, false, false, 2, 3), (255, true));
    let w = MacParams {
        overflow: Overflow::Wrap,
        ..p
    };
    assert_eq!(mac_step(&w, 250, false, false, 2, 3), (0, true));
}

#[test]
fn widest_case_is_exact() {
    let p = MacParams {
        in_bits: 32,
        acc_bits: 64,
        ..MacParams::default()
    };
    let min = i32::MIN as i128;
    let (acc, ovf) = mac_step(&p, i64::MAX as i128, false, false, min, min);
    assert_eq!((acc, ovf), (i64::MAX as i128, true));
    let u = MacParams { signed: false, ..p };
    let m = u32::MAX as i128;
    assert_eq!(mac_step(&u, 0, false, true, m, m), (m * m, false));
}

#[test]
fn latency_and_reset() {
    {
        let p = MacParams::default();
        let mut m = Mac::new(p).unwrap();
        let mut seen = vec![m.step(beat(true, 3, 4))];
        for _ in 0..4 {
            seen.push(m.step(MacIn::default()));
        }
        let l = p.latency() as usize;
        for (t, o) in seen.iter().enumerate() {
            assert_eq!(o.out_valid, t == l, "cycle {t}");
            assert_eq!(o.acc, if t >= l { 12 } else { 0 });
        }
        // Reset clears the result.
        let mut m = Mac::new(p).unwrap();
        m.step(beat(true, 3, 4));
        m.step(MacIn {
            rst: true,
            ..MacIn::default()
        });
        for _ in 0..4 {
            let o = m.step(MacIn::default());
            assert_eq!((o.acc, o.ovf, o.out_valid), (0, false, false));
        }
    }
}

#[test]
fn bad_parameters_name_the_flag() {
    let e = MacParams {
        acc_bits: 65,
        ..MacParams::default()
    }
    .validate()
    .unwrap_err();
    assert_eq!(e.param, "--acc");
    assert_eq!(
        e.to_string(),
        "invalid value '65' for '--acc': allowed 2..=64"
    );
    assert!(Mac::new(MacParams {
        in_bits: 1,
        ..MacParams::default()
    })
    .is_err());
}

fn w4a8(acc_bits: u32, overflow: Overflow) -> MacParams {
    MacParams {
        in_bits: 4,
        acc_bits,
        overflow,
        b: Some(Operand::unsigned(8)),
        ..MacParams::default()
    }
}

/// int4 x uint8: a = -8, b = 255 gives -2040, exact; a second beat leaves the
/// signed 12-bit range and saturates at -2048 (or wraps).
#[test]
fn mixed_operands_multiply_exactly() {
    let p = w4a8(12, Overflow::Saturate);
    assert_eq!(p.module_name(), "mac_s4xu8_acc12_sat");
    assert!(p.acc_signed());
    assert_eq!((p.prod_bits(), p.sum_bits()), (12, 13));
    assert_eq!(mac_step(&p, 0, false, true, -8, 255), (-2040, false));
    assert_eq!(mac_step(&p, -2040, false, false, -8, 255), (-2048, true));
    assert_eq!(mac_step(&p, 0, false, true, 7, 255), (1785, false));
    assert_eq!(mac_step(&p, 1785, false, false, 7, 255), (2047, true));
    let w = w4a8(12, Overflow::Wrap);
    assert_eq!(
        mac_step(&w, -2040, false, false, -8, 255),
        (-4080 + 4096, true)
    );
    // The cycle model reads b = 0xff as 255, a = 0x8 as -8.
    let mut m = p.model().unwrap();
    let mut out = [0u64; 3];
    m.step(&[0, 1, 1, 0x8, 0xff], &mut out);
    m.step(&[0, 0, 0, 0, 0], &mut out);
    assert_eq!(out, [int::to_bits(-2040, 12) as u64, 0, 1]);
    // The other way round: uint8 x int4, and a signed accumulator.
    let q = MacParams {
        in_bits: 8,
        signed: false,
        b: Some(Operand::signed(4)),
        ..p
    };
    assert_eq!(q.module_name(), "mac_u8xs4_acc12_sat");
    assert_eq!(mac_step(&q, 0, false, true, 255, -8), (-2040, false));
    // Both unsigned, different widths: an unsigned accumulator.
    let u = MacParams {
        signed: false,
        b: Some(Operand::unsigned(8)),
        ..p
    };
    assert_eq!(u.module_name(), "mac_u4x8_acc12_sat");
    assert!(!u.acc_signed());
    assert_eq!(mac_step(&u, 4000, false, false, 15, 255), (4095, true));
}

/// The flags: `--in`/`--signed`/`--unsigned` as before, the new ones per operand,
/// `b` left `None` when it equals `a`.
#[test]
fn operand_flags() {
    use crate::param::Given;
    let given = |flags: &[(&str, &str)]| MacParams::from_flags(&Given::of(flags)).unwrap();
    assert_eq!(given(&[]), MacParams::default());
    assert_eq!(given(&[("in-a", "8"), ("in-b", "8")]), MacParams::default());
    let u = given(&[("unsigned", ""), ("a-unsigned", "")]);
    assert_eq!((u.signed, u.b), (false, None));
    assert_eq!(
        given(&[("in-a", "4"), ("b-unsigned", ""), ("acc", "12")]),
        w4a8(12, Overflow::Saturate)
    );
    let p = given(&[("in", "6"), ("in-b", "3"), ("a-unsigned", "")]);
    assert_eq!(p.module_name(), "mac_u6xs3_acc12_sat");
}

/// The sampler draws mixed operands of both kinds (own width, own signedness), and
/// never a `b` equal to `a`.
#[test]
fn sampler_draws_mixed_operands() {
    use crate::unit::{Sampler, Unit};
    let mut rng = Sampler::new(7);
    let draws: Vec<MacParams> = (0..200).map(|_| MacParams::sample(&mut rng)).collect();
    assert!(draws
        .iter()
        .all(|p| p.validate().is_ok() && p.b != Some(p.a())));
    assert!(draws.iter().any(|p| p.b.is_none()));
    assert!(draws.iter().any(|p| p.a().signed != p.b().signed));
    assert!(draws
        .iter()
        .any(|p| p.a().signed == p.b().signed && p.a().bits != p.b().bits));
}

#[test]
fn params_round_trip_through_json() {
    let p = MacParams {
        overflow: Overflow::Wrap,
        ..MacParams::default()
    };
    let j = serde_json::to_string(&p).unwrap();
    assert_eq!(
        j,
        r#"{"in_bits":8,"signed":true,"acc_bits":12,"overflow":"wrap"}"#
    );
    assert_eq!(serde_json::from_str::<MacParams>(&j).unwrap(), p);
    let m = w4a8(16, Overflow::Saturate);
    let j = serde_json::to_string(&m).unwrap();
    assert_eq!(
        j,
        r#"{"in_bits":4,"signed":true,"acc_bits":16,"overflow":"saturate","b":{"bits":8,"signed":false}}"#
    );
    assert_eq!(serde_json::from_str::<MacParams>(&j).unwrap(), m);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]
    /// The batch path (`run`, in `i64` where every sum fits) equals `step` beat by
    /// beat, over random parameters (wide ones included, which take `step`), random
    /// streams with resets, clears and idle beats, and random batch boundaries.
    #[test]
    fn batch_is_step_beat_by_beat(
        a_bits in 2u32..=32, b_bits in 2u32..=32, acc_bits in 2u32..=64,
        a_signed: bool, b_signed: bool, wrap: bool,
        words in proptest::collection::vec(proptest::prelude::any::<u64>(), 5..600),
        cut in 0usize..120,
    ) {
        let p = MacParams {
            in_bits: a_bits,
            signed: a_signed,
            acc_bits,
            overflow: if wrap { Overflow::Wrap } else { Overflow::Saturate },
            b: Some(Operand { bits: b_bits, signed: b_signed }),
        };
        let beats = words.len() / 5;
        // Control bits rarely reset, often valid; operands full-width random words.
        let mut input = Vec::with_capacity(beats * 5);
        for w in words.chunks_exact(5) {
            input.extend([
                u64::from(w[0] % 16 == 0),
                w[1] & 1,
                w[2] & 1,
                w[3] & (u64::MAX >> (64 - a_bits)),
                w[4] & (u64::MAX >> (64 - b_bits)),
            ]);
        }
        let mut by_beat = Mac::new(p).unwrap();
        let mut expected = vec![0u64; beats * 3];
        for (i, o) in input.chunks_exact(5).zip(expected.chunks_exact_mut(3)) {
            CycleModel::step(&mut by_beat, i, o);
        }
        let mut batched = Mac::new(p).unwrap();
        let mut got = vec![0u64; beats * 3];
        let cut = cut.min(beats);
        batched.run(&input[..cut * 5], &mut got[..cut * 3]);
        batched.run(&input[cut * 5..], &mut got[cut * 3..]);
        proptest::prop_assert_eq!(got, expected);
        proptest::prop_assert_eq!(batched.outputs(), by_beat.outputs());
    }
}
