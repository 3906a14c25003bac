//! lowbit units as [rust-hdl](https://crates.io/crates/rust-hdl) 0.46 blocks (through its
//! core crate, `rust-hdl-core`, which the `rust-hdl` facade re-exports as `rust_hdl::core`).
//!
//! Each block is a rust-hdl [`Block`]: in rust-hdl's simulator its `update()` runs the
//! unit's bit-exact cycle model from `model` (the spec the RTL is proven against), and
//! its Verilog is the module `hdl` generates for the same parameters, carried as
//! external code by a [`Wrapper`]. The parameters are our parameter types, chosen at run
//! time; rust-hdl fixes port widths at compile time, so every block takes its port
//! widths as const generics and [`checked`](PortWidthError) against the unit's runtime
//! [`Interface`] when it is built: a mismatch is an error naming the port and both
//! widths, never a silently truncated signal.
//!
//! - [`Mac`] and [`Requant`]: named ports, exactly the unit's ports.
//! - [`Packed`]: any registered unit, pipelined or not ([`Packed::of`], from its
//!   parameters), its beat inputs packed into one `Bits<I>` and its outputs into one
//!   `Bits<O>`, first port at bit 0.
//!
//! Ports carry the raw bits of the unit's ports (`Bits<N>`, two's complement for signed
//! values), as the Verilog module does; convert to rust-hdl's `Signed<N>` with
//! `signed_cast`, not `signed_bit_cast` (see the crate README: it recurses without end on
//! the most negative value).
//!
//! # Timing
//! The unit's model steps on the rising edge of `clock` with the inputs seen at the edge,
//! like rust-hdl's `DFF`; between edges the outputs are those the model shows for the
//! current inputs (a clone of the model is stepped to read them), so registered outputs
//! change just after the edge and combinational outputs follow the inputs.

use std::fmt;

use hdl::{Generate, Header};
use model::iface::{get_field, set_field, CycleModel, Dir, Interface, Port, Role};
use model::mac::{Mac as MacModel, MacParams};
use model::requant::{Requant as RequantModel, RequantParams};
use model::ParamError;
use rust_hdl_core::prelude::*;

pub use rust_hdl_core;

/// Why a block could not be built.
#[derive(Clone, Debug)]
pub enum AdapterError {
    /// A parameter out of range (as `gen` reports it).
    Param(ParamError),
    /// The generator refused the parameters.
    Hdl(hdl::HdlError),
    /// A const-generic width differs from the unit's port width.
    Width(PortWidthError),
}

/// A port whose compile-time width (a const generic of the block) is not the width the
/// unit's parameters give it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortWidthError {
    /// The Verilog module of the unit.
    pub module: String,
    /// The port (or `inputs` / `outputs` of a [`Packed`] block).
    pub port: String,
    /// The width the parameters give.
    pub runtime: u32,
    /// The width of the block's type.
    pub declared: usize,
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdapterError::Param(e) => write!(f, "{e}"),
            AdapterError::Hdl(e) => write!(f, "{}: {}", e.module, e.message),
            AdapterError::Width(w) => write!(
                f,
                "{}: port `{}` is {} bits wide with these parameters, but the block's type \
                 declares {} bits",
                w.module, w.port, w.runtime, w.declared
            ),
        }
    }
}

impl std::error::Error for AdapterError {}

impl From<ParamError> for AdapterError {
    fn from(e: ParamError) -> Self {
        AdapterError::Param(e)
    }
}

impl From<hdl::HdlError> for AdapterError {
    fn from(e: hdl::HdlError) -> Self {
        AdapterError::Hdl(e)
    }
}

fn check_width(
    module: &str,
    port: &str,
    runtime: u32,
    declared: usize,
) -> Result<(), AdapterError> {
    if runtime as usize == declared {
        Ok(())
    } else {
        Err(AdapterError::Width(PortWidthError {
            module: module.to_string(),
            port: port.to_string(),
            runtime,
            declared,
        }))
    }
}

