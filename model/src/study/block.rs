//! Error studies of the block formats: HBFP (`bfp-dot`, `bfp-quant`) and OCP MX
//! (`mx-dot`, `mx-quant`).
//!
//! Every row is cut into blocks of `--block` values (the last padded with zeros), each
//! value rounded to binary32 (what the units take), and each block converted by the
//! format's own converter from binary32: [`crate::bfp::quantize_with_rule`] (HBFP; the
//! dot product's operands with RNE and the MX exponent rule, `bfp_quant`'s default) or
//! [`crate::mx::quantize`] (MX, RNE). With `--modes`, the widest width (`--mant`).
//!
//! - `bfp-dot`: the block pairs through [`DotAccumulator`] (binary32) or, with `--acc
//!   long`, [`LongDotSum`]; the binary32 result, flagged on `uf` or `of`.
//! - `mx-dot`: the block pairs through [`crate::mx::block_value`] and [`DotAccumulator`];
//!   flagged on `uf` or `of`.
//! - `bfp-quant` and `mx-quant` (one result per element of `x`; `w` unused): the unit's
//!   rounding (stochastic: one word per element from a stream seeded by the workload,
//!   [`super::float::workload_seed`]), then the value the codes stand for: `q * 2^E` for
//!   HBFP (flagged when the block held a NaN or infinity), [`crate::mx::dequantize`]
//!   for MX (flagged on its underflow or overflow).
//! - `q8-quant` (per element of `x`; `w` unused): each row is one tensor, read as the
//!   unit's N-bit input `RNE(x * 2^F)` (saturating, flagged), its `lo` and `hi` the row's
//!   minimum and maximum (GEMMLOWP's min/max), [`Q8QuantParams::reciprocal`] and
//!   [`Q8QuantParams::quantize`] (SR words as above), read back as
//!   `lo + q (hi - lo) / (2^b - 1)`.
//! - `palq-pe`: the array computes one dot product per row, beat `t`'s lane `i` (of all
//!   G*P) taking element `t*G*P + i` (the last beat padded with zero activations); the
//!   result is the sum of the G groups' `y`. Weights: symmetric per-row scale `amax(w)`,
//!   code `k = RNE((w/s + 1)(L-1)/2)` clamped to `0..L`; activations: scale `max(x)`,
//!   `j = RNE(x/s (L-1))` clamped (negative values to 0, suiting ReLU activations).
//!   `y / (L-1)^2` times both scales, through the cycle model ([`PalqPe`]). Rows needing
//!   more than `--k-max` products per group are refused (the registers would wrap).

use super::float::workload_seed;
use super::{Errors, StudyError, Workload};
use crate::bfp::{
    quantize_with_rule, BfpDotParams, BfpFormat, BfpQuantParams, BfpRounding, Block,
    DotAccumulator, ExpRule, LongDotSum,
};
use crate::mx::{self, MxDotParams, MxQuantParams, MxRounding};
use crate::palq::{PalqPe, PalqPeParams};
use crate::q8quant::Q8QuantParams;
use crate::unit::Sampler;

/// A row as blocks of `n` binary32 values, the last padded with zeros.
pub fn binary32_blocks(row: &[f64], n: u32) -> Vec<Vec<u32>> {
    row.chunks(n as usize)
        .map(|c| {
            let mut b: Vec<u32> = c.iter().map(|v| (*v as f32).to_bits()).collect();
            b.resize(n as usize, 0);
            b
        })
        .collect()
}

/// Refuse values binary32 cannot hold (the converters would read them as infinities).
fn check_binary32(w: &Workload, rows: &[f64]) -> Result<(), StudyError> {
    match rows.iter().find(|v| !(**v as f32).is_finite()) {
        Some(v) => Err(StudyError(format!(
            "workload '{}': {v} is beyond binary32's range, which the block formats take",
            w.name
        ))),
        None => Ok(()),
    }
}

