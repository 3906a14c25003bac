//! Formal equivalence of a generated unit and its behavioural golden
//! (`hdl::golden`) with Yosys's equivalence flow.
//!
//! Both designs are read, `proc`-ed and flattened; every internal name except the shared
//! state registers the golden declares is hidden, so `equiv_make` pairs the ports and
//! that state only. `equiv_simple` and `equiv_induct` (with a window longer than the
//! pipeline) then try to prove every pair; `equiv_status -assert` decides. When
//! induction does not close, the prover says so and runs a bounded check instead: a
//! miter of the two designs from reset, `sat` over a stated number of cycles. Either the
//! result names its method and depth, or it is a failure; there is no silent pass.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// How a proof ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Every output and shared register proven equal for all time (induction).
    Proven { cells: u32, seq: u32 },
    /// Induction did not close; no difference within `depth` cycles after a reset.
    Bounded { unproven: u32, depth: u32 },
    /// A difference exists (or the bounded check failed).
    Failed { detail: String },
}

/// The outcome of one proof.
#[derive(Clone, Debug)]
pub struct ProofReport {
    pub module: String,
    pub verdict: Verdict,
    pub seconds: f64,
    /// The folder with the scripts and logs.
    pub dir: PathBuf,
}

impl ProofReport {
    /// One line for a person.
    pub fn summary(&self) -> String {
        let how = match &self.verdict {
            Verdict::Proven { cells, seq } => format!(
                "proven equal by induction ({cells} equivalence points, window {seq} cycles)"
            ),
            Verdict::Bounded { unproven, depth } => format!(
                "induction did not close ({unproven} points unproven); bounded check: no \
                 difference within {depth} cycles after reset"
            ),
            Verdict::Failed { detail } => format!("NOT PROVEN: {detail}"),
        };
        format!("{}: {how} in {:.1} s", self.module, self.seconds)
    }

    pub fn passed(&self) -> bool {
        !matches!(self.verdict, Verdict::Failed { .. })
    }
}

/// How to install Yosys.
pub const YOSYS_HINT: &str =
    "yosys not found: run `make tools` (Debian: apt-get install yosys) to install it";

