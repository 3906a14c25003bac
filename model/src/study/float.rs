//! Error studies of the floating-point accumulator `fpacc`.
//!
//! `fpacc`: each row's activations `x` go to operand `a`, weights `w` to `b`.
//! - Integer operands (`--in N --in-frac F`): the MAC's per-row symmetric quantization
//!   ([`super::int::quantize_row`]: scale `amax(row) / (2^(N-1) - 1)`, RNE, clamped), the
//!   code `q` read by the unit as `q * 2^-F`; mixed operands each with their own width and
//!   signedness (an unsigned one: scale `max(row) / (2^N - 1)`, negatives clamped to 0); so `--in-frac` places the products in the
//!   accumulator's range (acc12 wants `--in-frac 7` with int8, as in `gen acc-error`).
//! - Float operands (`--in-float E,M`): a per-row power-of-two scale that puts the row's
//!   largest magnitude in the operand format's top binade, then RNE into the format
//!   ([`FloatFormat::round`]: saturating, no subnormals).
//!
//! Every beat goes through [`FpaccSum`] (chunks: the row padded with zero beats to whole
//! chunks, as the unit pads; `--interleave K`: beat `i` into partial sum `i mod K`, then
//! the read-out). Stochastic rounding takes one `2R`-bit word per beat from a SplitMix64
//! stream seeded by [`workload_seed`] (the workload's shape and values), so a study repeats.
//! The result is the decoded accumulator times both rows' scales, flagged on `uf` or `of`.
//!
//! `fpacc-long`: the same operand mapping (mixed operands too); every exact product into
//! [`FpaccLongSum`], the one read-out rounding decoded and scaled, flagged on `uf` or `of`
//! (register overflow included).

use super::{amax, Errors, StudyError, Workload};
use crate::float::Exact;
use crate::fpacc::{FpaccLongParams, FpaccLongSum, FpaccParams, FpaccSum, InterleavedSum, Operand};
use crate::unit::Sampler;

/// The exact value of a finite `f64`.
pub fn exact_of(v: f64) -> Exact {
    let bits = v.to_bits();
    let (field, man) = (((bits >> 52) & 0x7ff) as i32, bits & ((1 << 52) - 1));
    if field == 0 && man == 0 {
        return Exact::ZERO;
    }
    let (sig, exp) = if field == 0 {
        (man, -1074)
    } else {
        (man | (1 << 52), field - 1075)
    };
    Exact {
        neg: bits >> 63 == 1,
        sig: u128::from(sig),
        exp,
    }
}

/// `floor(log2 |v|)` of a finite nonzero `v`.
pub fn floor_log2(v: f64) -> i32 {
    let e = exact_of(v);
    e.exp + 127 - e.sig.leading_zeros() as i32
}

