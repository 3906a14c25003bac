//! The shared-exponent block adder: [`add`] and the `bfp_add` unit.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use super::{shift_round, BfpFormat, BfpRounding, Block, BLOCK, MANT_BITS, RND_BITS};
use super::{BLOCK_FLAG, MANT, RND_BITS_FLAG, ROUNDING};
use crate::iface::{get_field, set_field, split, CycleModel, Dir, Interface, Port, Role};
use crate::int;
use crate::param::{Flags, Param, Params};
use crate::unit::{check_range, ParamError, UnitParams};

/// Shared-exponent block adder (docs/bfp.md, `bfp_add`). `rnd` holds one random
/// word per element: its low `rnd_bits` for the alignment, the next `rnd_bits` for the
/// renormalising shift (SR only).
pub fn add(
    f: &BfpFormat,
    a: &Block,
    b: &Block,
    mode: BfpRounding,
    rnd: &[u64],
    rnd_bits: u32,
) -> Block {
    let (big, small) = if a.exp >= b.exp { (a, b) } else { (b, a) };
    let d = (big.exp - small.exp) as u32;
    let mask = (1u64 << rnd_bits) - 1;
    let r = |i: usize, k: u32| rnd.get(i).map_or(0, |w| (w >> (k * rnd_bits)) & mask);
    let mut sums: Vec<i64> = big
        .q
        .iter()
        .zip(&small.q)
        .enumerate()
        .map(|(i, (x, y))| x + shift_round(*y, d, mode, r(i, 0), rnd_bits))
        .collect();
    let mut exp = big.exp;
    if sums.iter().any(|s| s.abs() > f.qmax()) && exp < f.exp_max() {
        sums = sums
            .iter()
            .enumerate()
            .map(|(i, s)| shift_round(*s, 1, mode, r(i, 1), rnd_bits))
            .collect();
        exp += 1;
    }
    Block {
        exp,
        q: sums.into_iter().map(|s| f.clamp_q(s)).collect(),
    }
}

/// Allowed shared-exponent widths of the block adder (any width is exact).
pub const ADD_EXP_BITS: RangeInclusive<u32> = EXP_BITS_FLAG.range();

/// `--exp-bits`: the width of the signed shared exponent.
pub const EXP_BITS_FLAG: Param = Param::int(
    "--exp-bits",
    "BITS",
    2..=16,
    Some(10),
    "Width of the signed shared exponent",
);

/// Parameters of the shared-exponent block adder `bfp_add` (docs/bfp.md).
///
/// One beat carries two whole blocks (`ea`, `qa`, `eb`, `qb`, element i of a block at bits
/// `[m*i + m-1 : m*i]`); one cycle later `e` and `q` show their sum with `out_valid`
/// high. With `--rounding sr` an input `rnd` carries `2 * rnd_bits` random bits per
/// element: the low half rounds the alignment, the high half the renormalising shift.
/// Inputs may use the whole m-bit range (including `-2^(m-1)`); outputs are clamped to
/// the symmetric range. When the larger exponent is already the largest the exponent
/// field holds, the sums are clamped instead of renormalised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BfpAddParams {
    /// Block size n, 1..=64.
    pub block: u32,
    /// Mantissa bits m, 2..=8.
    pub mant_bits: u32,
    /// Width of the signed shared exponents, 2..=16.
    pub exp_bits: u32,
    /// Rounding of the alignment and renormalisation shifts.
    pub rounding: BfpRounding,
    /// Random bits per rounding for --rounding sr, 1..=16.
    pub rnd_bits: u32,
}

impl Params for BfpAddParams {
    const PARAMS: &'static [Param] = &[BLOCK_FLAG, MANT, EXP_BITS_FLAG, ROUNDING, RND_BITS_FLAG];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        let rounding = BfpRounding::from_flags(flags)?;
        Ok(BfpAddParams {
            block: BLOCK_FLAG.u32(flags)?,
            mant_bits: MANT.u32(flags)?,
            exp_bits: EXP_BITS_FLAG.u32(flags)?,
            rounding,
            rnd_bits: super::rnd_bits_from_flags(flags, rounding)?,
        })
    }
}

