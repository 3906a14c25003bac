//! Formal equivalence of a generated unit and its behavioural golden
//! (`hdl::golden`), with two engines and a stated fallback.
//!
//! 1. **Yosys's equivalence flow.** Both designs are read, `proc`-ed (`-norom`: a large
//!    `case` table stays logic, which the equivalence passes need) and flattened; every
//!    internal name except the shared state registers the golden declares is hidden, so
//!    `equiv_make` pairs the ports and that state only. `equiv_simple` and `equiv_induct`
//!    (with a window longer than the pipeline) try to prove every pair;
//!    `equiv_status -assert` decides. Fast where the state is matched and the two
//!    designs compute alike; it stalls on state encoded differently (and, like PDR, on
//!    a float adder against a 279-bit exact sum, which is why the float references
//!    use a jammed adder where they can).
//! 2. **PDR on a miter (ABC).** A wrapper drives both designs with the same inputs,
//!    forces a reset in the first cycle, and raises `trigger` when any output differs
//!    afterwards. Yosys lowers it to an AIG; every register except the wrapper's own
//!    starts at an arbitrary power-up value; ABC's property-directed reachability
//!    (`pdr`) proves `trigger` never rises, or finds the cycle where it does. This is
//!    full sequential equivalence after a reset and needs no matched state names.
//! 3. **Bounded check.** When neither engine decides in its time, a miter of the two
//!    designs from reset is checked with `sat` over a stated number of cycles.
//!
//! Every result names its method (and the attempts before it); there is no silent
//! pass.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use model::iface::{Dir, Interface, Role};

/// A proof engine; `Options::engines` run side by side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// Yosys `equiv_make` / `equiv_simple` / `equiv_induct` / `equiv_status`.
    Equiv,
    /// ABC's property-directed reachability on a reset-forcing miter.
    Pdr,
}

/// Which engines to run, when, and for how long each.
#[derive(Clone, Debug)]
pub struct Options {
    pub engines: Vec<Engine>,
    /// Time for the Yosys equivalence flow before it counts as undecided.
    pub equiv_limit: Duration,
    /// Time for PDR before it counts as undecided.
    pub pdr_limit: Duration,
    /// `None`: every engine starts at once. `Some(d)`: the first engine runs alone and
    /// the others join after `d`, or as soon as it gives up undecided (what `gen
    /// prove-all` does, [`Options::for_module`]).
    pub stagger: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            engines: vec![Engine::Equiv, Engine::Pdr],
            equiv_limit: Duration::from_secs(600),
            pdr_limit: Duration::from_secs(600),
            stagger: None,
        }
    }
}

/// Units whose default configuration `gen prove-all` does not prove, with the reason;
/// every other unit's default is in its proof set (`gen/tests/prove.rs` checks both).
/// Their proof sets prove the same datapath at smaller sizes.
pub const DEFAULT_NOT_PROVEN: &[(&str, &str)] = &[
    (
        "mx_dot_e4m3_n32",
        "32 lanes of E4M3 x E4M3 products into one exact block sum: neither engine decides \
         within minutes; the proof set proves E2M1 and E2M3 x E2M1 blocks in one and two beats",
    ),
    (
        "q8_quant_i16f8_b8_r32",
        "a 17 x 32-bit product behind a 32-step divider: PDR's time grows fast with the \
         width (1.3 s at 4-bit inputs and a 4-bit reciprocal, 34.9 s at 8 and 8); the proof \
         set proves 4-bit formats at depths 0 and 2, and tests/q8quant.rs checks the \
         reference against the rule at the default and the widest formats",
    ),
    (
        "rangebn_s16f8_n16_k256_y8f5_b16_e1_a2_r24",
        "a 20 x 25-bit signed product behind a divider of 18- and 24-step divisions with a \
         39-bit remainder: neither engine decides in 300 s; the proof set proves 4-bit \
         formats over two channels at depths 0 and 2 (0.7 s and 1.5 s), and \
         tests/rangebn.rs co-simulates the default",
    ),
];