/// The raw bits of `x` into `out` (`ceil(N / 64)` little-endian words).
pub fn bits_to_words<const N: usize>(x: Bits<N>, out: &mut [u64]) {
    if N <= 64 {
        out[0] = x.to_u64();
    } else {
        out.iter_mut().for_each(|w| *w = 0);
        for i in 0..N {
            if x.get_bit(i) {
                out[i / 64] |= 1 << (i % 64);
            }
        }
    }
}

/// The `N` low bits of little-endian `words` as a `Bits<N>`.
pub fn words_to_bits<const N: usize>(words: &[u64]) -> Bits<N> {
    if N <= 64 {
        let mask = if N == 64 { u64::MAX } else { (1u64 << N) - 1 };
        Bits::<N>::from(words[0] & mask)
    } else {
        let mut x = Bits::<N>::default();
        for i in 0..N {
            x = x.replace_bit(i, (words[i / 64] >> (i % 64)) & 1 == 1);
        }
        x
    }
}

/// The model half of a block: the state after the last rising edge, and the outputs for
/// given inputs in between.
pub trait Behaviour {
    /// The unit's ports.
    fn interface(&self) -> &Interface;
    /// The outputs shown during a cycle with `inputs` held (no state change).
    fn peek(&mut self, inputs: &[u64]) -> Vec<u64>;
    /// The rising edge with `inputs`.
    fn edge(&mut self, inputs: &[u64]);
}

/// A clocked unit's model, cloned to read its outputs between edges.
#[derive(Clone, Debug)]
pub struct Cloned<M>(pub M);

impl<M: CycleModel + Clone> Behaviour for Cloned<M> {
    fn interface(&self) -> &Interface {
        self.0.interface()
    }

    fn peek(&mut self, inputs: &[u64]) -> Vec<u64> {
        let mut out = vec![0; self.0.interface().out_words()];
        self.0.clone().step(inputs, &mut out);
        out
    }

    fn edge(&mut self, inputs: &[u64]) {
        let mut out = vec![0; self.0.interface().out_words()];
        self.0.step(inputs, &mut out);
    }
}

/// Any unit's model as `UnitParams::model` returns it (pipelined ones included, as
/// `Piped<P>::model`): between edges a copy of it ([`model::iface::BoxedClone`], which
/// every model has) is stepped to read the outputs.
pub struct Boxed(pub Box<dyn CycleModel + Send>);

impl fmt::Debug for Boxed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Boxed").finish()
    }
}

impl Clone for Boxed {
    fn clone(&self) -> Self {
        Boxed(self.0.clone())
    }
}

impl Behaviour for Boxed {
    fn interface(&self) -> &Interface {
        self.0.interface()
    }

    fn peek(&mut self, inputs: &[u64]) -> Vec<u64> {
        let mut out = vec![0; self.0.interface().out_words()];
        self.0.boxed_clone().step(inputs, &mut out);
        out
    }

    fn edge(&mut self, inputs: &[u64]) {
        let mut out = vec![0; self.0.interface().out_words()];
        self.0.step(inputs, &mut out);
    }
}

/// A unit without a clock: no state, so stepping its model is reading it, and an edge
/// does nothing. Takes any unit's model (`UnitParams::model`), `Clone` or not.
pub struct Stateless(pub Box<dyn CycleModel + Send>);

impl fmt::Debug for Stateless {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Stateless").finish()
    }
}

impl Behaviour for Stateless {
    fn interface(&self) -> &Interface {
        self.0.interface()
    }

    fn peek(&mut self, inputs: &[u64]) -> Vec<u64> {
        let mut out = vec![0; self.0.interface().out_words()];
        self.0.step(inputs, &mut out);
        out
    }

    fn edge(&mut self, _inputs: &[u64]) {}
}

/// The unit's generated module (every module of the design, children first) as the
/// `cores` of a [`Wrapper`]; `default_nettype none` inside, restored to `wire` after.
pub fn core_verilog<P: Generate>(p: &P) -> Result<String, AdapterError> {
    let m = p.rtl()?;
    Ok(hdl::design_verilog(
        &m,
        &Header {
            generator: format!("lowbit rusthdl {}", env!("CARGO_PKG_VERSION")),
            command: None,
        },
    ))
}

