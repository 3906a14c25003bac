//! The MX block dot product `mx_dot` (docs/mx.md): two streams of MX blocks, each block's
//! exact dot product ([`super::dot_exact`]) scaled by `2^(Xa + Xb)` and rounded once to
//! binary32, accumulated across blocks in binary32 exactly as `bfp_dot` does (the same
//! conversion [`block_to_binary32`] and stages [`DotStages`]).

use serde::{Deserialize, Serialize};

use super::{dot_exact, Elem, BLOCK, ELEM_CHOICES, SCALE_BIAS, SCALE_NAN};
use crate::bfp::{
    binary32_accumulation_stages, block_to_binary32, check_lanes, conversion_stages, DotStages,
    LANES,
};
use crate::iface::{get_field, split, CycleModel, Dir, Interface, Port, Role};
use crate::param::{Flags, Param, Params};
use crate::unit::{check_range, ParamError, UnitParams};

/// `--elem`: the element type of the `a` operand (and of `b` unless `--elem-b`).
pub const ELEM_A: Param = Param::choice(
    "--elem",
    "E",
    ELEM_CHOICES,
    "e4m3",
    "Element type of qa (and of qb unless --elem-b)",
);

/// `--elem-b`: the element type of the `b` operand.
pub const ELEM_B: Param = Param::text(
    "--elem-b",
    "E",
    None,
    "Element type of qb: int8, e4m3, e5m2, e3m2, e2m3 or e2m1 [default: --elem]",
)
.samples(&["int8", "e4m3", "e5m2", "e3m2", "e2m3", "e2m1"]);

/// Parameters of the MX block dot product `mx_dot` (docs/mx.md).
///
/// Beats carry `lanes` elements of each block on `qa` and `qb` (lane j of a beat at
/// `qa[Wa*j +: Wa]`, Wa the width of `elem_a`'s codes); every `block / lanes` valid beats
/// make one block pair, and the scale bytes `xa`, `xb` and `clear` are sampled with a
/// block's last beat. The block's exact sum of element products `S` (in quanta
/// `2^(lsb_a + lsb_b)`) times `2^(Xa + Xb + lsb_a + lsb_b)` is rounded once to binary32
/// (RNE, flush below 2^-126 with `uf`, saturate with `of`) and added to the binary32
/// accumulator exactly as `bfp_dot` does (`clear` starts a new sum with this block; `uf`,
/// `of` sticky until then). A block with a NaN scale byte (0xFF) on either side or a NaN
/// or infinity element code (E4M3 `S.1111.111`, E5M2 exponent field 31) adds nothing (it
/// counts as +0: `acc` keeps its value, or restarts at +0 with `clear`) and sets the
/// sticky `nan` flag, which `clear` resets like the others. Latency as `bfp_dot`'s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MxDotParams {
    /// Element type of `qa`.
    pub elem_a: Elem,
    /// Element type of `qb`.
    pub elem_b: Elem,
    /// Block size k, 1..=64.
    pub block: u32,
    /// Element products per beat, a divisor of --block [default: the whole block].
    pub lanes: Option<u32>,
}

impl Default for MxDotParams {
    /// MXFP8 (E4M3) blocks of 32, the whole block per beat.
    fn default() -> Self {
        MxDotParams {
            elem_a: Elem::E4m3,
            elem_b: Elem::E4m3,
            block: 32,
            lanes: None,
        }
    }
}

impl Params for MxDotParams {
    const PARAMS: &'static [Param] = &[ELEM_A, ELEM_B, BLOCK, LANES];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        let elem_a = Elem::from_name(ELEM_A.choice_value(flags)?).expect("a declared choice");
        let elem_b = ELEM_B
            .parse(flags, |t| {
                Elem::from_name(t).ok_or_else(|| "an element type".to_string())
            })?
            .unwrap_or(elem_a);
        Ok(MxDotParams {
            elem_a,
            elem_b,
            block: BLOCK.u32(flags)?,
            lanes: LANES.opt_u32(flags)?,
        })
    }
}

impl MxDotParams {
    /// Element products per beat.
    pub fn lanes(&self) -> u32 {
        self.lanes.unwrap_or(self.block)
    }

    /// Beats per block pair.
    pub fn beats_per_block(&self) -> u32 {
        self.block / self.lanes()
    }

