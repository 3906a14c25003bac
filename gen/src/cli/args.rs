//! The argument types of `gen`'s commands: what a unit subcommand takes besides the
//! unit's own parameters (output, proof and engine options) and the commands that are
//! not a unit.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::synth::Device;

/// The commands that are not a unit (a unit's commands come from the registry).
#[derive(Subcommand, Debug)]
pub enum Tool {
    /// Every external tool: its path and version, and how to install what is missing
    #[command(after_help = DOCTOR_EXAMPLES)]
    Doctor {
        #[command(flatten)]
        tools: crate::tools::ToolsDirArgs,
    },
    /// Every unit, one line each: subcommand, summary, docs page
    ///
    /// With `--json`: also the default module, latency, pipeline depths and examples.
    #[command(after_help = LIST_EXAMPLES)]
    List {
        /// Print JSON instead of a table.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Print the Markdown table the README carries between its `units` markers.
        #[arg(long)]
        markdown: bool,
    },
    /// The narrowest integer accumulator that cannot overflow, with A2Q's bounds
    ///
    /// For a dot-product length K or a file of weights (worst case over all activations),
    /// beside A2Q's data-type bound and its bound on the weights' L1 norm for a given
    /// accumulator width.
    #[command(after_help = ACCWIDTH_EXAMPLES)]
    Accwidth {
        #[command(flatten)]
        args: crate::accwidth::AccWidthArgs,
    },
    /// Accuracy of narrow accumulators, from the models alone
    ///
    /// Mean and worst relative error of dot products (K = 256, 1024, 4096) of Gaussian
    /// int8 operands in acc12 with and without chunks, bf16, fp32 and 12/16-bit
    /// saturating integer MACs.
    #[command(name = "acc-error", alias = "acc_error", after_help = ACC_ERROR_EXAMPLES)]
    AccError {
        #[command(flatten)]
        args: crate::accerror::AccErrorArgs,
    },
    /// Fit DNA-TEQ exponential quantization to a tensor, against INT8 and INT4
    ///
    /// Searches base, scale and exponent range for a tensor (.npy or text) or a synthetic
    /// one, for every bit width up to --bits, and prints the errors next to INT8 and INT4
    /// uniform quantization (docs/log-domain.md).
    #[command(after_help = FIT_EXAMPLES)]
    Fit {
        #[command(flatten)]
        args: crate::fit::FitArgs,
    },
    /// Quantisation error of the OCP MX element types, next to HBFP and INT8
    ///
    /// Quantises a tensor (.npy or text) or synthetic ones block by block with every MX
    /// element type (MXFP8 E4M3/E5M2, MXFP6 E3M2/E2M3, MXFP4 E2M1, MXINT8), HBFP4/6/8 and
    /// per-tensor INT8, from the bit-exact models, and prints MSE, relative RMSE and SQNR
    /// (docs/mx.md).
    #[command(name = "mx-error", alias = "mx_error", after_help = MX_ERROR_EXAMPLES)]
    MxError {
        #[command(flatten)]
        args: crate::mxerror::MxErrorArgs,
    },
    /// Range BatchNorm against exact BatchNorm, from the range-stats model
    ///
    /// Draws seeded Gaussian, Laplacian and uniform batches (64 to 4096 values), runs
    /// them through the range-stats model with chunks of 8 to 256, and prints the ratio
    /// C(n) * mean range / std and the relative RMS error of the normalised outputs
    /// against exact BatchNorm (docs/rangebn.md).
    #[command(name = "rangebn-error", alias = "rangebn_error", after_help = RANGEBN_ERROR_EXAMPLES)]
    RangebnError {
        #[command(flatten)]
        args: crate::rangebnerror::RangeBnErrorArgs,
    },
    /// Arithmetic density tables of a unit family against the integer MAC
    ///
    /// Against the integer MAC at acc 12 and 32: `bfp`
    /// synthesizes `bfp_dot` for n in 8, 16, 32 and m in 4, 6, 8 (one block per cycle)
    /// and the mixed 4/6 unit; `lns` synthesizes `lns_mac` and `expq_dot` at 4-, 5- and
    /// 6-bit codes and the 4-bit `expq_dot` with 1, 4, 8 and 16 lanes; `fpacc` the acc12, bf16 and fp32 accumulators fed by 8x8 products,
    /// with and without DSPs; `mx` the MX dot products; `palq` the 2-bit PalQuant array
    /// (G 4, P 8) against 4-bit `palq-pe` and an array of 4-bit MACs with about its LUTs.
    /// LUTs, Fmax and multiply-accumulates per cycle per LUT; UP5K, or HX8K for designs
    /// the UP5K cannot hold. `bfp` takes about 15 minutes.
    #[command(after_help = DENSITY_EXAMPLES)]
    Density {
        /// Which family of units.
        #[arg(value_enum, default_value_t = Family::Bfp)]
        family: Family,
        /// Also write the table (Markdown) to FILE.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Only the smallest rows (n = 8 and 16 at m = 4, the mixed unit, the MAC).
        #[arg(long)]
        quick: bool,
    },
    /// Sweep units across their parameters, devices and tool builds: one row per point
    ///
    /// Reads a spec (TOML: devices, tool builds, stages, seed and [[unit]] tables of
    /// flags with lists or ranges), checks every point with the same parser as the
    /// command line before anything runs, then emits, lints and synthesizes each point
    /// on --jobs threads through a result cache, and writes DIR/sweep.csv and
    /// DIR/sweep.json (docs/sweep.md).
    #[command(after_help = SWEEP_EXAMPLES)]
    Sweep {
        #[command(flatten)]
        args: crate::sweep::SweepArgs,
    },
    /// Prove every unit's proof set (its default and a few corners), as a table
    ///
    /// The configurations come from the registry; the table gives the method and time of
    /// each proof.
    #[command(after_help = PROVE_ALL_EXAMPLES)]
    ProveAll {
        /// Also write the table (Markdown) to FILE.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        engines: EngineArgs,
        /// Configurations proven at once. With the default engines each starts one engine
        /// (equiv, or PDR where it is known to win) and the other joins when the first
        /// gives up or after 60 s; engines given with --engine run side by side.
        #[arg(long, value_name = "N", default_value_t = 2, allow_negative_numbers = true,
              value_parser = clap::value_parser!(u32).range(1..=64))]
        jobs: u32,
        /// Leave out the few configurations that take minutes each (the list, with
        /// times, is `LONG_PROOFS` in gen/src/prove.rs); every unit keeps its other
        /// proofs. `make test` runs this, `make prove` the whole set.
        #[arg(long)]
        quick: bool,
    },
    /// The open-flow table: the MAC on the UP5K and ECP5 with both tool builds
    ///
    /// The MAC (acc 12 and 32) on the UP5K with Debian's tools and with the YoWASP
    /// builds, and on the ECP5-25k, with and without DSPs (about 5 minutes; `make
    /// fpga-tools` first).
    #[command(after_help = FLOW_TABLE_EXAMPLES)]
    FlowTable {
        /// Also write the table (Markdown) to FILE.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Issue 14's clock targets: each unit unpipelined and with `--freq`, on the UP5K
    ///
    /// Every `gen synth <unit> --freq MHZ` command of the issue (YoWASP tools, seed 1),
    /// also at depth 0, with MAC/s per LUT against the int8 MAC (acc 12, depth 0) measured
    /// in the same run (about 12 minutes; `make fpga-tools` first).
    #[command(name = "freq-table", after_help = FREQ_TABLE_EXAMPLES)]
    FreqTable {
        /// Also write the table (Markdown) to FILE.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// The generated MAC against a hand-written one on the UP5K
    ///
    /// Accumulators of 12 and 32 bits, with and without DSPs.
    #[command(after_help = SYNTH_TABLE_EXAMPLES)]
    SynthTable {
        /// Also write the table (Markdown) to FILE.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

// The "Examples:" section of each command's help: a command line, then what it does
// (slow ones say so). gen/tests/cli_reference.rs parses every example line.

const DOCTOR_EXAMPLES: &str = "\
Examples:
  gen doctor
      where each tool is found (--tools-dir, $LOWBIT_TOOLS_DIR, PATH, ./.venv-fpga/bin)
  gen doctor --tools-dir /opt/yowasp/bin
      the same with a folder searched first

Exit status 1 when a tool is missing; `make tools` and `make fpga-tools` install them.";

const FREQ_TABLE_EXAMPLES: &str = "\
Examples:
  gen freq-table --output build/freq.md
      the table of clock targets, also as Markdown (slow: about 10 minutes)";

const LIST_EXAMPLES: &str = "\
Examples:
  gen list
      every unit, one line each, with its docs page
  gen list --json
      the same with default module, latency, pipeline depths and examples, for scripts
  gen list --markdown
      the table README.md carries between its `units` markers";

const ACCWIDTH_EXAMPLES: &str = "\
Examples:
  gen accwidth --k 4096
      int8 dot products of length 4096: 28 bits, and A2Q's bounds for a 12-bit accumulator
  gen accwidth --k 512 --in 4 --unsigned --weight-bits 4
      unsigned 4-bit activations (after a ReLU) and signed 4-bit weights: 17 bits
  gen accwidth --weights layer.npy --acc 16
      the worst case for exactly these weights, and whether they meet A2Q's L1 bound at 16 bits";

const ACC_ERROR_EXAMPLES: &str = "\
Examples:
  gen acc-error
      the table, 200 dot products per length (about a second)
  gen acc-error --trials 2000 --sigma 16 --output acc-error.md
      more trials of smaller operands, the table also written as Markdown";

const RANGEBN_ERROR_EXAMPLES: &str = "\
Examples:
  gen rangebn-error
      the table, 200 batches per row (a few seconds)
  gen rangebn-error --trials 1000 --seed 7 --output rangebn-error.md
      more batches, another seed, the table also written as Markdown
";

const MX_ERROR_EXAMPLES: &str = "\
Examples:
  gen mx-error --synthetic all
      every MX element type, HBFP4/6/8 and INT8 on the four synthetic tensors, blocks of 32
  gen mx-error weights.npy --block 16 --rounding away
      a NumPy tensor in blocks of 16, MX elements rounded ties-away as microxcaling does
";

const FIT_EXAMPLES: &str = "\
Examples:
  gen fit --synthetic laplacian --bits 4
      a synthetic Laplacian tensor at 2-, 3- and 4-bit codes, next to INT8 and INT4
  gen fit weights.npy --metric mae
      a tensor saved by NumPy, fitted for the least mean absolute error
  gen fit --synthetic all
      the four synthetic distributions in one table (slow: about a minute)";

const DENSITY_EXAMPLES: &str = "\
Examples:
  gen density bfp --quick
      the smallest block-floating-point rows (slow: about 1.5 minutes of place and route)
  gen density lns --output build/density-lns.md
      log-domain units against the MAC, also written as Markdown (slow: about 1.5 minutes)
  gen density fpacc
      the acc12, bf16 and fp32 accumulators against the MAC (slow: about 2 minutes)
  gen density palq --output build/density-palq.md
      the 2-bit PalQuant array against 4-bit datapaths in the same LUTs (slow: minutes)";

const SWEEP_EXAMPLES: &str = "\
Examples:
  gen sweep sweeps/example.toml
      the shipped example: MACs and a BFP dot product, emitted, linted and synthesized
  gen sweep sweeps/example.toml --stages emit,lint --jobs 2 --output-dir build/ex
      only emit and lint, two points at a time, into build/ex

A repeated run takes its lint and synthesis results from DIR/.cache.";

const PROVE_ALL_EXAMPLES: &str = "\
Examples:
  gen prove-all --output build/prove.md
      every unit's proof set, the table also as Markdown (slow: about 6 minutes on two cores)
  gen prove-all --quick
      without the four configurations that take minutes each, as `make test` runs it
  gen prove-all --engine pdr --pdr-limit 120 --jobs 1
      PDR alone, at most 2 minutes per configuration, one configuration at a time (slow)";

const FLOW_TABLE_EXAMPLES: &str = "\
Examples:
  gen flow-table --output build/flow.md
      the table, also written as Markdown (slow: minutes; `make fpga-tools` first)";

const SYNTH_TABLE_EXAMPLES: &str = "\
Examples:
  gen synth-table --output build/synth.md
      eight place-and-route runs with Debian's tools, the table also as Markdown (about 30 s)";

/// The unit families `gen density` compares with the integer MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Family {
    /// Block floating point dot products (issue #3).
    Bfp,
    /// Log-domain MAC and exponent-domain dot product (issue #4).
    Lns,
    /// Floating-point accumulators acc12, bf16 and fp32 fed by 8x8 integer products,
    /// against the integer MAC at 12 and 32 bits (issue #5).
    Fpacc,
    /// OCP MX dot products (MXFP4/6/8, MXINT8) against the int8 MAC and HBFP4 (issue 15).
    Mx,
    /// The 2-bit PalQuant array `palq-pe` (G 4, P 8) against 4-bit `palq-pe` and an array
    /// of 4-bit MACs with about the same LUTs (issue 17).
    Palq,
}

/// Where `gen prove` works.
#[derive(Args, Debug, Clone)]
pub struct ProveArgs {
    /// Folder for the designs, scripts and logs [default: build/prove/<module>].
    #[arg(long = "output-dir", alias = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub engines: EngineArgs,
}

/// The proof engines and their time limits.
#[derive(Args, Debug, Clone)]
pub struct EngineArgs {
    /// Engines to run, all at once; the first to decide stops the others: `equiv`
    /// (Yosys equiv_induct on matched state) and `pdr` (ABC's property-directed
    /// reachability on a miter that resets both designs, from any power-up state). When
    /// none decides, a bounded check from reset runs and the result says so.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "equiv,pdr")]
    pub engine: Vec<crate::prove::Engine>,
    /// Seconds the equiv engine may run before it counts as undecided.
    #[arg(long, value_name = "S", default_value_t = 600, allow_negative_numbers = true,
          value_parser = crate::values::ranged_u64(1, 86400))]
    pub equiv_limit: u64,
    /// Seconds PDR may run before it counts as undecided.
    #[arg(long, value_name = "S", default_value_t = 600, allow_negative_numbers = true,
          value_parser = crate::values::ranged_u64(1, 86400))]
    pub pdr_limit: u64,
}

