//! The FP32-to-HBFP converter: [`quantize`] and the `bfp_quant` unit.

use serde::{Deserialize, Serialize};

use super::modes::{check_modes, Modes};
use super::{
    check_lanes, random_words, round_magnitude, BfpFormat, BfpRounding, Block, Collector, ExpRule,
    BLOCK, EXP_BITS, MANT_BITS, RND_BITS,
};
use crate::iface::{set_field, split, CycleModel, Dir, Interface, Port, Role};
use crate::int;
use crate::param::{Flags, Param, Params};
use crate::unit::{check_range, ParamError, UnitParams};

/// `--exp-bits`: the width of the signed shared exponent (9 bits hold every exponent a
/// binary32 block can have).
pub const EXP_BITS_FLAG: Param = Param::int(
    "--exp-bits",
    "BITS",
    9..=16,
    Some(10),
    "Width of the signed shared exponent",
);

/// The converter's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quantized {
    pub block: Block,
    /// Some input was NaN or infinity.
    pub inv: bool,
}

/// Convert a block of binary32 values (as bits) to HBFP (docs/bfp.md, `bfp_quant`) with
/// the default exponent rule ([`ExpRule::Mx`]). `rnd` holds one random word per element
/// (used with [`BfpRounding::Sr`] only).
pub fn quantize(
    f: &BfpFormat,
    x: &[u32],
    mode: BfpRounding,
    rnd: &[u64],
    rnd_bits: u32,
) -> Quantized {
    quantize_with_rule(f, x, mode, rnd, rnd_bits, ExpRule::Mx)
}

/// [`quantize`] with the shared exponent chosen by `rule`.
pub fn quantize_with_rule(
    f: &BfpFormat,
    x: &[u32],
    mode: BfpRounding,
    rnd: &[u64],
    rnd_bits: u32,
    rule: ExpRule,
) -> Quantized {
    let mut inv = false;
    // (negative, significand with the hidden one, unbiased exponent) of each nonzero input.
    let parts: Vec<Option<(bool, u128, i32)>> = x
        .iter()
        .map(|&bits| {
            let neg = bits >> 31 == 1;
            let (field, man) = ((bits >> 23) & 0xff, bits & 0x7f_ffff);
            match field {
                0 => None, // zero or subnormal: zero
                255 => {
                    inv = true; // NaN or infinity: the largest finite magnitude
                    Some((neg, 0xff_ffff, 127))
                }
                _ => Some((neg, u128::from(man | 0x80_0000), field as i32 - 127)),
            }
        })
        .collect();
    let Some(max_exp) = parts.iter().flatten().map(|p| p.2).max() else {
        return Quantized {
            block: Block {
                exp: f.exp_min(),
                q: vec![0; x.len()],
            },
            inv,
        };
    };
    // ceil(log2 max|x|) is floor + 1 unless every magnitude with the largest exponent
    // is exactly a power of two (NaN and infinity count as the largest finite value).
    let power_of_two = parts
        .iter()
        .flatten()
        .all(|p| p.2 < max_exp || p.1 == 0x80_0000);
    let exp = match rule {
        ExpRule::Mx => max_exp - (f.mant_bits as i32 - 2),
        ExpRule::Hbfp => max_exp - (f.mant_bits as i32 - 1) + i32::from(!power_of_two),
    };
    let exp = exp.clamp(f.exp_min(), f.exp_max());
    let q = parts
        .iter()
        .enumerate()
        .map(|(i, p)| match p {
            None => 0,
            Some((neg, sig, e)) => {
                // |x| / 2^exp = sig * 2^(e - 23 - exp).
                let r = rnd.get(i).copied().unwrap_or(0);
                let mag = round_magnitude(*sig, 23 + exp - e, mode, r, rnd_bits)
                    .min(f.qmax() as u128) as i64;
                if *neg {
                    -mag
                } else {
                    mag
                }
            }
        })
        .collect();
    Quantized {
        block: Block { exp, q },
        inv,
    }
}

