//! The arithmetic of `fpacc` ([`FpaccSum`]) and its cycle model ([`Fpacc`]).

use serde::{Deserialize, Serialize};

use super::FpaccParams;
use crate::float::{RoundWith, Rounded};
use crate::iface::{split, CycleModel, Interface};
use crate::unit::{ParamError, UnitParams};

/// The arithmetic of docs/fpacc.md without any timing: feed products in beat order,
/// read the accumulator. The cycle model and the accuracy tables both use it.
#[derive(Clone, Debug)]
pub struct FpaccSum {
    p: FpaccParams,
    /// The accumulator (sum of completed chunks) and its sticky flags.
    pub acc: u64,
    pub uf: bool,
    pub of: bool,
    inner: u64,
    pos: u32,
}

/// What one beat did inside the chunk: the inner sum after it, its flags (product
/// rounding and inner sum) and whether it completed the chunk.
#[derive(Clone, Copy, Debug, Default)]
struct InnerStep {
    sum: u64,
    uf: bool,
    of: bool,
    done: bool,
}

impl FpaccSum {
    pub fn new(p: FpaccParams) -> FpaccSum {
        FpaccSum {
            p,
            acc: 0,
            uf: false,
            of: false,
            inner: 0,
            pos: 0,
        }
    }

    /// The inner half of a chunked beat: add the product into the chunk's sum.
    fn inner_step(&mut self, clear: bool, product: Rounded) -> InnerStep {
        let pos = if clear { 0 } else { self.pos };
        let base = if pos == 0 { 0 } else { self.inner };
        let r = self.p.q_acc(base, product.bits);
        let done = pos + 1 == self.p.chunk;
        self.inner = r.bits;
        self.pos = if done { 0 } else { pos + 1 };
        InnerStep {
            sum: r.bits,
            uf: product.underflow || r.underflow,
            of: product.overflow || r.overflow,
            done,
        }
    }

    /// The outer half: restart on `clear`, add a completed chunk.
    fn outer_step(&mut self, clear: bool, s: InnerStep) {
        if clear {
            (self.acc, self.uf, self.of) = (0, false, false);
        }
        self.uf |= s.uf;
        self.of |= s.of;
        if s.done {
            let r = self.p.q_outer(self.acc, s.sum);
            self.acc = r.bits;
            self.uf |= r.underflow;
            self.of |= r.overflow;
        }
    }

    /// One beat with the product already rounded (`FpaccParams::q_prod`).
    fn step(&mut self, clear: bool, product: Rounded) {
        if self.p.chunk == 0 {
            let base = if clear { 0 } else { self.acc };
            let r = self.p.q_acc(base, product.bits);
            let keep = !clear;
            self.acc = r.bits;
            self.uf = (self.uf && keep) || product.underflow || r.underflow;
            self.of = (self.of && keep) || product.overflow || r.overflow;
        } else {
            let s = self.inner_step(clear, product);
            self.outer_step(clear, s);
        }
    }

    /// One beat of operands given as raw port bits.
    pub fn push(&mut self, clear: bool, a: u64, b: u64) {
        let product = self.p.q_prod(a, b);
        self.step(clear, product);
    }

    /// One beat with stochastic rounding instead of the parameters' mode: `Q_prod` takes
    /// the product field of `rnd` and `Q_acc` the accumulator field ([`SrFields`]). Only
    /// the plain sum (no chunks; panics otherwise): a chunk's last beat would need a third
    /// field for its outer rounding.
    pub fn push_sr(&mut self, clear: bool, a: u64, b: u64, sr: SrFields, rnd: u64) {
        assert_eq!(self.p.chunk, 0, "stochastic rounding without chunks only");
        let product = self.p.q_prod_with(a, b, sr.product(rnd));
        let base = if clear { 0 } else { self.acc };
        let r = self.p.q_acc_with(base, product.bits, sr.accumulator(rnd));
        self.acc = r.bits;
        self.uf = (self.uf && !clear) || product.underflow || r.underflow;
        self.of = (self.of && !clear) || product.overflow || r.overflow;
    }
}

/// The random bits of one stochastically rounded beat: `2R` bits, two separate fields,
/// because a beat rounds twice. The low `R` bits (`rnd[R-1:0]`) round the product, the
/// high `R` (`rnd[2R-1:R]`) the sum. Separate fields keep the two decisions independent:
/// with one shared field the sum's decision would depend on the product's, and the sum's
/// rounding would no longer be unbiased given the rounded product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SrFields {
    /// Random bits per rounding, `R` (the range of `bfp_quant`'s `--rnd-bits`).
    pub bits: u32,
}

impl SrFields {
    /// Width of a beat's random word, `2R`.
    pub fn width(self) -> u32 {
        2 * self.bits
    }

    fn field(self, rnd: u64, k: u32) -> RoundWith {
        RoundWith::Sr {
            rnd: (rnd >> (k * self.bits)) & ((1u64 << self.bits) - 1),
            bits: self.bits,
        }
    }

    /// The product rounding's field, `rnd[R-1:0]`.
    pub fn product(self, rnd: u64) -> RoundWith {
        self.field(rnd, 0)
    }

    /// The accumulator rounding's field, `rnd[2R-1:R]`.
    pub fn accumulator(self, rnd: u64) -> RoundWith {
        self.field(rnd, 1)
    }
}

/// A beat between the operands and the accumulator.
#[derive(Clone, Copy, Debug, Default)]
struct InFlight {
    valid: bool,
    clear: bool,
    product: Rounded,
}

/// Cycle model of `fpacc`: [`FpaccSum`] behind the RTL's registers.
#[derive(Clone, Debug)]
pub struct Fpacc {
    p: FpaccParams,
    iface: Interface,
    sum: FpaccSum,
    /// With chunks: the register between the inner and the outer sum.
    chunk_stage: Option<(bool, InnerStep)>,
    out_valid: bool,
}