/// The instance of `module` inside the wrapper: each port of `iface` connected to the
/// expression `conn` gives for it.
fn instance(module: &str, iface: &Interface, conn: impl Fn(&Port) -> String) -> String {
    let ports: Vec<String> = iface
        .ports
        .iter()
        .map(|p| format!("        .{}({})", p.name, conn(p)))
        .collect();
    format!("    {module} unit (\n{}\n    );\n", ports.join(",\n"))
}

/// What every block shares: its module, its model and whether it emits the module.
#[derive(Clone, Debug)]
struct Core<B> {
    module: String,
    iface: Interface,
    verilog: String,
    emit_core: bool,
    engine: B,
}

impl<B: Behaviour> Core<B> {
    fn new<P: Generate>(p: &P, engine: B) -> Result<Self, AdapterError> {
        p.validate()?;
        let (module, iface) = (p.module_name(), p.interface());
        if *engine.interface() != iface {
            return Err(AdapterError::Hdl(hdl::HdlError {
                module,
                message: "the model's ports are not the parameters' ports".into(),
            }));
        }
        Ok(Core {
            module,
            iface,
            verilog: core_verilog(p)?,
            emit_core: true,
            engine,
        })
    }

    fn wrapper(&self, conn: impl Fn(&Port) -> String) -> Verilog {
        let mut code = instance(&self.module, &self.iface, conn);
        if !self.iface.ports.iter().any(|p| p.role == Role::Clock) {
            // A combinational unit: the block's clock goes nowhere. Verilator's default
            // --unused-regexp (`*unused*`) accepts this name without a warning.
            code.push_str("    wire unused_clock = clock;\n");
        }
        Verilog::Wrapper(Wrapper {
            code,
            cores: if self.emit_core {
                self.verilog.clone()
            } else {
                String::new()
            },
        })
    }

    fn width(&self, name: &str) -> u32 {
        self.iface.port(name).map_or(0, |p| p.width)
    }
}

/// Methods every block has.
pub trait UnitBlock {
    /// The Verilog module name of the unit.
    fn module(&self) -> &str;
    /// The unit's ports.
    fn interface(&self) -> &Interface;
    /// Leave the module's text out of the emitted Verilog: rust-hdl emits each
    /// wrapper's `cores` once per instance, so the second and later instances of the
    /// same unit with the same parameters must not repeat it.
    fn without_core(self) -> Self
    where
        Self: Sized;
}

macro_rules! unit_block_common {
    () => {
        fn module(&self) -> &str {
            &self.core.module
        }
        fn interface(&self) -> &Interface {
            &self.core.iface
        }
        fn without_core(mut self) -> Self {
            self.core.emit_core = false;
            self
        }
    };
}

/// The integer MAC (`gen mac`) with `N`-bit operands and an `A`-bit accumulator.
///
/// ```
/// use rusthdl::Mac;
/// let p = model::mac::MacParams::default(); // 8x8 signed, 12-bit saturating
/// assert!(Mac::<8, 12>::new(p).is_ok());
/// let err = Mac::<8, 16>::new(p).unwrap_err().to_string();
/// assert!(err.contains("port `acc` is 12 bits wide"), "{err}");
/// ```
#[derive(Clone, Debug)]
pub struct Mac<const N: usize, const A: usize> {
    pub clock: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    pub in_valid: Signal<In, Bit>,
    pub clear: Signal<In, Bit>,
    pub a: Signal<In, Bits<N>>,
    pub b: Signal<In, Bits<N>>,
    pub acc: Signal<Out, Bits<A>>,
    pub ovf: Signal<Out, Bit>,
    pub out_valid: Signal<Out, Bit>,
    core: Core<Cloned<MacModel>>,
}

impl<const N: usize, const A: usize> Mac<N, A> {
    /// The MAC of `p`; its widths must be `N` and `A`.
    pub fn new(p: MacParams) -> Result<Self, AdapterError> {
        let core = Core::new(&p, Cloned(MacModel::new(p)?))?;
        for (port, declared) in [("a", N), ("b", N), ("acc", A)] {
            check_width(&core.module, port, core.width(port), declared)?;
        }
        Ok(Mac {
            clock: Default::default(),
            rst: Default::default(),
            in_valid: Default::default(),
            clear: Default::default(),
            a: Default::default(),
            b: Default::default(),
            acc: Default::default(),
            ovf: Default::default(),
            out_valid: Default::default(),
            core,
        })
    }

