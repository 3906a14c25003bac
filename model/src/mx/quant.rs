//! The binary32-to-MX converter `mx_quant` (docs/mx.md): the unit around
//! [`super::quantize`].

use serde::{Deserialize, Serialize};

use super::{quantize, Elem, MxRounding};
use crate::bfp::{random_words, Collector, LANES, RND_BITS, RND_BITS_FLAG};
use crate::iface::{set_field, split, CycleModel, Dir, Interface, Port, Role};
use crate::param::{Flags, Param, Params};
use crate::unit::{check_range, ParamError, UnitParams};

/// `--elem`: the element type, shared by every MX unit.
pub const ELEM: Param = Param::choice(
    "--elem",
    "TYPE",
    super::ELEM_CHOICES,
    "e4m3",
    "Element type",
);

/// `--block`: elements sharing one scale (the OCP MX block is 32).
pub const BLOCK: Param = Param::int(
    "--block",
    "K",
    1..=64,
    Some(32),
    "Block size k: elements sharing one scale",
);

/// `--rounding`: how elements are rounded.
pub const ROUNDING: Param = Param::choice(
    "--rounding",
    "MODE",
    &[
        ("rne", "Round to nearest, ties to even"),
        ("away", "Round to nearest, ties away from zero"),
        (
            "sr",
            "Stochastic: add random bits below the element's quantum, then truncate",
        ),
    ],
    "rne",
    "Rounding of the elements",
);

impl Elem {
    /// The type `--elem` names.
    pub fn from_flags(flags: &dyn Flags) -> Result<Elem, ParamError> {
        let name = ELEM.choice_value(flags)?;
        Ok(Elem::from_name(name).expect("a declared choice"))
    }
}

impl MxRounding {
    /// The rounding `--rounding` names.
    pub fn from_flags(flags: &dyn Flags) -> Result<MxRounding, ParamError> {
        Ok(match ROUNDING.choice_value(flags)? {
            "away" => MxRounding::Away,
            "sr" => MxRounding::Sr,
            _ => MxRounding::Rne,
        })
    }

    /// The flag value: `rne`, `away`, `sr`.
    pub fn name(self) -> &'static str {
        match self {
            MxRounding::Rne => "rne",
            MxRounding::Away => "away",
            MxRounding::Sr => "sr",
        }
    }
}

/// Parameters of the binary32-to-MX converter `mx_quant` (docs/mx.md).
///
/// Beats carry `lanes` binary32 values on `x`; every `block / lanes` valid beats make one
/// block, and one cycle after a block's last beat `scale` and `q` show its conversion
/// with `out_valid` high, held until the next block. With `--rounding sr` an input `rnd`
/// of `rnd_bits` random bits per element is sampled with the block's last beat. Reset
/// clears the outputs and drops a partly received block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MxQuantParams {
    /// Element type.
    pub elem: Elem,
    /// Block size k, 1..=64.
    pub block: u32,
    /// Rounding of the elements.
    pub rounding: MxRounding,
    /// Random bits per element for --rounding sr, 1..=16.
    pub rnd_bits: u32,
    /// Values accepted per beat, a divisor of --block [default: the whole block].
    pub lanes: Option<u32>,
}

impl Default for MxQuantParams {
    /// MXFP8 E4M3, blocks of 32 in one beat, RNE.
    fn default() -> Self {
        MxQuantParams {
            elem: Elem::E4m3,
            block: 32,
            rounding: MxRounding::Rne,
            rnd_bits: 8,
            lanes: None,
        }
    }
}

impl Params for MxQuantParams {
    const PARAMS: &'static [Param] = &[ELEM, BLOCK, LANES, ROUNDING, RND_BITS_FLAG];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        let rounding = MxRounding::from_flags(flags)?;
        if rounding != MxRounding::Sr {
            if let Some(v) = flags.given(RND_BITS_FLAG.name()) {
                return Err(RND_BITS_FLAG.error_because(
                    v,
                    "only with --rounding sr (the other modes take no random bits)",
                ));
            }
        }
        Ok(MxQuantParams {
            elem: Elem::from_flags(flags)?,
            block: BLOCK.u32(flags)?,
            rounding,
            rnd_bits: RND_BITS_FLAG.u32(flags)?,
            lanes: LANES.opt_u32(flags)?,
        })
    }
}

impl MxQuantParams {
    /// Values per beat.
    pub fn lanes(&self) -> u32 {
        self.lanes.unwrap_or(self.block)
    }

    /// Beats per block.
    pub fn beats_per_block(&self) -> u32 {
        self.block / self.lanes()
    }

    /// Whether the unit has an `rnd` input.
    pub fn stochastic(&self) -> bool {
        self.rounding == MxRounding::Sr
    }
}

impl UnitParams for MxQuantParams {
    const KIND: &'static str = "mx_quant";

    fn validate(&self) -> Result<(), ParamError> {
        check_range("--block", self.block, &BLOCK.range())?;
        check_range("--rnd-bits", self.rnd_bits, &RND_BITS)?;
        crate::bfp::check_lanes(self.block, self.lanes())
    }

