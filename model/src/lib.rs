//! Bit-exact reference models of every arithmetic unit the generator emits.
//!
//! This crate is the executable form of the arithmetic contract in `docs/`: number
//! formats, rounding, saturation and a cycle model of each unit. The RTL that `hdl`
//! generates must match these models bit for bit; `sim` checks that by co-simulation.
//!
//! Each unit has one parameter type (serde + clap) that validates itself; from it come the
//! unit's port [`iface::Interface`], its cycle model, and (in `hdl`) its RTL.

pub mod accwidth;
pub mod bfp;
pub mod expq;
pub mod float;
pub mod fpacc;
pub mod iface;
pub mod int;
pub mod lns;
pub mod mac;
pub mod mx;
pub mod palq;
pub mod param;
pub mod pipeline;
pub mod q8quant;
pub mod rangebn;
pub mod requant;
pub mod study;
pub mod unit;

pub use iface::{CycleModel, Dir, Interface, Port, Role};
pub use param::{Flags, Param, Params};
pub use unit::{ParamError, Sampler, Unit, UnitParams};
