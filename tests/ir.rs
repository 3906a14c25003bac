//! The IR end to end. Module instances: a two-level design (a saturating adder
//! instantiated twice) is emitted one file per module, passes Verilator's `-Wall` lint,
//! Yosys and Icarus, and its Verilator build matches a small hand-written model. The typed
//! layer and its library (exact sums, products, saturate, clamp, round, leading zeros,
//! barrel shifts, a registered stage) are checked the same way against plain integer
//! arithmetic over every input of small widths.

use hdl::ir::{ExprOps, Round, Stage, Val};
use hdl::{design_files, design_verilog, Header, Module, ModuleBuilder};
use lowbit_tests::{iverilog_compile, random_stimulus, scratch, verilator_lint, yosys_synth_ice40};
use model::iface::{CycleModel, Dir, Interface, Port, Role};
use model::int;
use sim::{cosim, CosimOptions, Verilated};

const W: u32 = 8;

/// Combinational `y = saturate_W(a + b)`, signed, on the typed layer.
fn sat_add() -> Module {
    let mut m = ModuleBuilder::new("sat_add");
    let a = m.input("a", W).unwrap().s();
    let b = m.input("b", W).unwrap().s();
    m.output("y", W).unwrap();
    let s = m.wire("s", a + b).unwrap();
    let (y, _) = m.saturate("y_sat", s, W).unwrap();
    m.out("y", y).unwrap();
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

#[derive(Clone)]
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

/// The library's results for `a` (5 bits signed), `b` (4 bits unsigned) and `amt` (3 bits):
/// name, width, value.
fn library_results(a: i128, b: i128, amt: u32) -> Vec<(&'static str, u32, i128)> {
    let rne = {
        let (q, r) = (a.div_euclid(4), a.rem_euclid(4));
        q + i128::from(r > 2 || (r == 2 && q % 2 != 0))
    };
    let lzc = if b == 0 {
        3
    } else {
        i128::from((b as u8).leading_zeros() - 4)
    };
    vec![
        ("sum", 6, a + b),
        ("diff", 6, a - b),
        ("prod", 10, a * b),
        ("neg", 6, -a),
        ("less", 1, i128::from(a < b)),
        ("sat", 4, (a + b).clamp(-8, 7)),
        ("sat_fits", 1, i128::from((-8..=7).contains(&(a + b)))),
        ("clamped", 4, a.clamp(-3, 5)),
        ("rne", 4, rne),
        ("floor", 4, b >> 1),
        ("half_up", 3, (b + 2) >> 2),
        ("lzc", 2, lzc),
        ("shr", 5, a >> amt),
        ("shl", 4, (b << amt) & 15),
    ]
}

/// Every library call once, outputs registered as one [`Stage`].
fn library_module() -> Module {
    let mut m = ModuleBuilder::new("ir_library");
    let clk = m.input("clk", 1).unwrap();
    let rst = m.input("rst", 1).unwrap();
    let valid = m.input("in_valid", 1).unwrap();
    let a = m.input("a", 5).unwrap().s();
    let b = m.input("b", 4).unwrap().u();
    let amt = m.input("amt", 3).unwrap();
    let sum = m.wire("sum", a + b).unwrap();
    let (sat, fits) = m.saturate("sat", sum, 4).unwrap();
    let lzc = m.lzc("lzc", b.sig).unwrap();
    let results: Vec<(&str, Val)> = vec![
        ("sum", sum),
        ("diff", m.wire("diff", a - b).unwrap()),
        ("prod", m.wire("prod", a * b).unwrap()),
        ("neg", m.wire("neg", -a).unwrap()),
        ("less", m.wire("less", a.less(b)).unwrap()),
        ("sat", sat),
        ("sat_fits", fits),
        ("clamped", m.clamp("clamped", a, -3, 5).unwrap()),
        ("rne", m.round("rne", a, 2, Round::HalfEven).unwrap()),
        ("floor", m.round("floor", b, 1, Round::Floor).unwrap()),
        ("half_up", m.round("half_up", b, 2, Round::HalfUp).unwrap()),
        ("lzc", lzc),
        ("shr", m.shift_right(a, amt).unwrap()),
        ("shl", m.shift_left(b, amt).unwrap()),
    ];
    let mut stage = Stage::new(valid);
    for (name, v) in &results {
        stage = stage.with(name, *v);
    }
    let stage = m.register_stage(&stage, 1, clk, rst).unwrap();
    m.output("out_valid", 1).unwrap();
    m.drive_output("out_valid", stage.valid).unwrap();
    for (name, w, _) in library_results(0, 0, 0) {
        let v = stage.get(name);
        assert_eq!(v.width(), w, "{name}: inferred width");
        m.output(&format!("y_{name}"), w).unwrap();
        m.drive_output(&format!("y_{name}"), v.sig).unwrap();
    }
    m.finish().unwrap()
}

fn library_iface() -> Interface {
    let mut ports = vec![
        Port::bit("clk", Dir::In, Role::Clock),
        Port::bit("rst", Dir::In, Role::Reset),
        Port::bit("in_valid", Dir::In, Role::InValid),
        Port::int("a", Dir::In, 5, true),
        Port::int("b", Dir::In, 4, false),
        Port::int("amt", Dir::In, 3, false),
        Port::bit("out_valid", Dir::Out, Role::OutValid),
    ];
    for (name, w, _) in library_results(0, 0, 0) {
        ports.push(Port::int(&format!("y_{name}"), Dir::Out, w, true));
    }
    Interface { ports }
}

/// The registered results of the previous beat.
#[derive(Clone)]
struct LibraryModel {
    iface: Interface,
    out: Vec<u64>,
}

impl CycleModel for LibraryModel {
    fn interface(&self) -> &Interface {
        &self.iface
    }
    fn step(&mut self, i: &[u64], o: &mut [u64]) {
        o.copy_from_slice(&self.out);
        let (rst, valid) = (i[0] != 0, i[1] != 0);
        let a = int::from_bits(i[2].into(), 5, true);
        let b = i128::from(i[3]);
        self.out[0] = u64::from(valid && !rst);
        for (k, (_, w, v)) in library_results(a, b, i[4] as u32).into_iter().enumerate() {
            self.out[k + 1] = int::to_bits(v, w) as u64;
        }
    }
}

#[test]
fn typed_library_matches_integer_arithmetic_exhaustively() {
    let top = library_module();
    let header = Header {
        generator: "lowbit tests".into(),
        command: None,
    };
    let files = design_files(&top, &header);
    let dir = scratch("ir-library");
    verilator_lint(&dir, &files, "ir_library").unwrap();
    let sources: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let iface = library_iface();
    let dut = Verilated::build(&sources, "ir_library", &iface).unwrap_or_else(|e| panic!("{e}"));
    let mut model = LibraryModel {
        out: vec![0; iface.out_words()],
        iface: iface.clone(),
    };
    // The harness resets a fresh instance with one clock edge (zero inputs, `rst` high):
    // the results are registered without a reset, so they hold the zero inputs' values.
    let mut reset = vec![0u64; iface.in_words()];
    reset[0] = 1;
    model.step(&reset, &mut vec![0; iface.out_words()]);
    // Every (a, b, amt), with a reset now and then and valid low now and then.
    let mut stimulus = Vec::new();
    for x in 0..(1u64 << 12) {
        stimulus.extend([u64::from(x % 97 == 5), u64::from(x % 7 != 3)]);
        stimulus.extend([x & 31, (x >> 5) & 15, x >> 9]);
    }
    let stats = cosim(&dut, &mut model, &stimulus, &CosimOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.beats, 1u64 << 12);
}
