//! Input-side pipelining, one transformation for every clocked unit.
//!
//! `Piped { unit, depth }` is `unit` with `depth` register stages inserted between its
//! inputs and its state: the part of the datapath that depends only on the current beat
//! (operand unpacking, products, range checks, table look-ups) is cut into `depth + 1`
//! pieces; the loops through the unit's state are untouched. Where the registers go is
//! the RTL generator's business (a delay model of the device balances the pieces,
//! `hdl::pipeline`); what the unit computes depends only on `depth`:
//!
//! - every input except the reset reaches the unit `depth` cycles late, so every result
//!   comes `depth` cycles later (latency `unit.latency() + depth`) and the initiation
//!   interval is unchanged;
//! - reset acts at once, as on the unpipelined unit, and empties the pipeline: the beats
//!   in flight are dropped, and until new beats arrive the unit sees all-zero inputs (no
//!   `in_valid`), so reset still clears every valid bit on the next edge.
//!
//! The cycle model is [`Delayed`]: the unit's own model fed through a delay line with
//! exactly that behaviour. Units without a clock have nothing to pipeline and accept
//! only depth 0.

use std::collections::VecDeque;
use std::ops::RangeInclusive;

use serde::Serialize;

use crate::iface::{CycleModel, Interface, Role};
use crate::unit::{check_range, ParamError, UnitParams};

/// The depths `--pipeline` accepts.
pub const DEPTHS: RangeInclusive<u32> = 0..=16;

/// A unit with `depth` input-side pipeline stages (module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Piped<P> {
    /// The unit's own parameters.
    #[serde(flatten)]
    pub unit: P,
    /// Register stages between the inputs and the unit's state.
    pub pipeline: u32,
}

impl<P: UnitParams> Piped<P> {
    /// `unit` at `depth`.
    pub fn new(unit: P, depth: u32) -> Piped<P> {
        Piped {
            unit,
            pipeline: depth,
        }
    }

    /// Whether the unit has a clock, so that it can be pipelined at all.
    pub fn clocked(unit: &P) -> bool {
        unit.interface().ports.iter().any(|p| p.role == Role::Clock)
    }
}

impl<P: UnitParams> UnitParams for Piped<P> {
    const KIND: &'static str = P::KIND;

    fn validate(&self) -> Result<(), ParamError> {
        self.unit.validate()?;
        let depths = if Self::clocked(&self.unit) {
            DEPTHS
        } else {
            0..=0
        };
        check_range("--pipeline", self.pipeline, &depths)
    }

    /// The unit's name, with `_p<depth>` when pipelined.
    fn module_name(&self) -> String {
        match self.pipeline {
            0 => self.unit.module_name(),
            d => format!("{}_p{d}", self.unit.module_name()),
        }
    }

    fn interface(&self) -> Interface {
        self.unit.interface()
    }

    fn latency(&self) -> u32 {
        self.unit.latency() + self.pipeline
    }

    fn initiation_interval(&self) -> u32 {
        self.unit.initiation_interval()
    }

    fn macs_per_cycle(&self) -> f64 {
        self.unit.macs_per_cycle()
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        self.validate()?;
        let core = self.unit.model()?;
        if self.pipeline == 0 {
            return Ok(core);
        }
        Ok(Box::new(Delayed::new(core, self.pipeline)))
    }
}

/// A cycle model whose inputs, except the reset, pass through `depth` registers that
/// reset clears to zero (module docs).
#[derive(Clone)]
pub struct Delayed {
    core: Box<dyn CycleModel + Send>,
    iface: Interface,
    /// Beats in flight, oldest first; always `depth` of them.
    line: VecDeque<Vec<u64>>,
    /// Word offset of the reset input in a beat record.
    reset: Option<usize>,
}

impl Delayed {
    /// `core` behind a delay line of `depth` beats, as after a reset.
    pub fn new(core: Box<dyn CycleModel + Send>, depth: u32) -> Delayed {
        let iface = core.interface().clone();
        let reset = iface
            .beat_inputs()
            .find(|p| p.role == Role::Reset)
            .and_then(|p| iface.in_offset(&p.name));
        let zero = vec![0; iface.in_words()];
        Delayed {
            core,
            line: std::iter::repeat_n(zero, depth as usize).collect(),
            iface,
            reset,
        }
    }
}

impl CycleModel for Delayed {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let Some(mut oldest) = self.line.pop_front() else {
            return self.core.step(inputs, outputs);
        };
        let reset = self.reset.is_some_and(|r| inputs[r] & 1 == 1);
        if let Some(r) = self.reset {
            oldest[r] = inputs[r];
        }
        self.core.step(&oldest, outputs);
        if reset {
            for beat in &mut self.line {
                beat.fill(0);
            }
            oldest.fill(0);
        } else {
            oldest.copy_from_slice(inputs);
            if let Some(r) = self.reset {
                oldest[r] = 0;
            }
        }
        self.line.push_back(oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mac::MacParams;

    /// Beats for the default MAC: rst, in_valid, clear, a, b (one word each).
    fn beat(rst: u64, valid: u64, clear: u64, a: i8, b: i8) -> Vec<u64> {
        vec![rst, valid, clear, a as u8 as u64, b as u8 as u64]
    }

    fn run(p: &Piped<MacParams>, beats: &[Vec<u64>]) -> Vec<Vec<u64>> {
        let mut m = p.model().unwrap();
        let ow = m.interface().out_words();
        beats
            .iter()
            .map(|b| {
                let mut o = vec![0; ow];
                m.step(b, &mut o);
                o
            })
            .collect()
    }

    #[test]
    fn results_come_depth_cycles_later() {
        let mut beats = vec![beat(1, 0, 0, 0, 0)];
        for i in 0..12 {
            beats.push(beat(0, (i % 3 != 1) as u64, (i == 5) as u64, i - 6, 3 - i));
        }
        beats.extend(std::iter::repeat_n(beat(0, 0, 0, 0, 0), 6));
        let flat = run(&Piped::new(MacParams::default(), 0), &beats);
        for depth in 1..=4 {
            let p = Piped::new(MacParams::default(), depth);
            assert_eq!(p.latency(), 1 + depth);
            let piped = run(&p, &beats);
            // Before the first delayed beat the outputs are the reset state's.
            for (t, out) in piped.iter().enumerate().take(depth as usize + 1) {
                assert_eq!(*out, flat[1], "depth {depth} cycle {t}");
            }
            for t in depth as usize + 1..beats.len() {
                assert_eq!(
                    piped[t],
                    flat[t - depth as usize],
                    "depth {depth} cycle {t}"
                );
            }
        }
    }

    #[test]
    fn reset_drops_the_beats_in_flight() {
        let p = Piped::new(MacParams::default(), 3);
        let mut beats = vec![beat(1, 0, 0, 0, 0)];
        beats.push(beat(0, 1, 1, 5, 5));
        beats.push(beat(0, 1, 0, 2, 2));
        beats.push(beat(1, 0, 0, 0, 0)); // both beats are still in the pipeline
        beats.extend(std::iter::repeat_n(beat(0, 0, 0, 0, 0), 6));
        let out = run(&p, &beats);
        assert!(out.iter().all(|o| o[0] == 0 && o[2] == 0), "{out:?}");
    }

    #[test]
    fn depth_is_checked_and_named() {
        let p = Piped::new(MacParams::default(), 2);
        assert_eq!(p.module_name(), "mac_s8x8_acc12_sat_p2");
        assert!(Piped::new(MacParams::default(), 17).validate().is_err());
    }
}
