//! Log-domain arithmetic (docs/log-domain.md): the logarithmic number system (LNS) codes
//! of DNA-TEQ-style exponential quantisation with base 2.
//!
//! A code is a sign bit `s`, a zero flag `z` and an unsigned `K`-bit exponent code `c`;
//! its value is `(-1)^s * 2^((c + e_min) / 2^F)`, that is `log2|x|` in fixed point with
//! `F` fractional bits, offset by `e_min` (in units of `2^-F`). The flag `z` marks the
//! zero code; its sign and exponent are ignored.
//!
//! Choices docs/log-domain.md leaves open, made here:
//! - A zero product is the canonical zero code: `z = 1`, `s = 0`, `e = 0`.
//! - The product exponent code is the exact `K+1`-bit sum `c1 + c2`; its offset is
//!   `2 * e_min`.
//! - `lns_mac`'s accumulator counts units of `2^-(L-1)` (the table's fractional bits): a
//!   product with exponent `P = p_int * 2^F + p_frac` (units of `2^-F`, floor division)
//!   adds `+-T[p_frac] * 2^p_int` in those units, the bits a right shift drops truncated
//!   (RZ). `2^(p_int)` with `p_int` far above the accumulator only matters through the
//!   policy: the term is computed with `p_int` capped at `A + 1`, which gives the same
//!   saturated or wrapped result and the same `ovf`.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::iface::{CycleModel, Dir, Interface, Port, Role};
use crate::int;
use crate::mac::{accumulate, Overflow};
use crate::param::{Flags, Param, Params};
use crate::unit::{ParamError, UnitParams};

/// One LNS code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    pub sign: bool,
    pub zero: bool,
    /// Unsigned exponent code (offset by `e_min`).
    pub exp: u64,
}

impl Code {
    /// The canonical zero.
    pub const ZERO: Code = Code {
        sign: false,
        zero: true,
        exp: 0,
    };
}

/// `lns_mul`: sign xor, exponent add, zero if either operand is zero (docs/log-domain.md).
pub fn mul(a: Code, b: Code) -> Code {
    if a.zero || b.zero {
        return Code::ZERO;
    }
    Code {
        sign: a.sign ^ b.sign,
        zero: false,
        exp: a.exp + b.exp,
    }
}

/// The table of `lns_mac`: entry `j` is `RNE(2^(j / 2^F) * 2^(L-1))`, the fractional part
/// of a product exponent turned linear, with `L-1` fractional bits. Model and generator
/// both call this one function.
///
/// Every entry fits `L` bits when `F < L` (`lns_mac` checks that). Computed in `f64`
/// (53 bits) and rounded to `L <= 32` bits: a wrong rounding would need
/// `2^(j/2^F)` within `2^-50` of a tie, which a test rules out for every table the CLI
/// accepts by checking the entries with exact integer arithmetic.
pub fn exp2_table(frac_bits: u32, l_bits: u32) -> Vec<u64> {
    let steps = 1u64 << frac_bits;
    (0..steps)
        .map(|j| {
            let v = (j as f64 / steps as f64).exp2() * (1u64 << (l_bits - 1)) as f64;
            let r = v.round();
            // f64::round rounds ties away from zero; an exact tie only happens at j = 0.
            if (r - v).abs() == 0.5 && (r as u64) % 2 == 1 {
                (r - 1.0) as u64
            } else {
                r as u64
            }
        })
        .collect()
}

/// Allowed exponent-code widths K.
pub const EXP_BITS: RangeInclusive<u32> = EXP_BITS_FLAG.range();
/// Allowed fractional exponent bits F.
pub const FRAC_BITS: RangeInclusive<u32> = FRAC_BITS_FLAG.range();

