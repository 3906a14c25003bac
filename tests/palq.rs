//! `palq-pe` (docs/palquant.md) on the model and on the RTL against a computation done
//! here from scratch: every code decoded to its real PalQuant value as an exact fraction
//! (a weight code k is `(2k - (L-1)) / (L-1)`, an activation code j is `j / (L-1)`), the
//! products since the last `clear` summed per group, the sum scaled by `(L-1)^2` (it
//! must come out an integer) and compared with `y`. Random streams with idle beats,
//! clears and resets, dot products up to exactly K products (K of the worst codes
//! among them), codes above L - 1 where L is not a power of two, and issue 17's worked
//! case on the model and on the Verilated RTL.

use lowbit_tests::{verilate, Rng};
use model::iface::{get_field, set_field, CycleModel};
use model::int;
use model::palq::{PalqPe, PalqPeParams};
use model::UnitParams;

/// An exact fraction, reduced, with a positive denominator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Frac(i128, i128);

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}

impl Frac {
    fn new(n: i128, d: i128) -> Frac {
        assert!(d > 0);
        let g = gcd(n, d).max(1);
        Frac(n / g, d / g)
    }
    fn add(self, o: Frac) -> Frac {
        Frac::new(self.0 * o.1 + o.0 * self.1, self.1 * o.1)
    }
    fn mul(self, o: Frac) -> Frac {
        Frac::new(self.0 * o.0, self.1 * o.1)
    }
}

/// The real value of weight code `k` at L levels (also for codes >= L, by the formula).
fn weight(levels: u32, k: u32) -> Frac {
    let m = i128::from(levels) - 1;
    Frac::new(2 * i128::from(k) - m, m)
}

/// The real value of activation code `j` at L levels.
fn activation(levels: u32, j: u32) -> Frac {
    Frac::new(i128::from(j), i128::from(levels) - 1)
}

/// One cycle of stimulus: codes `w[g*P + p]`, `a[g*P + p]`.
#[derive(Clone, Debug)]
struct Cycle {
    rst: bool,
    valid: bool,
    clear: bool,
    w: Vec<u32>,
    a: Vec<u32>,
}

impl Cycle {
    fn idle(p: &PalqPeParams) -> Cycle {
        let n = p.products() as usize;
        Cycle {
            rst: false,
            valid: false,
            clear: false,
            w: vec![0; n],
            a: vec![0; n],
        }
    }
}

/// From scratch: per group, `(L-1)^2` times the real dot product of the codes of the
/// valid beats since the last clear or reset; then `out_valid` for the cycle's beat.
fn expected(p: &PalqPeParams, cycles: &[Cycle]) -> Vec<(Vec<i128>, bool)> {
    let (groups, lanes) = (p.groups as usize, p.lanes as usize);
    let scale = Frac::new((i128::from(p.levels) - 1).pow(2), 1);
    let mut since: Vec<(u32, u32)> = Vec::new(); // (w, a) pairs of every lane, in order
    let mut beats = 0usize;
    let mut out = Vec::new();
    for cy in cycles {
        let mut ov = false;
        if cy.rst {
            since.clear();
            beats = 0;
        } else if cy.valid {
            if cy.clear {
                since.clear();
                beats = 0;
            }
            since.extend(cy.w.iter().copied().zip(cy.a.iter().copied()));
            beats += 1;
            ov = true;
        }
        // The last beat of a dot product may carry fewer than P products (the others
        // with activation 0): at most ceil(K / P) beats.
        assert!(
            beats <= (p.k_max as usize).div_ceil(lanes),
            "the stream stays within K products"
        );
        let n = groups * lanes;
        let ys = (0..groups)
            .map(|g| {
                let mut s = Frac::new(0, 1);
                for beat in since.chunks(n) {
                    for &(k, j) in &beat[g * lanes..(g + 1) * lanes] {
                        s = s.add(weight(p.levels, k).mul(activation(p.levels, j)));
                    }
                }
                let y = s.mul(scale);
                assert_eq!(y.1, 1, "(L-1)^2 times the dot product is an integer");
                y.0
            })
            .collect();
        out.push((ys, ov));
    }
    out
}

fn stimulus(p: &PalqPeParams, cycles: &[Cycle]) -> Vec<u64> {
    let iface = p.interface();
    let (c, n) = (p.code_bits(), p.products());
    let words = (c * n).div_ceil(64) as usize;
    let mut stim = Vec::new();
    for cy in cycles {
        stim.extend([cy.rst as u64, cy.valid as u64, cy.clear as u64]);
        for codes in [&cy.w, &cy.a] {
            let mut v = vec![0u64; words];
            for (i, &x) in codes.iter().enumerate() {
                set_field(&mut v, c * i as u32, c, u64::from(x));
            }
            stim.extend(v);
        }
    }
    assert_eq!(stim.len(), cycles.len() * iface.in_words());
    stim
}

