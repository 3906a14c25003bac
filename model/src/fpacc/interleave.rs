//! `fpacc --interleave K`: K partial sums, combined on read-out (docs/fpacc.md,
//! "Interleaved partial sums").
//!
//! The beat arriving in clock cycle `c` (counted from reset) is added into partial sum
//! `c mod K` with the same `Q_acc` as the plain accumulator, so each partial sum is a
//! plain `fpacc` over every K-th cycle's beats, and the adder may take K cycles: it is cut
//! into K register stages and the K partial sums are the values in flight in it. A cycle
//! without a valid beat adds nothing (the partial sum passing through the adder gets a
//! zero). `clear` restarts all K partial sums with the beat that carries it.
//!
//! After every cycle the read-out combines the partial sums by halves, each sum rounded
//! with `Q_acc`: `p_i = Q_acc(p_i + p_(i + K/2))` for `i < K/2`, then the same on the
//! first K/2, down to one value (for K = 4: `Q(Q(p0 + p2) + Q(p1 + p3))`). Pairs are K/2
//! cycles apart, so the hardware can pair its window of the last K finished partial sums
//! the same way whatever cycle it is in. `uf` and `of` show the sticky flags of every
//! rounding since `clear` (products and partial sums) OR the flags of this read-out's
//! roundings.
//!
//! Timing: the ring takes K cycles, the read-out `K * log2(K)` register stages (each
//! level of the read-out is an adder, cut as finely as the ring's), so the latency is
//! `K + K * log2(K)` ([`latency`]), plus `--pipeline`.

use std::collections::VecDeque;

use super::FpaccParams;
use crate::float::Rounded;
use crate::iface::{split, CycleModel, Interface};
use crate::unit::{ParamError, UnitParams};

/// The partial-sum counts `--interleave` accepts.
pub const INTERLEAVE: [u32; 4] = [1, 2, 4, 8];

/// Cycles from a beat to its read-out with K partial sums (K > 1).
pub fn latency(k: u32) -> u32 {
    k + readout_stages(k) + 1
}

/// Register stages cut into the read-out tree: `K * log2(K) - 1`, then the output
/// register.
pub fn readout_stages(k: u32) -> u32 {
    k * k.trailing_zeros() - 1
}

/// The arithmetic of the interleaved accumulator without timing: K partial sums, the
/// slot a beat goes into given by the caller, and the read-out.
#[derive(Clone, Debug)]
pub struct InterleavedSum {
    p: FpaccParams,
    /// The partial sums (accumulator format bits).
    pub slots: Vec<u64>,
    /// Sticky flags of every rounding since `clear`.
    pub uf: bool,
    pub of: bool,
}

impl InterleavedSum {
    pub fn new(p: FpaccParams) -> InterleavedSum {
        InterleavedSum {
            p,
            slots: vec![0; p.interleave as usize],
            uf: false,
            of: false,
        }
    }

    /// One beat of operands (raw port bits) into partial sum `slot`.
    pub fn push(&mut self, slot: usize, clear: bool, a: u64, b: u64) {
        if clear {
            *self = InterleavedSum::new(self.p);
        }
        let product = self.p.q_prod(a, b);
        let r = self.p.q_acc(self.slots[slot], product.bits);
        self.slots[slot] = r.bits;
        self.uf |= product.underflow || r.underflow;
        self.of |= product.overflow || r.overflow;
    }

    /// The partial sums combined by halves, with the sticky flags OR-ed in.
    pub fn readout(&self) -> Rounded {
        let mut v: Vec<Rounded> = self
            .slots
            .iter()
            .map(|&bits| Rounded {
                bits,
                ..Rounded::default()
            })
            .collect();
        while v.len() > 1 {
            let half = v.len() / 2;
            v = (0..half)
                .map(|i| {
                    let r = self.p.q_outer(v[i].bits, v[i + half].bits);
                    Rounded {
                        bits: r.bits,
                        underflow: r.underflow || v[i].underflow || v[i + half].underflow,
                        overflow: r.overflow || v[i].overflow || v[i + half].overflow,
                    }
                })
                .collect();
        }
        let r = v[0];
        Rounded {
            bits: r.bits,
            underflow: r.underflow || self.uf,
            overflow: r.overflow || self.of,
        }
    }
}

/// What the outputs show: the read-out and the valid bit of the beat it follows.
#[derive(Clone, Copy, Debug, Default)]
struct Shown {
    value: Rounded,
    valid: bool,
}

/// Cycle model of `fpacc --interleave K` (K > 1).
#[derive(Clone, Debug)]
pub struct FpaccInterleaved {
    p: FpaccParams,
    iface: Interface,
    sum: InterleavedSum,
    /// The cycle since reset, modulo K: the partial sum this cycle's beat goes into.
    slot: usize,
    /// Read-outs on their way to the outputs, oldest first (`latency` of them).
    line: VecDeque<Shown>,
}

