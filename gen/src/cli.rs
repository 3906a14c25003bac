//! Command-line interface of `gen`.
//!
//! `gen [FLAGS]` with no subcommand builds the default unit, the integer MAC, so that
//! `gen --acc 12` and `gen mac --acc 12` are the same design. Everything is built in
//! memory first; files are written atomically (temporary file, then rename) and the
//! Verilog goes to stdout last, so an error never leaves half-written output.
//!
//! Exit codes: 0 success, 2 bad command line or parameters (message on stderr naming the
//! parameter and its allowed range, nothing on stdout), 1 any other failure.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use model::bfp::{BfpAddParams, BfpDotParams, BfpQuantParams};
use model::expq::{ExpqDotParams, ExpqQuantParams};
use model::fpacc::FpaccParams;
use model::lns::{LnsMacParams, LnsMulParams};
use model::mac::Overflow;

use crate::synth::{self, Device, SynthArgs, SynthError, SynthReport, Tools};
use hdl::{design_verilog, Generate, Header};
use model::iface::{Metadata, Timing};
use model::mac::MacParams;
use model::UnitParams;

/// Generate lint-clean Verilog for low-precision DNN arithmetic units, with a bit-exact
/// reference model behind every design.
#[derive(Parser, Debug)]
#[command(
    name = "gen",
    version,
    args_conflicts_with_subcommands = true,
    after_help = "With no subcommand, gen builds an integer MAC: `gen --acc 12 > mac.v` writes an \
8x8 signed multiply-accumulate with a 12-bit saturating accumulator.\n\
Run `gen <SUBCOMMAND> --help` for each unit's flags."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    mac: MacParams,
    #[command(flatten)]
    out: OutputArgs,
}

/// Every unit kind with its parameters, and `X`: the arguments of the command that
/// takes it (output options for `gen <unit>`, synthesis options for `gen synth <unit>`,
/// proof options for `gen prove <unit>`). One list for all three.
#[derive(Subcommand, Debug)]
enum Unit<X: Args> {
    /// Integer multiply-accumulate with a narrow saturating or wrapping accumulator
    /// (SPEC.md section 1). The default unit.
    Mac {
        #[command(flatten)]
        params: MacParams,
        #[command(flatten)]
        with: X,
    },
    /// FP32 to block floating point (HBFP) converter: blocks of n binary32 values to one
    /// shared exponent and n m-bit mantissas (SPEC.md section 3).
    #[command(name = "bfp-quant", alias = "bfp_quant")]
    BfpQuant {
        #[command(flatten)]
        params: BfpQuantParams,
        #[command(flatten)]
        with: X,
    },
    /// Shared-exponent block adder: two HBFP blocks aligned, added, renormalised and
    /// clamped (SPEC.md section 3).
    #[command(name = "bfp-add", alias = "bfp_add")]
    BfpAdd {
        #[command(flatten)]
        params: BfpAddParams,
        #[command(flatten)]
        with: X,
    },
    /// Block dot product of two HBFP block streams: exact integer products and adder tree,
    /// one binary32 conversion per block, binary32 accumulation with `clear`; lanes and
    /// mixed mantissa as flags (SPEC.md section 3).
    #[command(name = "bfp-dot", alias = "bfp_dot")]
    BfpDot {
        #[command(flatten)]
        params: BfpDotParams,
        #[command(flatten)]
        with: X,
    },
    /// Log-domain (LNS) multiplier: sign xor and exact exponent-code add of two
    /// (sign, zero, exponent) codes; combinational (SPEC.md section 4).
    #[command(name = "lns-mul", alias = "lns_mul")]
    LnsMul {
        #[command(flatten)]
        params: LnsMulParams,
        #[command(flatten)]
        with: X,
    },
    /// LNS multiply-accumulate: log-domain product, 2^F-entry table to linear, shift,
    /// signed A-bit accumulator with the MAC's saturate|wrap policy (SPEC.md section 4).
    #[command(name = "lns-mac", alias = "lns_mac")]
    LnsMac {
        #[command(flatten)]
        params: LnsMacParams,
        #[command(flatten)]
        with: X,
    },
    /// DNA-TEQ exponent-domain dot product: one signed counter per exponent sum, then a
    /// flush walks them and accumulates c_k * RNE(b^k * 2^F) for any base b (SPEC.md
    /// section 4).
    #[command(name = "expq-dot", alias = "expq_dot")]
    ExpqDot {
        #[command(flatten)]
        params: ExpqDotParams,
        #[command(flatten)]
        with: X,
    },
    /// Exponential (DNA-TEQ) quantizer: fixed-point input to (sign, zero, exponent)
    /// codes, nearest level alpha * b^(e + e_min) in the linear domain, ties to the smaller
    /// magnitude (SPEC.md section 4).
    #[command(name = "expq-quant", alias = "expq_quant")]
    ExpqQuant {
        #[command(flatten)]
        params: ExpqQuantParams,
        #[command(flatten)]
        with: X,
    },
    /// Low-precision floating-point accumulator: acc <= Q_acc(Q_prod(a*b) + acc), no
    /// subnormals (flush, sticky uf), saturating (sticky of), optional chunks; presets
    /// acc12 (E4M7), bf16 and fp32 (SPEC.md section 2).
    Fpacc {
        #[command(flatten)]
        params: FpaccParams,
        #[command(flatten)]
        with: X,
    },
}

