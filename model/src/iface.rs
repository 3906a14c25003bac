//! The port-level contract shared by a unit's model, its RTL, its metadata and the
//! co-simulation harness.
//!
//! A unit's [`Interface`] is derived from its parameters, in this crate, once. The RTL
//! generator declares exactly these ports, the metadata JSON lists them, and the harness
//! lays out beats by them.
//!
//! # Beat layout
//! A *beat* is one clock cycle. Its inputs are the values of every input port except the
//! clock, in declaration order; its outputs are the values of every output port, in
//! declaration order. Each value occupies `ceil(width / 64)` little-endian `u64` words and
//! holds the port's raw bits (two's complement, upper bits zero). A batch of `n` beats is
//! `n` such records back to back.
//!
//! # Timing
//! [`CycleModel::step`] takes the inputs held during one cycle, writes the outputs seen in
//! that cycle once the inputs have settled (before the rising edge), then advances the
//! state over the rising edge. Registered outputs therefore show the state left by the
//! previous edge; combinational outputs follow the inputs of the same beat.

use serde::Serialize;

/// Port direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    In,
    Out,
}

/// What a port is for, so that tools (testbenches, synthesis wrappers) need not guess.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The one clock, rising edge.
    Clock,
    /// Synchronous, active-high reset.
    Reset,
    /// Qualifies an input beat (`in_valid`).
    InValid,
    /// Starts a new accumulation with the current beat (`clear`).
    Clear,
    /// An operand or result value.
    Data,
    /// A sticky status flag.
    Flag,
    /// Marks an output beat (`out_valid`).
    OutValid,
    /// Random bits for stochastic rounding (`rnd`), uniform.
    Random,
}

/// The numeric format of a data port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Format {
    /// A single control or status bit.
    Bit,
    /// An integer of `bits` bits, two's complement when `signed`.
    Int { bits: u32, signed: bool },
    /// `count` integers of `bits` bits each, element i at bits `[bits*i + bits-1 : bits*i]`.
    IntVec { bits: u32, signed: bool, count: u32 },
    /// `count` IEEE binary32 values, element i at bits `[32*i + 31 : 32*i]`.
    Binary32 { count: u32 },
    /// Uniform random bits.
    Random { bits: u32 },
    /// A floating-point value of `model::float::FloatFormat`: `sign | biased exponent |
    /// mantissa`, exponent field 0 is zero (no subnormals), no NaN or infinity; the
    /// all-ones exponent field is finite unless `reserve_top`.
    Float {
        exp_bits: u32,
        man_bits: u32,
        bias: i32,
        reserve_top: bool,
    },
}

/// One port of a unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Port {
    pub name: String,
    pub dir: Dir,
    pub width: u32,
    pub signed: bool,
    pub role: Role,
    pub format: Format,
}

impl Port {
    /// A one-bit port.
    pub fn bit(name: &str, dir: Dir, role: Role) -> Port {
        Port {
            name: name.to_string(),
            dir,
            width: 1,
            signed: false,
            role,
            format: Format::Bit,
        }
    }

    /// An integer data port.
    pub fn int(name: &str, dir: Dir, bits: u32, signed: bool) -> Port {
        Port {
            name: name.to_string(),
            dir,
            width: bits,
            signed,
            role: Role::Data,
            format: Format::Int { bits, signed },
        }
    }

    /// A port of `count` packed integers.
    pub fn int_vec(name: &str, dir: Dir, bits: u32, signed: bool, count: u32) -> Port {
        Port {
            name: name.to_string(),
            dir,
            width: bits * count,
            signed: false,
            role: Role::Data,
            format: Format::IntVec {
                bits,
                signed,
                count,
            },
        }
    }

    /// [`Port::int`] for one integer, [`Port::int_vec`] for `count` > 1: the ports of
    /// units whose lanes or channels are a parameter, scalar at the default of one.
    pub fn int_or_vec(name: &str, dir: Dir, bits: u32, signed: bool, count: u32) -> Port {
        if count == 1 {
            Port::int(name, dir, bits, signed)
        } else {
            Port::int_vec(name, dir, bits, signed, count)
        }
    }

