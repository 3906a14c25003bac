//! Integer multiply-accumulate with a narrow accumulator (docs/mac.md).
//!
//! Per accepted beat: `base = clear ? 0 : acc`, `s = base + a*b` computed exactly, then
//! `acc <= saturate_A(s)` or `wrap_A(s)` and `ovf <= (clear ? 0 : ovf) | (s outside the
//! A-bit range)`. Saturation happens at every step, so the result depends on beat order.
//!
//! Choices docs/mac.md leaves open, made here and mirrored by the RTL:
//! - The accumulator has the operands' signedness: with both operands unsigned it is an
//!   unsigned A-bit integer, saturating to `[0, 2^A - 1]`; otherwise (either operand
//!   signed, mixed operands included) two's complement, saturating to
//!   `[-2^(A-1), 2^(A-1) - 1]`.
//! - Each operand has its own width and signedness (`--in-a`, `--in-b`, `--a-unsigned`,
//!   `--b-unsigned`; `--in`, `--signed`, `--unsigned` set both); `a*b` is exact.
//! - The latency is 1: the beat presented in cycle t shows on `acc`/`ovf` with
//!   `out_valid` high in cycle t + 1 (`--pipeline P` adds P, `crate::pipeline`).
//! - `out_valid` is high for exactly the cycles in which `acc` shows the result of a beat.
//! - Reset clears `acc`, `ovf` and `out_valid`.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::iface::{CycleModel, Dir, Interface, Port, Role};
use crate::int;
use crate::param::{Flags, Param, Params};
use crate::unit::{ParamError, UnitParams};

/// `--in`: the operand width.
pub const IN: Param = Param::int(
    "--in",
    "BITS",
    2..=32,
    Some(8),
    "Operand width N in bits (both operands)",
);
/// `--signed`: two's-complement operands (the default).
pub const SIGNED: Param = Param::switch(
    "--signed",
    "Two's-complement operands and accumulator (the default)",
);
/// `--unsigned`: unsigned operands and accumulator.
pub const UNSIGNED: Param = Param::switch(
    "--unsigned",
    "Unsigned operands and an unsigned accumulator",
);
/// `--in-a`: operand `a`'s width, overriding `--in` for `a`.
pub const IN_A: Param = Param::int(
    "--in-a",
    "BITS",
    2..=32,
    None,
    "Width of operand a in bits (default: --in)",
);
/// `--in-b`: operand `b`'s width, overriding `--in` for `b`.
pub const IN_B: Param = Param::int(
    "--in-b",
    "BITS",
    2..=32,
    None,
    "Width of operand b in bits (default: --in)",
);
/// `--a-unsigned`: operand `a` unsigned (`b` keeps `--signed`/`--unsigned`).
pub const A_UNSIGNED: Param = Param::switch(
    "--a-unsigned",
    "Operand a unsigned; the accumulator stays signed unless b is unsigned too",
);
/// `--b-unsigned`: operand `b` unsigned (`a` keeps `--signed`/`--unsigned`).
pub const B_UNSIGNED: Param = Param::switch(
    "--b-unsigned",
    "Operand b unsigned (e.g. activations after a ReLU); the accumulator stays signed unless a is unsigned too",
);
/// `--acc`: the accumulator width.
pub const ACC: Param = Param::int(
    "--acc",
    "BITS",
    2..=64,
    Some(12),
    "Accumulator width A in bits",
);
/// `--overflow`: what the accumulator does when a sum leaves its range (shared by the
/// units with an integer accumulator).
pub const OVERFLOW: Param = Param::choice(
    "--overflow",
    "POLICY",
    &[
        (
            "saturate",
            "Clamp to the largest or smallest representable value",
        ),
        ("wrap", "Keep the low A bits (two's-complement wrap-around)"),
    ],
    "saturate",
    "What the accumulator does when a sum leaves its range",
);

/// Allowed operand widths.
pub const IN_BITS: RangeInclusive<u32> = IN.range();
/// Allowed accumulator widths.
pub const ACC_BITS: RangeInclusive<u32> = ACC.range();

/// What the accumulator does when an exact sum leaves its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Overflow {
    /// Clamp to the largest or smallest representable value.
    Saturate,
    /// Keep the low A bits (two's-complement wrap-around).
    Wrap,
}