impl EngineArgs {
    pub fn options(&self) -> crate::prove::Options {
        crate::prove::Options {
            engines: self.engine.clone(),
            equiv_limit: Duration::from_secs(self.equiv_limit),
            pdr_limit: Duration::from_secs(self.pdr_limit),
            stagger: None,
        }
    }
}

impl OutputArgs {
    /// The plain options `commands::emit` takes.
    pub fn outputs(&self) -> crate::commands::emit::Outputs {
        crate::commands::emit::Outputs {
            output: self.output.clone(),
            meta: self.meta.clone(),
            output_dir: self.output_dir.clone(),
            golden: self.golden,
            freq: self.freq,
            device: self.device,
            core: self.core,
        }
    }
}

/// Where the outputs go.
#[derive(Args, Debug, Clone, Default)]
pub struct OutputArgs {
    /// Write the Verilog to FILE instead of stdout (`-`: stdout). Written through
    /// symbolic links and to devices; a regular file is replaced whole or not at all.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the unit's metadata JSON (module, parameters, ports with roles and
    /// formats, latency) to FILE; written only if the Verilog can be written too.
    #[arg(long, value_name = "FILE")]
    pub meta: Option<PathBuf>,
    /// Write DIR/<module>.v and DIR/<module>.json (the folder is created), so that the
    /// file name matches the module as `verilator -Wall` wants.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["output", "meta"])]
    pub output_dir: Option<PathBuf>,
    /// With --output-dir: also write DIR/<module>.core, a FuseSoC (CAPI2) core with the
    /// Verilog and the metadata as its file set, the parameters as comments, and a `lint`
    /// target (Verilator -Wall): `fusesoc --cores-root DIR run --target lint <name>`.
    #[arg(long, requires = "output_dir")]
    pub core: bool,
    /// Emit the unit's behavioural reference (same module name, ports and latency,
    /// written plainly) instead of the generated RTL; `gen prove` checks the two equal.
    #[arg(long)]
    pub golden: bool,
    /// Clock target: pipeline the unit for MHZ on --device (`--pipeline auto`, the
    /// default with --freq), by the device's delay model; the depth and the estimate go
    /// into the metadata. `gen synth --freq` also confirms it by place and route.
    #[arg(long, value_name = "MHZ", value_parser = crate::synth::parse_freq,
          allow_hyphen_values = true)]
    pub freq: Option<f64>,
    /// The part whose delay model places the pipeline registers.
    #[arg(long, value_enum, default_value_t = Device::Up5k)]
    pub device: Device,
}

