//! The `lowbit` Python package's Rust half: the bit-exact models of `model` over whole
//! arrays, and `gen`'s unit registry for `generate`, `simulate` and `units`.
//!
//! Everything here is plain Rust over slices (so the workspace builds and tests it with
//! no Python); the `python` feature (turned on by maturin, `pyproject.toml`) adds the
//! PyO3 module in [`py`] that moves NumPy arrays in and out and turns every [`Error`]
//! into a Python `ValueError`.
//!
//! Parameters are the units' own flags: a keyword `exp_bits=10` is the flag `--exp-bits
//! 10`, read by the unit's [`model::Params::from_flags`] and checked by its
//! [`model::UnitParams::validate`], so ranges, defaults and error texts are the ones the
//! command line has. A trailing underscore is dropped (`in_=8` is `--in 8`, `in` being
//! a Python keyword).
//!
//! Why `gen` is a dependency: `generate` must return exactly what `gen <unit>` writes
//! (the Verilog with its header, and the metadata JSON with `timing` when pipelined).
//! Those come from `gen::commands::emit::{build, metadata_json_with}` and the unit list
//! from `gen::registry::each_unit`; `gen` is already a library for such callers (its
//! `Outputs` type says "filled by the command line or by a library caller"), and its
//! dependencies are pure Rust. Moving the registry into `hdl` instead would change
//! `gen/src/registry.rs` under the other work on `gen`, for no gain in what the wheel
//! contains.

pub mod ops;
pub mod units;

#[cfg(feature = "python")]
mod py;

use model::param::{Given, Kind};
use model::{ParamError, Params, UnitParams};

/// A failure the caller can fix: a parameter out of range, or arrays that do not fit.
#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    /// A unit parameter outside its allowed values (the model's own check).
    Param(ParamError),
    /// Anything else about the arguments (shapes, operand ranges, unknown names).
    Value(String),
}

impl From<ParamError> for Error {
    fn from(e: ParamError) -> Error {
        Error::Param(e)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Param(e) => write!(
                f,
                "invalid value '{}' for '{}' ({}): allowed {}",
                e.value,
                py_name(e.param),
                e.param,
                e.allowed
            ),
            Error::Value(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for Error {}

/// The Python keyword of a flag: `--exp-bits` is `exp_bits`.
pub fn py_name(flag: &str) -> String {
    flag.trim_start_matches('-').replace('-', "_")
}

/// A keyword argument's value as Python gave it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `True` / `False`: a switch.
    Bool(bool),
    /// A number or a string, as the command line would carry it.
    Text(String),
}

/// Keyword arguments, in the order given.
pub type Kwargs = Vec<(String, Value)>;

/// Turn keyword arguments into the flags of unit `P`: every name must be one of its flags
/// (with `_` for `-`, a trailing `_` dropped), switches take booleans.
pub fn flags_of<P: Params>(kw: &Kwargs) -> Result<Given, Error> {
    let mut given = Given::default();
    for (key, value) in kw {
        let name = key.trim_end_matches('_').replace('_', "-");
        let Some(param) = P::PARAMS.iter().find(|p| p.name() == name) else {
            let known: Vec<String> = P::PARAMS.iter().map(|p| py_name(p.long)).collect();
            return Err(Error::Value(format!(
                "unknown parameter '{key}': allowed {}",
                known.join(", ")
            )));
        };
        match (param.kind, value) {
            (Kind::Switch, Value::Bool(true)) => given.0.push((name, String::new())),
            (Kind::Switch, Value::Bool(false)) => {}
            (Kind::Switch, Value::Text(t)) => {
                return Err(Error::Param(param.error_because(t, "True or False")))
            }
            (_, Value::Bool(b)) => return Err(Error::Param(param.error(b))),
            (_, Value::Text(t)) => given.0.push((name, t.clone())),
        }
    }
    for (a, b) in P::CONFLICTS {
        if given.0.iter().any(|(f, _)| f == a.name()) && given.0.iter().any(|(f, _)| f == b.name())
        {
            return Err(Error::Value(format!(
                "'{}' and '{}' cannot be given together",
                py_name(a.long),
                py_name(b.long)
            )));
        }
    }
    Ok(given)
}

/// The parameters of unit `P` the keywords describe, validated.
pub fn params_of<P: Params + UnitParams>(kw: &Kwargs) -> Result<P, Error> {
    let p = P::from_flags(&flags_of::<P>(kw)?)?;
    p.validate()?;
    Ok(p)
}

/// The `gen` command line the keywords stand for, e.g. `gen mac --acc 12 --unsigned`.
pub fn command_line(command: &str, kw: &Kwargs, pipeline: u32) -> String {
    let mut words = vec!["gen".to_string(), command.to_string()];
    for (key, value) in kw {
        let flag = format!("--{}", key.trim_end_matches('_').replace('_', "-"));
        match value {
            Value::Bool(true) => words.push(flag),
            Value::Bool(false) => {}
            Value::Text(t) => {
                words.push(flag);
                let plain = !t.is_empty()
                    && t.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_=.,/:+".contains(c));
                words.push(if plain {
                    t.clone()
                } else {
                    format!("'{}'", t.replace('\'', r"'\''"))
                });
            }
        }
    }
    if pipeline > 0 {
        words.push(format!("--pipeline {pipeline}"));
    }
    words.join(" ")
}