/// One integer operand: its width and signedness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operand {
    /// Width in bits, 2..=32.
    pub bits: u32,
    /// Two's complement; otherwise unsigned.
    pub signed: bool,
}

impl Operand {
    /// A two's-complement operand of `bits` bits.
    pub const fn signed(bits: u32) -> Operand {
        Operand { bits, signed: true }
    }

    /// An unsigned operand of `bits` bits.
    pub const fn unsigned(bits: u32) -> Operand {
        Operand {
            bits,
            signed: false,
        }
    }
}

/// Parameters of the integer MAC. One value of this type gives the model, the RTL, the
/// metadata and the command-line flags (`gen mac --help`).
///
/// `in_bits` and `signed` describe operand `a`, and operand `b` too unless `b` says
/// otherwise (mixed operands, `--in-a`/`--in-b`/`--a-unsigned`/`--b-unsigned`). The
/// accumulator is signed when either operand is. `from_flags` leaves `b` `None` when it
/// equals `a`, so a design has one parameter value and its metadata is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacParams {
    /// Width N of operand `a` (and of `b` unless `b` is set), 2..=32.
    pub in_bits: u32,
    /// Operand `a` (and `b` unless `b` is set) is two's complement; otherwise unsigned.
    pub signed: bool,
    /// Accumulator width A, 2..=64.
    pub acc_bits: u32,
    /// Overflow policy.
    pub overflow: Overflow,
    /// Operand `b` when it differs from `a`; `None`: `b` is like `a`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b: Option<Operand>,
}

impl Default for MacParams {
    /// An 8x8 signed MAC with a 12-bit saturating accumulator, not pipelined.
    fn default() -> Self {
        MacParams {
            in_bits: IN.default_u32(),
            signed: true,
            acc_bits: ACC.default_u32(),
            overflow: Overflow::Saturate,
            b: None,
        }
    }
}

impl Overflow {
    /// The policy `--overflow` names.
    pub fn from_flags(flags: &dyn Flags) -> Result<Overflow, ParamError> {
        Ok(match OVERFLOW.choice_value(flags)? {
            "wrap" => Overflow::Wrap,
            _ => Overflow::Saturate,
        })
    }
}

impl Params for MacParams {
    const PARAMS: &'static [Param] = &[
        IN, IN_A, IN_B, SIGNED, UNSIGNED, A_UNSIGNED, B_UNSIGNED, ACC, OVERFLOW,
    ];
    const CONFLICTS: &'static [(&'static Param, &'static Param)] = &[
        (&SIGNED, &UNSIGNED),
        (&SIGNED, &A_UNSIGNED),
        (&SIGNED, &B_UNSIGNED),
    ];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        let n = IN.u32(flags)?;
        let unsigned = UNSIGNED.is_on(flags);
        let a = Operand {
            bits: IN_A.opt_u32(flags)?.unwrap_or(n),
            signed: !(unsigned || A_UNSIGNED.is_on(flags)),
        };
        let b = Operand {
            bits: IN_B.opt_u32(flags)?.unwrap_or(n),
            signed: !(unsigned || B_UNSIGNED.is_on(flags)),
        };
        Ok(MacParams {
            in_bits: a.bits,
            signed: a.signed,
            acc_bits: ACC.u32(flags)?,
            overflow: Overflow::from_flags(flags)?,
            b: (b != a).then_some(b),
        })
    }
}

impl MacParams {
    /// Operand `a`.
    pub fn a(&self) -> Operand {
        Operand {
            bits: self.in_bits,
            signed: self.signed,
        }
    }

    /// Operand `b`: `b` when set, else like `a`.
    pub fn b(&self) -> Operand {
        self.b.unwrap_or(self.a())
    }

    /// The accumulator (and the sum) is signed when either operand is.
    pub fn acc_signed(&self) -> bool {
        self.a().signed || self.b().signed
    }

    /// Width of the exact product: `NA + NB` bits hold every product, of either
    /// signedness (a signed-by-unsigned product lies in `(-2^(NA+NB-1), 2^(NA+NB-1))`).
    pub fn prod_bits(&self) -> u32 {
        self.a().bits + self.b().bits
    }

    /// Width of the exact sum `base + product`: one bit more than the wider addend.
    pub fn sum_bits(&self) -> u32 {
        self.acc_bits.max(self.prod_bits()) + 1
    }
}

impl UnitParams for MacParams {
    const KIND: &'static str = "mac";

