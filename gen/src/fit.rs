//! `gen fit`: DNA-TEQ-style exponential quantization of a tensor (a `.npy` file of
//! float32/float64, or plain text numbers), or of synthetic tensors with fixed seeds,
//! next to INT8 and INT4 uniform quantization of the same values.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::builder::{OsStringValueParser, TypedValueParser};
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

/// The tensor of `gen fit` and `gen mx-error`: a file, or synthetic tensors.
#[derive(Args, Debug, Clone)]
#[command(group(clap::ArgGroup::new("tensor").required(true).args(["file", "synthetic"])))]
pub struct TensorArgs {
    /// The tensor: a .npy file (float32/float64 or integers, any shape) or a text file of
    /// numbers separated by spaces, commas or newlines; finite float32 values, not all 0.
    #[arg(value_name = "FILE",
          value_parser = OsStringValueParser::new().try_map(Tensor::load))]
    pub file: Option<Tensor>,
    /// Use a synthetic tensor instead of a file (fixed seed).
    #[arg(long, value_enum, conflicts_with = "file")]
    pub synthetic: Option<Synthetic>,
    /// Values in a synthetic tensor, 1..=10000000 (with --synthetic only).
    #[arg(long, default_value_t = 65536, conflicts_with = "file",
          allow_negative_numbers = true, value_parser = int_in::<u32>(1, 10_000_000))]
    pub count: u32,
    /// Seed of the synthetic tensor, 0..=18446744073709551615 (with --synthetic only).
    #[arg(long, default_value_t = 1, conflicts_with = "file",
          allow_negative_numbers = true, value_parser = int_in::<u64>(0, u64::MAX.into()))]
    pub seed: u64,
}

impl TensorArgs {
    /// The named tensors: the file, one synthetic tensor, or all four.
    pub fn tensors(&self) -> Result<Vec<(String, Vec<f32>)>, FitError> {
        if !(1..=10_000_000).contains(&self.count) {
            let v = self.count;
            return Err(FitError(
                format!("invalid value '{v}' for '--count <COUNT>': {v} is not in 1..=10000000"),
                Cause::BadInput,
            ));
        }
        let named = |k: Synthetic| {
            (
                format!("{k:?}").to_lowercase(),
                synthetic(k, self.count, self.seed),
            )
        };
        Ok(match (&self.file, self.synthetic) {
            (_, Some(Synthetic::All)) => [
                Synthetic::Gaussian,
                Synthetic::Laplacian,
                Synthetic::Exponential,
                Synthetic::Uniform,
            ]
            .into_iter()
            .map(named)
            .collect(),
            (_, Some(k)) => vec![named(k)],
            (Some(t), None) => vec![(t.path.display().to_string(), t.values.clone())],
            (None, None) => {
                return Err(FitError(
                    "give a FILE or --synthetic".into(),
                    Cause::BadInput,
                ))
            }
        })
    }

    /// The sentence that ends a table about synthetic tensors (empty for a file).
    pub fn note(&self) -> String {
        if self.synthetic.is_some() {
            format!(
                " Synthetic tensors: {} values, seed {}.",
                self.count, self.seed
            )
        } else {
            String::new()
        }
    }
}

/// Flags of `gen fit`.
#[derive(Args, Debug, Clone)]
pub struct FitArgs {
    #[command(flatten)]
    pub tensor: TensorArgs,
    /// Bit budget per value (sign and exponent), 2..=8: every width up to it is fitted.
    #[arg(long, default_value_t = 5, allow_negative_numbers = true,
          value_parser = int_in::<u32>(2, 8))]
    pub bits: u32,
    /// The error the search minimizes.
    #[arg(long, value_name = "METRIC", default_value = "mse", value_parser = parse_metric)]
    pub metric: Metric,
}

/// What went wrong, for the exit code: bad input (2) or an I/O failure (1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A flag, a file it names, or the file's content is not acceptable.
    BadInput,
    /// Writing the output failed.
    Io,
}

impl Cause {
    /// Why an output could not be written: a bad path is bad input, the rest I/O.
    pub fn of_output(e: &crate::output::OutputError) -> Cause {
        if e.is_usage() {
            Cause::BadInput
        } else {
            Cause::Io
        }
    }

    /// The process exit code: 2 for bad input, 1 for I/O failures.
    pub fn exit_code(self) -> i32 {
        match self {
            Cause::BadInput => 2,
            Cause::Io => 1,
        }
    }
}

/// A failure of `gen fit`: the message (naming the flag or file) and its cause.
#[derive(Debug)]
pub struct FitError(pub String, pub Cause);