/// Configurations that `gen prove-all --quick` (what `make test` runs) leaves out: each
/// takes one to five minutes of a two-core machine (docs/verification.md has the times),
/// together about half the time of the whole set. Each unit keeps smaller members of
/// its proof set in the quick run, which go through the same generator code; `make
/// prove` proves these too.
pub const LONG_PROOFS: &[&str] = &[
    "bfp_quant_n16_m4_e10_rne",
    "bfp_dot_n16_m4_e10",
    "mx_quant_e4m3_k32_rne",
    "fpacc_i8_e8m7b127r_rne",
];

/// Whether `gen prove-all --quick` leaves `module` out ([`LONG_PROOFS`]).
pub fn is_long(module: &str) -> bool {
    LONG_PROOFS.contains(&module)
}

/// Configurations of `gen prove-all` where `equiv` decides first after a minute or two
/// and PDR had no answer by then: with the default engines they run `equiv` alone, so
/// that two engines do not share the machine's cores for minutes (on two cores that
/// nearly doubled `equiv`'s time).
pub const EQUIV_ALONE: &[&str] = &[
    "bfp_quant_n16_m4_e10_rne",
    "bfp_dot_n16_m4_e10",
    "mx_quant_e4m3_k32_rne",
];

/// Configurations of `gen prove-all` that PDR decides and `equiv` does not (state
/// encoded differently from the reference's: the float accumulators' and the
/// divider's): with the default engines PDR starts first. Measured in a quick run with
/// both engines at once (docs/verification.md's "tried first" column).
pub const PDR_FIRST: &[&str] = &[
    "fpacc_i8_e4m7b10_rne",
    "fpacc_i4_e3m3b4_rne",
    "fpacc_i5_e4m4b7_rne",
    "fpacc_e2m2b1_e3m3b4_rz",
    "fpacc_i3_pe4m4b6_e3m2b3_rne",
    "fpacc_i4_e3m3b4_rne_i2",
    "fpacc_i4xu3_e3m3b4_rne",
    "fpacc_i3_pe4m4b6_e3m2b3_rne_p2",
    "fpacc_i8_e8m7b127r_rne",
    "bfp_quant_n4_m8_e10_sr3_l1_modes2_5_8",
    "bfp_quant_n6_m4_e10_rz_l3_modes3_4",
    "bfp_quant_n4_m8_e10_sr3_l1_modes2_5_8_p2",
    "mx_dequant_e4m3_l4",
    "q8_quant_i4f2_b2_r4",
    "q8_quant_i4f0_b2_r4_sr2_l2",
    "q8_quant_i4f2_b2_r4_p2",
];

/// How long the first engine of `gen prove-all` runs alone before the second joins
/// (when it has not given up sooner). Longer than any quick configuration's winning
/// engine takes alone, so that on two cores the second engine of a configuration does
/// not take CPU from the other configuration's proof; a configuration new to the lists
/// above loses at most this much when its first engine is the wrong one.
pub const STAGGER: Duration = Duration::from_secs(60);

impl Options {
    /// These options for `module` in `gen prove-all`, when the engines are the default
    /// ones: `equiv` alone for [`EQUIV_ALONE`]; otherwise one engine first and the other
    /// after [`STAGGER`] or when the first gives up: PDR first for [`PDR_FIRST`], `equiv`
    /// first for the rest. Engines given on the command line run as given.
    pub fn for_module(&self, module: &str) -> Options {
        if self.engines != Options::default().engines {
            return self.clone();
        }
        let (engines, stagger) = if EQUIV_ALONE.contains(&module) {
            (vec![Engine::Equiv], None)
        } else if PDR_FIRST.contains(&module) {
            (vec![Engine::Pdr, Engine::Equiv], Some(STAGGER))
        } else {
            (vec![Engine::Equiv, Engine::Pdr], Some(STAGGER))
        };
        Options {
            engines,
            stagger,
            ..self.clone()
        }
    }
}