/// Parameters of the FP32-to-HBFP converter `bfp_quant` (docs/bfp.md).
///
/// Beats carry `lanes` binary32 values on `x`; every `block / lanes` valid beats make one
/// block, and one cycle after a block's last beat `e`, `q` and `inv` show its conversion
/// with `out_valid` high (latency 1 from the last beat). `inv` tells that the block had a
/// NaN or infinity. With `--rounding sr` the unit has an input `rnd` of `rnd_bits` random
/// bits per element, sampled with the block's last beat; the other modes have no `rnd`.
/// Reset clears the outputs and drops a partly received block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BfpQuantParams {
    /// Block size n: values sharing one exponent, 1..=64.
    pub block: u32,
    /// Mantissa bits m (two's complement, symmetric range), 2..=8.
    pub mant_bits: u32,
    /// Width of the signed shared exponent, 9..=16.
    pub exp_bits: u32,
    /// Rounding of the mantissas.
    pub rounding: BfpRounding,
    /// Random bits per element for --rounding sr, 1..=16.
    pub rnd_bits: u32,
    /// Values accepted per beat, a divisor of --block [default: the whole block].
    pub lanes: Option<u32>,
    /// Mixed mantissa: widths a `mode` input selects at run time, e.g. 4,6 with --mant 6
    /// (--mant must be the widest). Mode k selects the k-th smallest width.
    #[serde(default)]
    pub modes: Option<Modes>,
    /// Shared-exponent rule.
    #[serde(default, skip_serializing_if = "is_mx")]
    pub exp_rule: ExpRule,
}

fn is_mx(rule: &ExpRule) -> bool {
    *rule == ExpRule::Mx
}

impl Params for BfpQuantParams {
    const PARAMS: &'static [Param] = &[
        super::BLOCK_FLAG,
        super::MANT,
        EXP_BITS_FLAG,
        super::ROUNDING,
        super::RND_BITS_FLAG,
        super::LANES,
        super::MODES,
        super::EXP_RULE,
    ];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        let rounding = BfpRounding::from_flags(flags)?;
        let (lanes, modes) = super::lanes_modes_from_flags(flags)?;
        Ok(BfpQuantParams {
            block: super::BLOCK_FLAG.u32(flags)?,
            mant_bits: super::MANT.u32(flags)?,
            exp_bits: EXP_BITS_FLAG.u32(flags)?,
            rounding,
            rnd_bits: super::rnd_bits_from_flags(flags, rounding)?,
            lanes,
            modes,
            exp_rule: ExpRule::from_flags(flags)?,
        })
    }
}

impl Default for BfpQuantParams {
    /// HBFP4, blocks of 16, the whole block per beat, RNE.
    fn default() -> Self {
        BfpQuantParams {
            block: 16,
            mant_bits: 4,
            exp_bits: 10,
            rounding: BfpRounding::Rne,
            rnd_bits: 8,
            lanes: None,
            modes: None,
            exp_rule: ExpRule::Mx,
        }
    }
}

impl BfpQuantParams {
    /// Values per beat.
    pub fn lanes(&self) -> u32 {
        self.lanes.unwrap_or(self.block)
    }

    /// Beats per block.
    pub fn beats_per_block(&self) -> u32 {
        self.block / self.lanes()
    }

    /// The HBFP format.
    pub fn format(&self) -> BfpFormat {
        BfpFormat {
            mant_bits: self.mant_bits,
            exp_bits: self.exp_bits,
        }
    }

    /// Whether the unit has an `rnd` input.
    pub fn stochastic(&self) -> bool {
        self.rounding == BfpRounding::Sr
    }
}

impl UnitParams for BfpQuantParams {
    const KIND: &'static str = "bfp_quant";

    fn validate(&self) -> Result<(), ParamError> {
        check_range("--block", self.block, &BLOCK)?;
        check_range("--mant", self.mant_bits, &MANT_BITS)?;
        check_range("--exp-bits", self.exp_bits, &EXP_BITS)?;
        check_range("--rnd-bits", self.rnd_bits, &RND_BITS)?;
        check_modes(self.modes, self.mant_bits)?;
        check_lanes(self.block, self.lanes())
    }

