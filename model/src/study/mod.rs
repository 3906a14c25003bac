//! Error studies: how far a unit's result is from the real-valued computation it stands
//! for, on a workload of real vectors (docs/sweep.md, "The error stage").
//!
//! A [`Workload`] is `trials` pairs of real vectors `(x, w)` of length `k`: activations
//! and weights, drawn from a named distribution or read from `.npy` files. A unit that
//! approximates a real computation says, in [`crate::Unit::study`], how it maps real
//! values to its operand codes (its own quantization, with the scale documented there),
//! runs its bit-exact model and decodes the result; [`Errors::of`] compares the results
//! with the exact real values:
//!
//! - a dot-product unit (MAC, accumulators, block formats, log domains) gives one result
//!   per trial, `x . w`, against the f64 dot product of the unquantized vectors: the error
//!   is everything the unit adds, operand quantization and accumulation together;
//! - a quantizer gives one result per element of `x`, its dequantized value, against the
//!   element itself.
//!
//! The metrics are normalised by the exact results' energy, so that a near-zero dot
//! product does not dominate: `rel_rms = sqrt(sum (got - exact)^2 / sum exact^2)`,
//! `snr_db = -20 log10(rel_rms)`, `max_rel = max |got - exact| / sqrt(mean exact^2)`.

use std::fmt;

use crate::unit::Sampler;

pub mod block;
pub mod float;
pub mod int;
pub mod log;

/// A named synthetic distribution of a workload's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dist {
    /// x and w standard normal.
    Gaussian,
    /// x and w Laplace with scale 1 (heavier tails, like trained weights).
    Laplace,
    /// x and w uniform in [-1, 1).
    Uniform,
    /// x = max(0, N(0, 1)) (activations after a ReLU), w standard normal.
    Relu,
}

impl Dist {
    /// Every distribution, in the order the docs list them.
    pub const ALL: [Dist; 4] = [Dist::Gaussian, Dist::Laplace, Dist::Uniform, Dist::Relu];

    /// The name a spec uses.
    pub fn name(self) -> &'static str {
        match self {
            Dist::Gaussian => "gaussian",
            Dist::Laplace => "laplace",
            Dist::Uniform => "uniform",
            Dist::Relu => "relu",
        }
    }

    /// The distribution called `name`, if any.
    pub fn from_name(name: &str) -> Option<Dist> {
        Dist::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// `trials` pairs of real vectors of length `k`, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Where the values came from, for reports: `gaussian`, or the file names.
    pub name: String,
    pub k: usize,
    pub trials: usize,
    /// Activations, `trials` rows of `k`.
    pub x: Vec<f64>,
    /// Weights, the same shape.
    pub w: Vec<f64>,
}

