//! OCP MX units (docs/mx.md) on the RTL: issue 15's worked cases, an encoder written
//! here from the OCP definition (not from `model::mx`) against `mx_quant` on thousands
//! of blocks per element type in both nearest roundings, and the round trip through
//! `mx_dequant`. Every stream is also co-simulated against the cycle models.

use lowbit_tests::{block_float, parallel, verilate, Rng};
use model::iface::{get_field, set_field};
use model::mx::{Elem, MxDequantParams, MxQuantParams, MxRounding};
use model::UnitParams;
use sim::{cosim, CosimOptions};

/// Blocks of this size in the bulk checks: small, so Verilator builds stay quick.
const K: u32 = 8;

/// Run blocks (one beat each) through `mx_quant` and return each block's `(scale,
/// codes)`; the stream is co-simulated against the model too.
fn quant_on_rtl(p: MxQuantParams, blocks: &[Vec<u32>]) -> Vec<(u32, Vec<u64>)> {
    assert_eq!(p.lanes(), p.block);
    assert!(!p.stochastic());
    let iface = p.interface();
    let (iw, ow) = (iface.in_words(), iface.out_words());
    let beats = blocks.len() + 1;
    let mut stimulus = vec![0u64; beats * iw];
    for (b, block) in blocks.iter().enumerate() {
        let beat = &mut stimulus[b * iw..(b + 1) * iw];
        beat[1] = 1; // in_valid
        for (i, x) in block.iter().enumerate() {
            set_field(&mut beat[2..], 32 * i as u32, 32, u64::from(*x));
        }
    }
    let dut = verilate(&p);
    let mut out = vec![0u64; beats * ow];
    dut.instance().unwrap().run(&stimulus, &mut out);
    let mut model = p.model().unwrap();
    cosim(&dut, model.as_mut(), &stimulus, &CosimOptions::default())
        .unwrap_or_else(|e| panic!("{p:?}: {e}"));
    let w = p.elem.width();
    (1..beats)
        .map(|t| {
            let o = &out[t * ow..(t + 1) * ow];
            assert_eq!(o[ow - 1], 1, "out_valid one cycle after each block");
            let codes = (0..p.block).map(|i| get_field(&o[1..], w * i, w)).collect();
            (o[0] as u32, codes)
        })
        .collect()
}

/// Run `(scale, codes)` beats through `mx_dequant`: each beat's binary32 lanes and flags
/// `[uf, of, nan]`; co-simulated against the model too.
fn dequant_on_rtl(p: MxDequantParams, beats_in: &[(u32, Vec<u64>)]) -> Vec<(Vec<u32>, [bool; 3])> {
    let iface = p.interface();
    let (iw, ow) = (iface.in_words(), iface.out_words());
    let beats = beats_in.len() + 1;
    let w = p.elem.width();
    let mut stimulus = vec![0u64; beats * iw];
    for (b, (scale, codes)) in beats_in.iter().enumerate() {
        let beat = &mut stimulus[b * iw..(b + 1) * iw];
        beat[1] = 1;
        beat[2] = u64::from(*scale);
        for (i, c) in codes.iter().enumerate() {
            set_field(&mut beat[3..], w * i as u32, w, *c);
        }
    }
    let dut = verilate(&p);
    let mut out = vec![0u64; beats * ow];
    dut.instance().unwrap().run(&stimulus, &mut out);
    let mut model = p.model().unwrap();
    cosim(&dut, model.as_mut(), &stimulus, &CosimOptions::default())
        .unwrap_or_else(|e| panic!("{p:?}: {e}"));
    let yw = iface.port("y").unwrap().words();
    (1..beats)
        .map(|t| {
            let o = &out[t * ow..(t + 1) * ow];
            assert_eq!(o[ow - 1], 1, "out_valid one cycle after each beat");
            let y = (0..p.lanes)
                .map(|i| get_field(&o[..yw], 32 * i, 32) as u32)
                .collect();
            (y, [o[yw] == 1, o[yw + 1] == 1, o[yw + 2] == 1])
        })
        .collect()
}

