//! Property tests over parameters AND inputs: for random parameter sets, the emitted
//! Verilog passes `verilator --lint-only -Wall`, reads and synthesizes in Yosys
//! (`synth_ice40`), compiles in Icarus, and its Verilator build matches the model on a
//! random beat stream with resets, clears and idle cycles.
//!
//! The check is generic over units (`lowbit_tests::check_unit`); each unit adds a
//! parameter strategy.

use lowbit_tests::check_unit;
use model::mac::{MacParams, Overflow};
use model::pipeline::Piped;
use proptest::prelude::*;

fn mac_params() -> impl Strategy<Value = Piped<MacParams>> {
    (
        2u32..=32,
        any::<bool>(),
        2u32..=64,
        prop_oneof![Just(Overflow::Saturate), Just(Overflow::Wrap)],
        0u32..=2,
    )
        .prop_map(|(in_bits, signed, acc_bits, overflow, pipeline)| {
            Piped::new(
                MacParams {
                    in_bits,
                    signed,
                    acc_bits,
                    overflow,
                    b: None,
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
        let p = Piped::new(
            MacParams {
                in_bits,
                signed,
                acc_bits,
                overflow: Overflow::Wrap,
                b: None,
            },
            depth,
        );
        let v = hdl::verilog::module_verilog(&hdl::Generate::rtl(&p).unwrap());
        assert!(v.contains("prod_pp1"), "{p:?}: no partial products");
        check_unit(p, 100 + i as u64, 3000).unwrap_or_else(|e| panic!("{e}"));
    }
}