/// `$body` with `$params` (the unit's parameter value, a different type per kind) and
/// `$with` bound, for whichever kind `$unit` is.
macro_rules! with_unit {
    ($unit:expr, |$params:ident, $with:ident| $body:expr) => {
        match $unit {
            Unit::Mac {
                params: $params,
                with: $with,
            } => $body,
            Unit::BfpQuant {
                params: $params,
                with: $with,
            } => $body,
            Unit::BfpAdd {
                params: $params,
                with: $with,
            } => $body,
            Unit::BfpDot {
                params: $params,
                with: $with,
            } => $body,
            Unit::LnsMul {
                params: $params,
                with: $with,
            } => $body,
            Unit::LnsMac {
                params: $params,
                with: $with,
            } => $body,
            Unit::ExpqDot {
                params: $params,
                with: $with,
            } => $body,
            Unit::ExpqQuant {
                params: $params,
                with: $with,
            } => $body,
            Unit::Fpacc {
                params: $params,
                with: $with,
            } => $body,
        }
    };
}

#[derive(Subcommand, Debug)]
enum Command {
    #[command(flatten)]
    Unit(Unit<OutputArgs>),
    /// The narrowest integer accumulator that cannot overflow, for a dot-product length K
    /// or a file of weights (worst case over all activations), beside A2Q's data-type
    /// bound and its bound on the weights' L1 norm for a given accumulator width.
    Accwidth {
        #[command(flatten)]
        args: crate::accwidth::AccWidthArgs,
    },
    /// Accuracy of narrow accumulators from the models alone: mean and worst relative
    /// error of dot products (K = 256, 1024, 4096) of Gaussian int8 operands in acc12
    /// with and without chunks, bf16, fp32 and 12/16-bit saturating integer MACs.
    #[command(name = "acc-error", alias = "acc_error")]
    AccError {
        #[command(flatten)]
        args: crate::accerror::AccErrorArgs,
    },
    /// Fit DNA-TEQ exponential quantization (base, scale, exponent range) to a tensor
    /// (.npy or text) or a synthetic one, for every bit width up to --bits, and print the
    /// errors next to INT8 and INT4 uniform quantization (SPEC.md section 4).
    Fit {
        #[command(flatten)]
        args: crate::fit::FitArgs,
    },
    /// Synthesize a unit for an iCE40 (Yosys, nextpnr-ice40, icepack) inside a 4-pin
    /// register wrapper and report LUTs, carries, flip-flops, DSPs and post-route Fmax.
    /// With MAC flags and no unit, the MAC (`gen synth --acc 32 --dsp`).
    #[command(args_conflicts_with_subcommands = true)]
    Synth {
        #[command(subcommand)]
        unit: Option<Unit<SynthArgs>>,
        #[command(flatten)]
        params: MacParams,
        #[command(flatten)]
        synth: SynthArgs,
    },
    /// Arithmetic density tables against the integer MAC (acc 12 and 32): `bfp`
    /// synthesizes `bfp_dot` for n in 8, 16, 32 and m in 4, 6, 8 (one block per cycle)
    /// and the mixed 4/6 unit; `lns` synthesizes `lns_mac` and `expq_dot` at 4-, 5- and
    /// 6-bit codes; `fpacc` the acc12, bf16 and fp32 accumulators fed by 8x8 products,
    /// with and without DSPs. LUTs, Fmax and multiply-accumulates per cycle per LUT; UP5K,
    /// or HX8K for designs the UP5K cannot hold. `bfp` takes about 15 minutes.
    Density {
        /// Which family of units.
        #[arg(value_enum, default_value_t = Family::Bfp)]
        family: Family,
        /// Also write the table (Markdown) to FILE.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Only the smallest rows (n = 8 and 16 at m = 4, the mixed unit, the MAC).
        #[arg(long)]
        quick: bool,
    },
    /// Prove a unit's generated RTL equal to its behavioural reference (`--golden`):
    /// Yosys's equivalence flow (equiv_make, equiv_simple, equiv_induct, equiv_status)
    /// first, then ABC's PDR on a reset-forcing miter where induction does not close;
    /// when neither decides, a bounded check from reset with a stated depth.
    Prove {
        #[command(subcommand)]
        unit: Unit<ProveArgs>,
    },
    /// Prove the default configuration of every unit with a reference and a handful of
    /// others; print a table with the method and time of each proof.
    ProveAll {
        /// Also write the table (Markdown) to FILE.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        engines: EngineArgs,
        /// Configurations proven at once (each runs its engines side by side).
        #[arg(long, value_name = "N", default_value_t = 2,
              value_parser = clap::value_parser!(u32).range(1..=64))]
        jobs: u32,
    },
    /// The open-flow table: the MAC (acc 12 and 32) on the UP5K with Debian's tools and
    /// with the YoWASP builds, and on the ECP5-25k, with and without DSPs (about 5
    /// minutes; `make fpga-tools` first).
    FlowTable {
        /// Also write the table (Markdown) to FILE.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Synthesize the comparison table on the UP5K: the generated MAC against the
    /// hand-written reference, accumulators of 12 and 32 bits, with and without DSPs.
    SynthTable {
        /// Also write the table (Markdown) to FILE.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// The unit families `gen density` compares with the integer MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Family {
    /// Block floating point dot products (issue #3).
    Bfp,
    /// Log-domain MAC and exponent-domain dot product (issue #4).
    Lns,
    /// Floating-point accumulators acc12, bf16 and fp32 fed by 8x8 integer products,
    /// against the integer MAC at 12 and 32 bits (issue #5).
    Fpacc,
}

/// Where `gen prove` works.
#[derive(Args, Debug, Clone)]
struct ProveArgs {
    /// Folder for the designs, scripts and logs [default: build/prove/<module>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    engines: EngineArgs,
}

/// The proof engines and their time limits.
#[derive(Args, Debug, Clone)]
struct EngineArgs {
    /// Engines to run, all at once; the first to decide stops the others: `equiv`
    /// (Yosys equiv_induct on matched state) and `pdr` (ABC's property-directed
    /// reachability on a miter that resets both designs, from any power-up state). When
    /// none decides, a bounded check from reset runs and the result says so.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "equiv,pdr")]
    engine: Vec<crate::prove::Engine>,
    /// Seconds the equiv engine may run before it counts as undecided.
    #[arg(long, value_name = "S", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86400))]
    equiv_limit: u64,
    /// Seconds PDR may run before it counts as undecided.
    #[arg(long, value_name = "S", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pdr_limit: u64,
}

impl EngineArgs {
    fn options(&self) -> crate::prove::Options {
        crate::prove::Options {
            engines: self.engine.clone(),
            equiv_limit: Duration::from_secs(self.equiv_limit),
            pdr_limit: Duration::from_secs(self.pdr_limit),
        }
    }
}

/// Where the outputs go.
#[derive(Args, Debug, Clone, Default)]
struct OutputArgs {
    /// Write the Verilog to FILE instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write the unit's metadata JSON (module, parameters, ports with roles and
    /// formats, latency) to FILE.
    #[arg(long, value_name = "FILE")]
    meta: Option<PathBuf>,
    /// Emit the unit's behavioural reference (same module name, ports and latency,
    /// written plainly) instead of the generated RTL; `gen prove` checks the two equal.
    #[arg(long)]
    golden: bool,
    /// Pick the smallest pipeline depth whose post-route Fmax on --device reaches MHZ,
    /// by running the FPGA flow at each depth; the choice and the Fmax go into the
    /// metadata (units with a --pipeline flag).
    #[arg(long, value_name = "MHZ", allow_negative_numbers = true)]
    freq: Option<f64>,
    /// Part for --freq.
    #[arg(long, value_enum, default_value_t = Device::Up5k, requires = "freq")]
    device: Device,
    /// Tool builds for --freq.
    #[arg(long, value_enum, default_value_t = Tools::Yowasp, requires = "freq")]
    tools: Tools,
}

/// A failure with the exit code it should give.
struct Failure {
    code: i32,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
    fn io(what: &Path, e: std::io::Error) -> Failure {
        Failure {
            code: 1,
            message: format!("cannot write {}: {e}", what.display()),
        }
    }
}

/// The generator's name and version, as written into every file.
pub fn generator_id() -> String {
    format!("lowbit gen {}", env!("CARGO_PKG_VERSION"))
}

/// Run `gen` with `args` (including the program name); returns the exit code.
pub fn run<I, T>(args: I, stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let text = e.render().to_string();
            let _ = if e.use_stderr() {
                write!(stderr, "{text}")
            } else {
                write!(stdout, "{text}")
            };
            return e.exit_code();
        }
    };
    let command_line = command_line(&args);
    let result = match cli.command {
        Some(Command::Unit(unit)) => with_unit!(unit, |params, out| {
            emit_unit(&params, &out, &command_line, stdout, stderr)
        }),
        Some(Command::Synth {
            unit,
            params,
            synth,
        }) => match unit {
            None => synth_mac(&params, &synth, stdout, stderr),
            Some(Unit::Mac { params, with }) => synth_mac(&params, &with, stdout, stderr),
            Some(unit) => with_unit!(unit, |params, synth| synth_unit(
                &params, &synth, stdout, stderr
            )),
        },
        Some(Command::SynthTable { output }) => synth_table(output.as_deref(), stdout, stderr),
        Some(Command::FlowTable { output }) => flow_table(output.as_deref(), stdout, stderr),
        Some(Command::Prove { unit }) => {
            with_unit!(unit, |params, prove| prove_unit(&params, &prove, stdout))
        }
        Some(Command::ProveAll {
            output,
            engines,
            jobs,
        }) => prove_all(
            output.as_deref(),
            &engines.options(),
            jobs as usize,
            stdout,
            stderr,
        ),
        Some(Command::Accwidth { args }) => {
            crate::accwidth::run(&args, stdout).map_err(|e| Failure {
                code: 1,
                message: e.0,
            })
        }
        Some(Command::AccError { args }) => {
            crate::accerror::run(&args, stdout).map_err(|message| Failure {
                code: if message.contains("--sigma") { 2 } else { 1 },
                message,
            })
        }
        Some(Command::Fit { args }) => {
            crate::fit::run(&args, stdout, stderr).map_err(|e| Failure {
                code: 1,
                message: e.0,
            })
        }
        Some(Command::Density {
            family,
            output,
            quick,
        }) => match family {
            Family::Bfp => density_table(output.as_deref(), quick, stdout, stderr),
            Family::Lns => lns_density_table(output.as_deref(), stdout, stderr),
            Family::Fpacc => fpacc_density_table(output.as_deref(), stdout, stderr),
        },
        None => emit_unit(&cli.mac, &cli.out, &command_line, stdout, stderr),
    };
    match result {
        Ok(()) => 0,
        Err(f) => {
            let _ = writeln!(stderr, "error: {}", f.message);
            f.code
        }
    }
}

