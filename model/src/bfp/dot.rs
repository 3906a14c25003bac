//! The block dot product: [`dot`], the binary32 [`DotAccumulator`] and the `bfp_dot` unit.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use super::dot_long::{BfpDotLong, LongWindow, LONG_BITS, LONG_LSB};
use super::modes::{check_modes, Modes};
use super::{binary32_accumulation_stages, conversion_stages, DotStages};
use super::{check_lanes, BfpFormat, Block, BLOCK, MANT_BITS};
use super::{BLOCK_FLAG, LANES, MANT, MODES};

use crate::fpacc::READOUT_STAGES;
use crate::iface::{get_field, split, CycleModel, Dir, Interface, Port, Role};
use crate::int;
use crate::param::{Flags, Param, Params};
use crate::unit::{check_range, ParamError, UnitParams};

/// Width of the exact integer dot product of two blocks of `n` m-bit mantissas:
/// `2(m-1) + ceil(log2 n) + 1`.
pub fn dot_width(mant_bits: u32, n: u32) -> u32 {
    2 * (mant_bits - 1) + n.next_power_of_two().trailing_zeros() + 1
}

/// Exact dot product of two blocks: integer sum of products and exponent `E_a + E_b`.
pub fn dot(a: &Block, b: &Block) -> (i64, i32) {
    let sum = a.q.iter().zip(&b.q).map(|(x, y)| x * y).sum();
    (sum, a.exp + b.exp)
}

/// Allowed shared-exponent widths of the block dot product (exponent sums outside the
/// binary32 range flush or saturate with a flag).
pub const DOT_EXP_BITS: RangeInclusive<u32> = EXP_BITS_FLAG.range();

/// `--exp-bits`: the width of the signed shared exponent.
pub const EXP_BITS_FLAG: Param = Param::int(
    "--exp-bits",
    "BITS",
    2..=16,
    Some(10),
    "Width of the signed shared exponent",
);

/// `--narrow-pack`: the narrow mode carries two elements in each lane's field.
pub const NARROW_PACK: Param = Param::switch(
    "--narrow-pack",
    "With --modes w,m (w < m <= 2w): each lane's field is 2w bits and holds one m-bit element \
     or two w-bit ones, so the narrow mode does 2 x --lanes products a beat (a w x w \
     multiplier beside each m x m one); the mode is sampled with a block's first beat",
);

/// `--acc`: how blocks are summed across a dot product.
pub const ACC_FLAG: Param = Param::choice(
    "--acc",
    "MODE",
    &[
        (
            "binary32",
            "Each block rounded to binary32 and added in a binary32 accumulator (RNE)",
        ),
        (
            "long",
            "Each block added into a long fixed-point register (--long-bits, --long-lsb), \
             rounded once to binary32 on read-out",
        ),
    ],
    "binary32",
    "Accumulation across blocks",
);

/// Parameters of the block dot product `bfp_dot` (docs/bfp.md).
///
/// Beats carry `lanes` elements of each block on `qa` and `qb` (element i of the beat at
/// bits `[m*i + m-1 : m*i]`); every `block / lanes` valid beats make one block pair. `ea`,
/// `eb` and `clear` are sampled with a block's last beat: `clear` makes this block the
/// first of a new dot product. The block's exact integer dot product (inputs may use the
/// whole m-bit range, so the sum is kept one bit wider than the symmetric-range width of
/// docs/bfp.md) times `2^(ea+eb)` is converted to binary32 (exact unless out of range),
/// then added to the binary32 accumulator `acc` (RNE, no subnormals, saturating); `uf` and
/// `of` are sticky until the next `clear`. [`UnitParams::latency`] cycles after a block's
/// last beat (3, plus the extra conversion and accumulation cycles when a block takes
/// several beats) `acc` shows the running dot product with `out_valid` high. With
/// `--acc long` ([`LongWindow`]) the block's value is instead truncated into a long
/// two's-complement register and the register is rounded once to binary32 on read-out
/// ([`BfpDotLong`], docs/bfp.md "The long accumulation"). With `--modes` an input `mode`,
/// sampled every beat, selects the element width: each element is then the low bits of its
/// m-bit field, sign-extended. Reset clears everything and drops a partial block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BfpDotParams {
    /// Block size n, 1..=64.
    pub block: u32,
    /// Mantissa bits m of both operands, 2..=8.
    pub mant_bits: u32,
    /// Width of the signed shared exponents, 2..=16.
    pub exp_bits: u32,
    /// Element products per beat, a divisor of --block [default: the whole block].
    pub lanes: Option<u32>,
    /// Mixed mantissa: widths a `mode` input selects at run time, e.g. 4,6 with --mant 6
    /// (--mant must be the widest). Mode k selects the k-th smallest width.
    #[serde(default)]
    pub modes: Option<Modes>,
    /// `--acc long`: the long register's window; `None` is the binary32 accumulation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long: Option<LongWindow>,
    /// `--narrow-pack` (with two widths `w,m`, `w < m <= 2w`): each lane's field on `qa`
    /// and `qb` is 2w bits; in the wide mode it holds one m-bit element in its low bits,
    /// in the narrow mode two w-bit elements (so the narrow elements are packed w bits
    /// apart, element j at `[w*j + w-1 : w*j]`), and a narrow block takes half the beats.
    /// `mode` is sampled with a block's first beat and holds for the block.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub narrow_pack: bool,
}

