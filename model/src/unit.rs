//! What every unit's parameter type provides, so that tools and tests can be generic
//! over units.

use std::fmt;
use std::ops::RangeInclusive;

use serde::Serialize;

use crate::iface::{CycleModel, Interface};

/// A parameter outside its allowed range, named as the command line names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamError {
    /// The flag, e.g. `--acc`.
    pub param: &'static str,
    /// The rejected value.
    pub value: String,
    /// The allowed values, e.g. `2..=64`.
    pub allowed: String,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid value '{}' for '{}': allowed {}",
            self.value, self.param, self.allowed
        )
    }
}

impl std::error::Error for ParamError {}

/// Check `value` against `range`, naming `param` (a flag such as `--acc`) on failure.
pub fn check_range(
    param: &'static str,
    value: u32,
    range: &RangeInclusive<u32>,
) -> Result<(), ParamError> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(ParamError {
            param,
            value: value.to_string(),
            allowed: format!("{}..={}", range.start(), range.end()),
        })
    }
}

/// The parameter type of one kind of unit. One value gives the unit's name, ports,
/// latency and cycle model (and, in `hdl`, its RTL).
pub trait UnitParams: Clone + fmt::Debug + Serialize {
    /// The unit kind, as in the docs and the `gen` subcommand, e.g. `mac`.
    const KIND: &'static str;

    /// Check every parameter against its range.
    fn validate(&self) -> Result<(), ParamError>;

    /// Verilog module name, encoding the parameters.
    fn module_name(&self) -> String;

    /// The unit's ports.
    fn interface(&self) -> Interface;

    /// Cycles from an input beat to its result.
    fn latency(&self) -> u32;

    /// A fresh cycle model in its reset state.
    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError>;

    /// The pipeline depths the unit offers, if it has a depth parameter (`gen <unit>
    /// --freq` picks one by running the FPGA flow).
    fn pipeline_depths(&self) -> Option<RangeInclusive<u32>> {
        None
    }

    /// The same parameters at another pipeline depth (for units with one).
    fn with_pipeline(&self, depth: u32) -> Self
    where
        Self: Sized,
    {
        let _ = depth;
        self.clone()
    }
}
