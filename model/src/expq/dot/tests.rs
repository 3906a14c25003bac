use super::*;
use crate::iface::set_field;

/// docs/log-domain.md: b = 2, weights (+,1), (-,2), (+,0) with activations (+,2),
/// (+,0), (+,1) give c3 = +1, c2 = -1, c1 = +1 and 8 - 4 + 2 = 6.
#[test]
fn spec_worked_case() {
    let p = ExpqDotParams {
        frac_bits: 0,
        k_max: 3,
        ..ExpqDotParams::default()
    };
    assert_eq!(p.counter_bits(), 3);
    assert_eq!(p.table(), (0..15).map(|k| 1u128 << k).collect::<Vec<_>>());
    let mut m = ExpqDot::new(p.clone()).unwrap();
    let mut o = vec![0u64; 2];
    // rst, in_valid, flush, sw, zw, ew, sa, za, ea
    m.step(&[0, 1, 0, 0, 0, 1, 0, 0, 2], &mut o);
    m.step(&[0, 1, 0, 1, 0, 2, 0, 0, 0], &mut o);
    m.step(&[0, 1, 1, 0, 0, 0, 0, 0, 1], &mut o);
    let mut want = vec![0i128; 15];
    (want[3], want[2], want[1]) = (1, -1, 1);
    assert_eq!(m.counters(), &want[..]);
    // The flush beat's outputs, the 15 walk cycles and the 2 walk stages: 18 cycles
    // (the latency) after the flush beat, y shows up.
    assert_eq!(p.latency(), 18);
    for _ in 0..17 {
        assert_eq!(o[1], 0);
        m.step(&[0; 9], &mut o);
    }
    assert!(m.counters().iter().all(|c| *c == 0), "counters cleared");
    m.step(&[0; 9], &mut o);
    assert_eq!(o, [6, 1]);
    m.step(&[0; 9], &mut o);
    assert_eq!(o, [6, 0], "y holds");
}

/// The cycles after a walk, while its last terms are in flight, count beats as usual,
/// and a flush there starts the next walk without disturbing the first's result.
#[test]
fn a_walk_may_follow_the_last_directly() {
    let p = ExpqDotParams {
        exp_bits: 1,
        frac_bits: 0,
        k_max: 3,
        ..ExpqDotParams::default()
    };
    let n = p.counters() as usize; // 3 counters, T = 1, 2, 4
    let mut m = ExpqDot::new(p.clone()).unwrap();
    let mut o = vec![0u64; 2];
    let mut seen = Vec::new();
    // rst, in_valid, flush, sw, zw, ew, sa, za, ea: 2^1 * 2^1 = +4, flushed.
    let mut beats = vec![[0, 1, 1, 0, 0, 1, 0, 0, 1]];
    beats.extend(vec![[0u64; 9]; n]);
    // Right after the walk, with its last terms in flight: -2^0 * 2^1 = -2, flushed.
    beats.push([0, 1, 1, 1, 0, 0, 0, 0, 1]);
    beats.extend(vec![[0u64; 9]; n + WALK_STAGES + 2]);
    for (t, b) in beats.iter().enumerate() {
        m.step(b, &mut o);
        if o[1] == 1 {
            seen.push((t, int::from_bits(o[0].into(), p.out_bits(), true)));
        }
    }
    let latency = p.latency() as usize;
    assert_eq!(seen, vec![(latency, 4), (n + 1 + latency, -2)]);
}

fn offset(p: &mut ExpqDotParams, w: &str, a: &str) {
    p.offset_w = w.parse().unwrap();
    p.offset_a = a.parse().unwrap();
}

