//! `gen accwidth`: the narrowest integer accumulator that cannot overflow, for a
//! dot-product length or a weight vector, beside A2Q's bounds (`model::accwidth`). Every
//! figure printed is exact: integers and big integers, no floating point.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use model::accwidth::{
    a2q_l1_bound, a2q_width_bound, l1_norm, operand_range, worst_case_k, worst_case_weights, Worst,
    MIN_ACC_BITS,
};

/// Flags of `gen accwidth`.
#[derive(Args, Debug, Clone)]
#[command(group(clap::ArgGroup::new("shape").required(true).args(["k", "weights"])))]
pub struct AccWidthArgs {
    /// Activation width N in bits, 2..=32.
    #[arg(long = "in", value_name = "BITS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(2..=32))]
    pub act_bits: u32,
    /// Unsigned activations (e.g. after a ReLU); signed by default.
    #[arg(long)]
    pub unsigned: bool,
    /// Dot-product length K (worst case over all signed M-bit weights), 1..=2^40.
    #[arg(long, value_name = "K",
          value_parser = clap::value_parser!(u64).range(1..=1 << 40))]
    pub k: Option<u64>,
    /// Signed weight width M in bits for --k, 2..=32.
    #[arg(long = "weight-bits", value_name = "BITS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(2..=32))]
    pub weight_bits: u32,
    /// A file of integer weights (text: numbers separated by spaces, commas or lines; or
    /// .npy of integers or integral floats): the worst case over all activations for
    /// exactly these weights.
    #[arg(long, value_name = "FILE", conflicts_with = "k")]
    pub weights: Option<PathBuf>,
    /// Accumulator width P for A2Q's bound on the weights' L1 norm, 2..=64.
    #[arg(long = "acc", value_name = "BITS", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(2..=64))]
    pub acc_bits: u32,
}

/// A failure reading the weights.
pub struct AccWidthError(pub String);

/// Integer weights from a text or `.npy` file.
pub fn read_weights(path: &Path) -> Result<Vec<i64>, AccWidthError> {
    let fail = |e: String| AccWidthError(format!("{}: {e}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let values: Vec<i64> = if bytes.starts_with(b"\x93NUMPY") {
        let (header, data) = crate::fit::npy_parts(&bytes).map_err(fail)?;
        let ints = |size: usize, f: &dyn Fn(&[u8]) -> i64| -> Vec<i64> {
            data.chunks_exact(size).map(f).collect()
        };
        let integral = |v: f64| -> Result<i64, AccWidthError> {
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(v as i64)
            } else {
                Err(fail(format!("{v} is not an integer weight")))
            }
        };
        if header.contains("'|i1'") {
            ints(1, &|c| i64::from(c[0] as i8))
        } else if header.contains("'|u1'") {
            ints(1, &|c| i64::from(c[0]))
        } else if header.contains("'<i2'") {
            ints(2, &|c| i64::from(i16::from_le_bytes([c[0], c[1]])))
        } else if header.contains("'<i4'") {
            ints(4, &|c| {
                i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            })
        } else if header.contains("'<i8'") {
            ints(8, &|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
        } else if header.contains("'<f4'") || header.contains("'<f8'") {
            let floats = crate::fit::read_tensor(path).map_err(|e| AccWidthError(e.0))?;
            floats
                .into_iter()
                .map(|v| integral(f64::from(v)))
                .collect::<Result<_, _>>()?
        } else {
            return Err(fail(format!(
                "dtype not one of int8/uint8/int16/int32/int64/float32/float64: {header}"
            )));
        }
    } else {
        let text = String::from_utf8(bytes).map_err(|_| fail("neither .npy nor text".into()))?;
        text.split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
            .map(|w| {
                w.parse::<i64>()
                    .map_err(|_| fail(format!("'{w}' is not an integer")))
            })
            .collect::<Result<_, _>>()?
    };
    if values.is_empty() {
        return Err(fail("no weights".into()));
    }
    Ok(values)
}

/// Print the report.
pub fn run(args: &AccWidthArgs, stdout: &mut dyn Write) -> Result<(), AccWidthError> {
    let (n, signed) = (args.act_bits, !args.unsigned);
    let (xl, xh) = operand_range(n, signed);
    let kind = if signed { "signed" } else { "unsigned" };
    let mut text = format!("activations: {kind} {n}-bit, [{xl}, {xh}]\n");
    let (worst, weights): (Worst, Option<Vec<i64>>) = match (&args.weights, args.k) {
        (Some(path), _) => {
            let w = read_weights(path)?;
            let (lo, hi) = (w.iter().min().copied(), w.iter().max().copied());
            text += &format!(
                "weights: {} values from {}, range [{}, {}], L1 norm {}\n",
                w.len(),
                path.display(),
                lo.unwrap_or(0),
                hi.unwrap_or(0),
                l1_norm(&w)
            );
            let worst = worst_case_weights(&w, n, signed).ok_or_else(|| {
                AccWidthError(format!(
                    "{}: the worst case leaves 127 bits",
                    path.display()
                ))
            })?;
            (worst, Some(w))
        }
        (None, Some(k)) => {
            let m = args.weight_bits;
            let (wl, wh) = operand_range(m, true);
            text += &format!("weights: K = {k} signed {m}-bit values, [{wl}, {wh}]\n");
            (worst_case_k(k, n, signed, m), None)
        }
        (None, None) => unreachable!("clap requires --k or --weights"),
    };
    let width = worst.accumulator_width();
    text += &format!(
        "exact worst case over all activations: every partial sum in [{}, {}]\n",
        worst.min, worst.max
    );
    text += &format!("minimum accumulator that cannot overflow: {width} bits (two's complement)");
    if worst.signed_width() < MIN_ACC_BITS {
        text += &format!(
            "; every sum is 0 (all-zero weights), which any width holds: \
             {MIN_ACC_BITS} bits is the narrowest accumulator the tool builds"
        );
    }
    text += "\n";
    if weights.is_none() {
        let k = args.k.expect("K mode");
        let b = a2q_width_bound(k, n, signed, args.weight_bits);
        text += &format!(
            "A2Q data-type bound: P >= alpha + phi(alpha) + 1 = 1 + log2(1 + {k} * 2^{}), \
             i.e. {} bits\n",
            b.shift, b.bits
        );
    }
    let p = args.acc_bits;
    let l1 = a2q_l1_bound(p, n, signed);
    text += &format!(
        "A2Q weight bound for a {p}-bit accumulator, (2^{} - 1) / 2^{}: ||w||_1 <= {}",
        p - 1,
        l1.shift,
        l1.decimal()
    );
    if let Some(w) = &weights {
        let norm = l1_norm(w);
        let verdict = if l1.admits(&norm) {
            "within it: no overflow possible".to_string()
        } else if width <= p {
            format!("above it, yet the exact worst case fits {p} bits")
        } else {
            "above it: these weights can overflow".to_string()
        };
        text += &format!("; these weights: {norm}, {verdict}");
    }
    text += "\n";
    stdout
        .write_all(text.as_bytes())
        .map_err(|e| AccWidthError(format!("stdout: {e}")))
}
