//! The floating-point datapaths of `hdl::float` (used by `bfp_dot`, and by any unit that
//! rounds into a `model::float` format) exhaustively against `FloatFormat::round`: every
//! operand pair of several small formats, in both rounding modes. A probe unit wraps one
//! datapath between registers so the co-simulation harness can drive it.

use hdl::ir::{ModuleBuilder, Result as HdlResult};
use hdl::{float, start_unit, Generate, Module};
use model::float::{Exact, FloatFormat, Rounding};
use model::iface::{CycleModel, Dir, Interface, Port, Role};
use model::{ParamError, UnitParams};
use serde::Serialize;
use sim::{cosim, CosimOptions};

#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
enum Op {
    /// `a + b`, both in the format.
    Add,
    /// `a * 2^b` for a signed `a` of `value_bits` bits and a signed `b` of `exp_bits`.
    FromInt { value_bits: u32, exp_bits: u32 },
    /// `a + b` with `a` in the format, `b` in `b_format`, the sum rounded into `result`.
    AddMixed {
        #[serde(skip)]
        b_format: FloatFormat,
        #[serde(skip)]
        result: FloatFormat,
    },
}

#[derive(Clone, Copy, Debug, Serialize)]
struct Probe {
    #[serde(skip)]
    format: FloatFormat,
    #[serde(skip)]
    mode: Rounding,
    op: Op,
}

impl Probe {
    fn operand_bits(&self) -> (u32, u32) {
        match self.op {
            Op::Add => (self.format.width(), self.format.width()),
            Op::AddMixed { b_format, .. } => (self.format.width(), b_format.width()),
            Op::FromInt {
                value_bits,
                exp_bits,
            } => (value_bits, exp_bits),
        }
    }

    /// The format of the result.
    fn result(&self) -> FloatFormat {
        match self.op {
            Op::AddMixed { result, .. } => result,
            _ => self.format,
        }
    }

    fn compute(&self, a: u64, b: u64) -> model::float::Rounded {
        let f = self.format;
        match self.op {
            Op::Add => f.round(Exact::sum(f.decode(a), f.decode(b)), self.mode),
            Op::AddMixed { b_format, result } => {
                result.round(Exact::sum(f.decode(a), b_format.decode(b)), self.mode)
            }
            Op::FromInt {
                value_bits,
                exp_bits,
            } => {
                let v = model::int::from_bits(a.into(), value_bits, true);
                let e = model::int::from_bits(b.into(), exp_bits, true) as i32;
                f.round(Exact::from_int(v, e), self.mode)
            }
        }
    }
}

impl UnitParams for Probe {
    const KIND: &'static str = "float_probe";

    fn validate(&self) -> Result<(), ParamError> {
        Ok(())
    }

    fn module_name(&self) -> String {
        let f = self.format;
        let tag = |f: &FloatFormat| {
            let bias = f.bias.to_string().replace('-', "m");
            format!("e{}m{}b{bias}", f.exp_bits, f.man_bits)
        };
        let op = match self.op {
            Op::Add => "add".to_string(),
            Op::AddMixed { b_format, result } => {
                format!("add_{}_to_{}", tag(&b_format), tag(&result))
            }
            Op::FromInt {
                value_bits,
                exp_bits,
            } => format!("int{value_bits}x{exp_bits}"),
        };
        format!(
            "probe_{op}_e{}m{}b{}_{}{}",
            f.exp_bits,
            f.man_bits,
            f.bias,
            if f.reserve_top_exponent { "r" } else { "f" },
            if self.mode == Rounding::Rne {
                "rne"
            } else {
                "rz"
            }
        )
    }

    fn interface(&self) -> Interface {
        let (wa, wb) = self.operand_bits();
        Interface {
            ports: vec![
                Port::bit("clk", Dir::In, Role::Clock),
                Port::bit("rst", Dir::In, Role::Reset),
                Port::bit("in_valid", Dir::In, Role::InValid),
                Port::int("a", Dir::In, wa, false),
                Port::int("b", Dir::In, wb, false),
                Port::int("s", Dir::Out, self.result().width(), false),
                Port::bit("uf", Dir::Out, Role::Flag),
                Port::bit("of", Dir::Out, Role::Flag),
            ],
        }
    }

    fn latency(&self) -> u32 {
        1
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(ProbeModel {
            p: *self,
            iface: self.interface(),
            out: [0; 3],
        }))
    }
}

#[derive(Clone)]
struct ProbeModel {
    p: Probe,
    iface: Interface,
    out: [u64; 3],
}

