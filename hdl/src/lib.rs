//! The RTL side of the generator: a small width-exact IR ([`ir`]), its Verilog-2005
//! emitter ([`verilog`]), and one generator per unit kind ([`units`]), all parameterized
//! at run time.
//!
//! A unit's generator is an implementation of [`Generate`] on the unit's parameter type
//! from `model`, next to that type's cycle model: the same value gives both.

pub mod float;
pub mod golden;
pub mod ir;
pub mod units;
pub mod verilog;

use std::collections::BTreeMap;

pub use ir::{HdlError, Module, ModuleBuilder, Sig};
use model::iface::{Dir, Interface};
pub use model::UnitParams;
pub use verilog::{design_files, design_verilog, module_verilog, Header};

/// A unit kind that can be built as RTL.
pub trait Generate: UnitParams {
    /// The unit's top module, with exactly the ports of [`UnitParams::interface`].
    fn rtl(&self) -> Result<Module, HdlError>;

    /// The unit's behavioural reference for formal equivalence ([`golden`]), if its
    /// kind has one yet.
    fn golden(&self) -> Option<Result<golden::GoldenModule, HdlError>> {
        None
    }
}

/// Declare every port of `iface` on `m`, in order. Returns the input signals by name;
/// outputs are declared and must be driven with [`ModuleBuilder::drive_output`].
pub fn declare_ports(
    m: &mut ModuleBuilder,
    iface: &Interface,
) -> Result<BTreeMap<String, Sig>, HdlError> {
    let mut inputs = BTreeMap::new();
    for p in &iface.ports {
        match p.dir {
            Dir::In => {
                inputs.insert(p.name.clone(), m.input(&p.name, p.width)?);
            }
            Dir::Out => m.output(&p.name, p.width)?,
        }
    }
    Ok(inputs)
}

/// The common start of every generator: check the parameters, open a module named after
/// them and declare the unit's ports. Returns the builder and the input signals by name.
pub fn start_unit<P: UnitParams>(
    p: &P,
) -> Result<(ModuleBuilder, BTreeMap<String, Sig>), HdlError> {
    let name = p.module_name();
    p.validate().map_err(|e| param_error(&name, e))?;
    let mut m = ModuleBuilder::new(&name);
    let inputs = declare_ports(&mut m, &p.interface())?;
    Ok((m, inputs))
}

/// Turn a parameter error into an RTL error for the module being built.
pub fn param_error(module: &str, e: model::ParamError) -> HdlError {
    HdlError {
        module: module.to_string(),
        message: e.to_string(),
    }
}