fn quant(elem: Elem, block: u32, rounding: MxRounding) -> MxQuantParams {
    MxQuantParams {
        elem,
        block,
        rounding,
        rnd_bits: 8,
        lanes: None,
    }
}

fn bits(v: &[f32], k: usize) -> Vec<u32> {
    let mut x: Vec<u32> = v.iter().map(|f| f.to_bits()).collect();
    x.resize(k, 0);
    x
}

/// The OCP MX element types as the specification describes them, written here without
/// `model::mx`: for each type, every finite value with its code.
struct Grid {
    /// `(magnitude, code of the positive value)`, ascending, zero first.
    values: Vec<(f64, u64)>,
    /// Code width and the sign bit's weight (INT8: two's complement instead).
    width: u32,
    int8: bool,
    /// `emax_elem` of the scale rule.
    emax: i32,
}

impl Grid {
    fn of(elem: Elem) -> Grid {
        // (exponent bits, mantissa bits, bias, emax, NaN/inf rule)
        let (e, m, bias, emax) = match elem {
            Elem::Int8 => {
                let values = (0..=127u64).map(|c| (c as f64 / 64.0, c)).collect();
                return Grid {
                    values,
                    width: 8,
                    int8: true,
                    emax: 0,
                };
            }
            Elem::E4m3 => (4, 3, 7, 8),
            Elem::E5m2 => (5, 2, 15, 15),
            Elem::E3m2 => (3, 2, 3, 4),
            Elem::E2m3 => (2, 3, 1, 2),
            Elem::E2m1 => (2, 1, 1, 2),
        };
        let mut values = Vec::new();
        for code in 0..1u64 << (e + m) {
            let (field, man) = ((code >> m) as i32, code & ((1 << m) - 1));
            let top = (1 << e) - 1;
            // E4M3: S.1111.111 is NaN; E5M2: exponent field all ones is inf/NaN.
            if (elem == Elem::E4m3 && field == top && man == (1 << m) - 1)
                || (elem == Elem::E5m2 && field == top)
            {
                continue;
            }
            let v = if field == 0 {
                man as f64 * 2f64.powi(1 - bias - m as i32)
            } else {
                (1.0 + man as f64 / f64::from(1 << m)) * 2f64.powi(field - bias)
            };
            values.push((v, code));
        }
        values.sort_by(|a, b| a.0.total_cmp(&b.0));
        Grid {
            values,
            width: 1 + e + m,
            int8: false,
            emax,
        }
    }

    fn max(&self) -> f64 {
        self.values.last().unwrap().0
    }

    /// The code of `±mag`'s grid entry `k`.
    fn code(&self, neg: bool, k: usize) -> u64 {
        let (v, c) = self.values[k];
        if v == 0.0 {
            0
        } else if self.int8 {
            if neg {
                (256 - c) & 0xff
            } else {
                c
            }
        } else {
            c | u64::from(neg) << (self.width - 1)
        }
    }

    /// The value a code stands for (NaN for NaN/inf codes).
    fn value(&self, code: u64) -> f64 {
        let (neg, mag) = if self.int8 {
            let s = code as u8 as i8;
            (s < 0, u64::from(s.unsigned_abs()))
        } else {
            let sign = 1 << (self.width - 1);
            (code & sign != 0, code & (sign - 1))
        };
        let v = if self.int8 {
            mag as f64 / 64.0
        } else {
            match self.values.iter().find(|(_, c)| *c == mag) {
                Some((v, _)) => *v,
                None => return f64::NAN,
            }
        };
        if neg {
            -v
        } else {
            v
        }
    }