impl Fpacc {
    pub fn new(p: FpaccParams) -> Result<Fpacc, ParamError> {
        p.validate()?;
        Ok(Fpacc {
            p,
            iface: p.interface(),
            sum: FpaccSum::new(p),
            chunk_stage: None,
            out_valid: false,
        })
    }
}

impl CycleModel for Fpacc {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        outputs[0] = self.sum.acc;
        outputs[1] = self.sum.uf.into();
        outputs[2] = self.sum.of.into();
        outputs[3] = self.out_valid.into();
        let ins = split(self.iface.beat_inputs(), inputs);
        if ins[0][0] & 1 == 1 {
            *self = Fpacc::new(self.p).expect("validated");
            return;
        }
        if let Some(sr) = self.p.sr {
            // Stochastic rounding: the plain sum only (validated), both roundings in
            // the beat's cycle.
            self.out_valid = ins[1][0] & 1 == 1;
            if self.out_valid {
                let rnd = ins[5][0];
                self.sum
                    .push_sr(ins[2][0] & 1 == 1, ins[3][0], ins[4][0], sr, rnd);
            }
            return;
        }
        let beat = InFlight {
            valid: ins[1][0] & 1 == 1,
            clear: ins[2][0] & 1 == 1,
            product: self.p.q_prod(ins[3][0], ins[4][0]),
        };
        if self.p.chunk == 0 {
            self.out_valid = beat.valid;
            if beat.valid {
                self.sum.step(beat.clear, beat.product);
            }
            return;
        }
        // The outer sum takes last cycle's chunk register, then the inner sum refills it.
        self.out_valid = false;
        if let Some((clear, s)) = self.chunk_stage.take() {
            self.sum.outer_step(clear, s);
            self.out_valid = true;
        }
        if beat.valid {
            let s = self.sum.inner_step(beat.clear, beat.product);
            self.chunk_stage = Some((beat.clear, s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::float::FloatFormat;
    use crate::fpacc::Operand;

    fn acc12_float_operands() -> FpaccParams {
        // E5M2 operands with bias 15 reach 2^-4 * 2^-4 = 2^-8 exactly.
        FpaccParams {
            operand: Operand::Float {
                format: FloatFormat {
                    exp_bits: 5,
                    man_bits: 2,
                    bias: 15,
                    reserve_top_exponent: false,
                },
            },
            ..FpaccParams::default()
        }
    }

    /// E5M2 bits of 2^e.
    fn pow2(e: i32) -> u64 {
        ((e + 15) as u64) << 2
    }

    /// docs/fpacc.md: start at 1.0, add 2^-8 256 times: 1.0 without chunks (every add
    /// is a tie to even), 2.0 with chunks of 16 (1.0 enters as a chunk of its own: 1.0 and
    /// 15 zeros).
    #[test]
    fn spec_worked_cases() {
        let p = acc12_float_operands();
        let value = |s: &FpaccSum| p.acc.decode(s.acc).to_f64();
        let mut s = FpaccSum::new(p);
        s.push(true, pow2(0), pow2(0));
        for _ in 0..256 {
            s.push(false, pow2(-4), pow2(-4));
        }
        assert_eq!((value(&s), s.uf, s.of), (1.0, false, false));

        let p = FpaccParams { chunk: 16, ..p };
        let mut s = FpaccSum::new(p);
        s.push(true, pow2(0), pow2(0));
        for _ in 0..15 {
            s.push(false, 0, 0);
        }
        assert_eq!(value(&s), 1.0);
        for _ in 0..256 {
            s.push(false, pow2(-4), pow2(-4));
        }
        assert_eq!((value(&s), s.uf, s.of), (2.0, false, false));

        // 63.75 + 1 saturates at 63.75 and sets `of`: integer operands 63.75 = 255 * 2^-2.
        let p = FpaccParams {
            operand: Operand::int(10, 1),
            ..FpaccParams::default()
        };
        let mut s = FpaccSum::new(p);
        s.push(true, 255, 1); // 255/2 * 1/2
        assert_eq!((value(&s), s.of), (63.75, false));
        s.push(false, 2, 2); // 1.0
        assert_eq!((value(&s), s.of), (63.75, true));
        // 2^-10 alone flushes to zero and sets `uf`.
        let p = FpaccParams {
            operand: Operand::int(8, 5),
            ..FpaccParams::default()
        };
        let mut s = FpaccSum::new(p);
        s.push(true, 1, 1); // 2^-10
        assert_eq!((s.acc, s.uf, s.of), (0, true, false));
        // clear drops the flag.
        s.push(true, 32, 32);
        assert_eq!((value(&s), s.uf), (1.0, false));
    }

    /// The cycle model shows each beat's result `latency` cycles after it.
    #[test]
    fn cycle_model_latency() {
        for chunk in [0, 1, 3] {
            let p = FpaccParams {
                chunk,
                ..FpaccParams::default()
            };
            let mut m = Fpacc::new(p).unwrap();
            let mut out = [0u64; 4];
            // rst, in_valid, clear, a, b: 3 * 2 = 6 with clear.
            m.step(&[0, 1, 1, 3, 2], &mut out);
            for _ in 0..p.latency() {
                assert_eq!(out[3], 0, "{p:?}");
                m.step(&[0, 0, 0, 0, 0], &mut out);
            }
            assert_eq!(out[3], 1, "{p:?}");
            let want = if chunk == 3 { 0.0 } else { 6.0 };
            assert_eq!(p.acc.decode(out[0]).to_f64(), want, "{p:?}");
        }
    }
}
