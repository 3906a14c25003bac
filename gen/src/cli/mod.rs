//! Command-line interface of `gen`: parsing and dispatch, nothing else.
//!
//! The unit subcommands (`gen <unit>`, `gen synth <unit>`, `gen prove <unit>`) are built
//! from the registry ([`crate::registry::each_unit`]), each from the unit's own
//! parameter type; the other commands are [`args::Tool`]. `gen [FLAGS]` with no
//! subcommand builds the default unit, the integer MAC, so that `gen --acc 12` and
//! `gen mac --acc 12` are the same design.
//!
//! Exit codes: 0 success, 2 bad command line or parameters (one `error:` line naming the
//! flag and its allowed range, nothing on stdout, no file written), 1 any other failure.

pub mod args;
pub mod params;

use std::ffi::OsString;
use std::io::Write;

use clap::{ArgMatches, Args, Command, FromArgMatches, Subcommand};

use crate::commands::{density, emit, list, prove, synth as synth_cmd, tables};
use crate::error::Failure;
use crate::registry::{each_unit, visit_named, DefaultUnit, Registered, Visit};
use crate::synth::SynthArgs;
use args::{CopiesArgs, Family, OutputArgs, PipelineArgs, ProveArgs, Tool};

const ABOUT: &str = "Generate lint-clean Verilog for low-precision DNN arithmetic units, with a \
bit-exact reference model, a behavioural reference and a formal proof behind every design.";

const AFTER_HELP: &str = "With no subcommand, gen builds the integer MAC: `gen --acc 12 > mac.v` \
writes an 8x8 signed multiply-accumulate with a 12-bit saturating accumulator.\n\
`gen list` names every unit; `gen <UNIT> --help` shows a unit's flags, examples and docs page.";

const SYNTH_EXAMPLES: &str = "\
Examples:
  gen synth --acc 32 --dsp
      the MAC, 32-bit accumulator, product in an SB_MAC16 on the UP5K (`make fpga-tools` first)
  gen synth --tools debian --json mac.json
      the default MAC with Debian's Yosys and nextpnr, the report also as JSON
  gen synth fpacc --preset bf16 --device ecp5-25k
      a bfloat16 accumulator on the ECP5-25k (about 30 s)
  gen synth mac --in 4 --acc 18 --copies 8
      eight 4-bit MACs side by side in one design (`mac_..._x8`), control shared

Devices, tool builds, the wrapper and the measured tables: docs/fpga.md";

const PROVE_EXAMPLES: &str = "\
Examples:
  gen prove mac --acc 12
      the default MAC, proven by equiv_induct in about a second
  gen prove fpacc --preset bf16 --engine pdr
      the bfloat16 accumulator by PDR alone (about 30 s)
  gen prove bfp-dot --block 8 --mant 4 --equiv-limit 120 --pdr-limit 120
      an 8-element HBFP4 dot product, each engine capped at 2 minutes (slow: about 75 s)

The engines, the miter and the table of proofs: docs/verification.md";