    fn validate(&self) -> Result<(), ParamError> {
        IN.check(self.in_bits)?;
        if let Some(b) = self.b {
            IN_B.check(b.bits)?;
        }
        ACC.check(self.acc_bits)
    }

    fn latency(&self) -> u32 {
        1
    }

    /// e.g. `mac_s8x8_acc12_sat`; operands of different widths `mac_s4x8_acc16_sat`;
    /// of different signedness, each with its own letter: `mac_s4xu8_acc16_sat`.
    fn module_name(&self) -> String {
        let letter = |o: Operand| if o.signed { 's' } else { 'u' };
        let (a, b) = (self.a(), self.b());
        let pol = match self.overflow {
            Overflow::Saturate => "sat",
            Overflow::Wrap => "wrap",
        };
        let operands = if a.signed == b.signed {
            format!("{}{}x{}", letter(a), a.bits, b.bits)
        } else {
            format!("{}{}x{}{}", letter(a), a.bits, letter(b), b.bits)
        };
        format!("mac_{operands}_acc{}_{pol}", self.acc_bits)
    }

    /// docs/mac.md: clk, rst, in_valid, clear, a, b -> acc, ovf, out_valid.
    fn interface(&self) -> Interface {
        Interface {
            ports: vec![
                Port::bit("clk", Dir::In, Role::Clock),
                Port::bit("rst", Dir::In, Role::Reset),
                Port::bit("in_valid", Dir::In, Role::InValid),
                Port::bit("clear", Dir::In, Role::Clear),
                Port::int("a", Dir::In, self.in_bits, self.signed),
                Port::int("b", Dir::In, self.b().bits, self.b().signed),
                Port::int("acc", Dir::Out, self.acc_bits, self.acc_signed()),
                Port::bit("ovf", Dir::Out, Role::Flag),
                Port::bit("out_valid", Dir::Out, Role::OutValid),
            ],
        }
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(Mac::new(*self)?))
    }
}

/// One accumulation step, the arithmetic of docs/mac.md: returns the new
/// `(acc, ovf)` from the old ones, `clear` and the operands (as integer values).
pub fn mac_step(
    p: &MacParams,
    acc: i128,
    ovf: bool,
    clear: bool,
    a: i128,
    b: i128,
) -> (i128, bool) {
    accumulate(
        acc,
        ovf,
        clear,
        a * b,
        p.acc_bits,
        p.acc_signed(),
        p.overflow,
    )
}

/// One accumulator step shared by the integer accumulators (`mac`, `lns_mac`):
/// `s = (clear ? 0 : acc) + term` exactly, then the policy into `acc_bits` bits; the
/// sticky flag restarts on `clear` and records any `s` outside the range.
pub fn accumulate(
    acc: i128,
    ovf: bool,
    clear: bool,
    term: i128,
    acc_bits: u32,
    signed: bool,
    overflow: Overflow,
) -> (i128, bool) {
    let base = if clear { 0 } else { acc };
    let s = base + term;
    let out_of_range = !int::fits(s, acc_bits, signed);
    let next = match overflow {
        Overflow::Saturate => int::saturate(s, acc_bits, signed),
        Overflow::Wrap => int::wrap(s, acc_bits, signed),
    };
    (next, (ovf && !clear) || out_of_range)
}

/// The inputs of one beat, with operands as integer values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MacIn {
    pub rst: bool,
    pub in_valid: bool,
    pub clear: bool,
    pub a: i128,
    pub b: i128,
}

/// The outputs seen in one cycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MacOut {
    pub acc: i128,
    pub ovf: bool,
    pub out_valid: bool,
}

/// Cycle model of the MAC, including its reset and `out_valid`.
#[derive(Clone, Debug)]
pub struct Mac {
    params: MacParams,
    iface: Interface,
    acc: i128,
    ovf: bool,
    out_valid: bool,
}

impl Mac {
    /// A MAC in its reset state. Fails when a parameter is out of range.
    pub fn new(params: MacParams) -> Result<Mac, ParamError> {
        params.validate()?;
        Ok(Mac {
            params,
            iface: params.interface(),
            acc: 0,
            ovf: false,
            out_valid: false,
        })
    }

    /// The parameters this model was built from.
    pub fn params(&self) -> &MacParams {
        &self.params
    }