/// A row's HBFP blocks (RNE, the MX exponent rule).
pub fn bfp_blocks(f: &BfpFormat, n: u32, row: &[f64]) -> Vec<Block> {
    binary32_blocks(row, n)
        .iter()
        .map(|b| quantize_with_rule(f, b, BfpRounding::Rne, &[], 0, ExpRule::Mx).block)
        .collect()
}

/// `bfp-dot`'s result on one row pair (binary32 value, flag).
pub fn bfp_dot_row(p: &BfpDotParams, x: &[f64], w: &[f64]) -> (f64, bool) {
    let (a, b) = (
        bfp_blocks(&p.format(), p.block, x),
        bfp_blocks(&p.format(), p.block, w),
    );
    let pairs = a.iter().zip(&b).enumerate();
    match p.long {
        Some(window) => {
            let mut s = LongDotSum::new(window);
            for (i, (ba, bb)) in pairs {
                s.step(i == 0, ba, bb);
            }
            let r = s.readout();
            (
                f64::from(f32::from_bits(r.bits as u32)),
                r.underflow || r.overflow,
            )
        }
        None => {
            let mut acc = DotAccumulator::default();
            for (i, (ba, bb)) in pairs {
                acc.step(i == 0, ba, bb);
            }
            (f64::from(f32::from_bits(acc.acc)), acc.uf || acc.of)
        }
    }
}

/// `bfp-dot`'s error on `w` (module docs).
pub fn bfp_dot(p: &BfpDotParams, w: &Workload) -> Result<Errors, StudyError> {
    check_binary32(w, &w.x)?;
    check_binary32(w, &w.w)?;
    Ok(w.dot_errors(|x, wt| bfp_dot_row(p, x, wt)))
}

/// `mx-dot`'s result on one row pair (binary32 value, flag).
pub fn mx_dot_row(p: &MxDotParams, x: &[f64], w: &[f64]) -> (f64, bool) {
    let conv = |e, row| -> Vec<mx::MxBlock> {
        binary32_blocks(row, p.block)
            .iter()
            .map(|b| mx::quantize(e, b, MxRounding::Rne, &[], 0))
            .collect()
    };
    let (a, b) = (conv(p.elem_a, x), conv(p.elem_b, w));
    let mut acc = DotAccumulator::default();
    for (i, (ba, bb)) in a.iter().zip(&b).enumerate() {
        let v = mx::block_value(p, ba.scale, &ba.codes, bb.scale, &bb.codes)
            .expect("finite binary32 blocks have finite scales and codes");
        acc.add(i == 0, v);
    }
    (f64::from(f32::from_bits(acc.acc)), acc.uf || acc.of)
}

/// `mx-dot`'s error on `w` (module docs).
pub fn mx_dot(p: &MxDotParams, w: &Workload) -> Result<Errors, StudyError> {
    check_binary32(w, &w.x)?;
    check_binary32(w, &w.w)?;
    Ok(w.dot_errors(|x, wt| mx_dot_row(p, x, wt)))
}

/// Random words of `bits` bits, one per element, for a stochastic converter.
fn random_words(rng: &mut Sampler, n: u32, bits: u32) -> Vec<u64> {
    (0..n)
        .map(|_| rng.next_u64() & ((1u64 << bits) - 1))
        .collect()
}

/// The metrics of a block quantizer on `w`'s activations: each row cut into blocks of
/// `block` values, each block as binary32 with its random words (`rnd_bits` each, from
/// the workload's stream, when `stochastic`) given to `convert`, which returns every
/// element's value back and whether it flagged it; compared with the elements.
fn block_quantizer_errors(
    w: &Workload,
    block: u32,
    stochastic: bool,
    rnd_bits: u32,
    mut convert: impl FnMut(&[u32], &[u64]) -> Vec<(f64, bool)>,
) -> Result<Errors, StudyError> {
    check_binary32(w, &w.x)?;
    let mut rng = Sampler::new(workload_seed(w));
    let mut results = Vec::with_capacity(w.x.len());
    for row in w.x_rows() {
        for (vals, bits) in row.chunks(block as usize).zip(binary32_blocks(row, block)) {
            let rnd = if stochastic {
                random_words(&mut rng, block, rnd_bits)
            } else {
                Vec::new()
            };
            for (v, (got, flag)) in vals.iter().zip(convert(&bits, &rnd)) {
                results.push((got, *v, flag));
            }
        }
    }
    Ok(Errors::of(&results))
}

