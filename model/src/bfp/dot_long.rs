//! The long accumulation of `bfp_dot --acc long` (docs/bfp.md, "The long accumulation"):
//! its window, the sum without timing, and its cycle model. The read-out is
//! `fpacc-long`'s (`crate::fpacc::long_readout`, `ReadoutPipe`).

use serde::{Deserialize, Serialize};

use super::dot::{dot, BfpDotParams, BlockFeed};
use super::Block;
use crate::float::{FloatFormat, Rounded, Rounding};
use crate::fpacc::{long_readout, ReadoutPipe};
use crate::iface::{split, CycleModel, Interface};
use crate::int;
use crate::param::Param;
use crate::unit::{ParamError, UnitParams};

/// `--long-bits`: the width of the long register of `--acc long`.
pub const LONG_BITS: Param = Param::int(
    "--long-bits",
    "BITS",
    8..=128,
    Some(24),
    "Width of the long register of --acc long, sign included (the loop is an add this wide)",
);

/// `--long-lsb`: the weight of the long register's LSB.
pub const LONG_LSB: Param = Param::int(
    "--long-lsb",
    "EXP",
    -140_000..=140_000,
    Some(-12),
    "Exponent of the LSB of the long register of --acc long: block values are truncated \
     (floor) to multiples of 2^EXP",
);

/// The window of `bfp_dot --acc long`: a `bits`-bit two's-complement register whose LSB
/// weighs `2^lsb` (docs/bfp.md, "The long accumulation").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongWindow {
    /// Register width, sign included.
    pub bits: u32,
    /// Exponent of the LSB.
    pub lsb: i32,
}

impl Default for LongWindow {
    /// 24 bits from 2^-12: values below 2^11 in magnitude, exact to 2^-12 (sized for the
    /// HBFP density target on the UP5K, docs/bfp.md).
    fn default() -> Self {
        LongWindow {
            bits: LONG_BITS.default_u32(),
            lsb: -12,
        }
    }
}

impl LongWindow {
    /// A block's value `sum * 2^exp` in LSB units, truncated (floor), as the register
    /// adds it: its low `bits` bits (two's complement) and whether the truncated value
    /// itself does not fit the register.
    pub fn place(&self, sum: i64, exp: i32) -> (i128, bool) {
        let k = i64::from(exp) - i64::from(self.lsb);
        let sum = i128::from(sum);
        let fixed = if k >= 0 {
            // The low 128 bits of sum * 2^k are exact modulo 2^bits.
            if k >= 128 {
                0
            } else {
                sum.wrapping_shl(k as u32)
            }
        } else {
            sum >> (-k).min(127) // floor
        };
        // Bits of `sum` as a signed value (0 for zero): floor(sum * 2^k) fits `bits`
        // signed bits exactly when `sum` fits `bits - k`.
        let n = if sum == 0 {
            0
        } else if sum > 0 {
            129 - i64::from(sum.leading_zeros())
        } else {
            129 - i64::from(sum.leading_ones())
        };
        (self.wrap(fixed), sum != 0 && n + k > i64::from(self.bits))
    }

    /// `v` modulo `2^bits` as a two's-complement `bits`-bit value.
    pub fn wrap(&self, v: i128) -> i128 {
        let shift = 128 - self.bits;
        (v << shift) >> shift
    }

    /// `long + value` in the register: the wrapped sum and whether it left the range.
    pub fn add(&self, long: i128, value: i128) -> (i128, bool) {
        let (sum, carried) = long.overflowing_add(value);
        let wrapped = self.wrap(sum);
        (wrapped, carried || wrapped != sum)
    }

    /// What `acc`, `uf` and `of` show for the register: rounded once to binary32 (RNE).
    pub fn readout(&self, long: i128, sticky_of: bool) -> Rounded {
        long_readout(
            &FloatFormat::BINARY32,
            Rounding::Rne,
            long,
            self.lsb,
            sticky_of,
        )
    }
}

/// The long accumulation of `bfp_dot --acc long` without timing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LongDotSum {
    pub window: LongWindow,
    /// The register in LSB units.
    pub long: i128,
    /// The sticky overflow: a block value or a sum left the register.
    pub of: bool,
}

impl LongDotSum {
    pub fn new(window: LongWindow) -> LongDotSum {
        LongDotSum {
            window,
            long: 0,
            of: false,
        }
    }

    /// Add an already placed block value ([`LongWindow::place`]); `clear` starts over.
    pub fn add(&mut self, clear: bool, (value, value_of): (i128, bool)) {
        let base = if clear { 0 } else { self.long };
        let (long, of) = self.window.add(base, value);
        self.long = long;
        self.of = (self.of && !clear) || value_of || of;
    }

    /// Add one block pair.
    pub fn step(&mut self, clear: bool, a: &Block, b: &Block) {
        let (sum, exp) = dot(a, b);
        self.add(clear, self.window.place(sum, exp));
    }