/// Decode each cycle's outputs (record t shows the state after cycle t - 1).
fn decode(p: &PalqPeParams, out: &[u64]) -> Vec<(Vec<i128>, bool)> {
    let iface = p.interface();
    let y = p.out_bits();
    let valid_at = iface.out_offset("out_valid").unwrap();
    out.chunks(iface.out_words())
        .map(|rec| {
            let ys = (0..p.groups)
                .map(|g| int::from_bits(get_field(rec, g * y, y).into(), y, true))
                .collect();
            (ys, rec[valid_at] & 1 == 1)
        })
        .collect()
}

fn run(p: &PalqPeParams, cycles: &[Cycle], on_rtl: bool) -> Vec<(Vec<i128>, bool)> {
    let stim = stimulus(p, cycles);
    let mut out = vec![0u64; cycles.len() * p.interface().out_words()];
    if on_rtl {
        verilate(p).instance().unwrap().run(&stim, &mut out);
    } else {
        PalqPe::new(*p).unwrap().run(&stim, &mut out);
    }
    decode(p, &out)
}

fn check(p: &PalqPeParams, cycles: &[Cycle], on_rtl: bool) {
    let want = expected(p, cycles);
    let got = run(p, cycles, on_rtl);
    let what = if on_rtl { "RTL" } else { "model" };
    for t in 0..cycles.len() - 1 {
        assert_eq!(
            got[t + 1],
            want[t],
            "{what} {p:?}: after cycle {t} ({:?})",
            cycles[t]
        );
    }
}

/// A code for a random stream: mostly in contract (below L), the ends often, and with
/// `raw` any c-bit pattern.
fn code(rng: &mut Rng, p: &PalqPeParams, raw: bool) -> u32 {
    let top = if raw { p.code_max() } else { p.levels - 1 };
    match rng.next_u64() % 4 {
        0 => 0,
        1 => top,
        _ => (rng.next_u64() % u64::from(top + 1)) as u32,
    }
}

/// A reset, random valid and idle cycles, clears (forced where the next beat would pass
/// K products), a reset in the middle, an idle cycle at the end.
fn random_cycles(p: &PalqPeParams, len: usize, seed: u64, raw: bool) -> Vec<Cycle> {
    let mut rng = Rng::new(seed);
    let n = p.products() as usize;
    let mut v = vec![Cycle {
        rst: true,
        ..Cycle::idle(p)
    }];
    let mut beats = 0u64;
    let max_beats = u64::from(p.k_max / p.lanes);
    for i in 0..len {
        let rst = i == len / 2 && rng.one_in(2);
        let valid = !rng.one_in(5) && max_beats > 0;
        let mut clear = rng.one_in(29) || i == len / 3;
        if valid && !clear && beats + 1 > max_beats {
            clear = true;
        }
        if rst {
            beats = 0;
        } else if valid {
            beats = if clear { 1 } else { beats + 1 };
        }
        v.push(Cycle {
            rst,
            valid,
            clear,
            w: (0..n).map(|_| code(&mut rng, p, raw)).collect(),
            a: (0..n).map(|_| code(&mut rng, p, raw)).collect(),
        });
    }
    v.push(Cycle::idle(p));
    v
}

fn params() -> Vec<PalqPeParams> {
    let mk = |groups, lanes, levels, k_max| PalqPeParams {
        groups,
        lanes,
        levels,
        k_max,
    };
    vec![
        PalqPeParams::default(),
        mk(2, 3, 3, 9),
        mk(1, 1, 2, 1),
        mk(3, 5, 5, 20),
        mk(2, 4, 16, 64),
        mk(1, 32, 4, 32),
        mk(16, 1, 7, 3),
    ]
}

#[test]
fn model_matches_real_values_from_scratch() {
    for (i, p) in params().iter().enumerate() {
        for seed in 0..4 {
            let raw = p.levels.count_ones() != 1 && seed % 2 == 1;
            let cycles = random_cycles(p, 1200, 100 * i as u64 + seed, raw);
            check(p, &cycles, false);
        }
    }
}

#[test]
fn rtl_matches_real_values_from_scratch() {
    for (i, p) in params().iter().enumerate() {
        let raw = p.levels.count_ones() != 1;
        let cycles = random_cycles(p, 1200, 9000 + i as u64, raw);
        check(p, &cycles, true);
    }
}