/// The two designs to compare.
#[derive(Clone, Copy, Debug)]
pub struct Pair<'a> {
    /// The module name both share.
    pub top: &'a str,
    /// The behavioural reference, one file.
    pub golden: &'a str,
    /// The generated design's files (name, text).
    pub gate: &'a [(String, String)],
    /// Registers both designs keep under the same name (for `equiv_make`).
    pub state: &'a [String],
    /// Cut points: internal wires both designs compute alike under the same name
    /// (`hdl::golden::GoldenModule::cuts`), kept for `equiv_make` like `state` and proven
    /// first.
    pub cuts: &'a [String],
    /// The reference's instance that holds `state` (renamed to the plain names after
    /// flattening), if not the top itself.
    pub scope: Option<&'a str>,
    /// Cycles from an input beat to its result.
    pub latency: u32,
    /// The shared ports.
    pub interface: &'a Interface,
}

/// How a proof ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Every output and shared register proven equal for all time by Yosys's
    /// equivalence induction.
    Induction { cells: u32, seq: u32 },
    /// PDR proved that after a reset from any power-up state no output ever differs;
    /// `clauses` is the size of the inductive invariant it found.
    Reachability { clauses: u32 },
    /// No engine decided; no difference within `depth` cycles after a reset.
    Bounded { depth: u32 },
    /// A difference exists (or the bounded check failed).
    Failed { detail: String },
}

/// The outcome of one proof.
#[derive(Clone, Debug)]
pub struct ProofReport {
    pub module: String,
    pub verdict: Verdict,
    /// Engines that ran before the verdict without deciding, in words.
    pub attempts: Vec<String>,
    pub seconds: f64,
    /// The folder with the scripts and logs.
    pub dir: PathBuf,
}

impl ProofReport {
    /// One line for a person.
    pub fn summary(&self) -> String {
        let how = self.method();
        let before = if self.attempts.is_empty() {
            String::new()
        } else {
            format!(" (after: {})", self.attempts.join("; "))
        };
        let result = match self.verdict {
            Verdict::Induction { .. } | Verdict::Reachability { .. } => "proven equal",
            Verdict::Bounded { .. } => "not proven for all time",
            Verdict::Failed { .. } => "NOT PROVEN",
        };
        format!(
            "{}: {result}: {how}{before}, {:.1} s",
            self.module, self.seconds
        )
    }

    /// The method and its figures, in words.
    pub fn method(&self) -> String {
        match &self.verdict {
            Verdict::Induction { cells, seq } => {
                format!("equiv_induct, window {seq}, {cells} points")
            }
            Verdict::Reachability { clauses } => {
                format!("PDR after reset, invariant of {clauses} clauses")
            }
            Verdict::Bounded { depth } => {
                format!("bounded check only: no difference within {depth} cycles after reset")
            }
            Verdict::Failed { detail } => detail.clone(),
        }
    }

    pub fn passed(&self) -> bool {
        !matches!(self.verdict, Verdict::Failed { .. })
    }
}

/// How to install Yosys (and ABC, which Debian ships in the same package).
pub const YOSYS_HINT: &str = "yosys not found: run `make tools` (Debian: apt-get install \
                              yosys, which also brings yosys-abc) to install it";

/// What one engine concluded.
enum Outcome {
    Decided(Verdict),
    Undecided(String),
}

