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

// ---------------------------------------------------------------------------------
// `rangebn`, the normalisation unit behind `range-stats`.

use model::iface::set_field;
use model::rangebn::norm::Stats as BnStats;
use model::rangebn::{c_of_n, RangeBn, RangeBnParams};

/// The statistics of `batch` (values in beat order since a clear) by the range-stats
/// cycle model.
fn stats_of(p: &RangeStatsParams, batch: &[i64]) -> Vec<BnStats> {
    let mut u = RangeStats::new(*p).unwrap();
    for (i, &x) in batch.iter().enumerate() {
        u.beat(i == 0, x);
    }
    u.stats()
        .iter()
        .map(|s| BnStats {
            sum: s.sum,
            count: s.count,
            range_sum: s.range_sum,
            chunks: s.chunks,
        })
        .collect()
}

/// The documented bound on |y - y_exact| in units of y's last bit (docs/rangebn.md):
/// 1/2 for the final rounding, plus 2^G (|x - mean| dr + 2^-(A+1) r) for the mean's
/// rounding and the reciprocal's error dr = 2^-(P-1) + 2^-(B+1) range / (s_q s).
fn bound(q: &RangeBnParams, s: &BnStats, x: i64) -> f64 {
    let range = s.range_sum as f64 / s.chunks as f64;
    let se = c_of_n(q.stats.chunk) * range + f64::from(q.eps);
    let sq = q.divisor(s) as f64 / (s.chunks as f64 * 2f64.powi(q.cn_bits as i32));
    let mean = s.sum as f64 / s.count as f64;
    let r = q.recip(s) as f64 / 2f64.powi(q.recip_bits as i32 - 1);
    let dr =
        2f64.powi(1 - q.recip_bits as i32) + 2f64.powi(-(q.cn_bits as i32) - 1) * range / (sq * se);
    let g = 2f64.powi(q.out_frac as i32);
    0.5 + g * ((x as f64 - mean).abs() * dr + 2f64.powi(-(q.mean_frac as i32) - 1) * r) + 1e-6
}

/// y exactly, in units of y's last bit, clamped to the output range.
fn y_exact(q: &RangeBnParams, s: &BnStats, x: i64) -> f64 {
    let range = s.range_sum as f64 / s.chunks as f64;
    let scale = c_of_n(q.stats.chunk) * range + f64::from(q.eps);
    let mean = s.sum as f64 / s.count as f64;
    let y = (x as f64 - mean) / scale * 2f64.powi(q.out_frac as i32);
    let lim = 2f64.powi(q.out_bits as i32 - 1);
    y.clamp(-lim, lim - 1.0)
}

fn bn_params() -> Vec<RangeBnParams> {
    let st = |in_bits, channels, chunk, max_chunks| RangeStatsParams {
        in_bits,
        channels,
        chunk,
        max_chunks,
    };
    let d = RangeBnParams::default();
    vec![
        d,
        RangeBnParams {
            stats: st(8, 3, 8, 16),
            in_frac: 4,
            ..d
        },
        RangeBnParams {
            stats: st(12, 2, 5, 7),
            in_frac: 6,
            out_bits: 12,
            out_frac: 8,
            cn_bits: 10,
            eps: 3,
            mean_frac: 4,
            recip_bits: 20,
        },
        RangeBnParams {
            stats: st(32, 1, 256, 65536),
            in_frac: 16,
            out_bits: 16,
            out_frac: 12,
            cn_bits: 24,
            eps: 100,
            mean_frac: 8,
            recip_bits: 32,
        },
    ]
}

fn random_batch(rng: &mut Rng, q: &RangeBnParams, chunks: u32) -> Vec<i64> {
    let s = q.stats;
    let len =
        (s.channels * s.chunk * chunks + rng.next_u64() as u32 % (s.channels * s.chunk)) as usize;
    // Values around a random centre with a random spread, inside N bits.
    let n = s.in_bits;
    let half = 1i64 << (n - 1);
    let spread = 1i64 << (1 + rng.next_u64() % u64::from(n - 1));
    let centre = (rng.next_u64() % (2 * half as u64)) as i64 - half;
    (0..len)
        .map(|_| {
            let d = (rng.next_u64() % (2 * spread as u64)) as i64 - spread;
            (centre + d).clamp(-half, half - 1)
        })
        .collect()
}

