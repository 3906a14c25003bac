//! RTL of the log-domain multiplier `lns_mul` (docs/log-domain.md; the model is
//! `model::lns::mul`): sign xor, exact exponent-code add, canonical zero. Combinational.

use model::lns::LnsMulParams;

use crate::ir::{mux, Result};
use crate::{start_unit, Generate, Module};

impl Generate for LnsMulParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        let k = self.exp_bits;
        m.comment(format!(
            "LNS multiplier: {k}-bit exponent codes ({} fractional bits, code 0 = 2^({}/2^{})),",
            self.frac_bits,
            self.exp_min(),
            self.frac_bits
        ));
        m.comment(format!(
            "product code e = ea + eb ({} bits, offset doubled), s = sa ^ sb; a zero operand",
            k + 1
        ));
        m.comment(
            "gives the canonical zero (z = 1, s = 0, e = 0). Combinational (docs/log-domain.md).",
        );
        let z = m.wire("zero", io["za"] | io["zb"])?;
        m.out("z", z)?;
        m.out("s", (io["sa"] ^ io["sb"]) & !z)?;
        m.out("e", mux(z, 0, io["ea"] + io["eb"]))?;
        m.finish()
    }
}

/// The behavioural reference: `crate::golden::lns_mul`.
impl crate::Reference for LnsMulParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::lns_mul::golden(self)
    }
}
