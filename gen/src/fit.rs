//! `gen fit`: DNA-TEQ-style exponential quantization of a tensor (a `.npy` file of
//! float32/float64, or plain text numbers), or of synthetic tensors with fixed seeds,
//! next to INT8 and INT4 uniform quantization of the same values.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use model::expq::{fit, uniform_mse, Fit, Metric};

/// Synthetic tensor shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Synthetic {
    Gaussian,
    Laplacian,
    Exponential,
    Uniform,
    /// All four, one table.
    All,
}

/// Flags of `gen fit`.
#[derive(Args, Debug, Clone)]
pub struct FitArgs {
    /// The tensor: a .npy file (float32 or float64, any shape) or a text file of numbers
    /// separated by spaces, commas or newlines.
    #[arg(value_name = "FILE", required_unless_present = "synthetic")]
    pub file: Option<PathBuf>,
    /// Use a synthetic tensor instead of a file (fixed seed).
    #[arg(long, value_enum, conflicts_with = "file")]
    pub synthetic: Option<Synthetic>,
    /// Values in a synthetic tensor, 1..=10000000.
    #[arg(long, default_value_t = 65536,
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub count: u32,
    /// Seed of the synthetic tensor.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Bit budget per value (sign and exponent), 2..=8: every width up to it is fitted.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..=8))]
    pub bits: u32,
    /// The error the search minimizes.
    #[arg(long, value_enum, default_value_t = Metric::Mse)]
    pub metric: Metric,
}

/// A failure reading or parsing the tensor.
pub struct FitError(pub String);

