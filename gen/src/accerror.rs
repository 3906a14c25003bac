//! `gen acc-error`: the accuracy of narrow accumulators, from the models alone. Dot
//! products of Gaussian int8 operands (fixed seed) are accumulated by `fpacc` in the
//! acc12 format (with and without chunks), bf16 and fp32, and by the 12-bit saturating
//! integer MAC; the table gives the mean and worst relative error against the exact sum.

use std::io::Write;
use std::path::PathBuf;

use clap::builder::{OsStringValueParser, TypedValueParser};
use clap::Args;
use model::fpacc::{FpaccParams, FpaccSum, Operand, Preset, SrFields};
use model::mac::{accumulate, Overflow};

use crate::fit::{file_name, int_in, real_in, Cause};
use crate::output::{check_targets, write_table, Target};

/// A failure of `gen acc-error`: the message (naming the flag or file) and its cause.
#[derive(Debug)]
pub struct AccErrorError(pub String, pub Cause);

impl AccErrorError {
    /// 2 for bad input, 1 for I/O failures.
    pub fn exit_code(&self) -> i32 {
        self.1.exit_code()
    }
}

/// Flags of `gen acc-error`.
#[derive(Args, Debug, Clone)]
pub struct AccErrorArgs {
    /// Dot products per length, 1..=100000.
    #[arg(long, value_name = "N", default_value_t = 200, allow_negative_numbers = true,
          value_parser = int_in::<u32>(1, 100_000))]
    pub trials: u32,
    /// Standard deviation of the Gaussian int8 operands (rounded, clipped to +-127), in
    /// (0, 1000].
    #[arg(long, value_name = "SIGMA", default_value_t = 32.0, allow_hyphen_values = true,
          value_parser = real_in(0.0, 1000.0))]
    pub sigma: f64,
    /// Seed of the operand generator, 0..=18446744073709551615.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true,
          value_parser = int_in::<u64>(0, u64::MAX.into()))]
    pub seed: u64,
    /// Also write the table (Markdown) to FILE.
    #[arg(long, value_name = "FILE",
          value_parser = OsStringValueParser::new().try_map(file_name))]
    pub output: Option<PathBuf>,
}

/// Dot-product lengths of the table.
const LENGTHS: [usize; 3] = [256, 1024, 4096];

/// One accumulator under test.
enum Acc {
    Float(&'static str, FpaccParams),
    IntMac(&'static str, u32),
}

impl Acc {
    fn name(&self) -> &'static str {
        match self {
            Acc::Float(n, _) | Acc::IntMac(n, _) => n,
        }
    }

    /// The accumulated value of `a . b` and whether a flag (uf/of, ovf) was raised; the
    /// operands are int8 values scaled by 2^-frac for the float formats.
    /// `rnd` is the state of the random words stochastic rounding takes.
    fn dot(&self, a: &[i8], b: &[i8], rnd: &mut u64) -> (f64, bool) {
        match self {
            Acc::Float(_, p) => {
                let mut s = FpaccSum::new(*p);
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    let (x, y) = (*x as u8 as u64, *y as u8 as u64);
                    match p.sr {
                        Some(sr) => s.push_sr(i == 0, x, y, sr, xorshift(rnd)),
                        None => s.push(i == 0, x, y),
                    }
                }
                (p.acc.decode(s.acc).to_f64() * scale(p), s.uf || s.of)
            }
            Acc::IntMac(_, bits) => {
                let (mut acc, mut ovf) = (0i128, false);
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    let term = i128::from(*x) * i128::from(*y);
                    (acc, ovf) =
                        accumulate(acc, ovf, i == 0, term, *bits, true, Overflow::Saturate);
                }
                (acc as f64, ovf)
            }
        }
    }
}

/// The factor that brings a float accumulator's value back to integer-product units.
fn scale(p: &FpaccParams) -> f64 {
    match p.operand {
        Operand::Int { frac, .. } => 2f64.powi(2 * frac as i32),
        Operand::Float { .. } => 1.0,
    }
}

fn float_acc(preset: Preset, frac: u32, chunk: u32) -> FpaccParams {
    let f = preset.format();
    FpaccParams {
        operand: Operand::int(8, frac),
        product: f,
        acc: f,
        chunk,
        ..FpaccParams::default()
    }
}