/// Issue 21's case: b = 2, alpha 1, beta 0.5 on both operands, pairs (0, 0) and
/// (1, 0): 1.5 * 1.5 + 2.5 * 1.5 = 6.0 (the exponent sums alone give 3).
#[test]
fn offset_worked_case() {
    let mut p = ExpqDotParams {
        exp_bits: 1,
        frac_bits: 2,
        k_max: 2,
        ..ExpqDotParams::default()
    };
    offset(&mut p, "0.5", "0.5");
    // c_0..c_2, w_0, w_1, a_0, a_1, s.
    assert_eq!(p.counters(), 3 + 2 + 2 + 1);
    assert_eq!(p.table(), vec![4, 8, 16, 2, 4, 2, 4, 1]);
    assert_eq!(p.latency(), 8 + WALK_STAGES as u32 + 1);
    assert_eq!(p.module_name(), "expq_dot_e1_b2_f2_k2_ow0p5_oa0p5");
    let mut m = ExpqDot::new(p.clone()).unwrap();
    let mut o = vec![0u64; 2];
    // rst, in_valid, flush, sw, zw, ew, sa, za, ea
    m.step(&[0, 1, 0, 0, 0, 0, 0, 0, 0], &mut o);
    m.step(&[0, 1, 1, 0, 0, 1, 0, 0, 0], &mut o);
    assert_eq!(m.counters(), &[1, 1, 0, 1, 1, 2, 0, 2]);
    let mut seen = Vec::new();
    for t in 0..p.latency() + 2 {
        m.step(&[0; 9], &mut o);
        if o[1] == 1 {
            seen.push((t + 1, int::from_bits(o[0].into(), p.out_bits(), true)));
        }
    }
    // 6.0 at 2 fractional bits.
    assert_eq!(seen, vec![(p.latency(), 24)]);
}

/// With both offsets 0 the unit is the one without offsets: same counters, table,
/// name and width.
#[test]
fn zero_offsets_are_no_offsets() {
    let d = ExpqDotParams::default();
    let mut z = d.clone();
    offset(&mut z, "0.000", "0");
    assert_eq!(z, d);
    assert_eq!(d.counters(), 15);
    assert_eq!(d.module_name(), "expq_dot_e3_b2_f8_k64");
    assert!(!serde_json::to_string(&d).unwrap().contains("offset"));
    // One offset: only that group of counters.
    let mut w = d.clone();
    offset(&mut w, "1", "0");
    assert_eq!(w.counters(), 15 + 8);
    assert_eq!(
        (
            w.weight_counters(),
            w.activation_counters(),
            w.sign_counter()
        ),
        (None, Some(15), None)
    );
    assert_eq!(w.counters_of(2, 5), vec![7, 15 + 5]);
    assert!("16.5".parse::<Offset>().is_err() && "-1".parse::<Offset>().is_err());
}