/// `--pipeline`: a depth, or `auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// This many register stages between the inputs and the unit's state.
    Fixed(u32),
    /// The shallowest depth whose estimated critical path meets `--freq`.
    Auto,
}

/// clap's parser for `--pipeline`: `auto` or a depth in `model::pipeline::DEPTHS`.
pub fn parse_depth(s: &str) -> Result<Depth, String> {
    let range = model::pipeline::DEPTHS;
    if s == "auto" {
        return Ok(Depth::Auto);
    }
    match s.parse::<u32>() {
        Ok(d) if range.contains(&d) => Ok(Depth::Fixed(d)),
        _ => Err(format!(
            "allowed 'auto' or {}..={}",
            range.start(),
            range.end()
        )),
    }
}

/// `gen synth --copies`: an array of the unit (`synth::array`).
#[derive(Args, Debug, Clone)]
pub struct CopiesArgs {
    /// Synthesize N copies of the unit side by side (1..=64), module `<top>_x<N>`:
    /// clock, reset, in_valid and clear shared, out_valid from copy 0, every other port
    /// concatenated (copy i at [w*i +: w]); e.g. `gen synth mac --in 4 --acc 18
    /// --copies 8`, eight 4-bit MACs in one design.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = crate::values::ranged_u64(1, 64))]
    pub copies: u64,
}

/// Pipelining, for every clocked unit (`model::pipeline`).
#[derive(Args, Debug, Clone, Default)]
pub struct PipelineArgs {
    /// Register stages between the inputs and the unit's state, placed by the delay model
    /// of --device: 0..=16, or `auto` for the shallowest depth that meets --freq (the
    /// default when --freq is given). Latency grows by the depth; results do not change.
    #[arg(long, value_name = "N|auto", value_parser = parse_depth, allow_hyphen_values = true)]
    pub pipeline: Option<Depth>,
}
