//! `gen mx-error`: the quantisation error of every OCP MX element type (docs/mx.md) on a
//! tensor, next to HBFP4/6/8 (docs/bfp.md) and per-tensor INT8, from the bit-exact models.

use std::io::Write;

use clap::{Args, ValueEnum};
use model::bfp::{quantize as bfp_quantize, BfpFormat, BfpRounding};
use model::expq::uniform_mse;
use model::mx::{quantize as mx_quantize, Elem, MxRounding, SCALE_BIAS};

use crate::fit::{int_in, Cause, FitError, TensorArgs};

/// Element rounding of the study (the nearest modes of `mx-quant`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum NearestRounding {
    /// Round to nearest, ties to even.
    Rne,
    /// Round to nearest, ties away from zero (microxcaling's default).
    Away,
}

/// Flags of `gen mx-error`.
#[derive(Args, Debug, Clone)]
pub struct MxErrorArgs {
    #[command(flatten)]
    pub tensor: TensorArgs,
    /// Values per block (MX and HBFP), 1..=64; the tensor's tail forms a shorter block.
    #[arg(long, default_value_t = 32, allow_negative_numbers = true,
          value_parser = int_in::<u32>(1, 64))]
    pub block: u32,
    /// Rounding of the MX elements (HBFP and INT8 round to nearest even).
    #[arg(long, value_enum, default_value_t = NearestRounding::Rne)]
    pub rounding: NearestRounding,
}

/// Shared-exponent width of the HBFP rows (bfp_quant's default).
const HBFP_EXP_BITS: u32 = 10;

/// The tensor quantised block by block with `quantize` (block of binary32 bits to the
/// values it represents), as f64.
fn blockwise(values: &[f32], block: u32, quantize: impl Fn(&[u32]) -> Vec<f64>) -> Vec<f64> {
    values
        .chunks(block as usize)
        .flat_map(|c| quantize(&c.iter().map(|v| v.to_bits()).collect::<Vec<_>>()))
        .collect()
}

fn mse(values: &[f32], q: &[f64]) -> f64 {
    values
        .iter()
        .zip(q)
        .map(|(v, q)| (f64::from(*v) - q).powi(2))
        .sum::<f64>()
        / values.len() as f64
}

/// One MX element type over the tensor: the dequantised values.
fn mx_values(values: &[f32], block: u32, elem: Elem, rounding: MxRounding) -> Vec<f64> {
    blockwise(values, block, |x| {
        let b = mx_quantize(elem, x, rounding, &[], 0);
        let scale = 2f64.powi(b.scale as i32 - SCALE_BIAS + elem.lsb_exp());
        b.codes
            .iter()
            .map(|&c| elem.decode(c).map_or(f64::NAN, |q| q as f64 * scale))
            .collect()
    })
}

/// HBFP with `mant_bits`-bit mantissas over the tensor: the dequantised values.
fn hbfp_values(values: &[f32], block: u32, mant_bits: u32) -> Vec<f64> {
    let f = BfpFormat {
        mant_bits,
        exp_bits: HBFP_EXP_BITS,
    };
    blockwise(values, block, |x| {
        let b = bfp_quantize(&f, x, BfpRounding::Rne, &[], 0).block;
        b.q.iter().map(|&q| q as f64 * 2f64.powi(b.exp)).collect()
    })
}