/// Exactly K products of the worst codes: group 0 at the largest term
/// `code_max * (2 code_max - (L-1))` (both codes at the top), group 1 at the smallest
/// `-code_max * (L-1)` (weight 0, activation at the top). Both come out exactly, and Y
/// is the narrowest width that holds them. K is not a multiple of P in some cases: the
/// last beat carries the rest, its other lanes with activation 0.
#[test]
fn exactly_k_worst_case_products() {
    let mk = |lanes, levels, k_max| PalqPeParams {
        groups: 2,
        lanes,
        levels,
        k_max,
    };
    for p in [
        mk(8, 4, 1024),
        mk(3, 3, 10),
        mk(4, 16, 4096),
        mk(2, 5, 7),
        mk(1, 2, 5),
        mk(2, 16, 1 << 20),
    ] {
        let (lanes, m) = (p.lanes as usize, p.code_max());
        let mut cycles = vec![Cycle {
            rst: true,
            ..Cycle::idle(&p)
        }];
        let mut left = p.k_max as usize;
        let mut first = true;
        while left > 0 {
            let mut cy = Cycle::idle(&p);
            cy.valid = true;
            cy.clear = first;
            first = false;
            for l in 0..lanes.min(left) {
                (cy.w[l], cy.a[l]) = (m, m);
                (cy.w[lanes + l], cy.a[lanes + l]) = (0, m);
            }
            left -= lanes.min(left);
            cycles.push(cy);
        }
        cycles.push(Cycle::idle(&p));
        // The huge case is checked on the model only, and not from scratch (2^20 / 2
        // beats of fractions); the others on both, from scratch too.
        let k = i128::from(p.k_max);
        let (lo, hi) = p.term_range();
        let want = vec![k * hi, k * lo];
        let y = p.out_bits();
        assert!(int::fits(k * hi, y, true) && int::fits(k * lo, y, true));
        assert!(!int::fits(k * hi, y - 1, true) || !int::fits(k * lo, y - 1, true));
        if p.k_max <= 4096 {
            check(&p, &cycles, false);
            check(&p, &cycles, true);
        }
        let got = run(&p, &cycles, false);
        assert_eq!(got.last().unwrap(), &(want.clone(), true), "{p:?}");
        if p.levels.count_ones() == 1 {
            let l1 = i128::from(p.levels) - 1;
            assert_eq!(want, vec![k * l1 * l1, -k * l1 * l1], "{p:?}");
        }
    }
}

fn worked_case_cycles(p: &PalqPeParams) -> Vec<Cycle> {
    let mut beat = Cycle::idle(p);
    beat.valid = true;
    beat.clear = true;
    beat.w = vec![0, 3, 1, 2];
    beat.a = vec![3, 1, 2, 0];
    vec![
        Cycle {
            rst: true,
            ..Cycle::idle(p)
        },
        beat,
        Cycle::idle(p),
    ]
}

/// Issue 17: k = [0, 3, 1, 2], j = [3, 1, 2, 0] at L = 4: sum(k*j) = 5, sum(j) = 6,
/// y = 2*5 - 3*6 = -8 (-8/9 in real units), on the model and on the RTL.
#[test]
fn worked_case_of_issue_17() {
    let p = PalqPeParams {
        groups: 1,
        lanes: 4,
        levels: 4,
        k_max: 4,
    };
    let cycles = worked_case_cycles(&p);
    let want = expected(&p, &cycles);
    assert_eq!(want[1], (vec![-8], true));
    for on_rtl in [false, true] {
        let got = run(&p, &cycles, on_rtl);
        assert_eq!(got[2], (vec![-8], true), "on_rtl {on_rtl}");
        assert_eq!(got[1], (vec![0], false), "nothing before the latency");
    }
    let mut m = PalqPe::new(p).unwrap();
    m.clock(false, true, true, &[0, 3, 1, 2], &[3, 1, 2, 0]);
    assert_eq!((m.sums()[0].kj, m.sums()[0].j, m.result(0)), (5, 6, -8));
}