impl FpaccInterleaved {
    pub fn new(p: FpaccParams) -> Result<FpaccInterleaved, ParamError> {
        p.validate()?;
        Ok(FpaccInterleaved {
            p,
            iface: p.interface(),
            sum: InterleavedSum::new(p),
            slot: 0,
            line: vec![Shown::default(); latency(p.interleave) as usize].into(),
        })
    }
}

impl CycleModel for FpaccInterleaved {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let shown = self.line.pop_front().unwrap_or_default();
        outputs[0] = shown.value.bits;
        outputs[1] = shown.value.underflow.into();
        outputs[2] = shown.value.overflow.into();
        outputs[3] = shown.valid.into();
        let ins = split(self.iface.beat_inputs(), inputs);
        if ins[0][0] & 1 == 1 {
            *self = FpaccInterleaved::new(self.p).expect("validated");
            return;
        }
        let valid = ins[1][0] & 1 == 1;
        if valid {
            self.sum
                .push(self.slot, ins[2][0] & 1 == 1, ins[3][0], ins[4][0]);
        }
        self.slot = (self.slot + 1) % self.p.interleave as usize;
        self.line.push_back(Shown {
            value: self.sum.readout(),
            valid,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::float::FloatFormat;
    use crate::fpacc::{Operand, Preset};

    /// binary32 accumulator fed with float operands E8M10 (exact products of powers of
    /// two), so a beat `(2^e, 1)` adds `2^e`.
    fn fp32(k: u32) -> FpaccParams {
        let f = Preset::Fp32.format();
        FpaccParams {
            operand: Operand::Float {
                format: FloatFormat {
                    exp_bits: 8,
                    man_bits: 10,
                    bias: 127,
                    reserve_top_exponent: false,
                },
            },
            product: f,
            acc: f,
            interleave: k,
            ..FpaccParams::default()
        }
    }

    /// E8M10 bits of `(-1)^neg 2^e`.
    fn pow2(neg: bool, e: i32) -> u64 {
        (u64::from(neg) << 18) | (((e + 127) as u64) << 10)
    }

    /// docs/fpacc.md: 2^24, 1, -2^24 sums to 0 with one binary32 sum (1 is lost beside
    /// 2^24) and to 1 with two interleaved partial sums (2^24 and -2^24 share one).
    #[test]
    fn interleaving_changes_where_rounding_happens() {
        let one = pow2(false, 0);
        let beats = [(pow2(false, 24), one), (one, one), (pow2(true, 24), one)];
        let value = |k: u32| {
            let mut s = InterleavedSum::new(fp32(k));
            for (i, (a, b)) in beats.iter().enumerate() {
                s.push(i % k as usize, i == 0, *a, *b);
            }
            f32::from_bits(s.readout().bits as u32)
        };
        assert_eq!(value(1), 0.0);
        assert_eq!(value(2), 1.0);
        assert_eq!(value(4), 1.0);
    }

    #[test]
    fn latency_and_stages() {
        assert_eq!((latency(2), latency(4), latency(8)), (4, 12, 32));
        assert_eq!(readout_stages(2), 1);
    }

    /// The cycle model: a beat's read-out shows `latency` cycles later; gaps add nothing;
    /// `clear` restarts every partial sum.
    #[test]
    fn cycle_model() {
        for k in [2, 4, 8] {
            let p = fp32(k);
            let mut m = FpaccInterleaved::new(p).unwrap();
            let mut out = [0u64; 4];
            let one = pow2(false, 0);
            let mut shown = Vec::new();
            // Beats of 1.0 with gaps, then a clear with 2.0.
            let beats = [1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 1];
            for (t, v) in beats.iter().enumerate() {
                m.step(&[0, *v, u64::from(t == 0), one, one], &mut out);
                shown.push((out[3], f32::from_bits(out[0] as u32)));
            }
            m.step(&[0, 1, 1, pow2(false, 1), one], &mut out);
            for _ in 0..latency(k) + 1 {
                shown.push((out[3], f32::from_bits(out[0] as u32)));
                m.step(&[0, 0, 0, 0, 0], &mut out);
            }
            let l = latency(k) as usize;
            let count = beats.iter().sum::<u64>() as f32;
            assert_eq!(shown[l], (1, 1.0), "k {k}");
            assert_eq!(shown[beats.len() - 1 + l], (1, count), "k {k}");
            assert_eq!(shown[beats.len() + l], (1, 2.0), "k {k}");
        }
    }
}
