//! Every registered unit (`gen::registry::each_unit`) through the generic adapter
//! ([`rusthdl::Packed::of`]): its default parameters, and at `--pipeline 2` when it has
//! a clock, run for some hundred random beats in rust-hdl's simulator against the unit's
//! plain model (`UnitParams::model`) stepped directly, every output compared every beat;
//! and rust-hdl's Verilog for each block carries the unit's module.

use gen::registry::{each_unit, Registered, Visit};
use model::iface::{get_field, set_field, Interface, Role};
use model::pipeline::Piped;
use model::{Sampler, UnitParams};
use rusthdl::rust_hdl_core::prelude::*;
use rusthdl::{bits_to_words, words_to_bits, Packed, UnitBlock};

const BEATS: usize = 500;

/// A packed word (ports back to back) to a beat record (each port in whole words), or back.
fn repack(iface: &Interface, inputs: bool, from: &[u64], unpack: bool) -> Vec<u64> {
    let ports: Vec<_> = if inputs {
        iface.beat_inputs().collect()
    } else {
        iface.outputs().collect()
    };
    let words: usize = ports.iter().map(|p| p.words()).sum();
    let bits: u32 = ports.iter().map(|p| p.width).sum();
    let mut to = vec![
        0u64;
        if unpack {
            words
        } else {
            bits.div_ceil(64) as usize
        }
    ];
    let (mut bit, mut word) = (0u32, 0u32);
    for p in ports {
        let mut done = 0;
        while done < p.width {
            let n = (p.width - done).min(64);
            if unpack {
                set_field(&mut to, word * 64 + done, n, get_field(from, bit + done, n));
            } else {
                set_field(&mut to, bit + done, n, get_field(from, word * 64 + done, n));
            }
            done += n;
        }
        bit += p.width;
        word += p.words() as u32;
    }
    to
}

/// The block of `p` against `p`'s model on random beats (reset in the first beat and
/// once in 50 after); returns how many beats changed an output.
fn run<P: hdl::Generate, const I: usize, const O: usize>(p: &P, seed: u64) -> usize {
    let mut block = Packed::<_, I, O>::of(p).unwrap();
    block.clock.connect();
    block.inputs.connect();
    block.connect_all();
    let v = generate_verilog(&block);
    assert!(
        v.contains(&format!("module {}", p.module_name())),
        "{}: the unit's module is not in rust-hdl's Verilog",
        p.module_name()
    );
    let iface = p.interface();
    let mut plain = p.model().unwrap();
    let clocked = iface.ports.iter().any(|q| q.role == Role::Clock);
    let mut r = Sampler::new(seed);
    let (iw, ow) = (I.div_ceil(64), O.div_ceil(64));
    let mut got = vec![0u64; ow];
    let mut out = vec![0u64; iface.out_words()];
    let mut last: Option<Vec<u64>> = None;
    let mut changes = 0;
    for t in 0..BEATS {
        let mut word: Vec<u64> = (0..iw).map(|_| r.next_u64()).collect();
        if clocked {
            word[0] = (word[0] & !1) | u64::from(t == 0 || r.one_in(50));
        }
        if !I.is_multiple_of(64) {
            word[iw - 1] &= (1u64 << (I % 64)) - 1;
        }
        block.inputs.next = words_to_bits(&word);
        block.clock.next = Clock::from(false);
        assert!(simulate(&mut block, 100), "beat {t}: no settling");
        bits_to_words(block.outputs.val(), &mut got);
        plain.step(&repack(&iface, true, &word, true), &mut out);
        let want = repack(&iface, false, &out, false);
        assert_eq!(got, want, "{}: beat {t}, inputs {word:x?}", block.module());
        if last.as_ref().is_some_and(|l| *l != want) {
            changes += 1;
        }
        last = Some(want);
        block.clock.next = Clock::from(true);
        assert!(simulate(&mut block, 100), "beat {t}: no settling");
    }
    changes
}

/// The packed widths of a unit's beat inputs and outputs.
fn widths(iface: &Interface) -> (usize, usize) {
    let i: u32 = iface.beat_inputs().map(|p| p.width).sum();
    let o: u32 = iface.outputs().map(|p| p.width).sum();
    (i as usize, o as usize)
}

/// `run` at the const-generic widths of the unit's defaults: rust-hdl fixes widths in
/// types, so every pair the registry's defaults need is listed; a unit whose defaults
/// need another pair is reported by name with its pair.
macro_rules! dispatch {
    ($p:expr, $seed:expr, $($i:literal x $o:literal),* $(,)?) => {{
        match widths(&$p.interface()) {
            $(($i, $o) => Some(run::<_, $i, $o>($p, $seed)),)*
            _ => None,
        }
    }};
}

#[derive(Default)]
struct Walk {
    /// Configurations run: (module, output changes).
    done: Vec<(String, usize)>,
    /// Configurations whose widths the table lacks: (module, inputs, outputs).
    missing: Vec<(String, usize, usize)>,
}

impl Visit for Walk {
    fn visit<U: Registered>(&mut self) {
        let unit = U::default();
        let mut configs = vec![Piped::new(unit.clone(), 0)];
        if Piped::clocked(&unit) {
            configs.push(Piped::new(unit, 2));
        }
        for p in configs {
            let seed = self.done.len() as u64 + 1;
            let ran = dispatch!(&p, seed,
                19 x 14, 19 x 15, 151 x 35, 16 x 9, 32 x 32, 514 x 76, 150 x 75, 19 x 26,
                18 x 6, 13 x 31, 1026 x 265, 531 x 36, 42 x 132, 104 x 9, 19 x 75, 94 x 11,
                51 x 11, 131 x 61,
            );
            match ran {
                Some(changes) => self.done.push((p.module_name(), changes)),
                None => {
                    let (i, o) = widths(&p.interface());
                    self.missing.push((p.module_name(), i, o));
                }
            }
        }
    }
}

#[test]
fn every_registered_unit_and_its_pipelined_form_equal_the_plain_model() {
    let mut w = Walk::default();
    each_unit(&mut w);
    assert!(
        w.missing.is_empty(),
        "widths to add to the table: {:?}",
        w.missing
    );
    // Every unit's default at depth 0, every clocked one at depth 2 as well.
    assert!(w.done.len() >= 30, "{:?}", w.done);
    let still: Vec<_> = w.done.iter().filter(|(_, c)| *c == 0).collect();
    assert!(still.is_empty(), "outputs never changed: {still:?}");
}