/// `--exp-bits`: bits K of an exponent code.
pub const EXP_BITS_FLAG: Param = Param::int(
    "--exp-bits",
    "BITS",
    2..=16,
    Some(6),
    "Exponent-code bits K (integer and fractional bits of log2|x|)",
);
/// `--frac-bits`: fractional bits F of an exponent code.
pub const FRAC_BITS_FLAG: Param = Param::int(
    "--frac-bits",
    "BITS",
    0..=8,
    Some(2),
    "Fractional exponent bits F (base 2^(1/2^F)), at most K",
);
/// `--exp-min`: the exponent of code 0.
pub const EXP_MIN: Param = Param::int(
    "--exp-min",
    "E",
    -65536..=65536,
    None,
    "Exponent of code 0 in units of 2^-F [default: -2^(K-1), codes centred on 1.0]",
);
/// `--table-bits`: bits L of each table constant.
pub const TABLE_BITS_FLAG: Param = Param::int(
    "--table-bits",
    "BITS",
    2..=24,
    Some(8),
    "Bits L of each table constant 2^(j/2^F) * 2^(L-1)",
);
/// `--acc`: the accumulator width.
pub const ACC: Param = Param::int(
    "--acc",
    "BITS",
    2..=64,
    Some(24),
    "Accumulator width A (two's complement, units of 2^-(L-1))",
);

/// Parameters of the log-domain multiplier `lns_mul` (docs/log-domain.md).
///
/// A combinational unit: `s`, `z`, `e` are the product of the codes on `sa, za, ea` and
/// `sb, zb, eb` in the same cycle (latency 0). `e` has `K+1` bits. `F` and `e_min` only
/// give the codes their meaning (metadata); the hardware is the same for every value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LnsMulParams {
    /// Exponent-code bits K (integer and fractional bits of log2|x|), 2..=16.
    pub exp_bits: u32,
    /// Fractional exponent bits F (base 2^(1/2^F)), 0..=8, at most K.
    pub frac_bits: u32,
    /// Exponent of code 0 in units of 2^-F [default: -2^(K-1), codes centred on 1.0].
    #[serde(default)]
    pub exp_min: Option<i32>,
}

impl Params for LnsMulParams {
    const PARAMS: &'static [Param] = &[EXP_BITS_FLAG, FRAC_BITS_FLAG, EXP_MIN];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        Ok(LnsMulParams {
            exp_bits: EXP_BITS_FLAG.u32(flags)?,
            frac_bits: FRAC_BITS_FLAG.u32(flags)?,
            exp_min: EXP_MIN.opt_i32(flags)?,
        })
    }
}

impl Default for LnsMulParams {
    /// 6-bit exponent codes with 2 fractional bits (base 2^(1/4)).
    fn default() -> Self {
        LnsMulParams {
            exp_bits: EXP_BITS_FLAG.default_u32(),
            frac_bits: FRAC_BITS_FLAG.default_u32(),
            exp_min: None,
        }
    }
}

impl LnsMulParams {
    /// The exponent of code 0, in units of `2^-F`.
    pub fn exp_min(&self) -> i32 {
        self.exp_min.unwrap_or(-(1 << (self.exp_bits - 1)))
    }
}

/// Check the exponent fields shared by the LNS units.
fn check_exponent(exp_bits: u32, frac_bits: u32, exp_min: i32) -> Result<(), ParamError> {
    EXP_BITS_FLAG.check(exp_bits)?;
    FRAC_BITS_FLAG.check(frac_bits)?;
    if frac_bits > exp_bits {
        return Err(ParamError {
            param: "--frac-bits",
            value: frac_bits.to_string(),
            allowed: format!("0..={exp_bits} (at most --exp-bits {exp_bits})"),
        });
    }
    EXP_MIN.check(exp_min)?;
    Ok(())
}

impl UnitParams for LnsMulParams {
    const KIND: &'static str = "lns_mul";

    fn validate(&self) -> Result<(), ParamError> {
        check_exponent(self.exp_bits, self.frac_bits, self.exp_min())
    }

    /// e.g. `lns_mul_k6` (F and e_min do not change the hardware).
    fn module_name(&self) -> String {
        format!("lns_mul_k{}", self.exp_bits)
    }