impl Params for BfpDotParams {
    const PARAMS: &'static [Param] = &[
        BLOCK_FLAG,
        MANT,
        EXP_BITS_FLAG,
        LANES,
        MODES,
        ACC_FLAG,
        LONG_BITS,
        LONG_LSB,
        NARROW_PACK,
    ];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        let (lanes, modes) = super::lanes_modes_from_flags(flags)?;
        let long = match ACC_FLAG.choice_value(flags)? {
            "long" => Some(LongWindow {
                bits: LONG_BITS.u32(flags)?,
                lsb: LONG_LSB.i32(flags)?,
            }),
            _ => {
                for flag in [LONG_BITS, LONG_LSB] {
                    if let Some(v) = flags.given(flag.name()) {
                        return Err(flag.error_because(v, "only with --acc long"));
                    }
                }
                None
            }
        };
        Ok(BfpDotParams {
            block: BLOCK_FLAG.u32(flags)?,
            mant_bits: MANT.u32(flags)?,
            exp_bits: EXP_BITS_FLAG.u32(flags)?,
            lanes,
            modes,
            long,
            narrow_pack: NARROW_PACK.is_on(flags),
        })
    }
}

impl Default for BfpDotParams {
    /// HBFP4, blocks of 16, the whole block per beat.
    fn default() -> Self {
        BfpDotParams {
            block: 16,
            mant_bits: 4,
            exp_bits: 10,
            lanes: None,
            modes: None,
            long: None,
            narrow_pack: false,
        }
    }
}

impl BfpDotParams {
    /// The HBFP format of both operands.
    pub fn format(&self) -> BfpFormat {
        BfpFormat {
            mant_bits: self.mant_bits,
            exp_bits: self.exp_bits,
        }
    }

    /// Element products per beat.
    pub fn lanes(&self) -> u32 {
        self.lanes.unwrap_or(self.block)
    }

    /// Beats per block pair (in the wide mode with `--narrow-pack`).
    pub fn beats_per_block(&self) -> u32 {
        self.block / self.lanes()
    }

    /// The narrow width with `--narrow-pack` (the narrower of its two widths).
    pub fn packed_width(&self) -> Option<u32> {
        match (self.narrow_pack, self.modes) {
            (true, Some(modes)) => Some(modes.width(0)),
            _ => None,
        }
    }

    /// Bits of one lane's field on `qa` and `qb`: m, or 2w with `--narrow-pack`.
    pub fn field_bits(&self) -> u32 {
        self.packed_width().map_or(self.mant_bits, |w| 2 * w)
    }

    /// Element products a beat with this `mode` (the block's, with `--narrow-pack`) does:
    /// `lanes`, or twice that in the packed narrow mode.
    pub fn products_per_beat(&self, mode: u64) -> u32 {
        if self.packed_width().is_some() && mode == 0 {
            2 * self.lanes()
        } else {
            self.lanes()
        }
    }

    /// Beats of a block with this `mode` (the block's, with `--narrow-pack`).
    pub fn beats_for_mode(&self, mode: u64) -> u32 {
        self.block / self.products_per_beat(mode)
    }

    /// The fewest beats a block takes (the narrow mode's with `--narrow-pack`): blocks are
    /// at least this many cycles apart, which sets the extra binary32 cycles.
    pub fn min_beats_per_block(&self) -> u32 {
        self.beats_for_mode(0)
    }

    /// Width of the exact block sum for any m-bit inputs: docs/bfp.md's
    /// `2(m-1) + ceil(log2 n) + 1` plus one bit for `-2^(m-1) * -2^(m-1)`.
    pub fn sum_width(&self) -> u32 {
        dot_width(self.mant_bits, self.block) + 1
    }

