//! `<top>_x<N>`: N copies of any unit side by side, for measuring what an array of small
//! units costs against one wide unit in the same LUTs (`gen synth <unit> --copies N`,
//! `gen density palq`).
//!
//! The control ports are shared, by their role in `model::iface`: the clock, the reset,
//! `in_valid` and `clear` drive every copy, and `out_valid` is copy 0's (every copy
//! sees the same control, so every copy's `out_valid` is the same; the others are
//! discarded). Every other port (operands, results, flags, random bits) is the copies'
//! ports concatenated: copy i at `[w*i +: w]` for a port of w bits. With one copy the
//! array has exactly the unit's ports.

use hdl::ir::PortDir;
use hdl::{HdlError, Module, ModuleBuilder};
use model::iface::{get_field, set_field, CycleModel, Dir, Format, Interface, Port, Role};

/// The copies `--copies` accepts.
pub const COPIES: std::ops::RangeInclusive<u32> = 1..=64;

/// Whether every copy shares this port (control) rather than having its own bits.
pub fn is_shared(p: &Port) -> bool {
    matches!(
        p.role,
        Role::Clock | Role::Reset | Role::InValid | Role::Clear | Role::OutValid
    )
}

/// The array's name: `<top>_x<N>`.
pub fn array_name(top: &str, copies: u32) -> String {
    format!("{top}_x{copies}")
}

/// The ports of `copies` copies of a unit with ports `iface`, in the unit's order.
pub fn array_interface(iface: &Interface, copies: u32) -> Interface {
    let ports = iface
        .ports
        .iter()
        .map(|p| {
            if is_shared(p) || copies == 1 {
                return p.clone();
            }
            let format = match p.format {
                Format::Bit => Format::IntVec {
                    bits: 1,
                    signed: false,
                    count: copies,
                },
                Format::Int { bits, signed } => Format::IntVec {
                    bits,
                    signed,
                    count: copies,
                },
                Format::IntVec {
                    bits,
                    signed,
                    count,
                } => Format::IntVec {
                    bits,
                    signed,
                    count: count * copies,
                },
                Format::Binary32 { count } => Format::Binary32 {
                    count: count * copies,
                },
                Format::Random { bits } => Format::Random {
                    bits: bits * copies,
                },
                Format::Float { .. } => Format::IntVec {
                    bits: p.width,
                    signed: false,
                    count: copies,
                },
            };
            Port {
                name: p.name.clone(),
                dir: p.dir,
                width: p.width * copies,
                signed: false,
                role: p.role,
                format,
            }
        })
        .collect();
    Interface { ports }
}

/// The module `<top>_x<N>` instantiating `copies` copies of `unit` (whose ports are
/// `iface`), as described in the module documentation; `unit` is its child, so
/// `hdl::design_files` of the array writes both.
pub fn array(unit: &Module, iface: &Interface, copies: u32) -> Result<Module, HdlError> {
    if !COPIES.contains(&copies) {
        return Err(HdlError {
            module: array_name(&unit.name, copies),
            message: format!(
                "{copies} copies: allowed {}..={}",
                COPIES.start(),
                COPIES.end()
            ),
        });
    }
    for p in &iface.ports {
        let decl = unit.port(&p.name);
        let dir = if p.dir == Dir::In {
            PortDir::Input
        } else {
            PortDir::Output
        };
        if decl.is_none_or(|d| d.dir != dir || d.width != p.width) {
            return Err(HdlError {
                module: unit.name.clone(),
                message: format!("port '{}' differs from the interface", p.name),
            });
        }
    }
    let outer = array_interface(iface, copies);
    let mut m = ModuleBuilder::new(&array_name(&unit.name, copies));
    m.comment(format!(
        "{copies} copies of {} side by side: clock, reset, in_valid and clear shared,",
        unit.name
    ));
    m.comment("out_valid from copy 0, every other port concatenated (copy i at [w*i +: w]).");
    let mut inputs = Vec::new();
    for p in outer.ports.iter() {
        if p.dir == Dir::In {
            inputs.push((p, m.input(&p.name, p.width)?));
        } else {
            m.output(&p.name, p.width)?;
        }
    }
    let mut outs = Vec::new();
    for i in 0..copies {
        let mut conns = Vec::new();
        for (p, s) in &inputs {
            let s = if is_shared(p) || copies == 1 {
                *s
            } else {
                let w = p.width / copies;
                m.slice(*s, w * (i + 1) - 1, w * i)?
            };
            conns.push((p.name.as_str(), s));
        }
        outs.push(m.instance(unit, &format!("u{i}"), &conns)?);
    }
    for p in outer.outputs() {
        if is_shared(p) || copies == 1 {
            m.drive_output(&p.name, outs[0][&p.name])?;
            for (i, o) in outs.iter().enumerate().skip(1) {
                m.discard(o[&p.name], &format!("{}_{i}", p.name))?;
            }
        } else {
            let parts: Vec<_> = outs.iter().rev().map(|o| o[&p.name]).collect();
            let all = m.concat(&parts)?;
            m.drive_output(&p.name, all)?;
        }
    }
    m.finish()
}