/// The whole command line of `gen`, as clap sees it (also used to render help).
pub fn command() -> Command {
    let mut cmd = emit_args(params::augment::<DefaultUnit>(Command::new("gen")));
    cmd = cmd.subcommands(unit_commands("", emit_args));
    cmd = cmd.subcommand(
        synth_args(params::augment::<DefaultUnit>(Command::new("synth")))
            .about(
                "Synthesize a unit for an FPGA inside a 4-pin register wrapper and report \
                     LUTs, carries, flip-flops, DSPs and post-route Fmax",
            )
            .long_about(
                "Synthesize a unit for an iCE40 or ECP5 (Yosys, nextpnr) inside a 4-pin \
                     register wrapper and report LUTs, carries, flip-flops, DSPs and post-route \
                     Fmax. With MAC flags and no unit, the MAC (`gen synth --acc 32 --dsp`).",
            )
            .after_help(SYNTH_EXAMPLES)
            .args_conflicts_with_subcommands(true)
            .subcommand_value_name("UNIT")
            .subcommands(unit_commands("synth ", synth_args)),
    );
    cmd = cmd.subcommand(
        Command::new("prove")
            .about("Prove a unit's generated RTL equal to its behavioural reference (`--golden`)")
            .long_about(
                "Prove a unit's generated RTL equal to its behavioural reference (`--golden`): \
                 Yosys's equivalence flow (equiv_make, equiv_simple, equiv_induct, equiv_status) \
                 and ABC's PDR on a reset-forcing miter, side by side; when neither decides, a \
                 bounded check from reset with a stated depth.",
            )
            .after_help(PROVE_EXAMPLES)
            .subcommand_required(true)
            .subcommand_value_name("UNIT")
            .subcommands(unit_commands("prove ", prove_args)),
    );
    Tool::augment_subcommands(cmd)
        .version(env!("CARGO_PKG_VERSION"))
        .about(ABOUT)
        .long_about(None)
        .after_help(AFTER_HELP)
        .args_conflicts_with_subcommands(true)
        .subcommand_value_name("UNIT|COMMAND")
        .max_term_width(100)
}

/// What `gen <unit>` takes besides the unit's parameters.
fn emit_args(c: Command) -> Command {
    OutputArgs::augment_args(PipelineArgs::augment_args(c))
}

/// What `gen synth <unit>` takes besides the unit's parameters.
fn synth_args(c: Command) -> Command {
    CopiesArgs::augment_args(SynthArgs::augment_args(PipelineArgs::augment_args(c)))
}

/// What `gen prove <unit>` takes besides the unit's parameters.
fn prove_args(c: Command) -> Command {
    ProveArgs::augment_args(PipelineArgs::augment_args(c))
}

/// One subcommand per registered unit: its parameters, then `with`'s options; the
/// examples in its help start with `gen <prefix>`.
fn unit_commands(prefix: &'static str, with: fn(Command) -> Command) -> Vec<Command> {
    struct Build {
        prefix: &'static str,
        with: fn(Command) -> Command,
        out: Vec<Command>,
    }
    impl Visit for Build {
        fn visit<U: Registered>(&mut self) {
            self.out.push(unit_command::<U>(self.prefix, self.with));
        }
    }
    let mut b = Build {
        prefix,
        with,
        out: Vec::new(),
    };
    each_unit(&mut b);
    b.out
}

/// A unit's subcommand: its flags, then `with`'s, summary, the paragraph about it,
/// examples and docs page.
fn unit_command<U: Registered>(prefix: &str, with: fn(Command) -> Command) -> Command {
    let mut examples = String::from("Examples:\n");
    for (args, builds) in U::EXAMPLES {
        examples += &format!("  gen {prefix}{} {args}\n      {builds}\n", U::COMMAND);
    }
    examples += &format!("\nThe unit's arithmetic contract: {}", U::DOCS);
    let mut cmd = with(params::augment::<U>(Command::new(U::COMMAND)))
        .about(U::SUMMARY)
        .long_about(format!("{}.\n\n{}", U::SUMMARY, U::ABOUT))
        .after_help(examples);
    if U::KIND != U::COMMAND {
        cmd = cmd.alias(U::KIND);
    }
    cmd
}

/// Run `gen` with `args` (including the program name); returns the exit code.
pub fn run<I, T>(args: I, stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let result = command()
        .try_get_matches_from(&args)
        .map_err(Exit::Clap)
        .and_then(|m| dispatch(&m, &emit::command_line(&args), stdout, stderr));
    match result {
        Ok(()) => 0,
        Err(Exit::Clap(e)) => {
            let text = e.render().to_string();
            let _ = if e.use_stderr() {
                write!(stderr, "{text}")
            } else {
                write!(stdout, "{text}")
            };
            e.exit_code()
        }
        Err(Exit::Failed(f)) if f.is_quiet() => 0,
        Err(Exit::Failed(f)) => {
            let _ = writeln!(stderr, "error: {}", f.message);
            f.code
        }
    }
}

/// How a run ends early: a clap error (usage, help, version) or a command's failure.
enum Exit {
    Clap(clap::Error),
    Failed(Failure),
}

