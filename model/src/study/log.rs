//! Error studies of the log-domain units: `lns-mac`, `expq-dot` and `expq-quant`.
//!
//! - `lns-mac`: each row scaled by the power of two `2^ceil(log2 amax)` (its largest
//!   magnitude into (1/2, 1], so products stay at most 1 and the sum's growth has the
//!   accumulator's integer bits), then the nearest code in the log domain:
//!   `c = RNE(2^F log2|x/s|) - e_min`, clamped to `0 ..= 2^K - 1`, the zero code below half
//!   the smallest magnitude. Terms by [`LnsMacParams::term`], summed by
//!   [`crate::mac::accumulate`] (the unit's width and policy); the result `acc * 2^-(L-1)`
//!   times both scales, flagged on `ovf`.
//! - `expq-dot`: each row scaled by the real `s = amax / (b^(2^E - 1 + e_min) + o)` (its
//!   largest magnitude on the top level, `o` the operand's `--offset-w`/`--offset-a`;
//!   DNA-TEQ's per-tensor scale, applied outside the unit), the
//!   codes by `expq_quant`'s rule (nearest level `b^(e + e_min) + o`, ties to the smaller
//!   magnitude, zero at or below half the smallest level), then the unit's cycle model
//!   ([`ExpqDot`]: counters, flush, walk), `--lanes L` pairs a beat (the last beat's
//!   missing lanes with zero flags); `y * 2^-F` times both scales. Rows longer than
//!   `--k-max` are refused (the counters would wrap).
//! - `expq-quant` (one result per element of `x`; `w` unused): `x` as the unit's input,
//!   `RNE(x * 2^F)` saturated to N bits (flagged when it saturates), coded by
//!   [`ExpqQuantParams::code_of`] and read back as `+-alpha * b^(e + e_min)`: the unit's
//!   levels are absolute, `--alpha` and `--exp-min` are its scale.

use super::float::floor_log2;
use super::{amax, Errors, StudyError, Workload};
use crate::expq::{ExpqDot, ExpqDotParams, ExpqQuantParams};
use crate::iface::{get_field, set_field, CycleModel};
use crate::int;
use crate::lns::{Code, LnsMacParams};
use crate::mac::accumulate;

/// A row as LNS codes and its power-of-two scale (module docs).
pub fn lns_row(p: &LnsMacParams, row: &[f64]) -> (Vec<Code>, f64) {
    let top = amax(row);
    if top == 0.0 {
        return (vec![Code::ZERO; row.len()], 1.0);
    }
    // ceil(log2 top): floor, plus one unless top is a power of two.
    let e = floor_log2(top) + i32::from(top != 2f64.powi(floor_log2(top)));
    let s = 2f64.powi(e);
    let steps = f64::from(1u32 << p.frac_bits);
    let (e_min, c_max) = (f64::from(p.exp_min()), ((1u64 << p.exp_bits) - 1) as f64);
    let codes = row
        .iter()
        .map(|v| {
            if *v == 0.0 {
                return Code::ZERO;
            }
            let c = steps * (v.abs() / s).log2() - e_min;
            if c < -steps {
                return Code::ZERO; // below half the smallest magnitude
            }
            Code {
                sign: *v < 0.0,
                zero: false,
                exp: c.round_ties_even().clamp(0.0, c_max) as u64,
            }
        })
        .collect();
    (codes, s)
}

/// `lns-mac`'s error on `w` (module docs).
pub fn lns_mac(p: &LnsMacParams, w: &Workload) -> Result<Errors, StudyError> {
    let table = p.table();
    let unit = 2f64.powi(1 - p.table_bits as i32);
    Ok(w.dot_errors(|x, wt| {
        let ((a, sa), (b, sb)) = (lns_row(p, x), lns_row(p, wt));
        let (mut acc, mut ovf) = (0i128, false);
        for (i, (ca, cb)) in a.iter().zip(&b).enumerate() {
            let term = p.term(&table, *ca, *cb);
            (acc, ovf) = accumulate(acc, ovf, i == 0, term, p.acc_bits, true, p.overflow);
        }
        (acc as f64 * unit * sa * sb, ovf)
    }))
}