impl FitError {
    /// 2 for bad input, 1 for I/O failures.
    pub fn exit_code(&self) -> i32 {
        self.1.exit_code()
    }
}

// ---- Input parsing shared by `accwidth`, `acc-error` and `fit` -----------------------
//
// Every number and file is checked while the command line is parsed, so that a bad value
// is a usage error (exit 2) whose message names the flag, the value and the real range:
// "invalid value '-1' for '--k <K>': -1 is not in 1..=1099511627776".

/// A clap value parser for an integer in `lo..=hi` (negative numbers included, so that
/// they are rejected with the range rather than taken for a flag).
pub fn int_in<T>(lo: i128, hi: i128) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync
where
    T: TryFrom<i128> + Clone + Send + Sync + 'static,
{
    move |s: &str| {
        let v: i128 = s
            .parse()
            .map_err(|_| format!("not an integer in {lo}..={hi}"))?;
        if !(lo..=hi).contains(&v) {
            return Err(format!("{v} is not in {lo}..={hi}"));
        }
        T::try_from(v).map_err(|_| format!("{v} is not in {lo}..={hi}"))
    }
}

/// A clap value parser for a finite real number in `(lo, hi]`.
pub fn real_in(lo: f64, hi: f64) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync {
    move |s: &str| {
        let v: f64 = s
            .trim()
            .parse()
            .map_err(|_| format!("not a number in ({lo}, {hi}]"))?;
        if v.is_finite() && v > lo && v <= hi {
            Ok(v)
        } else {
            Err(format!("{v} is not in ({lo}, {hi}]"))
        }
    }
}

/// A clap value parser for an output file name: not empty.
pub fn file_name(path: std::ffi::OsString) -> Result<PathBuf, String> {
    if path.is_empty() {
        Err("empty file name".into())
    } else {
        Ok(path.into())
    }
}

/// The element types a `.npy` file may hold (little-endian, as numpy writes them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dtype {
    I(usize),
    U(usize),
    F(usize),
}

impl Dtype {
    const NAMES: &'static str = "<f4, <f8, |i1, |u1, <i2, <u2, <i4, <u4, <i8, <u8";

    fn parse(descr: &str) -> Option<Dtype> {
        Some(match descr {
            "<f4" => Dtype::F(4),
            "<f8" => Dtype::F(8),
            "|i1" => Dtype::I(1),
            "|u1" => Dtype::U(1),
            "<i2" => Dtype::I(2),
            "<u2" => Dtype::U(2),
            "<i4" => Dtype::I(4),
            "<u4" => Dtype::U(4),
            "<i8" => Dtype::I(8),
            "<u8" => Dtype::U(8),
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Dtype::I(n) | Dtype::U(n) | Dtype::F(n) => n,
        }
    }
}

/// One element of a tensor file, as read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Element {
    Int(i128),
    Float(f64),
}

impl std::fmt::Display for Element {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Element::Int(v) => write!(f, "{v}"),
            Element::Float(v) => write!(f, "{v:e}"),
        }
    }
}

