//! `gen accwidth`: the narrowest integer accumulator that cannot overflow, for a
//! dot-product length or a weight vector, beside A2Q's bounds (`model::accwidth`). Every
//! figure printed is exact: integers and big integers, no floating point.

use std::io::Write;
use std::path::PathBuf;

use clap::builder::{OsStringValueParser, TypedValueParser};
use clap::Args;
use model::accwidth::{
    a2q_l1_bound, a2q_width_bound_mixed, l1_norm, operand_range, worst_case_k_mixed,
    worst_case_weights, Worst, MIN_ACC_BITS,
};

use crate::fit::{int_in, read_elements, Cause, Element};

/// The largest --k.
pub const K_MAX: u64 = 1 << 40;

/// The most weights a file may hold: with 64-bit weights and 32-bit activations every sum
/// then stays below 2^126.
pub const WEIGHTS_MAX: usize = 1 << 30;

/// Flags of `gen accwidth`.
#[derive(Args, Debug, Clone)]
#[command(group(clap::ArgGroup::new("shape").required(true).args(["k", "weights"])))]
pub struct AccWidthArgs {
    /// Activation width N in bits, 2..=32.
    #[arg(long = "in", value_name = "BITS", default_value_t = 8,
          allow_negative_numbers = true, value_parser = int_in::<u32>(2, 32))]
    pub act_bits: u32,
    /// Unsigned activations (e.g. after a ReLU); signed by default.
    #[arg(long)]
    pub unsigned: bool,
    /// Dot-product length K (worst case over all signed M-bit weights), 1..=2^40.
    #[arg(long, value_name = "K", allow_negative_numbers = true,
          value_parser = int_in::<u64>(1, K_MAX.into()))]
    pub k: Option<u64>,
    /// Signed weight width M in bits for --k, 2..=32.
    #[arg(long = "weight-bits", value_name = "BITS", default_value_t = 8,
          conflicts_with = "weights", allow_negative_numbers = true,
          value_parser = int_in::<u32>(2, 32))]
    pub weight_bits: u32,
    /// A file of integer weights (text: numbers separated by spaces, commas or lines; or
    /// .npy of integers or integral floats), 1 to 2^30 of them: the worst case over all
    /// activations for exactly these weights.
    #[arg(long, value_name = "FILE", conflicts_with = "k",
          value_parser = OsStringValueParser::new().try_map(Weights::load))]
    pub weights: Option<Weights>,
    /// Weight width M as `gen mac`'s operand a (the weights), 2..=32: the same as
    /// --weight-bits.
    #[arg(long = "in-a", value_name = "BITS", conflicts_with_all = ["weight_bits", "weights"],
          allow_negative_numbers = true, value_parser = int_in::<u32>(2, 32))]
    pub in_a: Option<u32>,
    /// Activation width N as `gen mac`'s operand b (the activations), 2..=32: the same as
    /// --in.
    #[arg(long = "in-b", value_name = "BITS", conflicts_with = "act_bits",
          allow_negative_numbers = true, value_parser = int_in::<u32>(2, 32))]
    pub in_b: Option<u32>,
    /// Unsigned weights (operand a) for --k; signed by default.
    #[arg(long = "a-unsigned", conflicts_with = "weights")]
    pub a_unsigned: bool,
    /// Unsigned activations (operand b): the same as --unsigned.
    #[arg(long = "b-unsigned")]
    pub b_unsigned: bool,
    /// Accumulator width P for A2Q's bound on the weights' L1 norm, 2..=64.
    #[arg(long = "acc", value_name = "BITS", default_value_t = 12,
          allow_negative_numbers = true, value_parser = int_in::<u32>(2, 64))]
    pub acc_bits: u32,
}

/// 2^63, the bound of the `i64` range, as an `f64` (exact).
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// A failure of `gen accwidth`: the message (naming the flag or file) and its cause.
#[derive(Debug)]
pub struct AccWidthError(pub String, pub Cause);

impl AccWidthError {
    /// 2 for bad input, 1 for I/O failures.
    pub fn exit_code(&self) -> i32 {
        self.1.exit_code()
    }
}

/// A weight vector, read while the command line is parsed.
#[derive(Clone, Debug)]
pub struct Weights {
    pub path: PathBuf,
    pub values: Vec<i64>,
}

