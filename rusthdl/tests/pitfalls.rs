//! The rust-hdl 0.46 pitfalls the crate README lists, each measured: a test fails if
//! rust-hdl stops having the problem (and the README must then be updated).

use std::process::Command;

use model::iface::{Dir, Interface, Port, Role};
use rusthdl::rust_hdl_core::prelude::*;
use sim::Verilated;

/// Set in the child process that runs the crashing call.
const CHILD: &str = "LOWBIT_RUSTHDL_PITFALL_CHILD";

/// `signed_bit_cast` (rust-hdl's sign extension of a `Signed<N>`) negates a negative
/// value, extends, and negates back; the negation of the most negative value is itself,
/// so it recurses until the stack overflows. rust-hdl's simulator aborts there. The
/// example's glue sign-extends with `bit_cast` and a constant instead.
#[test]
fn signed_bit_cast_of_the_most_negative_value_overflows_the_stack() {
    if std::env::var_os(CHILD).is_some() {
        let x: Signed<12> = signed_cast(Bits::<12>::from(0x800u64));
        assert_eq!(x.bigint(), (-2048).into());
        let y: Signed<32> = signed_bit_cast::<32, 12>(x);
        // Never reached: the call above overflows the stack.
        println!("returned {:?}", y.bigint());
        return;
    }
    // One below the most negative value is fine.
    let x: Signed<12> = signed_cast(Bits::<12>::from(0x801u64));
    assert_eq!(signed_bit_cast::<32, 12>(x).bigint(), (-2047).into());
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "signed_bit_cast_of_the_most_negative_value_overflows_the_stack",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("has overflowed its stack"),
        "the child did not overflow its stack: {stderr}"
    );
}

/// A block computing `y = (a + 1) >> 1` on 8-bit values.
#[derive(LogicBlock, Default)]
struct Half {
    clock: Signal<In, Clock>,
    a: Signal<In, Bits<8>>,
    y: Signal<Out, Bits<8>>,
}

impl Logic for Half {
    #[hdl_gen]
    fn update(&mut self) {
        self.y.next = (self.a.val() + 1) >> 1;
    }
}

/// rust-hdl computes `a + 1` in 8 bits in its simulator, but writes the literal as a
/// 32-bit constant (`32'h1`) in Verilog, which widens the whole expression to 32 bits:
/// at `a = 255` its simulator gives 0 and its own Verilog gives 128. Verilator warns
/// (WIDTH, fatal by default); other tools need not.
#[test]
fn a_literal_widens_the_verilog_expression_to_32_bits() {
    let mut uut = Half::default();
    uut.clock.connect();
    uut.a.connect();
    uut.connect_all();
    let v = generate_verilog(&uut);
    assert!(v.contains("a + 32'h1"), "{v}");
    // Verilator refuses it by default (WIDTH); simulate it as Verilog defines it.
    let v = format!("/* verilator lint_off WIDTH */\n{v}");
    let iface = Interface {
        ports: vec![
            Port::bit("clock", Dir::In, Role::Clock),
            Port::int("a", Dir::In, 8, false),
            Port::int("y", Dir::Out, 8, false),
        ],
    };
    let rtl = Verilated::build(&[("top.v", &v)], "top", &iface).unwrap();
    let mut inst = rtl.instance().unwrap();
    let ins: Vec<u64> = (0..256).collect();
    let mut verilog = vec![0u64; 256];
    inst.run(&ins, &mut verilog);
    let mut differ = Vec::new();
    for a in 0..256u64 {
        uut.a.next = a.into();
        assert!(simulate(&mut uut, 10));
        let rust = uut.y.val().to_u64();
        if rust != verilog[a as usize] {
            differ.push((a, rust, verilog[a as usize]));
        }
    }
    assert_eq!(differ, vec![(255, 0, 128)]);
}

