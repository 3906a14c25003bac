//! Exhaustive co-simulation of the MAC: for a parameter set, every
//! (a, b, accumulator state) triple is applied in one step, and the RTL's outputs are
//! compared with the model's beat by beat.
//!
//! For the default MAC (8x8 signed, 12-bit accumulator) that is 256 * 256 * 4096 = 2^28
//! triples per policy; a few smaller parameter sets (unsigned, an accumulator
//! wider than the product) and mixed operands at 4x8 (int4 x uint8 and the other way
//! round) are covered the same way.
//!
//! The triples are covered by one walk: from the current accumulator state, apply the next
//! untried (a, b) of that state; when a state has none left, jump to a state that has, with
//! a `clear` beat and as few further beats as reach it without leaving the range. Every beat
//! of the walk, jumps included, is checked, and the walk starts by applying every (a, b)
//! under `clear`. The (a, b) pairs are split into one contiguous share per core, each
//! walked from every state on its own instance of the Verilated model in its own thread. (Pipelined depths are the generic transformation of `model::pipeline`,
//! co-simulated for every unit in tests/units.rs.)

use lowbit_tests::{
    iverilog_compile, parallel, require, scratch, verilate, verilator_lint, workers,
    yosys_synth_ice40,
};
use model::iface::CycleModel;
use model::int;
use model::mac::{mac_step, Mac, MacIn, MacParams, Operand, Overflow};
use model::UnitParams;

/// Beats per FFI call.
const BATCH: usize = 1 << 20;

/// The covering walk for one parameter set, produced in batches so memory stays small.
struct Walk {
    p: MacParams,
    /// The cycle model, for the expected outputs.
    model: Mac,
    /// The accumulator after every beat issued so far (in issue order).
    acc: i128,
    ovf: bool,
    /// Per state: how many (a, b) pairs have been applied from it.
    next_pair: Vec<u32>,
    /// Every product value with one (a, b) that makes it, sorted by value.
    products: Vec<(i128, i128, i128)>,
    scan: usize,
    clear_sweep: u32,
    drained: bool,
    beats: u64,
    /// The pair indices this shard applies: `pair_lo..pair_hi`.
    pair_lo: u32,
    pair_hi: u32,
}

impl Walk {
    /// Shard `shard` of `shards`: the walk that applies its share of the (a, b) pairs
    /// (a contiguous range of pair indices) from every accumulator state, and under
    /// `clear`. Together the shards cover every triple once. Splitting the pairs rather
    /// than the states keeps each walk as short as the whole one: from whatever state a
    /// product leads to, the shard still has pairs to apply (split by states, the
    /// wrapping walk had to jump back into its share after half its beats).
    fn shard(p: MacParams, shard: usize, shards: usize) -> Walk {
        let states = 1usize << p.acc_bits;
        let pairs = u64::from(Self::pairs_of(&p));
        let cut = |k: usize| (pairs * k as u64 / shards as u64) as u32;
        let (pair_lo, pair_hi) = (cut(shard), cut(shard + 1));
        let mut products: Vec<(i128, i128, i128)> = (0..Self::pairs_of(&p))
            .map(|k| {
                let (a, b) = Self::operands_of(&p, k);
                (a * b, a, b)
            })
            .collect();
        products.sort();
        products.dedup_by_key(|t| t.0);
        Walk {
            p,
            model: Mac::new(p).unwrap(),
            acc: 0,
            ovf: false,
            next_pair: vec![pair_lo; states],
            products,
            scan: 0,
            clear_sweep: pair_lo,
            pair_lo,
            pair_hi,
            drained: false,
            beats: 0,
        }
    }

    fn pairs_of(p: &MacParams) -> u32 {
        1 << (p.a().bits + p.b().bits)
    }

    /// Pair `k`: `a` from its high bits, `b` from its low bits, each read with its own
    /// width and signedness.
    fn operands_of(p: &MacParams, k: u32) -> (i128, i128) {
        let (x, y) = (p.a(), p.b());
        let a = int::from_bits(u128::from(k >> y.bits), x.bits, x.signed);
        let b = int::from_bits(u128::from(k & ((1 << y.bits) - 1)), y.bits, y.signed);
        (a, b)
    }

