//! DNA-TEQ-style fitting of an exponential quantization to a tensor ([`fit`]).

use serde::Serialize;

/// One exponential quantization of a tensor found by [`fit`]: `1 + exp_bits` bits per
/// value, of which one exponent code is reserved for zero, so `2^exp_bits - 1` levels
/// `alpha * b^(e + e_min)`, `e = 0 ..= 2^exp_bits - 2`, with `e_min = -(2^exp_bits - 2)`
/// (the top level is `alpha`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Fit {
    pub bits: u32,
    pub exp_bits: u32,
    pub base: f64,
    pub alpha: f64,
    pub exp_min: i32,
    /// Mean squared error over the tensor.
    pub mse: f64,
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

/// DNA-TEQ-style search: for a tensor and `bits` bits per value (1 sign bit and
/// `bits - 1` exponent bits), the base and top level that minimize `metric`. The base
/// runs over a grid from 1.05 to 4 (ratio steps of 1%), the top level over fractions of
/// `max|x|` from 0.25 to 1 (the clipping point). Deterministic.
pub fn fit(values: &[f32], bits: u32, metric: Metric) -> Fit {
    let exp_bits = bits - 1;
    let count = (1usize << exp_bits) - 1;
    let max = values.iter().fold(0f64, |m, v| m.max(f64::from(*v).abs()));
    let mut best: Option<(f64, Fit)> = None;
    let mut base = 1.05f64;
    while base <= 4.0 {
        for step in 0..=30 {
            let top = max * (0.25 + 0.75 * f64::from(step) / 30.0);
            if top == 0.0 {
                continue;
            }
            let levels: Vec<f64> = (0..count)
                .map(|i| top * base.powi(i as i32 - (count as i32 - 1)))
                .collect();
            let (score, mse) = error(values, metric, |x| quantize_to_levels(x, &levels));
            if best.as_ref().is_none_or(|(s, _)| score < *s) {
                let fit = Fit {
                    bits,
                    exp_bits,
                    base,
                    alpha: top,
                    exp_min: -(count as i32 - 1),
                    mse,
                };
                best = Some((score, fit));
            }
        }
        base *= 1.01;
    }
    best.map(|(_, f)| f).unwrap_or(Fit {
        bits,
        exp_bits,
        base: 2.0,
        alpha: 0.0,
        exp_min: 0,
        mse: 0.0,
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
}