    /// A port of `count` packed binary32 values.
    pub fn binary32(name: &str, dir: Dir, count: u32) -> Port {
        Port {
            name: name.to_string(),
            dir,
            width: 32 * count,
            signed: false,
            role: Role::Data,
            format: Format::Binary32 { count },
        }
    }

    /// A floating-point data port of format `f`.
    pub fn float(name: &str, dir: Dir, f: &crate::float::FloatFormat) -> Port {
        Port {
            name: name.to_string(),
            dir,
            width: f.width(),
            signed: false,
            role: Role::Data,
            format: Format::Float {
                exp_bits: f.exp_bits,
                man_bits: f.man_bits,
                bias: f.bias,
                reserve_top: f.reserve_top_exponent,
            },
        }
    }

    /// An input of uniform random bits (stochastic rounding).
    pub fn random(name: &str, bits: u32) -> Port {
        Port {
            name: name.to_string(),
            dir: Dir::In,
            width: bits,
            signed: false,
            role: Role::Random,
            format: Format::Random { bits },
        }
    }

    /// Number of `u64` words this port's value takes in a beat record.
    pub fn words(&self) -> usize {
        self.width.div_ceil(64) as usize
    }
}

/// The ports of a unit, in declaration order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Interface {
    pub ports: Vec<Port>,
}

impl Interface {
    /// Input ports that carry beat data: every input except the clock.
    pub fn beat_inputs(&self) -> impl Iterator<Item = &Port> {
        self.ports
            .iter()
            .filter(|p| p.dir == Dir::In && p.role != Role::Clock)
    }

    /// Output ports, in order.
    pub fn outputs(&self) -> impl Iterator<Item = &Port> {
        self.ports.iter().filter(|p| p.dir == Dir::Out)
    }

    /// Words per beat of input.
    pub fn in_words(&self) -> usize {
        self.beat_inputs().map(Port::words).sum()
    }

    /// Words per beat of output.
    pub fn out_words(&self) -> usize {
        self.outputs().map(Port::words).sum()
    }

    /// Look a port up by name.
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }

    /// Word offset of beat input `name` within an input record.
    pub fn in_offset(&self, name: &str) -> Option<usize> {
        offset_of(self.beat_inputs(), name)
    }

    /// Word offset of output `name` within an output record.
    pub fn out_offset(&self, name: &str) -> Option<usize> {
        offset_of(self.outputs(), name)
    }
}

/// Bits `[lo + width - 1 : lo]` (`width <= 64`) of a little-endian word slice.
pub fn get_field(words: &[u64], lo: u32, width: u32) -> u64 {
    debug_assert!((1..=64).contains(&width));
    let (w, b) = ((lo / 64) as usize, lo % 64);
    let mut v = words[w] >> b;
    if b != 0 && b + width > 64 {
        v |= words[w + 1] << (64 - b);
    }
    if width == 64 {
        v
    } else {
        v & ((1u64 << width) - 1)
    }
}

/// Write `value` (its low `width <= 64` bits) at bits `[lo + width - 1 : lo]`.
pub fn set_field(words: &mut [u64], lo: u32, width: u32, value: u64) {
    for i in 0..width {
        let bit = (value >> i) & 1;
        let (w, b) = (((lo + i) / 64) as usize, (lo + i) % 64);
        words[w] = (words[w] & !(1u64 << b)) | (bit << b);
    }
}

fn offset_of<'a>(ports: impl Iterator<Item = &'a Port>, name: &str) -> Option<usize> {
    let mut off = 0;
    for p in ports {
        if p.name == name {
            return Some(off);
        }
        off += p.words();
    }
    None
}

/// A beat record split into its ports' word slices, in interface order.
pub fn split<'a>(ports: impl Iterator<Item = &'a Port>, mut words: &[u64]) -> Vec<&[u64]> {
    let mut out = Vec::new();
    for p in ports {
        let (head, tail) = words.split_at(p.words());
        out.push(head);
        words = tail;
    }
    out
}