/// `lt = x < c` with a signed 8-bit input and the signed constant -5.
#[derive(LogicBlock)]
struct Below {
    clock: Signal<In, Clock>,
    x: Signal<In, Signed<8>>,
    lt: Signal<Out, Bit>,
    c: Constant<Signed<8>>,
}

impl Logic for Below {
    #[hdl_gen]
    fn update(&mut self) {
        self.lt.next = self.x.val() < self.c.val();
    }
}

fn below_verilog() -> String {
    let mut uut = Below {
        clock: Default::default(),
        x: Default::default(),
        lt: Default::default(),
        c: Constant::new(signed::<8>(-5)),
    };
    uut.clock.connect();
    uut.x.connect();
    uut.connect_all();
    generate_verilog(&uut)
}

/// rust-hdl declares a `Constant<Signed<8>>` as `localparam signed c = 8'hfb;` (no
/// range). Verilog makes it a signed 8-bit -5 (IEEE 1364-2005 12.2), and rust-hdl's
/// simulator, Verilator and Icarus compare `x < c` signed; Yosys (Debian's 0.23 on PATH,
/// and the YoWASP 0.70 build too) compares unsigned: `0 < -5` is true there, so the
/// synthesized circuit differs from the simulated one.
#[test]
fn yosys_reads_an_unsized_signed_localparam_as_unsigned() {
    let v = below_verilog();
    assert!(v.contains("localparam signed c = 8'hfb;"), "{v}");
    let dir = std::env::temp_dir().join(format!("lowbit-rusthdl-{}-below", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("top.v"), &v).unwrap();

    // rust-hdl's simulator, at x = 0 and x = -6.
    let mut uut = Below {
        clock: Default::default(),
        x: Default::default(),
        lt: Default::default(),
        c: Constant::new(signed::<8>(-5)),
    };
    uut.clock.connect();
    uut.x.connect();
    uut.connect_all();
    let mut rust = Vec::new();
    for x in [0i64, -6] {
        uut.x.next = signed::<8>(x);
        assert!(simulate(&mut uut, 10));
        rust.push(uut.lt.val());
    }
    assert_eq!(rust, [false, true]);

    // Verilator, through our harness.
    let iface = Interface {
        ports: vec![
            Port::bit("clock", Dir::In, Role::Clock),
            Port::int("x", Dir::In, 8, true),
            Port::bit("lt", Dir::Out, Role::Data),
        ],
    };
    let rtl = Verilated::build(&[("top.v", &v)], "top", &iface).unwrap();
    let mut out = [0u64; 2];
    rtl.instance().unwrap().run(&[0, 0xfa], &mut out);
    assert_eq!(out, [0, 1]);

    // Icarus.
    std::fs::write(
        dir.join("tb.v"),
        "module tb; reg signed [7:0] x; wire lt; top t(.clock(1'b0), .x(x), .lt(lt));\n\
         initial begin x = 0; #1 $display(\"lt=%b\", lt); x = -6; #1 $display(\"lt=%b\", lt); end\n\
         endmodule\n",
    )
    .unwrap();
    sim::require_tool("iverilog").unwrap();
    let ok = Command::new("iverilog")
        .current_dir(&dir)
        .args(["-o", "tb.vvp", "tb.v", "top.v"])
        .status()
        .unwrap();
    assert!(ok.success());
    let icarus = Command::new("vvp")
        .current_dir(&dir)
        .args(["-n", "tb.vvp"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&icarus.stdout), "lt=0\nlt=1\n");

    // Yosys on PATH (0.23 in make test).
    sim::require_tool("yosys").unwrap();
    let y = Command::new("yosys")
        .current_dir(&dir)
        .args([
            "-p",
            "read_verilog top.v; hierarchy -top top; proc; opt; \
             eval -set x 0 -show lt; eval -set x 250 -show lt",
        ])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&y.stdout);
    let evals: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("Eval result"))
        .collect();
    assert_eq!(
        evals,
        ["Eval result: \\lt = 1'1.", "Eval result: \\lt = 1'1."],
        "{log}"
    );
}
