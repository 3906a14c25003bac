//! DNA-TEQ-style fitting of an exponential quantization to a tensor ([`fit`]).

use serde::Serialize;

/// One exponential quantization of a tensor found by [`fit`]: `1 + exp_bits` bits per
/// value, of which one exponent code is reserved for zero, so `2^exp_bits - 1` levels
/// `alpha * (b^(e + e_min) + offset)`, `e = 0 ..= 2^exp_bits - 2`, with `e_min =
/// -(2^exp_bits - 2)` (the top level is `alpha * (1 + offset)`). The paper's levels
/// `alpha b^e + beta` with `offset = beta / alpha`: `expq_dot --offset-w/--offset-a`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Fit {
    pub bits: u32,
    pub exp_bits: u32,
    pub base: f64,
    pub alpha: f64,
    pub exp_min: i32,
    /// The offset `o = beta / alpha` of the levels (0: the plain exponential levels).
    pub offset: f64,
    /// Mean squared error over the tensor.
    pub mse: f64,
    /// Mean squared error of the best fit with offset 0 (the same as `mse` when the best
    /// offset is 0).
    pub mse_no_offset: f64,
}

/// The error measure [`fit`] minimizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Mean squared error.
    Mse,
    /// Mean absolute error.
    Mae,
}

/// Quantize `x` to the nearest of `levels` (ascending magnitudes) in the linear domain,
/// ties to the smaller magnitude, zero when `|x| <= levels[0] / 2` (the rule of
/// `expq_quant`).
pub fn quantize_to_levels(x: f64, levels: &[f64]) -> f64 {
    let m = x.abs();
    if m <= levels[0] / 2.0 {
        return 0.0;
    }
    let i = levels.partition_point(|l| *l < m);
    // Below the first level, above the last, or between two: the nearer, ties down.
    let q = if i == 0 {
        levels[0]
    } else if i < levels.len() && levels[i] - m < m - levels[i - 1] {
        levels[i]
    } else {
        levels[i - 1]
    };
    q.copysign(x)
}

fn error(values: &[f32], metric: Metric, q: impl Fn(f64) -> f64) -> (f64, f64) {
    let (mut se, mut ae) = (0.0, 0.0);
    for v in values {
        let x = f64::from(*v);
        let d = x - q(x);
        se += d * d;
        ae += d.abs();
    }
    let n = values.len().max(1) as f64;
    let (mse, mae) = (se / n, ae / n);
    (
        match metric {
            Metric::Mse => mse,
            Metric::Mae => mae,
        },
        mse,
    )
}

/// Mean squared error of symmetric uniform quantization to `bits`-bit integers with one
/// per-tensor scale `max|x| / (2^(bits-1) - 1)` and round to nearest (the INT8/INT4
/// baselines).
pub fn uniform_mse(values: &[f32], bits: u32) -> f64 {
    let max = values.iter().fold(0f64, |m, v| m.max(f64::from(*v).abs()));
    if max == 0.0 {
        return 0.0;
    }
    let qmax = f64::from((1u32 << (bits - 1)) - 1);
    let scale = max / qmax;
    error(values, Metric::Mse, |x| {
        (x / scale).round_ties_even().clamp(-qmax, qmax) * scale
    })
    .1
}

/// The offsets [`fit`] tries besides 0 (dyadic, so exact as `--offset-w` decimals).
pub const FIT_OFFSETS: [f64; 6] = [0.03125, 0.0625, 0.125, 0.25, 0.5, 1.0];

