//! A small, width-exact RTL IR with run-time widths.
//!
//! A [`ModuleBuilder`] creates signals ([`Sig`]) by applying operations to earlier
//! signals. Every signal has one exact width, fixed when it is made; every operation checks
//! its operand widths there and then, and an error names the signals involved. Nothing is
//! implicitly widened or truncated: extension, truncation and exact arithmetic are explicit
//! operations, so the emitted Verilog never relies on Verilog's context-dependent widths.
//!
//! Signals are shared, not duplicated: each operation becomes one named wire in the
//! Verilog, referenced by name wherever it is used. Registers are the only way to make
//! feedback, so the netlist is acyclic by construction.
//!
//! [`ModuleBuilder::finish`] checks the whole module (every register driven, every output
//! assigned, every input and every bit of every live signal used, names unique), drops
//! signals nothing uses, and returns a [`Module`] ready for [`crate::verilog`].
//!
//! On top of the untyped signals sits a typed layer ([`typed`]): a [`Val`] is a signal with
//! its signedness, an [`Expr`] an expression on them written with Rust operators whose
//! result widths are inferred exactly, made into named wires in one step with
//! [`ModuleBuilder::wire`]. The [`library`] adds `saturate`, `clamp`, `round`, leading-zero
//! count, barrel shifts and pipeline [`Stage`]s registered as a whole.
//!
//! Files: `netlist` (the finished module), `builder` (ports, names, constants, registers,
//! instances), `ops` (primitive operations), `typed` and `library` (the typed layer),
//! `finish` (the whole-module checks), `names` (constants and identifiers).

mod builder;
pub mod delay;
mod finish;
pub mod library;
mod names;
mod netlist;
mod ops;
pub mod pipeline;
#[cfg(test)]
mod tests;
pub mod typed;

use std::fmt;

pub use builder::ModuleBuilder;
pub use library::{limits, Round, Stage};
pub(crate) use names::const_bit;
pub use netlist::{BinOp, Instance, Module, Node, Op, PortDecl, PortDir, Register, UnOp};
pub use typed::{cat, lit, mux, Expr, ExprOp, ExprOps, Val};

/// An error found while building a module: a width mismatch, a missing driver, a name
/// clash. The message names the module and the signals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HdlError {
    pub module: String,
    pub message: String,
}

impl fmt::Display for HdlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "module '{}': {}", self.module, self.message)
    }
}

impl std::error::Error for HdlError {}

pub type Result<T> = std::result::Result<T, HdlError>;

/// A signal: the value of one node of a module, with its exact width in bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sig {
    pub(in crate::ir) owner: u32,
    pub(in crate::ir) id: usize,
    pub(in crate::ir) width: u32,
}

impl Sig {
    /// Width in bits.
    pub fn width(self) -> u32 {
        self.width
    }
}