/// Prove `pair.gate` equal to `pair.golden`: `options.engines` run side by side (or
/// staggered, [`Options::stagger`]) until one decides, and a bounded check runs when
/// none does.
pub fn prove(dir: &Path, pair: &Pair, options: &Options) -> Result<ProofReport, String> {
    let start = Instant::now();
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).map_err(|e| format!("{}: {e}", dir.display()))
    };
    write("golden.v", pair.golden)?;
    let mut gate_files = Vec::new();
    for (name, text) in pair.gate {
        let name = format!("gate_{name}");
        write(&name, text)?;
        gate_files.push(name);
    }
    let shared: Vec<String> = pair.state.iter().chain(pair.cuts).cloned().collect();
    let load = load_script(pair.top, &gate_files, pair.scope, &shared);
    let report = |verdict, attempts| ProofReport {
        module: pair.top.into(),
        verdict,
        attempts,
        seconds: start.elapsed().as_secs_f64(),
        dir: dir.into(),
    };
    // A portfolio: the first decision stops the others. Every engine starts at once, or
    // with a stagger the first alone and the rest after it or when it gives up.
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    let mut decided = None;
    let mut attempts = Vec::new();
    let mut error = None;
    std::thread::scope(|scope| {
        let start = |engine: Engine, tx: &mpsc::Sender<_>| {
            let (tx, stop, load) = (tx.clone(), &stop, &load);
            scope.spawn(move || {
                let t = Instant::now();
                let outcome = match engine {
                    Engine::Equiv => equiv(dir, pair, load, options.equiv_limit, stop),
                    Engine::Pdr => pdr(dir, pair, load, options.pdr_limit, stop),
                };
                let _ = tx.send((outcome, t.elapsed()));
            });
        };
        let (first, rest) = match options.stagger {
            Some(_) => options.engines.split_at(options.engines.len().min(1)),
            None => (&options.engines[..], &[][..]),
        };
        first.iter().for_each(|&e| start(e, &tx));
        // Held while engines are still to start; once dropped, the loop ends when every
        // started engine has reported.
        let mut pending = (!rest.is_empty()).then_some(tx);
        let join_at = Instant::now() + options.stagger.unwrap_or_default();
        loop {
            let next = match &pending {
                Some(_) => rx.recv_timeout(join_at.saturating_duration_since(Instant::now())),
                None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            };
            let (outcome, took) = match next {
                Ok(message) => message,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    // The stagger is over: the other engines join.
                    if let Some(tx) = pending.take() {
                        rest.iter().for_each(|&e| start(e, &tx));
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            match outcome {
                Err(e) => {
                    error.get_or_insert(e);
                    stop.store(true, Ordering::Relaxed);
                    pending = None;
                }
                Ok(Outcome::Decided(v)) => {
                    decided.get_or_insert(v);
                    stop.store(true, Ordering::Relaxed);
                    pending = None;
                }
                Ok(Outcome::Undecided(why)) if !stop.load(Ordering::Relaxed) => {
                    attempts.push(format!("{why} ({:.1} s)", took.as_secs_f64()));
                    // The first engine gave up: the others start now.
                    if let Some(tx) = pending.take() {
                        rest.iter().for_each(|&e| start(e, &tx));
                    }
                }
                Ok(Outcome::Undecided(_)) => {} // stopped by another engine's decision
            }
        }
    });
    if let Some(e) = error {
        return Err(e);
    }
    if let Some(v) = decided {
        return Ok(report(v, attempts));
    }
    let reset = input_with_role(pair.interface, Role::Reset);
    let verdict = bounded(dir, &load, reset.as_deref(), 4 * pair.latency + 12)?;
    Ok(report(verdict, attempts))
}

/// Read both designs as modules `gold` and `gate`. State and cuts the reference keeps in
/// an instance (`scope`) take their plain names after flattening, so that both designs
/// name them alike.
fn load_script(top: &str, gate_files: &[String], scope: Option<&str>, state: &[String]) -> String {
    let read = |files: &[String], role: &str, scope: Option<&str>| {
        let mut s = String::new();
        for f in files {
            let _ = writeln!(s, "read_verilog {f}");
        }
        let _ = writeln!(s, "hierarchy -top {top}\nproc -norom\nflatten");
        if let Some(scope) = scope {
            let _ = writeln!(s, "cd {top}");
            for name in state {
                let _ = writeln!(s, "rename {scope}.{name} {name}");
            }
            let _ = writeln!(s, "cd ..");
        }
        let _ = writeln!(s, "opt_clean\nrename {top} {role}\ndesign -stash {role}");
        s
    };
    format!(
        "{gold}{gate}design -copy-from gold -as gold gold\ndesign -copy-from gate -as gate gate\n",
        gold = read(&["golden.v".into()], "gold", scope),
        gate = read(gate_files, "gate", None),
    )
}

/// Engine 1: Yosys's equivalence flow.
fn equiv(
    dir: &Path,
    pair: &Pair,
    load: &str,
    limit: Duration,
    stop: &AtomicBool,
) -> Result<Outcome, String> {
    let seq = pair.latency + 2;
    let kept: Vec<&String> = pair.state.iter().chain(pair.cuts).collect();
    let keep = kept.iter().map(|s| format!(" w:{s}")).collect::<String>();
    let unions = "%u ".repeat(kept.len().saturating_sub(1));
    let hide = |m: &str| {
        if kept.is_empty() {
            format!("rename -hide {m}/w:* {m}/c:*\n")
        } else {
            format!("cd {m}\nrename -hide w:*{keep} {unions}%d\nrename -hide c:*\ncd\n")
        }
    };
    // The cuts first, one at a time in the reference's order (`%ci1`: the $equiv cells
    // that drive the wire), so that every cone behind a cut reads one proven signal.
    let cuts = pair
        .cuts
        .iter()
        .map(|c| format!("equiv_simple -seq {seq} w:{c} %ci1\n"))
        .collect::<String>();
    let script = format!(
        "{load}{hg}{ht}equiv_make gold gate equiv\nhierarchy -top equiv\n\
         {cuts}equiv_simple -seq {seq}\nequiv_induct -seq {seq}\nequiv_status -assert\n",
        hg = hide("gold"),
        ht = hide("gate"),
    );
    std::fs::write(dir.join("equiv.ys"), script).map_err(|e| e.to_string())?;
    let Some((ok, log)) = yosys(dir, "equiv.ys", "equiv.log", Some(limit), stop)? else {
        return Ok(Outcome::Undecided(format!(
            "equiv_induct: no result within {} s",
            limit.as_secs()
        )));
    };
    if ok {
        let cells = status_count(&log, "are proven").unwrap_or(0);
        return Ok(Outcome::Decided(Verdict::Induction { cells, seq }));
    }
    match (
        status_count(&log, "are unproven"),
        status_count(&log, "are proven"),
    ) {
        (Some(unproven), Some(proven)) => Ok(Outcome::Undecided(format!(
            "equiv_induct left {unproven} of {} points unproven",
            unproven + proven
        ))),
        // Yosys stopped before the status: a read or equiv_make error.
        _ => Ok(Outcome::Decided(Verdict::Failed {
            detail: format!(
                "yosys failed, see {}: {}",
                dir.join("equiv.log").display(),
                tail(&log)
            ),
        })),
    }
}

/// The miter: both designs on the same inputs, `trigger` when any output differs. A
/// clocked design is reset in the first cycle and compared from the second on.
fn wrapper(interface: &Interface) -> Result<String, String> {
    let clock = input_with_role(interface, Role::Clock);
    let reset = input_with_role(interface, Role::Reset);
    if clock.is_some() && reset.is_none() {
        return Err("PDR needs a reset input on a clocked design".into());
    }
    let mut head = Vec::new();
    let mut conns = Vec::new();
    let mut out_bits = 0;
    for p in &interface.ports {
        match p.dir {
            Dir::In => {
                head.push(format!(
                    "    input wire {}{}",
                    hdl::golden::range(p.width),
                    p.name
                ));
                let net = if Some(&p.name) == reset.as_ref() {
                    format!("{} | ~started", p.name)
                } else {
                    p.name.clone()
                };
                conns.push((p.name.clone(), net));
            }
            Dir::Out => {
                let (lo, hi) = (out_bits, out_bits + p.width - 1);
                conns.push((p.name.clone(), format!("OUT[{hi}:{lo}]")));
                out_bits += p.width;
            }
        }
    }
    if out_bits == 0 {
        return Err("PDR needs an output".into());
    }
    head.push("    output wire trigger".into());
    let inst = |module: &str, out: &str| {
        let c: Vec<String> = conns
            .iter()
            .map(|(port, net)| format!("        .{port}({})", net.replace("OUT", out)))
            .collect();
        format!("    {module} u_{module} (\n{}\n    );\n", c.join(",\n"))
    };
    let (started, armed) = match &clock {
        Some(clock) => (
            format!(
                "    reg started = 1'b0; // the one register with a power-up value\n    \
                 always @(posedge {clock}) started <= 1'b1;\n"
            ),
            "started & ",
        ),
        None => (String::new(), ""),
    };
    Ok(format!(
        "// Miter for PDR: every output compared (after a reset in the first cycle).\n\
         module lowbit_proof (\n{head}\n);\n{started}\
         \x20   wire [{w}:0] out_gold;\n\
         \x20   wire [{w}:0] out_gate;\n{g}{t}\
         \x20   assign trigger = {armed}(out_gold != out_gate);\n\
         endmodule\n",
        head = head.join(",\n"),
        w = out_bits - 1,
        g = inst("gold", "out_gold"),
        t = inst("gate", "out_gate"),
    ))
}

/// The name of the input port with `role`.
fn input_with_role(interface: &Interface, role: Role) -> Option<String> {
    interface
        .ports
        .iter()
        .find(|p| p.role == role && p.dir == Dir::In)
        .map(|p| p.name.clone())
}

/// Engine 2: ABC's PDR on the reset-forcing miter, every other register free at power-up.
fn pdr(
    dir: &Path,
    pair: &Pair,
    load: &str,
    limit: Duration,
    stop: &AtomicBool,
) -> Result<Outcome, String> {
    let reset = input_with_role(pair.interface, Role::Reset);
    std::fs::write(dir.join("miter.v"), wrapper(pair.interface)?).map_err(|e| e.to_string())?;
    let script = format!(
        "{load}read_verilog miter.v\nhierarchy -top lowbit_proof\nproc -norom\nflatten\nopt -fast\n\
         techmap\nopt -fast\ndffunmap\naigmap\nsetundef -anyseq\nopt_clean\n\
         write_aiger -map miter.map miter.aig\n"
    );
    std::fs::write(dir.join("miter.ys"), script).map_err(|e| e.to_string())?;
    let Some((ok, log)) = yosys(dir, "miter.ys", "miter.log", None, stop)? else {
        return Ok(Outcome::Undecided("stopped".into()));
    };
    if !ok {
        return Ok(Outcome::Decided(Verdict::Failed {
            detail: format!(
                "yosys could not build the miter, see {}: {}",
                dir.join("miter.log").display(),
                tail(&log)
            ),
        }));
    }
    // `setundef -anyseq` above made every 'x' bit (an out-of-range index, say) a free
    // input, so no design may lean on one. `undc` turns the registers without a
    // power-up value into free inputs at frame 0; `dc2` shrinks the AIG.
    let secs = limit.as_secs().max(1);
    let abc = format!("read_aiger miter.aig; logic; undc; strash; dc2; print_stats; pdr -T {secs}");
    let log_path = dir.join("pdr.log");
    let log_file = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let mut cmd = Command::new("yosys-abc");
    cmd.args(["-c", &abc])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file);
    let status = run_limited(&mut cmd, limit + Duration::from_secs(10), "yosys-abc", stop)?;
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    if status.is_none() {
        return Ok(Outcome::Undecided(format!(
            "PDR: no result within {secs} s"
        )));
    }
    if log.contains("Property proved") {
        let clauses = log
            .lines()
            .find_map(|l| {
                let (_, rest) = l.split_once("Invariant F[")?;
                rest.split_once(": ")?
                    .1
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or(0);
        return Ok(Outcome::Decided(Verdict::Reachability { clauses }));
    }
    if let Some(frame) = log.lines().find_map(|l| {
        let (_, rest) = l.split_once("was asserted in frame ")?;
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse::<u32>()
            .ok()
    }) {
        // A trace of the difference from the bounded check, for the waveform viewer.
        let trace = match bounded(dir, load, reset.as_deref(), frame.max(1) + 2) {
            Ok(Verdict::Failed { .. }) => {
                format!(", trace in {}", dir.join("bounded.vcd").display())
            }
            _ => String::new(),
        };
        return Ok(Outcome::Decided(Verdict::Failed {
            detail: format!(
                "PDR: an output differs {frame} cycles after reset (see {}{trace})",
                log_path.display()
            ),
        }));
    }
    Ok(Outcome::Undecided(format!(
        "PDR undecided ({})",
        tail(&log).trim_end_matches('.')
    )))
}

/// Engine 3: both designs from reset, compared on every output for `depth` cycles.
fn bounded(dir: &Path, load: &str, reset: Option<&str>, depth: u32) -> Result<Verdict, String> {
    let reset = reset.map_or(String::new(), |r| format!("-set-at 1 in_{r} 1 "));
    let script = format!(
        "{load}miter -equiv -flatten -make_outputs -ignore_gold_x gold gate miter\n\
         hierarchy -top miter\nsat -verify -seq {depth} -set-init-zero {reset}\
         -prove trigger 0 -show-ports -dump_vcd bounded.vcd miter\n"
    );
    std::fs::write(dir.join("bounded.ys"), script).map_err(|e| e.to_string())?;
    let Some((ok, _)) = yosys(
        dir,
        "bounded.ys",
        "bounded.log",
        None,
        &AtomicBool::new(false),
    )?
    else {
        unreachable!("neither a time limit nor a stop")
    };
    Ok(if ok {
        Verdict::Bounded { depth }
    } else {
        Verdict::Failed {
            detail: format!(
                "the bounded check ({depth} cycles after reset) found a difference; see {}",
                dir.join("bounded.log").display()
            ),
        }
    })
}

/// The count before `what` in `equiv_status`'s "Of those cells N are proven and M are
/// unproven." line.
fn status_count(log: &str, what: &str) -> Option<u32> {
    let line = log.lines().rev().find(|l| l.contains("Of those cells"))?;
    let at = line.find(what)?;
    line[..at].split_whitespace().last()?.parse().ok()
}

/// The last error line of a log, or its last line.
fn tail(log: &str) -> String {
    log.lines()
        .rfind(|l| l.contains("ERROR") || l.contains("Error"))
        .or_else(|| log.lines().rfind(|l| !l.trim().is_empty()))
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Run a Yosys script; `(succeeded, log)`, or `None` when `limit` ran out first.
fn yosys(
    dir: &Path,
    script: &str,
    log: &str,
    limit: Option<Duration>,
    stop: &AtomicBool,
) -> Result<Option<(bool, String)>, String> {
    let err_path = dir.join(format!("{log}.stderr"));
    let err = std::fs::File::create(&err_path).map_err(|e| e.to_string())?;
    let mut cmd = Command::new("yosys");
    cmd.args(["-q", "-l", log, "-s", script])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err);
    let limit = limit.unwrap_or(Duration::MAX);
    let Some(status) = run_limited(&mut cmd, limit, "yosys", stop)? else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(dir.join(log)).unwrap_or_default()
        + &std::fs::read_to_string(&err_path).unwrap_or_default();
    Ok(Some((status.success(), text)))
}

/// Run `cmd` to completion, or kill it after `limit` or once `stop` is set (then `None`).
fn run_limited(
    cmd: &mut Command,
    limit: Duration,
    tool: &str,
    stop: &AtomicBool,
) -> Result<Option<std::process::ExitStatus>, String> {
    let mut child = cmd.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            YOSYS_HINT.replace("yosys not found", &format!("{tool} not found"))
        } else {
            format!("cannot start {tool}: {e}")
        }
    })?;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(Some(status));
        }
        if start.elapsed() >= limit || stop.load(Ordering::Relaxed) {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The proof table (Markdown): the verdict, its method, the engines that ran before
/// it without deciding, and the total time.
pub fn render(reports: &[ProofReport]) -> String {
    let mut t = String::from(
        "| module | result | method | tried first | seconds |\n| --- | --- | --- | --- | ---: |\n",
    );
    for r in reports {
        let result = match r.verdict {
            Verdict::Induction { .. } | Verdict::Reachability { .. } => "proven",
            Verdict::Bounded { .. } => "bounded",
            Verdict::Failed { .. } => "NOT PROVEN",
        };
        let before = if r.attempts.is_empty() {
            "—".to_string()
        } else {
            r.attempts.join("; ")
        };
        t += &format!(
            "| {} | {result} | {} | {before} | {:.1} |\n",
            r.module,
            r.method(),
            r.seconds
        );
    }
    t
}