/// The next word of a xorshift generator.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// `p` with stochastic rounding, 8 random bits per rounding.
fn stochastic(p: FpaccParams) -> FpaccParams {
    FpaccParams {
        sr: Some(SrFields { bits: 8 }),
        ..p
    }
}

/// Gaussian int8 values (Box-Muller on a xorshift generator), rounded and clipped.
fn gaussian_int8(state: &mut u64, sigma: f64, n: usize) -> Vec<i8> {
    let mut uniform = || ((xorshift(state) >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    (0..n)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            let g = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos();
            (g * sigma).round().clamp(-127.0, 127.0) as i8
        })
        .collect()
}

/// Print the table.
pub fn run(args: &AccErrorArgs, stdout: &mut dyn Write) -> Result<(), AccErrorError> {
    // A file that cannot be written is refused before the study runs, not after.
    if let Some(path) = &args.output {
        check_targets(&[("--output", &Target::from(path.as_path()))]).map_err(output_error)?;
    }
    // The parser checks these; a library caller may not have used it.
    if !(args.sigma > 0.0 && args.sigma <= 1000.0) {
        return Err(AccErrorError(
            format!(
                "invalid value '{}' for '--sigma <SIGMA>': {} is not in (0, 1000]",
                args.sigma, args.sigma
            ),
            Cause::BadInput,
        ));
    }
    if !(1..=100_000).contains(&args.trials) {
        return Err(AccErrorError(
            format!(
                "invalid value '{}' for '--trials <N>': {} is not in 1..=100000",
                args.trials, args.trials
            ),
            Cause::BadInput,
        ));
    }
    // acc12's range is 2^-9 .. 63.75: its operands are read as Q0.7 (q / 128), which
    // puts int8 products in (-1, 1] and sums of 4096 of them well inside the range.
    let accs = [
        Acc::Float("acc12 (E4M7, bias 10)", float_acc(Preset::Acc12, 7, 0)),
        Acc::Float("acc12, chunks of 16", float_acc(Preset::Acc12, 7, 16)),
        Acc::Float("acc12, chunks of 64", float_acc(Preset::Acc12, 7, 64)),
        Acc::Float(
            "acc12, SR (R = 8)",
            stochastic(float_acc(Preset::Acc12, 7, 0)),
        ),
        Acc::Float("bf16 (E8M7)", float_acc(Preset::Bf16, 0, 0)),
        Acc::Float(
            "bf16, SR (R = 8)",
            stochastic(float_acc(Preset::Bf16, 0, 0)),
        ),
        Acc::Float("bf16, chunks of 16", float_acc(Preset::Bf16, 0, 16)),
        Acc::Float("fp32 (E8M23)", float_acc(Preset::Fp32, 0, 0)),
        Acc::IntMac("int12 saturating MAC", 12),
        Acc::IntMac("int16 saturating MAC", 16),
    ];
    let mut state = args.seed ^ 0x2545_f491_4f6c_dd1d | 1;
    // Stochastic rounding's random words: their own generator, so the operands are the
    // same as without the SR rows.
    let mut rnd = args.seed ^ 0x9e37_79b9_7f4a_7c15 | 1;
    // stats[acc][length] = (relative errors, runs with a flag)
    let mut stats = vec![vec![(Vec::new(), 0u32); LENGTHS.len()]; accs.len()];
    let mut skipped = 0;
    for (li, &k) in LENGTHS.iter().enumerate() {
        for _ in 0..args.trials {
            let a = gaussian_int8(&mut state, args.sigma, k);
            let b = gaussian_int8(&mut state, args.sigma, k);
            let exact: i64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| i64::from(*x) * i64::from(*y))
                .sum();
            if exact == 0 {
                skipped += 1;
                continue;
            }
            for (ai, acc) in accs.iter().enumerate() {
                let (v, flag) = acc.dot(&a, &b, &mut rnd);
                let rel = (v - exact as f64).abs() / (exact as f64).abs();
                let s = &mut stats[ai][li];
                s.0.push(rel);
                s.1 += u32::from(flag);
            }
        }
    }
    let mut table = format!(
        "Relative error of the accumulated dot product against the exact sum: mean, median \
         and worst over {} dot products per length of Gaussian int8 operands (sigma {}, clipped to \
         +-127, seed {}); flagged = runs that set uf/of (float) or ovf (integer).\n\n",
        args.trials, args.sigma, args.seed
    );
    table += "| accumulator |";
    for k in LENGTHS {
        table += &format!(" K={k} mean | median | worst | flagged |");
    }
    table += "\n|---|";
    table += &"---:|---:|---:|---:|".repeat(LENGTHS.len());
    table += "\n";
    for (ai, acc) in accs.iter().enumerate() {
        table += &format!("| {} |", acc.name());
        for (errors, flagged) in &stats[ai] {
            let mut sorted = errors.clone();
            sorted.sort_by(f64::total_cmp);
            let runs = sorted.len().max(1);
            let mean = sorted.iter().sum::<f64>() / runs as f64;
            let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
            let worst = sorted.last().copied().unwrap_or(0.0);
            table += &format!(
                " {} | {} | {} | {}% |",
                sci(mean),
                sci(median),
                sci(worst),
                (100 * *flagged as usize).div_ceil(runs)
            );
        }
        table += "\n";
    }
    table += "\nThe mean is pulled up by the few dot products whose exact sum is close to zero; \
              the median is the typical case. acc12 reads the int8 operands as Q0.7 (q / 128) so that products and sums \
              fall inside its range 2^-9 .. 63.75; products are rounded to E4M7 before the \
              sum (docs/fpacc.md). bf16 and fp32 round products and sums RNE without \
              subnormals. SR: stochastic rounding of products and sums, 8 random bits each \
              (docs/fpacc.md). Chunks: an inner sum of n products from zero, added to the outer \
              sum when complete.";
    if skipped > 0 {
        table += &format!(" {skipped} dot products with an exact sum of 0 were skipped.");
    }
    table += "\n";
    write_table(&table, args.output.as_deref(), stdout).map_err(output_error)
}

