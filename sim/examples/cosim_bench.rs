//! Co-simulation throughput for the default MAC (`gen --acc 12`), batch size 4096:
//! the Rust harness (RTL only, and RTL + model + comparison on one thread, two, and
//! every core with the stream split at reset beats)
//! against a plain C++ Verilator loop over the same Verilated model, both compiled with
//! g++ `-O2` ([`Optimize::Run`]).
//!
//! `cargo run --release -p sim --example cosim_bench [BEATS]`

use std::time::Instant;

use hdl::{design_files, Generate, Header};
use model::mac::MacParams;
use model::UnitParams;
use sim::{cosim, plain_cpp_beats_per_second, CosimOptions, Optimize, Verilated};

const BATCH: usize = 4096;

fn stimulus(iw: usize, beats: usize) -> Vec<u64> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut s = Vec::with_capacity(beats * iw);
    for _ in 0..beats {
        for w in 0..iw {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // rst rarely, the other one-bit inputs and operands at random.
            s.push(if w == 0 {
                (x >> 58 == 0) as u64
            } else if w < 3 {
                x & 1
            } else {
                x & 0xff
            });
        }
    }
    s
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let beats: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20_000_000);
    let p = MacParams::default();
    let iface = p.interface();
    let header = Header {
        generator: "bench".into(),
        command: None,
    };
    let files = design_files(&p.rtl()?, &header);
    let sources: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();

    let t = Instant::now();
    let dut = Verilated::build_with(&sources, &p.module_name(), &iface, Optimize::Run)?;
    let build = t.elapsed().as_secs_f64();
    let input = stimulus(iface.in_words(), beats);

    // (a) RTL only, one FFI call per batch.
    let mut rtl = dut.instance()?;
    let mut out = vec![0u64; BATCH * iface.out_words()];
    let t = Instant::now();
    for chunk in input.chunks(BATCH * iface.in_words()) {
        let n = chunk.len() / iface.in_words();
        rtl.run(chunk, &mut out[..n * iface.out_words()]);
    }
    let harness = beats as f64 / t.elapsed().as_secs_f64();

    // (b) The model alone, through the generic CycleModel interface.
    let mut model = p.model()?;
    let t = Instant::now();
    for chunk in input.chunks(BATCH * iface.in_words()) {
        let n = chunk.len() / iface.in_words();
        model.run(chunk, &mut out[..n * iface.out_words()]);
    }
    let model_rate = beats as f64 / t.elapsed().as_secs_f64();

    // (c) Full co-simulation: RTL, model and comparison, on one thread; on two with one
    // stream (the RTL on a second thread, a batch at a time); on two and on every core
    // with the stream split at reset beats (a part per thread).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut cosim_rates = Vec::new();
    for (threads, split) in [(1, false), (2, false), (2, true), (cores, true)] {
        let mut model = p.model()?;
        let t = Instant::now();
        cosim(
            &dut,
            model.as_mut(),
            &input,
            &CosimOptions {
                batch: BATCH,
                threads,
                split,
                ..CosimOptions::default()
            },
        )?;
        cosim_rates.push(beats as f64 / t.elapsed().as_secs_f64());
    }

    // (d) Plain C++ loop over the same Verilated model.
    let plain = plain_cpp_beats_per_second(
        &sources,
        &p.module_name(),
        &iface,
        beats as u64,
        Optimize::Run,
    )?;

    println!("co-simulation of {} ({beats} beats, batch {BATCH}); build {build:.2} s (cached after the first)", p.module_name());
    println!("| what | beats/s | vs plain C++ |");
    println!("| --- | ---: | ---: |");
    for (what, rate) in [
        ("plain C++ Verilator loop", plain),
        ("Rust harness, RTL only", harness),
        ("model alone (CycleModel)", model_rate),
        (
            "co-simulation: RTL + model + compare, 1 thread",
            cosim_rates[0],
        ),
        (
            "co-simulation, 2 threads, one stream (RTL ahead of the model)",
            cosim_rates[1],
        ),
        (
            "co-simulation, 2 threads, the stream split at resets",
            cosim_rates[2],
        ),
        (
            &format!("co-simulation, all {cores} cores, split at resets"),
            cosim_rates[3],
        ),
    ] {
        println!("| {what} | {:.2} M | {:.2}x |", rate / 1e6, rate / plain);
    }
    Ok(())
}