    /// Extra cycles the binary32 conversion of a block takes beyond its one registered
    /// stage: half the accumulation's (the conversion is about half as long as the
    /// binary32 adder on the UP5K), so none when a block arrives in one beat. It is a plain
    /// pipeline, not a loop: more would only add registers.
    pub fn conversion_stages(&self) -> u32 {
        conversion_stages(self.accumulation_stages())
    }

    /// Extra cycles the accumulation takes beyond its one cycle: with `--acc long` none (its
    /// loop is an integer add), else the binary32 adder's (below).
    pub fn accumulation_stages(&self) -> u32 {
        if self.long.is_some() {
            0
        } else {
            self.binary32_accumulation_stages()
        }
    }

    /// Extra cycles the binary32 accumulation takes beyond its one cycle: none when a block
    /// arrives in one beat, else up to `beats - 1` (at most [`MAX_ACCUMULATION_STAGES`]).
    /// Blocks are at least `beats` cycles apart, so the next block's value never enters
    /// the adder before the accumulator holds the previous sum: the multi-cycle loop
    /// computes exactly what the one-cycle loop does.
    fn binary32_accumulation_stages(&self) -> u32 {
        binary32_accumulation_stages(self.min_beats_per_block())
    }

    /// The element width of a beat with this `mode` input.
    pub fn width_for_mode(&self, mode: u64) -> u32 {
        self.modes.map_or(self.mant_bits, |m| m.width(mode))
    }
}

impl UnitParams for BfpDotParams {
    const KIND: &'static str = "bfp_dot";

    fn validate(&self) -> Result<(), ParamError> {
        check_range("--block", self.block, &BLOCK)?;
        check_range("--mant", self.mant_bits, &MANT_BITS)?;
        check_range("--exp-bits", self.exp_bits, &DOT_EXP_BITS)?;
        check_modes(self.modes, self.mant_bits)?;
        if let Some(w) = self.long {
            LONG_BITS.check(w.bits)?;
            LONG_LSB.check(w.lsb)?;
        }
        check_lanes(self.block, self.lanes())?;
        if self.narrow_pack {
            let m = self.mant_bits;
            let narrow = self.modes.map(|modes| modes.list());
            let ok = match narrow.as_deref() {
                Some([w, _]) => *w < m && m <= 2 * w,
                _ => false,
            };
            if !ok {
                return Err(ParamError {
                    param: "--narrow-pack",
                    value: self
                        .modes
                        .map_or("no --modes".into(), |x| format!("--modes {x}")),
                    allowed: format!("--modes w,{m} with two widths, w < {m} <= 2w"),
                });
            }
            if !self.block.is_multiple_of(2 * self.lanes()) {
                return Err(ParamError {
                    param: "--lanes",
                    value: self.lanes().to_string(),
                    allowed: format!(
                        "with --narrow-pack, a lane count L with 2L dividing --block {}",
                        self.block
                    ),
                });
            }
        }
        Ok(())
    }

    /// e.g. `bfp_dot_n16_m4_e10`, `bfp_dot_n16_m6_e10_l4_modes4_6`,
    /// `bfp_dot_n32_m4_e10_long24_lsbm12` (`--acc long`, the default window).
    fn module_name(&self) -> String {
        let mut name = format!(
            "bfp_dot_n{}_m{}_e{}",
            self.block, self.mant_bits, self.exp_bits
        );
        if self.lanes() < self.block {
            name += &format!("_l{}", self.lanes());
        }
        if let Some(modes) = self.modes {
            name += &format!("_modes{}", modes.to_string().replace(',', "_"));
        }
        if self.narrow_pack {
            name += "_pack";
        }
        if let Some(w) = self.long {
            let lsb = w.lsb.unsigned_abs();
            let sign = if w.lsb < 0 { "m" } else { "" };
            name += &format!("_long{}_lsb{sign}{lsb}", w.bits);
        }
        name
    }

    /// clk, rst, in_valid, clear, ea, qa[m*L-1:0], eb, qb[m*L-1:0], mode (mixed mantissa
    /// only) -> acc[31:0] (binary32), uf, of, out_valid.
    fn interface(&self) -> Interface {
        let (w, m, l) = (self.exp_bits, self.field_bits(), self.lanes());
        let mut ports = vec![
            Port::bit("clk", Dir::In, Role::Clock),
            Port::bit("rst", Dir::In, Role::Reset),
            Port::bit("in_valid", Dir::In, Role::InValid),
            Port::bit("clear", Dir::In, Role::Clear),
            Port::int("ea", Dir::In, w, true),
            Port::int_vec("qa", Dir::In, m, true, l),
            Port::int("eb", Dir::In, w, true),
            Port::int_vec("qb", Dir::In, m, true, l),
        ];
        if let Some(modes) = self.modes {
            ports.push(Port::int("mode", Dir::In, modes.select_bits(), false));
        }
        ports.extend([
            Port::binary32("acc", Dir::Out, 1),
            Port::bit("uf", Dir::Out, Role::Flag),
            Port::bit("of", Dir::Out, Role::Flag),
            Port::bit("out_valid", Dir::Out, Role::OutValid),
        ]);
        Interface { ports }
    }