/// Prove one parameter set; exit 1 when it is not proven.
fn prove_unit<P: Generate>(
    params: &P,
    args: &ProveArgs,
    stdout: &mut dyn Write,
) -> Result<(), Failure> {
    let report = run_proof(params, args.out.clone(), &args.engines.options())?;
    writeln!(stdout, "{}", report.summary()).map_err(|e| Failure {
        code: 1,
        message: e.to_string(),
    })?;
    if report.passed() {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            message: format!("{} is not proven equal to its reference", report.module),
        })
    }
}

/// Build both designs and prove them equal.
fn run_proof<P: Generate>(
    params: &P,
    out: Option<PathBuf>,
    options: &crate::prove::Options,
) -> Result<crate::prove::ProofReport, Failure> {
    let module = build_rtl(params)?;
    let header = Header {
        generator: generator_id(),
        command: None,
    };
    let golden = match params.golden() {
        Some(g) => g.map_err(|e| Failure {
            code: 1,
            message: e.to_string(),
        })?,
        None => {
            return Err(Failure {
                code: 2,
                message: format!("{} has no behavioural reference yet", P::KIND),
            })
        }
    };
    let text = hdl::golden::golden_file(params, &golden, &header);
    let top = params.module_name();
    let dir = out.unwrap_or_else(|| Path::new("build/prove").join(&top));
    let files = hdl::design_files(&module, &header);
    let interface = params.interface();
    let pair = crate::prove::Pair {
        top: &top,
        golden: &text,
        gate: &files,
        state: &golden.state,
        latency: params.latency(),
        interface: &interface,
    };
    crate::prove::prove(&dir, &pair, options).map_err(|message| Failure { code: 1, message })
}