/// The offset dot product computed independently from exact rationals on random
/// streams (random bases, exponent ranges, offsets), against the model: within the
/// rounding bound of four half-ulp constants per product.
#[test]
fn offset_dot_products_match_exact_rationals() {
    use num_bigint::BigInt;
    // Exact rationals as (numerator, positive denominator), not reduced.
    type Q = (BigInt, BigInt);
    let rat = |n: u64, d: u64| -> Q { (BigInt::from(n), BigInt::from(d)) };
    let add = |x: &Q, y: &Q| -> Q { (&x.0 * &y.1 + &y.0 * &x.1, &x.1 * &y.1) };
    let mul = |x: &Q, y: &Q| -> Q { (&x.0 * &y.0, &x.1 * &y.1) };
    let mut rng = crate::unit::Sampler::new(21);
    let bases = ["2", "1.5", "1.1892", "3", "1.25"];
    let offsets = ["0", "0.5", "0.25", "1", "0.375", "2.75", "0.3"];
    let mut runs = 0;
    while runs < 300 {
        let mut p = ExpqDotParams {
            exp_bits: rng.int(1..=3),
            base: rng.pick(&bases).parse().unwrap(),
            exp_min: rng.int_i32(-4..=2),
            frac_bits: rng.int(4..=12),
            k_max: rng.int(1..=40),
            ..ExpqDotParams::default()
        };
        offset(&mut p, rng.pick(&offsets), rng.pick(&offsets));
        if p.validate().is_err() {
            continue;
        }
        runs += 1;
        let level = |e: u32, o: &Offset| -> Q {
            let x = i64::from(e) + i64::from(p.exp_min);
            let (n, d) = (BigInt::from(p.base.num), BigInt::from(p.base.den));
            let pow = if x >= 0 {
                (n.pow(x as u32), d.pow(x as u32))
            } else {
                (d.pow((-x) as u32), n.pow((-x) as u32))
            };
            add(&pow, &rat(o.num, o.den))
        };
        let mut m = ExpqDot::new(p.clone()).unwrap();
        let mut o = vec![0u64; 2];
        let n = rng.int(1..=p.k_max);
        let mut exact = rat(0, 1);
        let mut nonzero = 0u64;
        let emax = (1u32 << p.exp_bits) - 1;
        for i in 0..n {
            let (sw, sa) = (rng.int(0..=1), rng.int(0..=1));
            let (zw, za) = (
                u32::from(rng.int(0..=7) == 0),
                u32::from(rng.int(0..=7) == 0),
            );
            let (ew, ea) = (rng.int(0..=emax), rng.int(0..=emax));
            if zw == 0 && za == 0 {
                let mut prod = mul(&level(ew, &p.offset_w), &level(ea, &p.offset_a));
                if sw != sa {
                    prod.0 = -prod.0;
                }
                exact = add(&exact, &prod);
                nonzero += 1;
            }
            let flush = u32::from(i + 1 == n);
            let beat = [0, 1, flush, sw, zw, ew, sa, za, ea].map(u64::from);
            m.step(&beat, &mut o);
        }
        let mut y = None;
        for _ in 0..p.latency() {
            m.step(&[0; 9], &mut o);
            if o[1] == 1 {
                y = Some(int::from_bits(o[0].into(), p.out_bits(), true));
            }
        }
        let y = y.expect("out_valid after the latency");
        // |y / 2^F - exact| <= nonzero * per / 2^(F+1): four constants per product
        // (one without offsets), each within half an ulp. Cross-multiplied:
        // |2 (y den - num 2^F)| <= nonzero * per * den.
        let per = if p.offset_w.is_zero() && p.offset_a.is_zero() {
            1
        } else {
            4
        };
        let scaled = BigInt::from(y) * &exact.1 - (&exact.0 << p.frac_bits as usize);
        let lhs = scaled.magnitude() * 2u32;
        let rhs = (&exact.1 * BigInt::from(nonzero * per)).magnitude().clone();
        assert!(lhs <= rhs, "{p:?}: y = {y}, exact {exact:?}");
    }
}

/// L lanes a beat count what one lane counts over L beats: random pairs (zero flags
/// included) through an L-lane model and through the one-lane model, same y; and
/// the MAC/cycle counts ceil(K / L) beats.
#[test]
fn lanes_count_what_one_lane_counts() {
    let mut rng = crate::unit::Sampler::new(7);
    for lanes in [2u32, 3, 5, 16] {
        let mut p = ExpqDotParams {
            exp_bits: rng.int(1..=4),
            k_max: 40,
            ..ExpqDotParams::default()
        };
        offset(&mut p, "0.5", rng.pick(&["0", "0.25"]));
        let one = p.clone();
        p.lanes = lanes;
        assert_eq!(p.latency(), one.latency());
        let beats = 40u32.div_ceil(lanes);
        let want = 40.0 / f64::from(beats + p.counters());
        assert_eq!(p.macs_per_cycle(), want);
        let (mut ml, mut m1) = (ExpqDot::new(p.clone()).unwrap(), ExpqDot::new(one).unwrap());
        let iface = ml.interface().clone();
        let at = |n: &str| iface.in_offset(n).unwrap() as u32 * 64;
        let e = p.exp_bits;
        let (mut ol, mut o1) = (vec![0u64; 2], vec![0u64; 2]);
        let mut ins = vec![0u64; iface.in_words()];
        let n = rng.int(1..=40);
        let nbeats = n.div_ceil(lanes);
        for b in 0..nbeats {
            ins.fill(0);
            set_field(&mut ins, at("in_valid"), 1, 1);
            set_field(&mut ins, at("flush"), 1, u64::from(b + 1 == nbeats));
            for l in 0..lanes {
                let i = b * lanes + l;
                let pair = [
                    rng.int(0..=1),
                    u32::from(i >= n || rng.int(0..=5) == 0),
                    rng.int(0..=(1 << e) - 1),
                    rng.int(0..=1),
                    u32::from(rng.int(0..=5) == 0),
                    rng.int(0..=(1 << e) - 1),
                ]
                .map(u64::from);
                for (j, port) in ["sw", "zw", "ew", "sa", "za", "ea"].iter().enumerate() {
                    let w = if j % 3 == 2 { e } else { 1 };
                    set_field(&mut ins, at(port) + l * w, w, pair[j]);
                }
                if i < n {
                    let flush = u64::from(i + 1 == n);
                    let mut beat = [0, 1, flush, 0, 0, 0, 0, 0, 0];
                    beat[3..].copy_from_slice(&pair);
                    m1.step(&beat, &mut o1);
                }
            }
            ml.step(&ins, &mut ol);
        }
        let idle = vec![0u64; iface.in_words()];
        let (mut yl, mut y1) = (None, None);
        for _ in 0..p.latency() + 16 {
            ml.step(&idle, &mut ol);
            m1.step(&[0; 9], &mut o1);
            if ol[1] == 1 {
                yl = Some(ol[0]);
            }
            if o1[1] == 1 {
                y1 = Some(o1[0]);
            }
        }
        assert!(yl.is_some());
        assert_eq!(yl, y1, "--lanes {lanes}");
    }
}

