//! A small, width-exact RTL IR with run-time widths.
//!
//! A [`ModuleBuilder`] creates signals ([`Sig`]) by applying operations to earlier
//! signals. Every signal has one exact width, fixed when it is made; every operation checks
//! its operand widths there and then, and an error names the signals involved. Nothing is
//! implicitly widened or truncated: extension, truncation and exact arithmetic are explicit
//! operations, so the emitted Verilog never relies on Verilog's context-dependent widths.
//!
//! Signals are shared, not duplicated: each operation becomes one named wire in the
//! Verilog, referenced by name wherever it is used. Registers are the only way to make
//! feedback, so the netlist is acyclic by construction.
//!
//! [`ModuleBuilder::finish`] checks the whole module (every register driven, every output
//! assigned, every input and every bit of every live signal used, names unique), drops
//! signals nothing uses, and returns a [`Module`] ready for [`crate::verilog`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

/// An error found while building a module: a width mismatch, a missing driver, a name
/// clash. The message names the module and the signals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HdlError {
    pub module: String,
    pub message: String,
}

impl fmt::Display for HdlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "module '{}': {}", self.module, self.message)
    }
}

impl std::error::Error for HdlError {}

pub type Result<T> = std::result::Result<T, HdlError>;

/// A signal: the value of one node of a module, with its exact width in bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sig {
    owner: u32,
    id: usize,
    width: u32,
}

impl Sig {
    /// Width in bits.
    pub fn width(self) -> u32 {
        self.width
    }
}

/// Port direction in the IR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortDir {
    Input,
    Output,
}

/// A module port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortDecl {
    pub name: String,
    pub dir: PortDir,
    pub width: u32,
}

/// Two-operand operations on equal-width operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    And,
    Or,
    Xor,
    /// Addition modulo 2^width.
    Add,
    /// Subtraction modulo 2^width.
    Sub,
    /// Equality, one bit.
    Eq,
    /// Less-than, one bit.
    Lt {
        signed: bool,
    },
}

/// One-operand operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Not,
    /// AND of all bits, one bit.
    ReduceAnd,
    /// OR of all bits, one bit.
    ReduceOr,
}

/// What a node computes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// A module input port.
    Input,
    /// A constant; words little-endian, bits above the width zero.
    Const(Vec<u64>),
    /// The output of register `n` (index into [`Module::regs`]).
    Reg(usize),
    Unary(UnOp, Sig),
    Binary(BinOp, Sig, Sig),
    /// Exact product: the result is as wide as both operands together.
    Mul {
        a: Sig,
        b: Sig,
        signed: bool,
    },
    /// `sel ? t : f`.
    Mux {
        sel: Sig,
        t: Sig,
        f: Sig,
    },
    /// Bits `[lo + width - 1 : lo]` of `a`.
    Slice {
        a: Sig,
        lo: u32,
    },
    /// Concatenation, most significant part first.
    Concat(Vec<Sig>),
    /// Sign or zero extension of `a` to the node's width.
    Ext {
        a: Sig,
        signed: bool,
    },
    /// Shift of `a` by the unsigned `amount`: left, logical right (zeros shift in), or
    /// arithmetic right (copies of the sign shift in).
    Shift {
        a: Sig,
        amount: Sig,
        left: bool,
        arith: bool,
    },
    /// Output port `port` of instance `inst` (index into [`Module::instances`]).
    InstOut {
        inst: usize,
        port: String,
    },
}

/// A node of the netlist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub op: Op,
    pub width: u32,
    /// The wire's name in the Verilog; automatic names are given by `finish`.
    pub name: String,
    /// An unnamed constant: written as a literal where it is used, never declared.
    pub inline: bool,
}

/// A register clocked on the rising edge of `clock`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Register {
    pub name: String,
    pub width: u32,
    pub clock: Sig,
    /// Synchronous, active-high reset signal and the value it loads.
    pub reset: Option<(Sig, Vec<u64>)>,
    /// Next value.
    pub d: Sig,
    /// Load enable; the register holds when it is low.
    pub enable: Option<Sig>,
}

/// An instance of another module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    pub module: String,
    pub name: String,
    /// Verilog parameter overrides (`#(.N(8))`), for external modules.
    pub params: Vec<(String, u64)>,
    /// Input port connections, in the child's port order.
    pub inputs: Vec<(String, Sig)>,
    /// Output ports used, in the child's port order.
    pub outputs: Vec<String>,
}

/// A finished, checked module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    pub name: String,
    /// Comment lines placed above the module.
    pub comments: Vec<String>,
    pub ports: Vec<PortDecl>,
    /// Live nodes, in dependency order (operands before users).
    pub nodes: Vec<(usize, Node)>,
    pub regs: Vec<Register>,
    pub instances: Vec<Instance>,
    /// Output port name and the signal that drives it.
    pub outputs: Vec<(String, Sig)>,
    /// Modules instantiated, so a design can emit them first.
    pub children: Vec<Module>,
    /// Defined elsewhere (hand-written Verilog): only its ports are known here, and it is
    /// not emitted.
    pub external: bool,
    /// Body comments: each goes before the first declared node with an id at or above its
    /// own.
    pub notes: Vec<(usize, String)>,
}