/// The proof table: every unit's default configuration and a few more.
fn prove_all(
    output: Option<&Path>,
    options: &crate::prove::Options,
    jobs: usize,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    type Job = Box<dyn FnOnce() -> Result<crate::prove::ProofReport, Failure> + Send>;
    let mut queue: Vec<Job> = Vec::new();
    fn add<P: Generate + Send + 'static>(
        queue: &mut Vec<Job>,
        set: Vec<P>,
        options: &crate::prove::Options,
    ) {
        for p in set {
            let options = options.for_module(&p.module_name());
            queue.push(Box::new(move || run_proof(&p, None, &options)));
        }
    }
    add(&mut queue, crate::prove::mac_set(), options);
    add(&mut queue, crate::prove::lns_mul_set(), options);
    add(&mut queue, crate::prove::lns_mac_set(), options);
    add(&mut queue, crate::prove::expq_quant_set(), options);
    add(&mut queue, crate::prove::bfp_add_set(), options);
    add(&mut queue, crate::prove::expq_dot_set(), options);
    add(&mut queue, crate::prove::bfp_quant_set(), options);
    add(&mut queue, crate::prove::fpacc_set(), options);
    add(&mut queue, crate::prove::bfp_dot_set(), options);
    // `jobs` workers take configurations in order; the table keeps that order.
    let count = queue.len();
    let queue = std::sync::Mutex::new(queue.into_iter().enumerate());
    let (tx, rx) = std::sync::mpsc::channel();
    let mut slots: Vec<Option<crate::prove::ProofReport>> = vec![None; count];
    let mut failure = None;
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            let (tx, queue) = (tx.clone(), &queue);
            scope.spawn(move || loop {
                let next = queue.lock().expect("queue").next();
                let Some((i, job)) = next else { break };
                if tx.send((i, job())).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (i, result) in rx {
            match result {
                Ok(r) => {
                    let _ = writeln!(stderr, "[prove] {}", r.summary());
                    slots[i] = Some(r);
                }
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let reports: Vec<crate::prove::ProofReport> = slots.into_iter().flatten().collect();
    let table = crate::prove::render(&reports);
    emit_table(&table, output, stdout)?;
    if reports.iter().all(|r| r.passed()) {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            message: "some units are not proven equal to their references".into(),
        })
    }
}

/// A finished table: to FILE (atomically) when asked, and to stdout.
fn emit_table(table: &str, output: Option<&Path>, stdout: &mut dyn Write) -> Result<(), Failure> {
    if let Some(path) = output {
        write_atomically(path, table.as_bytes())?;
    }
    stdout.write_all(table.as_bytes()).map_err(|e| Failure {
        code: 1,
        message: e.to_string(),
    })
}

/// The command line as it will appear in the file header, program name as `gen`.
fn command_line(args: &[OsString]) -> String {
    let mut words = vec!["gen".to_string()];
    for a in args.iter().skip(1) {
        let a = a.to_string_lossy();
        let plain = a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=.,/:+".contains(c));
        words.push(if plain && !a.is_empty() {
            a.into_owned()
        } else {
            format!("'{}'", a.replace('\'', r"'\''"))
        });
    }
    words.join(" ")
}

/// Validate the parameters (a usage error, exit 2) and build the unit's RTL.
fn build_rtl<P: Generate>(params: &P) -> Result<hdl::Module, Failure> {
    params
        .validate()
        .map_err(|e| Failure::usage(e.to_string()))?;
    params.rtl().map_err(|e| Failure {
        code: 1,
        message: e.to_string(),
    })
}

/// Build a unit, write its metadata if asked, then its Verilog.
fn emit_unit<P: Generate>(
    params: &P,
    out: &OutputArgs,
    command_line: &str,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let (chosen, timing) = match out.freq {
        Some(target) => {
            let (p, t) = choose_pipeline(params, out, target, stderr)?;
            (p, Some(t))
        }
        None => (params.clone(), None),
    };
    let params = &chosen;
    let module = build_rtl(params)?;
    let header = Header {
        generator: generator_id(),
        command: Some(command_line.to_string()),
    };
    let verilog = if out.golden {
        match hdl::golden::golden_verilog(params, &header) {
            Some(Ok(text)) => text,
            Some(Err(e)) => {
                return Err(Failure {
                    code: 1,
                    message: e.to_string(),
                })
            }
            None => {
                return Err(Failure {
                    code: 2,
                    message: format!(
                        "'--golden': {} has no behavioural reference yet (units with one: {})",
                        P::KIND,
                        crate::prove::UNITS_WITH_GOLDEN.join(", ")
                    ),
                })
            }
        }
    } else {
        design_verilog(&module, &header)
    };
    if let Some(path) = &out.meta {
        write_atomically(path, metadata_json_with(params, timing).as_bytes())?;
    }
    match &out.output {
        Some(path) => write_atomically(path, verilog.as_bytes()),
        None => stdout.write_all(verilog.as_bytes()).map_err(|e| Failure {
            code: 1,
            message: format!("cannot write to stdout: {e}"),
        }),
    }
}

/// The metadata JSON of a unit (SPEC.md, "Metadata file"), pretty-printed.
pub fn metadata_json<P: UnitParams>(params: &P) -> String {
    metadata_json_with(params, None)
}

/// [`metadata_json`] with the timing search's result.
fn metadata_json_with<P: UnitParams>(params: &P, timing: Option<Timing>) -> String {
    let module = params.module_name();
    let iface = params.interface();
    let meta = Metadata {
        module: &module,
        unit: P::KIND,
        params,
        latency: params.latency(),
        ports: &iface.ports,
        generator: generator_id(),
        timing,
    };
    serde_json::to_string_pretty(&meta).expect("metadata serializes") + "\n"
}

/// Write a whole file or nothing: a temporary file beside it, then a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let file_name = path
        .file_name()
        .ok_or_else(|| Failure::usage(format!("'{}' is not a file name", path.display())))?;
    let mut tmp_name = OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, bytes).map_err(|e| Failure::io(path, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Failure::io(path, e)
    })
}

