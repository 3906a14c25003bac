//! The model's arithmetic over whole arrays: every function here only loops over rows
//! or blocks and calls the function of `model` that defines the result (no second
//! implementation), after checking that each operand fits the port it stands for.

use std::collections::HashMap;

use model::bfp::DotAccumulator;
use model::bfp::{BfpDotParams, BfpQuantParams, Block};
use model::expq::ExpqQuantParams;
use model::expq::{Fit, Metric};
use model::fpacc::{FpaccLongParams, FpaccLongSum, FpaccParams, FpaccSum, Operand};
use model::int;
use model::mac::{mac_step, MacParams};
use model::mx::{MxDequantParams, MxDotParams, MxQuantParams};
use model::requant::RequantParams;

use crate::Error;

fn value_error(s: impl Into<String>) -> Error {
    Error::Value(s.into())
}

/// Rows of `n` from a flat array of `len` values; `what` names the array.
fn rows(len: usize, n: usize, what: &str) -> Result<usize, Error> {
    if n == 0 {
        return Err(value_error(format!("'{what}': rows must not be empty")));
    }
    if !len.is_multiple_of(n) {
        return Err(value_error(format!(
            "'{what}': {len} values are not whole rows (blocks) of {n}"
        )));
    }
    Ok(len / n)
}

fn same_len(a: usize, b: usize, what: &str) -> Result<(), Error> {
    if a != b {
        return Err(value_error(format!(
            "'{what}': {b} values where {a} are needed"
        )));
    }
    Ok(())
}

/// Check that every value of `xs` fits `bits` bits of the given signedness.
fn check_ints(xs: &[i64], bits: u32, signed: bool, what: &str) -> Result<(), Error> {
    if let Some(bad) = xs.iter().find(|&&x| !int::fits(x.into(), bits, signed)) {
        let (lo, hi) = (int::min_value(bits, signed), int::max_value(bits, signed));
        return Err(value_error(format!(
            "invalid value {bad} in '{what}': allowed {lo}..={hi} ({bits}-bit {})",
            if signed { "signed" } else { "unsigned" }
        )));
    }
    Ok(())
}

/// Check that every raw code of `xs` has at most `bits` bits.
fn check_codes(xs: &[u64], bits: u32, what: &str) -> Result<(), Error> {
    if bits < 64 {
        if let Some(bad) = xs.iter().find(|&&x| x >> bits != 0) {
            return Err(value_error(format!(
                "invalid code {bad:#x} in '{what}': allowed 0..={:#x} ({bits} bits)",
                (1u64 << bits) - 1
            )));
        }
    }
    Ok(())
}

/// The random words of a stochastic converter: required with `rounding="sr"`, one per
/// element of at most `bits` bits, refused otherwise.
fn random(rnd: Option<&[u64]>, stochastic: bool, len: usize, bits: u32) -> Result<&[u64], Error> {
    match (rnd, stochastic) {
        (None, false) => Ok(&[]),
        (Some(_), false) => Err(value_error(
            "'rnd': random bits are only taken with rounding='sr'",
        )),
        (None, true) => Err(value_error(
            "'rnd': rounding='sr' needs one random word per element",
        )),
        (Some(r), true) => {
            same_len(len, r.len(), "rnd")?;
            check_codes(r, bits, "rnd")?;
            Ok(r)
        }
    }
}

/// The integer MAC's dot products (docs/mac.md): each row of `n` operand pairs is
/// accumulated from a cleared accumulator with the unit's overflow policy, as
/// [`mac_step`] defines it. Returns the accumulator and the sticky `ovf` flag per row.
pub fn mac(p: &MacParams, a: &[i64], b: &[i64], n: usize) -> Result<(Vec<i128>, Vec<bool>), Error> {
    same_len(a.len(), b.len(), "b")?;
    let r = rows(a.len(), n, "a")?;
    check_ints(a, p.a().bits, p.a().signed, "a")?;
    check_ints(b, p.b().bits, p.b().signed, "b")?;
    let mut acc = Vec::with_capacity(r);
    let mut ovf = Vec::with_capacity(r);
    for (ra, rb) in a.chunks(n).zip(b.chunks(n)) {
        let mut s = (0i128, false);
        for (i, (&x, &y)) in ra.iter().zip(rb).enumerate() {
            s = mac_step(p, s.0, s.1, i == 0, x.into(), y.into());
        }
        acc.push(s.0);
        ovf.push(s.1);
    }
    Ok((acc, ovf))
}