/// Read a tensor file.
pub fn read_tensor(path: &Path) -> Result<Vec<f32>, FitError> {
    let bytes = std::fs::read(path).map_err(|e| FitError(format!("{}: {e}", path.display())))?;
    if bytes.starts_with(b"\x93NUMPY") {
        return parse_npy(&bytes).map_err(|e| FitError(format!("{}: {e}", path.display())));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| FitError(format!("{}: neither .npy nor text", path.display())))?;
    let values = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.parse::<f32>()
                .map_err(|_| FitError(format!("{}: '{w}' is not a number", path.display())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if values.is_empty() {
        return Err(FitError(format!("{}: no values", path.display())));
    }
    Ok(values)
}

/// The header text and the data of a version 1-3 `.npy` file in C order.
pub fn npy_parts(bytes: &[u8]) -> Result<(&str, &[u8]), String> {
    let major = *bytes.get(6).ok_or("truncated header")?;
    let (len, start) = if major == 1 {
        let b = bytes.get(8..10).ok_or("truncated header")?;
        (u16::from_le_bytes([b[0], b[1]]) as usize, 10)
    } else {
        let b = bytes.get(8..12).ok_or("truncated header")?;
        (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
    };
    let header = std::str::from_utf8(bytes.get(start..start + len).ok_or("truncated header")?)
        .map_err(|_| "header is not text")?;
    if header.contains("'fortran_order': True") {
        return Err("Fortran-order arrays are not supported; save with order='C'".into());
    }
    Ok((header, &bytes[start + len..]))
}

/// The values of a `.npy` file holding little-endian float32 or float64.
fn parse_npy(bytes: &[u8]) -> Result<Vec<f32>, String> {
    let (header, data) = npy_parts(bytes)?;
    if header.contains("'<f4'") {
        Ok(data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    } else if header.contains("'<f8'") {
        Ok(data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect())
    } else {
        Err(format!("dtype not float32/float64 little-endian: {header}"))
    }
}

/// A deterministic synthetic tensor (xorshift, Box-Muller, inverse CDFs).
pub fn synthetic(kind: Synthetic, count: u32, seed: u64) -> Vec<f32> {
    let mut state = seed ^ 0x9e37_79b9_7f4a_7c15 | 1;
    let mut uniform = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        // (0, 1), never 0.
        ((state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..count)
        .map(|_| {
            let v = match kind {
                Synthetic::Gaussian | Synthetic::All => {
                    let (u, v) = (uniform(), uniform());
                    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
                }
                Synthetic::Laplacian => {
                    let u = uniform() - 0.5;
                    -u.signum() * (1.0 - 2.0 * u.abs()).ln()
                }
                Synthetic::Exponential => {
                    let sign = if uniform() < 0.5 { -1.0 } else { 1.0 };
                    -sign * uniform().ln()
                }
                Synthetic::Uniform => 2.0 * uniform() - 1.0,
            };
            v as f32
        })
        .collect()
}

/// Fits for every width from 2 to `bits`, and the INT8 and INT4 errors, as a table.
fn table_rows(name: &str, values: &[f32], args: &FitArgs, out: &mut String) -> Vec<Fit> {
    let power = values.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / values.len() as f64;
    let rel = |mse: f64| {
        if power > 0.0 {
            (mse / power).sqrt()
        } else {
            0.0
        }
    };
    let fits: Vec<Fit> = (2..=args.bits)
        .map(|b| fit(values, b, args.metric))
        .collect();
    for f in &fits {
        out.push_str(&format!(
            "| {name} | DNA-TEQ | {} | {:.4} | {:.4} | {} | {:.3e} | {:.4} |\n",
            f.bits,
            f.base,
            f.alpha,
            f.exp_min,
            f.mse,
            rel(f.mse)
        ));
    }
    for bits in [8, 4] {
        let mse = uniform_mse(values, bits);
        out.push_str(&format!(
            "| {name} | INT{bits} uniform | {bits} | | | | {mse:.3e} | {:.4} |\n",
            rel(mse)
        ));
    }
    fits
}

/// Run `gen fit`; the table goes to `stdout`, progress to `stderr`.
pub fn run(args: &FitArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<(), FitError> {
    let tensors: Vec<(String, Vec<f32>)> = match (&args.file, args.synthetic) {
        (_, Some(Synthetic::All)) => [
            Synthetic::Gaussian,
            Synthetic::Laplacian,
            Synthetic::Exponential,
            Synthetic::Uniform,
        ]
        .into_iter()
        .map(|k| {
            (
                format!("{k:?}").to_lowercase(),
                synthetic(k, args.count, args.seed),
            )
        })
        .collect(),
        (_, Some(k)) => vec![(
            format!("{k:?}").to_lowercase(),
            synthetic(k, args.count, args.seed),
        )],
        (Some(path), None) => vec![(path.display().to_string(), read_tensor(path)?)],
        (None, None) => return Err(FitError("give a FILE or --synthetic".into())),
    };
    let mut table = String::from(
        "| tensor | method | bits/value | base | alpha (top level) | e_min | MSE | relative RMSE |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for (name, values) in &tensors {
        let _ = writeln!(stderr, "[fit] {name}: {} values", values.len());
        table_rows(name, values, args, &mut table);
    }
    table.push_str(&format!(
        "\nDNA-TEQ codes: 1 sign bit and bits-1 exponent bits, one exponent code reserved for \
         zero; levels alpha * b^(e + e_min), nearest in the linear domain, ties to the smaller; \
         base and clipping level searched to minimize {:?}. INT8/INT4: symmetric, one scale \
         max|x| / (2^(b-1) - 1), round to nearest even. Synthetic tensors: {} values, seed {}.\n",
        args.metric, args.count, args.seed
    ));
    stdout
        .write_all(table.as_bytes())
        .map_err(|e| FitError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_float32_and_float64() {
        let mut f4 = b"\x93NUMPY\x01\x00".to_vec();
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }          \n";
        f4.extend((header.len() as u16).to_le_bytes());
        f4.extend(header.as_bytes());
        f4.extend(1.5f32.to_le_bytes());
        f4.extend((-2.0f32).to_le_bytes());
        assert_eq!(parse_npy(&f4).unwrap(), vec![1.5, -2.0]);
        let mut f8 = b"\x93NUMPY\x01\x00".to_vec();
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }          \n";
        f8.extend((header.len() as u16).to_le_bytes());
        f8.extend(header.as_bytes());
        f8.extend(0.25f64.to_le_bytes());
        assert_eq!(parse_npy(&f8).unwrap(), vec![0.25]);
    }

    #[test]
    fn synthetic_tensors_have_their_shape() {
        let g = synthetic(Synthetic::Gaussian, 20000, 3);
        let mean = g.iter().map(|v| f64::from(*v)).sum::<f64>() / 20000.0;
        let var = g.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / 20000.0;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
        let u = synthetic(Synthetic::Uniform, 20000, 3);
        assert!(u.iter().all(|v| v.abs() <= 1.0));
        let l = synthetic(Synthetic::Laplacian, 20000, 3);
        let var = l.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / 20000.0;
        assert!((var - 2.0).abs() < 0.15, "Laplace(1) has variance 2: {var}");
        assert_eq!(g, synthetic(Synthetic::Gaussian, 20000, 3), "deterministic");
    }
}
