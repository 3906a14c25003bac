//! Log-domain units against their models (docs/log-domain.md).

use lowbit_tests::{check_unit, verilate};
use model::expq::{ExpqDotParams, ExpqQuantParams};
use model::lns::{exp2_table, LnsMacParams, LnsMulParams};
use model::mac::Overflow;
use model::UnitParams;
use num_bigint::BigUint;
use proptest::prelude::*;
use sim::{cosim, CosimOptions};

/// Every pair of codes with 8-bit exponents: (sign, zero, exponent) x (sign, zero,
/// exponent), 2^20 beats, RTL against model.
#[test]
fn lns_mul_exhaustive_8_bit_exponents() {
    let p = LnsMulParams {
        exp_bits: 8,
        frac_bits: 3,
        exp_min: None,
    };
    let mut stimulus = Vec::with_capacity(6 << 20);
    for a in 0..1u64 << 10 {
        for b in 0..1u64 << 10 {
            stimulus.extend([a & 1, a >> 1 & 1, a >> 2, b & 1, b >> 1 & 1, b >> 2]);
        }
    }
    let dut = verilate(&p);
    let mut model = p.model().unwrap();
    let stats = cosim(&dut, model.as_mut(), &stimulus, &CosimOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.beats, 1 << 20);
    // Spot check of the RTL's own outputs: (+, 200) x (-, 100) = (-, 300).
    let mut out = [0u64; 3];
    dut.instance()
        .unwrap()
        .run(&[0, 0, 200, 1, 0, 100], &mut out);
    assert_eq!(out, [1, 0, 300]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: lowbit_tests::cases(4), max_shrink_iters: 16, failure_persistence: lowbit_tests::regressions!("lns.txt"), ..ProptestConfig::default() })]

    #[test]
    fn lns_mul_rtl_matches_model(k in 2u32..=16, f in 0u32..=8, seed in any::<u64>()) {
        let p = LnsMulParams { exp_bits: k, frac_bits: f.min(k), exp_min: None };
        check_unit(p, seed, 2000).map_err(TestCaseError::fail)?;
    }
}

