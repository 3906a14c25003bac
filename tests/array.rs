//! `gen synth --copies`: the array of N copies of a unit (`gen::synth::array`) is
//! lint-clean and behaves as N independent copies of the unit's model, with the control
//! ports shared and copy i's data at `[w*i +: w]`.

use gen::synth::array::{array, array_interface, array_name, ArrayModel};
use hdl::{design_files, Generate, Header};
use lowbit_tests::{random_stimulus, scratch, verilator_lint};
use model::iface::{get_field, CycleModel, Role};
use model::mac::{MacParams, Overflow};
use model::palq::{PalqPeParams, PalqShuffleParams};
use model::pipeline::Piped;
use model::UnitParams;
use sim::{cosim, CosimOptions, Verilated};

/// Lint `copies` copies of `p`, and co-simulate them against as many models of `p` on a
/// random stream (resets, clears, idle beats).
fn check<P: Generate>(p: &P, copies: u32, beats: usize, seed: u64) {
    let unit = p.rtl().expect("unit RTL");
    let iface = p.interface();
    let top = array(&unit, &iface, copies).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(top.name, array_name(&p.module_name(), copies));
    let files = design_files(
        &top,
        &Header {
            generator: "lowbit tests".into(),
            command: None,
        },
    );
    let dir = scratch(&format!("array/{}", top.name));
    verilator_lint(&dir, &files, &top.name).unwrap_or_else(|e| panic!("{e}"));
    let outer = array_interface(&iface, copies);
    let sources: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let dut = Verilated::build(&sources, &top.name, &outer).unwrap_or_else(|e| panic!("{e}"));
    let models = (0..copies).map(|_| p.model().expect("model")).collect();
    let mut model = ArrayModel::new(&iface, models);
    let stimulus = random_stimulus(&outer, beats, seed);
    cosim(&dut, &mut model, &stimulus, &CosimOptions::default())
        .unwrap_or_else(|e| panic!("{p:?} x{copies}: {e}"));
}

fn mac4() -> MacParams {
    MacParams {
        in_bits: 4,
        signed: true,
        acc_bits: 18,
        overflow: Overflow::Wrap,
        b: None,
    }
}

#[test]
fn three_macs_match_three_models() {
    check(&mac4(), 3, 4000, 1);
    // Saturating, so the sticky flag of each copy is its own.
    let sat = MacParams {
        acc_bits: 6,
        overflow: Overflow::Saturate,
        ..mac4()
    };
    check(&sat, 3, 4000, 2);
}

#[test]
fn three_pipelined_macs_match_three_models() {
    check(&Piped::new(mac4(), 2), 3, 4000, 3);
}

#[test]
fn three_palq_arrays_across_words_match_three_models() {
    // 64-bit w and a, 60-bit y per copy: the copies' slices straddle 64-bit words.
    check(&PalqPeParams::default(), 3, 3000, 4);
}

#[test]
fn combinational_unit_without_control() {
    check(&PalqShuffleParams::default(), 3, 500, 5);
}

#[test]
fn one_copy_is_the_unit_and_sixty_five_are_refused() {
    let p = mac4();
    let unit = p.rtl().expect("unit RTL");
    assert_eq!(array_interface(&p.interface(), 1), p.interface());
    let one = array(&unit, &p.interface(), 1).expect("one copy");
    assert_eq!(one.ports, unit.ports);
    assert!(array(&unit, &p.interface(), 65).is_err());
    assert!(array(&unit, &p.interface(), 0).is_err());
}

#[test]
fn control_is_shared_and_data_concatenated() {
    let p = mac4();
    let outer = array_interface(&p.interface(), 5);
    for (u, a) in p.interface().ports.iter().zip(&outer.ports) {
        assert_eq!(u.name, a.name);
        let shared = matches!(
            u.role,
            Role::Clock | Role::Reset | Role::InValid | Role::Clear | Role::OutValid
        );
        assert_eq!(
            a.width,
            if shared { u.width } else { 5 * u.width },
            "{}",
            u.name
        );
    }
    // Copy 2 of five alone sees a = 3, b = -2 (0xe) with clear: its accumulator is -6,
    // the others 0.
    let models = (0..5).map(|_| p.model().expect("model")).collect();
    let mut m = ArrayModel::new(&p.interface(), models);
    let mut ins = vec![0u64; outer.in_words()];
    let mut outs = vec![0u64; outer.out_words()];
    let (a, b) = (3u64 << 8, 0xeu64 << 8);
    let mut off = 0;
    for port in outer.beat_inputs() {
        ins[off] = match port.name.as_str() {
            "in_valid" | "clear" => 1,
            "a" => a,
            "b" => b,
            _ => 0,
        };
        off += port.words();
    }
    m.run(&ins, &mut outs);
    m.run(&vec![0u64; outer.in_words()], &mut outs);
    let acc = outer.out_offset("acc").expect("acc");
    for i in 0..5 {
        let v = get_field(&outs[acc..], 18 * i, 18);
        assert_eq!(v, if i == 2 { (1 << 18) - 6 } else { 0 }, "copy {i}");
    }
}