    /// sa, za, ea[K-1:0], sb, zb, eb[K-1:0] -> s, z, e[K:0].
    fn interface(&self) -> Interface {
        let k = self.exp_bits;
        Interface {
            ports: vec![
                Port::int("sa", Dir::In, 1, false),
                Port::int("za", Dir::In, 1, false),
                Port::int("ea", Dir::In, k, false),
                Port::int("sb", Dir::In, 1, false),
                Port::int("zb", Dir::In, 1, false),
                Port::int("eb", Dir::In, k, false),
                Port::int("s", Dir::Out, 1, false),
                Port::int("z", Dir::Out, 1, false),
                Port::int("e", Dir::Out, k + 1, false),
            ],
        }
    }

    fn latency(&self) -> u32 {
        0
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        self.validate()?;
        Ok(Box::new(LnsMul {
            iface: self.interface(),
        }))
    }
}

/// Cycle model of `lns_mul` (combinational: outputs follow the same beat's inputs).
#[derive(Clone, Debug)]
pub struct LnsMul {
    iface: Interface,
}

impl CycleModel for LnsMul {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let code = |i: usize| Code {
            sign: inputs[i] & 1 == 1,
            zero: inputs[i + 1] & 1 == 1,
            exp: inputs[i + 2],
        };
        let p = mul(code(0), code(3));
        outputs.copy_from_slice(&[p.sign.into(), p.zero.into(), p.exp]);
    }
}

/// Allowed table entry widths L.
pub const TABLE_BITS: RangeInclusive<u32> = TABLE_BITS_FLAG.range();
/// Allowed accumulator widths A.
pub const ACC_BITS: RangeInclusive<u32> = ACC.range();

/// Parameters of the LNS multiply-accumulate `lns_mac` (docs/log-domain.md).
///
/// Per valid beat: the two codes' product exponent `P = ea + eb + 2 e_min` (units of
/// `2^-F`) is split into `p_int = floor(P / 2^F)` and `p_frac`; the term
/// `+-T[p_frac] * 2^p_int` (units of `2^-(L-1)`, right shifts truncate; zero for a zero
/// code) is added to the signed A-bit accumulator with the MAC's saturate or wrap policy
/// and sticky `ovf`; `clear` starts a new sum with this beat. Latency 1, like the MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LnsMacParams {
    /// Exponent-code bits K (integer and fractional bits of log2|x|), 2..=16.
    pub exp_bits: u32,
    /// Fractional exponent bits F (base 2^(1/2^F)), 0..=8, at most K.
    pub frac_bits: u32,
    /// Exponent of code 0 in units of 2^-F [default: -2^(K-1), codes centred on 1.0].
    #[serde(default)]
    pub exp_min: Option<i32>,
    /// Bits L of each table constant 2^(j/2^F) * 2^(L-1), 2..=24.
    pub table_bits: u32,
    /// Accumulator width A (two's complement, units of 2^-(L-1)), 2..=64.
    pub acc_bits: u32,
    /// What the accumulator does when a sum leaves its range.
    pub overflow: Overflow,
}

impl Params for LnsMacParams {
    const PARAMS: &'static [Param] = &[
        EXP_BITS_FLAG,
        FRAC_BITS_FLAG,
        EXP_MIN,
        TABLE_BITS_FLAG,
        ACC,
        crate::mac::OVERFLOW,
    ];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        Ok(LnsMacParams {
            exp_bits: EXP_BITS_FLAG.u32(flags)?,
            frac_bits: FRAC_BITS_FLAG.u32(flags)?,
            exp_min: EXP_MIN.opt_i32(flags)?,
            table_bits: TABLE_BITS_FLAG.u32(flags)?,
            acc_bits: ACC.u32(flags)?,
            overflow: Overflow::from_flags(flags)?,
        })
    }
}

impl Default for LnsMacParams {
    /// 6-bit exponent codes, base 2^(1/4), 8-bit table, 24-bit saturating accumulator.
    fn default() -> Self {
        LnsMacParams {
            exp_bits: EXP_BITS_FLAG.default_u32(),
            frac_bits: FRAC_BITS_FLAG.default_u32(),
            exp_min: None,
            table_bits: TABLE_BITS_FLAG.default_u32(),
            acc_bits: ACC.default_u32(),
            overflow: Overflow::Saturate,
        }
    }
}

