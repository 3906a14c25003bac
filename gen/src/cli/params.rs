//! A unit's flags on the command line, built from its parameter declarations
//! ([`model::param`]): each [`Param`] becomes one clap argument with its range, choices,
//! default and help, and the parsed matches are handed back to the unit through
//! [`Flags`]. No unit declares a flag anywhere else.

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use model::param::{Flags, Kind, Param, Params};
use model::UnitParams;

use crate::error::Failure;

/// `cmd` with one argument per flag of `P`.
pub fn augment<P: Params>(mut cmd: Command) -> Command {
    for p in P::PARAMS {
        cmd = cmd.arg(arg(p));
    }
    for (a, b) in P::CONFLICTS {
        cmd = cmd.mut_arg(a.name(), |arg| arg.conflicts_with(b.name()));
    }
    cmd
}

/// The clap argument of one declared flag.
fn arg(p: &Param) -> Arg {
    let arg = Arg::new(p.name()).long(p.name());
    match p.kind {
        Kind::Int { min, max, default } => {
            let arg = arg
                .value_name(p.value_name)
                .help(with_range(p.help, min, max))
                .allow_negative_numbers(true)
                .value_parser(move |text: &str| crate::values::ranged(text, min, max));
            match default {
                Some(d) => arg.default_value(d.to_string()),
                None => arg,
            }
        }
        Kind::Choice { choices, default } => arg
            .value_name(p.value_name)
            .help(p.help)
            .value_parser(PossibleValuesParser::new(
                choices
                    .iter()
                    .map(|(name, help)| PossibleValue::new(*name).help(*help)),
            ))
            .default_value(default),
        Kind::Switch => arg.help(p.help).action(ArgAction::SetTrue),
        Kind::Text { default, .. } => {
            let arg = arg
                .value_name(p.value_name)
                .help(p.help)
                .allow_hyphen_values(true);
            match default {
                Some(d) => arg.default_value(d),
                None => arg,
            }
        }
    }
}

/// The flags of one parsed command line, as the unit reads them: only what the user
/// typed (the unit applies its own defaults, the same ones clap shows).
struct Matched<'a>(&'a ArgMatches);

impl Flags for Matched<'_> {
    fn given(&self, flag: &str) -> Option<String> {
        if self.0.value_source(flag) != Some(ValueSource::CommandLine) {
            return None;
        }
        let raw = self.0.get_raw(flag)?.next()?;
        Some(raw.to_string_lossy().into_owned())
    }
}

/// The parameters the command line gives `P`, validated. An error names the flag and
/// its allowed values; when the offending value is a default the user did not type,
/// it says so and which flag to set.
pub fn parse<P: Params + UnitParams>(m: &ArgMatches) -> Result<P, Failure> {
    let p = P::from_flags(&Matched(m)).map_err(|e| Failure::usage(e.to_string()))?;
    p.validate().map_err(|e| {
        let name = e.param.trim_start_matches('-');
        let typed = m.try_contains_id(name).unwrap_or(false)
            && m.value_source(name) == Some(ValueSource::CommandLine);
        let declared = P::PARAMS.iter().any(|q| q.name() == name);
        if declared && !typed {
            Failure::usage(format!(
                "{e} ({} is the default, not given: set {} to change it)",
                e.value, e.param
            ))
        } else {
            Failure::usage(e.to_string())
        }
    })?;
    Ok(p)
}

/// `help` with the range added: before a trailing `[default: ...]` note, else at the end.
fn with_range(help: &str, min: i64, max: i64) -> String {
    match help.find(" [default:") {
        Some(i) => format!("{}, {min}..={max}{}", &help[..i], &help[i..]),
        None => format!("{help}, {min}..={max}"),
    }
}
