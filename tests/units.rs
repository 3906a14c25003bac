//! The generic property test: every unit in the registry, at random accepted parameter
//! sets from its own sampler and at random pipeline depths, is linted (Verilator `-Wall`), read by Yosys and Icarus,
//! co-simulated against its model on random beats, emitted twice to the same bytes,
//! and its behavioural reference is linted too. A unit added to the registry is
//! covered here without a line of test code.

use gen::registry::{each_unit, Registered, Visit};
use hdl::{design_verilog, Generate, Header, Reference};
use lowbit_tests::{
    cases, check_unit, emitted_files, parallel, scratch, verilator_lint, yosys_read,
    yosys_synth_ice40,
};
use model::pipeline::Piped;
use model::{Sampler, UnitParams};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Random beats per co-simulation.
const BEATS: usize = 400;

/// One parameter set of `U` from `seed`: every check, as an error message.
fn check<U: Registered>(seed: u64) -> Result<(), String> {
    let mut rng = Sampler::new(seed);
    let unit = U::sample(&mut rng);
    // Half the sets pipelined, 1 to 3 stages: the output shifts by the latency.
    let depth = if Piped::clocked(&unit) && rng.one_in(2) {
        rng.int(1..=3)
    } else {
        0
    };
    let p = Piped::new(unit, depth);
    let header = Header {
        generator: "lowbit tests".into(),
        command: None,
    };
    let module = p.rtl().map_err(|e| format!("{p:?}: {e}"))?;
    let again = p.rtl().map_err(|e| format!("{p:?}: {e}"))?;
    if design_verilog(&module, &header) != design_verilog(&again, &header) {
        return Err(format!("{p:?}: two builds differ"));
    }
    let golden =
        hdl::golden::golden_verilog(&p, &header).map_err(|e| format!("{p:?}: reference: {e}"))?;
    let top = p.module_name();
    let dir = scratch(&format!("units/golden-{top}"));
    verilator_lint(&dir, &[(format!("{top}.v"), golden)], &top)
        .map_err(|e| format!("{p:?}: reference: {e}"))?;
    check_unit(p, seed, BEATS)
}

/// Each unit's property run, as a job for [`parallel`]: `None` when it passes.
struct Run(Vec<Box<dyn FnOnce() -> Option<String> + Send>>);

impl Visit for Run {
    fn visit<U: Registered>(&mut self) {
        self.0.push(Box::new(|| {
            let mut runner = TestRunner::new(Config {
                cases: cases(3),
                failure_persistence: None,
                // A seed has no smaller form: report it as drawn.
                max_shrink_iters: 0,
                ..Config::default()
            });
            let result = runner.run(&any::<u64>(), |seed| {
                check::<U>(seed).map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}")))
            });
            result.err().map(|e| format!("{}: {e}", U::COMMAND))
        }));
    }
}

/// The units run side by side, one per core.
#[test]
fn every_registered_unit_at_random_accepted_parameters() {
    let mut run = Run(Vec::new());
    each_unit(&mut run);
    let failures: Vec<String> = parallel(run.0).into_iter().flatten().collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every sampler only draws accepted parameter sets, and draws more than one.
#[test]
fn samplers_draw_accepted_and_varied_parameter_sets() {
    struct Draw(Vec<String>);
    impl Visit for Draw {
        fn visit<U: Registered>(&mut self) {
            let mut rng = Sampler::new(7);
            let names: std::collections::BTreeSet<String> = (0..200)
                .map(|_| {
                    let p = U::sample(&mut rng);
                    if let Err(e) = p.validate() {
                        self.0.push(format!("{}: {p:?}: {e}", U::COMMAND));
                    }
                    format!("{p:?}")
                })
                .collect();
            if names.len() < 20 {
                self.0.push(format!(
                    "{}: only {} distinct sets",
                    U::COMMAND,
                    names.len()
                ));
            }
        }
    }
    let mut d = Draw(Vec::new());
    each_unit(&mut d);
    assert!(d.0.is_empty(), "{}", d.0.join("\n"));
}

/// Many more parameter sets than the co-simulation can afford, built only: the RTL and
/// the reference of every unit at 1000 sampled sets (fixed seeds, random depths) must
/// build, since the IR rejects a width mistake or an unused bit when the module is
/// finished. No tools needed, a few seconds in all.
#[test]
fn every_unit_builds_at_many_sampled_parameter_sets() {
    struct Build(Vec<String>);
    impl Visit for Build {
        fn visit<U: Registered>(&mut self) {
            for seed in 0..1000u64 {
                let mut rng = Sampler::new(seed ^ 0x5eed_b11d);
                let unit = U::sample(&mut rng);
                let depth = if Piped::clocked(&unit) {
                    rng.int(0..=2)
                } else {
                    0
                };
                let p = Piped::new(unit, depth);
                let built = p.rtl().map(|_| ()).and_then(|()| p.golden().map(|_| ()));
                if let Err(e) = built {
                    self.0
                        .push(format!("{} seed {seed}: {p:?}: {e}", U::COMMAND));
                    return;
                }
            }
        }
    }
    let mut b = Build(Vec::new());
    each_unit(&mut b);
    assert!(b.0.is_empty(), "{}", b.0.join("\n"));
}

/// Full synthesis for the iCE40 (Debian's Yosys, `synth_ice40` then `check -assert`) of
/// every unit's default configuration; its reference is read and elaborated. The
/// property cases only read and elaborate (`yosys_read`): synthesis was half the tool
/// time of the whole suite.
#[test]
fn every_default_configuration_synthesizes() {
    struct Synth(Vec<Box<dyn FnOnce() -> Result<(), String> + Send>>);
    impl Visit for Synth {
        fn visit<U: Registered>(&mut self) {
            self.0.push(Box::new(|| {
                let p = Piped::new(U::default(), 0);
                let top = p.module_name();
                let dir = scratch(&format!("units/synth-{top}"));
                yosys_synth_ice40(&dir, &emitted_files(&p), &top)
                    .map_err(|e| format!("{}: {e}", U::COMMAND))?;
                let header = Header {
                    generator: "lowbit tests".into(),
                    command: None,
                };
                let golden = hdl::golden::golden_verilog(&p, &header)
                    .map_err(|e| format!("{}: reference: {e}", U::COMMAND))?;
                let dir = scratch(&format!("units/synth-golden-{top}"));
                yosys_read(&dir, &[(format!("{top}.v"), golden)], &top)
                    .map_err(|e| format!("{}: reference: {e}", U::COMMAND))
            }));
        }
    }
    let mut s = Synth(Vec::new());
    each_unit(&mut s);
    let failures: Vec<String> = parallel(s.0).into_iter().filter_map(Result::err).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