/// The fields of a `.npy` header dictionary: `{'descr': '<f4', 'fortran_order': False,
/// 'shape': (2, 3), }`, each exactly once and nothing else.
fn parse_npy_header(header: &str) -> Result<(Dtype, Vec<usize>), String> {
    let body = header
        .trim_end_matches([' ', '\n'])
        .strip_prefix('{')
        .and_then(|h| h.strip_suffix('}'))
        .ok_or("the header is not a dictionary")?;
    let (mut descr, mut order, mut shape) = (None, None, None);
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"');
        let q = quote.ok_or("malformed header")?;
        let end = rest[1..].find(q).ok_or("malformed header")? + 1;
        let key = &rest[1..end];
        rest = rest[end + 1..].trim_start();
        rest = rest
            .strip_prefix(':')
            .ok_or("malformed header")?
            .trim_start();
        let value_end = if rest.starts_with('(') {
            rest.find(')').ok_or("malformed header: shape")? + 1
        } else if let Some(q) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
            rest[1..].find(q).ok_or("malformed header")? + 2
        } else {
            rest.find([',', ' ']).unwrap_or(rest.len())
        };
        let value = &rest[..value_end];
        rest = rest[value_end..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        let slot = match key {
            "descr" => &mut descr,
            "fortran_order" => &mut order,
            "shape" => &mut shape,
            _ => return Err(format!("unknown header key '{key}'")),
        };
        if slot.replace(value).is_some() {
            return Err(format!("header key '{key}' given twice"));
        }
    }
    let descr = descr.ok_or("the header has no 'descr'")?;
    let name = descr.trim_matches(['\'', '"']);
    let dtype = Dtype::parse(name)
        .ok_or_else(|| format!("unsupported dtype '{name}'; allowed {}", Dtype::NAMES))?;
    // The consumers (worst cases, error statistics) do not depend on the element order,
    // so Fortran-order arrays are read as they are.
    match order.ok_or("the header has no 'fortran_order'")? {
        "True" | "False" => {}
        o => return Err(format!("fortran_order '{o}' is not True or False")),
    }
    let shape_text = shape.ok_or("the header has no 'shape'")?;
    let dims = shape_text
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or("malformed shape")?;
    let shape = dims
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| match d.parse::<usize>() {
            Ok(v) => Ok(v),
            Err(_) if d.starts_with('-') => {
                Err(format!("negative dimension {d} in shape {shape_text}"))
            }
            Err(_) => Err(format!(
                "dimension '{d}' in shape {shape_text} is not a size"
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((dtype, shape))
}

/// The elements of a `.npy` file (versions 1 to 3): magic, version, header and the exact
/// data length its shape and dtype call for are all checked.
pub fn parse_npy(bytes: &[u8]) -> Result<Vec<Element>, String> {
    parse_npy_shaped(bytes).map(|(_, e)| e)
}

/// [`parse_npy`] with the array's shape.
pub fn parse_npy_shaped(bytes: &[u8]) -> Result<(Vec<usize>, Vec<Element>), String> {
    let rest = bytes
        .strip_prefix(b"\x93NUMPY")
        .ok_or("not a .npy file (no \\x93NUMPY magic)")?;
    let (major, minor) = match rest {
        [major, minor, ..] => (*major, *minor),
        _ => return Err("truncated .npy header".into()),
    };
    let (len, start) = match (major, minor) {
        (1, 0) => {
            let b = bytes.get(8..10).ok_or("truncated .npy header")?;
            (usize::from(u16::from_le_bytes([b[0], b[1]])), 10usize)
        }
        (2 | 3, 0) => {
            let b = bytes.get(8..12).ok_or("truncated .npy header")?;
            let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            (usize::try_from(len).map_err(|_| "header too long")?, 12)
        }
        _ => {
            return Err(format!(
                "unsupported .npy version {major}.{minor}; allowed 1.0, 2.0, 3.0"
            ))
        }
    };
    let end = start.checked_add(len).ok_or("truncated .npy header")?;
    let header = bytes.get(start..end).ok_or("truncated .npy header")?;
    let header = std::str::from_utf8(header)
        .ok()
        .filter(|h| h.is_ascii())
        .ok_or("the .npy header is not ASCII text")?;
    let (dtype, shape) = parse_npy_header(header)?;
    let data = &bytes[end..];
    let count = shape
        .iter()
        .try_fold(1usize, |n, d| n.checked_mul(*d))
        .ok_or("the shape's size overflows")?;
    let shape_text = format!("{shape:?}");
    if count == 0 {
        return Err(format!("empty array (shape {shape_text})"));
    }
    let need = count
        .checked_mul(dtype.size())
        .ok_or("the shape's size overflows")?;
    if data.len() != need {
        return Err(format!(
            "shape {shape_text} of {count} elements needs {need} data bytes, the file has {} ({})",
            data.len(),
            if data.len() < need {
                "truncated"
            } else {
                "extra bytes"
            }
        ));
    }
    let elements = data
        .chunks_exact(dtype.size())
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            let raw = u64::from_le_bytes(b);
            match dtype {
                Dtype::U(_) => Element::Int(i128::from(raw)),
                Dtype::I(n) => {
                    let shift = 64 - 8 * n as u32;
                    Element::Int(i128::from(((raw << shift) as i64) >> shift))
                }
                Dtype::F(4) => {
                    Element::Float(f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                }
                Dtype::F(_) => Element::Float(f64::from_bits(raw)),
            }
        })
        .collect();
    Ok((shape, elements))
}

/// The elements of a tensor file: `.npy` (by its magic) or text numbers separated by
/// white space or commas (`parse` reads one), never empty.
pub fn read_elements(
    path: &Path,
    parse: impl Fn(&str) -> Option<Element>,
    what: &str,
) -> Result<Vec<Element>, String> {
    if path.as_os_str().is_empty() {
        return Err("empty file name".into());
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.starts_with(b"\x93NUMPY") {
        return parse_npy(&bytes);
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| "neither a .npy file nor text")?;
    let values = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .enumerate()
        .map(|(i, w)| parse(w).ok_or_else(|| format!("'{w}' (value {}) is not {what}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    if values.is_empty() {
        return Err("no values in the file".into());
    }
    Ok(values)
}

/// A tensor for `gen fit`, read while the command line is parsed.
#[derive(Clone, Debug)]
pub struct Tensor {
    pub path: PathBuf,
    pub values: Vec<f32>,
}

impl Tensor {
    /// Read and check a tensor file: every value a finite float32 (text: a decimal
    /// number; .npy: any supported dtype), at least one value, not all zero.
    pub fn load(path: std::ffi::OsString) -> Result<Tensor, String> {
        let path = PathBuf::from(path);
        let what = "a finite float32 number";
        let elements = read_elements(
            &path,
            |w| {
                // Parsed as float32 directly (one rounding); out-of-range text is inf.
                let v = w.parse::<f32>().ok()?;
                v.is_finite().then_some(Element::Float(f64::from(v)))
            },
            what,
        )?;
        let values = elements
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let v = match *e {
                    Element::Int(v) => v as f64,
                    Element::Float(v) => v,
                };
                let f = v as f32;
                if f.is_finite() {
                    Ok(f)
                } else {
                    Err(format!("{e} (value {}) is not {what}", i + 1))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if values.iter().all(|v| *v == 0.0) {
            return Err("every value is 0: nothing to fit".into());
        }
        Ok(Tensor { path, values })
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
            "| {name} | DNA-TEQ | {} | {:.4} | {:.4} | {} | {} | {:.3e} | {:.4} | {:.3e} | {:.2} |\n",
            f.bits,
            f.base,
            f.alpha,
            f.offset,
            f.exp_min,
            f.mse,
            rel(f.mse),
            f.mse_no_offset,
            if f.mse > 0.0 { f.mse_no_offset / f.mse } else { 1.0 }
        ));
    }
    for bits in [8, 4] {
        let mse = uniform_mse(values, bits);
        out.push_str(&format!(
            "| {name} | INT{bits} uniform | {bits} | | | | | {mse:.3e} | {:.4} | | |\n",
            rel(mse)
        ));
    }
    fits
}

/// Run `gen fit`; the table goes to `stdout`, progress to `stderr`.
pub fn run(args: &FitArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<(), FitError> {
    // The parser checks these; a library caller may not have used it.
    if !(2..=8).contains(&args.bits) {
        let v = args.bits;
        return Err(FitError(
            format!("invalid value '{v}' for '--bits <BITS>': {v} is not in 2..=8"),
            Cause::BadInput,
        ));
    }
    let tensors = args.tensor.tensors()?;
    let mut table = String::from(
        "| tensor | method | bits/value | base | alpha | offset o | e_min | MSE | relative RMSE \
         | MSE at o = 0 | gain |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for (name, values) in &tensors {
        let _ = writeln!(stderr, "[fit] {name}: {} values", values.len());
        table_rows(name, values, args, &mut table);
    }
    let metric = match args.metric {
        Metric::Mse => "the mean squared error",
        Metric::Mae => "the mean absolute error",
    };
    table.push_str(&format!(
        "\nDNA-TEQ codes: 1 sign bit and bits-1 exponent bits, one exponent code reserved for \
         zero; levels alpha * (b^(e + e_min) + o) (the paper's alpha * b^e + beta, o = beta / \
         alpha: expq-dot --offset-w/--offset-a o), nearest in the linear domain, ties to the \
         smaller; base, clipping level alpha * (1 + o) and o (0 or one of 1/32 .. 1) searched \
         to minimize {metric} (the table gives the MSE either way); the gain is the MSE of \
         the best fit with o = 0 over the MSE. INT8/INT4: symmetric, one scale max|x| / (2^(b-1) - 1), round to \
         nearest even."
    ));
    table.push_str(&args.tensor.note());
    table.push('\n');
    stdout
        .write_all(table.as_bytes())
        .map_err(|e| FitError(format!("cannot write the table: {e}"), Cause::Io))
}

/// `--metric`: `mse` (mean squared error) or `mae` (mean absolute error).
fn parse_metric(text: &str) -> Result<Metric, String> {
    match text {
        "mse" => Ok(Metric::Mse),
        "mae" => Ok(Metric::Mae),
        _ => Err("allowed mse (mean squared error), mae (mean absolute error)".into()),
    }
}

#[cfg(test)]
mod tests;