impl LnsMacParams {
    /// The exponent of code 0, in units of `2^-F`.
    pub fn exp_min(&self) -> i32 {
        self.exp_min.unwrap_or(-(1 << (self.exp_bits - 1)))
    }

    /// The conversion table ([`exp2_table`]).
    pub fn table(&self) -> Vec<u64> {
        exp2_table(self.frac_bits, self.table_bits)
    }

    /// The signed term one product adds, in accumulator units (`p_int` capped at `A+1`).
    pub fn term(&self, table: &[u64], a: Code, b: Code) -> i128 {
        let p = mul(a, b);
        if p.zero {
            return 0;
        }
        let f = self.frac_bits;
        let exp = p.exp as i64 + 2 * i64::from(self.exp_min());
        let (p_int, p_frac) = (exp >> f, (exp & ((1 << f) - 1)) as usize);
        let t = i128::from(table[p_frac]);
        let shift = p_int.min(i64::from(self.acc_bits) + 1);
        let mag = if shift >= 0 {
            t << shift
        } else if shift > -64 {
            t >> -shift
        } else {
            0
        };
        if p.sign {
            -mag
        } else {
            mag
        }
    }
}

impl UnitParams for LnsMacParams {
    const KIND: &'static str = "lns_mac";

    fn validate(&self) -> Result<(), ParamError> {
        check_exponent(self.exp_bits, self.frac_bits, self.exp_min())?;
        TABLE_BITS_FLAG.check(self.table_bits)?;
        ACC.check(self.acc_bits)?;
        // Finer steps than the constants resolve would round the top entries up to 2^L.
        if self.frac_bits >= self.table_bits {
            return Err(ParamError {
                param: "--frac-bits",
                value: self.frac_bits.to_string(),
                allowed: format!(
                    "0..={} (below --table-bits {})",
                    self.table_bits - 1,
                    self.table_bits
                ),
            });
        }
        Ok(())
    }

    /// e.g. `lns_mac_k6_f2_t8_acc24_sat` (with `_emN` / `_emmN` when e_min is not the
    /// default).
    fn module_name(&self) -> String {
        let policy = match self.overflow {
            Overflow::Saturate => "sat",
            Overflow::Wrap => "wrap",
        };
        let mut name = format!(
            "lns_mac_k{}_f{}_t{}_acc{}_{policy}",
            self.exp_bits, self.frac_bits, self.table_bits, self.acc_bits
        );
        if let Some(e) = self.exp_min {
            if e != -(1 << (self.exp_bits - 1)) {
                let sign = if e < 0 { "m" } else { "" };
                name += &format!("_em{sign}{}", e.unsigned_abs());
            }
        }
        name
    }

    /// clk, rst, in_valid, clear, sa, za, ea, sb, zb, eb -> acc[A-1:0], ovf, out_valid.
    fn interface(&self) -> Interface {
        let k = self.exp_bits;
        Interface {
            ports: vec![
                Port::bit("clk", Dir::In, Role::Clock),
                Port::bit("rst", Dir::In, Role::Reset),
                Port::bit("in_valid", Dir::In, Role::InValid),
                Port::bit("clear", Dir::In, Role::Clear),
                Port::int("sa", Dir::In, 1, false),
                Port::int("za", Dir::In, 1, false),
                Port::int("ea", Dir::In, k, false),
                Port::int("sb", Dir::In, 1, false),
                Port::int("zb", Dir::In, 1, false),
                Port::int("eb", Dir::In, k, false),
                Port::int("acc", Dir::Out, self.acc_bits, true),
                Port::bit("ovf", Dir::Out, Role::Flag),
                Port::bit("out_valid", Dir::Out, Role::OutValid),
            ],
        }
    }

    fn latency(&self) -> u32 {
        1
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        self.validate()?;
        Ok(Box::new(LnsMac {
            p: *self,
            iface: self.interface(),
            table: self.table(),
            acc: 0,
            ovf: false,
            out_valid: false,
        }))
    }
}

/// Cycle model of `lns_mac`.
#[derive(Clone, Debug)]
pub struct LnsMac {
    p: LnsMacParams,
    iface: Interface,
    table: Vec<u64>,
    acc: i128,
    ovf: bool,
    out_valid: bool,
}

