//! Block floating point units against their models: docs/bfp.md's worked cases on
//! the RTL itself, and property tests over parameters and random blocks.

use lowbit_tests::{check_unit, verilate};
use model::bfp::{BfpAddParams, BfpQuantParams, BfpRounding, ExpRule};
use model::iface::{get_field, set_field};
use model::int;
use model::UnitParams;
use proptest::prelude::*;
use sim::{cosim, CosimOptions};

/// Convert one block on the RTL (one beat, all lanes) and return `(e, q)`; the same
/// stream is also co-simulated against the model.
fn convert_on_rtl(p: BfpQuantParams, x: &[f32]) -> (i64, Vec<i64>) {
    assert_eq!(p.lanes(), p.block);
    let iface = p.interface();
    let dut = verilate(&p);
    // Beat 0: the block (rst = 0, in_valid = 1, x); beat 1: idle, outputs show it.
    let xw = iface.port("x").unwrap().words();
    let mut stimulus = vec![0u64; 2 * iface.in_words()];
    stimulus[1] = 1;
    for (i, v) in x.iter().enumerate() {
        set_field(
            &mut stimulus[2..2 + xw],
            32 * i as u32,
            32,
            u64::from(v.to_bits()),
        );
    }
    let mut out = vec![0u64; 2 * iface.out_words()];
    dut.instance().unwrap().run(&stimulus, &mut out);
    let mut model = p.model().unwrap();
    cosim(&dut, model.as_mut(), &stimulus, &CosimOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let o = &out[iface.out_words()..];
    let (e_port, q_port) = (iface.port("e").unwrap(), iface.port("q").unwrap());
    let e = int::from_bits(u128::from(o[0]), e_port.width, true) as i64;
    let qw = &o[1..1 + q_port.words()];
    let q = (0..p.block)
        .map(|i| {
            int::from_bits(
                u128::from(get_field(qw, i * p.mant_bits, p.mant_bits)),
                p.mant_bits,
                true,
            ) as i64
        })
        .collect();
    assert_eq!(o[o.len() - 1], 1, "out_valid one cycle after the block");
    (e, q)
}

fn hbfp4(block: u32, rounding: BfpRounding) -> BfpQuantParams {
    BfpQuantParams {
        block,
        mant_bits: 4,
        rounding,
        ..BfpQuantParams::default()
    }
}

#[test]
fn spec_worked_cases_on_the_rtl() {
    let x = [1.5, -0.3, 0.05, 0.9];
    assert_eq!(
        convert_on_rtl(hbfp4(4, BfpRounding::Rne), &x),
        (-2, vec![6, -1, 0, 4])
    );
    assert_eq!(convert_on_rtl(hbfp4(4, BfpRounding::Rz), &x).1[3], 3);
    assert_eq!(
        convert_on_rtl(hbfp4(2, BfpRounding::Rne), &[1.0, 0.3]),
        (-2, vec![4, 1])
    );
    assert_eq!(
        convert_on_rtl(hbfp4(3, BfpRounding::Rne), &[1.5, 0.375, 0.625]).1,
        vec![6, 2, 2]
    );
    assert_eq!(
        convert_on_rtl(hbfp4(4, BfpRounding::Rne), &[0.5, 0.5, -1.0, 0.25]),
        (-2, vec![2, 2, -4, 1])
    );
    assert_eq!(
        convert_on_rtl(hbfp4(2, BfpRounding::Rne), &[1.99, 0.5]),
        (-2, vec![7, 2])
    );
    // docs/bfp.md, "Two exponent rules": the HBFP emulator's ceil rule puts [1.0, 0.3]
    // one binade lower, where 1.0 saturates at 7/8; a largest value that is not a power
    // of two gets the same block from both rules.
    let hbfp = |block, rounding| BfpQuantParams {
        exp_rule: ExpRule::Hbfp,
        ..hbfp4(block, rounding)
    };
    assert_eq!(
        convert_on_rtl(hbfp(2, BfpRounding::Rne), &[1.0, 0.3]),
        (-3, vec![7, 2])
    );
    assert_eq!(
        convert_on_rtl(hbfp(4, BfpRounding::Rz), &[-2.0, 0.3, 2.0, 0.0]),
        (-2, vec![-7, 1, 7, 0])
    );
    assert_eq!(
        convert_on_rtl(hbfp(2, BfpRounding::Rne), &[1.99, 0.5]),
        (-2, vec![7, 2])
    );
}

fn quant_params() -> impl Strategy<Value = BfpQuantParams> {
    let shape = prop_oneof![1u32..=8, Just(12u32), Just(16u32)].prop_flat_map(|block| {
        let divisors: Vec<u32> = (1..=block).filter(|d| block.is_multiple_of(*d)).collect();
        (Just(block), prop::sample::select(divisors))
    });
    let rounding = prop_oneof![
        Just(BfpRounding::Rne),
        Just(BfpRounding::Rz),
        Just(BfpRounding::Sr)
    ];
    // Sometimes a mixed-mantissa unit: random narrower widths beside --mant.
    let rule = prop_oneof![Just(ExpRule::Mx), Just(ExpRule::Hbfp)];
    (
        shape,
        2u32..=8,
        9u32..=16,
        rounding,
        1u32..=16,
        any::<u8>(),
        rule,
    )
        .prop_map(
            |((block, lanes), mant_bits, exp_bits, rounding, rnd_bits, pick, exp_rule)| {
                let narrower: Vec<String> = (2..mant_bits)
                    .filter(|w| pick >> w & 1 == 1)
                    .map(|w| w.to_string())
                    .collect();
                let modes = if pick & 1 == 1 && !narrower.is_empty() {
                    Some(
                        format!("{},{mant_bits}", narrower.join(","))
                            .parse()
                            .unwrap(),
                    )
                } else {
                    None
                };
                BfpQuantParams {
                    block,
                    mant_bits,
                    exp_bits,
                    rounding,
                    rnd_bits,
                    lanes: Some(lanes),
                    modes,
                    exp_rule,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: lowbit_tests::cases(8), max_shrink_iters: 16, failure_persistence: lowbit_tests::regressions!("bfp.txt"), ..ProptestConfig::default() })]

    #[test]
    fn bfp_quant_rtl_matches_model(p in quant_params(), seed in any::<u64>()) {
        check_unit(p, seed, 3000).map_err(TestCaseError::fail)?;
    }
}

/// The widest blocks, whole and in lanes, every run.
#[test]
fn bfp_quant_wide_blocks_match_model() {
    for (lanes, rounding) in [(64, BfpRounding::Rne), (8, BfpRounding::Sr)] {
        let p = BfpQuantParams {
            block: 64,
            lanes: Some(lanes),
            rounding,
            ..BfpQuantParams::default()
        };
        check_unit(p, u64::from(lanes), 2000).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Stimulus records for `bfp_add` with n = 2: every (qa, qb) pair for each exponent pair.
fn add_exhaustive_stimulus(p: &BfpAddParams, exps: &[(i64, i64)], seed: u64) -> Vec<u64> {
    let iface = p.interface();
    let mut rng = lowbit_tests::Rng::new(seed);
    let m = p.mant_bits;
    let mut s = Vec::new();
    for &(ea, eb) in exps {
        for qa in 0..1u64 << (2 * m) {
            for qb in 0..1u64 << (2 * m) {
                s.extend([
                    0,
                    1,
                    int::to_bits(ea.into(), p.exp_bits) as u64,
                    qa,
                    int::to_bits(eb.into(), p.exp_bits) as u64,
                    qb,
                ]);
                if iface.port("rnd").is_some() {
                    s.push(rng.next_u64() & ((1 << (4 * p.rnd_bits)) - 1));
                }
            }
        }
    }
    s
}

#[test]
fn bfp_add_exhaustive_n2_m4() {
    // Exponent pairs: equal, each side larger by 1..=5 and by far, and at the top of the
    // exponent range (where the sum clamps instead of renormalising).
    let exps = [
        (0, 0),
        (1, 0),
        (0, 1),
        (2, 0),
        (0, 3),
        (4, 0),
        (0, 5),
        (7, -9),
        (-300, 200),
        (511, 511),
        (511, 509),
    ];
    for rounding in [BfpRounding::Rne, BfpRounding::Rz, BfpRounding::Sr] {
        let p = BfpAddParams {
            block: 2,
            mant_bits: 4,
            rounding,
            rnd_bits: 4,
            ..BfpAddParams::default()
        };
        let dut = verilate(&p);
        let mut model = p.model().unwrap();
        let stimulus = add_exhaustive_stimulus(&p, &exps, 3);
        let stats = cosim(&dut, model.as_mut(), &stimulus, &CosimOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stats.beats, exps.len() as u64 * (1 << 16));
    }
}

#[test]
fn bfp_add_worked_case_on_the_rtl() {
    // exp 0 [6, -7, 1] + exp -1 [3, -1, 7]: aligned [2, 0, 4], sums [8, -7, 5], one
    // renormalising shift: exp 1 [4, -4, 2] (ties to even).
    let p = BfpAddParams {
        block: 3,
        ..BfpAddParams::default()
    };
    let pack = |q: [i64; 3]| {
        q.iter().enumerate().fold(0u64, |acc, (i, v)| {
            acc | (int::to_bits((*v).into(), 4) as u64) << (4 * i)
        })
    };
    let stimulus = vec![
        0,
        1,
        0,
        pack([6, -7, 1]),
        int::to_bits(-1, 10) as u64,
        pack([3, -1, 7]),
        0,
        0,
        0,
        0,
        0,
        0,
    ];
    let dut = verilate(&p);
    let mut out = vec![0u64; 6];
    dut.instance().unwrap().run(&stimulus, &mut out);
    assert_eq!(&out[3..], &[1, pack([4, -4, 2]), 1]);
}

fn add_params() -> impl Strategy<Value = BfpAddParams> {
    let rounding = prop_oneof![
        Just(BfpRounding::Rne),
        Just(BfpRounding::Rz),
        Just(BfpRounding::Sr)
    ];
    (1u32..=16, 2u32..=8, 2u32..=16, rounding, 1u32..=16).prop_map(
        |(block, mant_bits, exp_bits, rounding, rnd_bits)| BfpAddParams {
            block,
            mant_bits,
            exp_bits,
            rounding,
            rnd_bits,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: lowbit_tests::cases(6), max_shrink_iters: 16, failure_persistence: lowbit_tests::regressions!("bfp.txt"), ..ProptestConfig::default() })]

    #[test]
    fn bfp_add_rtl_matches_model(p in add_params(), seed in any::<u64>()) {
        check_unit(p, seed, 3000).map_err(TestCaseError::fail)?;
    }
}

/// A mixed-mantissa converter (`--mant 6 --modes 4,6`) in 4-bit mode gives the outputs
/// of a converter built with `--mant 4`, its 4-bit mantissas sign-extended to 6 bits;
/// in 6-bit mode those of `--mant 6`. RTL against RTL.
#[test]
fn mixed_mantissa_modes_equal_the_fixed_units() {
    let modes: model::bfp::Modes = "4,6".parse().unwrap();
    // RNE and SR (the one with random bits); RZ mixed units are in the property tests.
    for rounding in [BfpRounding::Rne, BfpRounding::Sr] {
        let mixed = BfpQuantParams {
            block: 8,
            lanes: Some(4),
            mant_bits: 6,
            rounding,
            modes: Some(modes),
            ..BfpQuantParams::default()
        };
        let mixed_rtl = verilate(&mixed);
        for (mode, width) in [(0u64, 4u32), (1, 6)] {
            let fixed = BfpQuantParams {
                mant_bits: width,
                modes: None,
                ..mixed
            };
            let fixed_iface = fixed.interface();
            let stimulus = lowbit_tests::random_stimulus(&fixed_iface, 4000, 11 + mode);
            // The same beats with the mode appended (it is the mixed unit's last input).
            let iw = fixed_iface.in_words();
            let mixed_stimulus: Vec<u64> = stimulus
                .chunks(iw)
                .flat_map(|b| b.iter().copied().chain([mode]))
                .collect();
            let mut fixed_out = vec![0u64; 4000 * fixed_iface.out_words()];
            verilate(&fixed)
                .instance()
                .unwrap()
                .run(&stimulus, &mut fixed_out);
            let mut mixed_out = vec![0u64; 4000 * mixed.interface().out_words()];
            mixed_rtl
                .instance()
                .unwrap()
                .run(&mixed_stimulus, &mut mixed_out);
            // Outputs per beat: e, q (one word each here), inv, out_valid.
            let mut valid_blocks = 0;
            for (beat, (f, x)) in fixed_out.chunks(4).zip(mixed_out.chunks(4)).enumerate() {
                assert_eq!(
                    (f[0], f[2], f[3]),
                    (x[0], x[2], x[3]),
                    "{rounding:?} mode {mode}: e/inv/out_valid at beat {beat}"
                );
                for i in 0..8 {
                    let narrow = int::from_bits(
                        u128::from(get_field(&f[1..2], i * width, width)),
                        width,
                        true,
                    );
                    let wide = int::from_bits(u128::from(get_field(&x[1..2], i * 6, 6)), 6, true);
                    assert_eq!(
                        narrow, wide,
                        "{rounding:?} mode {mode}: q[{i}] at beat {beat}"
                    );
                }
                valid_blocks += f[3];
            }
            assert!(
                valid_blocks > 100,
                "the comparison covered {valid_blocks} blocks"
            );
        }
        // And the mixed unit against its own model, with the mode changing at random.
        check_unit(mixed, 5, 3000).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// `bfp_dot` with each block over several beats, where the binary32 conversion and the
/// accumulation take extra cycles (`conversion_stages`, `accumulation_stages`): blocks
/// back to back and with gaps, clears, and resets that drop a block in the adder and a
/// partly received one. On the RTL (co-simulated against the model, linted, synthesized)
/// every result comes `latency()` cycles after its block's last beat, and the results
/// are those of the one-beat unit fed the same blocks: the multi-cycle loop changes the
/// timing only.
#[test]
fn bfp_dot_blocks_over_several_beats_keep_their_results() {
    use lowbit_tests::{check_unit_with, Rng};
    use model::bfp::BfpDotParams;

    /// What the test feeds: a block (per-beat lane words of qa and qb, exponents,
    /// clear), idle cycles, or a reset.
    enum Event {
        Block(Vec<(u64, u64)>, u64, u64, bool),
        Idle(usize),
        Reset,
    }
    for (block, lanes) in [(4, 2), (16, 4), (32, 8), (16, 1)] {
        let p = BfpDotParams {
            block,
            lanes: Some(lanes),
            ..BfpDotParams::default()
        };
        let whole = BfpDotParams { lanes: None, ..p };
        assert!(p.accumulation_stages() > 0, "{p:?}");
        let (m, w, beats) = (p.mant_bits, p.exp_bits, p.beats_per_block() as usize);
        let lane_bits = m * lanes;
        let mask = |bits: u32| {
            if bits == 64 {
                u64::MAX
            } else {
                (1 << bits) - 1
            }
        };
        let mut rng = Rng::new(u64::from(block * 100 + lanes));
        let mut events = vec![Event::Reset];
        for i in 0..300 {
            if i % 97 == 50 {
                events.push(Event::Reset);
            }
            // Mostly near one, now and then far enough out to flush or saturate.
            let e = |rng: &mut Rng| {
                let near = i128::from(rng.next_u64() % 40) - 20;
                let far = i128::from(400 + rng.next_u64() % 100);
                let x = match rng.next_u64() % 32 {
                    0 => far,
                    1 => -far,
                    _ => near,
                };
                int::to_bits(x, w) as u64
            };
            let words = (0..beats)
                .map(|_| {
                    (
                        rng.next_u64() & mask(lane_bits),
                        rng.next_u64() & mask(lane_bits),
                    )
                })
                .collect();
            let (ea, eb) = (e(&mut rng), e(&mut rng));
            events.push(Event::Block(words, ea, eb, i % 23 == 0 || rng.one_in(17)));
            if rng.one_in(4) {
                events.push(Event::Idle(
                    (rng.next_u64() % (2 * beats as u64 + 2)) as usize,
                ));
            }
        }
        // A reset while a block is in the adder, another after a partial block.
        events.insert(100, Event::Reset);
        events.insert(200, Event::Idle(2));
        events.insert(201, Event::Reset);
        // Beats: rst, in_valid, clear, ea, qa, eb, qb (one word each here).
        let beat = |rst: bool, valid: bool, clear: bool, ea: u64, qa: u64, eb: u64, qb: u64| {
            [rst as u64, valid as u64, clear as u64, ea, qa, eb, qb]
        };
        // The serial stream, and what the one-beat unit sees: each kept block as one
        // beat (with the cycle of its last beat in the serial stream), or a reset.
        let mut serial = Vec::new();
        let mut kept: Vec<Option<(Vec<u64>, usize)>> = Vec::new();
        // A one-beat block for the one-beat unit, whose qa and qb may take two words.
        let words = whole.interface().port("qa").unwrap().words();
        let whole_beat = |clear: bool, ea: u64, qa: u128, eb: u64, qb: u128| {
            let split = |q: u128| [q as u64, (q >> 64) as u64];
            let mut b = vec![0, 1, clear as u64, ea];
            b.extend(&split(qa)[..words]);
            b.push(eb);
            b.extend(&split(qb)[..words]);
            b
        };
        for (k, ev) in events.iter().enumerate() {
            match ev {
                Event::Block(words, ea, eb, clear) => {
                    let (mut qa, mut qb) = (0u128, 0u128);
                    // A block right before the partial-block reset loses its last beat.
                    let partial = beats > 1
                        && matches!(events.get(k + 1), Some(Event::Idle(2)))
                        && matches!(events.get(k + 2), Some(Event::Reset));
                    let sent = if partial { beats - 1 } else { beats };
                    for (j, (a, b)) in words.iter().enumerate().take(sent) {
                        serial.extend(beat(false, true, *clear, *ea, *a, *eb, *b));
                        qa |= u128::from(*a) << (lane_bits as usize * j);
                        qb |= u128::from(*b) << (lane_bits as usize * j);
                    }
                    if !partial {
                        let one = whole_beat(*clear, *ea, qa, *eb, qb);
                        kept.push(Some((one, serial.len() / 7 - 1)));
                    }
                }
                Event::Idle(n) => {
                    for _ in 0..*n {
                        serial.extend(beat(false, false, false, 0, 0, 0, 0));
                    }
                }
                Event::Reset => {
                    // Blocks whose results are not out yet are dropped with the reset.
                    let now = serial.len() / 7;
                    kept.retain(|b| {
                        b.as_ref()
                            .is_none_or(|(_, c)| c + p.latency() as usize <= now)
                    });
                    kept.push(None);
                    serial.extend(beat(true, false, false, 0, 0, 0, 0));
                }
            }
        }
        for _ in 0..p.latency() + 2 {
            serial.extend(beat(false, false, false, 0, 0, 0, 0));
        }
        let idle = whole_beat(false, 0, 0, 0, 0)
            .iter()
            .enumerate()
            .map(|(i, v)| if i == 1 { 0 } else { *v })
            .collect::<Vec<_>>();
        let mut reset = idle.clone();
        reset[0] = 1;
        let mut reference = Vec::new();
        let mut last_beats = Vec::new();
        for b in &kept {
            match b {
                Some((one, c)) => {
                    // Out before anything that follows, a reset included.
                    reference.extend(one);
                    for _ in 0..whole.latency() {
                        reference.extend(&idle);
                    }
                    last_beats.push(*c);
                }
                None => reference.extend(&reset),
            }
        }
        // Check the two reset cases happened as meant: the in-flight one dropped a block.
        assert!(
            last_beats.len() < 300 && last_beats.len() > 250,
            "{}",
            last_beats.len()
        );

        // The one-beat unit's results, in order (its model: one beat, three cycles).
        let mut model = whole.model().unwrap();
        let mut want = Vec::new();
        let mut o = [0u64; 4];
        for b in reference.chunks(idle.len()) {
            model.step(b, &mut o);
            if o[3] == 1 {
                want.push((o[0], o[1], o[2]));
            }
        }
        // The serial unit on the RTL.
        let dut = verilate(&p);
        let cycles = serial.len() / 7;
        let mut out = vec![0u64; 4 * cycles];
        dut.instance().unwrap().run(&serial, &mut out);
        let mut got = Vec::new();
        let mut at = Vec::new();
        for (t, o) in out.chunks(4).enumerate() {
            if o[3] == 1 {
                got.push((o[0], o[1], o[2]));
                at.push(t);
            }
        }
        let expect_at: Vec<usize> = last_beats
            .iter()
            .map(|c| c + p.latency() as usize)
            .collect();
        assert_eq!(at, expect_at, "{p:?}: out_valid cycles");
        if let Some(i) = (0..got.len().min(want.len())).find(|&i| got[i] != want[i]) {
            panic!(
                "{p:?}: result {i} (block ending at cycle {}): {:x?} want {:x?}, before {:x?}",
                last_beats[i],
                got[i],
                want[i],
                &want[i.saturating_sub(2)..i]
            );
        }
        assert_eq!(got, want, "{p:?}: results");
        let flagged = |i: usize| want.iter().filter(|r| [r.1, r.2][i] == 1).count();
        assert!(flagged(0) > 0 && flagged(1) > 0, "uf and of both seen");
        check_unit_with(p, &serial).unwrap_or_else(|e| panic!("{e}"));
    }
}
