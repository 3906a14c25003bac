//! The builder: ports, names, constants, registers and instances. The operations are in
//! `ops`, the whole-module checks in `finish`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use super::names::{const_words, is_identifier, op_word, KEYWORDS};
use super::{HdlError, Instance, Module, Op, PortDecl, PortDir, Result, Sig};

static NEXT_OWNER: AtomicU32 = AtomicU32::new(1);

/// Pending register: created before its next value exists, driven later.
#[derive(Clone, Debug)]
pub(super) struct PendingReg {
    pub(super) name: String,
    pub(super) width: u32,
    pub(super) clock: Sig,
    pub(super) reset: Option<(Sig, Vec<u64>)>,
    pub(super) next: Option<(Sig, Option<Sig>)>,
}

/// Builds one module. See the module documentation.
#[derive(Debug)]
pub struct ModuleBuilder {
    pub(super) owner: u32,
    pub(super) name: String,
    pub(super) comments: Vec<String>,
    pub(super) ports: Vec<PortDecl>,
    pub(super) nodes: Vec<(Op, u32, Option<String>)>,
    pub(super) regs: Vec<PendingReg>,
    pub(super) instances: Vec<Instance>,
    pub(super) children: Vec<Module>,
    pub(super) outputs: Vec<(String, Option<Sig>)>,
    pub(super) notes: Vec<(usize, String)>,
    pub(super) discards: Vec<Sig>,
    pub(super) port_notes: Vec<(String, String)>,
}

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
            port_notes: Vec::new(),
        }
    }

    /// A comment beside port `port`'s declaration: its format, packing and timing.
    pub fn port_note(&mut self, port: &str, text: impl Into<String>) {
        self.port_notes.push((port.to_string(), text.into()));
    }

    pub(super) fn err<T>(&self, message: impl Into<String>) -> Result<T> {
        Err(HdlError {
            module: self.name.clone(),
            message: message.into(),
        })
    }

    /// A readable name for a signal in error messages.
    pub(super) fn describe(&self, s: Sig) -> String {
        match self.nodes.get(s.id) {
            Some((_, _, Some(name))) => format!("'{name}' ({} bits)", s.width),
            Some((op, _, None)) => format!("{} #{} ({} bits)", op_word(op), s.id, s.width),
            None => format!("#{} ({} bits)", s.id, s.width),
        }
    }

    pub(super) fn check_owned(&self, s: Sig) -> Result<()> {
        if s.owner != self.owner || s.id >= self.nodes.len() {
            return self.err(format!("signal #{} belongs to another module", s.id));
        }
        Ok(())
    }

    pub(super) fn push(&mut self, op: Op, width: u32) -> Result<Sig> {
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
    pub(super) fn const_of(&self, s: Sig) -> Option<&Vec<u64>> {
        match &self.nodes[s.id].0 {
            Op::Const(w) => Some(w),
            _ => None,
        }
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
}
