//! The `gen` command-line tool as a library: argument parsing and output ([`cli`]) and the
//! FPGA synthesis flow ([`synth`]). `main.rs` only forwards to [`cli::run`].

pub mod accerror;
pub mod accwidth;
pub mod cli;
pub mod doctor;
pub mod fit;
pub mod output;
pub mod prove;
pub mod synth;
pub mod tools;
