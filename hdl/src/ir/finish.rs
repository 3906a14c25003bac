//! `finish`: the whole-module checks (every register driven, every output assigned,
//! every bit of every live signal used, names unique) and the finished netlist.

use std::collections::BTreeSet;

use super::names::op_word;
use super::{Module, ModuleBuilder, Node, Op, Register, Result, Sig};

impl ModuleBuilder {
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
            port_notes: self.port_notes,
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
        super::delay::operands(op)
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

    /// Live nodes with final, unique names. Given names must be unique; automatic names
    /// are `<operand>_ext` for the extension of a named signal (the first one; others and
    /// every other operation get `<op>_<id>`).
    fn named_nodes(&self, live: &[bool]) -> Result<Vec<(usize, Node)>> {
        let mut taken: BTreeSet<String> = BTreeSet::new();
        for p in &self.ports {
            taken.insert(p.name.clone());
        }
        let kept = |id: usize| live[id] || matches!(self.nodes[id].0, Op::Input);
        for (id, (op, _, name)) in self.nodes.iter().enumerate() {
            if let (true, false, Some(n)) = (kept(id), matches!(op, Op::Input), name) {
                if !taken.insert(n.clone()) {
                    return self.err(format!("the name '{n}' is used twice"));
                }
            }
        }
        let mut out = Vec::new();
        for (id, (op, width, name)) in self.nodes.iter().enumerate() {
            if !kept(id) {
                continue;
            }
            let name = match name {
                Some(n) => n.clone(),
                None => {
                    let derived = match op {
                        Op::Ext { a, .. } => {
                            self.nodes[a.id].2.as_ref().map(|n| format!("{n}_ext"))
                        }
                        _ => None,
                    };
                    match derived {
                        Some(n) if taken.insert(n.clone()) => n,
                        _ => {
                            let n = format!("{}_{id}", op_word(op));
                            if !taken.insert(n.clone()) {
                                return self.err(format!(
                                    "the automatic name '{n}' clashes with a given name"
                                ));
                            }
                            n
                        }
                    }
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
