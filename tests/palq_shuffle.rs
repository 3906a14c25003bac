//! `palq-shuffle` (docs/palq-shuffle.md) on the RTL: the permutations of issue 17 as
//! plain tests on the Verilated module, and every input of small configurations
//! co-simulated against the model, whose outputs are checked here against the
//! permutation written out by hand; the behavioural reference linted and co-simulated
//! against the model.

use hdl::golden::golden_verilog;
use hdl::Header;
use lowbit_tests::{random_stimulus, scratch, verilate, verilator_lint};
use model::iface::{get_field, set_field};
use model::palq::{PalqShuffleParams, ShuffleKind};
use model::UnitParams;
use sim::{cosim, CosimOptions, Verilated};

fn params(groups: u32, channels: u32, kind: ShuffleKind, bits: u32) -> PalqShuffleParams {
    PalqShuffleParams {
        groups,
        channels,
        kind,
        bits,
    }
}

fn pack(p: &PalqShuffleParams, codes: &[u64]) -> Vec<u64> {
    let mut w = vec![0u64; p.interface().in_words()];
    for (i, &v) in codes.iter().enumerate() {
        set_field(&mut w, p.bits * i as u32, p.bits, v);
    }
    w
}

fn unpack(p: &PalqShuffleParams, words: &[u64]) -> Vec<u64> {
    (0..p.channels)
        .map(|o| get_field(words, p.bits * o, p.bits))
        .collect()
}

/// The RTL's own outputs for one input vector of channel codes.
fn rtl(p: &PalqShuffleParams, codes: &[u64]) -> Vec<u64> {
    let dut = verilate(p);
    let mut out = vec![0u64; p.interface().out_words()];
    dut.instance().unwrap().run(&pack(p, codes), &mut out);
    unpack(p, &out)
}

#[test]
fn channel_shuffle_of_issue_17_on_the_rtl() {
    // G = 2, C = 6: [0, 1, 2, 3, 4, 5] -> [0, 3, 1, 4, 2, 5].
    let p = params(2, 6, ShuffleKind::Channel, 3);
    assert_eq!(rtl(&p, &[0, 1, 2, 3, 4, 5]), [0, 3, 1, 4, 2, 5]);
}

#[test]
fn cyclic_shuffle_of_issue_17_on_the_rtl() {
    // [g0, g1, g2, g3] -> [g1, g2, g3, g0], one channel per group, group g holding g.
    let p = params(4, 4, ShuffleKind::Cyclic, 2);
    assert_eq!(rtl(&p, &[0, 1, 2, 3]), [1, 2, 3, 0]);
    // Groups of two channels move as a whole: channel 2g + r holds 10g + r.
    let p = params(4, 8, ShuffleKind::Cyclic, 6);
    assert_eq!(
        rtl(&p, &[0, 1, 10, 11, 20, 21, 30, 31]),
        [10, 11, 20, 21, 30, 31, 0, 1]
    );
}

/// Output channel o holds input channel `from(o)`, written out per kind.
fn by_hand(kind: ShuffleKind, groups: usize, channels: usize, o: usize) -> usize {
    let per = channels / groups;
    match kind {
        // Output o = r*G + g takes the r-th channel of input group g.
        ShuffleKind::Channel => (o % groups) * per + o / groups,
        // Output group g takes input group g+1 (mod G), same rank.
        ShuffleKind::Cyclic => ((o / per + 1) % groups) * per + o % per,
    }
}

/// Every input vector of small configurations through RTL and model (cosim), and the
/// model's outputs against [`by_hand`].
#[test]
fn small_configurations_exhaustive() {
    let configs = [
        (2, 6, 2),
        (3, 6, 2),
        (1, 6, 2),
        (6, 6, 2),
        (4, 12, 1),
        (3, 12, 1),
        (2, 4, 3),
    ];
    let mut total = 0usize;
    for (groups, channels, bits) in configs {
        for kind in [ShuffleKind::Channel, ShuffleKind::Cyclic] {
            let p = params(groups, channels, kind, bits);
            let n = 1u64 << (bits * channels);
            let mut stimulus = Vec::new();
            for x in 0..n {
                let codes: Vec<u64> = (0..channels)
                    .map(|i| (x >> (bits * i)) & ((1 << bits) - 1))
                    .collect();
                stimulus.extend(pack(&p, &codes));
                let mut m = p.model().unwrap();
                let mut out = vec![0u64; p.interface().out_words()];
                m.step(&pack(&p, &codes), &mut out);
                let y = unpack(&p, &out);
                for (o, &v) in y.iter().enumerate() {
                    let from = by_hand(kind, groups as usize, channels as usize, o);
                    assert_eq!(v, codes[from], "{p:?} x {codes:?} output {o}");
                }
            }
            let dut = verilate(&p);
            let mut model = p.model().unwrap();
            let stats = cosim(&dut, model.as_mut(), &stimulus, &CosimOptions::default())
                .unwrap_or_else(|e| panic!("{p:?}: {e}"));
            assert_eq!(stats.beats as u64, n);
            total += stats.beats as usize;
        }
    }
    assert!(total > 20_000, "{total}");
}

/// The largest configuration: one-hot codes find any misplaced wire.
#[test]
fn largest_configuration_one_hot() {
    for kind in [ShuffleKind::Channel, ShuffleKind::Cyclic] {
        let p = params(16, 256, kind, 8);
        let perm = p.permutation();
        let dut = verilate(&p);
        let mut inst = dut.instance().unwrap();
        let mut out = vec![0u64; p.interface().out_words()];
        for i in 0..256usize {
            let codes: Vec<u64> = (0..256).map(|c| u64::from(c == i) * 0xa5).collect();
            inst.run(&pack(&p, &codes), &mut out);
            let y = unpack(&p, &out);
            let o = perm.iter().position(|&f| f == i).unwrap();
            for (k, &v) in y.iter().enumerate() {
                assert_eq!(v, if k == o { 0xa5 } else { 0 }, "{kind:?} in {i} out {k}");
            }
        }
    }
}

/// The reference (`gen palq-shuffle --golden`) lints clean and equals the model, every
/// input of a small configuration and random inputs of large ones, both kinds.
#[test]
fn reference_matches_the_model() {
    let header = Header {
        generator: "test".into(),
        command: None,
    };
    for (groups, channels, bits, exhaustive) in [
        (2, 6, 2, true),
        (3, 9, 1, true),
        (4, 16, 2, false),
        (16, 256, 8, false),
        (5, 40, 3, false),
    ] {
        for kind in [ShuffleKind::Channel, ShuffleKind::Cyclic] {
            let p = params(groups, channels, kind, bits);
            let top = p.module_name();
            let text = golden_verilog(&p, &header).unwrap();
            let files = vec![(format!("{top}.v"), text.clone())];
            verilator_lint(&scratch(&format!("golden/{top}")), &files, &top)
                .unwrap_or_else(|e| panic!("{e}"));
            let dut = Verilated::build(
                &[(files[0].0.as_str(), text.as_str())],
                &top,
                &p.interface(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let stimulus = if exhaustive {
                (0..1u64 << (bits * channels)).collect()
            } else {
                random_stimulus(&p.interface(), 2000, u64::from(channels))
            };
            let mut model = p.model().unwrap();
            cosim(&dut, model.as_mut(), &stimulus, &CosimOptions::default())
                .unwrap_or_else(|e| panic!("{p:?}: {e}"));
        }
    }
}