impl From<SynthError> for Failure {
    fn from(e: SynthError) -> Failure {
        let code = if matches!(e, SynthError::Usage(_)) {
            2
        } else {
            1
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

/// Run the iCE40 flow on the generated MAC, or on the hand-written reference.
fn run_flow(
    params: &MacParams,
    args: &SynthArgs,
    stderr: &mut dyn Write,
) -> Result<SynthReport, Failure> {
    if !args.reference {
        return run_unit_flow(params, args, stderr);
    }
    params
        .validate()
        .map_err(|e| Failure::usage(e.to_string()))?;
    let plain = MacParams {
        in_bits: params.in_bits,
        acc_bits: params.acc_bits,
        ..MacParams::default()
    };
    if *params != plain {
        return Err(Failure::usage(
            "'--reference' is the hand-written signed, saturating MAC without pipeline: \
             only --in and --acc may change",
        ));
    }
    let n = [
        ("N", u64::from(params.in_bits)),
        ("A", u64::from(params.acc_bits)),
    ];
    let sources = [synth::reference_source()];
    let mut progress = |line: &str| {
        let _ = writeln!(stderr, "[synth] {line}");
    };
    Ok(synth::synthesize(
        &sources,
        "mac_ref",
        &params.interface(),
        &n,
        args,
        &mut progress,
    )?)
}

/// Run the iCE40 flow on any generated unit.
/// Run the flow at each pipeline depth, shallowest first, until one reaches `target`
/// MHz; the deepest (fastest) if none does.
fn choose_pipeline<P: Generate>(
    params: &P,
    out: &OutputArgs,
    target: f64,
    stderr: &mut dyn Write,
) -> Result<(P, Timing), Failure> {
    if !(target > 0.0 && target <= 1000.0) {
        return Err(Failure::usage(format!(
            "invalid value '{target}' for '--freq': allowed (0, 1000] MHz"
        )));
    }
    let Some(depths) = params.pipeline_depths() else {
        return Err(Failure::usage(format!(
            "'--freq': {} has no pipeline depth to choose (units with --pipeline: mac, fpacc)",
            P::KIND
        )));
    };
    let args = SynthArgs {
        device: out.device,
        dsp: false,
        tools: out.tools,
        freq: target,
        seed: 1,
        out: None,
        reference: false,
        json: None,
    };
    let mut tried = Vec::new();
    let mut best: Option<(P, u32, f64, String)> = None;
    for depth in depths {
        let p = params.with_pipeline(depth);
        let _ = writeln!(stderr, "[freq] {} at depth {depth}", p.module_name());
        let r = run_unit_flow(&p, &args, stderr)?;
        let _ = writeln!(
            stderr,
            "[freq] depth {depth}: {:.1} MHz (target {target} MHz)",
            r.fmax_mhz
        );
        tried.push((depth, r.fmax_mhz));
        let tools = format!("{}: {}; {}", out.tools.name(), r.yosys, r.nextpnr);
        let met = r.fmax_mhz >= target;
        if best.as_ref().is_none_or(|(_, _, f, _)| r.fmax_mhz > *f) || met {
            best = Some((p, depth, r.fmax_mhz, tools));
        }
        if met {
            break;
        }
    }
    let (p, depth, fmax, tools) = best.expect("at least one depth");
    let met = fmax >= target;
    if !met {
        let _ = writeln!(
            stderr,
            "[freq] no depth reaches {target} MHz on {}; using the fastest, {:.1} MHz",
            out.device.name(),
            fmax
        );
    }
    let timing = Timing {
        device: out.device.name().into(),
        tools,
        target_mhz: target,
        pipeline: depth,
        fmax_mhz: fmax,
        met,
        tried,
    };
    Ok((p, timing))
}

fn run_unit_flow<P: Generate>(
    params: &P,
    args: &SynthArgs,
    stderr: &mut dyn Write,
) -> Result<SynthReport, Failure> {
    let module = build_rtl(params)?;
    let header = Header {
        generator: generator_id(),
        command: None,
    };
    let sources = hdl::design_files(&module, &header);
    let mut progress = |line: &str| {
        let _ = writeln!(stderr, "[synth] {line}");
    };
    Ok(synth::synthesize(
        &sources,
        &module.name,
        &params.interface(),
        &[],
        args,
        &mut progress,
    )?)
}

/// `gen synth` for the MAC (which alone has `--reference`): the report on stdout.
fn synth_mac(
    params: &MacParams,
    args: &SynthArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let report = run_flow(params, args, stderr)?;
    print_report(&report, stdout)
}

/// `gen synth` for any other unit: the report on stdout.
fn synth_unit<P: Generate>(
    params: &P,
    args: &SynthArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    if args.reference {
        return Err(Failure::usage(
            "'--reference' exists only for the MAC (the hand-written tests/ref/mac_ref.v)",
        ));
    }
    let report = run_unit_flow(params, args, stderr)?;
    print_report(&report, stdout)
}

fn print_report(report: &SynthReport, stdout: &mut dyn Write) -> Result<(), Failure> {
    writeln!(stdout, "{report}").map_err(|e| Failure {
        code: 1,
        message: e.to_string(),
    })
}

/// The generated-vs-hand-written table of issue #2.
/// The MAC through both tool builds and both families.
fn flow_table(
    output: Option<&Path>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let mut table = String::from(
        "| design | acc | device | tools | DSP | LUTs | carries | FFs | DSPs | logic cells (with wrapper) | Fmax MHz |\n\
         | --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let mut versions = std::collections::BTreeSet::new();
    for acc_bits in [12, 32] {
        for (device, tools) in [
            (Device::Up5k, Tools::Debian),
            (Device::Up5k, Tools::Yowasp),
            (Device::Ecp5_25k, Tools::Yowasp),
        ] {
            for dsp in [false, true] {
                let params = MacParams {
                    acc_bits,
                    ..MacParams::default()
                };
                let args = SynthArgs {
                    device,
                    dsp,
                    tools,
                    freq: 100.0,
                    seed: 1,
                    out: None,
                    reference: false,
                    json: None,
                };
                let r = run_flow(&params, &args, stderr)?;
                versions.insert(format!("{}: {}; {}", tools.name(), r.yosys, r.nextpnr));
                let line = format!(
                    "| {} | {acc_bits} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} |\n",
                    r.design,
                    device.name(),
                    tools.name(),
                    if dsp { "yes" } else { "no" },
                    r.unit.luts,
                    r.unit.carries,
                    r.unit.ffs,
                    r.unit.dsps,
                    r.logic_cells.0,
                    r.fmax_mhz
                );
                let _ = write!(stderr, "[synth] row {line}");
                table += &line;
            }
        }
    }
    table += "\nLUTs (LUT4), carries (bits), FFs and DSPs (SB_MAC16 or MULT18X18D): the unit \
              synthesized alone. Logic cells (ICESTORM_LC or TRELLIS_COMB) and Fmax: the unit \
              inside the 4-pin wrapper after place and route, seed 1. Tools: ";
    table += &versions.into_iter().collect::<Vec<_>>().join(" / ");
    table += ".\n";
    emit_table(&table, output, stdout)
}

fn synth_table(
    output: Option<&Path>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let mut table = String::from(
        "| design | acc | DSP | LUTs | carries | FFs | DSPs | LCs (with wrapper) | Fmax MHz |\n\
         | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for acc_bits in [12, 32] {
        for dsp in [false, true] {
            for reference in [false, true] {
                let params = MacParams {
                    acc_bits,
                    overflow: Overflow::Saturate,
                    ..MacParams::default()
                };
                let args = SynthArgs {
                    device: Device::Up5k,
                    dsp,
                    tools: Tools::Debian,
                    freq: 100.0,
                    seed: 1,
                    out: None,
                    reference,
                    json: None,
                };
                let r = run_flow(&params, &args, stderr)?;
                let line = format!(
                    "| {} | {acc_bits} | {} | {} | {} | {} | {} | {} | {:.1} |\n",
                    if reference {
                        "hand-written mac_ref"
                    } else {
                        r.design.as_str()
                    },
                    if dsp { "yes" } else { "no" },
                    r.unit.luts,
                    r.unit.carries,
                    r.unit.ffs,
                    r.unit.dsps,
                    r.logic_cells.0,
                    r.fmax_mhz
                );
                let _ = write!(stderr, "[synth] row {line}");
                table += &line;
            }
        }
    }
    table += "\nLUTs, carries, FFs and DSPs: the unit synthesized alone (Yosys 0.23 synth_ice40). \
              LCs and Fmax: unit inside the 4-pin wrapper after nextpnr-ice40 place and route \
              on the iCE40 UP5K (SG48), seed 1.\n";
    emit_table(&table, output, stdout)
}

/// One row of the density table: a design, its multiply-accumulates per cycle, and its
/// flow result.
struct DensityRow {
    label: String,
    /// Products per cycle, sustained.
    macs_per_cycle: f64,
    report: SynthReport,
}

/// Run the flow on the UP5K; if that fails (a design too large for its 5280 cells), on
/// the HX8K.
fn flow_up5k_or_hx8k<P: Generate>(
    params: &P,
    stderr: &mut dyn Write,
) -> Result<SynthReport, Failure> {
    flow_up5k_or_hx8k_dsp(params, false, stderr)
}

/// [`flow_up5k_or_hx8k`], optionally mapping multipliers to DSP blocks.
fn flow_up5k_or_hx8k_dsp<P: Generate>(
    params: &P,
    dsp: bool,
    stderr: &mut dyn Write,
) -> Result<SynthReport, Failure> {
    let mut args = SynthArgs {
        device: Device::Up5k,
        dsp,
        tools: Tools::Debian,
        freq: 100.0,
        seed: 1,
        out: None,
        reference: false,
        json: None,
    };
    match run_unit_flow(params, &args, stderr) {
        Ok(r) => Ok(r),
        Err(e) if e.code == 2 => Err(e),
        Err(e) => {
            let _ = writeln!(
                stderr,
                "[density] {} did not fit or route on the UP5K ({}); trying the HX8K",
                params.module_name(),
                e.message.lines().next().unwrap_or("")
            );
            args.device = Device::Hx8k;
            run_unit_flow(params, &args, stderr)
        }
    }
}

/// The arithmetic-density table of issue #3: HBFP block dot products against the
/// integer MAC, multiply-accumulates per cycle per LUT.
fn density_table(
    output: Option<&Path>,
    quick: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let mut rows = Vec::new();
    for acc_bits in [12, 32] {
        let mac = MacParams {
            acc_bits,
            ..MacParams::default()
        };
        rows.push(DensityRow {
            label: format!("int8 MAC, acc {acc_bits} sat"),
            macs_per_cycle: 1.0,
            report: flow_up5k_or_hx8k(&mac, stderr)?,
        });
    }
    let shapes: &[(u32, u32)] = if quick {
        &[(8, 4), (16, 4)]
    } else {
        &[
            (8, 4),
            (8, 6),
            (8, 8),
            (16, 4),
            (16, 6),
            (16, 8),
            (32, 4),
            (32, 6),
            (32, 8),
        ]
    };
    let mut dots: Vec<(String, BfpDotParams)> = shapes
        .iter()
        .map(|&(block, mant_bits)| {
            (
                format!("HBFP{mant_bits} dot, n {block}"),
                BfpDotParams {
                    block,
                    mant_bits,
                    ..BfpDotParams::default()
                },
            )
        })
        .collect();
    dots.push((
        "HBFP4/6 mixed dot, n 16".to_string(),
        BfpDotParams {
            block: 16,
            mant_bits: 6,
            modes: Some("4,6".parse().expect("valid modes")),
            ..BfpDotParams::default()
        },
    ));
    for (label, p) in dots {
        let _ = writeln!(stderr, "[density] {label}: {}", p.module_name());
        rows.push(DensityRow {
            label,
            macs_per_cycle: f64::from(p.lanes()),
            report: flow_up5k_or_hx8k(&p, stderr)?,
        });
    }
    let mut table = render_density(&rows);
    table += "\nOne block (n element products) per cycle for bfp_dot (lanes = n), one product per \
              cycle for the MAC. LUTs, carries, FFs: the unit alone (Yosys 0.23 synth_ice40, no \
              DSPs); LCs and Fmax: inside the 4-pin wrapper after nextpnr-ice40 place and route, \
              seed 1. \"vs int8 MAC\" compares with the first row. The FP32 and bfloat16 \
              accumulators alone are in `gen density fpacc`.\n";
    emit_table(&table, output, stdout)
}

/// The log-domain density table of issue #4: `lns_mac` and `expq_dot` at 4-, 5- and
/// 6-bit codes (a sign bit and 3, 4, 5 exponent bits; the zero flag on its own wire)
/// against the integer MAC at 8 bits.
fn lns_density_table(
    output: Option<&Path>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    let mut rows = Vec::new();
    for acc_bits in [12, 24] {
        let mac = MacParams {
            acc_bits,
            ..MacParams::default()
        };
        rows.push(DensityRow {
            label: format!("int8 MAC, acc {acc_bits} sat"),
            macs_per_cycle: 1.0,
            report: flow_up5k_or_hx8k(&mac, stderr)?,
        });
    }
    for exp_bits in [3, 4, 5] {
        let p = LnsMacParams {
            exp_bits,
            ..LnsMacParams::default()
        };
        let _ = writeln!(stderr, "[density] {}", p.module_name());
        rows.push(DensityRow {
            label: format!("LNS MAC, {}-bit codes, acc 24", exp_bits + 1),
            macs_per_cycle: 1.0,
            report: flow_up5k_or_hx8k(&p, stderr)?,
        });
    }
    for exp_bits in [3, 4, 5] {
        // Exponents centred on zero, so the table stays within 64 bits at 5 bits.
        let p = ExpqDotParams {
            exp_bits,
            exp_min: 1 - (1 << (exp_bits - 1)),
            ..ExpqDotParams::default()
        };
        let _ = writeln!(stderr, "[density] {}", p.module_name());
        // K_max products, then the walk over every counter.
        let k = f64::from(p.k_max);
        rows.push(DensityRow {
            label: format!("DNA-TEQ dot, {}-bit codes, K 64", exp_bits + 1),
            macs_per_cycle: k / (k + f64::from(p.latency())),
            report: flow_up5k_or_hx8k(&p, stderr)?,
        });
    }
    let mut table = render_density(&rows);
    table += "\nCodes: a sign bit and 3, 4 or 5 exponent bits (the zero flag is a separate wire). \
              lns_mac: base 2^(1/4), 8-bit table, 24-bit saturating accumulator, one product per \
              cycle. expq_dot: base 2, codes centred on 1.0 (e_min = 1 - 2^(E-1)), 8 fractional bits, \
              dot products of K = 64 pairs, one pair \
              per cycle and then a walk of one cycle per counter, so it sustains K / (K + walk) \
              products per cycle. LUTs, carries, FFs, DSPs: the unit alone (Yosys 0.23 \
              synth_ice40); LCs and Fmax: inside the 4-pin wrapper after nextpnr-ice40, seed 1. \
              \"vs int8 MAC\" compares with the first row.\n";
    emit_table(&table, output, stdout)
}

/// The accumulator table of issue #5: what a narrow floating-point accumulator costs
/// next to bf16, fp32 and the integer MAC, all fed by 8x8 signed integer products.
fn fpacc_density_table(
    output: Option<&Path>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    use model::fpacc::{FpaccParams, Preset};
    let mut rows = Vec::new();
    for dsp in [false, true] {
        let with = if dsp { ", DSP" } else { "" };
        for acc_bits in [12, 32] {
            let mac = MacParams {
                acc_bits,
                ..MacParams::default()
            };
            let _ = writeln!(stderr, "[density] {}{with}", mac.module_name());
            rows.push(DensityRow {
                label: format!("int8 MAC, acc {acc_bits} sat{with}"),
                macs_per_cycle: 1.0,
                report: flow_up5k_or_hx8k_dsp(&mac, dsp, stderr)?,
            });
        }
        for (preset, chunk, pipeline, label) in [
            (Preset::Acc12, 0, 0, "fpacc acc12 (E4M7)"),
            (Preset::Acc12, 16, 0, "fpacc acc12, chunks of 16"),
            (Preset::Bf16, 0, 0, "fpacc bf16 (E8M7)"),
            (Preset::Fp32, 0, 0, "fpacc fp32 (E8M23)"),
            (Preset::Fp32, 0, 1, "fpacc fp32, pipeline 1"),
        ] {
            let f = preset.format();
            let p = FpaccParams {
                product: f,
                acc: f,
                chunk,
                pipeline,
                ..FpaccParams::default()
            };
            let _ = writeln!(stderr, "[density] {}{with}", p.module_name());
            rows.push(DensityRow {
                label: format!("{label}{with}"),
                macs_per_cycle: 1.0,
                report: flow_up5k_or_hx8k_dsp(&p, dsp, stderr)?,
            });
        }
    }
    let mut table = render_density(&rows);
    table += "\nEvery unit takes one signed 8x8 product per cycle. fpacc rounds the product \
              into the accumulator format (Q_prod) and adds it (Q_acc) in one cycle, RNE, no \
              subnormals; with chunks a second adder folds each chunk into the outer sum; \
              pipeline 1 registers the rounded product. LUTs, carries, FFs, DSPs: the unit \
              alone (Yosys 0.23 synth_ice40, with -dsp on the DSP rows); LCs and Fmax: inside \
              the 4-pin wrapper after nextpnr-ice40, seed 1. \"vs int8 MAC\" compares with \
              the first row.\n";
    emit_table(&table, output, stdout)
}

/// The density table's Markdown rows; "vs int8 MAC" compares with the first row.
fn render_density(rows: &[DensityRow]) -> String {
    let base = &rows[0];
    let base_per_lut = base.macs_per_cycle / base.report.unit.luts.max(1) as f64;
    let base_per_lut_s = base_per_lut * base.report.fmax_mhz;
    let mut table = String::from(
        "| design | module | device | LUTs | carries | FFs | DSPs | LCs | Fmax MHz | MAC/cycle \
         | MAC/cycle per 1k LUTs | vs int8 MAC | GMAC/s | vs int8 MAC (MAC/s per LUT) |\n\
         | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows {
        let luts = r.report.unit.luts.max(1) as f64;
        let per_lut = r.macs_per_cycle / luts;
        let gmacs = r.macs_per_cycle * r.report.fmax_mhz / 1000.0;
        table += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2}x | {:.3} | {:.2}x |\n",
            r.label,
            r.report.design,
            r.report.device.name(),
            r.report.unit.luts,
            r.report.unit.carries,
            r.report.unit.ffs,
            r.report.unit.dsps,
            r.report.logic_cells.0,
            r.report.fmax_mhz,
            r.macs_per_cycle,
            1000.0 * per_lut,
            per_lut / base_per_lut,
            gmacs,
            per_lut * r.report.fmax_mhz / base_per_lut_s,
        );
    }
    table
}