#[test]
fn rangebn_mean_and_reciprocal_are_the_stated_quotients() {
    let mut rng = Rng::new(16);
    for q in bn_params() {
        for _ in 0..200 {
            let chunks = 1 + rng.next_u64() as u32 % 5;
            let batch = random_batch(&mut rng, &q, chunks);
            for s in stats_of(&q.stats, &batch) {
                // mean: 2 count mean <= 2 sum 2^A + count < 2 count (mean + 1).
                let m = i128::from(q.mean(&s));
                let a = (i128::from(s.sum) << (q.mean_frac + 1)) + i128::from(s.count);
                let c2 = 2 * i128::from(s.count);
                assert!(c2 * m <= a && a < c2 * (m + 1), "{q:?} {s:?}: mean {m}");
                // recip: recip D <= chunks 2^(B+P-1) < (recip + 1) D, no saturation.
                let r = u128::from(q.recip(&s));
                let d = u128::from(q.cq()) * u128::from(s.range_sum)
                    + ((u128::from(q.eps) * u128::from(s.chunks)) << q.cn_bits);
                let num = u128::from(s.chunks) << (q.cn_bits + q.recip_bits - 1);
                assert!(r * d <= num && num < (r + 1) * d, "{q:?} {s:?}: recip {r}");
                assert!(!q.degenerate(&s));
            }
        }
    }
}

#[test]
fn rangebn_within_its_error_bound_of_the_exact_formula() {
    let mut rng = Rng::new(17);
    for q in bn_params() {
        let c = q.stats.channels as usize;
        for _ in 0..50 {
            let chunks = 1 + rng.next_u64() as u32 % 6;
            let batch = random_batch(&mut rng, &q, chunks);
            let stats = stats_of(&q.stats, &batch);
            for (i, &x) in batch.iter().enumerate() {
                let s = &stats[i % c];
                let y = q.normalise(x, q.mean(s), q.recip(s)) as f64;
                let (want, b) = (y_exact(&q, s, x), bound(&q, s, x));
                assert!(
                    approx::abs_diff_eq!(y, want, epsilon = b),
                    "{q:?} {s:?} x {x}: y {y}, exact {want}, bound {b}"
                );
            }
        }
    }
}

#[test]
fn rangebn_worked_case() {
    // Q7.8 values, one channel, chunks of 16: 32 values, two chunks, mean 1.5, mean
    // range 4.0. C(16) is 27831 / 2^16; D = 27831 * 2048 + 1 * 2 * 2^16 = 57128960 and
    // recip = floor(2 * 2^39 / D) = 19246. x = 3.0: (3.0 * 4 - 1.5 * 4) * 256 = 1536,
    // 1536 * 19246 / 2^20 = 28.19, so y = 28 (0.875; exactly 1.5 / 1.6690 = 0.8811).
    let q = RangeBnParams::default();
    let s = BnStats {
        sum: 32 * 384,
        count: 32,
        range_sum: 2 * 1024,
        chunks: 2,
    };
    assert_eq!(q.cq(), 27831);
    assert_eq!(q.mean(&s), 1536);
    assert_eq!(q.divisor(&s), 57_128_960);
    assert_eq!(q.recip(&s), 19246);
    assert_eq!(q.normalise(768, 1536, 19246), 28);
    assert_eq!(q.normalise(384, 1536, 19246), 0);
    assert_eq!(q.normalise(-32768, 1536, 19246), -128, "saturates");
    // Degenerate statistics: no chunk, recip 0, y 0.
    let none = BnStats {
        sum: 5,
        count: 1,
        ..BnStats::default()
    };
    assert_eq!(q.recip(&none), 0);
    assert!(q.degenerate(&none));
    assert_eq!(q.mean(&BnStats::default()), 0);
}

/// One rangebn input beat.
#[derive(Clone, Default)]
struct BnIn {
    rst: bool,
    valid: bool,
    clear: bool,
    x: i64,
    load: Option<Vec<BnStats>>,
}