impl Weights {
    /// Read and check a weight file: 1 to [`WEIGHTS_MAX`] integers in the `i64` range
    /// (text: decimal integers; .npy: integer dtypes, or floats with integral values).
    pub fn load(path: std::ffi::OsString) -> Result<Weights, String> {
        let path = PathBuf::from(path);
        let what = format!("an integer in {}..={}", i64::MIN, i64::MAX);
        let elements = read_elements(
            &path,
            |w| w.parse::<i64>().ok().map(|v| Element::Int(v.into())),
            &what,
        )?;
        if elements.len() > WEIGHTS_MAX {
            return Err(format!(
                "{} weights; allowed 1..={WEIGHTS_MAX}",
                elements.len()
            ));
        }
        let values = elements
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let v = match *e {
                    Element::Int(v) => i64::try_from(v).ok(),
                    // Integral and in [-2^63, 2^63): exactly an i64.
                    Element::Float(v) => {
                        (v.fract() == 0.0 && (-TWO_63..TWO_63).contains(&v)).then_some(v as i64)
                    }
                };
                v.ok_or_else(|| format!("{e} (value {}) is not {what}", i + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Weights { path, values })
    }
}

/// The parser checks these; a library caller may not have used it.
fn check_args(args: &AccWidthArgs) -> Result<(), AccWidthError> {
    let checks = [
        ("--in <BITS>", u64::from(args.act_bits), 2, 32),
        ("--weight-bits <BITS>", u64::from(args.weight_bits), 2, 32),
        ("--in-a <BITS>", u64::from(args.in_a.unwrap_or(2)), 2, 32),
        ("--in-b <BITS>", u64::from(args.in_b.unwrap_or(2)), 2, 32),
        ("--acc <BITS>", u64::from(args.acc_bits), 2, 64),
        ("--k <K>", args.k.unwrap_or(1), 1, K_MAX),
    ];
    for (flag, v, lo, hi) in checks {
        if !(lo..=hi).contains(&v) {
            return Err(AccWidthError(
                format!("invalid value '{v}' for '{flag}': {v} is not in {lo}..={hi}"),
                Cause::BadInput,
            ));
        }
    }
    match &args.weights {
        Some(w) if w.values.is_empty() || w.values.len() > WEIGHTS_MAX => Err(AccWidthError(
            format!(
                "invalid value '{}' for '--weights <FILE>': {} weights; allowed 1..={WEIGHTS_MAX}",
                w.path.display(),
                w.values.len()
            ),
            Cause::BadInput,
        )),
        _ => Ok(()),
    }
}

/// Print the report.
pub fn run(args: &AccWidthArgs, stdout: &mut dyn Write) -> Result<(), AccWidthError> {
    check_args(args)?;
    let n = args.in_b.unwrap_or(args.act_bits);
    let signed = !(args.unsigned || args.b_unsigned);
    let (m, w_signed) = (args.in_a.unwrap_or(args.weight_bits), !args.a_unsigned);
    let (xl, xh) = operand_range(n, signed);
    let kind = if signed { "signed" } else { "unsigned" };
    let mut text = format!("activations: {kind} {n}-bit, [{xl}, {xh}]\n");
    let (worst, weights): (Worst, Option<&[i64]>) =
        match (&args.weights, args.k) {
            (Some(w), _) => {
                let v = &w.values;
                let (lo, hi) = (v.iter().min().copied(), v.iter().max().copied());
                text += &format!(
                    "weights: {} values from {}, range [{}, {}], L1 norm {}\n",
                    v.len(),
                    w.path.display(),
                    lo.unwrap_or(0),
                    hi.unwrap_or(0),
                    l1_norm(v)
                );
                let worst = worst_case_weights(v, n, signed).ok_or_else(|| {
                    AccWidthError(
                        format!(
                        "invalid value '{}' for '--weights <FILE>': the worst case leaves 127 bits",
                        w.path.display()
                    ),
                        Cause::BadInput,
                    )
                })?;
                (worst, Some(v))
            }
            (None, Some(k)) => {
                let (wl, wh) = operand_range(m, w_signed);
                let kind = if w_signed { "signed" } else { "unsigned" };
                text += &format!("weights: K = {k} {kind} {m}-bit values, [{wl}, {wh}]\n");
                (worst_case_k_mixed(k, n, signed, m, w_signed), None)
            }
            (None, None) => return Err(AccWidthError(
                "the following required arguments were not provided: <--k <K>|--weights <FILE>>"
                    .into(),
                Cause::BadInput,
            )),
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
    if let (false, Some(u)) = (signed || w_signed, worst.unsigned_accumulator_width()) {
        text += &format!(
            "both operands unsigned: every sum is >= 0; minimum unsigned accumulator \
             (as `gen mac` builds it): {u} bits\n"
        );
    }
    if let Some(k) = args.k.filter(|_| weights.is_none()) {
        let b = a2q_width_bound_mixed(k, n, signed, m, w_signed);
        text += &format!(
            "A2Q data-type bound: P >= alpha + phi(alpha) + 1 = 1 + log2(1 + {k} * 2^{}), \
             i.e. {} bits",
            b.shift, b.bits
        );
        if !w_signed {
            text += " (A2Q assumes signed weights; for unsigned ones their magnitude \
                     bound 2^M replaces 2^(M-1))";
        }
        text += "\n";
    }
    let p = args.acc_bits;
    let l1 = a2q_l1_bound(p, n, signed);
    text += &format!(
        "A2Q weight bound for a {p}-bit accumulator, (2^{} - 1) / 2^{}: ||w||_1 <= {}",
        p - 1,
        l1.shift,
        l1.decimal()
    );
    if let Some(w) = weights {
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
        .map_err(|e| AccWidthError(format!("cannot write the report: {e}"), Cause::Io))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(k: Option<u64>) -> AccWidthArgs {
        AccWidthArgs {
            act_bits: 8,
            unsigned: false,
            k,
            weight_bits: 8,
            weights: None,
            in_a: None,
            in_b: None,
            a_unsigned: false,
            b_unsigned: false,
            acc_bits: 12,
        }
    }

    /// A sink that refuses every write.
    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("broken pipe"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Library callers that bypass the parser get bad-input errors (2) naming the flag;
    /// a failing output is an I/O failure (1).
    #[test]
    fn exit_codes() {
        let mut out = Vec::new();
        for (a, needle) in [
            (args(Some(0)), "'--k <K>': 0 is not in 1..=1099511627776"),
            (args(None), "--k <K>|--weights <FILE>"),
            (
                AccWidthArgs {
                    act_bits: 33,
                    ..args(Some(4))
                },
                "'--in <BITS>': 33 is not in 2..=32",
            ),
        ] {
            let e = run(&a, &mut out).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.0.contains(needle), "{}", e.0);
        }
        assert!(out.is_empty());
        let e = run(&args(Some(4)), &mut Broken).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        run(&args(Some(4)), &mut out).unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("cannot overflow: 18 bits"));
    }
}