/// HBFP conversion results: mantissas, the exponent and `inv` of each block.
pub type BfpQuantized = (Vec<i8>, Vec<i32>, Vec<bool>);

/// One accumulator read-out: raw bits of the accumulator format, the value, `uf`, `of`.
pub type FpaccOut = (Vec<u64>, Vec<f64>, Vec<bool>, Vec<bool>);

/// The raw port bits of operands: integer operands are two's-complement values of
/// `bits` bits (checked, then masked), float operands raw codes of the format's width.
/// `what` names the port (`a` or `b`): mixed integer operands each have their own
/// width and signedness.
fn operand_bits(op: &Operand, xs: &[i64], what: &str) -> Result<Vec<u64>, Error> {
    let w = if what == "b" {
        op.width_b()
    } else {
        op.width()
    };
    match op {
        Operand::Int { .. } => {
            let (oa, ob) = op.ints().expect("integer operands");
            let o = if what == "b" { ob } else { oa };
            check_ints(xs, o.bits, o.signed, what)?;
            Ok(xs
                .iter()
                .map(|&x| int::wrap(x.into(), w, false) as u64)
                .collect())
        }
        Operand::Float { .. } => {
            let raw: Vec<u64> = xs.iter().map(|&x| x as u64).collect();
            if xs.iter().any(|&x| x < 0) {
                return Err(value_error(format!(
                    "'{what}': float operands are raw codes, 0..={}",
                    (1u64 << w) - 1
                )));
            }
            check_codes(&raw, w, what)?;
            Ok(raw)
        }
    }
}

/// The floating-point accumulator `fpacc` (docs/fpacc.md): each row of `n` operand pairs
/// pushed through [`FpaccSum`] from a clear (products rounded, chunks of `--chunk`
/// summed and added, sticky flags).
pub fn fpacc(p: &FpaccParams, a: &[i64], b: &[i64], n: usize) -> Result<FpaccOut, Error> {
    if p.interleave != 1 {
        return Err(value_error(
            "'interleave': the interleaved accumulator's order depends on the beat timing; \
             run it with lowbit.simulate('fpacc', ...)",
        ));
    }
    accumulate_rows(&p.operand, a, b, n, |ra, rb| {
        let mut s = FpaccSum::new(*p);
        for (i, (&x, &y)) in ra.iter().zip(rb).enumerate() {
            s.push(i == 0, x, y);
        }
        (s.acc, s.uf, s.of)
    })
    .map(|rows| readouts(rows, |bits| p.acc.decode(bits).to_f64()))
}

/// The long-accumulator variant `fpacc_long`: exact fixed-point sums, rounded once.
pub fn fpacc_long(p: &FpaccLongParams, a: &[i64], b: &[i64], n: usize) -> Result<FpaccOut, Error> {
    accumulate_rows(&p.operand, a, b, n, |ra, rb| {
        let mut s = FpaccLongSum::new(*p);
        for (i, (&x, &y)) in ra.iter().zip(rb).enumerate() {
            s.push(i == 0, x, y);
        }
        let v = s.readout();
        (v.bits, v.underflow, v.overflow)
    })
    .map(|rows| readouts(rows, |bits| p.acc.decode(bits).to_f64()))
}

/// Each row of `n` operand pairs (checked against `operand`, as raw port bits) through
/// `row`, which returns the accumulator's bits and its underflow and overflow flags.
fn accumulate_rows(
    operand: &Operand,
    a: &[i64],
    b: &[i64],
    n: usize,
    row: impl Fn(&[u64], &[u64]) -> (u64, bool, bool),
) -> Result<Vec<(u64, bool, bool)>, Error> {
    same_len(a.len(), b.len(), "b")?;
    rows(a.len(), n, "a")?;
    let (a, b) = (
        operand_bits(operand, a, "a")?,
        operand_bits(operand, b, "b")?,
    );
    Ok(a.chunks(n)
        .zip(b.chunks(n))
        .map(|(ra, rb)| row(ra, rb))
        .collect())
}

/// Rows of (bits, underflow, overflow) as the four arrays Python gets, the value decoded.
fn readouts(rows: Vec<(u64, bool, bool)>, value: impl Fn(u64) -> f64) -> FpaccOut {
    let mut out: FpaccOut = Default::default();
    for (bits, uf, of) in rows {
        out.0.push(bits);
        out.1.push(value(bits));
        out.2.push(uf);
        out.3.push(of);
    }
    out
}