    /// e.g. `bfp_quant_n16_m4_e10_rne`, `bfp_quant_n16_m4_e10_sr8_l4`.
    fn module_name(&self) -> String {
        let r = match self.rounding {
            BfpRounding::Rne => "rne".to_string(),
            BfpRounding::Rz => "rz".to_string(),
            BfpRounding::Sr => format!("sr{}", self.rnd_bits),
        };
        let mut name = format!(
            "bfp_quant_n{}_m{}_e{}_{r}",
            self.block, self.mant_bits, self.exp_bits
        );
        if self.lanes() < self.block {
            name += &format!("_l{}", self.lanes());
        }
        if let Some(modes) = self.modes {
            name += &format!("_modes{}", modes.to_string().replace(',', "_"));
        }
        if self.exp_rule == ExpRule::Hbfp {
            name += "_hbfp";
        }
        name
    }

    /// clk, rst, in_valid, x[32L-1:0], rnd (SR only), mode (mixed mantissa only) ->
    /// e, q[m*n-1:0], inv, out_valid.
    fn interface(&self) -> Interface {
        let mut ports = vec![
            Port::bit("clk", Dir::In, Role::Clock),
            Port::bit("rst", Dir::In, Role::Reset),
            Port::bit("in_valid", Dir::In, Role::InValid),
            Port::binary32("x", Dir::In, self.lanes()),
        ];
        if self.stochastic() {
            ports.push(Port::random("rnd", self.rnd_bits * self.block));
        }
        if let Some(modes) = self.modes {
            ports.push(Port::int("mode", Dir::In, modes.select_bits(), false));
        }
        ports.extend([
            Port::int("e", Dir::Out, self.exp_bits, true),
            Port::int_vec("q", Dir::Out, self.mant_bits, true, self.block),
            Port::bit("inv", Dir::Out, Role::Flag),
            Port::bit("out_valid", Dir::Out, Role::OutValid),
        ]);
        Interface { ports }
    }

    fn latency(&self) -> u32 {
        1
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(BfpQuant::new(*self)?))
    }
}

/// Cycle model of `bfp_quant`.
#[derive(Clone, Debug)]
pub struct BfpQuant {
    p: BfpQuantParams,
    iface: Interface,
    /// Values of the block being received.
    pending: Collector,
    e: i32,
    q: Vec<i64>,
    inv: bool,
    out_valid: bool,
}

impl BfpQuant {
    pub fn new(p: BfpQuantParams) -> Result<BfpQuant, ParamError> {
        p.validate()?;
        Ok(BfpQuant {
            p,
            iface: p.interface(),
            pending: Collector::default(),
            e: 0,
            q: vec![0; p.block as usize],
            inv: false,
            out_valid: false,
        })
    }
}

impl CycleModel for BfpQuant {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let p = self.p;
        let mut out = split(self.iface.outputs(), outputs)
            .into_iter()
            .map(<[u64]>::to_vec)
            .collect::<Vec<_>>();
        out[0][0] = int::to_bits(self.e.into(), p.exp_bits) as u64;
        for (i, q) in self.q.iter().enumerate() {
            set_field(
                &mut out[1],
                i as u32 * p.mant_bits,
                p.mant_bits,
                int::to_bits((*q).into(), p.mant_bits) as u64,
            );
        }
        out[2][0] = self.inv as u64;
        out[3][0] = self.out_valid as u64;
        outputs.copy_from_slice(&out.concat());

        let ins = split(self.iface.beat_inputs(), inputs);
        let (rst, valid) = (ins[0][0] & 1 == 1, ins[1][0] & 1 == 1);
        self.out_valid = false;
        if rst {
            *self = BfpQuant::new(p).expect("validated");
            return;
        }
        if !valid {
            return;
        }
        let Some(block) = self.pending.push(ins[2], p.lanes(), p.block) else {
            return;
        };
        let rnd = if p.stochastic() {
            random_words(ins[3], p.block, p.rnd_bits)
        } else {
            Vec::new()
        };
        // A mixed-mantissa unit converts with the width `mode` selects; the m-bit result
        // sits sign-extended in the --mant-bit field.
        let format = match p.modes {
            Some(modes) => BfpFormat {
                mant_bits: modes.width(ins[ins.len() - 1][0]),
                ..p.format()
            },
            None => p.format(),
        };
        let r = quantize_with_rule(&format, &block, p.rounding, &rnd, p.rnd_bits, p.exp_rule);
        (self.e, self.q, self.inv, self.out_valid) = (r.block.exp, r.block.q, r.inv, true);
    }
}