    fn state_index(&self, acc: i128) -> usize {
        (acc - int::min_value(self.p.acc_bits, self.p.acc_signed())) as usize
    }

    fn state_value(&self, index: usize) -> i128 {
        index as i128 + int::min_value(self.p.acc_bits, self.p.acc_signed())
    }

    fn beat(&self, clear: bool, a: i128, b: i128) -> MacIn {
        MacIn {
            rst: false,
            in_valid: true,
            clear,
            a,
            b,
        }
    }

    /// The product of largest magnitude between 0 and `r` (0 is always a product).
    fn toward(&self, r: i128) -> (i128, i128, i128) {
        if r >= 0 {
            self.products[self.products.partition_point(|t| t.0 <= r) - 1]
        } else {
            self.products[self.products.partition_point(|t| t.0 < r)]
        }
    }

    /// Beats from anywhere to `target`: `clear` with the nearest product, then products
    /// of shrinking size; every partial sum lies between 0 and the target.
    fn jump(&self, target: i128, out: &mut Vec<MacIn>) {
        let (p, a, b) = self.toward(target);
        out.push(self.beat(true, a, b));
        let mut rest = target - p;
        while rest != 0 {
            let (p, a, b) = self.toward(rest);
            assert_ne!(p, 0, "cannot reach {target}");
            out.push(self.beat(false, a, b));
            rest -= p;
        }
    }

    /// Next beats of the walk; empty when every triple of the shard has been applied.
    fn next_beats(&mut self, out: &mut Vec<MacIn>) {
        let end = self.pair_hi;
        if self.clear_sweep < end {
            let (a, b) = Self::operands_of(&self.p, self.clear_sweep);
            self.clear_sweep += 1;
            out.push(self.beat(true, a, b));
            return;
        }
        let s = self.state_index(self.acc);
        if self.next_pair[s] < end {
            let (a, b) = Self::operands_of(&self.p, self.next_pair[s]);
            self.next_pair[s] += 1;
            out.push(self.beat(false, a, b));
            return;
        }
        while self.scan < self.next_pair.len() && self.next_pair[self.scan] == end {
            self.scan += 1;
        }
        if self.scan < self.next_pair.len() {
            self.jump(self.state_value(self.scan), out);
        }
    }

    /// Fill `inputs`/`expected` with about `BATCH` beats in the harness layout; the last
    /// batch ends with idle beats that drain the pipeline.
    fn batch(&mut self, inputs: &mut Vec<u64>, expected: &mut Vec<u64>) {
        inputs.clear();
        expected.clear();
        let (na, nb) = (self.p.a().bits, self.p.b().bits);
        let mut pending = Vec::new();
        while inputs.len() < BATCH * 5 {
            pending.clear();
            self.next_beats(&mut pending);
            if pending.is_empty() {
                if self.drained {
                    break;
                }
                // Idle beats let the last valid beats reach the outputs.
                self.drained = true;
                pending.push(MacIn::default());
            }
            for b in &pending {
                inputs.extend([b.rst as u64, b.in_valid as u64, b.clear as u64]);
                inputs.extend([int::to_bits(b.a, na) as u64, int::to_bits(b.b, nb) as u64]);
                if b.in_valid {
                    (self.acc, self.ovf) = mac_step(&self.p, self.acc, self.ovf, b.clear, b.a, b.b);
                }
                self.beats += 1;
            }
        }
        // The model's outputs for the whole batch in one call (its batch path, which
        // `model::mac`'s tests hold equal to `step`).
        expected.resize(inputs.len() / 5 * 3, 0);
        CycleModel::run(&mut self.model, inputs, expected);
    }

    /// Triples this shard has applied.
    fn triples_done(&self) -> u64 {
        self.next_pair
            .iter()
            .map(|&n| u64::from(n - self.pair_lo))
            .sum()
    }
}