/// Every table the CLI accepts (F in 0..=8, L in 2..=24, F < L), every entry, checked with exact
/// integers: entry `t` of `j` is `RNE(x)` for `x = 2^(L-1 + j/2^F)` iff
/// `(2t-1)^(2^F) < (2x)^(2^F) = 2^(L*2^F + j) < (2t+1)^(2^F)` (no ties: `x` is an integer
/// or irrational).
#[test]
fn table_constants_are_exactly_rounded() {
    let mut checked = 0;
    for f in 0..=8u32 {
        let n = 1u32 << f;
        for l in (f + 1).max(2)..=24u32 {
            for (j, t) in exp2_table(f, l).iter().enumerate() {
                let two_x = BigUint::from(1u32) << (l * n + j as u32) as usize;
                let below = BigUint::from(2 * t - 1).pow(n);
                let above = BigUint::from(2 * t + 1).pow(n);
                assert!(below < two_x && two_x < above, "F={f} L={l} j={j}: {t}");
                assert!(*t < 1 << l, "F={f} L={l} j={j}: {t} fits L bits");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 8677);
    // Independently computed by hand: 2^(1/4) * 128 = 152.2, 2^(3/4) * 2^15 = 55109.3.
    assert_eq!(exp2_table(2, 8)[1], 152);
    assert_eq!(exp2_table(2, 16)[3], 55109);
}

/// Every (code pair, accumulator state) triple of a small `lns_mac` (K = 4, F = 1, L = 4,
/// A = 8: 2^12 pairs times 256 states = 2^20 triples), saturating and wrapping, RTL
/// against model. One walk covers them: from the current state apply its next untried
/// pair; when a state has none left, jump to one that has with `clear` and terms of
/// shrinking size (the term 1 exists, so every state is reachable, and every partial sum
/// lies between 0 and the target).
#[test]
fn lns_mac_every_pair_from_every_state() {
    use model::int;
    use model::lns::Code;
    use model::mac::accumulate;
    for overflow in [Overflow::Saturate, Overflow::Wrap] {
        let p = LnsMacParams {
            exp_bits: 4,
            frac_bits: 1,
            exp_min: None,
            table_bits: 4,
            acc_bits: 8,
            overflow,
        };
        let table = p.table();
        let code = |c: u64| Code {
            sign: c & 1 == 1,
            zero: c >> 1 & 1 == 1,
            exp: c >> 2,
        };
        let pairs = 1u64 << 12;
        let term_of = |k: u64| p.term(&table, code(k >> 6), code(k & 63));
        // One pair per term value, sorted by value, for the jumps.
        let mut terms: Vec<(i128, u64)> = (0..pairs).map(|k| (term_of(k), k)).collect();
        terms.sort();
        terms.dedup_by_key(|t| t.0);
        assert!(
            terms.iter().any(|t| t.0 == 1),
            "the term 1 makes every state reachable"
        );
        let toward = |r: i128| -> (i128, u64) {
            if r >= 0 {
                terms[terms.partition_point(|t| t.0 <= r) - 1]
            } else {
                terms[terms.partition_point(|t| t.0 < r)]
            }
        };
        let (min, states) = (int::min_value(8, true), 256usize);
        let mut next = vec![0u64; states];
        let (mut acc, mut ovf) = (0i128, false);
        let mut stimulus = Vec::new();
        let mut issue = |clear: bool, k: u64, acc: &mut i128, ovf: &mut bool| {
            let (a, b) = (k >> 6, k & 63);
            stimulus.extend([0, 1, clear as u64, a & 1, a >> 1 & 1, a >> 2]);
            stimulus.extend([b & 1, b >> 1 & 1, b >> 2]);
            (*acc, *ovf) = accumulate(*acc, *ovf, clear, term_of(k), 8, true, overflow);
        };
        let mut scan = 0;
        loop {
            let s = (acc - min) as usize;
            if next[s] < pairs {
                issue(false, next[s], &mut acc, &mut ovf);
                next[s] += 1;
                continue;
            }
            while scan < states && next[scan] == pairs {
                scan += 1;
            }
            if scan == states {
                break;
            }
            let target = scan as i128 + min;
            let (t, k) = toward(target);
            issue(true, k, &mut acc, &mut ovf);
            let mut rest = target - t;
            while rest != 0 {
                let (t, k) = toward(rest);
                issue(false, k, &mut acc, &mut ovf);
                rest -= t;
            }
            assert_eq!(acc, target);
        }
        stimulus.extend([0u64; 9]);
        let dut = verilate(&p);
        let mut model = p.model().unwrap();
        let stats = cosim(&dut, model.as_mut(), &stimulus, &CosimOptions::default())
            .unwrap_or_else(|e| panic!("{p:?}: {e}"));
        assert!(stats.beats > (1 << 20), "{} beats", stats.beats);
        assert!(next.iter().all(|n| *n == pairs), "every triple applied");
    }
}

/// A worked LNS MAC case on the RTL: 2^0.5 * 2^1 + (-2^0 * 2^0) with K = 4, F = 1, L = 4,
/// e_min = -8: 22 - 8 = 14 units of 2^-3, that is 1.75.
#[test]
fn lns_mac_worked_case_on_the_rtl() {
    let p = LnsMacParams {
        exp_bits: 4,
        frac_bits: 1,
        table_bits: 4,
        acc_bits: 8,
        ..LnsMacParams::default()
    };
    // rst, in_valid, clear, sa, za, ea, sb, zb, eb
    let stimulus = [
        [0, 1, 1, 0, 0, 9, 0, 0, 10],
        [0, 1, 0, 1, 0, 8, 0, 0, 8],
        [0, 0, 0, 0, 0, 0, 0, 0, 0],
    ]
    .concat();
    let dut = verilate(&p);
    let mut out = [0u64; 9];
    dut.instance().unwrap().run(&stimulus, &mut out);
    assert_eq!(&out[3..], &[22, 0, 1, 14, 0, 1]);
}

fn mac_params() -> impl Strategy<Value = LnsMacParams> {
    (
        2u32..=10,
        0u32..=6,
        prop::option::of(-600i32..600),
        2u32..=16,
        2u32..=40,
        any::<bool>(),
    )
        .prop_map(|(k, f, exp_min, l, a, wrap)| LnsMacParams {
            exp_bits: k,
            frac_bits: f.min(k).min(l - 1),
            exp_min,
            table_bits: l,
            acc_bits: a,
            overflow: if wrap {
                Overflow::Wrap
            } else {
                Overflow::Saturate
            },
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: lowbit_tests::cases(6), max_shrink_iters: 16, failure_persistence: lowbit_tests::regressions!("lns.txt"), ..ProptestConfig::default() })]

    #[test]
    fn lns_mac_rtl_matches_model(p in mac_params(), seed in any::<u64>()) {
        check_unit(p, seed, 3000).map_err(TestCaseError::fail)?;
    }
}

/// `expq_dot`'s beats (9 words each), then `idle` idle beats, on `p`'s Verilated RTL,
/// checked against its model at every beat; returns the RTL's `y` per beat and the
/// beats where `y_valid` is high.
fn expq_run(p: &ExpqDotParams, stimulus: &[u64], idle: usize) -> (Vec<u64>, Vec<usize>) {
    let mut stimulus = stimulus.to_vec();
    stimulus.extend(vec![0u64; 9 * idle]);
    let beats = stimulus.len() / 9;
    let dut = verilate(p);
    let mut out = vec![0u64; 2 * beats];
    dut.instance().unwrap().run(&stimulus, &mut out);
    let mut model = p.model().unwrap();
    cosim(&dut, model.as_mut(), &stimulus, &CosimOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let y = out.iter().step_by(2).copied().collect();
    let valid = (0..beats).filter(|b| out[2 * b + 1] == 1).collect();
    (y, valid)
}

/// docs/log-domain.md's worked case on the RTL: b = 2, weights (+,1), (-,2), (+,0) with
/// activations (+,2), (+,0), (+,1): counters c3 = +1, c2 = -1, c1 = +1, y = 8 - 4 + 2 = 6.
#[test]
fn expq_dot_worked_case_on_the_rtl() {
    let p = ExpqDotParams {
        frac_bits: 0,
        k_max: 3,
        ..ExpqDotParams::default()
    };
    // rst, in_valid, flush, sw, zw, ew, sa, za, ea; the last pair comes with flush.
    let stimulus = [
        [0u64, 1, 0, 0, 0, 1, 0, 0, 2],
        [0, 1, 0, 1, 0, 2, 0, 0, 0],
        [0, 1, 1, 0, 0, 0, 0, 0, 1],
    ]
    .concat();
    let (y, valid) = expq_run(&p, &stimulus, 19);
    // 15 counters walked after the flush beat (beat 2), two walk stages: y valid in
    // beat 2 + 18.
    assert_eq!(p.latency(), 18);
    assert_eq!(valid, vec![20]);
    assert_eq!(y[20], 6);
    assert_eq!(y[21], 6, "y holds");
}

/// Issue 21's offset case on the RTL: b = 2, alpha 1, beta 0.5 on both operands, pairs
/// (0, 0) and (1, 0): 1.5 * 1.5 + 2.5 * 1.5 = 6.0, 24 at 2 fractional bits (the exponent
/// sums alone would give 3).
#[test]
fn expq_dot_offset_worked_case_on_the_rtl() {
    let p = ExpqDotParams {
        exp_bits: 1,
        frac_bits: 2,
        k_max: 2,
        offset_w: "0.5".parse().unwrap(),
        offset_a: "0.5".parse().unwrap(),
        ..ExpqDotParams::default()
    };
    // rst, in_valid, flush, sw, zw, ew, sa, za, ea; the second pair comes with flush.
    let stimulus = [[0u64, 1, 0, 0, 0, 0, 0, 0, 0], [0, 1, 1, 0, 0, 1, 0, 0, 0]].concat();
    let (y, valid) = expq_run(&p, &stimulus, 14);
    // 3 exponent sums, 2 + 2 exponent counters and the sign counter walked, two walk
    // stages: y valid 11 beats after the flush beat (beat 1).
    assert_eq!(p.latency(), 11);
    assert_eq!(valid, vec![12]);
    assert_eq!(y[12], 24);
}

/// docs/log-domain.md's worked case in one beat of `--lanes 4` (the fourth lane's zero
/// flag set): the same counters and y = 6, 18 cycles after the one beat.
#[test]
fn expq_dot_worked_case_in_one_multi_lane_beat() {
    let p = ExpqDotParams {
        frac_bits: 0,
        k_max: 3,
        lanes: 4,
        ..ExpqDotParams::default()
    };
    // Lanes 0..3 of (sw, zw, ew, sa, za, ea): (+,1)(+,2), (-,2)(+,0), (+,0)(+,1), zero.
    let field = |v: [u64; 4], w: u32| {
        v.iter()
            .enumerate()
            .map(|(l, x)| x << (l as u32 * w))
            .sum::<u64>()
    };
    let beat = [
        0,
        1,
        1,
        field([0, 1, 0, 0], 1),
        field([0, 0, 0, 1], 1),
        field([1, 2, 0, 0], 3),
        field([0, 0, 0, 0], 1),
        field([0, 0, 0, 0], 1),
        field([2, 0, 1, 0], 3),
    ];
    let (y, valid) = expq_run(&p, &beat, 20);
    assert_eq!(p.latency(), 18);
    assert_eq!(valid, vec![18]);
    assert_eq!(y[18], 6);
}

fn expq_params() -> impl Strategy<Value = ExpqDotParams> {
    let base = prop::sample::select(vec!["2", "1.5", "1.1892", "3", "1.25", "16"]);
    let offset = prop::sample::select(vec!["0", "0", "0.5", "0.25", "1", "0.3", "2.75"]);
    (
        1u32..=4,
        base,
        -6i32..=3,
        0u32..=12,
        1u32..=300,
        any::<bool>(),
        (offset.clone(), offset),
        prop::sample::select(vec![1u32, 1, 2, 3, 4, 7, 16]),
    )
        .prop_map(
            |(exp_bits, base, exp_min, frac_bits, k_max, wider, (ow, oa), lanes)| {
                let mut p = ExpqDotParams {
                    exp_bits,
                    base: base.parse().unwrap(),
                    exp_min,
                    frac_bits,
                    k_max,
                    out_bits: None,
                    offset_w: ow.parse().unwrap(),
                    offset_a: oa.parse().unwrap(),
                    lanes,
                };
                if wider {
                    p.out_bits = Some((p.min_out_bits() + 3).min(96));
                }
                p
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: lowbit_tests::cases(6), max_shrink_iters: 16, failure_persistence: lowbit_tests::regressions!("lns.txt"), ..ProptestConfig::default() })]

    #[test]
    fn expq_dot_rtl_matches_model(p in expq_params(), seed in any::<u64>()) {
        prop_assume!(p.validate().is_ok());
        check_unit(p, seed, 4000).map_err(TestCaseError::fail)?;
    }
}

/// Every 12-bit input of three quantizers (base 2, base 1.5 with alpha 0.75, base 1.1892
/// with levels above the input range), RTL thresholds against the model's exact
/// nearest-level search.
#[test]
fn expq_quant_exhaustive_12_bit_inputs() {
    for (exp_bits, base, alpha, exp_min, in_frac) in [
        (3, "2", "1", -4, 6),
        (2, "1.5", "0.75", -1, 4),
        (5, "1.1892", "3.2", 2, 0),
    ] {
        let p: ExpqQuantParams = ExpqQuantParams {
            in_bits: 12,
            in_frac,
            exp_bits,
            base: base.parse().unwrap(),
            alpha: alpha_of(alpha),
            exp_min,
        };
        let mut stimulus: Vec<u64> = (0..1u64 << 12).flat_map(|x| [0, 1, x]).collect();
        stimulus.extend([0, 0, 0]);
        let dut = verilate(&p);
        let mut model = p.model().unwrap();
        let stats = cosim(&dut, model.as_mut(), &stimulus, &CosimOptions::default())
            .unwrap_or_else(|e| panic!("{p:?}: {e}"));
        assert_eq!(stats.beats, (1 << 12) + 1);
    }
}

fn alpha_of(text: &str) -> model::expq::Scale {
    model::expq::parse_scale(text).unwrap()
}

fn quant_params() -> impl Strategy<Value = ExpqQuantParams> {
    let base = prop::sample::select(vec!["2", "1.5", "1.1892", "3", "16"]);
    let alpha = prop::sample::select(vec!["1", "0.75", "3.2", "0.001"]);
    (2u32..=32, 0u32..=32, 1u32..=6, base, alpha, -20i32..=20).prop_map(
        |(in_bits, in_frac, exp_bits, base, alpha, exp_min)| ExpqQuantParams {
            in_bits,
            in_frac: in_frac.min(in_bits),
            exp_bits,
            base: base.parse().unwrap(),
            alpha: alpha_of(alpha),
            exp_min,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: lowbit_tests::cases(6), max_shrink_iters: 16, failure_persistence: lowbit_tests::regressions!("lns.txt"), ..ProptestConfig::default() })]

    #[test]
    fn expq_quant_rtl_matches_model(p in quant_params(), seed in any::<u64>()) {
        prop_assume!(p.validate().is_ok());
        check_unit(p, seed, 3000).map_err(TestCaseError::fail)?;
    }
}