    /// `lanes` element products per beat.
    fn macs_per_cycle(&self) -> f64 {
        f64::from(self.lanes())
    }

    /// Block sum register, binary32 conversion register, accumulator: 3, plus the extra
    /// conversion and accumulation cycles of a block that takes several beats. With
    /// `--acc long`: the placed block value, the long register and the read-out stages,
    /// 2 + `READOUT_STAGES` = 6 whatever the beats.
    fn latency(&self) -> u32 {
        if self.long.is_some() {
            2 + READOUT_STAGES
        } else {
            3 + self.conversion_stages() + self.accumulation_stages()
        }
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(match self.long {
            Some(window) => Box::new(BfpDotLong::new(*self, window)?),
            None => Box::new(BfpDot::new(*self)?),
        })
    }
}

/// Cycle model of `bfp_dot`: the same registered stages as the RTL, stages 1 to 3 in
/// [`DotStages`] (the conversion and the accumulation take `conversion_stages` and
/// `accumulation_stages` extra cycles).
#[derive(Clone, Debug)]
pub struct BfpDot {
    p: BfpDotParams,
    iface: Interface,
    /// The block being received.
    feed: BlockFeed,
    /// Stages 1 to 3.
    stages: DotStages,
}

impl BfpDot {
    pub fn new(p: BfpDotParams) -> Result<BfpDot, ParamError> {
        p.validate()?;
        Ok(BfpDot {
            p,
            iface: p.interface(),
            feed: BlockFeed::default(),
            stages: DotStages::new(p.conversion_stages(), p.accumulation_stages()),
        })
    }
}

impl CycleModel for BfpDot {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let p = self.p;
        let acc = self.stages.acc;
        outputs[0] = acc.acc.into();
        outputs[1] = acc.uf.into();
        outputs[2] = acc.of.into();
        outputs[3] = self.stages.out_valid.into();

        let ins = split(self.iface.beat_inputs(), inputs);
        let (rst, valid, clear) = (ins[0][0] & 1 == 1, ins[1][0] & 1 == 1, ins[2][0] & 1 == 1);
        if rst {
            *self = BfpDot::new(p).expect("validated");
            return;
        }
        self.stages.clock();
        if !valid {
            return;
        }
        let w = p.exp_bits;
        if let Some(sum) = self.feed.beat(&p, &ins) {
            let exp = |e: &[u64]| int::from_bits(e[0].into(), w, true) as i32;
            let e = exp(ins[3]) + exp(ins[5]);
            self.stages.push(sum.into(), e, clear, false);
        }
    }
}

/// The block being received by `bfp_dot`: the sum of its products so far, its beats so
/// far and, with `--narrow-pack`, its mode (sampled with its first beat).
#[derive(Clone, Debug, Default)]
pub(super) struct BlockFeed {
    partial: i64,
    beats: u32,
    mode: u64,
}

impl BlockFeed {
    /// Take one valid beat; returns the block's exact sum on its last beat.
    pub(super) fn beat(&mut self, p: &BfpDotParams, ins: &[&[u64]]) -> Option<i64> {
        let input_mode = ins.get(7).map_or(0, |mode| mode[0]);
        if self.beats == 0 || !p.narrow_pack {
            self.mode = input_mode;
        }
        self.partial += beat_sum(p, ins, self.mode);
        self.beats += 1;
        (self.beats == p.beats_for_mode(self.mode)).then(|| {
            let sum = self.partial;
            *self = BlockFeed::default();
            sum
        })
    }
}

/// The element sum of one beat in `mode`: `lanes` elements of the width the mode picks,
/// each the low bits of its lane's field; with `--narrow-pack` in the narrow mode, twice as
/// many w-bit elements packed w bits apart.
pub(super) fn beat_sum(p: &BfpDotParams, ins: &[&[u64]], mode: u64) -> i64 {
    let f = p.field_bits();
    let width = p.width_for_mode(mode);
    let stride = if p.products_per_beat(mode) > p.lanes() {
        width
    } else {
        f
    };
    let element = |q: &[u64], i: u32| {
        int::from_bits(get_field(q, i * stride, width).into(), width, true) as i64
    };
    (0..p.products_per_beat(mode))
        .map(|i| element(ins[4], i) * element(ins[6], i))
        .sum::<i64>()
}