    /// e.g. `mx_quant_e4m3_k32_rne`, `mx_quant_e2m1_k32_sr8_l8`.
    fn module_name(&self) -> String {
        let r = match self.rounding {
            MxRounding::Sr => format!("sr{}", self.rnd_bits),
            r => r.name().to_string(),
        };
        let mut name = format!("mx_quant_{}_k{}_{r}", self.elem.name(), self.block);
        if self.lanes() < self.block {
            name += &format!("_l{}", self.lanes());
        }
        name
    }

    /// clk, rst, in_valid, x[32L-1:0], rnd (SR only) -> scale[7:0], q[W*k-1:0], out_valid.
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
        ports.extend([
            Port::int("scale", Dir::Out, 8, false),
            Port::int_vec("q", Dir::Out, self.elem.width(), false, self.block),
            Port::bit("out_valid", Dir::Out, Role::OutValid),
        ]);
        Interface { ports }
    }

    fn latency(&self) -> u32 {
        1
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(MxQuant::new(*self)?))
    }
}

/// Cycle model of `mx_quant`.
#[derive(Clone, Debug)]
pub struct MxQuant {
    p: MxQuantParams,
    iface: Interface,
    /// Values of the block being received.
    pending: Collector,
    scale: u32,
    codes: Vec<u64>,
    out_valid: bool,
}

impl MxQuant {
    pub fn new(p: MxQuantParams) -> Result<MxQuant, ParamError> {
        p.validate()?;
        Ok(MxQuant {
            p,
            iface: p.interface(),
            pending: Collector::default(),
            scale: 0,
            codes: vec![0; p.block as usize],
            out_valid: false,
        })
    }
}

impl CycleModel for MxQuant {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let p = self.p;
        let mut out = split(self.iface.outputs(), outputs)
            .into_iter()
            .map(<[u64]>::to_vec)
            .collect::<Vec<_>>();
        out[0][0] = u64::from(self.scale);
        let w = p.elem.width();
        for (i, c) in self.codes.iter().enumerate() {
            set_field(&mut out[1], i as u32 * w, w, *c);
        }
        out[2][0] = self.out_valid as u64;
        outputs.copy_from_slice(&out.concat());

        let ins = split(self.iface.beat_inputs(), inputs);
        let (rst, valid) = (ins[0][0] & 1 == 1, ins[1][0] & 1 == 1);
        self.out_valid = false;
        if rst {
            *self = MxQuant::new(p).expect("validated");
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
        let b = quantize(p.elem, &block, p.rounding, &rnd, p.rnd_bits);
        (self.scale, self.codes, self.out_valid) = (b.scale, b.codes, true);
    }
}

impl crate::unit::Unit for MxQuantParams {
    const COMMAND: &'static str = "mx-quant";
    const SUMMARY: &'static str =
        "Binary32 to OCP MX: one E8M0 scale and k INT8/FP8/FP6/FP4 elements per block";
    const ABOUT: &'static str = "Converts blocks of k binary32 values (L per beat) to the OCP \
Microscaling format: a scale byte X + 127 with X = floor(log2 max|x|) - emax of the element \
type (clamped to [-127, 127]; 0xFF for a block holding NaN or infinity) and k elements \
x / 2^X rounded RNE, ties away, or stochastically (an `rnd` input), saturating to the \
largest finite element.";
    const DOCS: &'static str = "docs/mx.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        ("--elem e4m3", "MXFP8 (E4M3), blocks of 32 in one beat"),
        (
            "--elem e2m1 --lanes 8 --rounding away",
            "MXFP4, 8 values a beat, ties away from zero",
        ),
        (
            "--elem int8 --block 16 --rounding sr --rnd-bits 4",
            "MXINT8, blocks of 16, stochastic rounding",
        ),
    ];

    /// The default (about 50 s: its reference shares the largest exponent, the NaN flag
    /// and the next outputs as cut points) and small blocks that close in seconds: each
    /// element type once, every rounding, serial beats.
    fn proof_set() -> Vec<Self> {
        let p = |elem, block, lanes, rounding, rnd_bits| MxQuantParams {
            elem,
            block,
            rounding,
            rnd_bits,
            lanes,
        };
        vec![
            MxQuantParams::default(),
            p(Elem::E2m1, 4, None, MxRounding::Rne, 8),
            p(Elem::E4m3, 2, None, MxRounding::Rne, 8),
            p(Elem::E5m2, 2, Some(1), MxRounding::Away, 8),
            p(Elem::E3m2, 2, None, MxRounding::Sr, 3),
            p(Elem::E2m3, 3, None, MxRounding::Away, 8),
            p(Elem::Int8, 2, None, MxRounding::Rne, 8),
        ]
    }

    /// Activations converted and read back (`crate::study::block`).
    fn study(
        &self,
        workload: &crate::study::Workload,
    ) -> Option<Result<crate::study::Errors, crate::study::StudyError>> {
        Some(crate::study::block::mx_quant(self, workload))
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        crate::unit::sample_valid(rng, |rng| {
            let block = rng.int(1..=16);
            let divisors: Vec<u32> = (1..=block).filter(|d| block.is_multiple_of(*d)).collect();
            MxQuantParams {
                elem: rng.pick(&Elem::ALL),
                block,
                rounding: rng.pick(&[MxRounding::Rne, MxRounding::Away, MxRounding::Sr]),
                rnd_bits: rng.int(RND_BITS),
                lanes: rng.one_in(2).then(|| rng.pick(&divisors)),
            }
        })
    }
}