fn bn_stimulus(q: &RangeBnParams, beats: &[BnIn]) -> Vec<u64> {
    let iface = q.interface();
    let iw = iface.in_words();
    let s = q.stats;
    let mut v = vec![0u64; beats.len() * iw];
    let mut ins_at = 0usize;
    // Beat inputs are word-aligned per port in interface order, clock excluded.
    let offsets: Vec<(String, usize)> = {
        let mut at = 0;
        iface
            .beat_inputs()
            .map(|p| {
                let o = (p.name.clone(), at);
                at += p.words();
                o
            })
            .collect()
    };
    let off = |name: &str| offsets.iter().find(|(n, _)| n == name).unwrap().1 as u32 * 64;
    for b in beats {
        let w = &mut v[ins_at..ins_at + iw];
        set_field(w, off("rst"), 1, b.rst.into());
        set_field(w, off("in_valid"), 1, b.valid.into());
        set_field(w, off("clear"), 1, b.clear.into());
        set_field(w, off("x"), s.in_bits, b.x as u64 & mask(s.in_bits));
        if let Some(st) = &b.load {
            set_field(w, off("load"), 1, 1);
            let (sb, cb, rb, kb) = (
                s.sum_bits(),
                s.count_bits(),
                s.range_bits(),
                s.chunks_bits(),
            );
            for (k, t) in st.iter().enumerate() {
                let k = k as u32;
                set_field(w, off("sum") + k * sb, sb, t.sum as u64 & mask(sb));
                set_field(w, off("count") + k * cb, cb, t.count);
                set_field(w, off("range_sum") + k * rb, rb, t.range_sum);
                set_field(w, off("chunks") + k * kb, kb, t.chunks);
            }
        }
        ins_at += iw;
    }
    v
}

/// End to end: range-stats' cycle model sees a random batch, its statistics are
/// loaded into rangebn (model and RTL), and a second pass over the same values comes
/// out normalised within the error bound; the RTL's outputs equal the model's.
#[test]
fn rangebn_end_to_end_after_range_stats() {
    let mut rng = Rng::new(18);
    for q in bn_params() {
        let c = q.stats.channels as usize;
        let batch = random_batch(&mut rng, &q, 4);
        let stats = stats_of(&q.stats, &batch);
        let mut beats = vec![BnIn {
            rst: true,
            ..BnIn::default()
        }];
        beats.push(BnIn {
            load: Some(stats.clone()),
            // A beat during the load uses the reset values: y = 0.
            valid: true,
            x: batch[0],
            ..BnIn::default()
        });
        for _ in 0..q.load_cycles() {
            beats.push(BnIn::default());
        }
        let start = beats.len();
        for (i, &x) in batch.iter().enumerate() {
            beats.push(BnIn {
                valid: true,
                clear: i == 0,
                x,
                ..BnIn::default()
            });
        }
        beats.push(BnIn::default());
        let stim = bn_stimulus(&q, &beats);
        let iface = q.interface();
        let ow = iface.out_words();
        let mut model_out = vec![0u64; beats.len() * ow];
        RangeBn::new(q).unwrap().run(&stim, &mut model_out);
        let mut rtl_out = vec![0u64; beats.len() * ow];
        verilate(&q).instance().unwrap().run(&stim, &mut rtl_out);
        assert_eq!(model_out, rtl_out, "{q:?}: RTL and model");
        let at = |t: usize, name: &str| {
            let o = (t * ow + iface.out_offset(name).unwrap()) * 64;
            get_field(
                &model_out,
                o as u32,
                if name == "y" { q.out_bits } else { 1 },
            )
        };
        assert_eq!(at(2, "y"), 0, "before the load completes");
        assert_eq!(at(start - 1, "ready"), 0, "{q:?}: one cycle early");
        assert_eq!(at(start, "ready"), 1, "{q:?}: ready after the load");
        for (i, &x) in batch.iter().enumerate() {
            let t = start + i + 1;
            let m = q.out_bits;
            let y = get_field(
                &model_out,
                ((t * ow + iface.out_offset("y").unwrap()) * 64) as u32,
                m,
            );
            let y = if y >> (m - 1) == 1 {
                y as i64 - (1i64 << m)
            } else {
                y as i64
            } as f64;
            let s = &stats[i % c];
            let (want, b) = (y_exact(&q, s, x), bound(&q, s, x));
            assert!(
                approx::abs_diff_eq!(y, want, epsilon = b),
                "{q:?} beat {i} x {x}: y {y}, exact {want}, bound {b}"
            );
        }
        assert_eq!(at(beats.len() - 1, "bad_stats"), 0);
    }
}
