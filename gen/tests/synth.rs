//! The FPGA flow as `make synth` runs it: a bitstream and a sane report with Debian's
//! tools and with the YoWASP builds (iCE40 and ECP5), DSP mapping, the hand-written
//! reference, and a lint-clean wrapper.

use std::process::Command;

use gen::synth::{reference_source, synthesize, wrapper, Device, SynthArgs, Tools};
use hdl::{design_files, Generate, Header};
use model::mac::MacParams;
use model::UnitParams;

fn args(dsp: bool, out: &str) -> SynthArgs {
    SynthArgs {
        device: Device::Up5k,
        dsp,
        tools: Tools::Debian,
        freq: 100.0,
        seed: 1,
        out: Some(std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(out)),
        reference: false,
        json: None,
    }
}

fn generated(p: &MacParams) -> Vec<(String, String)> {
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
        MacParams::default(),
        MacParams {
            in_bits: 2,
            acc_bits: 2,
            pipeline: 2,
            ..MacParams::default()
        },
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
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && text.trim().is_empty(), "{text}");
    }
}
