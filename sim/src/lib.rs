//! Verilator co-simulation harness (work in progress)