impl Module {
    /// A module defined outside the IR (hand-written Verilog), known by its ports only.
    /// It can be instantiated, with parameter overrides, but is not emitted.
    pub fn external(name: &str, ports: Vec<PortDecl>) -> Module {
        Module {
            name: name.to_string(),
            comments: Vec::new(),
            ports,
            nodes: Vec::new(),
            regs: Vec::new(),
            instances: Vec::new(),
            outputs: Vec::new(),
            children: Vec::new(),
            external: true,
            notes: Vec::new(),
        }
    }

    /// The node behind a signal.
    pub fn node(&self, s: Sig) -> &Node {
        let i = self
            .nodes
            .binary_search_by_key(&s.id, |(id, _)| *id)
            .expect("signal belongs to this module");
        &self.nodes[i].1
    }

    /// Look up a port.
    pub fn port(&self, name: &str) -> Option<&PortDecl> {
        self.ports.iter().find(|p| p.name == name)
    }
}

static NEXT_OWNER: AtomicU32 = AtomicU32::new(1);

/// Pending register: created before its next value exists, driven later.
#[derive(Clone, Debug)]
struct PendingReg {
    name: String,
    width: u32,
    clock: Sig,
    reset: Option<(Sig, Vec<u64>)>,
    next: Option<(Sig, Option<Sig>)>,
}

/// Builds one module. See the module documentation.
#[derive(Debug)]
pub struct ModuleBuilder {
    owner: u32,
    name: String,
    comments: Vec<String>,
    ports: Vec<PortDecl>,
    nodes: Vec<(Op, u32, Option<String>)>,
    regs: Vec<PendingReg>,
    instances: Vec<Instance>,
    children: Vec<Module>,
    outputs: Vec<(String, Option<Sig>)>,
    notes: Vec<(usize, String)>,
    discards: Vec<Sig>,
}

/// Words needed for `width` bits.
fn words(width: u32) -> usize {
    width.div_ceil(64) as usize
}

/// The low `width` bits of a two's-complement `value`, as words.
fn const_words(value: i128, width: u32) -> Vec<u64> {
    let mut w = Vec::with_capacity(words(width));
    for i in 0..words(width) {
        let shift = 64 * i as u32;
        let word = if shift >= 128 {
            if value < 0 {
                u64::MAX
            } else {
                0
            }
        } else {
            (value >> shift) as u64
        };
        w.push(word);
    }
    mask_words(&mut w, width);
    w
}

/// Clear the bits at and above `width`.
fn mask_words(w: &mut [u64], width: u32) {
    let rem = width % 64;
    if rem != 0 {
        if let Some(last) = w.last_mut() {
            *last &= (1u64 << rem) - 1;
        }
    }
}

