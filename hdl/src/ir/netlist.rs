//! The finished netlist: ports, nodes, registers, instances and modules.

use super::Sig;

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
    /// A comment beside a port's declaration (its format, packing, timing), by port name.
    pub port_notes: Vec<(String, String)>,
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
            port_notes: Vec::new(),
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