    /// Round `v` (already divided by the scale) to the grid: nearest, ties by `mode`
    /// (RNE: the even code; away: the larger magnitude), saturating above the largest.
    fn round(&self, v: f64, mode: MxRounding) -> u64 {
        let (neg, a) = (v < 0.0, v.abs());
        if a >= self.max() {
            return self.code(neg, self.values.len() - 1);
        }
        let hi = self.values.iter().position(|(g, _)| *g >= a).unwrap();
        if self.values[hi].0 == a {
            return self.code(neg, hi);
        }
        let lo = hi - 1;
        let (dl, dh) = (a - self.values[lo].0, self.values[hi].0 - a);
        let k = if dl < dh {
            lo
        } else if dh < dl {
            hi
        } else {
            match mode {
                MxRounding::Away => hi,
                _ if self.values[lo].1 & 1 == 0 => lo,
                _ => hi,
            }
        };
        self.code(neg, k)
    }

    /// The OCP conversion of a block: scale byte and codes.
    fn encode(&self, x: &[u32], mode: MxRounding) -> (u32, Vec<u64>) {
        let vals: Vec<f32> = x.iter().map(|b| f32::from_bits(*b)).collect();
        if vals.iter().any(|v| !v.is_finite()) {
            return (0xff, vec![0; x.len()]);
        }
        // Subnormal inputs count as zero.
        let vals: Vec<f64> = vals
            .iter()
            .map(|v| if v.is_normal() { f64::from(*v) } else { 0.0 })
            .collect();
        let amax = vals.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if amax == 0.0 {
            return (0, vec![0; x.len()]);
        }
        let s = (amax.log2().floor() as i32 - self.emax).clamp(-127, 127);
        let codes = vals
            .iter()
            .map(|v| self.round(v * 2f64.powi(-s), mode))
            .collect();
        ((s + 127) as u32, codes)
    }
}

/// A block on the grid of `g` at scale `2^s` (the first element sets the scale): grid
/// values, exact midpoints between neighbours (ties), values just off a midpoint, zeros
/// and negatives.
fn grid_block(rng: &mut Rng, g: &Grid, s: i32, k: u32) -> Vec<u32> {
    let n = g.values.len();
    let scaled = |v: f64| (v * 2f64.powi(s)) as f32;
    let mut x = vec![scaled(2f64.powi(g.emax))];
    while x.len() < k as usize {
        let j = (rng.next_u64() % (n as u64 - 1)) as usize;
        let (lo, hi) = (g.values[j].0, g.values[j + 1].0);
        let mid = (lo + hi) / 2.0;
        let v = match rng.next_u64() % 6 {
            0 => lo,
            1 => 0.0,
            2 => mid + (hi - lo) / 1024.0,
            3 => mid - (hi - lo) / 1024.0,
            _ => mid,
        };
        let f = scaled(v);
        // Keep only values that are exact normal binary32 (or zero).
        let f = if f64::from(f) == v * 2f64.powi(s) && (f == 0.0 || f.is_normal()) {
            f
        } else {
            0.0
        };
        x.push(if rng.one_in(2) { -f } else { f });
    }
    let x: Vec<u32> = x.iter().map(|f| f.to_bits()).collect();
    // The scale-setting element anywhere in the block.
    let mut x = x;
    let at = (rng.next_u64() % u64::from(k)) as usize;
    x.swap(0, at);
    x
}

/// Random blocks: grid ties at many scales, and `block_float` blocks (zeros, subnormals,
/// NaN/inf, powers of two, values just below a power of two) at ordinary, tiny (scale
/// clamped at -127) and huge (+127) exponents.
fn blocks(elem: Elem, count: usize, seed: u64) -> Vec<Vec<u32>> {
    let g = Grid::of(elem);
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| match rng.next_u64() % 40 {
            // All zero, or zeros and binary32 subnormals: scale byte 0.
            0 | 1 => (0..K)
                .map(|_| match rng.next_u64() % 3 {
                    0 => 0,
                    1 => 0x8000_0000,
                    _ => (rng.next_u64() as u32) & 0x807f_ffff,
                })
                .collect(),
            2..=21 => {
                let s = (rng.next_u64() % 160) as i32 - 80 - g.emax.min(5);
                grid_block(&mut rng, &g, s, K)
            }
            _ => {
                let base = match rng.next_u64() % 6 {
                    0 => -126,
                    1 => -120 + (rng.next_u64() % 8) as i32,
                    2 => 127,
                    _ => (rng.next_u64() % 81) as i32 - 40,
                };
                (0..K).map(|_| block_float(&mut rng, base)).collect()
            }
        })
        .collect()
}

