//! The IR's module instances, end to end: a two-level design (a saturating adder
//! instantiated twice) is emitted one file per module, passes Verilator's `-Wall` lint,
//! Yosys and Icarus, and its Verilator build matches a small hand-written model.

use hdl::{design_files, design_verilog, Header, Module, ModuleBuilder};
use lowbit_tests::{iverilog_compile, random_stimulus, scratch, verilator_lint, yosys_synth_ice40};
use model::iface::{CycleModel, Dir, Interface, Port, Role};
use model::int;
use sim::{cosim, CosimOptions, Verilated};

const W: u32 = 8;

/// Combinational `y = saturate_W(a + b)`, signed.
fn sat_add() -> Module {
    let mut m = ModuleBuilder::new("sat_add");
    let a = m.input("a", W).unwrap();
    let b = m.input("b", W).unwrap();
    m.output("y", W).unwrap();
    let s = m.add_exact(a, b, true).unwrap();
    let s = m.name(s, "s").unwrap();
    let top = m.slice(s, W, W - 1).unwrap();
    let fits = {
        let x = m.bit(top, 1).unwrap();
        let y = m.bit(top, 0).unwrap();
        let differ = m.xor(x, y).unwrap();
        m.not(differ).unwrap()
    };
    let low = m.slice(s, W - 1, 0).unwrap();
    let neg = m.msb(s).unwrap();
    let max = m.lit(W, int::max_value(W, true)).unwrap();
    let min = m.lit(W, int::min_value(W, true)).unwrap();
    let limit = m.mux(neg, min, max).unwrap();
    let y = m.mux(fits, low, limit).unwrap();
    m.drive_output("y", y).unwrap();
    m.finish().unwrap()
}

/// `y_q <= sat(a + b)`, then `z_q <= sat(y_q + c)`: two instances of `sat_add`.
fn pair() -> Module {
    let child = sat_add();
    let mut m = ModuleBuilder::new("sat_pair");
    m.comment("Two chained saturating adders (IR instance test).");
    let clk = m.input("clk", 1).unwrap();
    let a = m.input("a", W).unwrap();
    let b = m.input("b", W).unwrap();
    let c = m.input("c", W).unwrap();
    m.output("y", W).unwrap();
    m.output("z", W).unwrap();
    let first = m
        .instance(&child, "u_first", &[("a", a), ("b", b)])
        .unwrap();
    let y = m.register("y_q", first["y"], clk, None, None).unwrap();
    let second = m
        .instance(&child, "u_second", &[("a", y), ("b", c)])
        .unwrap();
    let z = m.register("z_q", second["y"], clk, None, None).unwrap();
    m.drive_output("y", y).unwrap();
    m.drive_output("z", z).unwrap();
    m.finish().unwrap()
}

fn iface() -> Interface {
    Interface {
        ports: vec![
            Port::bit("clk", Dir::In, Role::Clock),
            Port::int("a", Dir::In, W, true),
            Port::int("b", Dir::In, W, true),
            Port::int("c", Dir::In, W, true),
            Port::int("y", Dir::Out, W, true),
            Port::int("z", Dir::Out, W, true),
        ],
    }
}

struct PairModel {
    iface: Interface,
    y: i128,
    z: i128,
}

impl CycleModel for PairModel {
    fn interface(&self) -> &Interface {
        &self.iface
    }
    fn step(&mut self, i: &[u64], o: &mut [u64]) {
        let v = |k: usize| int::from_bits(i[k] as u128, W, true);
        o[0] = int::to_bits(self.y, W) as u64;
        o[1] = int::to_bits(self.z, W) as u64;
        let y = int::saturate(v(0) + v(1), W, true);
        self.z = int::saturate(self.y + v(2), W, true);
        self.y = y;
    }
}

#[test]
fn instances_emit_lint_synthesize_and_simulate() {
    let top = pair();
    let header = Header {
        generator: "lowbit tests".into(),
        command: None,
    };
    let files = design_files(&top, &header);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["sat_add.v", "sat_pair.v"],
        "children first, one file each"
    );
    let single = design_verilog(&top, &header);
    assert_eq!(
        single.matches("\nmodule sat_add (").count(),
        1,
        "the child is emitted once"
    );
    assert!(single.contains("    sat_add u_second (\n        .a(y_q),\n        .b(c),\n        .y(u_second_y)\n    );"), "{single}");

    let dir = scratch("ir-instances");
    verilator_lint(&dir, &files, "sat_pair").unwrap();
    yosys_synth_ice40(&dir, &files, "sat_pair").unwrap();
    iverilog_compile(&dir, &files, "sat_pair").unwrap();

    let sources: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let dut = Verilated::build(&sources, "sat_pair", &iface()).unwrap_or_else(|e| panic!("{e}"));
    let mut model = PairModel {
        iface: iface(),
        y: 0,
        z: 0,
    };
    // Registers without reset power up at zero in Verilator and in the model; the first
    // beats after power-up are compared too.
    let stimulus = random_stimulus(&iface(), 20_000, 7);
    cosim(&dut, &mut model, &stimulus, &CosimOptions::default()).unwrap_or_else(|e| panic!("{e}"));
}
