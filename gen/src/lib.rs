//! The `gen` command-line tool as a library: argument parsing, output and the FPGA flow.

pub mod synth;
