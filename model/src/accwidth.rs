//! Integer accumulator sizing (SPEC.md section 1; `gen accwidth`): how wide must the
//! accumulator of a dot product be so that it can never overflow?
//!
//! Two answers, both exact integer arithmetic:
//! - for a dot product of length K with N-bit activations and M-bit signed weights, the
//!   worst case over all activations and weights;
//! - for a given weight vector, the worst case over all activations.
//!
//! Every operand range contains zero, so each product's extremes have opposite signs (or
//! are zero) and no partial sum of a dot product leaves the range of the full sum's
//! extremes: the width that holds the final worst case holds every step, in any order.
//!
//! Beside the exact figures, the bounds of A2Q (Colbert et al., "A2Q: Accumulator-Aware
//! Quantization with Guaranteed Overflow Avoidance", ICCV 2023): the data-type bound
//! `P >= alpha + phi(alpha) + 1` with `alpha = log2(K) + N + M - 1 - [x signed]` and
//! `phi(alpha) = log2(1 + 2^-alpha)`, and the weight bound
//! `||w||_1 <= (2^(P-1) - 1) * 2^([x signed] - N)` that A2Q trains the weights to meet.

/// The value range of an integer operand.
pub fn operand_range(bits: u32, signed: bool) -> (i128, i128) {
    (
        crate::int::min_value(bits, signed),
        crate::int::max_value(bits, signed),
    )
}

/// The extremes a dot product's sum can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Worst {
    pub min: i128,
    pub max: i128,
}

impl Worst {
    /// The fewest bits of a two's-complement accumulator that hold both extremes.
    pub fn signed_width(&self) -> u32 {
        (1..=127)
            .find(|&a| crate::int::fits(self.min, a, true) && crate::int::fits(self.max, a, true))
            .expect("fits 127 bits")
    }
}

/// Extremes of `w * x` over `x` in `[x_lo, x_hi]` (a range containing zero).
fn product_extremes(w: i128, (x_lo, x_hi): (i128, i128)) -> (i128, i128) {
    let (a, b) = (w * x_lo, w * x_hi);
    (a.min(b), a.max(b))
}

/// Worst case of a length-`k` dot product of `act_bits`-bit activations (signed or
/// not) and `weight_bits`-bit signed weights, over all activations and weights.
pub fn worst_case_k(k: u64, act_bits: u32, act_signed: bool, weight_bits: u32) -> Worst {
    let x = operand_range(act_bits, act_signed);
    let (w_lo, w_hi) = operand_range(weight_bits, true);
    let (lo1, hi1) = product_extremes(w_lo, x);
    let (lo2, hi2) = product_extremes(w_hi, x);
    let k = i128::from(k);
    Worst {
        min: k * lo1.min(lo2),
        max: k * hi1.max(hi2),
    }
}

/// Worst case of the dot product of `weights` with any `act_bits`-bit activations.
pub fn worst_case_weights(weights: &[i64], act_bits: u32, act_signed: bool) -> Worst {
    let x = operand_range(act_bits, act_signed);
    weights.iter().fold(Worst { min: 0, max: 0 }, |acc, &w| {
        let (lo, hi) = product_extremes(w.into(), x);
        Worst {
            min: acc.min + lo,
            max: acc.max + hi,
        }
    })
}

/// A2Q's data-type bound on the accumulator width for a length-`k` dot product, as a real
/// number (`alpha + phi(alpha) + 1`); round it up for a width.
pub fn a2q_width_bound(k: u64, act_bits: u32, act_signed: bool, weight_bits: u32) -> f64 {
    let alpha = (k as f64).log2() + f64::from(act_bits) + f64::from(weight_bits)
        - 1.0
        - f64::from(u8::from(act_signed));
    alpha + (1.0 + 2f64.powf(-alpha)).log2() + 1.0
}

/// A2Q's bound on the weights' L1 norm for a `acc_bits`-bit signed accumulator.
pub fn a2q_l1_bound(acc_bits: u32, act_bits: u32, act_signed: bool) -> f64 {
    let limit = 2f64.powi(acc_bits as i32 - 1) - 1.0;
    limit * 2f64.powi(i32::from(u8::from(act_signed)) - act_bits as i32)
}