/// `bfp-quant`'s error on `w`'s activations (module docs).
pub fn bfp_quant(p: &BfpQuantParams, w: &Workload) -> Result<Errors, StudyError> {
    let f = p.format();
    block_quantizer_errors(w, p.block, p.stochastic(), p.rnd_bits, |bits, rnd| {
        let q = quantize_with_rule(&f, bits, p.rounding, rnd, p.rnd_bits, p.exp_rule);
        let scale = 2f64.powi(q.block.exp);
        q.block
            .q
            .iter()
            .map(|code| (*code as f64 * scale, q.inv))
            .collect()
    })
}

/// `mx-quant`'s error on `w`'s activations (module docs).
pub fn mx_quant(p: &MxQuantParams, w: &Workload) -> Result<Errors, StudyError> {
    block_quantizer_errors(w, p.block, p.stochastic(), p.rnd_bits, |bits, rnd| {
        let b = mx::quantize(p.elem, bits, p.rounding, rnd, p.rnd_bits);
        b.codes
            .iter()
            .map(|code| {
                let r = mx::dequantize(p.elem, b.scale, *code)
                    .expect("finite binary32 blocks have finite scales and codes");
                (
                    f64::from(f32::from_bits(r.bits as u32)),
                    r.underflow || r.overflow,
                )
            })
            .collect()
    })
}

/// `q8-quant`'s error on `w`'s activations (module docs).
pub fn q8_quant(p: &Q8QuantParams, w: &Workload) -> Result<Errors, StudyError> {
    let mut rng = Sampler::new(workload_seed(w));
    let hi_code = (1i64 << (p.in_bits - 1)) - 1;
    let fix = 2f64.powi(p.in_frac as i32);
    let mut results = Vec::with_capacity(w.x.len());
    for row in w.x_rows() {
        let fixed: Vec<(i64, bool)> = row
            .iter()
            .map(|v| {
                let q = (v * fix).round_ties_even();
                let (lo_code, hi_code) = (-(hi_code as f64) - 1.0, hi_code as f64);
                (q.clamp(lo_code, hi_code) as i64, q < lo_code || q > hi_code)
            })
            .collect();
        let lo = fixed.iter().map(|f| f.0).min().unwrap_or(0);
        let hi = fixed.iter().map(|f| f.0).max().unwrap_or(0);
        let recip = p.reciprocal(lo, hi);
        let step = (hi - lo) as f64 / p.qmax() as f64;
        for (v, (x, sat)) in row.iter().zip(&fixed) {
            let rnd = if p.sr() {
                rng.next_u64() & ((1u64 << p.rnd_bits) - 1)
            } else {
                0
            };
            let q = p.quantize(*x, lo, recip, rnd);
            results.push(((lo as f64 + q as f64 * step) / fix, *v, *sat));
        }
    }
    Ok(Errors::of(&results))
}