/// HBFP conversion (docs/bfp.md, `bfp_quant`) of binary32 values (as bits) in blocks of
/// `--block`: mantissas per element, then the shared exponent and the NaN/infinity flag
/// per block, by [`model::bfp::quantize_with_rule`].
pub fn bfp_quantize(
    p: &BfpQuantParams,
    x: &[u32],
    rnd: Option<&[u64]>,
) -> Result<BfpQuantized, Error> {
    let n = p.block as usize;
    let r = rows(x.len(), n, "x")?;
    let rnd = random(rnd, p.stochastic(), x.len(), p.rnd_bits)?;
    let f = p.format();
    let mut q = Vec::with_capacity(x.len());
    let mut exp = Vec::with_capacity(r);
    let mut inv = Vec::with_capacity(r);
    for (i, block) in x.chunks(n).enumerate() {
        let words = if rnd.is_empty() {
            rnd
        } else {
            &rnd[i * n..(i + 1) * n]
        };
        let b =
            model::bfp::quantize_with_rule(&f, block, p.rounding, words, p.rnd_bits, p.exp_rule);
        // Mantissas are at most 8 bits (`--mant` 2..=8, symmetric range).
        q.extend(b.block.q.iter().map(|&m| m as i8));
        exp.push(b.block.exp);
        inv.push(b.inv);
    }
    Ok((q, exp, inv))
}

/// The value of HBFP blocks, `q_i * 2^E_s` (docs/bfp.md), in binary64: exact for every
/// mantissa width (at most 24 bits) unless the product leaves binary64's normal range.
pub fn bfp_dequantize(q: &[i64], exp: &[i32]) -> Result<Vec<f64>, Error> {
    if exp.is_empty() {
        return Err(value_error("'exp': no blocks"));
    }
    let n = q.len() / exp.len();
    rows(q.len(), n, "q")?;
    same_len(q.len() / n, exp.len(), "exp")?;
    Ok(q.chunks(n)
        .zip(exp)
        .flat_map(|(b, &e)| {
            let scale = 2f64.powi(e);
            b.iter().map(move |&m| m as f64 * scale)
        })
        .collect())
}

/// The exact block dot products (docs/bfp.md, [`model::bfp::dot`]): per pair of blocks
/// the integer sum of products and the exponent `E_a + E_b`. Mantissas are checked
/// against `--mant` (two's complement; the unit accepts the whole m-bit range).
pub fn bfp_dot(
    p: &BfpDotParams,
    qa: &[i64],
    ea: &[i32],
    qb: &[i64],
    eb: &[i32],
) -> Result<(Vec<i64>, Vec<i32>), Error> {
    let n = p.block as usize;
    same_len(qa.len(), qb.len(), "qb")?;
    let r = rows(qa.len(), n, "qa")?;
    same_len(r, ea.len(), "ea")?;
    same_len(r, eb.len(), "eb")?;
    check_ints(qa, p.mant_bits, true, "qa")?;
    check_ints(qb, p.mant_bits, true, "qb")?;
    let e = p.format();
    let (lo, hi) = (e.exp_min(), e.exp_max());
    for (what, es) in [("ea", ea), ("eb", eb)] {
        if let Some(bad) = es.iter().find(|&&v| v < lo || v > hi) {
            return Err(value_error(format!(
                "invalid value {bad} in '{what}': allowed {lo}..={hi} ({}-bit signed)",
                p.exp_bits
            )));
        }
    }
    let mut sums = Vec::with_capacity(r);
    let mut exps = Vec::with_capacity(r);
    for i in 0..r {
        let block = |q: &[i64], e: i32| Block {
            exp: e,
            q: q[i * n..(i + 1) * n].to_vec(),
        };
        let (s, x) = model::bfp::dot(&block(qa, ea[i]), &block(qb, eb[i]));
        sums.push(s);
        exps.push(x);
    }
    Ok((sums, exps))
}

