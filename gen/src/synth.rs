//! FPGA synthesis flow (work in progress)
