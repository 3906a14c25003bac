//! The RTL and the reference of a pipelined unit (`model::pipeline::Piped`): the unit's
//! own RTL with register stages cut into its input cone by [`crate::ir::pipeline`], and
//! its own reference reading its inputs through a delay line (renamed in its text).

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
        let depth = self.pipeline;
        let mut body = format!(
            "    // Every input but {clk}{} reaches the unit {depth} cycle(s) late: the \
             unpipelined reference below reads g_<input>_d{depth}.\n",
            reset
                .as_ref()
                .map(|r| format!(" and {r}"))
                .unwrap_or_default()
        );
        let mut regs = String::new();
        let mut renamed = Vec::new();
        for port in &iface.ports {
            let delayed =
                port.dir == model::Dir::In && port.role != Role::Clock && port.role != Role::Reset;
            if !delayed {
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
            renamed.push((port.name.clone(), format!("g_{}_d{depth}", port.name)));
        }
        body.push_str(&format!(
            "    always @(posedge {clk}) begin\n{regs}    end\n"
        ));
        body.push_str(&rename_identifiers(&core.body, &renamed));
        Ok(GoldenModule {
            body,
            state: core.state,
            // The pipelining pass may move a cut's wire to an earlier stage than the
            // delayed reference computes it in, so the cuts apply unpipelined only.
            cuts: Vec::new(),
            children: core.children,
            scope: None,
        })
    }
}

/// `text` (Verilog) with every identifier in `names` replaced, outside comments, sized
/// literals (`8'hab`) and system names (`$signed`).
fn rename_identifiers(text: &str, names: &[(String, String)]) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$';
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'\'' {
            // A sized literal's base and digits.
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'?') {
                i += 1;
            }
        } else if c == b'$' || c == b'`' || c.is_ascii_digit() {
            i += 1;
            while i < b.len() && ident(b[i]) {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && ident(b[i]) {
                i += 1;
            }
            let word = &text[start..i];
            match names.iter().find(|(from, _)| from == word) {
                Some((_, to)) => out.push_str(to),
                None => out.push_str(word),
            }
            continue;
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
        out.push_str(&text[start..i]);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn renames_identifiers_only() {
        let names = [("a".to_string(), "g_a_d2".to_string())];
        let t = "wire [7:0] x = $signed(a) + 8'ha + a_1; // a\n";
        assert_eq!(
            super::rename_identifiers(t, &names),
            "wire [7:0] x = $signed(g_a_d2) + 8'ha + a_1; // a\n"
        );
    }
}