/// A PalQuant block end to end on the RTL: a grouped 3x3 layer of 2-bit codes (G = 2,
/// 4 -> 4 channels, 5x4 pixels) scheduled onto a Verilated 2 x 8 `palq-pe` array, its
/// results requantized to codes (the layer model's stand-in quantizer), the channels of
/// every pixel through the Verilated `palq-shuffle` (channel shuffle), then a grouped 1x1
/// layer (4 -> 6 channels) on the same array. Each stage is checked against the layer
/// model (`Layer::integer`, `Block::grouped`), the first also against the layer in real
/// numbers decoded from scratch here, and the whole against the block as two dense
/// convolutions.
#[test]
fn a_palquant_block_through_the_array_and_the_shuffle() {
    use model::palq::layer::{Activations, Block, Layer};
    use model::palq::schedule::{schedule, Schedule};
    use model::palq::{PalqShuffleParams, ShuffleKind};

    let (levels, groups, lanes) = (4u32, 2usize, 8usize);
    let mut rng = Rng::new(17);
    let mut codes = |n: usize| -> Vec<u32> {
        (0..n)
            .map(|_| (rng.next_u64() % u64::from(levels)) as u32)
            .collect()
    };
    let (h, w) = (5usize, 4usize);
    let act = Activations {
        channels: 4,
        height: h,
        width: w,
        codes: codes(4 * h * w),
    };
    let layer = |cin: usize, cout: usize, kernel: usize, weights: Vec<u32>| Layer {
        levels,
        groups,
        in_channels: cin,
        out_channels: cout,
        kernel,
        weights,
    };
    let block = Block {
        first: layer(4, 4, 3, codes(4 * 2 * 9)),
        shuffle: ShuffleKind::Channel,
        second: layer(4, 6, 1, codes(6 * 2)),
        shift: 2,
    };

    // One array for both layers: K covers the longer dot product (2 * 9 = 18 products
    // in 3 beats of 8).
    let first = schedule(&block.first, &act, lanes);
    let array = PalqPeParams {
        k_max: first.k_max as u32,
        ..first.array().unwrap()
    };
    let dut = verilate(&array);
    let through_array = |s: &Schedule| {
        let stim = s.stimulus(&array, 1);
        let iface = array.interface();
        let mut out = vec![0u64; stim.len() / iface.in_words() * iface.out_words()];
        dut.instance().unwrap().run(&stim, &mut out);
        s.read(&array, 1, &out)
    };

    // Layer 1 on the RTL, against the model and against real values from scratch.
    let y1 = through_array(&first);
    assert_eq!(y1, block.first.integer(&act));
    let scale = Frac::new((i128::from(levels) - 1).pow(2), 1);
    let (gin, gout) = (block.first.group_in(), block.first.group_out());
    for o in 0..4 {
        let g = o / gout;
        for y in 0..h as isize {
            for x in 0..w as isize {
                let mut s = Frac::new(0, 1);
                for i in 0..gin {
                    for ky in 0..3 {
                        for kx in 0..3 {
                            let j = act.at(g * gin + i, y + ky as isize - 1, x + kx as isize - 1);
                            let k = block.first.weight(o, i, ky, kx);
                            s = s.add(weight(levels, k).mul(activation(levels, j)));
                        }
                    }
                }
                let at = (o * h + y as usize) * w + x as usize;
                assert_eq!(
                    Frac::new(y1[at], 1),
                    s.mul(scale),
                    "output {o} at ({y}, {x})"
                );
            }
        }
    }

    // Requantize, then each pixel's 4 channel codes through the shuffle RTL.
    let mid: Vec<u32> = y1
        .iter()
        .map(|&r| model::palq::layer::quantize(levels, r, block.shift))
        .collect();
    let sp = PalqShuffleParams {
        groups: groups as u32,
        channels: 4,
        kind: ShuffleKind::Channel,
        bits: array.code_bits(),
    };
    let shuffle = verilate(&sp);
    let mut shuffled = vec![0u32; mid.len()];
    for px in 0..h * w {
        let mut x = vec![0u64; sp.interface().in_words()];
        for c in 0..4 {
            set_field(
                &mut x,
                sp.bits * c,
                sp.bits,
                mid[c as usize * h * w + px].into(),
            );
        }
        let mut out = vec![0u64; sp.interface().out_words()];
        shuffle.instance().unwrap().run(&x, &mut out);
        for c in 0..4 {
            shuffled[c as usize * h * w + px] = get_field(&out, sp.bits * c, sp.bits) as u32;
        }
    }
    let mid = Activations {
        channels: 4,
        height: h,
        width: w,
        codes: shuffled,
    };

    // Layer 2 on the same RTL array: the block as PalQuant runs it, and as dense layers.
    let second = schedule(&block.second, &mid, lanes);
    assert!(second.k_max <= array.k_max as usize);
    let y2 = through_array(&second);
    assert_eq!(y2, block.grouped(&act));
    assert_eq!(y2, block.dense(&act));
    assert!(
        y2.iter().any(|&v| v != 0),
        "a block of all zeros checks nothing"
    );
}