/// The cycle model of the array: `copies` models of the unit, each fed its slice of the
/// array's inputs (shared ports whole), outputs laid out as the array's.
#[derive(Clone)]
pub struct ArrayModel {
    unit: Interface,
    outer: Interface,
    copies: Vec<Box<dyn CycleModel + Send>>,
    ins: Vec<u64>,
    outs: Vec<u64>,
}

impl ArrayModel {
    /// The array of the given models, all of one unit with ports `iface`.
    pub fn new(iface: &Interface, copies: Vec<Box<dyn CycleModel + Send>>) -> ArrayModel {
        let n = u32::try_from(copies.len()).expect("at most 64 copies");
        assert!(COPIES.contains(&n), "{n} copies");
        ArrayModel {
            outer: array_interface(iface, n),
            unit: iface.clone(),
            ins: vec![0; iface.in_words()],
            outs: vec![0; iface.out_words()],
            copies,
        }
    }
}

/// Copy `width` bits from `src` at `from` to `dst` at `to`, 64 at a time.
fn copy_bits(src: &[u64], from: u32, dst: &mut [u64], to: u32, width: u32) {
    let mut done = 0;
    while done < width {
        let n = (width - done).min(64);
        set_field(dst, to + done, n, get_field(src, from + done, n));
        done += n;
    }
}

impl CycleModel for ArrayModel {
    fn interface(&self) -> &Interface {
        &self.outer
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        outputs.iter_mut().for_each(|w| *w = 0);
        let n = self.copies.len() as u32;
        for (i, model) in self.copies.iter_mut().enumerate() {
            let i = i as u32;
            self.ins.iter_mut().for_each(|w| *w = 0);
            let (mut src, mut dst) = (0u32, 0u32);
            for p in self.unit.beat_inputs() {
                let (off, whole) = if is_shared(p) || n == 1 {
                    (0, p.width)
                } else {
                    (p.width * i, p.width * n)
                };
                copy_bits(inputs, 64 * src + off, &mut self.ins, 64 * dst, p.width);
                src += whole.div_ceil(64);
                dst += p.width.div_ceil(64);
            }
            model.step(&self.ins, &mut self.outs);
            let (mut src, mut dst) = (0u32, 0u32);
            for p in self.unit.outputs() {
                let shared = is_shared(p) || n == 1;
                if !shared || i == 0 {
                    let off = if shared { 0 } else { p.width * i };
                    copy_bits(&self.outs, 64 * src, outputs, 64 * dst + off, p.width);
                }
                src += p.width.div_ceil(64);
                dst += if shared { p.width } else { p.width * n }.div_ceil(64);
            }
        }
    }
}