impl crate::unit::Unit for BfpQuantParams {
    const COMMAND: &'static str = "bfp-quant";
    const SUMMARY: &'static str =
        "Binary32 to block floating point (HBFP): one shared exponent, n m-bit mantissas";
    const ABOUT: &'static str = "Converts blocks of n binary32 values (L per beat) to one \
shared exponent floor(log2 max|x|) - (m-2) and n m-bit two's-complement mantissas clamped to \
the symmetric range, rounding RNE, RZ or stochastically (an `rnd` input); NaN and infinity set \
`inv`. With --modes, a `mode` input picks a narrower mantissa at run time.";
    const DOCS: &'static str = "docs/bfp.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        (
            "--block 16 --mant 4",
            "HBFP4 blocks of 16, all elements in one beat",
        ),
        (
            "--block 32 --mant 6 --lanes 4 --rounding sr",
            "HBFP6, 4 elements a beat, stochastic rounding",
        ),
        (
            "--block 16 --mant 6 --modes 4,6",
            "HBFP4 or HBFP6 chosen at run time",
        ),
    ];

    /// The default (16 elements per beat, RNE), small blocks in the other rounding
    /// modes, and serial beats with run-time widths (PDR closes those first).
    fn proof_set() -> Vec<Self> {
        let d = BfpQuantParams::default();
        let widths = |s: &str| Some(s.parse().expect("a list of widths"));
        vec![
            d,
            BfpQuantParams {
                block: 4,
                rounding: BfpRounding::Rz,
                mant_bits: 6,
                ..d
            },
            BfpQuantParams {
                block: 2,
                rounding: BfpRounding::Sr,
                rnd_bits: 4,
                ..d
            },
            BfpQuantParams {
                block: 4,
                lanes: Some(1),
                mant_bits: 8,
                rounding: BfpRounding::Sr,
                rnd_bits: 3,
                modes: widths("2,5,8"),
                ..d
            },
            BfpQuantParams {
                block: 6,
                lanes: Some(3),
                rounding: BfpRounding::Rz,
                modes: widths("3,4"),
                ..d
            },
            // The HBFP emulator's exponent rule, with mixed mantissas.
            BfpQuantParams {
                block: 3,
                lanes: Some(3),
                modes: widths("2,4"),
                exp_rule: ExpRule::Hbfp,
                ..d
            },
        ]
    }

    /// Activations converted and read back (`crate::study::block`).
    fn study(
        &self,
        workload: &crate::study::Workload,
    ) -> Option<Result<crate::study::Errors, crate::study::StudyError>> {
        Some(crate::study::block::bfp_quant(self, workload))
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        crate::unit::sample_valid(rng, |rng| {
            let (block, mant_bits, lanes, modes) = super::sample_shape(rng, 16);
            BfpQuantParams {
                block,
                mant_bits,
                exp_bits: rng.int(EXP_BITS),
                rounding: super::sample_rounding(rng),
                rnd_bits: rng.int(RND_BITS),
                lanes,
                modes,
                exp_rule: if rng.one_in(3) {
                    ExpRule::Hbfp
                } else {
                    ExpRule::Mx
                },
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bfp::test_support::{block_values, HBFP4};
    use proptest::prelude::*;

    /// docs/bfp.md: [1.0, 0.3] at m = 4 is [1.0, 0.25] with the MX rule (E_s = -2) and
    /// [0.875, 0.25] with the HBFP emulator's (E_s = -3: 1.0 saturates at 7/8); a largest
    /// value that is not a power of two gets the same exponent from both.
    #[test]
    fn exponent_rules() {
        let x = [1.0f32.to_bits(), 0.3f32.to_bits()];
        let q = |rule| quantize_with_rule(&HBFP4, &x, BfpRounding::Rne, &[], 0, rule).block;
        assert_eq!(
            q(ExpRule::Mx),
            Block {
                exp: -2,
                q: vec![4, 1]
            }
        );
        assert_eq!(
            q(ExpRule::Hbfp),
            Block {
                exp: -3,
                q: vec![7, 2]
            }
        );
        let y = [1.5f32.to_bits(), (-1.0f32).to_bits()];
        let q = |rule| quantize_with_rule(&HBFP4, &y, BfpRounding::Rne, &[], 0, rule).block;
        assert_eq!(q(ExpRule::Mx), q(ExpRule::Hbfp));
    }

    #[test]
    fn zeros_subnormals_and_specials() {
        let all_zero = quantize(&HBFP4, &[0, 0x8000_0000, 1], BfpRounding::Rne, &[], 0);
        assert_eq!(
            all_zero,
            Quantized {
                block: Block {
                    exp: -512,
                    q: vec![0, 0, 0]
                },
                inv: false
            }
        );
        let inf = quantize(
            &HBFP4,
            &[f32::NEG_INFINITY.to_bits(), 1.0f32.to_bits()],
            BfpRounding::Rne,
            &[],
            0,
        );
        assert!(inf.inv);
        assert_eq!(
            inf.block,
            Block {
                exp: 125,
                q: vec![-7, 0]
            }
        );
        let nan = quantize(&HBFP4, &[f32::NAN.to_bits()], BfpRounding::Rz, &[], 0);
        assert!(nan.inv && nan.block.q == vec![7]);
    }

    #[test]
    fn cycle_model_collects_lanes_then_converts() {
        let p = BfpQuantParams {
            block: 4,
            lanes: Some(2),
            ..BfpQuantParams::default()
        };
        assert_eq!(p.module_name(), "bfp_quant_n4_m4_e10_rne_l2");
        let mut m = BfpQuant::new(p).unwrap();
        let x = [1.5f32, -0.3, 0.05, 0.9].map(f32::to_bits);
        let beat = |v: bool, a: u32, b: u32| [0, v as u64, u64::from(a) | u64::from(b) << 32];
        let mut o = [0u64; 4];
        m.step(&beat(true, x[0], x[1]), &mut o);
        m.step(&beat(false, 0, 0), &mut o); // an idle beat inside the block
        m.step(&beat(true, x[2], x[3]), &mut o);
        assert_eq!(o[3], 0);
        m.step(&beat(false, 0, 0), &mut o);
        // e = -2 in 10 bits; q = [6, -1, 0, 4] in 4-bit fields.
        assert_eq!(o, [0x3fe, 0x40f6, 0, 1]);
        m.step(&beat(false, 0, 0), &mut o);
        assert_eq!(
            o,
            [0x3fe, 0x40f6, 0, 0],
            "outputs hold, out_valid for one cycle"
        );
    }

    #[test]
    fn lanes_must_divide_the_block() {
        let e = BfpQuantParams {
            block: 12,
            lanes: Some(5),
            ..BfpQuantParams::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value '5' for '--lanes': allowed a divisor of --block 12: 1, 2, 3, 4, 6, 12"
        );
    }

    proptest! {
        /// RNE error is at most half a step unless the value clamps at the top.
        #[test]
        fn rne_error_is_half_a_step(x in block_values(), m in 2u32..=8) {
            let f = BfpFormat { mant_bits: m, exp_bits: 10 };
            let bits: Vec<u32> = x.iter().map(|v| v.to_bits()).collect();
            let b = quantize(&f, &bits, BfpRounding::Rne, &[], 0).block;
            let step = 2f64.powi(b.exp);
            for (v, q) in x.iter().zip(&b.q) {
                prop_assert!(q.abs() <= f.qmax());
                let v = f64::from(*v);
                let err = (v - *q as f64 * step).abs();
                let clamped = v.abs() > (f.qmax() as f64 + 0.5) * step;
                prop_assert!(clamped || err <= step / 2.0, "{} -> {} * 2^{}", v, q, b.exp);
            }
        }

    }
}