#[test]
fn independent_encoder_matches_the_rtl() {
    // One element type per job, on every core.
    parallel(
        Elem::ALL
            .iter()
            .map(|&e| Box::new(move || encoder_vs_rtl(e)) as Box<dyn FnOnce() + Send>)
            .collect(),
    );
}

/// [`independent_encoder_matches_the_rtl`] for one element type.
fn encoder_vs_rtl(elem: Elem) {
    {
        let g = Grid::of(elem);
        for (rounding, seed) in [(MxRounding::Rne, 1), (MxRounding::Away, 2)] {
            let bs = blocks(elem, 2000, seed * 100 + elem as u64);
            let got = quant_on_rtl(quant(elem, K, rounding), &bs);
            let (mut ties, mut sat, mut nan, mut zero, mut clamp) = (0, 0, 0, 0, 0);
            for (x, rtl) in bs.iter().zip(&got) {
                let want = g.encode(x, rounding);
                assert_eq!(rtl, &want, "{elem:?} {rounding:?} block {x:08x?}");
                nan += usize::from(want.0 == 0xff);
                zero += usize::from(want.0 == 0);
                clamp += usize::from(
                    want.0 == 254 || (want.0 == 0 && x.iter().any(|b| b & 0x7f80_0000 != 0)),
                );
                let top = g.code(false, g.values.len() - 1);
                sat += want
                    .1
                    .iter()
                    .filter(|c| **c & top == top && want.0 != 0xff)
                    .count();
                ties += x
                    .iter()
                    .filter(|b| {
                        let v =
                            f64::from(f32::from_bits(**b)).abs() * 2f64.powi(127 - want.0 as i32);
                        g.values.windows(2).any(|w| v == (w[0].0 + w[1].0) / 2.0)
                    })
                    .count();
            }
            // The stream did reach every corner it is meant to.
            assert!(
                ties > 1000 && sat > 100 && nan > 50 && zero > 10 && clamp > 10,
                "{elem:?}: ties {ties} sat {sat} nan {nan} zero {zero} clamp {clamp}"
            );
        }
    }
}

/// Issue 15's worked cases, on the RTL.
#[test]
fn worked_cases_on_the_rtl() {
    let e2m1 = Grid::of(Elem::E2m1);
    let k = K as usize;
    let x = bits(&[1.0, 0.3, -2.6, 5.9, 0.25, 0.75, 2.5], k);
    for (rounding, want) in [
        (MxRounding::Rne, [1.0, 0.5, -3.0, 6.0, 0.0, 1.0, 2.0]),
        (MxRounding::Away, [1.0, 0.5, -3.0, 6.0, 0.5, 1.0, 3.0]),
    ] {
        let (scale, codes) =
            &quant_on_rtl(quant(Elem::E2m1, K, rounding), std::slice::from_ref(&x))[0];
        assert_eq!(*scale, 127);
        let v: Vec<f64> = codes[..7].iter().map(|c| e2m1.value(*c)).collect();
        assert_eq!(v, want, "{rounding:?}");
        assert!(codes[7..].iter().all(|c| *c == 0));
    }

    let (scale, codes) = &quant_on_rtl(
        quant(Elem::Int8, 32, MxRounding::Rne),
        &[bits(&[1.0, 0.3], 32)],
    )[0];
    assert_eq!((*scale, codes[0], codes[1]), (127, 64, 19));

    // E5M2: X = 6 - 15 = -9, both elements saturate to 57344 ... and 512, which
    // dequantize to 112.0 and 1.0.
    let e5m2 = Grid::of(Elem::E5m2);
    let q = quant_on_rtl(
        quant(Elem::E5m2, K, MxRounding::Rne),
        &[bits(&[127.9999, 1.0], k)],
    );
    let (scale, codes) = &q[0];
    assert_eq!(*scale, 118);
    assert_eq!(
        (e5m2.value(codes[0]), e5m2.value(codes[1])),
        (57344.0, 512.0)
    );
    let back = dequant_on_rtl(
        MxDequantParams {
            elem: Elem::E5m2,
            lanes: K,
        },
        &q,
    );
    let (y, flags) = &back[0];
    assert_eq!((f32::from_bits(y[0]), f32::from_bits(y[1])), (112.0, 1.0));
    assert!(y[2..].iter().all(|b| *b == 0));
    assert_eq!(*flags, [false; 3]);

    // The dot-product operands of the issue quantize as it says.
    let ab = quant_on_rtl(
        quant(Elem::E2m1, K, MxRounding::Rne),
        &[
            bits(&[1.0, 0.3, -2.6, 5.9], k),
            bits(&[0.5, -1.0, 1.0, 0.24], k),
        ],
    );
    let ((sa, qa), (sb, qb)) = (&ab[0], &ab[1]);
    let (qa, qb) = (&qa[..4], &qb[..4]);
    assert_eq!((*sa, *sb), (127, 125));
    let va: Vec<f64> = qa.iter().map(|c| e2m1.value(*c)).collect();
    let vb: Vec<f64> = qb.iter().map(|c| e2m1.value(*c)).collect();
    assert_eq!(
        (va.clone(), vb.clone()),
        (vec![1.0, 0.5, -3.0, 6.0], vec![2.0, -4.0, 4.0, 1.0])
    );
    let s: f64 = va.iter().zip(&vb).map(|(a, b)| a * b).sum();
    assert_eq!(s * 2f64.powi(*sa as i32 + *sb as i32 - 254), -1.5);
}

