//! The generic adapter ([`rusthdl::Packed`]) on several units: rust-hdl's simulator
//! (running our model) against Verilator on the Verilog rust-hdl emits for the block
//! (its wrapper around our module), on random beats; and the width checks.

use model::iface::{Dir, Interface, Port, Role};
use std::process::Command;

use model::Sampler;
use rusthdl::rust_hdl_core::prelude::*;
use rusthdl::{bits_to_words, words_to_bits, Behaviour, Packed, UnitBlock};
use sim::Verilated;

const BEATS: usize = 5_000;

/// Random beats for a packed block: every input bit uniform, but reset (bit 0, the first
/// beat input of every clocked unit) only once in 200 beats.
fn run_both<B: Behaviour, const I: usize, const O: usize>(mut block: Packed<B, I, O>, seed: u64) {
    block.clock.connect();
    block.inputs.connect();
    block.connect_all();
    let v = generate_verilog(&block);
    lint_only_declfilename(block.module(), &v);
    let iface = Interface {
        ports: vec![
            Port::bit("clock", Dir::In, Role::Clock),
            Port::int("inputs", Dir::In, I as u32, false),
            Port::int("outputs", Dir::Out, O as u32, false),
        ],
    };
    let rtl = Verilated::build(&[("top.v", &v)], "top", &iface).unwrap();
    let mut inst = rtl.instance().unwrap();
    let (iw, ow) = (I.div_ceil(64), O.div_ceil(64));
    let clocked = block
        .interface()
        .ports
        .iter()
        .any(|p| p.role == Role::Clock);
    let mut r = Sampler::new(seed);
    let mut ins = vec![0u64; BEATS * iw];
    for (t, beat) in ins.chunks_mut(iw).enumerate() {
        beat.iter_mut().for_each(|w| *w = r.next_u64());
        if clocked {
            beat[0] = (beat[0] & !1) | u64::from(t == 0 || r.one_in(200));
        }
        if !I.is_multiple_of(64) {
            beat[iw - 1] &= (1u64 << (I % 64)) - 1;
        }
    }
    let mut want = vec![0u64; BEATS * ow];
    inst.run(&ins, &mut want);
    let mut got = vec![0u64; ow];
    let mut changes = 0;
    for (t, (i, w)) in ins.chunks(iw).zip(want.chunks(ow)).enumerate() {
        block.inputs.next = words_to_bits(i);
        block.clock.next = Clock::from(false);
        assert!(simulate(&mut block, 100), "beat {t}: no settling");
        bits_to_words(block.outputs.val(), &mut got);
        assert_eq!(got, w, "{}: beat {t}, inputs {i:x?}", block.module());
        block.clock.next = Clock::from(true);
        assert!(simulate(&mut block, 100), "beat {t}: no settling");
        if t > 0 && want[(t - 1) * ow..t * ow] != *w {
            changes += 1;
        }
    }
    assert!(
        changes > BEATS / 10,
        "{}: outputs changed {changes} times",
        block.module()
    );
}

#[test]
fn mac_wrap_unsigned() {
    let p = model::mac::MacParams {
        in_bits: 6,
        signed: false,
        acc_bits: 14,
        overflow: model::mac::Overflow::Wrap,
        b: None,
    };
    let m = model::mac::Mac::new(p).unwrap();
    run_both(Packed::<_, 15, 16>::new(&p, m).unwrap(), 1);
}

#[test]
fn bfp_dot_default_wide_ports() {
    let p = model::bfp::BfpDotParams::default();
    let m = model::bfp::BfpDot::new(p).unwrap();
    run_both(Packed::<_, 151, 35>::new(&p, m).unwrap(), 2);
}

#[test]
fn requant_two_channels_two_lanes() {
    let p = model::requant::RequantParams {
        per_channel: 2,
        lanes: 2,
        ..Default::default()
    };
    let m = model::requant::Requant::new(p).unwrap();
    // rst, in_valid, acc 2 x 32, mult 2 x 32, shift 2 x 6, zp 2 x 32; y 2 x 8, out_valid
    run_both(Packed::<_, 206, 17>::new(&p, m).unwrap(), 3);
}

#[test]
fn fpacc_default() {
    let p = model::fpacc::FpaccParams::default();
    let m = model::fpacc::Fpacc::new(p).unwrap();
    run_both(Packed::<_, 19, 15>::new(&p, m).unwrap(), 4);
}

#[test]
fn lns_mul_without_a_clock() {
    let p = model::lns::LnsMulParams::default();
    run_both(Packed::<_, 16, 9>::combinational(&p).unwrap(), 5);
}

#[test]
fn palq_shuffle_without_a_clock() {
    let p = model::palq::PalqShuffleParams::default();
    run_both(Packed::<_, 32, 32>::combinational(&p).unwrap(), 6);
}

#[test]
fn a_clocked_unit_is_not_taken_as_combinational() {
    let e = Packed::<_, 19, 14>::combinational(&model::mac::MacParams::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("has state: use Packed::of"), "{e}");
}

/// rust-hdl's file for a lone block (its wrapper module `top`, then ours) under
/// `verilator --lint-only -Wall`: the only finding is DECLFILENAME (several modules in
/// one file); the wrapper itself, including the `unused_clock` of a unit without a
/// clock, is clean.
fn lint_only_declfilename(module: &str, v: &str) {
    sim::require_tool("verilator").unwrap();
    let dir = std::env::temp_dir().join(format!("lowbit-rusthdl-{}-{module}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("top.v"), v).unwrap();
    let out = Command::new("verilator")
        .current_dir(&dir)
        .args(["--lint-only", "-Wall", "top.v"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    let findings: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("%Warning") || l.starts_with("%Error"))
        .filter(|l| !l.starts_with("%Error: Exiting due to"))
        .collect();
    assert_eq!(findings.len(), 1, "{module}: {text}");
    assert!(
        findings[0].starts_with("%Warning-DECLFILENAME: top.v:"),
        "{module}: {text}"
    );
}

#[test]
fn widths_that_differ_from_the_parameters_are_refused_by_name() {
    let p = model::mac::MacParams {
        acc_bits: 20,
        ..Default::default()
    };
    let e = rusthdl::Mac::<8, 12>::new(p).unwrap_err().to_string();
    assert_eq!(
        e,
        "mac_s8x8_acc20_sat: port `acc` is 20 bits wide with these parameters, but the \
         block's type declares 12 bits"
    );
    let e = Packed::<_, 19, 14>::new(&p, model::mac::Mac::new(p).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("port `outputs` is 22 bits wide"), "{e}");
    // A parameter out of range is the model's error, named by flag.
    let bad = model::mac::MacParams {
        acc_bits: 99,
        ..Default::default()
    };
    let e = rusthdl::Mac::<8, 99>::new(bad).unwrap_err().to_string();
    assert!(e.contains("--acc"), "{e}");
}
