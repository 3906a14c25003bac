//! One module per `gen` command. Each takes plain parameter and option values (never
//! clap's matches) and returns [`crate::error::Failure`] on error.

pub mod density;
pub mod emit;
pub mod list;
pub mod prove;
pub mod synth;
pub mod tables;