    /// Width of the exact block sum in quanta: a product of decoded elements fits
    /// `int_bits_a + int_bits_b` signed bits, and `k` of them `ceil(log2 k)` more.
    pub fn sum_width(&self) -> u32 {
        self.elem_a.int_bits()
            + self.elem_b.int_bits()
            + self.block.next_power_of_two().trailing_zeros()
    }

    /// The exponent of the block sum's unit, less the scales: `lsb_a + lsb_b`.
    pub fn lsb_exp(&self) -> i32 {
        self.elem_a.lsb_exp() + self.elem_b.lsb_exp()
    }

    /// Extra cycles of the binary32 conversion, as `bfp_dot`'s.
    pub fn conversion_stages(&self) -> u32 {
        conversion_stages(self.accumulation_stages())
    }

    /// Extra cycles of the binary32 accumulation, as `bfp_dot`'s.
    pub fn accumulation_stages(&self) -> u32 {
        binary32_accumulation_stages(self.beats_per_block())
    }
}

impl UnitParams for MxDotParams {
    const KIND: &'static str = "mx_dot";

    fn validate(&self) -> Result<(), ParamError> {
        check_range("--block", self.block, &BLOCK.range())?;
        check_lanes(self.block, self.lanes())
    }

    /// e.g. `mx_dot_e4m3_n32`, `mx_dot_e4m3_e2m1_n32_l8` (mixed types, 8 lanes).
    fn module_name(&self) -> String {
        let mut name = format!("mx_dot_{}", self.elem_a.name());
        if self.elem_b != self.elem_a {
            name += &format!("_{}", self.elem_b.name());
        }
        name += &format!("_n{}", self.block);
        if self.lanes() < self.block {
            name += &format!("_l{}", self.lanes());
        }
        name
    }

    /// clk, rst, in_valid, clear, xa[7:0], qa[Wa*L-1:0], xb[7:0], qb[Wb*L-1:0] ->
    /// acc[31:0] (binary32), uf, of, nan, out_valid.
    fn interface(&self) -> Interface {
        let l = self.lanes();
        Interface {
            ports: vec![
                Port::bit("clk", Dir::In, Role::Clock),
                Port::bit("rst", Dir::In, Role::Reset),
                Port::bit("in_valid", Dir::In, Role::InValid),
                Port::bit("clear", Dir::In, Role::Clear),
                Port::int("xa", Dir::In, 8, false),
                Port::int_vec("qa", Dir::In, self.elem_a.width(), false, l),
                Port::int("xb", Dir::In, 8, false),
                Port::int_vec("qb", Dir::In, self.elem_b.width(), false, l),
                Port::binary32("acc", Dir::Out, 1),
                Port::bit("uf", Dir::Out, Role::Flag),
                Port::bit("of", Dir::Out, Role::Flag),
                Port::bit("nan", Dir::Out, Role::Flag),
                Port::bit("out_valid", Dir::Out, Role::OutValid),
            ],
        }
    }

    /// `lanes` element products per beat.
    fn macs_per_cycle(&self) -> f64 {
        f64::from(self.lanes())
    }

    /// As `bfp_dot`: block sum register, binary32 conversion register, accumulator (3),
    /// plus the extra conversion and accumulation cycles of a block of several beats.
    fn latency(&self) -> u32 {
        3 + self.conversion_stages() + self.accumulation_stages()
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(MxDot::new(*self)?))
    }
}

/// Cycle model of `mx_dot`: stage 0 sums a block's element products exactly
/// ([`dot_exact`]) and notes NaN codes; stages 1 to 3 are `bfp_dot`'s ([`DotStages`]).
#[derive(Clone, Debug)]
pub struct MxDot {
    p: MxDotParams,
    iface: Interface,
    /// The exact sum of the block being received, whether it held a NaN or infinity
    /// code, and its beats so far.
    partial: i128,
    partial_nan: bool,
    beats: u32,
    stages: DotStages,
}

impl MxDot {
    pub fn new(p: MxDotParams) -> Result<MxDot, ParamError> {
        p.validate()?;
        Ok(MxDot {
            p,
            iface: p.interface(),
            partial: 0,
            partial_nan: false,
            beats: 0,
            stages: DotStages::new(p.conversion_stages(), p.accumulation_stages()),
        })
    }
}

