//! The RTL side of the generator: a small width-exact IR ([`ir`]), its Verilog-2005
//! emitter ([`verilog`]), and one generator per unit kind ([`units`]), all parameterized
//! at run time.
//!
//! A unit's generator is an implementation of [`Generate`] on the unit's parameter type
//! from `model`, next to that type's cycle model: the same value gives both.

pub mod float;
pub mod golden;
pub mod ir;
pub mod pipeline;
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
}

/// A unit's behavioural reference for formal equivalence ([`golden`]): required of
/// every unit the registry lists (test-only designs implement just [`Generate`]).
pub trait Reference: Generate {
    /// The reference module, with the same name, ports and latency as the RTL.
    fn golden(&self) -> Result<golden::GoldenModule, HdlError>;
}

/// Declare every port of `iface` on `m`, in order. Returns the input signals by name;
/// outputs are declared and must be driven with [`ModuleBuilder::drive_output`].
pub fn declare_ports(
    m: &mut ModuleBuilder,
    iface: &Interface,
) -> Result<BTreeMap<String, Sig>, HdlError> {
    let mut inputs = BTreeMap::new();
    for p in &iface.ports {
        m.port_note(&p.name, describe_port(p, iface));
        match p.dir {
            Dir::In => {
                inputs.insert(p.name.clone(), m.input(&p.name, p.width)?);
            }
            Dir::Out => m.output(&p.name, p.width)?,
        }
    }
    Ok(inputs)
}

/// What a port carries and when, for the comment beside its declaration: format and
/// packing of data, when inputs are read and outputs valid, what reset and clear do.
pub fn describe_port(p: &model::Port, iface: &Interface) -> String {
    use model::iface::Format;
    use model::Role;
    let sticky = iface.ports.iter().any(|q| q.role == Role::Clear);
    let format = match p.format {
        Format::Bit => String::new(),
        Format::Int { bits, signed } => {
            format!(
                "{} {bits}-bit integer",
                if signed { "signed" } else { "unsigned" }
            )
        }
        Format::IntVec {
            bits,
            signed,
            count,
        } => format!(
            "{count} x {} {bits}-bit, element i at [{bits}*i+{}:{bits}*i]",
            if signed { "signed" } else { "unsigned" },
            bits - 1
        ),
        Format::Binary32 { count: 1 } => "IEEE binary32".to_string(),
        Format::Binary32 { count } => {
            format!("{count} x IEEE binary32, element i at [32*i+31:32*i]")
        }
        Format::Random { bits } => format!("{bits} uniform random bits"),
        Format::Float {
            exp_bits,
            man_bits,
            bias,
            ..
        } => format!(
            "E{exp_bits}M{man_bits} float (bias {bias}): sign | exponent | mantissa, no \
             subnormals"
        ),
    };
    match (p.role, p.dir) {
        (Role::Clock, _) => "clock, rising edge".into(),
        (Role::Reset, _) => {
            "synchronous reset, active high: clears the state, the flags and every valid bit".into()
        }
        (Role::InValid, _) => "high when the inputs of this cycle are a beat".into(),
        (Role::Clear, _) => "with a beat: start over from this beat (state and flags)".into(),
        (Role::Flag, _) if sticky => "sticky flag, cleared by clear or rst".into(),
        (Role::Flag, _) => "flag of the result, valid with out_valid".into(),
        (Role::OutValid, _) => "high when the outputs hold a result".into(),
        (Role::Random, _) => format!("{format}, read with the beat whose result they round"),
        (Role::Data, model::Dir::In) if format.is_empty() => "read with in_valid".into(),
        (Role::Data, model::Dir::In) => format!("{format}, read with in_valid"),
        (Role::Data, model::Dir::Out) if format.is_empty() => "valid with out_valid".into(),
        (Role::Data, model::Dir::Out) => format!("{format}, valid with out_valid"),
    }
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