/// An output that cannot be written, as this command's error.
fn output_error(e: crate::output::OutputError) -> AccErrorError {
    AccErrorError(e.to_string(), Cause::of_output(&e))
}

/// A relative error in three significant digits (0 for exact).
fn sci(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{x:.2e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Library callers that bypass the parser get bad-input errors (2) naming the flag;
    /// an --output in a folder that does not exist is bad input too (2).
    #[test]
    fn exit_codes() {
        let args = AccErrorArgs {
            trials: 1,
            sigma: f64::NAN,
            seed: 1,
            output: None,
        };
        let e = run(&args, &mut Vec::new()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.0.contains("'--sigma <SIGMA>'"), "{}", e.0);
        let e = run(
            &AccErrorArgs {
                trials: 0,
                sigma: 32.0,
                ..args.clone()
            },
            &mut Vec::new(),
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.0.contains("'--trials <N>': 0 is not in 1..=100000"),
            "{}",
            e.0
        );
        let output = Some(std::path::PathBuf::from("/nonexistent-dir/acc-error.md"));
        let e = run(
            &AccErrorArgs {
                sigma: 32.0,
                output,
                ..args
            },
            &mut Vec::new(),
        )
        .unwrap_err();
        // A folder that does not exist is bad input, refused before the study runs.
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn accumulators_agree_with_exact_sums_where_they_must() {
        let mut state = 7;
        let a = gaussian_int8(&mut state, 32.0, 256);
        let b = gaussian_int8(&mut state, 32.0, 256);
        let exact: i64 = a
            .iter()
            .zip(&b)
            .map(|(x, y)| i64::from(*x) * i64::from(*y))
            .sum();
        // fp32 holds every partial sum of 256 int8 products exactly (< 2^24).
        let fp32 = Acc::Float("fp32", float_acc(Preset::Fp32, 0, 0));
        let r = &mut 1;
        assert_eq!(fp32.dot(&a, &b, r), (exact as f64, false));
        // A 32-bit integer MAC is exact too.
        assert_eq!(
            Acc::IntMac("int32", 32).dot(&a, &b, r),
            (exact as f64, false)
        );
        // The 12-bit MAC saturates on large sums.
        let big = vec![127i8; 256];
        assert_eq!(Acc::IntMac("int12", 12).dot(&big, &big, r), (2047.0, true));
    }
}
