//! Formal equivalence: every unit with a behavioural reference is proven equal to it on
//! the configurations `gen prove-all` uses, through the binary as a user runs it; a
//! deliberately broken unit must be reported unproven; each engine and the bounded
//! fallback decide what they should.

use std::path::PathBuf;
use std::process::Command;

use gen::prove::{prove, Engine, Options, Pair, Verdict};
use hdl::Reference;
use hdl::{design_files, Generate, Header};
use model::iface::{Dir, Interface, Port, Role};
use model::mac::MacParams;
use model::UnitParams;

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("prove")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn require_yosys() {
    let found = Command::new("yosys").arg("-V").output().is_ok();
    assert!(found, "{}", gen::prove::YOSYS_HINT);
}

/// `gen prove-all --quick` proves every configuration but the long ones and prints the
/// table with times (`make prove` runs the whole set).
#[test]
fn every_unit_with_a_reference_is_proven() {
    require_yosys();
    let dir = scratch("all");
    let out = Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(["prove-all", "--quick", "--output", "prove.md"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    println!("{stdout}");
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| module") && !l.starts_with("| ---"))
        .collect();
    assert!(rows.len() >= 8, "{stdout}");
    for row in &rows {
        assert!(row.contains("| proven |"), "{row}");
        // The quick run leaves the long ones out.
        assert!(
            !gen::prove::LONG_PROOFS
                .iter()
                .any(|m| row.starts_with(&format!("| {m} |"))),
            "{row}"
        );
    }
    let listed = |m: &str| gen::prove::DEFAULT_NOT_PROVEN.iter().any(|(d, _)| *d == m);
    let long = |m: &str| gen::prove::is_long(m);
    for unit in gen::registry::infos() {
        // Every unit has proofs in the quick run.
        assert!(
            rows.iter()
                .any(|r| r.starts_with(&format!("| {}_", unit.kind))
                    || r.starts_with(&format!("| {} |", unit.kind))),
            "{} has no proof in the quick run: {stdout}",
            unit.command
        );
        // The default configuration of every unit is proven (here, or in the whole
        // set when it is a long one), except the few listed with their reason in
        // `DEFAULT_NOT_PROVEN` (an entry there that is proven is stale).
        let proven = rows
            .iter()
            .any(|r| r.starts_with(&format!("| {} |", unit.default_module)));
        assert!(
            !(proven && listed(&unit.default_module)),
            "{} is proven: drop it from DEFAULT_NOT_PROVEN",
            unit.default_module
        );
        if listed(&unit.default_module) || long(&unit.default_module) {
            continue;
        }
        assert!(proven, "{}: {stdout}", unit.command);
    }
    // Every configuration named in the lists of long proofs and of engine order is a
    // member of some unit's proof set: a renamed module would otherwise drop out of
    // them unnoticed.
    let all = gen::registry::proof_modules();
    for m in gen::prove::LONG_PROOFS
        .iter()
        .chain(gen::prove::EQUIV_ALONE)
        .chain(gen::prove::PDR_FIRST)
    {
        assert!(
            all.iter().any(|a| a == m),
            "{m} is in no proof set: {all:?}"
        );
    }
    assert!(dir.join("prove.md").is_file());
}

/// A reference whose table is a `case` large enough for Yosys's `proc` to turn into a
/// ROM (here `lns_mac`'s 64-entry table) once failed with "Gold module contains
/// memories or processes"; the designs are now read with `proc -norom`.
#[test]
fn a_reference_with_a_large_table_is_proven() {
    assert_proven(
        "lns_rom",
        &["lns-mac", "--exp-bits", "6", "--frac-bits", "6"],
        &["--table-bits", "24", "--acc", "64"],
    );
}

/// `gen prove <args> <more>` in a scratch folder `name` exits 0 and says "proven equal".
fn assert_proven(name: &str, args: &[&str], more: &[&str]) {
    require_yosys();
    let dir = scratch(name);
    let out = Command::new(env!("CARGO_BIN_EXE_gen"))
        .arg("prove")
        .args(args)
        .args(more)
        .current_dir(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("proven equal"), "{stdout}\n{stderr}");
}

/// Issue 12: a product format with an 8-bit exponent puts a 265-bit fixed point in
/// `fpacc`'s reference, whose rounding mask once came from an overflowing 128-bit shift
/// (a wrong reference in release, a panic in debug). It must now be proven equal.
#[test]
fn fpacc_with_a_wide_product_exponent_is_proven() {
    assert_proven("fpacc_pe8", &["fpacc", "--prod-exp", "8"], &[]);
}

/// Mutation: the MAC with its negative saturation limit replaced by the positive one
/// (the minimum clamped to the maximum) must not be proven.
#[test]
fn a_broken_mac_is_not_proven() {
    require_yosys();
    let p = MacParams::default();
    let header = Header {
        generator: "test".into(),
        command: None,
    };
    let mut files = design_files(&p.rtl().unwrap(), &header);
    let (good, bad) = (
        "sum_negative ? 12'h800 : 12'h7ff",
        "sum_negative ? 12'h7ff : 12'h7ff",
    );
    assert!(
        files[0].1.contains(good),
        "the mutation site moved: {}",
        files[0].1
    );
    files[0].1 = files[0].1.replace(good, bad);
    let reference = p.golden().unwrap();
    let golden = hdl::golden::golden_file(&p, &reference, &header);
    let (top, interface) = (p.module_name(), p.interface());
    let pair = |gate| Pair {
        top: &top,
        golden: &golden,
        gate,
        cuts: &[],
        scope: None,
        state: &reference.state,
        latency: p.latency(),
        interface: &interface,
    };
    let dir = scratch("mutant");
    let report = prove(&dir, &pair(&files), &Options::default()).unwrap();
    // equiv_induct leaves points unproven; PDR finds the cycle where the outputs differ
    // and the bounded check writes its trace.
    let Verdict::Failed { detail } = &report.verdict else {
        panic!("the mutant passed: {}", report.summary());
    };
    assert!(detail.contains("PDR: an output differs"), "{detail}");
    assert!(dir.join("bounded.vcd").is_file(), "{detail}");
    // The unmutated unit passes in the same place.
    let files = design_files(&p.rtl().unwrap(), &header);
    let report = prove(&scratch("original"), &pair(&files), &Options::default()).unwrap();
    assert!(report.passed(), "{}", report.summary());
}

/// Both raise `o` every eighth cycle after reset; one counts up, the other down.
const UP: &str = "module cnt (input wire clk, input wire rst, output wire o);
    reg [2:0] c;
    always @(posedge clk) c <= rst ? 3'h0 : c + 3'h1;
    assign o = c == 3'h7;
endmodule
";
const DOWN: &str = "module cnt (input wire clk, input wire rst, output wire o);
    reg [2:0] d;
    always @(posedge clk) d <= rst ? 3'h7 : d - 3'h1;
    assign o = d == 3'h0;
endmodule
";

fn counters(gate: &str, options: Options, name: &str) -> gen::prove::ProofReport {
    counters_in(&scratch(name), gate, options, &[])
}

/// [`counters`] in `dir`, with `state` the registers `equiv` pairs by name.
fn counters_in(
    dir: &std::path::Path,
    gate: &str,
    options: Options,
    state: &[String],
) -> gen::prove::ProofReport {
    let interface = Interface {
        ports: vec![
            Port::bit("clk", Dir::In, Role::Clock),
            Port::bit("rst", Dir::In, Role::Reset),
            Port::bit("o", Dir::Out, Role::Flag),
        ],
    };
    let files = vec![("cnt.v".to_string(), gate.to_string())];
    let pair = Pair {
        top: "cnt",
        golden: UP,
        gate: &files,
        cuts: &[],
        scope: None,
        state,
        latency: 1,
        interface: &interface,
    };
    prove(dir, &pair, &options).unwrap()
}

fn engines(engines: &[Engine]) -> Options {
    Options {
        engines: engines.to_vec(),
        ..Options::default()
    }
}

/// Hidden state encoded differently in the two designs: induction on matched names
/// cannot close, PDR proves equality after reset, and with PDR left out the prover says
/// so and falls back to a bounded check with its depth.
#[test]
fn each_engine_and_the_bounded_fallback_decide_what_they_should() {
    require_yosys();
    let both = counters(DOWN, Options::default(), "both");
    assert!(
        matches!(both.verdict, Verdict::Reachability { .. }),
        "{}",
        both.summary()
    );
    let only_equiv = counters(DOWN, engines(&[Engine::Equiv]), "equiv");
    assert_eq!(
        only_equiv.verdict,
        Verdict::Bounded { depth: 16 },
        "{}",
        only_equiv.summary()
    );
    assert!(
        only_equiv.attempts[0].contains("equiv_induct left 1 of 1 points unproven"),
        "{:?}",
        only_equiv.attempts
    );
    // An engine out of time is stopped and named; the bounded check still runs.
    let no_time = Options {
        equiv_limit: std::time::Duration::ZERO,
        ..engines(&[Engine::Equiv])
    };
    let stopped = counters(DOWN, no_time, "no_time");
    assert_eq!(stopped.verdict, Verdict::Bounded { depth: 16 });
    assert!(
        stopped.attempts[0].contains("equiv_induct: no result within 0 s"),
        "{:?}",
        stopped.attempts
    );
    // A gate that differs after six cycles is caught by PDR and by the bounded check.
    let wrong = DOWN.replace("3'h7 : d", "3'h6 : d");
    for options in [Options::default(), engines(&[Engine::Equiv])] {
        let report = counters(&wrong, options.clone(), "wrong");
        assert!(
            matches!(report.verdict, Verdict::Failed { .. }),
            "{:?}: {}",
            options.engines,
            report.summary()
        );
    }
}

/// `gen prove-all`'s staggered portfolio: the first engine alone, the second as soon as
/// the first gives up (here long before the stagger ends) or when the stagger ends while
/// the first still runs; an engine that decides first leaves the other unstarted.
#[test]
fn a_staggered_engine_joins_when_the_first_gives_up_or_its_time_is_over() {
    require_yosys();
    let long = std::time::Duration::from_secs(3600);
    let staggered = |engines: &[Engine], stagger| Options {
        engines: engines.to_vec(),
        stagger: Some(stagger),
        ..Options::default()
    };
    // equiv gives up on the differently encoded counters: PDR starts then and proves
    // them, well before the hour's stagger.
    let t = std::time::Instant::now();
    let report = counters(
        DOWN,
        staggered(&[Engine::Equiv, Engine::Pdr], long),
        "stagger",
    );
    assert!(
        matches!(report.verdict, Verdict::Reachability { .. }),
        "{}",
        report.summary()
    );
    assert!(
        report.attempts.len() == 1 && report.attempts[0].contains("equiv_induct left"),
        "{:?}",
        report.attempts
    );
    assert!(t.elapsed() < std::time::Duration::from_secs(600));
    // equiv decides identical counters (their register matched by name) alone; PDR never starts, so nothing of it is
    // in the proof's folder.
    let dir = scratch("stagger_same");
    let _ = std::fs::remove_dir_all(&dir);
    let same = counters_in(
        &dir,
        UP,
        staggered(&[Engine::Equiv, Engine::Pdr], long),
        &["c".to_string()],
    );
    assert!(
        matches!(same.verdict, Verdict::Induction { .. }),
        "{}",
        same.summary()
    );
    assert!(dir.join("equiv.log").is_file());
    assert!(!dir.join("miter.v").exists(), "PDR started");
    // A zero stagger starts both at once, as without one: PDR decides.
    let zero = counters(
        DOWN,
        staggered(&[Engine::Equiv, Engine::Pdr], std::time::Duration::ZERO),
        "stagger_zero",
    );
    assert!(
        matches!(zero.verdict, Verdict::Reachability { .. }),
        "{}",
        zero.summary()
    );
}
