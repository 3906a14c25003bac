//! `gen rangebn-error`: Range BatchNorm (Banner et al. 2018) against exact BatchNorm,
//! from the models alone. Batches of one channel are drawn from a seeded generator,
//! quantised to the `range-stats` default input (16-bit, 11 fraction bits: sigma = 1 is
//! 2048 LSBs), run through the `range-stats` cycle model, and normalised with
//! `C(n) * mean range` ([`model::rangebn::range_bn_scale`], eps = 0) and with the exact
//! mean and standard deviation of the same quantised values.

use std::io::Write;
use std::path::PathBuf;

use clap::builder::{OsStringValueParser, TypedValueParser};
use clap::Args;
use model::rangebn::norm::Stats;
use model::rangebn::{range_bn_scale, RangeBnParams, RangeStats, RangeStatsParams};

use crate::fit::{file_name, int_in, Cause};
use crate::output::{check_targets, write_table, Target};

/// A failure of `gen rangebn-error`: the message and its cause.
#[derive(Debug)]
pub struct RangeBnErrorError(pub String, pub Cause);

impl RangeBnErrorError {
    /// 2 for bad input, 1 for I/O failures.
    pub fn exit_code(&self) -> i32 {
        self.1.exit_code()
    }
}

/// Flags of `gen rangebn-error`.
#[derive(Args, Debug, Clone)]
pub struct RangeBnErrorArgs {
    /// Batches per (distribution, batch size, chunk size) cell, 2..=100000.
    #[arg(long, value_name = "N", default_value_t = 200, allow_negative_numbers = true,
          value_parser = int_in::<u32>(2, 100_000))]
    pub trials: u32,
    /// Seed of the data generator, 0..=18446744073709551615.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true,
          value_parser = int_in::<u64>(0, u64::MAX.into()))]
    pub seed: u64,
    /// Also write the table (Markdown) to FILE.
    #[arg(long, value_name = "FILE",
          value_parser = OsStringValueParser::new().try_map(file_name))]
    pub output: Option<PathBuf>,
}

/// Batch sizes (values per channel) of the table.
const BATCHES: [u32; 4] = [64, 256, 1024, 4096];
/// Chunk sizes of the table (each with the batches it divides into at least 2 chunks).
const CHUNKS: [u32; 4] = [8, 16, 64, 256];
/// Fraction bits of the quantised inputs (sigma = 1 is 2^11 LSBs).
const FRAC: u32 = 11;

/// The distributions of the study, all with unit standard deviation.
#[derive(Clone, Copy, Debug)]
enum Dist {
    Gaussian,
    Laplacian,
    Uniform,
}

impl Dist {
    fn name(self) -> &'static str {
        match self {
            Dist::Gaussian => "Gaussian",
            Dist::Laplacian => "Laplacian",
            Dist::Uniform => "uniform",
        }
    }
}

/// A xorshift generator of uniform values in (0, 1).
struct Uniform(u64);