/// A cycle-accurate, bit-exact model of a unit, driven beat by beat.
///
/// Every model can be copied in its current state, also behind a `Box<dyn CycleModel +
/// Send>` ([`BoxedClone`], implemented for every `Clone + Send` model): a caller that
/// must read the outputs for some inputs without committing the beat (the rust-hdl
/// adapter, between clock edges) steps a copy.
pub trait CycleModel: BoxedClone {
    /// The unit's ports.
    fn interface(&self) -> &Interface;

    /// Apply one beat: `inputs` holds [`Interface::in_words`] words, `outputs` receives
    /// [`Interface::out_words`] words (see the module docs for layout and timing).
    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]);

    /// Run a batch of beats back to back.
    fn run(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let (iw, ow) = (self.interface().in_words(), self.interface().out_words());
        assert_eq!(
            inputs.len() % iw.max(1),
            0,
            "input batch is not whole beats"
        );
        let beats = inputs.len() / iw.max(1);
        assert_eq!(
            outputs.len(),
            beats * ow,
            "output buffer does not match the batch"
        );
        for (i, o) in inputs.chunks(iw).zip(outputs.chunks_mut(ow)) {
            self.step(i, o);
        }
    }
}

/// A copy of a model in its current state as a boxed model: what makes `Box<dyn
/// CycleModel + Send>` (the type `UnitParams::model` returns) `Clone`. Implemented for
/// every model that is `Clone + Send`; a model type only derives `Clone`.
pub trait BoxedClone {
    /// The model, state included, in a new box.
    fn boxed_clone(&self) -> Box<dyn CycleModel + Send>;
}

impl<M: CycleModel + Clone + Send + 'static> BoxedClone for M {
    fn boxed_clone(&self) -> Box<dyn CycleModel + Send> {
        Box::new(self.clone())
    }
}

impl Clone for Box<dyn CycleModel + Send> {
    fn clone(&self) -> Self {
        (**self).boxed_clone()
    }
}

/// The metadata JSON of an emitted unit (docs/conventions.md, "Metadata file").
#[derive(Clone, Debug, Serialize)]
pub struct Metadata<'a, P: Serialize> {
    /// Verilog module name of the top level.
    pub module: &'a str,
    /// Unit kind, e.g. `mac`.
    pub unit: &'a str,
    /// The parameters the unit was built from.
    pub params: &'a P,
    /// Cycles from an input beat to its result on the outputs.
    pub latency: u32,
    /// Cycles between beats the unit accepts (1: a beat every cycle).
    pub initiation_interval: u32,
    /// Every port with direction, width, signedness, role and numeric format.
    pub ports: &'a [Port],
    /// Name and version of the generator that emitted it.
    pub generator: String,
    /// With `--pipeline` or `--freq`: the depth, the device and the delay model's estimate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timing: Option<Timing>,
}

/// The pipeline depth of an emitted unit and the delay model's estimate of its clock.
#[derive(Clone, Debug, Serialize)]
pub struct Timing {
    /// The part whose delay model placed the registers, e.g. `up5k`, `ecp5-25k`.
    pub device: String,
    /// The clock asked for with `--freq`, MHz.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_mhz: Option<f64>,
    /// Register stages between the inputs and the state.
    pub pipeline: u32,
    /// The delay model's estimate of the clock, MHz (place and route decides: `gen
    /// synth`).
    pub estimated_mhz: f64,
    /// Whether the estimate meets the target (true without one).
    pub met: bool,
    /// The wires along the estimated critical path, first to last.
    pub critical_path: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_across_word_boundaries() {
        let mut w = [0u64; 3];
        set_field(&mut w, 60, 8, 0xab);
        assert_eq!((w[0] >> 60, w[1] & 0xf), (0xb, 0xa));
        assert_eq!(get_field(&w, 60, 8), 0xab);
        set_field(&mut w, 64, 64, u64::MAX);
        assert_eq!(get_field(&w, 64, 64), u64::MAX);
        assert_eq!(get_field(&w, 0, 60), 0);
    }
}