    /// The registered outputs as they are now.
    pub fn outputs(&self) -> MacOut {
        MacOut {
            acc: self.acc,
            ovf: self.ovf,
            out_valid: self.out_valid,
        }
    }

    /// One clock cycle: returns the outputs seen during it, then takes the rising edge.
    #[inline]
    pub fn step(&mut self, i: MacIn) -> MacOut {
        let seen = self.outputs();
        if i.rst {
            self.acc = 0;
            self.ovf = false;
            self.out_valid = false;
            return seen;
        }
        if i.in_valid {
            let (acc, ovf) = mac_step(&self.params, self.acc, self.ovf, i.clear, i.a, i.b);
            self.acc = acc;
            self.ovf = ovf;
        }
        self.out_valid = i.in_valid;
        seen
    }
}

impl CycleModel for Mac {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        // Beat inputs in interface order: rst, in_valid, clear, a, b (one word each).
        let (a, b) = (self.params.a(), self.params.b());
        let beat = MacIn {
            rst: inputs[0] & 1 == 1,
            in_valid: inputs[1] & 1 == 1,
            clear: inputs[2] & 1 == 1,
            a: int::from_bits(inputs[3] as u128, a.bits, a.signed),
            b: int::from_bits(inputs[4] as u128, b.bits, b.signed),
        };
        let o = Mac::step(self, beat);
        outputs[0] = int::to_bits(o.acc, self.params.acc_bits) as u64;
        outputs[1] = o.ovf as u64;
        outputs[2] = o.out_valid as u64;
    }

    /// Beats back to back, the path co-simulation takes. When every sum fits 63 bits
    /// (accumulator and product of at most 62 bits, nearly every configuration) the
    /// batch runs [`Mac::step`]'s arithmetic in `i64` with the ranges worked out once
    /// ([`MacBatch`]); otherwise beat by beat through `step`. The test
    /// `batch_is_step_beat_by_beat` holds the two equal.
    fn run(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        assert!(
            inputs.len().is_multiple_of(5) && outputs.len() == inputs.len() / 5 * 3,
            "a batch of whole beats with an output buffer to match"
        );
        match MacBatch::new(&self.params) {
            Some(batch) => batch.run(self, inputs, outputs),
            None => {
                for (i, o) in inputs.chunks_exact(5).zip(outputs.chunks_exact_mut(3)) {
                    CycleModel::step(self, i, o);
                }
            }
        }
    }
}

/// [`Mac::step`] over a batch in `i64`: the operand decoding, the accumulator's range
/// and its policy fixed once, and selects rather than branches on the random one-bit
/// inputs. Only for parameters whose every sum fits 63 bits.
#[derive(Clone, Copy, Debug)]
struct MacBatch {
    /// Shift that puts an operand's top bit at bit 63, per operand.
    a_up: u32,
    b_up: u32,
    a_signed: bool,
    b_signed: bool,
    lo: i64,
    hi: i64,
    /// Shift for wrapping into the accumulator (its top bit to bit 63).
    acc_up: u32,
    acc_signed: bool,
    wrap: bool,
}

impl MacBatch {
    fn new(p: &MacParams) -> Option<MacBatch> {
        let (a, b) = (p.a(), p.b());
        // |acc| <= 2^61 and |a*b| <= 2^61 keep every sum inside i64.
        if p.acc_bits > 62 || a.bits + b.bits > 62 {
            return None;
        }
        let signed = p.acc_signed();
        Some(MacBatch {
            a_up: 64 - a.bits,
            b_up: 64 - b.bits,
            a_signed: a.signed,
            b_signed: b.signed,
            lo: i64::try_from(int::min_value(p.acc_bits, signed)).ok()?,
            hi: i64::try_from(int::max_value(p.acc_bits, signed)).ok()?,
            acc_up: 64 - p.acc_bits,
            acc_signed: signed,
            wrap: p.overflow == Overflow::Wrap,
        })
    }

    /// Sign or zero extension of a port word by shifts.
    #[inline]
    fn extend(w: u64, up: u32, signed: bool) -> i64 {
        let top = w << up;
        if signed {
            (top as i64) >> up
        } else {
            (top >> up) as i64
        }
    }

