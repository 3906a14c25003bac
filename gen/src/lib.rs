//! The `gen` command-line tool as a library, in layers (each uses only the ones below):
//!
//! - [`cli`]: argument parsing and dispatch; the unit subcommands are built from
//!   [`registry`], the one list of units.
//! - [`commands`]: one module per command (emit a unit, list, synthesize, prove, the
//!   report tables).
//! - the flows and tools: [`synth`] (Yosys, nextpnr), [`prove`] (formal equivalence),
//!   [`accwidth`], [`accerror`], [`fit`], [`doctor`].
//! - the ground floor: [`output`] (writing files all or nothing, through links and to
//!   devices), [`tools`] (finding the external tools), [`values`] (number parsers),
//!   [`error`] (the failure type every layer returns).
//!
//! `main.rs` only forwards to [`cli::run`].

pub mod accerror;
pub mod accwidth;
pub mod cli;
pub mod commands;
pub mod doctor;
pub mod error;
pub mod fit;
pub mod fusesoc;
pub mod mxerror;
pub mod output;
pub mod prove;
pub mod rangebnerror;
pub mod registry;
pub mod sweep;
pub mod synth;
pub mod tools;
pub mod values;

/// The generator's name and version, as written into every file.
pub fn generator_id() -> String {
    format!("lowbit gen {}", env!("CARGO_PKG_VERSION"))
}
