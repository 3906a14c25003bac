//! FuseSoC core files (CAPI2) for an emitted unit: `gen <unit> --output-dir DIR --core`
//! writes `DIR/<module>.core` beside `DIR/<module>.v` and `DIR/<module>.json`, so the unit
//! can be pulled into a design with FuseSoC/Edalize like any other core.
//!
//! The core has:
//! - the name `lowbit:unit:<module>:<version>` (`lowbit:reference:...` for `--golden`),
//!   version = gen's; the module name already encodes every parameter, so two
//!   configurations never collide in one cores root;
//! - a file set `rtl` with the Verilog (`verilogSource-2005`) and the metadata JSON
//!   (`user`), the JSON being the machine-readable record of ports, latency and formats;
//! - targets `default` (the file set and the top level) and `lint` (Verilator
//!   `--lint-only -Wall`, the check every emitted design passes);
//! - the unit's parameters, latency and the command that made it, as comments.
//!
//! Strings are written as JSON strings, which YAML reads as double-quoted scalars.

use serde::Serialize;

/// What goes into a core file besides the module name.
pub struct Core<'a, P: Serialize> {
    /// The Verilog module (and file stem).
    pub module: &'a str,
    /// The unit's one-line summary.
    pub summary: &'a str,
    /// The parameters the unit was built from (written as comments).
    pub params: &'a P,
    pub latency: u32,
    /// The behavioural reference rather than the RTL.
    pub golden: bool,
    /// The command line that emitted the unit.
    pub command: &'a str,
}

impl<P: Serialize> Core<'_, P> {
    /// The core's VLNV name.
    pub fn name(&self) -> String {
        let library = if self.golden { "reference" } else { "unit" };
        format!(
            "lowbit:{library}:{}:{}",
            self.module,
            env!("CARGO_PKG_VERSION")
        )
    }

    /// The `.core` file's text.
    pub fn text(&self) -> String {
        let quote = |s: &str| serde_json::to_string(s).expect("a string serializes");
        let mut t = String::from("CAPI=2:\n");
        t += &format!(
            "# Written by {} from: {}\n",
            crate::generator_id(),
            self.command
        );
        t += &format!("# Latency: {} cycles. Parameters:\n", self.latency);
        if let Ok(serde_json::Value::Object(params)) = serde_json::to_value(self.params) {
            for (k, v) in params {
                t += &format!("#   {k}: {v}\n");
            }
        }
        let what = if self.golden {
            "behavioural reference of "
        } else {
            ""
        };
        t += &format!("name: {}\n", self.name());
        t += &format!(
            "description: {}\n\n",
            quote(&format!("{what}{}: {}", self.module, self.summary))
        );
        t += "filesets:\n  rtl:\n    files:\n";
        t += &format!("      - {}:\n", quote(&format!("{}.v", self.module)));
        t += "          file_type: verilogSource-2005\n";
        t += &format!("      - {}:\n", quote(&format!("{}.json", self.module)));
        t += "          file_type: user\n\n";
        t += "targets:\n  default: &default\n    filesets: [rtl]\n";
        t += &format!("    toplevel: {}\n", quote(self.module));
        t += "  lint:\n    <<: *default\n";
        t += "    description: \"Verilator --lint-only -Wall, no waivers\"\n";
        t += "    default_tool: verilator\n";
        t += "    tools:\n      verilator:\n        mode: lint-only\n";
        t += "        verilator_options: [-Wall]\n";
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct P {
        acc_bits: u32,
        overflow: &'static str,
    }

    #[test]
    fn core_text() {
        let c = Core {
            module: "mac_s8x8_acc12_sat",
            summary: "Integer \"MAC\"",
            params: &P {
                acc_bits: 12,
                overflow: "saturate",
            },
            latency: 1,
            golden: false,
            command: "gen --acc 12",
        };
        let t = c.text();
        assert!(t.starts_with("CAPI=2:\n"));
        let v = env!("CARGO_PKG_VERSION");
        assert!(t.contains(&format!("name: lowbit:unit:mac_s8x8_acc12_sat:{v}\n")));
        assert!(t.contains("#   acc_bits: 12\n#   overflow: \"saturate\"\n"));
        assert!(t.contains("description: \"mac_s8x8_acc12_sat: Integer \\\"MAC\\\"\"\n"));
        assert!(t.contains(
            "      - \"mac_s8x8_acc12_sat.v\":\n          file_type: verilogSource-2005\n"
        ));
        assert!(t.contains("    toplevel: \"mac_s8x8_acc12_sat\"\n"));
        let g = Core { golden: true, ..c };
        assert!(g.name().starts_with("lowbit:reference:mac_s8x8_acc12_sat:"));
        assert!(g
            .text()
            .contains("description: \"behavioural reference of mac_s8x8_acc12_sat"));
    }
}
