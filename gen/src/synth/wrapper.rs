//! The 4-pin register wrapper a unit is synthesized in (see the parent module): a shift
//! chain in, a parallel-load shift register out, so every path is register to register
//! and any bus width fits a small package.

use hdl::ir::{PortDecl, PortDir};
use hdl::{Module, ModuleBuilder};
use model::iface::{Dir, Interface, Role};

/// The wrapper of the module above, for a unit `top` with ports `iface`, instantiated
/// with `params` (for hand-written units). Its name is `<top>_synth`.
pub fn wrapper(
    top: &str,
    iface: &Interface,
    params: &[(&str, u64)],
) -> Result<Module, hdl::HdlError> {
    let ports = iface
        .ports
        .iter()
        .map(|p| PortDecl {
            name: p.name.clone(),
            dir: if p.dir == Dir::In {
                PortDir::Input
            } else {
                PortDir::Output
            },
            width: p.width,
        })
        .collect();
    let unit = Module::external(top, ports);
    let mut m = ModuleBuilder::new(&format!("{top}_synth"));
    m.comment(format!(
        "Synthesis wrapper of {top}: inputs from a shift chain on 'si', outputs"
    ));
    m.comment("captured while 'ld' is high and shifted out on 'so'. Every path is register");
    m.comment("to register and the design needs four pins whatever the unit's bus widths.");
    let clk = m.input("clk", 1)?;
    let si = m.input("si", 1)?;
    let ld = m.input("ld", 1)?;
    m.output("so", 1)?;

    let in_bits: u32 = iface.beat_inputs().map(|p| p.width).sum();
    let chain = m.reg("in_chain", in_bits, clk, None)?;
    let next = if in_bits == 1 {
        si
    } else {
        let kept = m.slice(chain, in_bits - 2, 0)?;
        m.concat(&[kept, si])?
    };
    m.drive_reg(chain, next, None)?;

    let mut conns = Vec::new();
    let mut lo = 0;
    for p in iface.beat_inputs() {
        conns.push((p.name.as_str(), m.slice(chain, lo + p.width - 1, lo)?));
        lo += p.width;
    }
    let clock = iface
        .ports
        .iter()
        .find(|p| p.role == Role::Clock)
        .map(|p| p.name.as_str());
    if let Some(c) = clock {
        conns.push((c, clk));
    }
    let outs = m.instance_with_params(&unit, "u_unit", params, &conns)?;
    let captured: Vec<_> = iface.outputs().map(|p| outs[&p.name]).collect();
    let captured = m.concat(&captured)?;
    let out_bits = captured.width();
    let shift = m.reg("out_shift", out_bits, clk, None)?;
    let shifted = if out_bits == 1 {
        m.zero(1)?
    } else {
        let kept = m.slice(shift, out_bits - 2, 0)?;
        let zero = m.zero(1)?;
        m.concat(&[kept, zero])?
    };
    let next = m.mux(ld, captured, shifted)?;
    m.drive_reg(shift, next, None)?;
    let so = m.msb(shift)?;
    m.drive_output("so", so)?;
    m.finish()
}
