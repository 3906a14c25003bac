//! `range-stats` (docs/rangebn.md) on the RTL and on the model against statistics
//! computed here from scratch after every cycle (the values since the last `clear`,
//! split by channel and cut into chunks), apart from the model's incremental update:
//! random streams with idle cycles, `clear` in the middle (with and without a beat
//! pending in a partial chunk), partial chunks, extreme values, and batches past the
//! capacity K * n where the registers wrap.

use lowbit_tests::{verilate, Rng};
use model::iface::{get_field, CycleModel};
use model::rangebn::{RangeStats, RangeStatsParams};
use model::UnitParams;

/// One cycle of stimulus.
#[derive(Clone, Copy, Debug)]
struct Cycle {
    rst: bool,
    valid: bool,
    clear: bool,
    x: i64,
}

/// The statistics of one channel: (sum, range_sum, chunks, count), wrapped to the
/// port widths (sum as the raw bits of its two's complement).
type Stats = (u64, u64, u64, u64);

fn mask(bits: u32) -> u64 {
    if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// From scratch: the values since the last clear, channel `c` taking every C-th from
/// the `c`-th, its complete chunks of n in order.
fn from_scratch(p: &RangeStatsParams, batch: &[i64]) -> Vec<Stats> {
    let (c, n) = (p.channels as usize, p.chunk as usize);
    (0..c)
        .map(|ch| {
            let vals: Vec<i64> = batch.iter().skip(ch).step_by(c).copied().collect();
            let sum: i128 = vals.iter().map(|&v| i128::from(v)).sum();
            let full = vals.len() / n;
            let ranges: u128 = vals
                .chunks(n)
                .take(full)
                .map(|ck| (ck.iter().max().unwrap() - ck.iter().min().unwrap()) as u128)
                .sum();
            (
                (sum as u64) & mask(p.sum_bits()),
                (ranges as u64) & mask(p.range_bits()),
                (full as u64) & mask(p.chunks_bits()),
                (vals.len() as u64) & mask(p.count_bits()),
            )
        })
        .collect()
}

/// The expected outputs after each cycle (before the first reset: the reset state).
fn expected(p: &RangeStatsParams, cycles: &[Cycle]) -> Vec<(Vec<Stats>, bool)> {
    let mut batch: Vec<i64> = Vec::new();
    let mut out = Vec::new();
    for cy in cycles {
        let mut ov = false;
        if cy.rst {
            batch.clear();
        } else if cy.valid {
            if cy.clear {
                batch.clear();
            }
            batch.push(cy.x);
            ov = true;
        }
        out.push((from_scratch(p, &batch), ov));
    }
    out
}

fn stimulus(p: &RangeStatsParams, cycles: &[Cycle]) -> Vec<u64> {
    let iface = p.interface();
    let mut stim = Vec::new();
    for cy in cycles {
        stim.push(cy.rst as u64);
        stim.push(cy.valid as u64);
        stim.push(cy.clear as u64);
        stim.push((cy.x as u64) & mask(p.in_bits));
    }
    assert_eq!(stim.len(), cycles.len() * iface.in_words());
    stim
}

/// Decode the outputs of each cycle; record `t` shows the state before cycle `t`'s edge,
/// so the state after cycle `t` is in record `t + 1`.
fn decode(p: &RangeStatsParams, out: &[u64]) -> Vec<(Vec<Stats>, bool)> {
    let iface = p.interface();
    let ow = iface.out_words();
    let field = |rec: &[u64], port: &str, bits: u32, ch: u32| {
        let off = iface.out_offset(port).unwrap();
        get_field(&rec[off..], ch * bits, bits)
    };
    out.chunks(ow)
        .map(|rec| {
            let stats = (0..p.channels)
                .map(|ch| {
                    (
                        field(rec, "sum", p.sum_bits(), ch),
                        field(rec, "range_sum", p.range_bits(), ch),
                        field(rec, "chunks", p.chunks_bits(), ch),
                        field(rec, "count", p.count_bits(), ch),
                    )
                })
                .collect();
            (stats, field(rec, "out_valid", 1, 0) == 1)
        })
        .collect()
}

fn value(rng: &mut Rng, bits: u32) -> i64 {
    let (lo, hi) = (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1);
    match rng.next_u64() % 8 {
        0 => lo,
        1 => hi,
        2 => 0,
        3 => -1,
        _ => lo + (rng.next_u64() % (1u64 << bits)) as i64,
    }
}

/// A reset, then random valid and idle cycles, a few clears, another reset, an idle
/// cycle at the end (so the last beat's result is read).
fn random_cycles(p: &RangeStatsParams, len: usize, seed: u64) -> Vec<Cycle> {
    let mut rng = Rng::new(seed);
    let mut v = vec![Cycle {
        rst: true,
        valid: false,
        clear: false,
        x: 0,
    }];
    for i in 0..len {
        let x = value(&mut rng, p.in_bits);
        v.push(Cycle {
            rst: i == len / 2 + 3 && rng.one_in(2),
            valid: !rng.one_in(5),
            clear: rng.one_in(37) || i == len / 3,
            x,
        });
    }
    v.push(Cycle {
        rst: false,
        valid: false,
        clear: false,
        x: 0,
    });
    v
}

fn check(p: &RangeStatsParams, cycles: &[Cycle], on_rtl: bool) {
    let want = expected(p, cycles);
    let stim = stimulus(p, cycles);
    let ow = p.interface().out_words();
    let mut out = vec![0u64; cycles.len() * ow];
    if on_rtl {
        verilate(p).instance().unwrap().run(&stim, &mut out);
    } else {
        let mut m = RangeStats::new(*p).unwrap();
        m.run(&stim, &mut out);
    }
    let got = decode(p, &out);
    let what = if on_rtl { "RTL" } else { "model" };
    for t in 0..cycles.len() - 1 {
        assert_eq!(
            got[t + 1],
            want[t],
            "{what} {p:?}: state after cycle {t} ({:?})",
            cycles[t]
        );
    }
}

fn params() -> Vec<RangeStatsParams> {
    let mk = |in_bits, channels, chunk, max_chunks| RangeStatsParams {
        in_bits,
        channels,
        chunk,
        max_chunks,
    };
    vec![
        RangeStatsParams::default(),
        mk(4, 3, 3, 2),
        mk(8, 1, 5, 3),
        mk(8, 4, 2, 1),
        mk(32, 2, 4, 65536),
        mk(32, 1, 256, 65536),
        mk(12, 5, 7, 4),
        mk(5, 64, 3, 2),
    ]
}

#[test]
fn model_matches_statistics_from_scratch() {
    for (i, p) in params().iter().enumerate() {
        for seed in 0..4 {
            let cycles = random_cycles(p, 1500, 100 * i as u64 + seed);
            check(p, &cycles, false);
        }
    }
}

#[test]
fn rtl_matches_statistics_from_scratch() {
    for (i, p) in params().iter().enumerate() {
        let cycles = random_cycles(p, 1500, 7000 + i as u64);
        check(p, &cycles, true);
    }
}

/// A long batch of extremes past the capacity: every register wraps, and the RTL and
/// the from-scratch values agree on the wrapped bits.
#[test]
fn wraps_past_the_capacity() {
    let p = RangeStatsParams {
        in_bits: 4,
        channels: 2,
        chunk: 2,
        max_chunks: 1,
    };
    let mut cycles = vec![Cycle {
        rst: true,
        valid: false,
        clear: false,
        x: 0,
    }];
    for i in 0..40 {
        cycles.push(Cycle {
            rst: false,
            valid: true,
            clear: false,
            x: if i % 4 < 2 { -8 } else { 7 },
        });
    }
    cycles.push(Cycle {
        rst: false,
        valid: false,
        clear: false,
        x: 0,
    });
    check(&p, &cycles, false);
    check(&p, &cycles, true);
}

/// The docs page's worked case on the RTL: two channels, chunks of 3.
#[test]
fn worked_case_on_the_rtl() {
    let p = RangeStatsParams {
        in_bits: 4,
        channels: 2,
        chunk: 3,
        max_chunks: 4,
    };
    let mut cycles = vec![Cycle {
        rst: true,
        valid: false,
        clear: false,
        x: 0,
    }];
    for x in [1, -8, 5, 7, -2, 0, 4] {
        cycles.push(Cycle {
            rst: false,
            valid: true,
            clear: false,
            x,
        });
    }
    cycles.push(Cycle {
        rst: false,
        valid: false,
        clear: false,
        x: 0,
    });
    let stim = stimulus(&p, &cycles);
    let mut out = vec![0u64; cycles.len() * p.interface().out_words()];
    verilate(&p).instance().unwrap().run(&stim, &mut out);
    let got = decode(&p, &out);
    let last = &got[cycles.len() - 1].0;
    let sum0 = model::int::from_bits(last[0].0.into(), p.sum_bits(), true);
    let sum1 = model::int::from_bits(last[1].0.into(), p.sum_bits(), true);
    assert_eq!((sum0, last[0].1, last[0].2, last[0].3), (8, 7, 1, 4));
    assert_eq!((sum1, last[1].1, last[1].2, last[1].3), (-1, 15, 1, 3));
}