impl CycleModel for MxDot {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let p = self.p;
        let acc = self.stages.acc;
        outputs[0] = acc.acc.into();
        outputs[1] = acc.uf.into();
        outputs[2] = acc.of.into();
        outputs[3] = self.stages.nan.into();
        outputs[4] = self.stages.out_valid.into();

        let ins = split(self.iface.beat_inputs(), inputs);
        let (rst, valid, clear) = (ins[0][0] & 1 == 1, ins[1][0] & 1 == 1, ins[2][0] & 1 == 1);
        if rst {
            *self = MxDot::new(p).expect("validated");
            return;
        }
        self.stages.clock();
        if !valid {
            return;
        }
        let codes = |q: &[u64], w: u32| -> Vec<u64> {
            (0..p.lanes()).map(|j| get_field(q, j * w, w)).collect()
        };
        let (ea, eb) = (p.elem_a, p.elem_b);
        let (qa, qb) = (codes(ins[4], ea.width()), codes(ins[6], eb.width()));
        match dot_exact(ea, &qa, eb, &qb) {
            Some(s) => self.partial += s,
            None => self.partial_nan = true,
        }
        self.beats += 1;
        if self.beats == p.beats_per_block() {
            let (xa, xb) = (ins[3][0] as u32 & 0xff, ins[5][0] as u32 & 0xff);
            let nan = self.partial_nan || xa == SCALE_NAN || xb == SCALE_NAN;
            let exp = xa as i32 + xb as i32 - 2 * SCALE_BIAS + p.lsb_exp();
            self.stages.push(self.partial, exp, clear, nan);
            (self.partial, self.partial_nan, self.beats) = (0, false, 0);
        }
    }
}

/// The binary32 value of one block pair as `mx_dot` computes it: `None` for a NaN block,
/// else the exact dot product rounded once ([`block_to_binary32`]).
pub fn block_value(
    p: &MxDotParams,
    xa: u32,
    qa: &[u64],
    xb: u32,
    qb: &[u64],
) -> Option<crate::float::Rounded> {
    if xa == SCALE_NAN || xb == SCALE_NAN {
        return None;
    }
    let s = dot_exact(p.elem_a, qa, p.elem_b, qb)?;
    let exp = xa as i32 + xb as i32 - 2 * SCALE_BIAS + p.lsb_exp();
    Some(block_to_binary32(s, exp))
}