impl CycleModel for ProbeModel {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        outputs.copy_from_slice(&self.out);
        if inputs[0] & 1 == 1 {
            self.out = [0; 3];
        } else if inputs[1] & 1 == 1 {
            let r = self.p.compute(inputs[2], inputs[3]);
            self.out = [r.bits, r.underflow.into(), r.overflow.into()];
        }
    }
}

impl Generate for Probe {
    fn rtl(&self) -> HdlResult<Module> {
        let (mut m, io) = start_unit(self)?;
        let (clk, rst, valid) = (io["clk"], io["rst"], io["in_valid"]);
        let r = datapath(&mut m, self, io["a"], io["b"])?;
        for (name, v) in [("s", r.bits), ("uf", r.underflow), ("of", r.overflow)] {
            let q = m.register(&format!("{name}_q"), v, clk, Some(rst), Some(valid))?;
            m.drive_output(name, q)?;
        }
        m.finish()
    }
}

fn datapath(
    m: &mut ModuleBuilder,
    p: &Probe,
    a: hdl::Sig,
    b: hdl::Sig,
) -> HdlResult<float::FloatSig> {
    match p.op {
        Op::Add => float::add(m, "add", &p.format, a, b, p.mode),
        Op::AddMixed { b_format, result } => {
            float::add_formats(m, "add", (&p.format, a), (&b_format, b), &result, p.mode)
        }
        Op::FromInt { .. } => float::from_scaled_int(m, "conv", &p.format, a, b, p.mode),
    }
}

/// Every (a, b) pair, one per beat, then one idle beat.
fn exhaustive(p: &Probe) {
    let (wa, wb) = p.operand_bits();
    let mut stimulus = Vec::with_capacity(4 << (wa + wb));
    for a in 0..1u64 << wa {
        for b in 0..1u64 << wb {
            stimulus.extend([0, 1, a, b]);
        }
    }
    stimulus.extend([0, 0, 0, 0]);
    let dut = lowbit_tests::verilate(p);
    let mut model = p.model().unwrap();
    let stats = cosim(&dut, model.as_mut(), &stimulus, &CosimOptions::default())
        .unwrap_or_else(|e| panic!("{p:?}: {e}"));
    assert_eq!(stats.beats, (1 << (wa + wb)) + 1);
}

fn format(exp_bits: u32, man_bits: u32, bias: i32, reserve: bool) -> FloatFormat {
    FloatFormat {
        exp_bits,
        man_bits,
        bias,
        reserve_top_exponent: reserve,
    }
}

#[test]
fn adder_is_exact_rounding_on_every_pair() {
    // Shapes from one exponent bit's worth of range to many, with and without a reserved
    // top exponent; E4M7 bias 10 is the 12-bit accumulator of docs/fpacc.md.
    let formats = [
        format(2, 5, 1, false),
        format(3, 3, 3, true),
        format(5, 2, 15, true),
        format(4, 4, 7, false),
        format(4, 7, 10, false),
    ];
    for f in formats {
        for mode in [Rounding::Rne, Rounding::Rz] {
            if f.width() > 11 && mode == Rounding::Rz {
                continue; // the 2^24-pair format once is enough for the run time
            }
            exhaustive(&Probe {
                format: f,
                mode,
                op: Op::Add,
            });
        }
    }
}

/// Operands of two formats, the sum rounded into a third (`fpacc` adds products of one
/// format into an accumulator of another): wider and narrower precision, range and bias
/// on each side, including negative biases.
#[test]
fn mixed_format_adder_is_exact_rounding_on_every_pair() {
    for (fa, fb, fr) in [
        // accumulator E4M7 + product E3M4 -> E4M7
        (
            format(4, 7, 10, false),
            format(3, 4, 2, false),
            format(4, 7, 10, false),
        ),
        // narrow + wide -> a third format with a negative bias
        (
            format(3, 2, 3, false),
            format(5, 6, 15, true),
            format(3, 4, -2, false),
        ),
        // product more precise than the result
        (
            format(4, 3, 7, false),
            format(4, 9, 4, false),
            format(4, 3, 7, false),
        ),
    ] {
        for mode in [Rounding::Rne, Rounding::Rz] {
            exhaustive(&Probe {
                format: fa,
                mode,
                op: Op::AddMixed {
                    b_format: fb,
                    result: fr,
                },
            });
        }
    }
}

#[test]
fn conversion_is_exact_rounding_on_every_input() {
    for (f, value_bits, exp_bits) in [
        (format(4, 3, 7, false), 12, 4),
        (format(3, 6, 2, true), 9, 6),
        (FloatFormat::BINARY32, 16, 3),
    ] {
        for mode in [Rounding::Rne, Rounding::Rz] {
            exhaustive(&Probe {
                format: f,
                mode,
                op: Op::FromInt {
                    value_bits,
                    exp_bits,
                },
            });
        }
    }
}