/// An `expq` code: sign, zero, exponent.
pub type ExpqCode = (bool, bool, u64);

/// A row as `expq_dot` codes for an operand with `offset` (its levels are `b^(e +
/// e_min) + offset`) and its scale (module docs).
pub fn expq_row(p: &ExpqDotParams, row: &[f64], offset: f64) -> (Vec<ExpqCode>, f64) {
    let b = p.base.to_f64();
    let levels: Vec<f64> = (0..1i32 << p.exp_bits)
        .map(|e| b.powi(e + p.exp_min) + offset)
        .collect();
    let top = amax(row);
    if top == 0.0 {
        return (vec![(false, true, 0); row.len()], 1.0);
    }
    let s = top / levels[levels.len() - 1];
    let codes = row
        .iter()
        .map(|v| {
            let m = v.abs() / s;
            if 2.0 * m <= levels[0] {
                return (false, true, 0);
            }
            let e = (0..levels.len() - 1)
                .find(|&e| 2.0 * m <= levels[e] + levels[e + 1])
                .unwrap_or(levels.len() - 1);
            (*v < 0.0, false, e as u64)
        })
        .collect();
    (codes, s)
}

/// `expq-dot`'s error on `w` (module docs).
pub fn expq_dot(p: &ExpqDotParams, w: &Workload) -> Result<Errors, StudyError> {
    if w.k > p.k_max as usize {
        return Err(StudyError(format!(
            "workload '{}' has rows of K = {} products, more than --k-max {} counts: \
             give expq-dot --k-max {} or more",
            w.name, w.k, p.k_max, w.k
        )));
    }
    let mut m = ExpqDot::new(p.clone()).map_err(|e| StudyError(e.to_string()))?;
    let iface = m.interface().clone();
    let (iw, ow) = (iface.in_words(), iface.out_words());
    let at = |name: &str| iface.in_offset(name).expect("expq_dot port") as u32 * 64;
    let (e_bits, out_bits) = (p.exp_bits, p.out_bits());
    let unit = 2f64.powi(-(p.frac_bits as i32));
    // Cycles the walk takes after the flush beat, with a margin.
    let walk = p.counters() as usize + crate::expq::WALK_STAGES + 4;
    let (valid, flush) = (at("in_valid"), at("flush"));
    let ports = [
        (at("sa"), at("za"), at("ea")),
        (at("sw"), at("zw"), at("ew")),
    ];
    let mut out = vec![0u64; ow];
    let mut ins = vec![0u64; iw];
    Ok(w.dot_errors(|x, wt| {
        let (a, sa) = expq_row(p, x, p.offset_a.to_f64());
        let (b, sb) = expq_row(p, wt, p.offset_w.to_f64());
        // L pairs a beat, lane 0 first; the last beat's missing lanes carry zero flags.
        let lanes = p.lanes as usize;
        let beats = a.len().div_ceil(lanes);
        for i in 0..beats {
            ins.fill(0);
            set_field(&mut ins, valid, 1, 1);
            set_field(&mut ins, flush, 1, u64::from(i + 1 == beats));
            for l in 0..lanes {
                let pair = a.get(i * lanes + l).zip(b.get(i * lanes + l));
                let (ca, cw) = pair.map_or(((false, true, 0), (false, true, 0)), |(x, y)| (*x, *y));
                let l = l as u32;
                for ((s_at, z_at, e_at), (s, z, e)) in ports.iter().zip([ca, cw]) {
                    set_field(&mut ins, s_at + l, 1, u64::from(s));
                    set_field(&mut ins, z_at + l, 1, u64::from(z));
                    set_field(&mut ins, e_at + l * e_bits, e_bits, e);
                }
            }
            m.step(&ins, &mut out);
        }
        let idle = vec![0u64; iw];
        let mut y = None;
        for _ in 0..walk {
            m.step(&idle, &mut out);
            if out[ow - 1] & 1 == 1 {
                let lo = u128::from(get_field(&out, 0, out_bits.min(64)));
                let hi = if out_bits > 64 {
                    u128::from(get_field(&out, 64, out_bits - 64)) << 64
                } else {
                    0
                };
                y = Some(int::from_bits(lo | hi, out_bits, true));
                break;
            }
        }
        let y = y.expect("expq_dot shows y after its walk");
        (y as f64 * unit * sa * sb, false)
    }))
}