impl Uniform {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// One value of `d` (standard deviation 1, mean 0).
    fn draw(&mut self, d: Dist) -> f64 {
        match d {
            Dist::Gaussian => {
                let (u, v) = (self.next(), self.next());
                (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
            }
            // Scale b = 1/sqrt(2): variance 2 b^2 = 1.
            Dist::Laplacian => {
                let u = self.next() - 0.5;
                -u.signum() * (1.0 - 2.0 * u.abs()).ln() / std::f64::consts::SQRT_2
            }
            // Uniform on [-sqrt(3), sqrt(3)]: variance 1.
            Dist::Uniform => (2.0 * self.next() - 1.0) * 3f64.sqrt(),
        }
    }
}

/// One cell's results over its trials.
struct Cell {
    /// C(n) * mean range / std, per batch.
    ratios: Vec<f64>,
    /// Relative RMS error of the Range BN outputs against exact BN, per batch.
    errors: Vec<f64>,
    /// The same after rescaling the Range BN outputs by the cell's mean ratio.
    rescaled: Vec<f64>,
    /// Relative RMS error of the `rangebn` unit's outputs ([`unit_params`]) against
    /// exact BN, per batch.
    unit: Vec<f64>,
}

/// The `rangebn` unit of the study: the batch's statistics, int8 outputs with 5
/// fraction bits (|y| < 4), C(n) in 16 bits, eps = 0 as in the f64 column, the mean
/// with 2 fraction bits, a 24-bit reciprocal.
fn unit_params(p: RangeStatsParams) -> RangeBnParams {
    RangeBnParams {
        stats: p,
        in_frac: FRAC,
        out_bits: 8,
        out_frac: 5,
        cn_bits: 16,
        eps: 0,
        mean_frac: 2,
        recip_bits: 24,
    }
}

/// One batch: the exact BN outputs, the f64 Range BN outputs, the unit's outputs, the
/// standard deviation and `C(n) * mean range`.
type Batch = (Vec<f64>, Vec<f64>, Vec<f64>, f64, f64);

fn batch(rng: &mut Uniform, d: Dist, b: u32, n: u32) -> Batch {
    let p = RangeStatsParams {
        in_bits: 16,
        channels: 1,
        chunk: n,
        max_chunks: (b / n).max(1),
    };
    let lim = f64::from((1u32 << 15) - 1);
    let xs: Vec<i64> = (0..b)
        .map(|_| {
            (rng.draw(d) * f64::from(1u32 << FRAC))
                .round()
                .clamp(-lim - 1.0, lim) as i64
        })
        .collect();
    let mut unit = RangeStats::new(p).expect("valid parameters");
    for (i, &x) in xs.iter().enumerate() {
        unit.beat(i == 0, x);
    }
    let (mean_r, scale_r) = range_bn_scale(&p, &unit.stats()[0]).expect("whole chunks");
    let xf: Vec<f64> = xs.iter().map(|&x| x as f64).collect();
    let mean = xf.iter().sum::<f64>() / xf.len() as f64;
    let var = xf.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xf.len() as f64;
    let std = var.sqrt();
    let exact: Vec<f64> = xf.iter().map(|x| (x - mean) / std).collect();
    let range_bn: Vec<f64> = xf.iter().map(|x| (x - mean_r) / scale_r).collect();
    let q = unit_params(p);
    let s = unit.stats()[0];
    let st = Stats {
        sum: s.sum,
        count: s.count,
        range_sum: s.range_sum,
        chunks: s.chunks,
    };
    let (m, r) = (q.mean(&st), q.recip(&st));
    let lsb = f64::from(1u32 << q.out_frac);
    let unit_y: Vec<f64> = xs
        .iter()
        .map(|&x| q.normalise(x, m, r) as f64 / lsb)
        .collect();
    (exact, range_bn, unit_y, std, scale_r)
}

fn rel_rms(exact: &[f64], approx: &[f64], k: f64) -> f64 {
    let num: f64 = exact
        .iter()
        .zip(approx)
        .map(|(e, a)| (a * k - e).powi(2))
        .sum();
    let den: f64 = exact.iter().map(|e| e * e).sum();
    (num / den).sqrt()
}

fn run_cell(seed: u64, trials: u32, d: Dist, b: u32, n: u32) -> Cell {
    let mut cell = Cell {
        ratios: Vec::new(),
        errors: Vec::new(),
        rescaled: Vec::new(),
        unit: Vec::new(),
    };
    let mut batches = Vec::new();
    let mut rng = Uniform(seed ^ 0x2545_f491_4f6c_dd1d | 1);
    for _ in 0..trials {
        let (exact, rbn, unit_y, std, scale) = batch(&mut rng, d, b, n);
        cell.ratios.push(scale / std);
        cell.errors.push(rel_rms(&exact, &rbn, 1.0));
        cell.unit.push(rel_rms(&exact, &unit_y, 1.0));
        batches.push((exact, rbn));
    }
    let mean_ratio = mean(&cell.ratios);
    cell.rescaled = batches
        .iter()
        .map(|(e, r)| rel_rms(e, r, mean_ratio))
        .collect();
    cell
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn spread(v: &[f64]) -> f64 {
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// Print the table.
pub fn run(args: &RangeBnErrorArgs, stdout: &mut dyn Write) -> Result<(), RangeBnErrorError> {
    if let Some(path) = &args.output {
        check_targets(&[("--output", &Target::from(path.as_path()))]).map_err(output_error)?;
    }
    if !(2..=100_000).contains(&args.trials) {
        return Err(RangeBnErrorError(
            format!(
                "invalid value '{}' for '--trials <N>': {} is not in 2..=100000",
                args.trials, args.trials
            ),
            Cause::BadInput,
        ));
    }
    let mut table = String::from(
        "| distribution | batch | n | C(n) | C(n)·range / std: mean | ± (sd over batches) | \
         rel. RMS error of y | after rescaling by the mean ratio | rangebn unit's y (int8) |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for d in [Dist::Gaussian, Dist::Laplacian, Dist::Uniform] {
        for (bi, &b) in BATCHES.iter().enumerate() {
            for (ni, &n) in CHUNKS.iter().enumerate() {
                if b / n < 2 {
                    continue;
                }
                let seed = args.seed.wrapping_add((bi * 16 + ni) as u64 * 0x9e37_79b9);
                let cell = run_cell(seed, args.trials, d, b, n);
                table += &format!(
                    "| {} | {b} | {n} | {:.4} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
                    d.name(),
                    model::rangebn::c_of_n(n),
                    mean(&cell.ratios),
                    spread(&cell.ratios),
                    mean(&cell.errors),
                    mean(&cell.rescaled),
                    mean(&cell.unit),
                );
            }
        }
    }
    table += &format!(
        "\n{} batches per row (seed {}), one channel, values of unit standard deviation \
         quantised to 16 bits with 11 fraction bits and run through the range-stats model; \
         exact BN uses the mean and population standard deviation of the same quantised \
         values; Range BN uses sum / count and C(n) * range_sum / chunks, eps = 0. \
         The last column is the rangebn unit's model on the same statistics (int8 output \
         with 5 fraction bits, C(n) in 16 bits, eps = 0, mean with 2 fraction bits, \
         24-bit reciprocal). Errors are sqrt(sum (y_rbn - y_bn)^2 / sum y_bn^2), \
         averaged over the batches.\n",
        args.trials, args.seed
    );
    write_table(&table, args.output.as_deref(), stdout).map_err(output_error)
}

/// An output that cannot be written, as this command's error.
fn output_error(e: crate::output::OutputError) -> RangeBnErrorError {
    RangeBnErrorError(e.to_string(), Cause::of_output(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On Gaussian data the statistics track the standard deviation: the mean ratio
    /// grows with n towards 2 (E[range] ~ 2 sqrt(2 ln n) sigma) and its spread over
    /// batches shrinks with the batch; a uniform distribution's range does not grow
    /// with n, so its ratio falls as n grows.
    #[test]
    fn ratios_behave_as_the_theory_says() {
        let g16 = run_cell(3, 100, Dist::Gaussian, 1024, 16);
        let r = mean(&g16.ratios);
        // E[range of 16 Gaussians] = 3.532 sigma; C(16) = 0.4246: 1.500.
        approx::assert_abs_diff_eq!(r, 1.50, epsilon = 0.02);
        let g16_small = run_cell(3, 100, Dist::Gaussian, 64, 16);
        assert!(spread(&g16_small.ratios) > 1.5 * spread(&g16.ratios));
        let u8 = mean(&run_cell(3, 100, Dist::Uniform, 1024, 8).ratios);
        let u256 = mean(&run_cell(3, 100, Dist::Uniform, 1024, 256).ratios);
        assert!(u256 < u8, "{u8} {u256}");
        // The rescaled error is the batch-to-batch noise only: smaller than the raw one.
        assert!(mean(&g16.rescaled) < mean(&g16.errors));
        // The rangebn unit's int8 output adds only its rounding to the f64 error.
        let (u, f) = (mean(&g16.unit), mean(&g16.errors));
        approx::assert_abs_diff_eq!(u, f, epsilon = 0.003);
    }

    #[test]
    fn bad_trials_are_bad_input() {
        let args = RangeBnErrorArgs {
            trials: 1,
            seed: 1,
            output: None,
        };
        let e = run(&args, &mut Vec::new()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.0.contains("--trials"), "{}", e.0);
    }
}
