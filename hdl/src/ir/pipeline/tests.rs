//! Invariants of the pipelining pass, checked on the netlist.

use super::*;
use crate::ir::netlist::UnOp;
use crate::Generate;
use model::fpacc::FpaccParams;
use model::mac::MacParams;

/// Pipeline registers between each node and the data inputs, checking that every
/// operand of a node has crossed as many; `None` outside the input cone.
fn crossings(m: &Module, original_regs: usize) -> Vec<Option<u32>> {
    let mut c: Vec<Option<u32>> = Vec::new();
    for (_, n) in &m.nodes {
        let v = match &n.op {
            Op::Input if n.name == "clk" || n.name == "rst" => None,
            Op::Input => Some(0),
            Op::Const(_) => Some(u32::MAX), // any stage
            Op::Reg(i) if *i >= original_regs => {
                c[index(m, m.regs[*i].d)].map(|k| if k == u32::MAX { k } else { k + 1 })
            }
            Op::Reg(_) | Op::InstOut { .. } => None,
            op => {
                let ks: Vec<Option<u32>> = operands(op).iter().map(|&s| c[index(m, s)]).collect();
                if ks.iter().any(Option::is_none) {
                    None
                } else {
                    let ks: Vec<u32> = ks
                        .into_iter()
                        .flatten()
                        .filter(|&k| k != u32::MAX)
                        .collect();
                    assert!(ks.windows(2).all(|w| w[0] == w[1]), "{}: {ks:?}", n.name);
                    Some(ks.first().copied().unwrap_or(u32::MAX))
                }
            }
        };
        c.push(v);
    }
    c
}

#[test]
fn every_input_path_crosses_depth_registers() {
    let units = [MacParams::default().rtl(), FpaccParams::default().rtl()];
    for core in units.into_iter().map(Result::unwrap) {
        for depth in 0..=4 {
            for dm in [DelayModel::UP5K, DelayModel::ECP5] {
                let p = pipeline(&core, depth, "clk", Some("rst"), &dm).unwrap();
                let m = &p.module;
                let c = crossings(m, core.regs.len());
                let sinks = m.regs[..core.regs.len()]
                    .iter()
                    .flat_map(|r| [Some(r.d), r.enable].into_iter().flatten())
                    .chain(m.outputs.iter().map(|(_, s)| *s));
                for s in sinks {
                    let k = c[index(m, s)];
                    assert!(
                        k.is_none() || k == Some(depth) || k == Some(u32::MAX),
                        "{} depth {depth}: a sink after {k:?} registers",
                        core.name
                    );
                }
                assert!(p.estimate.ns > 0.0);
            }
        }
    }
}

#[test]
fn deeper_is_not_slower_and_reset_values_are_the_zero_beat() {
    let core = MacParams {
        acc_bits: 32,
        ..MacParams::default()
    }
    .rtl()
    .unwrap();
    let dm = DelayModel::UP5K;
    let ns: Vec<f64> = (0..=3)
        .map(|d| {
            pipeline(&core, d, "clk", Some("rst"), &dm)
                .unwrap()
                .estimate
                .ns
        })
        .collect();
    assert!(ns.windows(2).all(|w| w[1] <= w[0] + 1e-9), "{ns:?}");
    assert!(ns[2] < ns[0], "{ns:?}");
    // A register of an inverted input resets to all ones (the inverse of zero).
    let m = pipeline(&core, 2, "clk", Some("rst"), &dm).unwrap().module;
    for r in &m.regs[core.regs.len()..] {
        let d = m.node(r.d);
        if matches!(d.op, Op::Unary(UnOp::Not, _)) {
            let (_, v) = r.reset.as_ref().unwrap();
            assert_eq!(v[0], (1u64 << r.width.min(63)) - 1, "{}", r.name);
        }
    }
}