impl From<Failure> for Exit {
    fn from(f: Failure) -> Exit {
        Exit::Failed(f)
    }
}

/// Parse `T` from `m`, as a clap error.
fn parse<T: FromArgMatches>(m: &ArgMatches) -> Result<T, Exit> {
    T::from_arg_matches(m).map_err(Exit::Clap)
}

fn dispatch(
    m: &ArgMatches,
    command_line: &str,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Exit> {
    match m.subcommand() {
        None => {
            let (p, out) = (params::parse::<DefaultUnit>(m)?, parse::<OutputArgs>(m)?);
            let depth = parse::<PipelineArgs>(m)?.pipeline;
            let built = emit::build(p, depth, out.freq, out.device)?;
            Ok(emit::emit_unit(
                &built,
                &out.outputs(),
                command_line,
                stdout,
            )?)
        }
        Some(("synth", sub)) => match sub.subcommand() {
            None => {
                let (p, args) = (params::parse::<DefaultUnit>(sub)?, parse::<SynthArgs>(sub)?);
                let depth = parse::<PipelineArgs>(sub)?.pipeline;
                let copies = parse::<CopiesArgs>(sub)?.copies as u32;
                Ok(synth(p, depth, &args, copies, stdout, stderr)?)
            }
            Some((name, unit)) => on_unit(name, unit, Action::Synth, command_line, stdout, stderr),
        },
        Some(("prove", sub)) => match sub.subcommand() {
            Some((name, unit)) => on_unit(name, unit, Action::Prove, command_line, stdout, stderr),
            None => unreachable!("clap requires a unit after `prove`"),
        },
        Some((name, _)) if Tool::has_subcommand(name) => tool(parse::<Tool>(m)?, stdout, stderr),
        Some((name, unit)) => on_unit(name, unit, Action::Emit, command_line, stdout, stderr),
    }
}

/// What to do with a unit's parameters.
#[derive(Clone, Copy)]
enum Action {
    Emit,
    Synth,
    Prove,
}

/// Parse the parameters of the unit named `name` from `m` and run `action` on them.
fn on_unit(
    name: &str,
    m: &ArgMatches,
    action: Action,
    command_line: &str,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Exit> {
    struct Run<'a> {
        m: &'a ArgMatches,
        action: Action,
        command_line: &'a str,
        stdout: &'a mut dyn Write,
        stderr: &'a mut dyn Write,
        result: Result<(), Exit>,
    }
    impl Run<'_> {
        fn run<U: Registered>(&mut self) -> Result<(), Exit> {
            let p = params::parse::<U>(self.m)?;
            let depth = parse::<PipelineArgs>(self.m)?.pipeline;
            match self.action {
                Action::Emit => {
                    let out = parse::<OutputArgs>(self.m)?;
                    let built = emit::build(p, depth, out.freq, out.device)?;
                    emit::emit_unit(&built, &out.outputs(), self.command_line, self.stdout)?
                }
                Action::Synth => {
                    let args = parse::<SynthArgs>(self.m)?;
                    let copies = parse::<CopiesArgs>(self.m)?.copies as u32;
                    synth(p, depth, &args, copies, self.stdout, self.stderr)?
                }
                Action::Prove => {
                    let args = parse::<ProveArgs>(self.m)?;
                    if depth == Some(args::Depth::Auto) {
                        return Err(Failure::usage(
                            "'--pipeline auto' needs '--freq <MHZ>', which `gen prove` does not \
                             take: give a depth",
                        )
                        .into());
                    }
                    let built = emit::build(p, depth, None, crate::synth::Device::Up5k)?;
                    prove::prove_unit(
                        &built.params,
                        args.out,
                        &args.engines.options(),
                        self.stdout,
                    )?
                }
            }
            Ok(())
        }
    }
    impl Visit for Run<'_> {
        fn visit<U: Registered>(&mut self) {
            self.result = self.run::<U>();
        }
    }
    let mut r = Run {
        m,
        action,
        command_line,
        stdout,
        stderr,
        result: Ok(()),
    };
    let found = visit_named(name, &mut r);
    assert!(
        found,
        "clap accepted `{name}`, which the registry does not know"
    );
    r.result
}