/// `expq-quant`'s error on `w`'s activations (module docs).
pub fn expq_quant(p: &ExpqQuantParams, w: &Workload) -> Result<Errors, StudyError> {
    let (b, alpha) = (p.base.to_f64(), p.alpha.to_f64());
    let hi = (1i64 << (p.in_bits - 1)) - 1;
    let lo = -hi - 1;
    let fix = 2f64.powi(p.in_frac as i32);
    // code_of compares exact fractions: once per input magnitude.
    let mut codes = std::collections::HashMap::new();
    let mut results = Vec::with_capacity(w.x.len());
    for v in &w.x {
        let q = (v * fix).round_ties_even();
        let sat = q > hi as f64 || q < lo as f64;
        let q = q.clamp(lo as f64, hi as f64) as i64;
        let mag = q.unsigned_abs();
        let got = match *codes.entry(mag).or_insert_with(|| p.code_of(mag)) {
            None => 0.0,
            Some(e) => alpha * b.powi(e as i32 + p.exp_min) * if q < 0 { -1.0 } else { 1.0 },
        };
        results.push((got, *v, sat));
    }
    Ok(Errors::of(&results))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::Dist;

    #[test]
    fn a_worked_lns_row() {
        // Default lns-mac (K 6, F 2, e_min -32, L 8): x = (1, -0.3), w = (0.25, 1), both
        // scales 1. Codes 32, 25 (4 log2 0.3 = -6.95 -> -7) and 24, 32. Products: P = 32 +
        // 24 - 64 = -8 -> T[0] >> 2 = 128 / 4 = 32; P = 25 + 32 - 64 = -7 -> p_int -2,
        // p_frac 1 -> -(152 >> 2) = -38. acc = -6, times 2^-7 = -0.046875; exact -0.05.
        let w = Workload::from_rows("t", 2, vec![1.0, -0.3], vec![0.25, 1.0]).unwrap();
        let e = lns_mac(&LnsMacParams::default(), &w).unwrap();
        assert!((e.rel_rms - 0.003125 / 0.05).abs() < 1e-9, "{e:?}");
    }

    #[test]
    fn a_worked_expq_row() {
        // Default expq-dot (E 3, base 2, e_min 0, F 8): levels 1 .. 128. x = (1, -0.3),
        // s = 1/128: 128 -> e 7, 38.4 -> 32 (midpoint 48), e 5. w = (0.5, 0.75), s =
        // 0.75/128: 85.3 -> 64 (midpoint 96), e 6; 128 -> e 7. y = (2^13 - 2^12) * 2^8,
        // times 2^-8 / 128 * 0.75 / 128 = 0.1875; exact 0.275.
        let w = Workload::from_rows("t", 2, vec![1.0, -0.3], vec![0.5, 0.75]).unwrap();
        let e = expq_dot(&ExpqDotParams::default(), &w).unwrap();
        assert!((e.rel_rms - 0.0875 / 0.275).abs() < 1e-9, "{e:?}");
        // expq-quant, default levels 2^-4 .. 2^3: 1 -> 1; -0.3 (input -77/256) -> -0.25.
        let e = expq_quant(&ExpqQuantParams::default(), &w).unwrap();
        assert!(
            (e.rel_rms - (0.0025f64 / 1.09).sqrt()).abs() < 1e-9,
            "{e:?}"
        );
    }

    #[test]
    fn offset_levels_are_decoded_with_their_offset() {
        // The worked case as real values: b = 2, E = 1, offsets 0.5, so the
        // levels are 1.5 and 2.5. x = (2.5, 1.5) is on the levels at scale 1, w = (1.5,
        // 1.5) at scale 0.6 (both the top level); x . w = 6 exactly.
        let p = ExpqDotParams {
            exp_bits: 1,
            frac_bits: 2,
            offset_w: "0.5".parse().unwrap(),
            offset_a: "0.5".parse().unwrap(),
            ..ExpqDotParams::default()
        };
        let w = Workload::from_rows("t", 2, vec![2.5, 1.5], vec![1.5, 1.5]).unwrap();
        let e = expq_dot(&p, &w).unwrap();
        assert!(e.rel_rms < 1e-12, "{e:?}");
        // Without the offsets the same unit reads the codes as 1 and 2: an error.
        let plain = ExpqDotParams {
            exp_bits: 1,
            frac_bits: 2,
            ..ExpqDotParams::default()
        };
        assert!(expq_dot(&plain, &w).unwrap().rel_rms > 0.05);
    }

    #[test]
    fn the_units_forward_their_study() {
        use crate::unit::Unit;
        let w = Workload::synthetic(Dist::Laplace, 32, 3, 1);
        let l = LnsMacParams::default();
        assert_eq!(l.study(&w), Some(lns_mac(&l, &w)));
        let d = ExpqDotParams::default();
        assert_eq!(d.study(&w), Some(expq_dot(&d, &w)));
        let q = ExpqQuantParams::default();
        assert_eq!(q.study(&w), Some(expq_quant(&q, &w)));
    }

    #[test]
    fn rows_longer_than_k_max_are_refused() {
        let w = Workload::synthetic(Dist::Gaussian, 65, 1, 1);
        let e = expq_dot(&ExpqDotParams::default(), &w).unwrap_err();
        assert!(e.0.contains("K = 65") && e.0.contains("--k-max 64"), "{e}");
    }

    /// The lanes change the beats, not the sums: every lane count gives the one-lane
    /// unit's results, also when K is not a multiple of L (the last beat padded).
    #[test]
    fn lanes_fill_the_beats_and_keep_the_results() {
        let w = Workload::synthetic(Dist::Laplace, 37, 5, 2);
        let mut p = ExpqDotParams {
            offset_w: "0.5".parse().unwrap(),
            offset_a: "0.25".parse().unwrap(),
            ..ExpqDotParams::default()
        };
        let one = expq_dot(&p, &w).unwrap();
        assert!(one.rel_rms > 0.0);
        for lanes in [2, 3, 8, 16] {
            p.lanes = lanes;
            assert_eq!(expq_dot(&p, &w).unwrap(), one, "--lanes {lanes}");
        }
    }

    #[test]
    fn finer_codes_err_less() {
        let w = Workload::synthetic(Dist::Gaussian, 64, 40, 3);
        let lns = |frac_bits, exp_bits| {
            let p = LnsMacParams {
                frac_bits,
                exp_bits,
                table_bits: 12,
                ..LnsMacParams::default()
            };
            lns_mac(&p, &w).unwrap()
        };
        let (f1, f3) = (lns(1, 6), lns(3, 8));
        assert!(f3.rel_rms < f1.rel_rms / 2.0, "{f1:?} {f3:?}");
        // A 6-bit accumulator (range +-0.25 in units of 2^-7) overflows.
        let narrow = LnsMacParams {
            acc_bits: 6,
            ..LnsMacParams::default()
        };
        let en = lns_mac(&narrow, &w).unwrap();
        assert!(en.flagged > 0.5, "{en:?}");
        let expq = |exp_bits, base: &str| {
            let p = ExpqDotParams {
                exp_bits,
                base: base.parse().unwrap(),
                exp_min: -(1 << exp_bits),
                ..ExpqDotParams::default()
            };
            expq_dot(&p, &w).unwrap()
        };
        let (coarse, fine) = (expq(3, "2"), expq(5, "1.25"));
        assert!(fine.rel_rms < coarse.rel_rms, "{coarse:?} {fine:?}");
        let q = |exp_bits, base: &str| {
            let p = ExpqQuantParams {
                exp_bits,
                base: base.parse().unwrap(),
                exp_min: -(1 << (exp_bits - 1)),
                ..ExpqQuantParams::default()
            };
            expq_quant(&p, &w).unwrap()
        };
        assert!(q(5, "1.25").rel_rms < q(3, "2").rel_rms);
    }
}