impl Default for BfpAddParams {
    /// HBFP4 blocks of 16, RNE.
    fn default() -> Self {
        BfpAddParams {
            block: 16,
            mant_bits: 4,
            exp_bits: 10,
            rounding: BfpRounding::Rne,
            rnd_bits: 8,
        }
    }
}

impl BfpAddParams {
    /// The HBFP format.
    pub fn format(&self) -> BfpFormat {
        BfpFormat {
            mant_bits: self.mant_bits,
            exp_bits: self.exp_bits,
        }
    }
}

impl UnitParams for BfpAddParams {
    const KIND: &'static str = "bfp_add";

    fn validate(&self) -> Result<(), ParamError> {
        check_range("--block", self.block, &BLOCK)?;
        check_range("--mant", self.mant_bits, &MANT_BITS)?;
        check_range("--exp-bits", self.exp_bits, &ADD_EXP_BITS)?;
        check_range("--rnd-bits", self.rnd_bits, &RND_BITS)
    }

    /// e.g. `bfp_add_n16_m4_e10_rne`.
    fn module_name(&self) -> String {
        let r = match self.rounding {
            BfpRounding::Rne => "rne".to_string(),
            BfpRounding::Rz => "rz".to_string(),
            BfpRounding::Sr => format!("sr{}", self.rnd_bits),
        };
        format!(
            "bfp_add_n{}_m{}_e{}_{r}",
            self.block, self.mant_bits, self.exp_bits
        )
    }

    /// clk, rst, in_valid, ea, qa, eb, qb, rnd (SR only) -> e, q, out_valid.
    fn interface(&self) -> Interface {
        let (w, m, n) = (self.exp_bits, self.mant_bits, self.block);
        let mut ports = vec![
            Port::bit("clk", Dir::In, Role::Clock),
            Port::bit("rst", Dir::In, Role::Reset),
            Port::bit("in_valid", Dir::In, Role::InValid),
            Port::int("ea", Dir::In, w, true),
            Port::int_vec("qa", Dir::In, m, true, n),
            Port::int("eb", Dir::In, w, true),
            Port::int_vec("qb", Dir::In, m, true, n),
        ];
        if self.rounding == BfpRounding::Sr {
            ports.push(Port::random("rnd", 2 * self.rnd_bits * n));
        }
        ports.extend([
            Port::int("e", Dir::Out, w, true),
            Port::int_vec("q", Dir::Out, m, true, n),
            Port::bit("out_valid", Dir::Out, Role::OutValid),
        ]);
        Interface { ports }
    }

    fn latency(&self) -> u32 {
        1
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(BfpAdd::new(*self)?))
    }
}

/// Cycle model of `bfp_add`.
#[derive(Clone, Debug)]
pub struct BfpAdd {
    p: BfpAddParams,
    iface: Interface,
    out: Block,
    out_valid: bool,
}

impl BfpAdd {
    pub fn new(p: BfpAddParams) -> Result<BfpAdd, ParamError> {
        p.validate()?;
        Ok(BfpAdd {
            p,
            iface: p.interface(),
            out: Block {
                exp: 0,
                q: vec![0; p.block as usize],
            },
            out_valid: false,
        })
    }

    fn block_from(&self, e: &[u64], q: &[u64]) -> Block {
        let (w, m) = (self.p.exp_bits, self.p.mant_bits);
        Block {
            exp: int::from_bits(e[0].into(), w, true) as i32,
            q: (0..self.p.block)
                .map(|i| int::from_bits(get_field(q, i * m, m).into(), m, true) as i64)
                .collect(),
        }
    }
}

