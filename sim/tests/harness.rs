//! The harness itself: the hand-written reference MAC (an independent oracle, not
//! generated) against the model, a deliberate mismatch, the build cache, wide ports.

use std::time::Instant;

use model::iface::{CycleModel, Dir, Interface, Port, Role};
use model::mac::{MacParams, Overflow};
use model::UnitParams;
use sim::{cosim, CosimOptions, SimError, Verilated};

const MAC_REF: &str = include_str!("../../tests/ref/mac_ref.v");

/// A reproducible stream for the MAC: rare resets, some idle beats and clears.
fn mac_stream(beats: usize, seed: u64) -> Vec<u64> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut s = Vec::with_capacity(beats * 5);
    for _ in 0..beats {
        let r = next();
        s.extend([
            (r % 211 == 0) as u64,
            (r % 7 != 0) as u64,
            (r % 16 == 0) as u64,
            next() & 0xff,
            next() & 0xff,
        ]);
    }
    s
}

fn reference() -> Verilated {
    Verilated::build(
        &[("mac_ref.v", MAC_REF)],
        "mac_ref",
        &MacParams::default().interface(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn hand_written_reference_matches_the_model() {
    let dut = reference();
    let mut model = MacParams::default().model().unwrap();
    let stats = cosim(
        &dut,
        model.as_mut(),
        &mac_stream(300_000, 1),
        &CosimOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.beats, 300_000);
}

#[test]
fn a_wrong_model_is_caught_with_a_waveform() {
    let dut = reference();
    // The RTL saturates; a wrapping model must disagree on the first overflow.
    let mut wrong = MacParams {
        overflow: Overflow::Wrap,
        ..MacParams::default()
    }
    .model()
    .unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mismatch");
    let opts = CosimOptions {
        vcd_dir: Some(dir),
        ..CosimOptions::default()
    };
    let err = cosim(&dut, wrong.as_mut(), &mac_stream(10_000, 5), &opts).unwrap_err();
    let SimError::Mismatch(m) = &err else {
        panic!("expected a mismatch, got {err}")
    };
    let text = err.to_string();
    for needle in [
        "mac_ref: RTL differs from the model at beat",
        "in_valid",
        "clear",
        "acc",
        "<-- differs",
    ] {
        assert!(text.contains(needle), "'{needle}' missing from:\n{text}");
    }
    assert!(m.beat > 0);
    let vcd = std::fs::read_to_string(m.vcd.as_ref().expect("a VCD")).unwrap();
    assert!(vcd.contains("$enddefinitions"), "{vcd}");
    assert!(vcd.contains("acc"), "the VCD traces the accumulator");
}

#[test]
fn a_second_build_comes_from_the_cache() {
    let first = reference();
    let t = Instant::now();
    let second = reference();
    let warm = t.elapsed();
    assert_eq!(first.library_path(), second.library_path());
    assert!(warm.as_secs_f64() < 1.0, "cached build took {warm:?}");
}

const WIDE: &str = "`default_nettype none
module wide (
    input  wire        clk,
    input  wire [99:0] x,
    output wire [99:0] y
);
    reg  [99:0] y_q;
    always @(posedge clk)
        y_q <= ~x;
    assign y = y_q;
endmodule
`default_nettype wire
";

#[derive(Clone)]
struct WideModel {
    iface: Interface,
    y: [u64; 2],
}

impl CycleModel for WideModel {
    fn interface(&self) -> &Interface {
        &self.iface
    }
    fn step(&mut self, i: &[u64], o: &mut [u64]) {
        o.copy_from_slice(&self.y);
        self.y = [!i[0], !i[1] & 0xf_ffff_ffff];
    }
}

#[test]
fn ports_wider_than_64_bits() {
    let iface = Interface {
        ports: vec![
            Port::bit("clk", Dir::In, Role::Clock),
            Port::int("x", Dir::In, 100, false),
            Port::int("y", Dir::Out, 100, false),
        ],
    };
    let dut =
        Verilated::build(&[("wide.v", WIDE)], "wide", &iface).unwrap_or_else(|e| panic!("{e}"));
    let mut model = WideModel { iface, y: [0, 0] };
    let stimulus: Vec<u64> = (0..2000u64)
        .flat_map(|k| [k.wrapping_mul(0x9e37_79b9_7f4a_7c15), k & 0xf_ffff_ffff])
        .collect();
    let stats = cosim(&dut, &mut model, &stimulus, &CosimOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.beats, 2000);
}

/// Split co-simulation: the stream is cut at reset beats, one part per thread, and a
/// difference in a later part is reported at the same beat, with the same values, as
/// the one-thread run finds it.
#[test]
fn split_runs_find_what_one_thread_finds() {
    let dut = reference();
    let iface = MacParams::default().interface();
    let stream = mac_stream(200_000, 3);
    let starts = sim::split_points(&iface, &stream, 4);
    assert_eq!(starts.len(), 4, "{starts:?}");
    assert_eq!(starts[0], 0);
    for s in &starts[1..] {
        assert_eq!(stream[s * 5], 1, "part at {s} starts on a reset beat");
    }
    // Agreeing streams pass whole.
    let mut good = MacParams::default().model().unwrap();
    let opts = |threads| CosimOptions {
        threads,
        vcd_dir: Some(std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("split")),
        ..CosimOptions::default()
    };
    assert_eq!(
        cosim(&dut, good.as_mut(), &stream, &opts(4)).unwrap().beats,
        200_000
    );
    // Zero operands for the first 70% of the stream: the wrapping model first differs
    // from the saturating RTL in a later part.
    let mut late = stream.clone();
    for b in 0..140_000 {
        late[b * 5 + 3] = 0;
        late[b * 5 + 4] = 0;
    }
    let wrong = || {
        MacParams {
            overflow: Overflow::Wrap,
            ..MacParams::default()
        }
        .model()
        .unwrap()
    };
    let find = |threads| match cosim(&dut, wrong().as_mut(), &late, &opts(threads)) {
        Err(SimError::Mismatch(m)) => m,
        other => panic!("expected a mismatch, got {other:?}"),
    };
    let (one, four) = (find(1), find(4));
    assert!(
        one.beat >= 140_000 && one.beat > starts[1] as u64,
        "{}",
        one.beat
    );
    assert_eq!((one.beat, &one.outputs), (four.beat, &four.outputs));
    assert!(four.vcd.is_some());
}