impl crate::unit::Unit for MxDotParams {
    const COMMAND: &'static str = "mx-dot";
    const SUMMARY: &'static str =
        "OCP MX block dot product (FP8/FP6/FP4/INT8 elements) with binary32 accumulation";
    const ABOUT: &'static str = "Multiplies two streams of OCP MX blocks (E8M0 scale bytes xa, xb \
and element codes, each side of its own element type): every element decoded to an integer in \
its type's quanta, exact products and adder tree (L lanes a beat), one rounding of the block's \
value S * 2^(Xa+Xb) to binary32 and binary32 accumulation across blocks with `clear`, as bfp-dot \
(RNE, no subnormals; sticky `uf` and `of`). A NaN scale byte or a NaN/infinity element code \
makes the block add nothing and sets a sticky `nan` flag.";
    const DOCS: &'static str = "docs/mx.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        (
            "--elem e4m3",
            "MXFP8 (E4M3) blocks of 32, one block a cycle",
        ),
        (
            "--elem e2m1 --lanes 8",
            "MXFP4 blocks of 32, 8 products a cycle",
        ),
        (
            "--elem e4m3 --elem-b e2m1",
            "FP8 activations against FP4 weights",
        ),
    ];

    /// E2M1 blocks of two elements in one beat and in two (the multi-cycle
    /// accumulation), and a mixed pair (E2M3 x E2M1) of one element: 30 to 50 s each on a
    /// busy machine. The mixed pair at `--block 2` (82 s), INT8 x E2M1 and INT8 x INT8
    /// (34 s each, one element) are proven too but left out to keep CI short.
    fn proof_set() -> Vec<Self> {
        let p = MxDotParams {
            elem_a: Elem::E2m1,
            elem_b: Elem::E2m1,
            block: 2,
            lanes: None,
        };
        vec![
            p,
            MxDotParams {
                lanes: Some(1),
                ..p
            },
            MxDotParams {
                elem_a: Elem::E2m3,
                block: 1,
                ..p
            },
        ]
    }

    /// Rows converted to MX blocks, through the block dot product (`crate::study::block`).
    fn study(
        &self,
        workload: &crate::study::Workload,
    ) -> Option<Result<crate::study::Errors, crate::study::StudyError>> {
        Some(crate::study::block::mx_dot(self, workload))
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        crate::unit::sample_valid(rng, |rng| {
            let block = rng.int(1..=8);
            let divisors: Vec<u32> = (1..=block).filter(|d| block % d == 0).collect();
            MxDotParams {
                elem_a: rng.pick(&Elem::ALL),
                elem_b: rng.pick(&Elem::ALL),
                block,
                lanes: rng.one_in(2).then(|| rng.pick(&divisors)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::param::Given;

    #[test]
    fn flags_names_and_widths() {
        let p = MxDotParams::from_flags(&Given::of(&[("elem", "e2m1")])).unwrap();
        assert_eq!((p.elem_a, p.elem_b, p.block), (Elem::E2m1, Elem::E2m1, 32));
        assert_eq!(p.module_name(), "mx_dot_e2m1_n32");
        let p = MxDotParams::from_flags(&Given::of(&[
            ("elem", "e4m3"),
            ("elem-b", "int8"),
            ("lanes", "8"),
        ]))
        .unwrap();
        assert_eq!(p.module_name(), "mx_dot_e4m3_int8_n32_l8");
        assert_eq!(p.latency(), 3 + 1 + 3);
        let e = MxDotParams::from_flags(&Given::of(&[("elem-b", "e9m9")])).unwrap_err();
        assert_eq!(e.param, "--elem-b");
        // E5M2 x E5M2 over 64 elements: 33 + 33 + 6 bits.
        let p = MxDotParams {
            elem_a: Elem::E5m2,
            elem_b: Elem::E5m2,
            block: 64,
            lanes: None,
        };
        assert_eq!(p.sum_width(), 72);
    }

    /// docs/mx.md's worked case through the cycle model: E2M1 A = [1, 0.5, -3, 6] at
    /// X = 0, B = [2, -4, 4, 1] at X = -2, two lanes: -6 * 2^-2 = -1.5; then a NaN block.
    #[test]
    fn worked_case_and_nan_block() {
        let p = MxDotParams {
            elem_a: Elem::E2m1,
            elem_b: Elem::E2m1,
            block: 4,
            lanes: Some(2),
        };
        let e = Elem::E2m1;
        let code = |v: f64| e.encode(v < 0.0, (v.abs() * 2.0) as u64); // quanta of 0.5
        let pack = |v: &[f64]| code(v[0]) | code(v[1]) << 4;
        let (a, b) = ([1.0, 0.5, -3.0, 6.0], [2.0, -4.0, 4.0, 1.0]);
        let mut m = MxDot::new(p).unwrap();
        let mut o = [0u64; 5];
        // rst, in_valid, clear, xa, qa, xb, qb
        let block = |m: &mut MxDot, clear: bool, xb: u64, o: &mut [u64; 5]| {
            m.step(&[0, 1, 0, 127, pack(&a[..2]), 125, pack(&b[..2])], o);
            m.step(
                &[0, 1, clear as u64, 127, pack(&a[2..]), xb, pack(&b[2..])],
                o,
            );
            for _ in 0..p.latency() {
                m.step(&[0; 7], o);
            }
        };
        block(&mut m, true, 125, &mut o);
        assert_eq!((f32::from_bits(o[0] as u32), o[3], o[4]), (-1.5, 0, 1));
        block(&mut m, false, 0xff, &mut o);
        assert_eq!((f32::from_bits(o[0] as u32), o[3], o[4]), (-1.5, 1, 1));
        block(&mut m, false, 125, &mut o);
        assert_eq!((f32::from_bits(o[0] as u32), o[3]), (-3.0, 1));
        block(&mut m, true, 125, &mut o);
        assert_eq!((f32::from_bits(o[0] as u32), o[3]), (-1.5, 0));
        block(&mut m, true, 0xff, &mut o);
        assert_eq!((o[0], o[1], o[2], o[3]), (0, 0, 0, 1), "restarts at +0");
    }
}