fn exhaustive(p: MacParams) {
    require("verilator");
    let top = p.module_name();
    let files = lowbit_tests::emitted_files(&p);
    let dir = scratch(&format!("exhaustive/{top}"));
    verilator_lint(&dir, &files, &top).unwrap();
    yosys_synth_ice40(&dir, &files, &top).unwrap();
    iverilog_compile(&dir, &files, &top).unwrap();
    let dut = verilate(&p);
    // One shard of the states per core, each on its own instance of the model.
    let shards = workers();
    let started = std::time::Instant::now();
    let dut = &dut;
    let done: Vec<(u64, u64)> = parallel(
        (0..shards)
            .map(|k| {
                Box::new(move || run_shard(dut, Walk::shard(p, k, shards)))
                    as Box<dyn FnOnce() -> (u64, u64) + Send>
            })
            .collect(),
    );
    let states = 1u64 << p.acc_bits;
    let triples: u64 = done.iter().map(|d| d.0).sum();
    let beats: u64 = done.iter().map(|d| d.1).sum();
    assert_eq!(
        triples,
        states * u64::from(Walk::pairs_of(&p)),
        "every triple applied"
    );
    eprintln!(
        "exhaustive {top}: {triples} triples in {beats} beats on {shards} threads, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Run one shard's walk on a fresh instance; returns (triples, beats).
fn run_shard(dut: &sim::Verilated, mut walk: Walk) -> (u64, u64) {
    let top = dut.top().to_string();
    let mut rtl = dut.instance().unwrap_or_else(|e| panic!("{e}"));
    let (mut inputs, mut expected, mut got) = (Vec::new(), Vec::new(), Vec::new());
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
            let history = &inputs[beat.saturating_sub(3) * 5..beat * 5 + 5];
            panic!(
                "{top}: RTL differs from the model at beat {} of the walk: output word {} \
                 (0 acc, 1 ovf, 2 out_valid) expected {:#x} got {:#x}; inputs of the last \
                 beats (rst, in_valid, clear, a, b): {history:?}",
                first_beat + beat as u64,
                i % 3,
                expected[i],
                got[i]
            );
        }
    }
    (walk.triples_done(), walk.beats)
}

#[test]
fn every_triple_8x8_acc12_saturating() {
    exhaustive(MacParams {
        overflow: Overflow::Saturate,
        ..MacParams::default()
    });
}

#[test]
fn every_triple_8x8_acc12_wrapping() {
    exhaustive(MacParams {
        overflow: Overflow::Wrap,
        ..MacParams::default()
    });
}

/// Small parameter sets, each with at most 2^20 triples: unsigned, an
/// accumulator narrower and wider than the product.
#[test]
fn every_triple_small_configurations() {
    use Overflow::{Saturate, Wrap};
    for (in_bits, signed, acc_bits, overflow) in [
        (4, false, 7, Saturate),
        (4, true, 6, Wrap),
        (3, true, 10, Saturate),
        (5, false, 9, Wrap),
        (6, true, 8, Saturate),
        (2, true, 2, Saturate),
    ] {
        exhaustive(MacParams {
            in_bits,
            signed,
            acc_bits,
            overflow,
            b: None,
        });
    }
}

/// Mixed operands, 4x8 both ways round (issue 21 item 5): int4 x uint8 (W4A8), uint8 x
/// int4 and uint4 x int8, each with a signed accumulator (2^24, 2^22 and 2^23 triples).
#[test]
fn every_triple_4x8_mixed_signedness() {
    use Overflow::{Saturate, Wrap};
    let op = |bits, signed| Operand { bits, signed };
    for (a, b, acc_bits, overflow) in [
        (op(4, true), op(8, false), 12, Saturate),
        (op(8, false), op(4, true), 10, Wrap),
        (op(4, false), op(8, true), 11, Saturate),
    ] {
        let p = MacParams {
            in_bits: a.bits,
            signed: a.signed,
            acc_bits,
            overflow,
            b: Some(b),
        };
        assert!(p.acc_signed());
        exhaustive(p);
    }
}
