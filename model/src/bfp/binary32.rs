//! The stages of a block dot product after the block's exact sum, shared by `bfp_dot`
//! and `mx_dot`: the conversion of a block's sum to binary32 ([`block_to_binary32`]), the
//! binary32 accumulator across blocks ([`DotAccumulator`]) and the registered stages
//! around them ([`DotStages`]), with their extra cycles.

use std::collections::VecDeque;

use super::dot::dot;
use super::Block;
use crate::float::{Exact, FloatFormat, Rounded, Rounding};

/// One block's exact dot product `sum * 2^exp` as binary32 (RNE, no subnormals): the
/// conversion stage of `bfp_dot` and `mx_dot`. HBFP block sums have at most 22 bits, so
/// there only the exponent range can make it inexact (flush to zero or saturate, with the
/// flag); MX block sums (up to 71 bits) also round.
pub fn block_to_binary32(sum: impl Into<i128>, exp: i32) -> Rounded {
    FloatFormat::BINARY32.round(Exact::from_int(sum.into(), exp), Rounding::Rne)
}

/// The cross-block binary32 accumulator of `bfp_dot`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DotAccumulator {
    /// binary32 bits.
    pub acc: u32,
    pub uf: bool,
    pub of: bool,
}

impl DotAccumulator {
    /// Add one block's converted dot product `v` (RNE, no subnormals); `clear` starts a
    /// new dot product with `v` (and fresh flags).
    pub fn add(&mut self, clear: bool, v: Rounded) {
        let f = FloatFormat::BINARY32;
        let (base, uf, of) = if clear {
            (0, false, false)
        } else {
            (self.acc, self.uf, self.of)
        };
        let r = f.round(
            Exact::sum(f.decode(base.into()), f.decode(v.bits)),
            Rounding::Rne,
        );
        *self = DotAccumulator {
            acc: r.bits as u32,
            uf: uf || v.underflow || r.underflow,
            of: of || v.overflow || r.overflow,
        };
    }

    /// Add one block pair: the exact block dot product is converted to binary32, then
    /// accumulated ([`DotAccumulator::add`]).
    pub fn step(&mut self, clear: bool, a: &Block, b: &Block) {
        let (sum, exp) = dot(a, b);
        self.add(clear, block_to_binary32(sum, exp));
    }
}

/// Most extra cycles of `bfp_dot`'s binary32 accumulation
/// ([`super::BfpDotParams::accumulation_stages`]): eight cycles per addition reach about 35 MHz
/// on the UP5K (delay model), where the block's own stage starts to limit the clock.
pub const MAX_ACCUMULATION_STAGES: u32 = 7;

/// Extra cycles of the binary32 accumulation of a block dot product (`bfp_dot`, `mx_dot`)
/// whose blocks take `beats` beats: `beats - 1`, at most [`MAX_ACCUMULATION_STAGES`]
/// ([`super::BfpDotParams::accumulation_stages`]).
pub fn binary32_accumulation_stages(beats: u32) -> u32 {
    (beats - 1).min(MAX_ACCUMULATION_STAGES)
}

/// Extra cycles of the binary32 conversion beside `accumulation` extra cycles of the
/// accumulation: half as many ([`super::BfpDotParams::conversion_stages`]).
pub fn conversion_stages(accumulation: u32) -> u32 {
    accumulation / 2
}

/// A block that reached the end of stage 0: its exact sum (in units of `2^exp`), `clear`,
/// and whether it is a NaN block (`mx_dot` only: it then counts as +0 and sets `nan`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BlockEnd {
    sum: i128,
    exp: i32,
    clear: bool,
    nan: bool,
}

/// A converted block on its way to the accumulator: its binary32 value, `clear`, `nan`.
type Converted = (Rounded, bool, bool);

/// The stages of a block dot product after the block's exact sum, shared by `bfp_dot`
/// and `mx_dot`: stage 1 registers the block's sum and exponent, stage 2 its binary32
/// value ([`block_to_binary32`], `conversion` extra cycles), stage 3 adds it to the
/// binary32 accumulator ([`DotAccumulator::add`], `accumulation` extra cycles). As blocks
/// are at least as many cycles apart as they have beats, the accumulator does not change
/// while a block's value is in the adder, so the value is delayed and added when it
/// leaves the adder. A NaN block (`mx_dot`) adds +0 (the accumulator keeps its value,
/// or starts over at +0 with `clear`) and sets the sticky `nan` flag, which `clear`
/// resets like `uf` and `of`.
#[derive(Clone, Debug)]
pub struct DotStages {
    /// Stage 1.
    block: Option<BlockEnd>,
    /// The conversion's extra cycles, oldest first.
    converting: VecDeque<Option<Converted>>,
    /// Stage 2.
    converted: Option<Converted>,
    /// The adder's extra cycles, oldest first.
    adding: VecDeque<Option<Converted>>,
    /// Stage 3: the accumulator, the sticky `nan` flag and `out_valid`.
    pub acc: DotAccumulator,
    pub nan: bool,
    pub out_valid: bool,
}

impl DotStages {
    /// Empty stages (as after reset) with `conversion` and `accumulation` extra cycles.
    pub fn new(conversion: u32, accumulation: u32) -> DotStages {
        DotStages {
            block: None,
            converting: std::iter::repeat_n(None, conversion as usize).collect(),
            converted: None,
            adding: std::iter::repeat_n(None, accumulation as usize).collect(),
            acc: DotAccumulator::default(),
            nan: false,
            out_valid: false,
        }
    }

    /// One clock edge for stages 1 to 3: each takes what the previous stage held (stage 1
    /// is left empty until [`DotStages::push`]).
    pub fn clock(&mut self) {
        self.adding.push_back(self.converted.take());
        let added = self.adding.pop_front().flatten();
        self.out_valid = added.is_some();
        if let Some((v, clear, nan)) = added {
            self.acc.add(clear, v);
            self.nan = (self.nan && !clear) || nan;
        }
        let block = self.block.take();
        self.converting.push_back(block.map(|b| {
            let v = if b.nan {
                block_to_binary32(0, 0) // +0, no flags
            } else {
                block_to_binary32(b.sum, b.exp)
            };
            (v, b.clear, b.nan)
        }));
        self.converted = self.converting.pop_front().flatten();
    }

    /// A block's exact sum `sum * 2^exp` enters stage 1 at this clock edge (after
    /// [`DotStages::clock`]); `clear` starts a new dot product with it; a `nan` block
    /// counts as +0 and sets the `nan` flag.
    pub fn push(&mut self, sum: i128, exp: i32, clear: bool, nan: bool) {
        self.block = Some(BlockEnd {
            sum,
            exp,
            clear,
            nan,
        });
    }
}