impl CycleModel for LnsMac {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let p = self.p;
        outputs[0] = int::to_bits(self.acc, p.acc_bits) as u64;
        outputs[1] = self.ovf.into();
        outputs[2] = self.out_valid.into();
        let (rst, valid, clear) = (inputs[0] & 1 == 1, inputs[1] & 1 == 1, inputs[2] & 1 == 1);
        if rst {
            (self.acc, self.ovf, self.out_valid) = (0, false, false);
            return;
        }
        self.out_valid = valid;
        if !valid {
            return;
        }
        let code = |i: usize| Code {
            sign: inputs[i] & 1 == 1,
            zero: inputs[i + 1] & 1 == 1,
            exp: inputs[i + 2],
        };
        let term = p.term(&self.table, code(3), code(6));
        (self.acc, self.ovf) = accumulate(
            self.acc, self.ovf, clear, term, p.acc_bits, true, p.overflow,
        );
    }
}

impl crate::unit::Unit for LnsMulParams {
    const COMMAND: &'static str = "lns-mul";
    const SUMMARY: &'static str =
        "Log-domain multiplier: sign xor and exact exponent-code add, combinational";
    const ABOUT: &'static str = "Multiplies two (sign, zero, exponent) codes of a logarithmic \
number system: the sign is the xor, the exponent the exact sum of the codes (one bit wider), \
zero if either is zero; no rounding, latency 0.";
    const DOCS: &'static str = "docs/log-domain.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        (
            "--exp-bits 6 --frac-bits 2",
            "6-bit exponent codes in base 2^(1/4)",
        ),
        ("--exp-bits 4 --frac-bits 0", "4-bit codes in base 2"),
    ];

    fn proof_set() -> Vec<Self> {
        vec![LnsMulParams::default()]
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        let exp_bits = rng.int(EXP_BITS);
        LnsMulParams {
            exp_bits,
            frac_bits: rng.int(*FRAC_BITS.start()..=exp_bits.min(*FRAC_BITS.end())),
            exp_min: rng.one_in(2).then(|| rng.int_i32(-64..=64)),
        }
    }
}