/// OCP MX conversion (docs/mx.md, `mx_quant`) of binary32 values (bits) in blocks of
/// `--block`: one element code per value (at most 8 bits), one E8M0 scale byte per
/// block, by [`model::mx::quantize_into`] (that is [`model::mx::quantize`] without an
/// allocation per block).
pub fn mx_quantize(
    p: &MxQuantParams,
    x: &[u32],
    rnd: Option<&[u64]>,
) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let n = p.block as usize;
    let r = rows(x.len(), n, "x")?;
    let rnd = random(rnd, p.stochastic(), x.len(), p.rnd_bits)?;
    let mut codes = Vec::with_capacity(x.len());
    let mut scales = Vec::with_capacity(r);
    let mut buf = vec![0u64; n];
    for (i, block) in x.chunks(n).enumerate() {
        let words = if rnd.is_empty() {
            rnd
        } else {
            &rnd[i * n..(i + 1) * n]
        };
        let scale =
            model::mx::quantize_into(p.elem, block, p.rounding, words, p.rnd_bits, &mut buf);
        // Codes are at most 8 bits wide, the scale an E8M0 byte.
        codes.extend(buf.iter().map(|&c| c as u8));
        scales.push(scale as u8);
    }
    Ok((codes, scales))
}

/// MX elements back to binary32 bits (docs/mx.md, [`model::mx::dequantize`]): `element *
/// 2^X` rounded to nearest even, no subnormals; the quiet NaN `0x7FC00000` for the NaN
/// scale byte or a NaN/infinity element. Blocks are `codes.len() / scales.len()` long.
pub fn mx_dequantize(
    p: &MxDequantParams,
    codes: &[u64],
    scales: &[u32],
) -> Result<Vec<u32>, Error> {
    if scales.is_empty() {
        return Err(value_error("'scales': no blocks"));
    }
    let n = codes.len() / scales.len();
    rows(codes.len(), n, "codes")?;
    same_len(codes.len() / n, scales.len(), "scales")?;
    check_codes(codes, p.elem.width(), "codes")?;
    if let Some(bad) = scales.iter().find(|&&s| s > 255) {
        return Err(value_error(format!(
            "invalid scale {bad} in 'scales': allowed 0..=255 (E8M0)"
        )));
    }
    Ok(codes
        .chunks(n)
        .zip(scales)
        .flat_map(|(b, &s)| {
            b.iter().map(move |&c| {
                model::mx::dequantize(p.elem, s, c).map_or(0x7FC0_0000, |r| r.bits as u32)
            })
        })
        .collect())
}

/// Per row of block pairs: the binary32 accumulator (bits), `uf`, `of`, `nan`.
pub type MxDotOut = (Vec<u32>, Vec<bool>, Vec<bool>, Vec<bool>);

/// Scale bytes checked as E8M0 (0..=255).
fn check_scales(xs: &[u32], what: &str) -> Result<(), Error> {
    if let Some(bad) = xs.iter().find(|&&s| s > 255) {
        return Err(value_error(format!(
            "invalid scale {bad} in '{what}': allowed 0..=255 (E8M0)"
        )));
    }
    Ok(())
}

/// The MX block dot product `mx_dot` (docs/mx.md) over rows of `row` element pairs
/// (whole blocks):
/// each block pair's value [`model::mx::block_value`] (the exact sum of element
/// products rounded once to binary32), accumulated along the row from a clear as the
/// unit does ([`DotAccumulator::add`]); a NaN block (NaN scale byte, NaN or infinity
/// code) adds +0 and sets `nan`. `qa`, `qb`: element codes, `block` per block; `xa`,
/// `xb`: one scale byte per block.
pub fn mx_dot(
    p: &MxDotParams,
    qa: &[u64],
    xa: &[u32],
    qb: &[u64],
    xb: &[u32],
    row: usize,
) -> Result<MxDotOut, Error> {
    let n = p.block as usize;
    let blocks = rows(row, n, "qa")?;
    same_len(qa.len(), qb.len(), "qb")?;
    let r = rows(qa.len(), row, "qa")?;
    same_len(r * blocks, xa.len(), "xa")?;
    same_len(r * blocks, xb.len(), "xb")?;
    check_codes(qa, p.elem_a.width(), "qa")?;
    check_codes(qb, p.elem_b.width(), "qb")?;
    check_scales(xa, "xa")?;
    check_scales(xb, "xb")?;
    let mut out: MxDotOut = (
        Vec::with_capacity(r),
        Vec::with_capacity(r),
        Vec::with_capacity(r),
        Vec::with_capacity(r),
    );
    for row in 0..r {
        let mut acc = DotAccumulator::default();
        let mut nan = false;
        for i in row * blocks..(row + 1) * blocks {
            let v = model::mx::block_value(p, xa[i], &qa[i * n..][..n], xb[i], &qb[i * n..][..n]);
            nan |= v.is_none();
            // A NaN block counts as +0 (block_to_binary32(0, 0): no flags).
            acc.add(
                i == row * blocks,
                v.unwrap_or(model::bfp::block_to_binary32(0, 0)),
            );
        }
        out.0.push(acc.acc);
        out.1.push(acc.uf);
        out.2.push(acc.of);
        out.3.push(nan);
    }
    Ok(out)
}