/// The L1 norm of a weight vector.
pub fn l1_norm(weights: &[i64]) -> i128 {
    weights.iter().map(|w| i128::from(*w).abs()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every vector of `k` values in `lo..=hi`.
    fn vectors(k: usize, lo: i128, hi: i128) -> Vec<Vec<i128>> {
        let mut out = vec![vec![]];
        for _ in 0..k {
            out = out
                .into_iter()
                .flat_map(|v| {
                    (lo..=hi).map(move |x| {
                        let mut v = v.clone();
                        v.push(x);
                        v
                    })
                })
                .collect();
        }
        out
    }

    /// Brute force over every weight and activation vector of small shapes: the exact
    /// worst cases are attained and never exceeded, by any partial sum either.
    #[test]
    fn worst_cases_match_brute_force() {
        for k in 1..=3usize {
            for act_bits in 2..=3 {
                for act_signed in [false, true] {
                    for weight_bits in 2..=3 {
                        let (xl, xh) = operand_range(act_bits, act_signed);
                        let (wl, wh) = operand_range(weight_bits, true);
                        let acts = vectors(k, xl, xh);
                        let mut all = Worst { min: 0, max: 0 };
                        for w in vectors(k, wl, wh) {
                            let w64: Vec<i64> = w.iter().map(|v| *v as i64).collect();
                            let want = worst_case_weights(&w64, act_bits, act_signed);
                            let mut seen = Worst { min: 0, max: 0 };
                            for x in &acts {
                                let mut s = 0;
                                for (wi, xi) in w.iter().zip(x) {
                                    s += wi * xi;
                                    assert!(want.min <= s && s <= want.max, "{w:?} {x:?}");
                                }
                                seen.min = seen.min.min(s);
                                seen.max = seen.max.max(s);
                            }
                            assert_eq!(seen, want, "{w:?} {act_bits} {act_signed}");
                            all.min = all.min.min(seen.min);
                            all.max = all.max.max(seen.max);
                        }
                        let k_case = worst_case_k(k as u64, act_bits, act_signed, weight_bits);
                        assert_eq!(all, k_case, "k {k} N {act_bits} M {weight_bits}");
                        // A2Q's data-type bound is never below the exact width.
                        let bound = a2q_width_bound(k as u64, act_bits, act_signed, weight_bits);
                        assert!(f64::from(k_case.signed_width()) <= bound.ceil());
                    }
                }
            }
        }
    }

    /// Weights within A2Q's L1 bound never overflow the accumulator (brute force over
    /// activations), and the bound is tight to within the rounding of max |x| to a power
    /// of two.
    #[test]
    fn a2q_l1_bound_holds() {
        for (acc_bits, act_bits, act_signed) in [(6, 3, false), (6, 3, true), (8, 4, false)] {
            let bound = a2q_l1_bound(acc_bits, act_bits, act_signed);
            let (xl, xh) = operand_range(act_bits, act_signed);
            for w in vectors(3, -6, 6) {
                let w64: Vec<i64> = w.iter().map(|v| *v as i64).collect();
                if l1_norm(&w64) as f64 > bound {
                    continue;
                }
                for x in vectors(3, xl, xh) {
                    let s: i128 = w.iter().zip(&x).map(|(a, b)| a * b).sum();
                    assert!(crate::int::fits(s, acc_bits, true), "{w:?} {x:?}");
                }
            }
        }
    }

    #[test]
    fn familiar_figures() {
        // int8 x int8, K = 1: [-128*127, 128*128] needs 16 bits; K = 4096 adds 12.
        assert_eq!(worst_case_k(1, 8, true, 8).signed_width(), 16);
        assert_eq!(worst_case_k(4096, 8, true, 8).signed_width(), 28);
        // uint8 activations: [0, 255] * [-128, 127] = [-32640, 32385]: 16 bits.
        assert_eq!(worst_case_k(1, 8, false, 8).signed_width(), 16);
        assert_eq!(a2q_l1_bound(16, 8, false), 32767.0 / 256.0);
    }
}
