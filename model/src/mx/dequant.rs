//! The MX-to-binary32 converter `mx_dequant` (docs/mx.md): the unit around
//! [`super::dequantize`].

use serde::{Deserialize, Serialize};

use super::quant::ELEM;
use super::{dequantize, Elem};
use crate::iface::{get_field, set_field, split, CycleModel, Dir, Interface, Port, Role};
use crate::param::{Flags, Param, Params};
use crate::unit::{check_range, ParamError, UnitParams};

/// The binary32 bits a NaN lane shows: the canonical quiet NaN.
pub const QUIET_NAN: u32 = 0x7fc0_0000;

/// `--lanes` of `mx_dequant`: elements per beat.
pub const DEQUANT_LANES: Param = Param::int(
    "--lanes",
    "L",
    1..=64,
    Some(4),
    "Elements converted per beat, all sharing the beat's scale byte",
);

/// Parameters of the MX-to-binary32 converter `mx_dequant` (docs/mx.md).
///
/// Each valid beat carries one scale byte and `lanes` element codes; one cycle later `y`
/// holds their binary32 values (`element * 2^(scale - 127)`, exact or flushed to +0 below
/// 2^-126 or saturated to the largest finite binary32) and `uf`, `of`, `nan` tell whether
/// some lane flushed, saturated, or was a NaN (NaN scale byte or NaN/infinity code; such
/// lanes show 0x7FC00000). Flags belong to the beat, they are not sticky. Outputs hold
/// until the next valid beat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MxDequantParams {
    /// Element type.
    pub elem: Elem,
    /// Elements per beat, 1..=64.
    pub lanes: u32,
}

impl Default for MxDequantParams {
    /// E4M3, 4 elements (128 bits of binary32) a beat.
    fn default() -> Self {
        MxDequantParams {
            elem: Elem::E4m3,
            lanes: 4,
        }
    }
}

impl Params for MxDequantParams {
    const PARAMS: &'static [Param] = &[ELEM, DEQUANT_LANES];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        Ok(MxDequantParams {
            elem: Elem::from_flags(flags)?,
            lanes: DEQUANT_LANES.u32(flags)?,
        })
    }
}

/// One beat's conversion: the lanes' binary32 bits and the flags `(uf, of, nan)`.
pub fn dequantize_beat(elem: Elem, scale: u32, codes: &[u64]) -> (Vec<u32>, [bool; 3]) {
    let mut flags = [false; 3];
    let y = codes
        .iter()
        .map(|&c| match dequantize(elem, scale, c) {
            None => {
                flags[2] = true;
                QUIET_NAN
            }
            Some(r) => {
                flags[0] |= r.underflow;
                flags[1] |= r.overflow;
                r.bits as u32
            }
        })
        .collect();
    (y, flags)
}

impl UnitParams for MxDequantParams {
    const KIND: &'static str = "mx_dequant";

    fn validate(&self) -> Result<(), ParamError> {
        check_range("--lanes", self.lanes, &DEQUANT_LANES.range())
    }

    /// e.g. `mx_dequant_e4m3_l8`.
    fn module_name(&self) -> String {
        format!("mx_dequant_{}_l{}", self.elem.name(), self.lanes)
    }

    /// clk, rst, in_valid, scale[7:0], q[W*L-1:0] -> y[32L-1:0], uf, of, nan, out_valid.
    fn interface(&self) -> Interface {
        Interface {
            ports: vec![
                Port::bit("clk", Dir::In, Role::Clock),
                Port::bit("rst", Dir::In, Role::Reset),
                Port::bit("in_valid", Dir::In, Role::InValid),
                Port::int("scale", Dir::In, 8, false),
                Port::int_vec("q", Dir::In, self.elem.width(), false, self.lanes),
                Port::binary32("y", Dir::Out, self.lanes),
                Port::bit("uf", Dir::Out, Role::Flag),
                Port::bit("of", Dir::Out, Role::Flag),
                Port::bit("nan", Dir::Out, Role::Flag),
                Port::bit("out_valid", Dir::Out, Role::OutValid),
            ],
        }
    }

    fn latency(&self) -> u32 {
        1
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(MxDequant::new(*self)?))
    }
}

/// Cycle model of `mx_dequant`.
#[derive(Clone, Debug)]
pub struct MxDequant {
    p: MxDequantParams,
    iface: Interface,
    y: Vec<u32>,
    flags: [bool; 3],
    out_valid: bool,
}

impl MxDequant {
    pub fn new(p: MxDequantParams) -> Result<MxDequant, ParamError> {
        p.validate()?;
        Ok(MxDequant {
            p,
            iface: p.interface(),
            y: vec![0; p.lanes as usize],
            flags: [false; 3],
            out_valid: false,
        })
    }
}

impl CycleModel for MxDequant {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let p = self.p;
        let mut out = split(self.iface.outputs(), outputs)
            .into_iter()
            .map(<[u64]>::to_vec)
            .collect::<Vec<_>>();
        for (i, y) in self.y.iter().enumerate() {
            set_field(&mut out[0], 32 * i as u32, 32, u64::from(*y));
        }
        for k in 0..3 {
            out[1 + k][0] = self.flags[k] as u64;
        }
        out[4][0] = self.out_valid as u64;
        outputs.copy_from_slice(&out.concat());

        let ins = split(self.iface.beat_inputs(), inputs);
        let (rst, valid) = (ins[0][0] & 1 == 1, ins[1][0] & 1 == 1);
        self.out_valid = false;
        if rst {
            *self = MxDequant::new(p).expect("validated");
            return;
        }
        if !valid {
            return;
        }
        let w = p.elem.width();
        let codes: Vec<u64> = (0..p.lanes).map(|i| get_field(ins[3], w * i, w)).collect();
        let (y, flags) = dequantize_beat(p.elem, ins[2][0] as u32, &codes);
        (self.y, self.flags, self.out_valid) = (y, flags, true);
    }
}

impl crate::unit::Unit for MxDequantParams {
    const COMMAND: &'static str = "mx-dequant";
    const SUMMARY: &'static str =
        "OCP MX to binary32: L elements and their E8M0 scale byte per beat";
    const ABOUT: &'static str = "Converts L MX elements and the scale byte they share back to \
binary32 (element * 2^(scale - 127)): exact, or flushed to +0 below 2^-126 (`uf`), or \
saturated to the largest finite binary32 (`of`); a NaN scale byte or a NaN/infinity element \
gives the quiet NaN 0x7FC00000 and `nan`. Flags belong to the beat.";
    const DOCS: &'static str = "docs/mx.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        ("--elem e4m3", "MXFP8 (E4M3), 4 elements a beat"),
        ("--elem e2m1 --lanes 32", "a whole MXFP4 block a beat"),
    ];

    /// The default (four lanes, about ten seconds), then every other element type at
    /// two lanes (lanes are independent copies; two prove in a second or so).
    fn proof_set() -> Vec<Self> {
        let d = MxDequantParams::default();
        let others = Elem::ALL.into_iter().filter(|e| *e != d.elem);
        std::iter::once(d)
            .chain(others.map(|elem| MxDequantParams { elem, lanes: 2 }))
            .collect()
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        MxDequantParams {
            elem: rng.pick(&Elem::ALL),
            lanes: rng.int(1..=8),
        }
    }
}