/// Quantize on the RTL, dequantize on the RTL: every value comes back as its element
/// times 2^X (checked against the independent grid), within half an element step of
/// the input unless it saturated; NaN blocks come back as NaN lanes with `nan`.
#[test]
fn round_trip_quant_then_dequant() {
    // The types with NaN/infinity codes, the narrowest, and INT8 (the others are
    // covered by the generic property co-simulation and the proofs).
    for elem in [Elem::E4m3, Elem::E5m2, Elem::E2m1, Elem::Int8] {
        let g = Grid::of(elem);
        let bs = blocks(elem, 1000, 7 + elem as u64);
        let q = quant_on_rtl(quant(elem, K, MxRounding::Rne), &bs);
        let back = dequant_on_rtl(MxDequantParams { elem, lanes: K }, &q);
        for ((x, (scale, codes)), (y, flags)) in bs.iter().zip(&q).zip(&back) {
            if *scale == 0xff {
                assert!(y.iter().all(|b| *b == 0x7fc0_0000) && flags[2], "{elem:?}");
                continue;
            }
            let mut uf = false;
            let x_scale = 2f64.powi(*scale as i32 - 127);
            for ((xi, c), yi) in x.iter().zip(codes).zip(y) {
                let exact = g.value(*c) * x_scale;
                let flushed = exact != 0.0 && exact.abs() < f64::from(f32::MIN_POSITIVE);
                uf |= flushed;
                let want = if flushed { 0.0 } else { exact };
                assert_eq!(
                    f64::from(f32::from_bits(*yi)),
                    want,
                    "{elem:?} {xi:08x} -> {c:#x}"
                );
                // Below the largest element, the element is a nearest grid value: off by
                // at most half the gap around the input.
                let xv = f64::from(f32::from_bits(*xi));
                let a = if f32::from_bits(*xi).is_normal() {
                    xv.abs() / x_scale
                } else {
                    0.0
                };
                if a < g.max() {
                    let hi = g.values.iter().position(|(v, _)| *v >= a).unwrap();
                    let gap = g.values[hi].0 - g.values[hi.saturating_sub(1)].0;
                    let err = (a - g.value(*c).abs()).abs();
                    assert!(err <= gap / 2.0, "{elem:?} {xv} -> {exact}");
                }
            }
            assert_eq!(flags[0], uf, "{elem:?} uf");
            assert!(
                !flags[1] && !flags[2],
                "{elem:?} no of/nan from a finite block"
            );
        }
    }
}