/// `gen synth` on a unit: the hand-written MAC with `--reference`, else the unit at the
/// depth asked for (or the one `--freq` needs).
fn synth<U: Registered>(
    p: U,
    depth: Option<args::Depth>,
    args: &SynthArgs,
    copies: u32,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    if args.reference {
        if copies != 1 {
            return Err(Failure::usage(
                "'--reference' is one hand-written MAC: drop '--copies'",
            ));
        }
        let Some(mac) = (&p as &dyn std::any::Any).downcast_ref::<model::mac::MacParams>() else {
            return Err(Failure::usage(
                "'--reference' exists only for the MAC (the hand-written tests/ref/mac_ref.v)",
            ));
        };
        if depth.is_some() || args.freq.is_some() {
            return Err(Failure::usage(
                "'--reference' is the hand-written MAC without pipeline: drop '--pipeline' \
                 and '--freq'",
            ));
        }
        return synth_cmd::synth_reference(mac, args, stdout, stderr);
    }
    let auto = depth == Some(args::Depth::Auto) || (depth.is_none() && args.freq.is_some());
    let built = emit::build(p, depth, args.freq, args.device)?;
    synth_cmd::synth_built(built, auto, args, copies, stdout, stderr)
}

/// The commands that are not a unit.
fn tool(t: Tool, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<(), Exit> {
    let result = match t {
        Tool::Doctor { tools } => match crate::doctor::run(tools.tools_dir.as_deref(), stdout) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Failure::other("some tools are missing (see above)")),
            Err(e) if e.exit_code() == 0 => Err(Failure::broken_pipe()),
            Err(e) => Err(Failure {
                code: e.exit_code(),
                message: e.to_string(),
            }),
        },
        Tool::List { json, markdown } => list::list(json, markdown, stdout),
        Tool::SynthTable { output } => tables::synth_table(output.as_deref(), stdout, stderr),
        Tool::FlowTable { output } => tables::flow_table(output.as_deref(), stdout, stderr),
        Tool::FreqTable { output } => tables::freq_table(output.as_deref(), stdout, stderr),
        Tool::ProveAll {
            output,
            engines,
            jobs,
            quick,
        } => prove::prove_all(
            output.as_deref(),
            &engines.options(),
            jobs as usize,
            quick,
            stdout,
            stderr,
        ),
        Tool::Accwidth { args } => crate::accwidth::run(&args, stdout).map_err(|e| Failure {
            code: e.exit_code(),
            message: e.0,
        }),
        Tool::AccError { args } => crate::accerror::run(&args, stdout).map_err(|e| Failure {
            code: e.exit_code(),
            message: e.0,
        }),
        Tool::Fit { args } => crate::fit::run(&args, stdout, stderr).map_err(|e| Failure {
            code: e.exit_code(),
            message: e.0,
        }),
        Tool::RangebnError { args } => {
            crate::rangebnerror::run(&args, stdout).map_err(|e| Failure {
                code: e.exit_code(),
                message: e.0,
            })
        }
        Tool::MxError { args } => crate::mxerror::run(&args, stdout, stderr).map_err(|e| Failure {
            code: e.exit_code(),
            message: e.0,
        }),
        Tool::Sweep { args } => crate::sweep::run(&args, stdout, stderr),
        Tool::Density {
            family,
            output,
            quick,
        } => match family {
            Family::Bfp => density::density_table(output.as_deref(), quick, stdout, stderr),
            Family::Lns => density::lns_density_table(output.as_deref(), stdout, stderr),
            Family::Fpacc => density::fpacc_density_table(output.as_deref(), stdout, stderr),
            Family::Mx => density::mx_density_table(output.as_deref(), stdout, stderr),
            Family::Palq => density::palq_density_table(output.as_deref(), stdout, stderr),
        },
    };
    Ok(result?)
}