/// `metric=`: `mse` or `mae`, as `gen fit --metric`.
pub fn metric(name: &str) -> Result<Metric, Error> {
    match name {
        "mse" => Ok(Metric::Mse),
        "mae" => Ok(Metric::Mae),
        _ => Err(value_error(format!(
            "invalid value '{name}' for 'metric': allowed mse (mean squared error), mae (mean \
             absolute error)"
        ))),
    }
}

/// The DNA-TEQ-style exponential quantization fit of a tensor ([`model::expq::fit`],
/// what `gen fit` reports per width) at `bits` bits per value, with `gen fit`'s checks:
/// `bits` in 2..=8, the values finite and not all zero.
pub fn expq_fit(x: &[f32], bits: u32, metric: Metric) -> Result<Fit, Error> {
    if !(2..=8).contains(&bits) {
        return Err(value_error(format!(
            "invalid value '{bits}' for 'bits': allowed 2..=8"
        )));
    }
    if let Some(bad) = x.iter().find(|v| !v.is_finite()) {
        return Err(value_error(format!(
            "invalid value {bad} in 'x': a finite float32 is needed"
        )));
    }
    if x.iter().all(|&v| v == 0.0) {
        return Err(value_error(
            "'x': the values are all 0 (or none): nothing to fit",
        ));
    }
    Ok(model::expq::fit(x, bits, metric))
}

/// The exponential quantizer's outputs per input: sign, zero flag, code.
pub type ExpqCodes = (Vec<u8>, Vec<bool>, Vec<u64>);

/// The exponential quantizer `expq_quant` (docs/log-domain.md): per input the sign `s`,
/// the zero flag `z` and the code `e`, by [`ExpqQuantParams::code_of`] (each distinct
/// magnitude computed once).
pub fn expq_quantize(p: &ExpqQuantParams, x: &[i64]) -> Result<ExpqCodes, Error> {
    check_ints(x, p.in_bits, true, "x")?;
    let mut memo: HashMap<u64, Option<u64>> = HashMap::new();
    let mut s = Vec::with_capacity(x.len());
    let mut z = Vec::with_capacity(x.len());
    let mut e = Vec::with_capacity(x.len());
    for &v in x {
        let mag = v.unsigned_abs();
        let code = *memo.entry(mag).or_insert_with(|| p.code_of(mag));
        match code {
            None => {
                s.push(0);
                z.push(true);
                e.push(0);
            }
            Some(c) => {
                s.push(u8::from(v < 0));
                z.push(false);
                e.push(c);
            }
        }
    }
    Ok((s, z, e))
}

/// The requantizer (docs/requant.md, [`model::requant::requantize`]): TFLite's
/// `MultiplyByQuantizedMultiplier(acc, mult, shift) + zp`, clamped to `--out` bits.
/// Arrays of equal length (broadcast by the Python side).
pub fn requantize(
    p: &RequantParams,
    acc: &[i64],
    mult: &[i64],
    shift: &[i64],
    zp: &[i64],
) -> Result<Vec<i64>, Error> {
    same_len(acc.len(), mult.len(), "mult")?;
    same_len(acc.len(), shift.len(), "shift")?;
    same_len(acc.len(), zp.len(), "zp")?;
    for (what, xs) in [("acc", acc), ("mult", mult), ("zp", zp)] {
        check_ints(xs, 32, true, what)?;
    }
    let (lo, hi) = model::requant::SHIFT_RANGE.into_inner();
    if let Some(bad) = shift.iter().find(|&&s| s < lo.into() || s > hi.into()) {
        return Err(value_error(format!(
            "invalid value {bad} in 'shift': allowed {lo}..={hi}"
        )));
    }
    Ok((0..acc.len())
        .map(|i| {
            model::requant::requantize(
                acc[i] as i32,
                mult[i] as i32,
                shift[i] as i32,
                zp[i] as i32,
                p.out_bits,
                p.signed,
            )
        })
        .collect())
}