    fn inputs(&self) -> [u64; 5] {
        [
            self.rst.val().into(),
            self.in_valid.val().into(),
            self.clear.val().into(),
            self.a.val().to_u64(),
            self.b.val().to_u64(),
        ]
    }
}

impl<const N: usize, const A: usize> UnitBlock for Mac<N, A> {
    unit_block_common!();
}

impl<const N: usize, const A: usize> Logic for Mac<N, A> {
    fn update(&mut self) {
        let ins = self.inputs();
        if self.clock.pos_edge() {
            self.core.engine.edge(&ins);
        }
        let out = self.core.engine.peek(&ins);
        self.acc.next = words_to_bits(&out[0..1]);
        self.ovf.next = out[1] & 1 == 1;
        self.out_valid.next = out[2] & 1 == 1;
    }

    fn connect(&mut self) {
        self.acc.connect();
        self.ovf.connect();
        self.out_valid.connect();
    }

    fn hdl(&self) -> Verilog {
        self.core.wrapper(|p| {
            if p.role == Role::Clock {
                "clock".to_string()
            } else {
                p.name.clone()
            }
        })
    }
}

/// `impl Block` for a block whose fields are `clock` and the listed signals (the
/// LogicBlock derive cannot skip the model field).
macro_rules! block_fields {
    ($($field:ident),*) => {
        fn connect_all(&mut self) {
            self.connect();
            self.clock.connect_all();
            $(self.$field.connect_all();)*
        }
        fn update_all(&mut self) {
            self.update();
            self.clock.update_all();
            $(self.$field.update_all();)*
        }
        fn has_changed(&self) -> bool {
            self.clock.has_changed() $(|| self.$field.has_changed())*
        }
        fn accept(&self, name: &str, probe: &mut dyn Probe) {
            probe.visit_start_scope(name, self);
            self.clock.accept("clock", probe);
            $(self.$field.accept(stringify!($field), probe);)*
            probe.visit_end_scope(name, self);
        }
    };
}

impl<const N: usize, const A: usize> Block for Mac<N, A> {
    block_fields!(rst, in_valid, clear, a, b, acc, ovf, out_valid);
}

/// The requantizer (`gen requant`): `ACC` = 32 x lanes, `MULT` = 32 x channels (also the
/// width of `zp`), `SHIFT` = 6 x channels, `Y` = output bits x lanes.
///
/// ```
/// use rusthdl::Requant;
/// let p = model::requant::RequantParams::default(); // int8 out, one channel, one lane
/// assert!(Requant::<32, 32, 6, 8>::new(p).is_ok());
/// assert!(Requant::<32, 32, 6, 16>::new(p).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Requant<const ACC: usize, const MULT: usize, const SHIFT: usize, const Y: usize> {
    pub clock: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    pub in_valid: Signal<In, Bit>,
    pub acc: Signal<In, Bits<ACC>>,
    pub mult: Signal<In, Bits<MULT>>,
    pub shift: Signal<In, Bits<SHIFT>>,
    pub zp: Signal<In, Bits<MULT>>,
    pub y: Signal<Out, Bits<Y>>,
    pub out_valid: Signal<Out, Bit>,
    core: Core<Cloned<RequantModel>>,
}

impl<const ACC: usize, const MULT: usize, const SHIFT: usize, const Y: usize>
    Requant<ACC, MULT, SHIFT, Y>
{
    /// The requantizer of `p`; its widths must be the const generics.
    pub fn new(p: RequantParams) -> Result<Self, AdapterError> {
        let core = Core::new(&p, Cloned(RequantModel::new(p)?))?;
        for (port, declared) in [
            ("acc", ACC),
            ("mult", MULT),
            ("shift", SHIFT),
            ("zp", MULT),
            ("y", Y),
        ] {
            check_width(&core.module, port, core.width(port), declared)?;
        }
        Ok(Requant {
            clock: Default::default(),
            rst: Default::default(),
            in_valid: Default::default(),
            acc: Default::default(),
            mult: Default::default(),
            shift: Default::default(),
            zp: Default::default(),
            y: Default::default(),
            out_valid: Default::default(),
            core,
        })
    }

    fn inputs(&self) -> Vec<u64> {
        let mut w = vec![0u64; self.core.iface.in_words()];
        w[0] = self.rst.val().into();
        w[1] = self.in_valid.val().into();
        let mut at = 2;
        let mut put = |n: usize, f: &dyn Fn(&mut [u64])| {
            let k = n.div_ceil(64);
            f(&mut w[at..at + k]);
            at += k;
        };
        put(ACC, &|s| bits_to_words(self.acc.val(), s));
        put(MULT, &|s| bits_to_words(self.mult.val(), s));
        put(SHIFT, &|s| bits_to_words(self.shift.val(), s));
        put(MULT, &|s| bits_to_words(self.zp.val(), s));
        w
    }
}

