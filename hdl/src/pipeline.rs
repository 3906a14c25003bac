//! The RTL and the reference of a pipelined unit (`model::pipeline::Piped`): the unit's
//! own RTL with register stages cut into its input cone by [`crate::ir::pipeline`], and
//! its own reference behind a delay line of the inputs.

use model::iface::{Interface, Role};
use model::pipeline::Piped;
use model::UnitParams;

use crate::golden::GoldenModule;
use crate::ir::delay::DelayModel;
use crate::ir::pipeline::{pipeline, pipeline_for, Pipelined};
use crate::{Generate, HdlError, Module, Reference};

/// The names of the clock and reset ports, if the unit has them.
fn control(iface: &Interface) -> (Option<String>, Option<String>) {
    let find = |role| {
        iface
            .ports
            .iter()
            .find(|p| p.role == role)
            .map(|p| p.name.clone())
    };
    (find(Role::Clock), find(Role::Reset))
}

/// `p`'s RTL with its registers placed for `dm`, and the estimated critical path.
pub fn rtl_for<P: Generate>(p: &Piped<P>, dm: &DelayModel) -> Result<Pipelined, HdlError> {
    p.validate()
        .map_err(|e| crate::param_error(&p.module_name(), e))?;
    let core = p.unit.rtl()?;
    let (clock, reset) = control(&p.interface());
    let mut out = match clock {
        Some(clk) => pipeline(&core, p.pipeline, &clk, reset.as_deref(), dm)?,
        None => pipeline_none(core, dm),
    };
    out.module.name = p.module_name();
    Ok(out)
}

/// The shallowest depth at which `unit`'s estimated critical path on `dm` fits
/// `period_ns` (or stops improving), up to `model::pipeline::DEPTHS`.
pub fn rtl_auto<P: Generate>(
    unit: &P,
    period_ns: f64,
    dm: &DelayModel,
) -> Result<(Piped<P>, Pipelined), HdlError> {
    unit.validate()
        .map_err(|e| crate::param_error(&unit.module_name(), e))?;
    let core = unit.rtl()?;
    let (clock, reset) = control(&unit.interface());
    let mut out = match clock {
        Some(clk) => pipeline_for(
            &core,
            period_ns,
            *model::pipeline::DEPTHS.end(),
            &clk,
            reset.as_deref(),
            dm,
        )?,
        None => pipeline_none(core, dm),
    };
    let p = Piped::new(unit.clone(), out.depth);
    out.module.name = p.module_name();
    Ok((p, out))
}

fn pipeline_none(core: Module, dm: &DelayModel) -> Pipelined {
    Pipelined {
        estimate: crate::ir::delay::estimate(&core, dm),
        module: core,
        depth: 0,
    }
}

impl<P: Generate> Generate for Piped<P> {
    /// Registers placed for the default device (the UP5K); `gen` places them for the
    /// `--device` it is given with [`rtl_for`].
    fn rtl(&self) -> Result<Module, HdlError> {
        rtl_for(self, &DelayModel::default()).map(|p| p.module)
    }
}

impl<P: Reference> Reference for Piped<P> {
    /// The unit's reference, named `<module>_core`, behind `pipeline` registers on every
    /// input but the clock and the reset; the registers reset to zero with the unit.
    fn golden(&self) -> Result<GoldenModule, HdlError> {
        let core = self.unit.golden()?;
        if self.pipeline == 0 {
            return Ok(core);
        }
        self.validate()
            .map_err(|e| crate::param_error(&self.module_name(), e))?;
        let iface = self.interface();
        let (Some(clk), reset) = control(&iface) else {
            unreachable!("validate accepts depths above 0 for clocked units only")
        };
        let core_name = format!("{}_core", self.module_name());
        let mut before = core.before;
        before.push_str(&crate::golden::module_header(&core_name, &iface));
        before.push_str(&core.body);
        before.push_str("endmodule\n\n");

        let depth = self.pipeline;
        let mut body = String::new();
        let mut conns = Vec::new();
        body.push_str(&format!(
            "    // Every input but {clk}{} reaches the unit {depth} cycle(s) late.\n",
            reset
                .as_ref()
                .map(|r| format!(" and {r}"))
                .unwrap_or_default()
        ));
        let mut regs = String::new();
        for port in &iface.ports {
            let delayed =
                port.dir == model::Dir::In && port.role != Role::Clock && port.role != Role::Reset;
            if !delayed {
                conns.push(format!("        .{n}({n})", n = port.name));
                continue;
            }
            let range = crate::golden::range(port.width);
            let zero = crate::golden::lit(port.width, 0);
            for k in 1..=depth {
                body.push_str(&format!("    reg {range}g_{}_d{k};\n", port.name));
                let from = if k == 1 {
                    port.name.clone()
                } else {
                    format!("g_{}_d{}", port.name, k - 1)
                };
                let load = match &reset {
                    Some(r) => format!("{r} ? {zero} : {from}"),
                    None => from,
                };
                regs.push_str(&format!("        g_{}_d{k} <= {load};\n", port.name));
            }
            conns.push(format!("        .{n}(g_{n}_d{depth})", n = port.name));
        }
        body.push_str(&format!(
            "    always @(posedge {clk}) begin\n{regs}    end\n"
        ));
        body.push_str(&format!(
            "    {core_name} core (\n{}\n    );\n",
            conns.join(",\n")
        ));
        Ok(GoldenModule {
            body,
            state: core.state,
            before,
            scope: Some("core".into()),
        })
    }
}