impl crate::unit::Unit for LnsMacParams {
    const COMMAND: &'static str = "lns-mac";
    const SUMMARY: &'static str =
        "LNS multiply-accumulate: log-domain product, table to linear, narrow accumulator";
    const ABOUT: &'static str = "Adds the exponent codes, turns the fractional part into a \
linear value with a 2^F-entry table of L-bit constants, shifts it by the integer part and \
adds it with its sign into a signed A-bit accumulator with the MAC's saturate or wrap policy \
and a sticky overflow flag. Latency 1.";
    const DOCS: &'static str = "docs/log-domain.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        (
            "--exp-bits 6 --frac-bits 2 --acc 24",
            "base 2^(1/4) codes into a 24-bit accumulator",
        ),
        (
            "--exp-bits 5 --table-bits 10 --overflow wrap",
            "5-bit codes, 10-bit table, wrapping",
        ),
    ];

    fn proof_set() -> Vec<Self> {
        let d = LnsMacParams::default();
        vec![
            d,
            LnsMacParams {
                overflow: Overflow::Wrap,
                ..d
            },
        ]
    }

    /// Rows coded in the log domain, through the accumulator (`crate::study::log`).
    fn study(
        &self,
        workload: &crate::study::Workload,
    ) -> Option<Result<crate::study::Errors, crate::study::StudyError>> {
        Some(crate::study::log::lns_mac(self, workload))
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        crate::unit::sample_valid(rng, |rng| {
            let exp_bits = rng.int(2..=10);
            LnsMacParams {
                exp_bits,
                frac_bits: rng.int(0..=exp_bits.min(4)),
                exp_min: rng.one_in(2).then(|| rng.int_i32(-64..=64)),
                table_bits: rng.int(TABLE_BITS),
                acc_bits: rng.int(ACC_BITS),
                overflow: rng.pick(&[Overflow::Saturate, Overflow::Wrap]),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiplier_adds_exponents_and_xors_signs() {
        let c = |sign, exp| Code {
            sign,
            zero: false,
            exp,
        };
        assert_eq!(mul(c(true, 3), c(true, 60)), c(false, 63));
        assert_eq!(mul(c(false, 63), c(true, 63)), c(true, 126));
        assert_eq!(mul(Code::ZERO, c(true, 5)), Code::ZERO);
        let z = Code {
            sign: true,
            zero: true,
            exp: 9,
        };
        assert_eq!(mul(c(true, 5), z), Code::ZERO, "zero whatever its fields");
    }

    #[test]
    fn cycle_model_is_combinational() {
        let p = LnsMulParams::default();
        assert_eq!(p.module_name(), "lns_mul_k6");
        assert_eq!(p.exp_min(), -32);
        let mut m = p.model().unwrap();
        let mut o = [0u64; 3];
        m.step(&[1, 0, 40, 0, 0, 33], &mut o);
        assert_eq!(o, [1, 0, 73]);
        m.step(&[1, 0, 40, 0, 1, 33], &mut o);
        assert_eq!(o, [0, 1, 0]);
    }

    #[test]
    fn parameters_are_checked() {
        let bad = LnsMulParams {
            exp_bits: 3,
            frac_bits: 4,
            exp_min: None,
        };
        let e = bad.validate().unwrap_err();
        assert_eq!(
            (e.param, e.allowed.as_str()),
            ("--frac-bits", "0..=3 (at most --exp-bits 3)")
        );
        let bad = LnsMulParams {
            exp_bits: 17,
            ..LnsMulParams::default()
        };
        assert_eq!(bad.validate().unwrap_err().param, "--exp-bits");
    }

    #[test]
    fn mac_terms_and_accumulation() {
        // K = 4, F = 1, e_min = -8: code c means 2^((c - 8) / 2); L = 4: T = [8, 11].
        let p = LnsMacParams {
            exp_bits: 4,
            frac_bits: 1,
            table_bits: 4,
            acc_bits: 8,
            ..LnsMacParams::default()
        };
        assert_eq!(p.table(), vec![8, 11]);
        let c = |sign, exp| Code {
            sign,
            zero: false,
            exp,
        };
        // 2^0 * 2^0 = 1.0 = 8 units; 2^0.5 * 2^0 = 11 units; 2^1 * 2^0.5 = 22 units.
        assert_eq!(p.term(&p.table(), c(false, 8), c(false, 8)), 8);
        assert_eq!(p.term(&p.table(), c(true, 9), c(false, 8)), -11);
        assert_eq!(p.term(&p.table(), c(false, 10), c(false, 9)), 22);
        // 2^-2.5 = 11 >> 3 = 1 (truncated); 2^-4 = 8 >> 4 = 0.
        assert_eq!(p.term(&p.table(), c(false, 3), c(false, 8)), 1);
        assert_eq!(p.term(&p.table(), c(false, 0), c(false, 8)), 0);
        assert_eq!(p.term(&p.table(), Code::ZERO, c(false, 15)), 0);
        // 2^3.5 * 2^3.5 = 2^7: 8 << 7 = 1024 saturates the 8-bit accumulator.
        let mut m = p.model().unwrap();
        let mut o = [0u64; 3];
        m.step(&[0, 1, 1, 0, 0, 15, 0, 0, 15], &mut o);
        m.step(&[0, 0, 0, 0, 0, 0, 0, 0, 0], &mut o);
        assert_eq!(o, [0x7f, 1, 1]);
        assert_eq!(p.module_name(), "lns_mac_k4_f1_t4_acc8_sat");
    }

    #[test]
    fn table_entries() {
        // F = 2, L = 8: 2^(j/4) * 128 = 128, 152.22, 181.02, 215.27.
        assert_eq!(exp2_table(2, 8), vec![128, 152, 181, 215]);
        // F = 1, L = 16: 2^0.5 * 32768 = 46340.95.
        assert_eq!(exp2_table(1, 16), vec![32768, 46341]);
        assert_eq!(exp2_table(0, 4), vec![8]);
    }
}