    fn run(&self, m: &mut Mac, inputs: &[u64], outputs: &mut [u64]) {
        let k = *self;
        let mask = u64::MAX >> k.acc_up;
        // Wrapping and clamping leave a sum inside the range as it is.
        let policy = |s: i64| -> i64 {
            if !k.wrap {
                s.max(k.lo).min(k.hi)
            } else {
                Self::extend(s as u64, k.acc_up, k.acc_signed)
            }
        };
        let (mut acc, mut ovf, mut out_valid) = (
            i64::try_from(m.acc).expect("the accumulator is in range"),
            m.ovf,
            m.out_valid,
        );
        for (i, o) in inputs.chunks_exact(5).zip(outputs.chunks_exact_mut(3)) {
            o[0] = acc as u64 & mask;
            o[1] = u64::from(ovf);
            o[2] = u64::from(out_valid);
            let (rst, valid, clear) = (i[0] & 1 == 1, i[1] & 1 == 1, i[2] & 1 == 1);
            let product = Self::extend(i[3], k.a_up, k.a_signed)
                .wrapping_mul(Self::extend(i[4], k.b_up, k.b_signed));
            // Exact: `new` checked that the sum fits.
            let s = (if clear { 0 } else { acc }).wrapping_add(product);
            let inside = k.lo <= s && s <= k.hi;
            let (next, next_ovf) = (policy(s), (ovf && !clear) || !inside);
            acc = if rst {
                0
            } else if valid {
                next
            } else {
                acc
            };
            ovf = !rst && if valid { next_ovf } else { ovf };
            out_valid = !rst && valid;
        }
        (m.acc, m.ovf, m.out_valid) = (i128::from(acc), ovf, out_valid);
    }
}

impl crate::unit::Unit for MacParams {
    const COMMAND: &'static str = "mac";
    const SUMMARY: &'static str =
        "Integer multiply-accumulate with a narrow saturating or wrapping accumulator";
    const ABOUT: &'static str =
        "acc <= sat_A(clear ? a*b : acc + a*b) (or wrapped), with a sticky \
overflow flag; signed or unsigned N-bit operands (each operand its own width and \
signedness with --in-a/--in-b/--a-unsigned/--b-unsigned), A-bit accumulator. \
The default unit: `gen --acc 12` and `gen mac --acc 12` build the same design.";
    const DOCS: &'static str = "docs/mac.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        (
            "--acc 12",
            "8x8 signed MAC with a 12-bit saturating accumulator",
        ),
        (
            "--in 4 --acc 10 --overflow wrap",
            "4x4 MAC with a 10-bit wrapping accumulator",
        ),
        (
            "--unsigned --acc 20 --pipeline 2",
            "8x8 unsigned MAC, two pipeline registers",
        ),
        (
            "--in-a 4 --in-b 8 --b-unsigned --acc 16",
            "W4A8: int4 weights (a) x uint8 activations (b), signed 16-bit accumulator",
        ),
    ];

    /// The default and the corners of each parameter (unsigned, wrap, narrow
    /// and wide, mixed operands).
    fn proof_set() -> Vec<Self> {
        let d = MacParams::default();
        vec![
            d,
            MacParams {
                overflow: Overflow::Wrap,
                ..d
            },
            MacParams {
                signed: false,
                acc_bits: 20,
                ..d
            },
            MacParams { acc_bits: 32, ..d },
            MacParams {
                in_bits: 4,
                acc_bits: 6,
                ..d
            },
            // W4A8, narrowed to keep the proof short: int4 x uint6 into a saturating
            // 10-bit accumulator.
            MacParams {
                in_bits: 4,
                acc_bits: 10,
                b: Some(Operand::unsigned(6)),
                ..d
            },
        ]
    }

    /// Half the draws have a `b` of its own width and signedness.
    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        let mut p = MacParams {
            in_bits: rng.int(IN_BITS),
            signed: rng.one_in(2),
            acc_bits: rng.int(ACC_BITS),
            overflow: rng.pick(&[Overflow::Saturate, Overflow::Wrap]),
            b: None,
        };
        if rng.one_in(2) {
            let b = Operand {
                bits: rng.int(IN_BITS),
                signed: rng.one_in(2),
            };
            p.b = (b != p.a()).then_some(b);
        }
        p
    }

    /// Quantized rows through the accumulator (`crate::study::int`).
    fn study(
        &self,
        workload: &crate::study::Workload,
    ) -> Option<Result<crate::study::Errors, crate::study::StudyError>> {
        Some(crate::study::int::mac(self, workload))
    }
}

#[cfg(test)]
mod tests;