/// Prove `gate` (the generated files) equal to `golden` (one file), top module `top`.
/// `state` names the registers both keep; `latency` sizes the windows.
pub fn prove(
    dir: &Path,
    top: &str,
    golden: &str,
    gate: &[(String, String)],
    state: &[String],
    latency: u32,
) -> Result<ProofReport, String> {
    let start = Instant::now();
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).map_err(|e| format!("{}: {e}", dir.display()))
    };
    write("golden.v", golden)?;
    let mut gate_files = Vec::new();
    for (name, text) in gate {
        let name = format!("gate_{name}");
        write(&name, text)?;
        gate_files.push(name);
    }
    let seq = latency + 2;
    let read = |files: &[String], role: &str| {
        format!(
            "{reads}\nhierarchy -top {top}\nproc\nflatten\nopt_clean\nrename {top} {role}\n\
             design -stash {role}\n",
            reads = files
                .iter()
                .map(|f| format!("read_verilog {f}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    };
    let keep = state.iter().map(|s| format!(" w:{s}")).collect::<String>();
    let unions = "%u ".repeat(state.len().saturating_sub(1));
    let hide = |m: &str| {
        if state.is_empty() {
            format!("rename -hide {m}/w:* {m}/c:*\n")
        } else {
            format!(
                "cd {m}\nrename -hide w:*{keep} {unions}%d\nrename -hide c:*\ncd\n",
                unions = unions
            )
        }
    };
    let load = format!(
        "{gold}{gate}design -copy-from gold -as gold gold\ndesign -copy-from gate -as gate gate\n",
        gold = read(&["golden.v".into()], "gold"),
        gate = read(&gate_files, "gate"),
    );
    let script = format!(
        "{load}{hg}{ht}equiv_make gold gate equiv\nhierarchy -top equiv\n\
         equiv_simple -seq {seq}\nequiv_induct -seq {seq}\nequiv_status -assert\n",
        hg = hide("gold"),
        ht = hide("gate"),
    );
    write("equiv.ys", &script)?;
    let (ok, log) = yosys(dir, "equiv.ys", "equiv.log")?;
    let cells = status_count(&log, "are proven");
    if ok {
        return Ok(ProofReport {
            module: top.into(),
            verdict: Verdict::Proven {
                cells: cells.unwrap_or(0),
                seq,
            },
            seconds: start.elapsed().as_secs_f64(),
            dir: dir.into(),
        });
    }
    let Some(unproven) = status_count(&log, "are unproven") else {
        // Yosys stopped before the status: a read or equiv_make error.
        return Ok(ProofReport {
            module: top.into(),
            verdict: Verdict::Failed {
                detail: format!(
                    "yosys failed, see {}: {}",
                    dir.join("equiv.log").display(),
                    tail(&log)
                ),
            },
            seconds: start.elapsed().as_secs_f64(),
            dir: dir.into(),
        });
    };
    // Bounded fallback: both designs from reset, compared on every output.
    let depth = 4 * latency + 12;
    let bmc = format!(
        "{load}miter -equiv -flatten -make_outputs -ignore_gold_x gold gate miter\n\
         hierarchy -top miter\nsat -verify -seq {depth} -set-init-zero -set-at 1 in_rst 1 \
         -prove trigger 0 -show-ports miter\n"
    );
    write("bounded.ys", &bmc)?;
    let (ok, _) = yosys(dir, "bounded.ys", "bounded.log")?;
    let verdict = if ok {
        Verdict::Bounded { unproven, depth }
    } else {
        Verdict::Failed {
            detail: format!(
                "{unproven} equivalence points unproven by induction and the bounded check \
                 ({depth} cycles after reset) found a difference; see {}",
                dir.join("bounded.log").display()
            ),
        }
    };
    Ok(ProofReport {
        module: top.into(),
        verdict,
        seconds: start.elapsed().as_secs_f64(),
        dir: dir.into(),
    })
}

/// The count before `what` in `equiv_status`'s "Of those cells N are proven and M are
/// unproven." line.
fn status_count(log: &str, what: &str) -> Option<u32> {
    let line = log.lines().rev().find(|l| l.contains("Of those cells"))?;
    let at = line.find(what)?;
    line[..at].split_whitespace().last()?.parse().ok()
}

fn tail(log: &str) -> String {
    log.lines()
        .rfind(|l| l.contains("ERROR") || l.contains("Error"))
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Run a Yosys script; `(succeeded, log)`.
fn yosys(dir: &Path, script: &str, log: &str) -> Result<(bool, String), String> {
    let out = Command::new("yosys")
        .args(["-q", "-l", log, "-s", script])
        .current_dir(dir)
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                YOSYS_HINT.to_string()
            } else {
                format!("cannot start yosys: {e}")
            }
        })?;
    let text = std::fs::read_to_string(dir.join(log)).unwrap_or_default()
        + &String::from_utf8_lossy(&out.stderr);
    Ok((out.status.success(), text))
}

/// Unit kinds with a behavioural reference.
pub const UNITS_WITH_GOLDEN: &[&str] = &[
    "mac",
    "lns_mul",
    "lns_mac",
    "expq_quant",
    "bfp_add",
    "expq_dot",
];

/// The MAC configurations `gen prove-all` proves: the default and the corners of each
/// parameter (unsigned, wrap, pipelined, narrow and wide).
pub fn mac_set() -> Vec<model::mac::MacParams> {
    use model::mac::{MacParams, Overflow};
    let d = MacParams::default();
    vec![
        d,
        MacParams {
            overflow: Overflow::Wrap,
            ..d
        },
        MacParams {
            signed: false,
            acc_bits: 20,
            ..d
        },
        MacParams {
            pipeline: 2,
            acc_bits: 32,
            ..d
        },
        MacParams {
            in_bits: 4,
            acc_bits: 6,
            pipeline: 1,
            ..d
        },
    ]
}

/// The `lns_mul` configurations `gen prove-all` proves.
pub fn lns_mul_set() -> Vec<model::lns::LnsMulParams> {
    vec![model::lns::LnsMulParams::default()]
}

/// The `lns_mac` configurations `gen prove-all` proves.
pub fn lns_mac_set() -> Vec<model::lns::LnsMacParams> {
    use model::lns::LnsMacParams;
    let d = LnsMacParams::default();
    vec![
        d,
        LnsMacParams {
            overflow: model::mac::Overflow::Wrap,
            ..d
        },
    ]
}

/// The `expq_quant` configurations `gen prove-all` proves: base 2, and base 1.5 with a
/// scale (uneven thresholds).
pub fn expq_quant_set() -> Vec<model::expq::ExpqQuantParams> {
    use model::expq::ExpqQuantParams;
    let d = ExpqQuantParams::default();
    let mut odd = d.clone();
    odd.base = "1.5".parse().expect("a decimal base");
    odd.alpha = model::expq::parse_scale("0.75").expect("a decimal scale");
    vec![d, odd]
}

/// The `bfp_add` configurations `gen prove-all` proves: the default (HBFP4, 16
/// elements, RNE) and small blocks in each rounding mode.
pub fn bfp_add_set() -> Vec<model::bfp::BfpAddParams> {
    use model::bfp::{BfpAddParams, BfpRounding};
    let d = BfpAddParams::default();
    vec![
        d,
        BfpAddParams {
            block: 4,
            mant_bits: 6,
            rounding: BfpRounding::Rz,
            ..d
        },
        BfpAddParams {
            block: 2,
            exp_bits: 4,
            rounding: BfpRounding::Sr,
            rnd_bits: 3,
            ..d
        },
    ]
}

/// The `expq_dot` configurations `gen prove-all` proves: the default and a base that
/// is not a power of two.
pub fn expq_dot_set() -> Vec<model::expq::ExpqDotParams> {
    use model::expq::ExpqDotParams;
    let d = ExpqDotParams::default();
    let mut odd = d.clone();
    odd.base = "1.5".parse().expect("a decimal base");
    odd.exp_bits = 2;
    vec![d, odd]
}

/// The `bfp_quant` configurations `gen prove-all` proves: the default (16 elements per
/// beat, RNE; about 85 s) and small blocks in the other rounding modes.
pub fn bfp_quant_set() -> Vec<model::bfp::BfpQuantParams> {
    use model::bfp::{BfpQuantParams, BfpRounding};
    let d = BfpQuantParams::default();
    vec![
        d,
        BfpQuantParams {
            block: 4,
            rounding: BfpRounding::Rz,
            mant_bits: 6,
            ..d
        },
        BfpQuantParams {
            block: 2,
            rounding: BfpRounding::Sr,
            rnd_bits: 4,
            ..d
        },
    ]
}

/// The `fpacc` configurations `gen prove-all` proves. Narrow ones only: SAT-based
/// induction on a float adder against a differently built one grows steeply with the
/// widths (E4M7 with 6-bit operands takes about a minute; the default, 8-bit operands
/// into E4M7, does not finish in 15 minutes), so the default configuration is checked
/// by co-simulation of its reference against the model instead (`tests/golden.rs`).
pub fn fpacc_set() -> Vec<model::fpacc::FpaccParams> {
    use model::float::{FloatFormat, Rounding};
    use model::fpacc::{FpaccParams, Operand};
    let f = |exp_bits, man_bits, bias| FloatFormat {
        exp_bits,
        man_bits,
        bias,
        reserve_top_exponent: false,
    };
    let small = FpaccParams {
        operand: Operand::Int { bits: 4, frac: 0 },
        product: f(3, 3, 4),
        acc: f(3, 3, 4),
        ..FpaccParams::default()
    };
    vec![
        small,
        FpaccParams {
            operand: Operand::Int { bits: 5, frac: 0 },
            product: f(4, 4, 7),
            acc: f(4, 4, 7),
            ..small
        },
        FpaccParams {
            chunk: 4,
            pipeline: 2,
            ..small
        },
        FpaccParams {
            operand: Operand::Float { format: f(2, 2, 1) },
            rounding: Rounding::Rz,
            pipeline: 1,
            ..small
        },
        FpaccParams {
            operand: Operand::Int { bits: 3, frac: 0 },
            product: f(4, 4, 6),
            acc: f(3, 2, 3),
            ..small
        },
    ]
}

/// The proof table (Markdown).
pub fn render(reports: &[ProofReport]) -> String {
    let mut t =
        String::from("| module | result | method | seconds |\n| --- | --- | --- | ---: |\n");
    for r in reports {
        let (result, method) = match &r.verdict {
            Verdict::Proven { cells, seq } => (
                "proven".to_string(),
                format!("induction, window {seq}, {cells} points"),
            ),
            Verdict::Bounded { unproven, depth } => (
                "bounded".to_string(),
                format!(
                    "induction left {unproven} points; no difference in {depth} cycles from reset"
                ),
            ),
            Verdict::Failed { detail } => ("NOT PROVEN".to_string(), detail.clone()),
        };
        t += &format!(
            "| {} | {result} | {method} | {:.1} |\n",
            r.module, r.seconds
        );
    }
    t
}