impl<const ACC: usize, const MULT: usize, const SHIFT: usize, const Y: usize> UnitBlock
    for Requant<ACC, MULT, SHIFT, Y>
{
    unit_block_common!();
}

impl<const ACC: usize, const MULT: usize, const SHIFT: usize, const Y: usize> Logic
    for Requant<ACC, MULT, SHIFT, Y>
{
    fn update(&mut self) {
        let ins = self.inputs();
        if self.clock.pos_edge() {
            self.core.engine.edge(&ins);
        }
        let out = self.core.engine.peek(&ins);
        let yw = Y.div_ceil(64);
        self.y.next = words_to_bits(&out[0..yw]);
        self.out_valid.next = out[yw] & 1 == 1;
    }

    fn connect(&mut self) {
        self.y.connect();
        self.out_valid.connect();
    }

    fn hdl(&self) -> Verilog {
        self.core.wrapper(|p| {
            if p.role == Role::Clock {
                "clock".to_string()
            } else {
                p.name.clone()
            }
        })
    }
}

impl<const ACC: usize, const MULT: usize, const SHIFT: usize, const Y: usize> Block
    for Requant<ACC, MULT, SHIFT, Y>
{
    block_fields!(rst, in_valid, acc, mult, shift, zp, y, out_valid);
}

/// Any unit, as one packed input word and one packed output word: beat inputs (every
/// input but the clock) in declaration order from bit 0 of `inputs`, outputs likewise in
/// `outputs`. `I` and `O` must be the sums of their widths. [`Packed::of`] builds any
/// unit (pipelined ones as `Piped<P>`) from its parameters; [`Packed::new`] takes a
/// typed model, [`Packed::combinational`] a unit without a clock.
///
/// ```
/// use rusthdl::Packed;
/// let p = model::mac::MacParams::default();
/// // rst, in_valid, clear, a, b: 1 + 1 + 1 + 8 + 8 bits; acc, ovf, out_valid: 12 + 1 + 1
/// let m = model::mac::Mac::new(p).unwrap();
/// assert!(Packed::<_, 19, 14>::new(&p, m.clone()).is_ok());
/// assert!(Packed::<_, 19, 13>::new(&p, m).is_err());
/// ```
#[derive(Debug)]
pub struct Packed<B, const I: usize, const O: usize> {
    pub clock: Signal<In, Clock>,
    pub inputs: Signal<In, Bits<I>>,
    pub outputs: Signal<Out, Bits<O>>,
    core: Core<B>,
}

impl<M: CycleModel + Clone, const I: usize, const O: usize> Packed<Cloned<M>, I, O> {
    /// The unit of `p`, simulated by `model` (a fresh model of the same parameters).
    pub fn new<P: Generate>(p: &P, model: M) -> Result<Self, AdapterError> {
        Packed::with(p, Cloned(model))
    }
}

impl<const I: usize, const O: usize> Packed<Boxed, I, O> {
    /// Any registered unit from its parameters alone, simulated by its
    /// `UnitParams::model`: clocked or not, and pipelined as `Piped { unit, pipeline }`
    /// (`gen <unit> --pipeline N`: the module `hdl::pipeline` emits for it, the model
    /// `model::pipeline::Delayed`).
    pub fn of<P: Generate>(p: &P) -> Result<Self, AdapterError> {
        Packed::with(p, Boxed(p.model()?))
    }
}

