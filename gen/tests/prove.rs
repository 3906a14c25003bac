//! Formal equivalence: every unit with a behavioural reference is proven equal to it on
//! the configurations `gen prove-all` uses, through the binary as a user runs it; and a
//! deliberately broken unit must be reported unproven.

use std::path::PathBuf;
use std::process::Command;

use gen::prove::{prove, Verdict};
use hdl::{design_files, Generate, Header};
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

/// `gen prove-all` proves every configuration and prints the table with times.
#[test]
fn every_unit_with_a_reference_is_proven() {
    require_yosys();
    let dir = scratch("all");
    let out = Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(["prove-all", "--output", "prove.md"])
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
        assert!(
            row.contains("| proven |") || row.contains("| bounded |"),
            "{row}"
        );
    }
    for kind in gen::prove::UNITS_WITH_GOLDEN {
        assert!(
            rows.iter().any(|r| r.starts_with(&format!("| {kind}_"))),
            "{kind}: {stdout}"
        );
    }
    assert!(dir.join("prove.md").is_file());
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
    let reference = p.golden().unwrap().unwrap();
    let golden = hdl::golden::golden_file(&p, &reference, &header);
    let state = reference.state;
    let dir = scratch("mutant");
    let report = prove(&dir, &p.module_name(), &golden, &files, &state, p.latency()).unwrap();
    assert!(
        matches!(report.verdict, Verdict::Failed { .. }),
        "the mutant passed: {}",
        report.summary()
    );
    // The unmutated unit passes in the same place.
    let files = design_files(&p.rtl().unwrap(), &header);
    let dir = scratch("original");
    let report = prove(&dir, &p.module_name(), &golden, &files, &state, p.latency()).unwrap();
    assert!(report.passed(), "{}", report.summary());
}

/// Where induction cannot close (hidden state encoded differently in the two designs),
/// the prover says so and falls back to a bounded check from reset, with its depth.
#[test]
fn hidden_state_falls_back_to_a_bounded_check() {
    require_yosys();
    // Both raise `o` every eighth cycle after reset; one counts up, the other down.
    let gold = "module cnt (input wire clk, input wire rst, output wire o);
    reg [2:0] c;
    always @(posedge clk) c <= rst ? 3'h0 : c + 3'h1;
    assign o = c == 3'h7;
endmodule
";
    let gate = "module cnt (input wire clk, input wire rst, output wire o);
    reg [2:0] d;
    always @(posedge clk) d <= rst ? 3'h7 : d - 3'h1;
    assign o = d == 3'h0;
endmodule
";
    let files = vec![("cnt.v".to_string(), gate.to_string())];
    let report = prove(&scratch("bounded"), "cnt", gold, &files, &[], 1).unwrap();
    assert_eq!(
        report.verdict,
        Verdict::Bounded {
            unproven: 1,
            depth: 16
        },
        "{}",
        report.summary()
    );
    // A gate that differs after six cycles is caught by the bounded check.
    let wrong = gate.replace("3'h7 : d", "3'h6 : d");
    let files = vec![("cnt.v".to_string(), wrong)];
    let report = prove(&scratch("bounded_wrong"), "cnt", gold, &files, &[], 1).unwrap();
    assert!(
        matches!(report.verdict, Verdict::Failed { .. }),
        "{}",
        report.summary()
    );
}