/// A uniform double in (0, 1) from 53 random bits.
fn unit_interval(rng: &mut Sampler) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// A standard normal draw (Box-Muller, one of the pair).
fn normal(rng: &mut Sampler) -> f64 {
    let (u, v) = (unit_interval(rng), unit_interval(rng));
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

impl Workload {
    /// `trials` pairs of length-`k` vectors from `dist`, the same for the same seed.
    pub fn synthetic(dist: Dist, k: usize, trials: usize, seed: u64) -> Workload {
        let mut rng = Sampler::new(seed ^ 0x005e_ed0f_e770);
        let n = k * trials;
        let mut draw = |activation: bool| -> f64 {
            match dist {
                Dist::Gaussian => normal(&mut rng),
                Dist::Relu if activation => normal(&mut rng).max(0.0),
                Dist::Relu => normal(&mut rng),
                Dist::Uniform => 2.0 * unit_interval(&mut rng) - 1.0,
                Dist::Laplace => {
                    let u = unit_interval(&mut rng) - 0.5;
                    -u.signum() * (1.0 - 2.0 * u.abs()).ln()
                }
            }
        };
        let mut x = Vec::with_capacity(n);
        let mut w = Vec::with_capacity(n);
        for _ in 0..n {
            x.push(draw(true));
            w.push(draw(false));
        }
        Workload {
            name: dist.name().to_string(),
            k,
            trials,
            x,
            w,
        }
    }

    /// A workload from given rows (e.g. `.npy` tensors): `x` and `w` hold `trials * k`
    /// finite values each.
    pub fn from_rows(
        name: impl Into<String>,
        k: usize,
        x: Vec<f64>,
        w: Vec<f64>,
    ) -> Result<Workload, String> {
        if k == 0 || x.is_empty() || !x.len().is_multiple_of(k) {
            return Err(format!("{} values are not whole rows of {k}", x.len()));
        }
        if w.len() != x.len() {
            return Err(format!(
                "the weights hold {} values and the activations {}: they must have the same shape",
                w.len(),
                x.len()
            ));
        }
        if let Some(v) = x.iter().chain(&w).find(|v| !v.is_finite()) {
            return Err(format!("{v} is not a finite value"));
        }
        Ok(Workload {
            name: name.into(),
            k,
            trials: x.len() / k,
            x,
            w,
        })
    }

    /// The activation rows.
    pub fn x_rows(&self) -> impl Iterator<Item = &[f64]> {
        self.x.chunks_exact(self.k)
    }

    /// The weight rows.
    pub fn w_rows(&self) -> impl Iterator<Item = &[f64]> {
        self.w.chunks_exact(self.k)
    }

    /// The metrics of a dot-product unit on this workload: `row(x, w)` gives the unit's
    /// real result and whether it flagged it, for one row pair; each is compared with
    /// the exact dot product.
    pub fn dot_errors(&self, mut row: impl FnMut(&[f64], &[f64]) -> (f64, bool)) -> Errors {
        let results: Vec<(f64, f64, bool)> = self
            .x_rows()
            .zip(self.w_rows())
            .zip(self.exact_dots())
            .map(|((x, w), exact)| {
                let (got, flagged) = row(x, w);
                (got, exact, flagged)
            })
            .collect();
        Errors::of(&results)
    }

    /// The exact (f64) dot product of each row pair.
    pub fn exact_dots(&self) -> Vec<f64> {
        self.x_rows()
            .zip(self.w_rows())
            .map(|(x, w)| x.iter().zip(w).map(|(a, b)| a * b).sum())
            .collect()
    }
}

/// The largest magnitude of `values` (0 for none).
pub fn amax(values: &[f64]) -> f64 {
    values.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Round `v / scale` to the nearest integer (ties to even) and clamp it to `lo ..= hi`:
/// the symmetric per-tensor quantization the integer units' studies use.
pub fn quantize_int(v: f64, scale: f64, lo: i64, hi: i64) -> i64 {
    if scale == 0.0 {
        return 0;
    }
    let q = (v / scale).round_ties_even();
    q.clamp(lo as f64, hi as f64) as i64
}

/// What a unit's results were, against the exact ones.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Errors {
    /// Results compared.
    pub results: usize,
    /// `sqrt(sum (got - exact)^2 / sum exact^2)`.
    pub rel_rms: f64,
    /// `-20 log10(rel_rms)`, capped at 300 dB (exact results).
    pub snr_db: f64,
    /// `max |got - exact| / sqrt(mean exact^2)`.
    pub max_rel: f64,
    /// Share of results the unit flagged (saturation, overflow), 0..=1.
    pub flagged: f64,
}

/// Why a study could not run on a workload (e.g. longer rows than the unit counts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StudyError(pub String);

impl fmt::Display for StudyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StudyError {}

impl Errors {
    /// The metrics of `(got, exact, flagged)` results. An exact set of zero results
    /// compares by absolute error (`rel_rms` infinite if any result differs).
    pub fn of(results: &[(f64, f64, bool)]) -> Errors {
        let n = results.len().max(1) as f64;
        let (mut err2, mut ref2, mut worst, mut flagged) = (0.0, 0.0, 0.0f64, 0usize);
        for &(got, exact, flag) in results {
            let d = got - exact;
            err2 += d * d;
            ref2 += exact * exact;
            worst = worst.max(d.abs());
            flagged += usize::from(flag);
        }
        let rel_rms = if err2 == 0.0 {
            0.0
        } else {
            (err2 / ref2).sqrt()
        };
        let rms = (ref2 / n).sqrt();
        Errors {
            results: results.len(),
            rel_rms,
            snr_db: if rel_rms == 0.0 {
                300.0
            } else {
                (-20.0 * rel_rms.log10()).min(300.0)
            },
            max_rel: if worst == 0.0 { 0.0 } else { worst / rms },
            flagged: flagged as f64 / n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_workloads_repeat_and_have_their_shape() {
        for d in Dist::ALL {
            let a = Workload::synthetic(d, 16, 3, 7);
            assert_eq!(a, Workload::synthetic(d, 16, 3, 7));
            assert_ne!(a.x, Workload::synthetic(d, 16, 3, 8).x);
            assert_eq!((a.x.len(), a.w.len(), a.trials), (48, 48, 3));
            assert_eq!(Dist::from_name(d.name()), Some(d));
        }
        let relu = Workload::synthetic(Dist::Relu, 1000, 1, 1);
        assert!(relu.x.iter().all(|v| *v >= 0.0) && relu.w.iter().any(|v| *v < 0.0));
        let u = Workload::synthetic(Dist::Uniform, 1000, 1, 1);
        assert!(u.x.iter().all(|v| (-1.0..1.0).contains(v)));
    }

    #[test]
    fn moments_of_the_distributions() {
        // Mean 0 and variance 1 (normal), 2 (Laplace, b = 1), 1/3 (uniform).
        for (d, var) in [
            (Dist::Gaussian, 1.0),
            (Dist::Laplace, 2.0),
            (Dist::Uniform, 1.0 / 3.0),
        ] {
            let w = Workload::synthetic(d, 100_000, 1, 3);
            let mean = w.x.iter().sum::<f64>() / 1e5;
            let v = w.x.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 1e5;
            assert!(mean.abs() < 0.02, "{d:?} mean {mean}");
            assert!((v / var - 1.0).abs() < 0.03, "{d:?} variance {v}");
        }
    }

    #[test]
    fn the_metrics_on_a_worked_case() {
        // Exact 3 and 4 (energy 25, rms sqrt(12.5)); errors 0.3 and 0 -> rel_rms 0.06.
        let e = Errors::of(&[(3.3, 3.0, true), (4.0, 4.0, false)]);
        assert!((e.rel_rms - 0.06).abs() < 1e-12);
        assert!((e.snr_db - 24.436_974_992_327_13).abs() < 1e-9);
        assert!((e.max_rel - 0.3 / 12.5f64.sqrt()).abs() < 1e-12);
        assert_eq!((e.flagged, e.results), (0.5, 2));
        let exact = Errors::of(&[(1.0, 1.0, false)]);
        assert_eq!(
            (exact.rel_rms, exact.snr_db, exact.max_rel),
            (0.0, 300.0, 0.0)
        );
    }

    #[test]
    fn rows_from_files_are_checked() {
        assert!(Workload::from_rows("t", 2, vec![1.0; 4], vec![1.0; 4]).is_ok());
        assert!(Workload::from_rows("t", 3, vec![1.0; 4], vec![1.0; 4]).is_err());
        assert!(Workload::from_rows("t", 2, vec![1.0; 4], vec![1.0; 2]).is_err());
        assert!(Workload::from_rows("t", 2, vec![f64::NAN; 2], vec![1.0; 2]).is_err());
        let w = Workload::from_rows("t", 2, vec![1.0, 2.0, 3.0, 4.0], vec![1.0; 4]).unwrap();
        assert_eq!(w.exact_dots(), vec![3.0, 7.0]);
        assert_eq!(quantize_int(2.5, 1.0, -8, 7), 2);
        assert_eq!(quantize_int(-100.0, 1.0, -8, 7), -8);
    }
}