#[test]
fn tables_for_other_bases_are_exact() {
    let p = ExpqDotParams {
        exp_bits: 1,
        base: "1.5".parse().unwrap(),
        exp_min: -1,
        frac_bits: 4,
        ..ExpqDotParams::default()
    };
    // b^-2, b^-1, b^0 times 16: 7.11, 10.67, 16 -> 7, 11, 16.
    assert_eq!(p.table(), vec![7, 11, 16]);
    assert_eq!(p.module_name(), "expq_dot_e1_b1p5_f4_k64_emm1");
    // 64 * 16 needs 11 bits plus the sign.
    assert_eq!(p.min_out_bits(), 12);
    // A tie: 2.5 * 2^0 rounds to 2 (even), 3.5 to 4.
    let two_and_half = ExpqDotParams {
        exp_bits: 1,
        base: "2.5".parse().unwrap(),
        frac_bits: 0,
        ..ExpqDotParams::default()
    };
    assert_eq!(two_and_half.table(), vec![1, 2, 6]);
    let b: Base = "3.50".parse().unwrap();
    assert_eq!((b.num, b.den), (7, 2));
}

/// A configuration whose every table constant rounds to zero computes nothing: it is
/// rejected, naming the lowest --exp-min that works.
#[test]
fn a_unit_whose_y_is_always_zero_is_rejected() {
    let p = ExpqDotParams {
        exp_bits: 3,
        exp_min: -31,
        frac_bits: 0,
        ..ExpqDotParams::default()
    };
    let e = p.validate().unwrap_err();
    assert_eq!(e.param, "--exp-min");
    assert!(e.allowed.starts_with("-7..=64"), "{e}");
    let lowest = ExpqDotParams { exp_min: -7, ..p };
    assert!(lowest.validate().is_ok());
    assert!(lowest.table().iter().any(|t| *t != 0));
}

#[test]
fn parameters_are_checked() {
    assert!("1".parse::<Base>().is_err());
    assert!("16.5".parse::<Base>().is_err());
    assert!("1.2.3".parse::<Base>().is_err());
    assert!("-2".parse::<Base>().is_err());
    let p = ExpqDotParams {
        out_bits: Some(4),
        ..ExpqDotParams::default()
    };
    let e = p.validate().unwrap_err();
    assert_eq!(
        (e.param, e.allowed.as_str()),
        (
            "--out-bits",
            "30..=96 (y must hold K_max products of the largest constant)"
        )
    );
    let p = ExpqDotParams {
        exp_bits: 6,
        base: "16".parse().unwrap(),
        frac_bits: 24,
        ..ExpqDotParams::default()
    };
    assert_eq!(p.validate().unwrap_err().param, "--frac-bits");
}