/// `palq-pe`'s error on `w` (module docs).
pub fn palq_pe(p: &PalqPeParams, w: &Workload) -> Result<Errors, StudyError> {
    let n = p.products() as usize;
    let beats = w.k.div_ceil(n);
    let per_group = beats as u64 * u64::from(p.lanes);
    if per_group > u64::from(p.k_max) {
        return Err(StudyError(format!(
            "workload '{}' has rows of K = {} products, {per_group} per group on {} groups              of {} lanes, more than --k-max {} holds: give palq-pe --k-max {per_group} or more",
            w.name, w.k, p.groups, p.lanes, p.k_max
        )));
    }
    let mut pe = PalqPe::new(*p).map_err(|e| StudyError(e.to_string()))?;
    let m = f64::from(p.levels - 1);
    let code = |v: f64| v.round_ties_even().clamp(0.0, m) as u32;
    Ok(w.dot_errors(|x, wt| {
        let sw = super::amax(wt);
        let sa = x.iter().fold(0.0f64, |t, v| t.max(*v));
        let k: Vec<u32> = wt
            .iter()
            .map(|v| {
                if sw == 0.0 {
                    0
                } else {
                    code((v / sw + 1.0) * m / 2.0)
                }
            })
            .collect();
        let j: Vec<u32> = x
            .iter()
            .map(|v| if sa == 0.0 { 0 } else { code(v / sa * m) })
            .collect();
        for t in 0..beats {
            let lane = |c: &[u32], i: usize| c.get(t * n + i).copied().unwrap_or(0);
            let kb: Vec<u32> = (0..n).map(|i| lane(&k, i)).collect();
            let jb: Vec<u32> = (0..n).map(|i| lane(&j, i)).collect();
            pe.clock(false, true, t == 0, &kb, &jb);
        }
        let y: i128 = (0..p.groups as usize).map(|g| pe.result(g)).sum();
        (y as f64 / (m * m) * sa * sw, false)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bfp::LongWindow;
    use crate::mx::Elem;
    use crate::study::float::tests::drive;
    use crate::study::Dist;
    use crate::unit::UnitParams;

    #[test]
    fn a_worked_bfp_row() {
        // HBFP4 blocks of 2: x = (1, -0.3): max exponent 0, E = 0 - (4 - 2) = -2, codes
        // (4, -1.2 -> -1); w = (0.5, 0.75): max exponent -1, E = -3, codes (4, 6). Sum
        // 16 - 6 = 10 at 2^-5 = 0.3125; exact 0.5 - 0.225 = 0.275.
        let w = Workload::from_rows("t", 2, vec![1.0, -0.3], vec![0.5, 0.75]).unwrap();
        let p = BfpDotParams {
            block: 2,
            ..BfpDotParams::default()
        };
        assert_eq!(bfp_dot_row(&p, &[1.0, -0.3], &[0.5, 0.75]), (0.3125, false));
        let e = bfp_dot(&p, &w).unwrap();
        assert!((e.rel_rms - (0.3125 - 0.275) / 0.275).abs() < 1e-9, "{e:?}");
        // The converter alone on x: 1 and -0.25 against 1 and -0.3.
        let q = BfpQuantParams {
            block: 2,
            ..BfpQuantParams::default()
        };
        let e = bfp_quant(&q, &w).unwrap();
        let want = (0.05f64 * 0.05 / (1.0 + 0.09)).sqrt();
        assert!((e.rel_rms - want).abs() < 1e-7, "{e:?}");
    }

    #[test]
    fn a_worked_mx_row() {
        // MXINT8 (code / 64, emax 0) blocks of 2: x = (1, -0.3): scale 2^0, codes 64 and
        // -19.2 -> -19; w = (0.5, 0.75): scale 2^-1, codes 64 and 96. Sum 4096 - 1824 =
        // 2272 at 2^-12 * 2^-1 = 0.27734375; exact 0.275.
        let p = MxDotParams {
            elem_a: Elem::Int8,
            elem_b: Elem::Int8,
            block: 2,
            lanes: None,
        };
        assert_eq!(
            mx_dot_row(&p, &[1.0, -0.3], &[0.5, 0.75]),
            (0.27734375, false)
        );
    }

    #[test]
    fn wider_mantissas_and_elements_err_less() {
        let w = Workload::synthetic(Dist::Gaussian, 256, 20, 2);
        let bfp = |mant_bits| {
            let p = BfpDotParams {
                mant_bits,
                ..BfpDotParams::default()
            };
            bfp_dot(&p, &w).unwrap()
        };
        let (m4, m6, m8) = (bfp(4), bfp(6), bfp(8));
        assert!(m6.rel_rms < m4.rel_rms / 2.0 && m8.rel_rms < m6.rel_rms / 2.0);
        // Smaller blocks share an exponent among fewer values: less error.
        let small = BfpDotParams {
            block: 4,
            ..BfpDotParams::default()
        };
        assert!(bfp_dot(&small, &w).unwrap().rel_rms < m4.rel_rms);
        // The long accumulator with its default window: no worse than binary32 here.
        let long = BfpDotParams {
            long: Some(LongWindow::default()),
            mant_bits: 8,
            ..BfpDotParams::default()
        };
        let el = bfp_dot(&long, &w).unwrap();
        assert!(el.rel_rms < 2.0 * m8.rel_rms, "{el:?} {m8:?}");
        let mx = |e| {
            let p = MxDotParams {
                elem_a: e,
                elem_b: e,
                ..MxDotParams::default()
            };
            mx_dot(&p, &w).unwrap()
        };
        let (fp4, fp6, fp8, int8) = (
            mx(Elem::E2m1),
            mx(Elem::E2m3),
            mx(Elem::E4m3),
            mx(Elem::Int8),
        );
        assert!(fp6.rel_rms < fp4.rel_rms && fp8.rel_rms < fp6.rel_rms);
        assert!(int8.rel_rms < fp8.rel_rms, "{int8:?} {fp8:?}");
        // The converters: more mantissa bits, less error; SR repeats on one workload.
        let q = |mant_bits, rounding| {
            let p = BfpQuantParams {
                mant_bits,
                rounding,
                ..BfpQuantParams::default()
            };
            bfp_quant(&p, &w).unwrap()
        };
        assert!(q(8, BfpRounding::Rne).rel_rms < q(4, BfpRounding::Rne).rel_rms / 8.0);
        assert_eq!(q(4, BfpRounding::Sr), q(4, BfpRounding::Sr));
        assert!(q(4, BfpRounding::Sr).rel_rms > q(4, BfpRounding::Rne).rel_rms);
        let mq = |elem| {
            mx_quant(
                &MxQuantParams {
                    elem,
                    ..MxQuantParams::default()
                },
                &w,
            )
            .unwrap()
        };
        assert!(mq(Elem::E4m3).rel_rms < mq(Elem::E2m1).rel_rms);
    }

    #[test]
    fn q8_quant_worked_and_ordered() {
        // Default q8-quant (16-bit input, 8 fraction bits, 8-bit codes): x = (1, -0.3, 0)
        // -> 256, -77, 0; lo -77, hi 256, step 333/255; 0 -> q = RNE(77 * 255/333) = 59
        // (58.96, through the truncated reciprocal), read back -77 + 59 * 333/255.
        let w = Workload::from_rows("t", 3, vec![1.0, -0.3, 0.0], vec![0.0; 3]).unwrap();
        let e = q8_quant(&Q8QuantParams::default(), &w).unwrap();
        let zero = (-77.0 + 59.0 * 333.0 / 255.0) / 256.0;
        let err2 = (77.0f64 / 256.0 - 0.3).powi(2) + zero * zero;
        assert!((e.rel_rms - (err2 / 1.09).sqrt()).abs() < 1e-9, "{e:?}");
        let w = Workload::synthetic(Dist::Gaussian, 256, 10, 4);
        let q = |bits| {
            let p = Q8QuantParams {
                bits,
                ..Q8QuantParams::default()
            };
            q8_quant(&p, &w).unwrap()
        };
        assert!(q(8).rel_rms < q(4).rel_rms / 8.0);
    }

    #[test]
    fn palq_pe_worked_and_ordered() {
        // docs/palquant.md's worked case: L = 4, k = [0, 3, 1, 2], j = [3, 1, 2, 0], y = -8.
        // As real rows: w = (-1, 1, -1/3, 1/3), x = (1, 1/3, 2/3, 0), both scales 1; the
        // codes are exact, so the result -8/9 is the exact dot product.
        let (t, tt) = (1.0 / 3.0, 2.0 / 3.0);
        let w = Workload::from_rows("t", 4, vec![1.0, t, tt, 0.0], vec![-1.0, 1.0, -t, t]).unwrap();
        let p = PalqPeParams {
            groups: 1,
            lanes: 4,
            levels: 4,
            k_max: 4,
        };
        let e = palq_pe(&p, &w).unwrap();
        assert!(e.rel_rms < 1e-12, "{e:?}");
        let w = Workload::synthetic(Dist::Relu, 256, 20, 6);
        let at = |levels| {
            let p = PalqPeParams {
                levels,
                ..PalqPeParams::default()
            };
            palq_pe(&p, &w).unwrap()
        };
        assert!(at(16).rel_rms < at(4).rel_rms / 2.0);
        let short = PalqPeParams {
            k_max: 32,
            ..PalqPeParams::default()
        };
        let e = palq_pe(&short, &w).unwrap_err();
        assert!(e.0.contains("K = 256") && e.0.contains("--k-max 64"), "{e}");
    }

    #[test]
    fn the_units_forward_their_study() {
        use crate::unit::Unit;
        let w = Workload::synthetic(Dist::Relu, 64, 3, 1);
        let ok = |e: Option<Result<Errors, StudyError>>| e.unwrap().unwrap();
        let (bd, md) = (BfpDotParams::default(), MxDotParams::default());
        assert_eq!(ok(bd.study(&w)), bfp_dot(&bd, &w).unwrap());
        assert_eq!(ok(md.study(&w)), mx_dot(&md, &w).unwrap());
        let (bq, mq) = (BfpQuantParams::default(), MxQuantParams::default());
        assert_eq!(ok(bq.study(&w)), bfp_quant(&bq, &w).unwrap());
        assert_eq!(ok(mq.study(&w)), mx_quant(&mq, &w).unwrap());
        let q8 = Q8QuantParams::default();
        assert_eq!(ok(q8.study(&w)), q8_quant(&q8, &w).unwrap());
        let pe = PalqPeParams::default();
        assert_eq!(ok(pe.study(&w)), palq_pe(&pe, &w).unwrap());
    }

    #[test]
    fn values_beyond_binary32_are_refused() {
        let w = Workload::from_rows("big", 1, vec![1e300], vec![1.0]).unwrap();
        let e = bfp_dot(&BfpDotParams::default(), &w).unwrap_err();
        assert!(e.0.contains("binary32"), "{e}");
    }

    #[test]
    fn the_study_uses_the_units_cycle_model() {
        let w = Workload::synthetic(Dist::Laplace, 40, 1, 9);
        let (x, wt) = (&w.x[..40], &w.w[..40]);
        for p in [
            BfpDotParams {
                block: 8,
                ..BfpDotParams::default()
            },
            BfpDotParams {
                block: 8,
                mant_bits: 6,
                long: Some(LongWindow::default()),
                ..BfpDotParams::default()
            },
        ] {
            let (v, flag) = bfp_dot_row(&p, x, wt);
            let (a, b) = (
                bfp_blocks(&p.format(), p.block, x),
                bfp_blocks(&p.format(), p.block, wt),
            );
            let (m, e) = (p.mant_bits, p.exp_bits);
            let beats: Vec<_> = a
                .iter()
                .zip(&b)
                .enumerate()
                .map(|(i, (ba, bb))| {
                    let mut beat = vec![
                        ("in_valid", 0, 1, 1),
                        ("clear", 0, 1, u64::from(i == 0)),
                        ("ea", 0, e, ba.exp as u64 & ((1 << e) - 1)),
                        ("eb", 0, e, bb.exp as u64 & ((1 << e) - 1)),
                    ];
                    for j in 0..p.block as usize {
                        let f = j as u32 * m;
                        beat.push(("qa", f, m, ba.q[j] as u64 & ((1 << m) - 1)));
                        beat.push(("qb", f, m, bb.q[j] as u64 & ((1 << m) - 1)));
                    }
                    beat
                })
                .collect();
            let mut model = p.model().unwrap();
            let out = drive(model.as_mut(), &beats, p.latency() as usize);
            assert_eq!(f64::from(f32::from_bits(out[0] as u32)), v, "{p:?}");
            assert_eq!(out[1] | out[2] == 1, flag);
        }
    }
}
