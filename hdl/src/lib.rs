//! RTL IR (work in progress)