    /// What `acc`, `uf` and `of` show.
    pub fn readout(&self) -> Rounded {
        self.window.readout(self.long, self.of)
    }
}

/// Cycle model of `bfp_dot --acc long`: a block's value is placed in the long register's
/// window with its last beat (registered: stage 1), added into the long register (stage
/// 2, the loop), and read out in `READOUT_STAGES` free-running stages as in `fpacc-long`.
#[derive(Clone, Debug)]
pub struct BfpDotLong {
    p: BfpDotParams,
    iface: Interface,
    /// The block being received.
    feed: BlockFeed,
    /// Stage 1: the placed value, its overflow and `clear`.
    block: Option<((i128, bool), bool)>,
    /// Stage 2: the long register and its sticky overflow.
    sum: LongDotSum,
    readout: ReadoutPipe,
}

impl BfpDotLong {
    pub fn new(p: BfpDotParams, window: LongWindow) -> Result<BfpDotLong, ParamError> {
        p.validate()?;
        Ok(BfpDotLong {
            p,
            iface: p.interface(),
            feed: BlockFeed::default(),
            block: None,
            sum: LongDotSum::new(window),
            readout: ReadoutPipe::default(),
        })
    }
}

impl CycleModel for BfpDotLong {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let p = self.p;
        self.readout.show(outputs);
        let ins = split(self.iface.beat_inputs(), inputs);
        let (rst, valid, clear) = (ins[0][0] & 1 == 1, ins[1][0] & 1 == 1, ins[2][0] & 1 == 1);
        if rst {
            *self = BfpDotLong::new(p, self.sum.window).expect("validated");
            return;
        }
        // The read-out takes the long register as it is before this cycle's block.
        let block = self.block.take();
        self.readout.step(self.sum.readout(), block.is_some());
        if let Some((value, clear)) = block {
            self.sum.add(clear, value);
        }
        if !valid {
            return;
        }
        if let Some(sum) = self.feed.beat(&p, &ins) {
            let w = p.exp_bits;
            let exp = |e: &[u64]| int::from_bits(e[0].into(), w, true) as i32;
            let value = self.sum.window.place(sum, exp(ins[3]) + exp(ins[5]));
            self.block = Some((value, clear));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bfp::DotAccumulator;

    /// `LongWindow::place`: floor below the LSB, the low bits and the overflow above.
    #[test]
    fn long_window_places_floors_and_flags() {
        let w = LongWindow { bits: 8, lsb: -2 };
        // 5 * 2^-3 = 0.625 -> 2 quarters (floor); -5 * 2^-3 -> -3 quarters (floor).
        assert_eq!(w.place(5, -3), (2, false));
        assert_eq!(w.place(-5, -3), (-3, false));
        // Far below the LSB: 0 or -1.
        assert_eq!(w.place(7, -100), (0, false));
        assert_eq!(w.place(-7, -100), (-1, false));
        // 127 quarters fits, 128 does not and wraps to -128.
        assert_eq!(w.place(127, -2), (127, false));
        assert_eq!(w.place(-128, -2), (-128, false));
        assert_eq!(w.place(1, 5), (-128, true));
        assert_eq!(w.place(-1, 5), (-128, false));
        // Far above: a zero sum fits, anything else flags (its low bits are zero).
        assert_eq!(w.place(0, 1000), (0, false));
        assert_eq!(w.place(3, 1000), (0, true));
        let mut s = LongDotSum::new(w);
        s.add(true, w.place(100, -2));
        s.add(false, w.place(100, -2)); // 200 wraps to -56
        assert_eq!((s.long, s.of), (-56, true));
        assert!(s.readout().overflow);
        s.add(true, w.place(-3, 0)); // clear: -12 quarters, -3.0, no flag
        assert_eq!((s.long, s.of), (-12, false));
        assert_eq!(f32::from_bits(s.readout().bits as u32), -3.0);
    }

    /// A 48-bit window from 2^-24 sums exactly what binary32 per block loses (docs/bfp.md):
    /// 2^20 + 2^-4 - 2^20.
    #[test]
    fn long_sum_is_exact_where_binary32_rounds() {
        let one = |exp, v| Block {
            exp,
            q: vec![v, 0, 0, 0],
        };
        let blocks = [
            (one(8, 4), one(8, 4)),
            (one(-2, 1), one(-2, 1)),
            (one(8, -4), one(8, 4)),
        ];
        let mut long = LongDotSum::new(LongWindow { bits: 48, lsb: -24 });
        let mut acc = DotAccumulator::default();
        for (i, (a, b)) in blocks.iter().enumerate() {
            long.step(i == 0, a, b);
            acc.step(i == 0, a, b);
        }
        assert_eq!(f32::from_bits(long.readout().bits as u32), 0.0625);
        assert_eq!(acc.acc, 0);
    }
}