/// Bit `i` of a constant.
pub(crate) fn const_bit(w: &[u64], i: u32) -> bool {
    (w[(i / 64) as usize] >> (i % 64)) & 1 == 1
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Verilog-2005 keywords a name must not take.
const KEYWORDS: &[&str] = &[
    "always",
    "and",
    "assign",
    "begin",
    "buf",
    "case",
    "casex",
    "casez",
    "default",
    "defparam",
    "else",
    "end",
    "endcase",
    "endfunction",
    "endgenerate",
    "endmodule",
    "endtask",
    "for",
    "forever",
    "function",
    "generate",
    "genvar",
    "if",
    "initial",
    "inout",
    "input",
    "integer",
    "localparam",
    "module",
    "nand",
    "negedge",
    "nor",
    "not",
    "or",
    "output",
    "parameter",
    "posedge",
    "real",
    "reg",
    "repeat",
    "signed",
    "task",
    "time",
    "tri",
    "unsigned",
    "wait",
    "while",
    "wire",
    "xnor",
    "xor",
];

impl ModuleBuilder {
    /// Start a module called `name`.
    pub fn new(name: &str) -> ModuleBuilder {
        ModuleBuilder {
            owner: NEXT_OWNER.fetch_add(1, Ordering::Relaxed),
            name: name.to_string(),
            comments: Vec::new(),
            ports: Vec::new(),
            nodes: Vec::new(),
            regs: Vec::new(),
            instances: Vec::new(),
            children: Vec::new(),
            outputs: Vec::new(),
            notes: Vec::new(),
            discards: Vec::new(),
        }
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T> {
        Err(HdlError {
            module: self.name.clone(),
            message: message.into(),
        })
    }

    /// A readable name for a signal in error messages.
    fn describe(&self, s: Sig) -> String {
        match self.nodes.get(s.id) {
            Some((_, _, Some(name))) => format!("'{name}' ({} bits)", s.width),
            Some((op, _, None)) => format!("{} #{} ({} bits)", op_word(op), s.id, s.width),
            None => format!("#{} ({} bits)", s.id, s.width),
        }
    }

    fn check_owned(&self, s: Sig) -> Result<()> {
        if s.owner != self.owner || s.id >= self.nodes.len() {
            return self.err(format!("signal #{} belongs to another module", s.id));
        }
        Ok(())
    }

    fn push(&mut self, op: Op, width: u32) -> Result<Sig> {
        if width == 0 {
            return self.err(format!("a {} would be 0 bits wide", op_word(&op)));
        }
        self.nodes.push((op, width, None));
        Ok(Sig {
            owner: self.owner,
            id: self.nodes.len() - 1,
            width,
        })
    }

    /// Declare that the bits of `s` are intentionally ignored (e.g. mantissa bits that
    /// truncation drops). They are OR-reduced into a wire named `unused_<label>`, the
    /// name Verilator's lint expects for such signals; synthesis removes it. Everything
    /// not discarded this way must still be used.
    pub fn discard(&mut self, s: Sig, label: &str) -> Result<()> {
        let r = self.reduce_or(s)?;
        self.name(r, &format!("unused_{label}"))?;
        self.discards.push(r);
        Ok(())
    }

    /// A comment placed in the module body before the signals made after this call, to
    /// mark a stage of the datapath.
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push((self.nodes.len(), text.into()));
    }

    /// Add a comment line above the module (a description, the latency, ...).
    pub fn comment(&mut self, line: impl Into<String>) {
        self.comments.push(line.into());
    }

    /// Declare an input port.
    pub fn input(&mut self, name: &str, width: u32) -> Result<Sig> {
        self.port(name, PortDir::Input, width)?;
        let s = self.push(Op::Input, width)?;
        self.nodes[s.id].2 = Some(name.to_string());
        Ok(s)
    }

    /// Declare an output port; drive it later with [`ModuleBuilder::drive_output`].
    pub fn output(&mut self, name: &str, width: u32) -> Result<()> {
        self.port(name, PortDir::Output, width)?;
        self.outputs.push((name.to_string(), None));
        Ok(())
    }

    fn port(&mut self, name: &str, dir: PortDir, width: u32) -> Result<()> {
        if width == 0 {
            return self.err(format!("port '{name}' would be 0 bits wide"));
        }
        if self.ports.iter().any(|p| p.name == name) {
            return self.err(format!("port '{name}' is declared twice"));
        }
        self.ports.push(PortDecl {
            name: name.to_string(),
            dir,
            width,
        });
        Ok(())
    }

    /// Connect output port `name` to `value`; widths must match exactly.
    pub fn drive_output(&mut self, name: &str, value: Sig) -> Result<()> {
        self.check_owned(value)?;
        let Some(port) = self
            .ports
            .iter()
            .find(|p| p.name == name && p.dir == PortDir::Output)
        else {
            return self.err(format!("there is no output port '{name}'"));
        };
        if port.width != value.width {
            let msg = format!(
                "output '{name}' is {} bits but is driven by {}",
                port.width,
                self.describe(value)
            );
            return self.err(msg);
        }
        let slot = self
            .outputs
            .iter_mut()
            .find(|(n, _)| n == name)
            .expect("declared");
        if slot.1.is_some() {
            return self.err(format!("output '{name}' is driven twice"));
        }
        slot.1 = Some(value);
        Ok(())
    }

    /// Give a signal a name in the Verilog. Returns the same signal.
    pub fn name(&mut self, s: Sig, name: &str) -> Result<Sig> {
        self.check_owned(s)?;
        if !is_identifier(name) || KEYWORDS.contains(&name) {
            return self.err(format!("'{name}' is not a usable Verilog identifier"));
        }
        match &self.nodes[s.id] {
            (Op::Input | Op::Reg(_) | Op::InstOut { .. }, _, _) => self.err(format!(
                "{} already has a name; rename it with a wire",
                self.describe(s)
            )),
            _ => {
                self.nodes[s.id].2 = Some(name.to_string());
                Ok(s)
            }
        }
    }

    /// A constant of `width` bits. `value` may be given as a signed or an unsigned number
    /// but must fit: `-2^(width-1) <= value <= 2^width - 1`.
    pub fn lit(&mut self, width: u32, value: i128) -> Result<Sig> {
        let fits = if width >= 127 {
            true
        } else {
            value >= -(1i128 << (width - 1).min(126)) && value < (1i128 << width)
        };
        if width == 0 || !fits {
            return self.err(format!("constant {value} does not fit in {width} bits"));
        }
        self.push(Op::Const(const_words(value, width)), width)
    }

    /// All-zero constant.
    pub fn zero(&mut self, width: u32) -> Result<Sig> {
        self.lit(width, 0)
    }

    /// The constant behind a signal, if it is one.
    fn const_of(&self, s: Sig) -> Option<&Vec<u64>> {
        match &self.nodes[s.id].0 {
            Op::Const(w) => Some(w),
            _ => None,
        }
    }

    fn same_width(&self, what: &str, a: Sig, b: Sig) -> Result<()> {
        self.check_owned(a)?;
        self.check_owned(b)?;
        if a.width != b.width {
            let msg = format!(
                "{what} needs operands of equal width, got {} and {}",
                self.describe(a),
                self.describe(b)
            );
            return self.err(msg);
        }
        Ok(())
    }

    fn binary(&mut self, op: BinOp, a: Sig, b: Sig) -> Result<Sig> {
        self.same_width(bin_word(op), a, b)?;
        let width = match op {
            BinOp::Eq | BinOp::Lt { .. } => 1,
            _ => a.width,
        };
        self.push(Op::Binary(op, a, b), width)
    }

    /// Bitwise AND.
    pub fn and(&mut self, a: Sig, b: Sig) -> Result<Sig> {
        self.binary(BinOp::And, a, b)
    }
    /// Bitwise OR.
    pub fn or(&mut self, a: Sig, b: Sig) -> Result<Sig> {
        self.binary(BinOp::Or, a, b)
    }
    /// Bitwise XOR.
    pub fn xor(&mut self, a: Sig, b: Sig) -> Result<Sig> {
        self.binary(BinOp::Xor, a, b)
    }
    /// Addition modulo 2^width (use [`ModuleBuilder::add_exact`] for a full-width sum).
    pub fn add(&mut self, a: Sig, b: Sig) -> Result<Sig> {
        self.binary(BinOp::Add, a, b)
    }
    /// Subtraction modulo 2^width.
    pub fn sub(&mut self, a: Sig, b: Sig) -> Result<Sig> {
        self.binary(BinOp::Sub, a, b)
    }
    /// Equality (one bit).
    pub fn eq(&mut self, a: Sig, b: Sig) -> Result<Sig> {
        self.binary(BinOp::Eq, a, b)
    }
    /// Less-than (one bit), signed or unsigned.
    pub fn lt(&mut self, a: Sig, b: Sig, signed: bool) -> Result<Sig> {
        self.binary(BinOp::Lt { signed }, a, b)
    }

    fn unary(&mut self, op: UnOp, a: Sig) -> Result<Sig> {
        self.check_owned(a)?;
        let width = if op == UnOp::Not { a.width } else { 1 };
        self.push(Op::Unary(op, a), width)
    }

    /// Bitwise NOT.
    pub fn not(&mut self, a: Sig) -> Result<Sig> {
        self.unary(UnOp::Not, a)
    }
    /// AND of all bits.
    pub fn reduce_and(&mut self, a: Sig) -> Result<Sig> {
        self.unary(UnOp::ReduceAnd, a)
    }
    /// OR of all bits.
    pub fn reduce_or(&mut self, a: Sig) -> Result<Sig> {
        self.unary(UnOp::ReduceOr, a)
    }

    /// Exact product, `a.width + b.width` bits, of two signed or two unsigned operands.
    pub fn mul(&mut self, a: Sig, b: Sig, signed: bool) -> Result<Sig> {
        self.check_owned(a)?;
        self.check_owned(b)?;
        self.push(Op::Mul { a, b, signed }, a.width + b.width)
    }

    /// `sel ? t : f`; `sel` is one bit, `t` and `f` of equal width.
    pub fn mux(&mut self, sel: Sig, t: Sig, f: Sig) -> Result<Sig> {
        self.check_owned(sel)?;
        if sel.width != 1 {
            let msg = format!("a mux select must be 1 bit, got {}", self.describe(sel));
            return self.err(msg);
        }
        self.same_width("mux", t, f)?;
        self.push(Op::Mux { sel, t, f }, t.width)
    }

    /// Bits `hi..=lo` of `a`.
    pub fn slice(&mut self, a: Sig, hi: u32, lo: u32) -> Result<Sig> {
        self.check_owned(a)?;
        if hi < lo || hi >= a.width {
            let msg = format!("slice [{hi}:{lo}] is outside {}", self.describe(a));
            return self.err(msg);
        }
        let width = hi - lo + 1;
        if width == a.width {
            return Ok(a);
        }
        if let Some(w) = self.const_of(a) {
            let bits: Vec<bool> = (lo..=hi).map(|i| const_bit(w, i)).collect();
            return self.push(Op::Const(bits_to_words(&bits)), width);
        }
        self.push(Op::Slice { a, lo }, width)
    }

    /// Bit `i` of `a`.
    pub fn bit(&mut self, a: Sig, i: u32) -> Result<Sig> {
        self.slice(a, i, i)
    }

    /// The most significant bit (the sign bit of a two's-complement value).
    pub fn msb(&mut self, a: Sig) -> Result<Sig> {
        self.slice(a, a.width - 1, a.width - 1)
    }

    /// Concatenation, most significant part first.
    pub fn concat(&mut self, parts: &[Sig]) -> Result<Sig> {
        for p in parts {
            self.check_owned(*p)?;
        }
        match parts {
            [] => self.err("concatenation of nothing"),
            [one] => Ok(*one),
            _ => self.push(
                Op::Concat(parts.to_vec()),
                parts.iter().map(|p| p.width).sum(),
            ),
        }
    }

    /// Sign- or zero-extend `a` to `width` bits (`width >= a.width`).
    pub fn ext(&mut self, a: Sig, width: u32, signed: bool) -> Result<Sig> {
        self.check_owned(a)?;
        if width < a.width {
            let msg = format!("cannot extend {} to {width} bits", self.describe(a));
            return self.err(msg);
        }
        if width == a.width {
            return Ok(a);
        }
        if let Some(w) = self.const_of(a) {
            let top = signed && const_bit(w, a.width - 1);
            let bits: Vec<bool> = (0..width)
                .map(|i| if i < a.width { const_bit(w, i) } else { top })
                .collect();
            return self.push(Op::Const(bits_to_words(&bits)), width);
        }
        self.push(Op::Ext { a, signed }, width)
    }

    /// Logical right shift of `a` by the unsigned `amount` (same width as `a`).
    pub fn shr(&mut self, a: Sig, amount: Sig) -> Result<Sig> {
        self.check_owned(a)?;
        self.check_owned(amount)?;
        self.push(
            Op::Shift {
                a,
                amount,
                left: false,
                arith: false,
            },
            a.width,
        )
    }

    /// Arithmetic right shift of the two's-complement `a` by the unsigned `amount`.
    pub fn ashr(&mut self, a: Sig, amount: Sig) -> Result<Sig> {
        self.check_owned(a)?;
        self.check_owned(amount)?;
        self.push(
            Op::Shift {
                a,
                amount,
                left: false,
                arith: true,
            },
            a.width,
        )
    }

    /// Logical left shift of `a` by the unsigned `amount` (same width as `a`).
    pub fn shl(&mut self, a: Sig, amount: Sig) -> Result<Sig> {
        self.check_owned(a)?;
        self.check_owned(amount)?;
        self.push(
            Op::Shift {
                a,
                amount,
                left: true,
                arith: false,
            },
            a.width,
        )
    }

    /// Unsigned maximum of two equal-width signals.
    pub fn umax(&mut self, a: Sig, b: Sig) -> Result<Sig> {
        let a_less = self.lt(a, b, false)?;
        self.mux(a_less, b, a)
    }

    /// Sign-extend.
    pub fn sext(&mut self, a: Sig, width: u32) -> Result<Sig> {
        self.ext(a, width, true)
    }

    /// Zero-extend.
    pub fn zext(&mut self, a: Sig, width: u32) -> Result<Sig> {
        self.ext(a, width, false)
    }

    /// Exact sum: both operands extended to one bit more than the wider, then added.
    pub fn add_exact(&mut self, a: Sig, b: Sig, signed: bool) -> Result<Sig> {
        let w = a.width.max(b.width) + 1;
        let (a, b) = (self.ext(a, w, signed)?, self.ext(b, w, signed)?);
        self.add(a, b)
    }

    /// A register of `width` bits on the rising edge of `clock`, optionally with a
    /// synchronous reset to `reset.1`. Its next value is set by [`ModuleBuilder::drive_reg`].
    pub fn reg(
        &mut self,
        name: &str,
        width: u32,
        clock: Sig,
        reset: Option<(Sig, i128)>,
    ) -> Result<Sig> {
        self.check_owned(clock)?;
        if clock.width != 1 {
            let msg = format!(
                "register '{name}' needs a 1-bit clock, got {}",
                self.describe(clock)
            );
            return self.err(msg);
        }
        let reset = match reset {
            Some((r, v)) => {
                self.check_owned(r)?;
                if r.width != 1 {
                    let msg = format!(
                        "register '{name}' needs a 1-bit reset, got {}",
                        self.describe(r)
                    );
                    return self.err(msg);
                }
                let k = self.lit(width, v)?;
                let w = self.const_of(k).cloned().expect("constant");
                Some((r, w))
            }
            None => None,
        };
        self.regs.push(PendingReg {
            name: name.to_string(),
            width,
            clock,
            reset,
            next: None,
        });
        let s = self.push(Op::Reg(self.regs.len() - 1), width)?;
        self.nodes[s.id].2 = Some(name.to_string());
        Ok(s)
    }

    /// Set the next value of register `r`, loaded on every edge or only where `enable` is
    /// high.
    pub fn drive_reg(&mut self, r: Sig, d: Sig, enable: Option<Sig>) -> Result<()> {
        self.check_owned(r)?;
        let Op::Reg(i) = self.nodes[r.id].0 else {
            let msg = format!("{} is not a register", self.describe(r));
            return self.err(msg);
        };
        self.same_width("a register's next value", r, d)?;
        if let Some(en) = enable {
            self.check_owned(en)?;
            if en.width != 1 {
                let msg = format!("an enable must be 1 bit, got {}", self.describe(en));
                return self.err(msg);
            }
        }
        if self.regs[i].next.is_some() {
            let msg = format!("register '{}' is driven twice", self.regs[i].name);
            return self.err(msg);
        }
        self.regs[i].next = Some((d, enable));
        Ok(())
    }

    /// A register loaded from `d` (under `enable`), with an optional synchronous reset to 0.
    pub fn register(
        &mut self,
        name: &str,
        d: Sig,
        clock: Sig,
        reset: Option<Sig>,
        enable: Option<Sig>,
    ) -> Result<Sig> {
        let r = self.reg(name, d.width, clock, reset.map(|r| (r, 0)))?;
        self.drive_reg(r, d, enable)?;
        Ok(r)
    }

    /// Instantiate `child` as `name`, connecting its inputs by name. Returns the child's
    /// outputs by name. Every child input must be connected, with its exact width.
    pub fn instance(
        &mut self,
        child: &Module,
        name: &str,
        connections: &[(&str, Sig)],
    ) -> Result<BTreeMap<String, Sig>> {
        let mut inputs = Vec::new();
        for p in child.ports.iter().filter(|p| p.dir == PortDir::Input) {
            let Some((_, s)) = connections.iter().find(|(n, _)| *n == p.name) else {
                return self.err(format!(
                    "instance '{name}': input '{}' is not connected",
                    p.name
                ));
            };
            self.check_owned(*s)?;
            if s.width != p.width {
                let msg = format!(
                    "instance '{name}': input '{}' is {} bits but is connected to {}",
                    p.name,
                    p.width,
                    self.describe(*s)
                );
                return self.err(msg);
            }
            inputs.push((p.name.clone(), *s));
        }
        for (n, _) in connections {
            if child.port(n).is_none_or(|p| p.dir != PortDir::Input) {
                return self.err(format!(
                    "instance '{name}': '{}' has no input '{n}'",
                    child.name
                ));
            }
        }
        let idx = self.instances.len();
        let mut outs = BTreeMap::new();
        let mut out_names = Vec::new();
        for p in child.ports.iter().filter(|p| p.dir == PortDir::Output) {
            let s = self.push(
                Op::InstOut {
                    inst: idx,
                    port: p.name.clone(),
                },
                p.width,
            )?;
            self.nodes[s.id].2 = Some(format!("{name}_{}", p.name));
            outs.insert(p.name.clone(), s);
            out_names.push(p.name.clone());
        }
        self.instances.push(Instance {
            module: child.name.clone(),
            name: name.to_string(),
            params: Vec::new(),
            inputs,
            outputs: out_names,
        });
        if !self.children.iter().any(|c| c.name == child.name) {
            self.children.push(child.clone());
        }
        Ok(outs)
    }

    /// Like [`ModuleBuilder::instance`], with Verilog parameter overrides for an
    /// [external](Module::external) module.
    pub fn instance_with_params(
        &mut self,
        child: &Module,
        name: &str,
        params: &[(&str, u64)],
        connections: &[(&str, Sig)],
    ) -> Result<BTreeMap<String, Sig>> {
        let outs = self.instance(child, name, connections)?;
        let inst = self.instances.last_mut().expect("just added");
        inst.params = params.iter().map(|(n, v)| (n.to_string(), *v)).collect();
        Ok(outs)
    }

    /// Check the module and return it (see the module documentation).
    pub fn finish(self) -> Result<Module> {
        let outputs = self.checked_outputs()?;
        let regs = self.checked_regs()?;
        // Discarded signals are roots like outputs: kept, and counted as read.
        let roots: Vec<(String, Sig)> = outputs
            .iter()
            .cloned()
            .chain(self.discards.iter().map(|s| (String::new(), *s)))
            .collect();
        let live = self.liveness(&roots, &regs);
        self.check_all_bits_used(&live, &roots, &regs)?;
        let nodes = self.named_nodes(&live)?;
        Ok(Module {
            name: self.name,
            comments: self.comments,
            ports: self.ports,
            nodes,
            regs,
            instances: self.instances,
            outputs,
            children: self.children,
            external: false,
            notes: self.notes,
        })
    }

    fn checked_outputs(&self) -> Result<Vec<(String, Sig)>> {
        let mut out = Vec::new();
        for (name, s) in &self.outputs {
            match s {
                Some(s) => out.push((name.clone(), *s)),
                None => return self.err(format!("output '{name}' is never driven")),
            }
        }
        Ok(out)
    }

    fn checked_regs(&self) -> Result<Vec<Register>> {
        let mut regs = Vec::new();
        for r in &self.regs {
            let Some((d, enable)) = r.next else {
                return self.err(format!("register '{}' is never driven", r.name));
            };
            regs.push(Register {
                name: r.name.clone(),
                width: r.width,
                clock: r.clock,
                reset: r.reset.clone(),
                d,
                enable,
            });
        }
        Ok(regs)
    }

    /// Operands of a node, as signals.
    fn operands(&self, op: &Op) -> Vec<Sig> {
        match op {
            Op::Input | Op::Const(_) | Op::Reg(_) | Op::InstOut { .. } => vec![],
            Op::Unary(_, a) | Op::Slice { a, .. } | Op::Ext { a, .. } => vec![*a],
            Op::Binary(_, a, b) | Op::Mul { a, b, .. } => vec![*a, *b],
            Op::Shift { a, amount, .. } => vec![*a, *amount],
            Op::Mux { sel, t, f } => vec![*sel, *t, *f],
            Op::Concat(parts) => parts.clone(),
        }
    }

    /// Which nodes the outputs depend on, through registers and instances.
    fn liveness(&self, outputs: &[(String, Sig)], regs: &[Register]) -> Vec<bool> {
        let mut live = vec![false; self.nodes.len()];
        let mut stack: Vec<usize> = outputs.iter().map(|(_, s)| s.id).collect();
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut live[id], true) {
                continue;
            }
            let op = &self.nodes[id].0;
            stack.extend(self.operands(op).iter().map(|s| s.id));
            match op {
                Op::Reg(i) => {
                    let r = &regs[*i];
                    stack.push(r.clock.id);
                    stack.push(r.d.id);
                    stack.extend(r.reset.as_ref().map(|(s, _)| s.id));
                    stack.extend(r.enable.map(|s| s.id));
                }
                Op::InstOut { inst, .. } => {
                    stack.extend(self.instances[*inst].inputs.iter().map(|(_, s)| s.id));
                }
                _ => {}
            }
        }
        live
    }

    /// Verilator's lint rejects inputs and bits that nothing reads; catch them here, with
    /// the signal's name, instead of in the emitted Verilog.
    fn check_all_bits_used(
        &self,
        live: &[bool],
        outputs: &[(String, Sig)],
        regs: &[Register],
    ) -> Result<()> {
        let mut used: Vec<Vec<bool>> = self
            .nodes
            .iter()
            .map(|n| vec![false; n.1 as usize])
            .collect();
        let use_all =
            |s: Sig, used: &mut Vec<Vec<bool>>| used[s.id].iter_mut().for_each(|b| *b = true);
        for (_, s) in outputs {
            use_all(*s, &mut used);
        }
        for (id, (op, width, _)) in self.nodes.iter().enumerate() {
            if !live[id] {
                continue;
            }
            match op {
                Op::Slice { a, lo } => {
                    for b in *lo..*lo + *width {
                        used[a.id][b as usize] = true;
                    }
                }
                Op::Reg(i) => {
                    let r = &regs[*i];
                    use_all(r.clock, &mut used);
                    use_all(r.d, &mut used);
                    if let Some((s, _)) = &r.reset {
                        use_all(*s, &mut used);
                    }
                    if let Some(s) = r.enable {
                        use_all(s, &mut used);
                    }
                }
                Op::InstOut { inst, .. } => {
                    for (_, s) in &self.instances[*inst].inputs {
                        use_all(*s, &mut used);
                    }
                }
                other => {
                    for s in self.operands(other) {
                        use_all(s, &mut used);
                    }
                }
            }
        }
        for (id, (op, _, name)) in self.nodes.iter().enumerate() {
            let what = name
                .clone()
                .unwrap_or_else(|| format!("{} #{id}", op_word(op)));
            if let Op::InstOut { inst, port } = op {
                if !live[id] {
                    let i = &self.instances[*inst].name;
                    return self.err(format!("output '{port}' of instance '{i}' is never used"));
                }
                continue;
            }
            let checked = live[id] || matches!(op, Op::Input);
            if !checked || (matches!(op, Op::Const(_)) && name.is_none()) {
                continue;
            }
            if used[id].iter().all(|b| !b) {
                return self.err(format!("'{what}' is never used"));
            }
            if let Some(lo) = used[id].iter().position(|b| !b) {
                let hi = lo + used[id][lo..].iter().take_while(|b| !**b).count() - 1;
                return self.err(format!("bits [{hi}:{lo}] of '{what}' are never used"));
            }
        }
        Ok(())
    }

    /// Live nodes with final, unique names; automatic names are `<op>_<id>`.
    fn named_nodes(&self, live: &[bool]) -> Result<Vec<(usize, Node)>> {
        let mut taken: BTreeSet<String> = BTreeSet::new();
        for p in &self.ports {
            taken.insert(p.name.clone());
        }
        let mut out = Vec::new();
        for (id, (op, width, name)) in self.nodes.iter().enumerate() {
            if !live[id] && !matches!(op, Op::Input) {
                continue;
            }
            let name = match (op, name) {
                (Op::Input, Some(n)) => n.clone(),
                (_, Some(n)) => {
                    if !taken.insert(n.clone()) {
                        return self.err(format!("the name '{n}' is used twice"));
                    }
                    n.clone()
                }
                (_, None) => {
                    let n = format!("{}_{id}", op_word(op));
                    if !taken.insert(n.clone()) {
                        return self.err(format!(
                            "the automatic name '{n}' clashes with a given name"
                        ));
                    }
                    n
                }
            };
            let inline = matches!(op, Op::Const(_)) && self.nodes[id].2.is_none();
            out.push((
                id,
                Node {
                    op: op.clone(),
                    width: *width,
                    name,
                    inline,
                },
            ));
        }
        Ok(out)
    }
}

