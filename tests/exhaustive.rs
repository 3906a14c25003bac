//! Exhaustive co-simulation of the default MAC (8x8 signed, 12-bit accumulator), for both
//! overflow policies: every (a, b, accumulator state) triple is applied in one step and
//! the RTL's outputs are compared with the model's, beat by beat.
//!
//! That is 256 * 256 * 4096 = 2^28 triples per policy. They are covered by one walk per
//! policy: from the current accumulator state, apply the next untried (a, b) of that state;
//! when a state has none left, jump to a state that has, with a `clear` beat (and one more
//! beat where the target is not a product). Every beat of the walk, jumps included, is
//! checked, and the walk also covers every (a, b) under `clear`.

use lowbit_tests::{iverilog_compile, require, scratch, verilator_lint, yosys_synth_ice40};
use model::int;
use model::mac::{Mac, MacIn, MacParams, Overflow};
use model::UnitParams;
use sim::Verilated;

const N: u32 = 8;
const A: u32 = 12;
const STATES: usize = 1 << A;
const PAIRS: u32 = 1 << (2 * N);
/// Beats per FFI call.
const BATCH: usize = 1 << 20;

fn operand(bits: u32) -> i128 {
    int::from_bits(bits as u128, N, true)
}

/// Beats that take the accumulator from anywhere to `target`: with
/// `target = 16 q + r`, `clear` with 16 * q, then add r * 1 (never out of range).
fn jump(target: i128, beats: &mut Vec<MacIn>) {
    let (q, r) = (target.div_euclid(16), target.rem_euclid(16));
    let beat = |clear, a, b| MacIn {
        rst: false,
        in_valid: true,
        clear,
        a,
        b,
    };
    beats.push(beat(true, 16, q));
    if r != 0 {
        beats.push(beat(false, r, 1));
    }
}

/// The covering walk, produced in batches so memory stays small.
struct Walk {
    model: Mac,
    next_pair: Vec<u32>,
    scan: usize,
    clear_sweep: u32,
    beats: u64,
}

impl Walk {
    fn new(p: MacParams) -> Walk {
        Walk {
            model: Mac::new(p).unwrap(),
            next_pair: vec![0; STATES],
            scan: 0,
            clear_sweep: 0,
            beats: 0,
        }
    }

    fn state_index(&self) -> usize {
        (self.model.outputs().acc + (STATES as i128 / 2)) as usize
    }

    /// Next beats of the walk; empty when every triple has been applied.
    fn next_beats(&mut self, out: &mut Vec<MacIn>) {
        if self.clear_sweep < PAIRS {
            let k = self.clear_sweep;
            self.clear_sweep += 1;
            out.push(MacIn {
                rst: false,
                in_valid: true,
                clear: true,
                a: operand(k >> N),
                b: operand(k & 0xff),
            });
            return;
        }
        let s = self.state_index();
        if self.next_pair[s] < PAIRS {
            let k = self.next_pair[s];
            self.next_pair[s] += 1;
            out.push(MacIn {
                rst: false,
                in_valid: true,
                clear: false,
                a: operand(k >> N),
                b: operand(k & 0xff),
            });
            return;
        }
        while self.scan < STATES && self.next_pair[self.scan] == PAIRS {
            self.scan += 1;
        }
        if self.scan < STATES {
            jump(self.scan as i128 - STATES as i128 / 2, out);
        }
    }

    /// Fill `inputs`/`expected` with up to `BATCH` beats in the harness layout.
    fn batch(&mut self, inputs: &mut Vec<u64>, expected: &mut Vec<u64>) {
        inputs.clear();
        expected.clear();
        let mut pending = Vec::with_capacity(2);
        while inputs.len() / 5 < BATCH {
            pending.clear();
            self.next_beats(&mut pending);
            if pending.is_empty() {
                break;
            }
            for b in &pending {
                inputs.extend([b.rst as u64, b.in_valid as u64, b.clear as u64]);
                inputs.extend([int::to_bits(b.a, N) as u64, int::to_bits(b.b, N) as u64]);
                let o = self.model.step(*b);
                expected.extend([
                    int::to_bits(o.acc, A) as u64,
                    o.ovf as u64,
                    o.out_valid as u64,
                ]);
                self.beats += 1;
            }
        }
    }

    fn triples_done(&self) -> u64 {
        self.next_pair.iter().map(|&n| n as u64).sum()
    }
}

fn exhaustive(overflow: Overflow) {
    require("verilator");
    let p = MacParams {
        overflow,
        ..MacParams::default()
    };
    let files = lowbit_tests::emitted_files(&p);
    let dir = scratch(&format!("exhaustive/{}", p.module_name()));
    verilator_lint(&dir, &files, &p.module_name()).unwrap();
    yosys_synth_ice40(&dir, &files, &p.module_name()).unwrap();
    iverilog_compile(&dir, &files, &p.module_name()).unwrap();
    let sources: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let dut = Verilated::build(&sources, &p.module_name(), &p.interface())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut rtl = dut.instance().unwrap_or_else(|e| panic!("{e}"));
    let mut walk = Walk::new(p);
    let (mut inputs, mut expected, mut got) = (Vec::new(), Vec::new(), Vec::new());
    let started = std::time::Instant::now();
    loop {
        let first_beat = walk.beats;
        walk.batch(&mut inputs, &mut expected);
        if inputs.is_empty() {
            break;
        }
        got.resize(expected.len(), 0);
        rtl.run(&inputs, &mut got);
        if let Some(i) = (0..got.len()).find(|&i| got[i] != expected[i]) {
            let beat = i / 3;
            let b = &inputs[beat * 5..beat * 5 + 5];
            panic!(
                "{overflow:?}: RTL differs from the model at beat {} (rst, in_valid, clear, a, b = {b:?}): \
                 output word {} expected {:#x} got {:#x}; rerun `cargo test -p lowbit-tests --test cosim` \
                 for a VCD of a random stream",
                first_beat + beat as u64,
                i % 3,
                expected[i],
                got[i]
            );
        }
    }
    assert_eq!(
        walk.triples_done(),
        STATES as u64 * PAIRS as u64,
        "every triple applied"
    );
    eprintln!(
        "exhaustive {overflow:?}: {} triples in {} beats, {:.1} s",
        walk.triples_done(),
        walk.beats,
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn every_triple_saturating() {
    exhaustive(Overflow::Saturate);
}

#[test]
fn every_triple_wrapping() {
    exhaustive(Overflow::Wrap);
}
