//! RTL of the PalQuant shuffle `palq_shuffle` (docs/palq-shuffle.md; the model is
//! `model::palq::shuffle`): output channel `o` is input channel `perm[o]`. Wiring only.

use model::palq::PalqShuffleParams;

use crate::ir::Result;
use crate::{start_unit, Generate, Module};

impl Generate for PalqShuffleParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        let c = self.bits;
        m.comment(format!(
            "PalQuant {} shuffle of {} {c}-bit channel codes in {} groups: y channel o is",
            self.kind.name(),
            self.channels,
            self.groups
        ));
        m.comment("x channel perm[o], channel i at [c*i +: c]. Wiring (docs/palq-shuffle.md).");
        let x = io["x"];
        let perm = self.permutation();
        // Most significant channel first.
        let mut parts = Vec::with_capacity(perm.len());
        for &i in perm.iter().rev() {
            let lo = c * u32::try_from(i).expect("channel index fits u32");
            parts.push(m.slice(x, lo + c - 1, lo)?);
        }
        let y = m.concat(&parts)?;
        m.out("y", y)?;
        m.finish()
    }
}

/// The behavioural reference: `crate::golden::palq_shuffle`.
impl crate::Reference for PalqShuffleParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::palq_shuffle::golden(self)
    }
}