/// Run `gen mx-error`; the table goes to `stdout`, progress to `stderr`.
pub fn run(
    args: &MxErrorArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), FitError> {
    if !(1..=64).contains(&args.block) {
        let v = args.block;
        return Err(FitError(
            format!("invalid value '{v}' for '--block <BLOCK>': {v} is not in 1..=64"),
            Cause::BadInput,
        ));
    }
    let tensors = args.tensor.tensors()?;
    let k = f64::from(args.block);
    let rounding = match args.rounding {
        NearestRounding::Rne => MxRounding::Rne,
        NearestRounding::Away => MxRounding::Away,
    };
    let mut table = String::from(
        "| tensor | format | bits/value | MSE | relative RMSE | SQNR dB |\n\
         | --- | --- | ---: | ---: | ---: | ---: |\n",
    );
    for (name, values) in &tensors {
        let _ = writeln!(stderr, "[mx-error] {name}: {} values", values.len());
        let power = values.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / values.len() as f64;
        let mut row = |format: String, bits: f64, mse: f64| {
            let rel = if power > 0.0 {
                (mse / power).sqrt()
            } else {
                0.0
            };
            let sqnr = if mse > 0.0 {
                format!("{:.1}", 10.0 * (power / mse).log10())
            } else {
                "exact".into()
            };
            table +=
                &format!("| {name} | {format} | {bits:.2} | {mse:.3e} | {rel:.4} | {sqnr} |\n");
        };
        for elem in Elem::ALL {
            let family = match elem.width() {
                8 if elem == Elem::Int8 => "MXINT8".to_string(),
                w => format!("MXFP{w} {}", elem.name().to_uppercase()),
            };
            let q = mx_values(values, args.block, elem, rounding);
            row(family, f64::from(elem.width()) + 8.0 / k, mse(values, &q));
        }
        for m in [4, 6, 8] {
            let q = hbfp_values(values, args.block, m);
            row(
                format!("HBFP{m}"),
                f64::from(m) + f64::from(HBFP_EXP_BITS) / k,
                mse(values, &q),
            );
        }
        row("INT8 per tensor".into(), 8.0, uniform_mse(values, 8));
    }
    table.push_str(&format!(
        "\nBlocks of {} values. MX: one E8M0 scale per block (8 bits), elements rounded {} \
         and saturated (docs/mx.md). HBFP: one {HBFP_EXP_BITS}-bit shared exponent per \
         block, m-bit two's-complement mantissas, RNE (docs/bfp.md). INT8: one scale \
         max|x| / 127 for the whole tensor, RNE. bits/value counts the shared scale or \
         exponent spread over its block. SQNR: 10 log10(mean x^2 / MSE).",
        args.block,
        match args.rounding {
            NearestRounding::Rne => "to nearest even",
            NearestRounding::Away => "to nearest, ties away from zero",
        }
    ));
    table.push_str(&args.tensor.note());
    table.push('\n');
    stdout
        .write_all(table.as_bytes())
        .map_err(|e| FitError(format!("cannot write the table: {e}"), Cause::Io))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::Synthetic;

    fn args(block: u32) -> MxErrorArgs {
        MxErrorArgs {
            tensor: TensorArgs {
                file: None,
                synthetic: Some(Synthetic::Gaussian),
                count: 4096,
                seed: 1,
            },
            block,
            rounding: NearestRounding::Rne,
        }
    }

    /// The error falls as the element gets wider, and the worked E2M1 block comes back
    /// as the elements.
    #[test]
    fn errors_are_ordered_and_blocks_are_exact() {
        let g = crate::fit::synthetic(Synthetic::Gaussian, 4096, 1);
        let e = |elem| mse(&g, &mx_values(&g, 32, elem, MxRounding::Rne));
        assert!(e(Elem::E2m1) > e(Elem::E3m2));
        assert!(e(Elem::E3m2) > e(Elem::E4m3));
        assert!(e(Elem::E2m3) < e(Elem::E3m2)); // a mantissa bit beats an exponent bit here
        assert!(e(Elem::Int8) < e(Elem::E4m3));
        let h = |m| mse(&g, &hbfp_values(&g, 32, m));
        assert!(h(4) > h(6) && h(6) > h(8));
        let block = [1.0, 0.3, -2.6, 5.9, 0.25, 0.75, 2.5];
        let q = mx_values(&block, 32, Elem::E2m1, MxRounding::Rne);
        assert_eq!(q, [1.0, 0.5, -3.0, 6.0, 0.0, 1.0, 2.0]);
    }

    #[test]
    fn table_and_bad_block() {
        let mut out = Vec::new();
        run(&args(32), &mut out, &mut Vec::new()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("| gaussian | MXFP4 E2M1 | 4.25 |"), "{text}");
        assert!(text.contains("| gaussian | HBFP4 | 4.31 |"), "{text}");
        let e = run(&args(65), &mut Vec::new(), &mut Vec::new()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.0.contains("65 is not in 1..=64"), "{}", e.0);
    }
}