impl<const I: usize, const O: usize> Packed<Stateless, I, O> {
    /// A unit without a clock (`lns-mul`, `palq-shuffle`), simulated by its
    /// `UnitParams::model`; a clocked unit is refused.
    pub fn combinational<P: Generate>(p: &P) -> Result<Self, AdapterError> {
        if p.interface().ports.iter().any(|q| q.role == Role::Clock) {
            return Err(AdapterError::Hdl(hdl::HdlError {
                module: p.module_name(),
                message: "a clocked unit has state: use Packed::of or Packed::new".into(),
            }));
        }
        Packed::with(p, Stateless(p.model()?))
    }
}

impl<B: Behaviour, const I: usize, const O: usize> Packed<B, I, O> {
    fn with<P: Generate>(p: &P, engine: B) -> Result<Self, AdapterError> {
        let core = Core::new(p, engine)?;
        let iface = &core.iface;
        let iw: u32 = iface.beat_inputs().map(|p| p.width).sum();
        let ow: u32 = iface.outputs().map(|p| p.width).sum();
        check_width(&core.module, "inputs", iw, I)?;
        check_width(&core.module, "outputs", ow, O)?;
        Ok(Packed {
            clock: Default::default(),
            inputs: Default::default(),
            outputs: Default::default(),
            core,
        })
    }

    /// Bit offset of each port of `ports` in its packed word.
    fn offsets<'a>(ports: impl Iterator<Item = &'a Port>) -> Vec<(String, u32, u32)> {
        let mut at = 0;
        ports
            .map(|p| {
                let r = (p.name.clone(), at, p.width);
                at += p.width;
                r
            })
            .collect()
    }
}

/// Repack between a packed word (ports back to back in bits) and a beat record (each
/// port in its own whole words).
fn repack<'a>(ports: impl Iterator<Item = &'a Port>, from: &[u64], to: &mut [u64], unpack: bool) {
    let (mut bit, mut word) = (0u32, 0usize);
    for p in ports {
        let mut done = 0;
        while done < p.width {
            let n = (p.width - done).min(64);
            if unpack {
                let v = get_field(from, bit + done, n);
                set_field(to, (word as u32) * 64 + done, n, v);
            } else {
                let v = get_field(from, (word as u32) * 64 + done, n);
                set_field(to, bit + done, n, v);
            }
            done += n;
        }
        bit += p.width;
        word += p.words();
    }
}

impl<B: Behaviour, const I: usize, const O: usize> UnitBlock for Packed<B, I, O> {
    unit_block_common!();
}

impl<B: Behaviour, const I: usize, const O: usize> Logic for Packed<B, I, O> {
    fn update(&mut self) {
        let iface = &self.core.iface;
        let mut packed = vec![0u64; I.div_ceil(64)];
        bits_to_words(self.inputs.val(), &mut packed);
        let mut ins = vec![0u64; iface.in_words()];
        repack(iface.beat_inputs(), &packed, &mut ins, true);
        if self.clock.pos_edge() {
            self.core.engine.edge(&ins);
        }
        let out = self.core.engine.peek(&ins);
        let mut packed = vec![0u64; O.div_ceil(64)];
        repack(self.core.iface.outputs(), &out, &mut packed, false);
        self.outputs.next = words_to_bits(&packed);
    }

    fn connect(&mut self) {
        self.outputs.connect();
    }

    fn hdl(&self) -> Verilog {
        let iface = &self.core.iface;
        let ins = Self::offsets(iface.beat_inputs());
        let outs = Self::offsets(iface.outputs());
        self.core.wrapper(|p| {
            if p.role == Role::Clock {
                return "clock".to_string();
            }
            let (word, list) = match p.dir {
                Dir::In => ("inputs", &ins),
                Dir::Out => ("outputs", &outs),
            };
            let (_, lo, w) = list.iter().find(|(n, _, _)| *n == p.name).expect("port");
            if *w == 1 {
                format!("{word}[{lo}]")
            } else {
                format!("{word}[{}:{lo}]", lo + w - 1)
            }
        })
    }
}

impl<B: Behaviour, const I: usize, const O: usize> Block for Packed<B, I, O> {
    block_fields!(inputs, outputs);
}

pub mod example;
