//! Property tests over parameters AND inputs: for random parameter sets, the emitted
//! Verilog passes `verilator --lint-only -Wall`, reads and synthesizes in Yosys
//! (`synth_ice40`), compiles in Icarus, and its Verilator build matches the model on a
//! random beat stream with resets, clears and idle cycles.
//!
//! The check is generic over units (`lowbit_tests::check_unit`); each unit adds a
//! parameter strategy.

use lowbit_tests::check_unit;
use model::mac::{MacParams, Operand, Overflow};
use model::pipeline::Piped;
use model::UnitParams;
use proptest::prelude::*;

/// Half the cases have an operand `b` of its own width and signedness.
fn mac_params() -> impl Strategy<Value = Piped<MacParams>> {
    (
        2u32..=32,
        any::<bool>(),
        2u32..=64,
        prop_oneof![Just(Overflow::Saturate), Just(Overflow::Wrap)],
        0u32..=2,
        proptest::option::of((2u32..=32, any::<bool>())),
    )
        .prop_map(|(in_bits, signed, acc_bits, overflow, pipeline, b)| {
            Piped::new(
                MacParams {
                    in_bits,
                    signed,
                    acc_bits,
                    overflow,
                    b: b.map(|(bits, signed)| Operand { bits, signed }),
                },
                pipeline,
            )
        })
}

proptest! {
    // Each case builds a Verilator model and runs Yosys: 16 cases per run (the MAC is also
    // exhaustive for seven parameter sets), and few shrinking steps (each a rebuild).
    #![proptest_config(ProptestConfig { cases: lowbit_tests::cases(16), max_shrink_iters: 16, failure_persistence: lowbit_tests::regressions!("cosim.txt"), ..ProptestConfig::default() })]

    #[test]
    fn mac_rtl_matches_model(p in mac_params(), seed in any::<u64>(), beats in 500usize..4000) {
        check_unit(p, seed, beats).map_err(TestCaseError::fail)?;
    }
}

/// The narrowest and widest corners, every time (random sampling may miss them).
#[test]
fn mac_corners_match_model() {
    use Overflow::{Saturate, Wrap};
    let corners = [
        (2, 2, true, Saturate, 0),
        (2, 64, false, Wrap, 1),
        (32, 2, true, Wrap, 2),
        (32, 64, true, Saturate, 0),
        (32, 64, false, Saturate, 2),
        (8, 16, false, Saturate, 1),
    ];
    for (i, (in_bits, acc_bits, signed, overflow, pipeline)) in corners.into_iter().enumerate() {
        let p = Piped::new(
            MacParams {
                in_bits,
                signed,
                acc_bits,
                overflow,
                b: None,
            },
            pipeline,
        );
        check_unit(p, i as u64, 4000).unwrap_or_else(|e| panic!("{e}"));
    }
    // Mixed operands: the widest and narrowest pairs of each signedness.
    let mixed = [
        (32, true, (2, false), 64, Saturate, 0),
        (2, false, (32, true), 2, Wrap, 1),
        (32, false, (32, true), 64, Wrap, 2),
        (2, true, (2, false), 3, Saturate, 0),
        (32, false, (7, false), 40, Saturate, 1),
    ];
    for (i, (in_bits, signed, (bits, b_signed), acc_bits, overflow, pipeline)) in
        mixed.into_iter().enumerate()
    {
        let p = Piped::new(
            MacParams {
                in_bits,
                signed,
                acc_bits,
                overflow,
                b: Some(Operand {
                    bits,
                    signed: b_signed,
                }),
            },
            pipeline,
        );
        check_unit(p, 50 + i as u64, 4000).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The W4A8 worked case (docs/mac.md) on the RTL, expected values written out: int4
/// a = -8 times uint8 b = 255 is -2040 in a signed 12-bit saturating accumulator; a second
/// such beat leaves the range and saturates at -2048 with `ovf`; `7 * 255 = 1785` under
/// `clear` drops `ovf`.
#[test]
fn w4a8_worked_case_on_the_rtl() {
    let p = MacParams {
        in_bits: 4,
        acc_bits: 12,
        b: Some(Operand::unsigned(8)),
        ..MacParams::default()
    };
    let dut = lowbit_tests::verilate(&p);
    let mut rtl = dut.instance().unwrap();
    // Beats (rst, in_valid, clear, a, b): a is 4-bit two's complement (0x8 = -8, 0x7 = 7).
    let inputs = [
        [1, 0, 0, 0, 0],
        [0, 1, 1, 0x8, 0xff],
        [0, 1, 0, 0x8, 0xff],
        [0, 1, 1, 0x7, 0xff],
        [0, 0, 0, 0, 0],
    ];
    let mut got = vec![0u64; inputs.len() * 3];
    rtl.run(&inputs.concat(), &mut got);
    // Outputs (acc as 12 bits, ovf, out_valid) seen in each cycle, one cycle late.
    let expected = [
        [0, 0, 0],
        [0, 0, 0],
        [0x1000 - 2040, 0, 1],
        [0x800, 1, 1],
        [1785, 0, 1],
    ];
    assert_eq!(got, expected.concat());
    // The model agrees beat for beat.
    let mut model = p.model().unwrap();
    let mut out = [0u64; 3];
    for (i, beat) in inputs.iter().enumerate() {
        model.step(beat, &mut out);
        assert_eq!(out, expected[i], "cycle {i}");
    }
}

/// Deep pipelines cut the multiplier into partial products (`hdl::ir::pipeline`): signed
/// and unsigned, narrow and wide operands, against the model.
#[test]
fn mac_with_split_multipliers_matches_model() {
    for (i, (in_bits, signed, acc_bits, depth)) in [
        (8, true, 32, 4),
        (8, false, 32, 3),
        (16, true, 40, 4),
        (7, false, 20, 4),
        (13, true, 64, 6),
    ]
    .into_iter()
    .enumerate()
    {
        // The odd cases with a mixed operand b: 3 bits narrower, the other signedness.
        let b = (i % 2 == 1).then_some(Operand {
            bits: in_bits - 3,
            signed: !signed,
        });
        let p = Piped::new(
            MacParams {
                in_bits,
                signed,
                acc_bits,
                overflow: Overflow::Wrap,
                b,
            },
            depth,
        );
        let v = hdl::verilog::module_verilog(&hdl::Generate::rtl(&p).unwrap());
        // A mixed product is cut before it is narrowed (`prod_full`, hdl/src/units/mac.rs).
        let pp1 = if b.is_some() {
            "prod_full_pp1"
        } else {
            "prod_pp1"
        };
        assert!(v.contains(pp1), "{p:?}: no partial products");
        check_unit(p, 100 + i as u64, 3000).unwrap_or_else(|e| panic!("{e}"));
    }
}