/// DNA-TEQ-style search: for a tensor and `bits` bits per value (1 sign bit and
/// `bits - 1` exponent bits), the base, top level and offset that minimize `metric`.
/// Offset 0: the base runs over a grid from 1.05 to 4 (ratio steps of 1%), the top level
/// over fractions of `max|x|` from 0.25 to 1 (the clipping point, steps of 1/40 of the
/// range). Each offset of [`FIT_OFFSETS`]: the same ranges coarser (ratio steps of 3%,
/// 16 top levels), then the finer grid around the best point of that offset. The offset
/// is kept only if it lowers the error. Deterministic.
pub fn fit(values: &[f32], bits: u32, metric: Metric) -> Fit {
    let exp_bits = bits - 1;
    let count = (1usize << exp_bits) - 1;
    let max = values.iter().fold(0f64, |m, v| m.max(f64::from(*v).abs()));
    let exp_min = -(count as i32 - 1);
    // Score and fit of levels alpha * (b^(e + e_min) + o) whose top is `top`.
    let try_levels = |base: f64, top: f64, offset: f64| -> Option<(f64, Fit)> {
        if top == 0.0 {
            return None;
        }
        let alpha = top / (1.0 + offset);
        let levels: Vec<f64> = (0..count)
            .map(|i| alpha * (base.powi(i as i32 - (count as i32 - 1)) + offset))
            .collect();
        let (score, mse) = error(values, metric, |x| quantize_to_levels(x, &levels));
        let fit = Fit {
            bits,
            exp_bits,
            base,
            alpha,
            exp_min,
            offset,
            mse,
            mse_no_offset: mse,
        };
        Some((score, fit))
    };
    let keep = |best: &mut Option<(f64, Fit)>, cand: Option<(f64, Fit)>| {
        if let Some((score, f)) = cand {
            if best.as_ref().is_none_or(|(s, _)| score < *s) {
                *best = Some((score, f));
            }
        }
    };
    let top_of = |step: f64, steps: f64| max * (0.25 + 0.75 * step / steps);
    let mut plain: Option<(f64, Fit)> = None;
    let mut base = 1.05f64;
    while base <= 4.0 {
        for step in 0..=30 {
            keep(
                &mut plain,
                try_levels(base, top_of(f64::from(step), 30.0), 0.0),
            );
        }
        base *= 1.01;
    }
    let mut best = plain;
    for offset in FIT_OFFSETS {
        let mut coarse: Option<(f64, Fit)> = None;
        let mut base = 1.05f64;
        while base <= 4.0 {
            for step in 0..=15 {
                keep(
                    &mut coarse,
                    try_levels(base, top_of(f64::from(step), 15.0), offset),
                );
            }
            base *= 1.03;
        }
        let Some((_, c)) = coarse else { continue };
        let mut fine = coarse;
        let top = c.alpha * (1.0 + offset);
        for db in -3..=3 {
            for dt in -2..=2 {
                let t = (top + max * 0.75 * f64::from(dt) / 40.0).clamp(0.25 * max, max);
                keep(&mut fine, try_levels(c.base * 1.01f64.powi(db), t, offset));
            }
        }
        keep(&mut best, fine);
    }
    let plain_mse = plain.map_or(0.0, |(_, f)| f.mse);
    best.map(|(_, f)| Fit {
        mse_no_offset: plain_mse,
        ..f
    })
    .unwrap_or(Fit {
        bits,
        exp_bits,
        base: 2.0,
        alpha: 0.0,
        exp_min: 0,
        offset: 0.0,
        mse: 0.0,
        mse_no_offset: 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_finds_exact_levels_and_beats_uniform_on_exponential_data() {
        // Powers of two times 3: a 4-bit fit with base 2 reproduces them exactly.
        let values: Vec<f32> = (0..7)
            .flat_map(|i| [3.0 * 2f32.powi(-i), -3.0 * 2f32.powi(-i)])
            .collect();
        let f = fit(&values, 4, Metric::Mse);
        assert!(f.mse < 1e-4, "{f:?}");
        approx::assert_abs_diff_eq!(f.alpha, 3.0, epsilon = 1e-9);
        assert_eq!(f.offset, 0.0, "exact without an offset");
        approx::assert_abs_diff_eq!(f.base, 2.0, epsilon = 0.03);
        // Uniform INT4 on the same values loses the small ones.
        assert!(uniform_mse(&values, 4) > 100.0 * f.mse.max(1e-9));
        assert_eq!(
            quantize_to_levels(1.5, &[1.0, 2.0]),
            1.0,
            "ties to the smaller"
        );
        assert_eq!(
            quantize_to_levels(-0.5, &[1.0, 2.0]),
            0.0,
            "half the smallest: zero"
        );
        assert_eq!(quantize_to_levels(-9.0, &[1.0, 2.0]), -2.0);
    }

    /// Levels 2^-i + 0.5 (the paper's beta = alpha / 2) are found with their offset, and
    /// the offset is what makes them exact.
    #[test]
    fn fit_finds_an_offset() {
        let values: Vec<f32> = (0..7)
            .flat_map(|i| {
                let l = 2f32.powi(-i) + 0.5;
                [l, -l]
            })
            .collect();
        let f = fit(&values, 4, Metric::Mse);
        assert_eq!(f.offset, 0.5, "{f:?}");
        approx::assert_abs_diff_eq!(f.base, 2.0, epsilon = 0.03);
        assert!(
            f.mse < 1e-4 && f.mse_no_offset > 100.0 * f.mse.max(1e-9),
            "{f:?}"
        );
    }
}