impl CycleModel for BfpAdd {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let p = self.p;
        let qw = self.iface.port("q").expect("q").words();
        outputs[0] = int::to_bits(self.out.exp.into(), p.exp_bits) as u64;
        outputs[1..1 + qw].fill(0);
        for (i, q) in self.out.q.iter().enumerate() {
            set_field(
                &mut outputs[1..1 + qw],
                i as u32 * p.mant_bits,
                p.mant_bits,
                int::to_bits((*q).into(), p.mant_bits) as u64,
            );
        }
        outputs[1 + qw] = self.out_valid as u64;

        let ins = split(self.iface.beat_inputs(), inputs);
        let (rst, valid) = (ins[0][0] & 1 == 1, ins[1][0] & 1 == 1);
        if rst {
            *self = BfpAdd::new(p).expect("validated");
            return;
        }
        self.out_valid = valid;
        if !valid {
            return;
        }
        let (a, b) = (
            self.block_from(ins[2], ins[3]),
            self.block_from(ins[4], ins[5]),
        );
        let r = 2 * p.rnd_bits;
        let rnd: Vec<u64> = if p.rounding == BfpRounding::Sr {
            (0..p.block).map(|i| get_field(ins[6], i * r, r)).collect()
        } else {
            Vec::new()
        };
        self.out = add(&p.format(), &a, &b, p.rounding, &rnd, p.rnd_bits);
    }
}

impl crate::unit::Unit for BfpAddParams {
    const COMMAND: &'static str = "bfp-add";
    const SUMMARY: &'static str =
        "Shared-exponent block adder: align, add, renormalise and clamp two HBFP blocks";
    const ABOUT: &'static str = "Adds two HBFP blocks of the same size: the block with the \
smaller exponent is shifted right with the chosen rounding (RNE, RZ or stochastic with an `rnd` \
input), the elements are added exactly, and the sum is renormalised to a common exponent so \
every element fits m bits, then clamped to the symmetric range. Latency 1.";
    const DOCS: &'static str = "docs/bfp.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        ("--block 16 --mant 4", "HBFP4 blocks of 16, RNE"),
        (
            "--block 8 --mant 6 --rounding sr --rnd-bits 4",
            "HBFP6, stochastic rounding",
        ),
    ];

    /// The default (HBFP4, 16 elements, RNE) and small blocks in each rounding mode.
    fn proof_set() -> Vec<Self> {
        let d = BfpAddParams::default();
        vec![
            d,
            BfpAddParams {
                block: 4,
                mant_bits: 6,
                rounding: BfpRounding::Rz,
                ..d
            },
            BfpAddParams {
                block: 2,
                exp_bits: 4,
                rounding: BfpRounding::Sr,
                rnd_bits: 3,
                ..d
            },
        ]
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        crate::unit::sample_valid(rng, |rng| BfpAddParams {
            block: rng.int(1..=16),
            mant_bits: rng.int(MANT_BITS),
            exp_bits: rng.int(ADD_EXP_BITS),
            rounding: super::sample_rounding(rng),
            rnd_bits: rng.int(RND_BITS),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bfp::test_support::HBFP4;

    #[test]
    fn block_adder_aligns_and_renormalises() {
        let a = Block {
            exp: 0,
            q: vec![6, -7, 1],
        };
        let b = Block {
            exp: -1,
            q: vec![3, -1, 7],
        };
        // b aligned: [1.5 -> 2, -0.5 -> 0, 3.5 -> 4]; sums [8, -7, 5]; 8 > 7: shift once.
        let s = add(&HBFP4, &a, &b, BfpRounding::Rne, &[], 0);
        assert_eq!(
            s,
            Block {
                exp: 1,
                q: vec![4, -4, 2]
            }
        );
        let same = add(&HBFP4, &b, &b, BfpRounding::Rz, &[], 0);
        assert_eq!(
            same,
            Block {
                exp: 0,
                q: vec![3, -1, 7]
            }
        );
    }
}
