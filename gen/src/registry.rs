//! The unit registry: the one list of every unit kind `gen` builds.
//!
//! A unit is one parameter type implementing [`model::Unit`] (name, help, docs page,
//! examples, the configurations `gen prove-all` proves, random accepted parameter sets)
//! and [`hdl::Generate`] (RTL and behavioural reference). Everything else comes from
//! [`each_unit`]: the `gen <unit>`, `gen synth <unit>` and `gen prove <unit>`
//! subcommands, `gen list`, `gen prove-all`, the generic property tests and the check
//! of the README's unit table. Adding a unit means its model file, its RTL file, its
//! reference, and one line in [`each_unit`].

use model::bfp::{BfpAddParams, BfpDotParams, BfpQuantParams};
use model::expq::{ExpqDotParams, ExpqQuantParams};
use model::fpacc::{FpaccLongParams, FpaccParams};
use model::lns::{LnsMacParams, LnsMulParams};
use model::mac::MacParams;
use model::mx::{MxDequantParams, MxDotParams, MxQuantParams};
use model::palq::PalqPeParams;
use model::palq::PalqShuffleParams;
use model::pipeline::Piped;
use model::q8quant::Q8QuantParams;
use model::rangebn::{RangeBnParams, RangeStatsParams};
use model::requant::RequantParams;
use serde::Serialize;

/// A registered unit kind: parameters and model ([`model::Unit`]), RTL and reference
/// ([`hdl::Generate`], [`hdl::Reference`]).
pub trait Registered: model::Unit + hdl::Reference {}

impl<T: model::Unit + hdl::Reference> Registered for T {}

/// Something done once per registered unit kind (Rust has no generic closures).
pub trait Visit {
    fn visit<U: Registered>(&mut self);
}

/// The unit `gen` builds with no subcommand (`gen --acc 12` is `gen mac --acc 12`).
pub type DefaultUnit = MacParams;

/// Every unit, in the order `gen list`, the README and `gen prove-all` show them.
pub fn each_unit(v: &mut impl Visit) {
    v.visit::<MacParams>();
    v.visit::<FpaccParams>();
    v.visit::<FpaccLongParams>();
    v.visit::<BfpQuantParams>();
    v.visit::<BfpAddParams>();
    v.visit::<BfpDotParams>();
    v.visit::<LnsMulParams>();
    v.visit::<LnsMacParams>();
    v.visit::<ExpqQuantParams>();
    v.visit::<ExpqDotParams>();
    v.visit::<MxQuantParams>();
    v.visit::<MxDotParams>();
    v.visit::<MxDequantParams>();
    v.visit::<RequantParams>();
    v.visit::<RangeStatsParams>();
    v.visit::<RangeBnParams>();
    v.visit::<Q8QuantParams>();
    v.visit::<PalqPeParams>();
    v.visit::<PalqShuffleParams>();
}

/// One unit as `gen list --json` describes it.
#[derive(Clone, Debug, Serialize)]
pub struct UnitInfo {
    /// The `gen` subcommand.
    pub command: &'static str,
    /// The unit kind, as in module names and metadata (`bfp_quant`).
    pub kind: &'static str,
    pub summary: &'static str,
    /// The page of `docs/` with the unit's contract.
    pub docs: &'static str,
    /// The module the default parameters build.
    pub default_module: String,
    /// Cycles from a beat to its result at the default parameters.
    pub latency: u32,
    /// The pipeline depths `--pipeline` accepts, if the unit has the flag.
    pub pipeline: Option<[u32; 2]>,
    /// Example argument lists with what each builds.
    pub examples: Vec<Example>,
}

/// An example command line.
#[derive(Clone, Debug, Serialize)]
pub struct Example {
    pub command: String,
    pub builds: &'static str,
}

/// The description of unit `U`.
pub fn info<U: Registered>() -> UnitInfo {
    let d = U::default();
    UnitInfo {
        command: U::COMMAND,
        kind: U::KIND,
        summary: U::SUMMARY,
        docs: U::DOCS,
        default_module: d.module_name(),
        latency: d.latency(),
        pipeline: model::pipeline::Piped::clocked(&d).then(|| {
            let r = model::pipeline::DEPTHS;
            [*r.start(), *r.end()]
        }),
        examples: U::EXAMPLES
            .iter()
            .map(|(args, builds)| Example {
                command: format!("gen {} {args}", U::COMMAND),
                builds,
            })
            .collect(),
    }
}

/// Every unit's description, in registry order.
pub fn infos() -> Vec<UnitInfo> {
    struct Collect(Vec<UnitInfo>);
    impl Visit for Collect {
        fn visit<U: Registered>(&mut self) {
            self.0.push(info::<U>());
        }
    }
    let mut c = Collect(Vec::new());
    each_unit(&mut c);
    c.0
}

/// What `gen prove-all` proves of `U`: every member of its proof set unpipelined, and
/// the one the unit picks ([`model::Unit::pipelined_proof`]) at depth 2 too, so that the
/// pipelining pass and the delayed reference are proven per unit.
pub fn proof_configs<U: Registered>() -> Vec<Piped<U>> {
    let set = U::proof_set();
    let clocked: Vec<U> = set.iter().filter(|p| Piped::clocked(*p)).cloned().collect();
    let deep = U::pipelined_proof(&clocked).map(|p| Piped::new(p, 2));
    set.into_iter()
        .map(|p| Piped::new(p, 0))
        .chain(deep)
        .collect()
}

/// The module names of every unit's [`proof_configs`], in registry order.
pub fn proof_modules() -> Vec<String> {
    struct Collect(Vec<String>);
    impl Visit for Collect {
        fn visit<U: Registered>(&mut self) {
            self.0.extend(
                proof_configs::<U>()
                    .iter()
                    .map(model::UnitParams::module_name),
            );
        }
    }
    let mut c = Collect(Vec::new());
    each_unit(&mut c);
    c.0
}

/// The subcommands of the units that have a `--pipeline` flag, for help texts.
pub fn pipelined_commands() -> Vec<&'static str> {
    infos()
        .into_iter()
        .filter(|i| i.pipeline.is_some())
        .map(|i| i.command)
        .collect()
}

/// Run `v` on the unit whose subcommand (or kind) is `name`; false when there is none.
pub fn visit_named(name: &str, v: &mut impl Visit) -> bool {
    struct Find<'a, V> {
        name: &'a str,
        v: &'a mut V,
        found: bool,
    }
    impl<V: Visit> Visit for Find<'_, V> {
        fn visit<U: Registered>(&mut self) {
            if !self.found && (self.name == U::COMMAND || self.name == U::KIND) {
                self.found = true;
                self.v.visit::<U>();
            }
        }
    }
    let mut f = Find {
        name,
        v,
        found: false,
    };
    each_unit(&mut f);
    f.found
}