impl crate::unit::Unit for BfpDotParams {
    const COMMAND: &'static str = "bfp-dot";
    const SUMMARY: &'static str = "HBFP block dot product with binary32 accumulation across blocks";
    const ABOUT: &'static str = "Multiplies two HBFP block streams: exact integer products and \
adder tree (L lanes a beat), exponent E_a + E_b, one rounding to binary32 per block and \
binary32 accumulation (RNE, no subnormals) with `clear`; sticky `uf` and `of`. With --acc long, \
each block's value is instead added (truncated below --long-lsb) into a --long-bits \
two's-complement register, wrapping with a sticky `of`, and the register is rounded once to \
binary32 in pipelined read-out stages. With --modes, a `mode` input picks a narrower mantissa \
at run time.";
    const DOCS: &'static str = "docs/bfp.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        (
            "--block 16 --mant 4",
            "HBFP4 blocks of 16, one block a cycle",
        ),
        (
            "--block 32 --mant 6 --lanes 8",
            "HBFP6 blocks of 32, 8 products a cycle",
        ),
        (
            "--block 16 --mant 6 --modes 4,6",
            "HBFP4 or HBFP6 chosen at run time",
        ),
        (
            "--block 32 --mant 4 --acc long",
            "HBFP4 blocks of 32 summed in a 24-bit register from 2^-12, one rounding",
        ),
    ];

    /// The default (HBFP4, 16 elements per beat), a 4-element block in one beat, and the
    /// same over two beats (the multi-cycle binary32 loop); `--acc long` on a 4-element
    /// block, and a narrow window over two beats. Serial beats with run-time widths
    /// (`gen prove bfp-dot --block 4 --lanes 2 --mant 6 --modes 4,6`) take another minute
    /// and are left out to keep CI short.
    fn proof_set() -> Vec<Self> {
        let d = BfpDotParams::default();
        vec![
            d,
            BfpDotParams { block: 4, ..d },
            BfpDotParams {
                block: 4,
                lanes: Some(2),
                ..d
            },
            // --acc long with the default window on a 4-element block (the default block
            // with it takes about four minutes: `gen prove bfp-dot --acc long`).
            BfpDotParams {
                block: 4,
                long: Some(LongWindow::default()),
                ..d
            },
            // A narrow window over two beats: values above it, and below it, both often.
            BfpDotParams {
                block: 4,
                lanes: Some(2),
                exp_bits: 4,
                long: Some(LongWindow { bits: 12, lsb: -3 }),
                ..d
            },
            // --narrow-pack at its smallest: 2,3 on one lane, a narrow block in one beat
            // and a wide one in two (27 s at depth 0, 26 s at depth 2 on a loaded machine).
            // `gen prove bfp-dot --block 4 --lanes 1 --mant 6 --modes 4,6 --narrow-pack`
            // takes 141 s (89 s with --pipeline 2) and is left out to keep CI short.
            BfpDotParams {
                block: 2,
                lanes: Some(1),
                mant_bits: 3,
                modes: Some("2,3".parse().expect("valid modes")),
                narrow_pack: true,
                ..d
            },
        ]
    }

    /// Rows converted to HBFP blocks, through the block dot product (`crate::study::block`).
    fn study(
        &self,
        workload: &crate::study::Workload,
    ) -> Option<Result<crate::study::Errors, crate::study::StudyError>> {
        Some(crate::study::block::bfp_dot(self, workload))
    }

    /// A quarter of the draws are `--narrow-pack` units (two widths `w < m <= 2w`, lanes
    /// with 2L dividing the block), which the general shape rarely meets.
    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        crate::unit::sample_valid(rng, |rng| {
            let (mut block, mut mant_bits, mut lanes, mut modes) = super::sample_shape(rng, 8);
            let narrow_pack = rng.one_in(4);
            if narrow_pack {
                mant_bits = rng.int(3..=8);
                let w = rng.int(mant_bits.div_ceil(2)..=mant_bits - 1);
                modes = Some(format!("{w},{mant_bits}").parse().expect("widths in range"));
                let l = rng.int(1..=4);
                lanes = Some(l);
                block = 2 * l * rng.int(1..=2);
            }
            BfpDotParams {
                block,
                mant_bits,
                exp_bits: rng.int(DOT_EXP_BITS),
                lanes,
                modes,
                long: rng.one_in(2).then(|| LongWindow {
                    bits: rng.int(LONG_BITS.range()),
                    lsb: rng.int_i32(-40..=20),
                }),
                narrow_pack,
            }
        })
    }
}

#[cfg(test)]
mod tests;