fn bits_to_words(bits: &[bool]) -> Vec<u64> {
    let mut w = vec![0u64; words(bits.len() as u32)];
    for (i, b) in bits.iter().enumerate() {
        if *b {
            w[i / 64] |= 1 << (i % 64);
        }
    }
    w
}

fn bin_word(op: BinOp) -> &'static str {
    match op {
        BinOp::And => "and",
        BinOp::Or => "or",
        BinOp::Xor => "xor",
        BinOp::Add => "add",
        BinOp::Sub => "sub",
        BinOp::Eq => "eq",
        BinOp::Lt { .. } => "lt",
    }
}

/// A short word for an operation, used in automatic names and messages.
fn op_word(op: &Op) -> &'static str {
    match op {
        Op::Input => "input",
        Op::Const(_) => "const",
        Op::Reg(_) => "reg",
        Op::Unary(UnOp::Not, _) => "not",
        Op::Unary(UnOp::ReduceAnd, _) => "all",
        Op::Unary(UnOp::ReduceOr, _) => "any",
        Op::Binary(b, _, _) => bin_word(*b),
        Op::Mul { .. } => "mul",
        Op::Mux { .. } => "mux",
        Op::Slice { .. } => "slice",
        Op::Concat(_) => "cat",
        Op::Ext { signed: true, .. } => "sext",
        Op::Ext { signed: false, .. } => "zext",
        Op::Shift { left: true, .. } => "shl",
        Op::Shift { arith: true, .. } => "ashr",
        Op::Shift { left: false, .. } => "shr",
        Op::InstOut { .. } => "inst",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_errors_name_the_signals() {
        let mut m = ModuleBuilder::new("t");
        let a = m.input("a", 8).unwrap();
        let b = m.input("b", 12).unwrap();
        let e = m.add(a, b).unwrap_err();
        assert_eq!(
            e.to_string(),
            "module 't': add needs operands of equal width, got 'a' (8 bits) and 'b' (12 bits)"
        );
        let e = m.slice(a, 8, 0).unwrap_err();
        assert!(
            e.message.contains("slice [8:0] is outside 'a' (8 bits)"),
            "{e}"
        );
        assert!(m.lit(4, 16).is_err());
        assert!(m.lit(4, -9).is_err());
        assert!(m.lit(4, -8).is_ok() && m.lit(4, 15).is_ok());
    }

    #[test]
    fn unused_bits_and_undriven_things_are_errors() {
        let mut m = ModuleBuilder::new("t");
        let a = m.input("a", 8).unwrap();
        m.output("y", 4).unwrap();
        let lo = m.slice(a, 3, 0).unwrap();
        m.drive_output("y", lo).unwrap();
        let e = m.finish().unwrap_err();
        assert_eq!(e.message, "bits [7:4] of 'a' are never used");

        let mut m = ModuleBuilder::new("t");
        m.output("y", 1).unwrap();
        assert_eq!(
            m.finish().unwrap_err().message,
            "output 'y' is never driven"
        );

        let mut m = ModuleBuilder::new("t");
        let clk = m.input("clk", 1).unwrap();
        let r = m.reg("r", 1, clk, None).unwrap();
        m.output("y", 1).unwrap();
        m.drive_output("y", r).unwrap();
        assert_eq!(
            m.finish().unwrap_err().message,
            "register 'r' is never driven"
        );
    }

    #[test]
    fn constants_fold_through_slice_and_extension() {
        let mut m = ModuleBuilder::new("t");
        let k = m.lit(8, -2).unwrap();
        let hi = m.slice(k, 7, 4).unwrap();
        let x = m.sext(hi, 12).unwrap();
        assert_eq!(m.const_of(x), Some(&vec![0xfff]));
        let z = m.zext(k, 70).unwrap();
        assert_eq!(m.const_of(z), Some(&vec![0xfe, 0]));
    }

    #[test]
    fn signals_cannot_cross_modules() {
        let mut m1 = ModuleBuilder::new("m1");
        let mut m2 = ModuleBuilder::new("m2");
        let a = m1.input("a", 1).unwrap();
        let b = m2.input("b", 1).unwrap();
        assert!(m2.and(a, b).unwrap_err().message.contains("another module"));
    }
}
