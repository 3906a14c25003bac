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

    /// Cycles between beats the unit can accept: 1 when it takes a beat every cycle.
    fn initiation_interval(&self) -> u32 {
        1
    }

    /// Multiply-accumulates per beat, for arithmetic-density tables (MAC/s per LUT).
    fn macs_per_cycle(&self) -> f64 {
        1.0
    }
}

/// A unit kind as the registry (`gen`'s one list of units) sees it: everything the
/// command line, `gen list`, `gen prove-all`, the generic tests and the README's unit
/// table need, declared once beside the unit's parameter type.
pub trait Unit: UnitParams + crate::param::Params + Default + Send + Sync + 'static {
    /// The `gen` subcommand, e.g. `bfp-quant` (the kind with `-` for `_`).
    const COMMAND: &'static str;
    /// What the unit computes, in one line (`gen list`, the README's unit table).
    const SUMMARY: &'static str;
    /// The paragraph `gen <COMMAND> --help` shows under the summary.
    const ABOUT: &'static str;
    /// The page of `docs/` that holds the unit's arithmetic contract.
    const DOCS: &'static str;
    /// Example argument lists for `gen <COMMAND>`, each with what it builds.
    const EXAMPLES: &'static [(&'static str, &'static str)];

    /// The parameter sets `gen prove-all` proves, the default first.
    fn proof_set() -> Vec<Self>;

    /// Which member of [`Unit::proof_set`] `gen prove-all` also proves at pipeline depth
    /// 2: by default the one with the fewest input bits (a cut through a multiplier
    /// leaves SAT to prove two products equal, which grows fast with the width).
    fn pipelined_proof(set: &[Self]) -> Option<Self> {
        let input_bits = |p: &Self| -> u32 { p.interface().beat_inputs().map(|q| q.width).sum() };
        set.iter().min_by_key(|p| input_bits(p)).cloned()
    }

    /// A random accepted parameter set, small enough to build and co-simulate in
    /// seconds: the generic property tests run every registered unit through these.
    fn sample(rng: &mut Sampler) -> Self;

    /// The unit's numerical error on a workload of real vectors
    /// ([`crate::study`]): `None` for units that compute nothing approximate (wiring,
    /// statistics, format converters without a real-valued counterpart), else the
    /// metrics of its bit-exact results against the exact ones, or why the workload
    /// does not fit the unit (e.g. rows longer than it counts).
    fn study(
        &self,
        workload: &crate::study::Workload,
    ) -> Option<Result<crate::study::Errors, crate::study::StudyError>> {
        let _ = workload;
        None
    }
}

/// A small deterministic random source (SplitMix64) for sampling parameter sets; the
/// tests seed it from proptest so that failures shrink to a seed and replay.
#[derive(Clone, Debug)]
pub struct Sampler(u64);

impl Sampler {
    /// A sampler whose draws depend only on `seed`.
    pub fn new(seed: u64) -> Sampler {
        Sampler(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value of `range`, uniformly.
    pub fn int(&mut self, range: RangeInclusive<u32>) -> u32 {
        let (lo, hi) = (u64::from(*range.start()), u64::from(*range.end()));
        assert!(lo <= hi, "empty range {range:?}");
        (lo + self.next_u64() % (hi - lo + 1)) as u32
    }

    /// A signed value of `range`, uniformly.
    pub fn int_i32(&mut self, range: RangeInclusive<i32>) -> i32 {
        let (lo, hi) = (i64::from(*range.start()), i64::from(*range.end()));
        assert!(lo <= hi, "empty range {range:?}");
        (lo + (self.next_u64() % (hi - lo + 1) as u64) as i64) as i32
    }

    /// True once in `n` draws on average.
    pub fn one_in(&mut self, n: u32) -> bool {
        self.next_u64().is_multiple_of(u64::from(n.max(1)))
    }

    /// One of `items`, uniformly.
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[(self.next_u64() % items.len() as u64) as usize].clone()
    }
}

/// Draw parameter sets with `draw` until one passes [`UnitParams::validate`]: samplers
/// draw each parameter from its range and leave the cross-parameter rules to
/// `validate`, so that those rules are written once.
pub fn sample_valid<P: UnitParams>(
    rng: &mut Sampler,
    mut draw: impl FnMut(&mut Sampler) -> P,
) -> P {
    for _ in 0..10_000 {
        let p = draw(rng);
        if p.validate().is_ok() {
            return p;
        }
    }
    panic!("no accepted {} parameter set in 10000 draws", P::KIND)
}
