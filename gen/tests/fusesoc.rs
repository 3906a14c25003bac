//! `gen <unit> --output-dir DIR --core` read back by FuseSoC itself (from PyPI, `make
//! fpga-tools`): the core parses, and its `lint` target runs Verilator -Wall on the
//! emitted Verilog and passes; a design with a lint warning fails it, so the target
//! really lints.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fusesoc() -> PathBuf {
    match gen::tools::find("fusesoc", None) {
        Some(f) => f.path,
        None => panic!(
            "fusesoc is not installed: {}",
            gen::tools::install_hint("fusesoc")
        ),
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("fusesoc")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the command runs")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout)
}

/// Emit `args` with `--core` into a fresh folder; the core's name and the folder.
fn emit(name: &str, args: &[&str]) -> (String, PathBuf) {
    let dir = scratch(name);
    let cores = dir.join("cores");
    let o = run(Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(args)
        .arg("--output-dir")
        .arg(&cores)
        .arg("--core"));
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    let core = std::fs::read_dir(&cores)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "core"))
        .expect("a .core file");
    let body = std::fs::read_to_string(&core).unwrap();
    let vlnv = body
        .lines()
        .find_map(|l| l.strip_prefix("name: "))
        .expect("a name line")
        .to_string();
    (vlnv, dir)
}

/// FuseSoC's lint target on the core in `dir/cores`.
fn lint(vlnv: &str, dir: &Path) -> Output {
    run(Command::new(fusesoc())
        .current_dir(dir)
        .arg("--cores-root")
        .arg(dir.join("cores"))
        .args(["run", "--build-root"])
        .arg(dir.join("build"))
        .args(["--target", "lint", vlnv]))
}

#[test]
fn fusesoc_reads_the_cores_and_lints_them() {
    let cases: &[(&str, &[&str])] = &[
        ("mac", &["--acc", "12"]),
        ("bfp_dot_p2", &["bfp-dot", "--pipeline", "2"]),
        ("palq_shuffle", &["palq-shuffle"]),
        (
            "requant_golden",
            &["requant", "--per-channel", "4", "--golden"],
        ),
    ];
    for (name, args) in cases {
        let (vlnv, dir) = emit(name, args);
        let library = if args.contains(&"--golden") {
            "reference"
        } else {
            "unit"
        };
        assert!(vlnv.starts_with(&format!("lowbit:{library}:")), "{vlnv}");
        let info = run(Command::new(fusesoc())
            .arg("--cores-root")
            .arg(dir.join("cores"))
            .args(["core-info", &vlnv]));
        assert!(info.status.success(), "{vlnv}: {}", text(&info));
        assert!(text(&info).contains("lint"), "{}", text(&info));
        let o = lint(&vlnv, &dir);
        assert!(o.status.success(), "{vlnv}: {}", text(&o));
    }
}

#[test]
fn the_lint_target_fails_on_a_lint_warning() {
    let (vlnv, dir) = emit("broken", &["--acc", "12"]);
    let v = std::fs::read_dir(dir.join("cores"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "v"))
        .unwrap();
    let body = std::fs::read_to_string(&v).unwrap();
    let at = body.rfind("endmodule").unwrap();
    let broken = format!("{}  wire stray;\n{}", &body[..at], &body[at..]);
    std::fs::write(&v, broken).unwrap();
    let o = lint(&vlnv, &dir);
    assert!(!o.status.success(), "a stray wire passed the lint target");
    assert!(text(&o).contains("UNUSEDSIGNAL"), "{}", text(&o));
}