/// A seed that depends only on the workload (FNV-1a over its shape and every value's
/// bits): the random source of stochastic rounding in the studies.
pub fn workload_seed(w: &Workload) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let words = [w.k as u64, w.trials as u64]
        .into_iter()
        .chain(w.x.iter().chain(&w.w).map(|v| v.to_bits()));
    for word in words {
        for byte in word.to_le_bytes() {
            h = (h ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// A row as `fpacc` operand codes (port bits) and the factor a code's value is scaled
/// by to stand for the real value (module docs).
///
/// `port` is `'a'` or `'b'`: mixed integer operands are each quantized for their own
/// width and signedness (an unsigned operand clamps negative values to 0, as the MAC's
/// study does).
pub fn operand_row(op: &Operand, port: char, row: &[f64]) -> (Vec<u64>, f64) {
    match op {
        Operand::Int { frac, .. } => {
            let (oa, ob) = op.ints().expect("integer operands");
            let o = if port == 'b' { ob } else { oa };
            let (q, scale) = super::int::quantize_row(row, o);
            let mask = (1u64 << o.bits) - 1;
            let codes = q.iter().map(|v| *v as u64 & mask).collect();
            (codes, scale * 2f64.powi(*frac as i32))
        }
        Operand::Float { format } => {
            let top = amax(row);
            if top == 0.0 {
                return (vec![0; row.len()], 1.0);
            }
            let e = format.max_exp() - floor_log2(top);
            let codes = row
                .iter()
                .map(|v| {
                    let x = exact_of(*v);
                    let x = Exact {
                        exp: x.exp + e,
                        ..x
                    };
                    format.round(x, crate::float::Rounding::Rne).bits
                })
                .collect();
            (codes, 2f64.powi(-e))
        }
    }
}

/// The accumulated value of one row pair of codes and whether `uf` or `of` was set.
pub fn fpacc_row(p: &FpaccParams, a: &[u64], b: &[u64], rng: &mut Sampler) -> (f64, bool) {
    if p.interleave > 1 {
        let mut s = InterleavedSum::new(*p);
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            s.push(i % p.interleave as usize, i == 0, *x, *y);
        }
        let r = s.readout();
        return (p.acc.decode(r.bits).to_f64(), r.underflow || r.overflow);
    }
    let mut s = FpaccSum::new(*p);
    let beats = if p.chunk > 0 {
        a.len().next_multiple_of(p.chunk as usize)
    } else {
        a.len()
    };
    for i in 0..beats {
        let (x, y) = (
            a.get(i).copied().unwrap_or(0),
            b.get(i).copied().unwrap_or(0),
        );
        match p.sr {
            Some(sr) => s.push_sr(i == 0, x, y, sr, rng.next_u64()),
            None => s.push(i == 0, x, y),
        }
    }
    (p.acc.decode(s.acc).to_f64(), s.uf || s.of)
}

/// `fpacc`'s error on `w` (module docs).
pub fn fpacc(p: &FpaccParams, w: &Workload) -> Result<Errors, StudyError> {
    let mut rng = Sampler::new(workload_seed(w));
    Ok(w.dot_errors(|x, wt| {
        let (qa, fa) = operand_row(&p.operand, 'a', x);
        let (qb, fb) = operand_row(&p.operand, 'b', wt);
        let (v, flag) = fpacc_row(p, &qa, &qb, &mut rng);
        (v * fa * fb, flag)
    }))
}

/// `fpacc-long`'s error on `w` (module docs).
pub fn fpacc_long(p: &FpaccLongParams, w: &Workload) -> Result<Errors, StudyError> {
    Ok(w.dot_errors(|x, wt| {
        let (qa, fa) = operand_row(&p.operand, 'a', x);
        let (qb, fb) = operand_row(&p.operand, 'b', wt);
        let mut s = FpaccLongSum::new(*p);
        for (i, (a, b)) in qa.iter().zip(&qb).enumerate() {
            s.push(i == 0, *a, *b);
        }
        let r = s.readout();
        let v = p.acc.decode(r.bits).to_f64();
        (v * fa * fb, r.underflow || r.overflow)
    }))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::float::FloatFormat;
    use crate::fpacc::{Preset, SrFields};
    use crate::iface::{set_field, CycleModel};
    use crate::study::Dist;
    use crate::unit::UnitParams;

    /// An fpacc-family study of int4 x `b` operands with exact sums equals the MAC's
    /// study of the same operands on the same rows (each operand quantized alike).
    fn equals_the_w4a8_mac(x: &Errors, b: crate::fpacc::IntOperand, w: &Workload) {
        let mac = crate::mac::MacParams {
            in_bits: 4,
            signed: true,
            acc_bits: 32,
            b: Some(b),
            ..crate::mac::MacParams::default()
        };
        let y = crate::study::int::mac(&mac, w).unwrap();
        assert!((x.rel_rms - y.rel_rms).abs() < 1e-12, "{x:?} {y:?}");
        assert!(x.rel_rms > 0.1, "negative activations clamp: {x:?}");
    }

    /// Drive `m` with `beats` (each a list of `(port, bit offset in the port, width,
    /// value)`; unnamed inputs 0), then `idle` cycles without a beat; the outputs of the
    /// last cycle.
    pub(crate) fn drive(
        m: &mut dyn CycleModel,
        beats: &[Vec<(&str, u32, u32, u64)>],
        idle: usize,
    ) -> Vec<u64> {
        let iface = m.interface().clone();
        let (iw, ow) = (iface.in_words(), iface.out_words());
        let mut out = vec![0u64; ow];
        let none = Vec::new();
        for beat in beats.iter().chain(std::iter::repeat_n(&none, idle)) {
            let mut ins = vec![0u64; iw];
            for &(port, lo, width, v) in beat {
                let off = iface.in_offset(port).expect("port") * 64;
                set_field(&mut ins, off as u32 + lo, width, v);
            }
            m.step(&ins, &mut out);
        }
        out
    }

    fn acc12_int8() -> FpaccParams {
        FpaccParams {
            operand: Operand::int(8, 7),
            ..FpaccParams::default()
        }
    }

    #[test]
    fn a_worked_row() {
        // x = (1, -0.5), w = (0.25, 1), int4 with --in-frac 2 into acc12: codes (7, -4)
        // and (2, 7), scales 1/7 each, read as q / 4. Products 14/16 = 0.875 and
        // -28/16 = -1.75 (exact in E4M7), sum -0.875; times (4/7)^2 = -0.2857...
        let w = Workload::from_rows("t", 2, vec![1.0, -0.5], vec![0.25, 1.0]).unwrap();
        let p = FpaccParams {
            operand: Operand::int(4, 2),
            ..FpaccParams::default()
        };
        let e = fpacc(&p, &w).unwrap();
        let got = -0.875 * (4.0 / 7.0) * (4.0 / 7.0);
        assert!(
            (e.rel_rms - (got + 0.25f64).abs() / 0.25).abs() < 1e-12,
            "{e:?}"
        );
        // E2M1 operands (bias 1, values 1 to 6, top binade 2^2): both rows scaled by 2^2,
        // x -> (4, -2), w -> (1, 4); products 4 and -8, sum -4, times 2^-4 = -0.25: exact.
        let p = FpaccParams {
            operand: Operand::Float {
                format: FloatFormat::finite(2, 1, 1),
            },
            ..FpaccParams::default()
        };
        assert_eq!(fpacc(&p, &w).unwrap().rel_rms, 0.0);
    }

    /// Mixed operands: each row quantized for its own operand. x = (1, -0.5) to an
    /// unsigned 4-bit `a` clamps -0.5 to 0 (scale 1/15: codes 15, 0); w = (0.25, 1) to a
    /// signed 4-bit `b` (scale 1/7: codes 2, 7); `--in-frac 2` reads q / 4: products
    /// 30/16 and 0, sum 1.875 (exact in E4M7), times (4/15)(4/7).
    #[test]
    fn mixed_operands_quantize_each_their_own_way() {
        use crate::fpacc::IntOperand;
        let w = Workload::from_rows("t", 2, vec![1.0, -0.5], vec![0.25, 1.0]).unwrap();
        let p = FpaccParams {
            operand: Operand::mixed(IntOperand::unsigned(4), IntOperand::signed(4), 2),
            ..FpaccParams::default()
        };
        let (qa, fa) = operand_row(&p.operand, 'a', &[1.0, -0.5]);
        let (qb, fb) = operand_row(&p.operand, 'b', &[0.25, 1.0]);
        assert_eq!((qa, qb), (vec![15, 0], vec![2, 7]));
        assert_eq!((fa, fb), (4.0 / 15.0, 4.0 / 7.0));
        let e = fpacc(&p, &w).unwrap();
        let got = 1.875 * (4.0 / 15.0) * (4.0 / 7.0);
        assert!(
            (e.rel_rms - (got + 0.25f64).abs() / 0.25).abs() < 1e-12,
            "{e:?}"
        );
        // With binary32 sums (exact here), the study is the MAC's mixed-operand study:
        // int4 x uint8 on Gaussian rows, the same quantization of each operand.
        let w = Workload::synthetic(Dist::Gaussian, 64, 8, 3);
        let (a, b) = (IntOperand::signed(4), IntOperand::unsigned(8));
        let f = Preset::Fp32.format();
        let p = FpaccParams {
            operand: Operand::mixed(a, b, 0),
            product: f,
            acc: f,
            ..FpaccParams::default()
        };
        equals_the_w4a8_mac(&fpacc(&p, &w).unwrap(), b, &w);
    }

    #[test]
    fn wider_accumulators_and_chunks_err_less() {
        let w = Workload::synthetic(Dist::Gaussian, 4096, 4, 1);
        let with = |preset: Preset, frac: u32, chunk: u32| {
            let f = preset.format();
            let p = FpaccParams {
                operand: Operand::int(8, frac),
                product: f,
                acc: f,
                chunk,
                ..FpaccParams::default()
            };
            fpacc(&p, &w).unwrap()
        };
        let plain = with(Preset::Acc12, 7, 0);
        let chunked = with(Preset::Acc12, 7, 64);
        let bf16 = with(Preset::Bf16, 0, 0);
        let fp32 = with(Preset::Fp32, 0, 0);
        assert!(
            chunked.rel_rms < plain.rel_rms / 2.0,
            "{plain:?} {chunked:?}"
        );
        assert!(fp32.rel_rms < bf16.rel_rms, "{bf16:?} {fp32:?}");
        // fp32 leaves only the operands' int8 rounding (about 36 dB at this K).
        assert!(fp32.flagged == 0.0 && fp32.snr_db > 30.0, "{fp32:?}");
        // Stochastic rounding repeats on the same workload (its random source is seeded
        // from it); at K = 4096 with 8 random bits its variance costs more than RNE's bias.
        let sr = FpaccParams {
            sr: Some(SrFields { bits: 8 }),
            ..acc12_int8()
        };
        assert_eq!(fpacc(&sr, &w).unwrap(), fpacc(&sr, &w).unwrap());
        let e_sr = fpacc(&sr, &w).unwrap();
        assert!(e_sr != plain && e_sr.rel_rms < 0.5, "{e_sr:?}");
        // Without --in-frac, int8 products overflow acc12 (largest 63.75): flagged.
        assert!(with(Preset::Acc12, 0, 0).flagged > 0.9);
    }

    #[test]
    fn the_units_forward_their_study() {
        use crate::unit::Unit;
        let w = Workload::synthetic(Dist::Gaussian, 32, 3, 1);
        let p = acc12_int8();
        assert_eq!(p.study(&w), Some(fpacc(&p, &w)));
        let l = FpaccLongParams::default();
        assert_eq!(l.study(&w), Some(fpacc_long(&l, &w)));
    }

    #[test]
    fn the_long_accumulator_rounds_once() {
        // The worked row of `a_worked_row` through fpacc-long (int4, --in-frac 2, acc12
        // output): the exact sum -0.875 rounds to itself.
        let w = Workload::from_rows("t", 2, vec![1.0, -0.5], vec![0.25, 1.0]).unwrap();
        let p = FpaccLongParams {
            operand: Operand::int(4, 2),
            ..FpaccLongParams::default()
        };
        let got = -0.875 * (4.0 / 7.0) * (4.0 / 7.0);
        let e = fpacc_long(&p, &w).unwrap();
        assert!(
            (e.rel_rms - (got + 0.25f64).abs() / 0.25).abs() < 1e-12,
            "{e:?}"
        );
        // At K = 4096 one rounding into acc12 beats a rounding per product.
        let w = Workload::synthetic(Dist::Gaussian, 4096, 4, 1);
        let long = FpaccLongParams {
            operand: Operand::int(8, 7),
            guard: 12,
            ..FpaccLongParams::default()
        };
        let (el, ep) = (
            fpacc_long(&long, &w).unwrap(),
            fpacc(&acc12_int8(), &w).unwrap(),
        );
        assert!(el.rel_rms < ep.rel_rms / 2.0, "{el:?} {ep:?}");
    }

    /// `fpacc-long` with mixed operands quantizes each operand its own way: the worked
    /// row of `mixed_operands_quantize_each_their_own_way` (uint4 x int4, `--in-frac 2`:
    /// sum 1.875, exact in E4M7), and with a binary32 read-out (exact here) the MAC's
    /// mixed-operand study, int4 x uint8 on Gaussian rows.
    #[test]
    fn the_long_accumulator_quantizes_mixed_operands_each_their_own_way() {
        use crate::fpacc::IntOperand;
        let op = |bits, signed| IntOperand { bits, signed };
        let w = Workload::from_rows("t", 2, vec![1.0, -0.5], vec![0.25, 1.0]).unwrap();
        let p = FpaccLongParams {
            operand: Operand::mixed(op(4, false), op(4, true), 2),
            ..FpaccLongParams::default()
        };
        let e = fpacc_long(&p, &w).unwrap();
        let got = 1.875 * (4.0 / 15.0) * (4.0 / 7.0);
        assert!(
            (e.rel_rms - (got + 0.25f64).abs() / 0.25).abs() < 1e-12,
            "{e:?}"
        );
        let w = Workload::synthetic(Dist::Gaussian, 64, 8, 3);
        let (a, b) = (op(4, true), op(8, false));
        let p = FpaccLongParams {
            operand: Operand::mixed(a, b, 0),
            acc: Preset::Fp32.format(),
            ..FpaccLongParams::default()
        };
        equals_the_w4a8_mac(&fpacc_long(&p, &w).unwrap(), b, &w);
    }

    #[test]
    fn the_study_uses_the_units_cycle_model() {
        let w = Workload::synthetic(Dist::Laplace, 40, 1, 5);
        for p in [
            acc12_int8(),
            FpaccParams {
                chunk: 16,
                ..acc12_int8()
            },
            FpaccParams {
                interleave: 4,
                ..acc12_int8()
            },
            FpaccParams {
                operand: Operand::Float {
                    format: FloatFormat::finite(4, 3, 7),
                },
                acc: Preset::Bf16.format(),
                product: Preset::Bf16.format(),
                ..FpaccParams::default()
            },
        ] {
            let x: Vec<f64> = w.x_rows().next().unwrap().to_vec();
            let wt: Vec<f64> = w.w_rows().next().unwrap().to_vec();
            let (qa, fa) = operand_row(&p.operand, 'a', &x);
            let (qb, fb) = operand_row(&p.operand, 'b', &wt);
            let (v, flag) = fpacc_row(&p, &qa, &qb, &mut Sampler::new(0));
            let n = p.operand.width();
            let beats: Vec<_> = qa
                .iter()
                .zip(&qb)
                .enumerate()
                .map(|(i, (a, b))| {
                    vec![
                        ("in_valid", 0, 1, 1),
                        ("clear", 0, 1, u64::from(i == 0)),
                        ("a", 0, n, *a),
                        ("b", 0, n, *b),
                    ]
                })
                .chain(std::iter::repeat_n(
                    vec![("in_valid", 0, 1, 1)],
                    qa.len().next_multiple_of(p.chunk.max(1) as usize) - qa.len(),
                ))
                .collect();
            let mut m = p.model().unwrap();
            let out = drive(m.as_mut(), &beats, p.latency() as usize);
            assert_eq!(p.acc.decode(out[0]).to_f64(), v, "{p:?}");
            assert_eq!(out[1] | out[2] == 1, flag);
            let exact = w.exact_dots()[0];
            let e = fpacc(&p, &w).unwrap();
            assert!((e.rel_rms - (v * fa * fb - exact).abs() / exact.abs()).abs() < 1e-12);
        }
    }
}
