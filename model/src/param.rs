//! Unit parameters, declared once.
//!
//! Each flag of a unit is one [`Param`] constant beside the unit's parameter type: its
//! flag, value name, help text, range or choices and default. Everything else reads it:
//! `gen` builds its command line from [`Params::PARAMS`] (so a flag's range, default
//! and help are shown and checked as declared here), `validate` checks ranges with
//! [`Param::check`], the samplers draw from [`Param::range`], and the docs quote it.
//! The model stays free of command-line libraries: a unit reads its flags through the
//! small [`Flags`] trait, which `gen` implements over its parser.

use std::ops::RangeInclusive;

use crate::unit::{ParamError, Sampler, UnitParams};

/// One flag of a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    /// The long flag, e.g. `--acc`.
    pub long: &'static str,
    /// The value's name in help, e.g. `BITS`; empty for a switch.
    pub value_name: &'static str,
    /// What the flag means, one sentence (the range and default are added from `kind`).
    pub help: &'static str,
    pub kind: Kind,
}

/// What values a flag takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An integer in `min..=max`, with a default, or `None` where the default is derived
    /// from other flags (the help says how).
    Int {
        min: i64,
        max: i64,
        default: Option<i64>,
    },
    /// One of `choices` (name, meaning), `default` among them.
    Choice {
        choices: &'static [(&'static str, &'static str)],
        default: &'static str,
    },
    /// A switch, off unless given.
    Switch,
    /// Text the unit parses itself (a list, a decimal), with its default as typed and
    /// sample values for the samplers.
    Text {
        default: Option<&'static str>,
        samples: &'static [&'static str],
    },
}

impl Param {
    /// An integer flag.
    pub const fn int(
        long: &'static str,
        value_name: &'static str,
        range: RangeInclusive<i64>,
        default: Option<i64>,
        help: &'static str,
    ) -> Param {
        Param {
            long,
            value_name,
            help,
            kind: Kind::Int {
                min: *range.start(),
                max: *range.end(),
                default,
            },
        }
    }

    /// A flag taking one of `choices`.
    pub const fn choice(
        long: &'static str,
        value_name: &'static str,
        choices: &'static [(&'static str, &'static str)],
        default: &'static str,
        help: &'static str,
    ) -> Param {
        Param {
            long,
            value_name,
            help,
            kind: Kind::Choice { choices, default },
        }
    }

    /// A switch.
    pub const fn switch(long: &'static str, help: &'static str) -> Param {
        Param {
            long,
            value_name: "",
            help,
            kind: Kind::Switch,
        }
    }

    /// A flag whose text the unit parses.
    pub const fn text(
        long: &'static str,
        value_name: &'static str,
        default: Option<&'static str>,
        help: &'static str,
    ) -> Param {
        Param {
            long,
            value_name,
            help,
            kind: Kind::Text {
                default,
                samples: &[],
            },
        }
    }

    /// A text flag with sample values for the samplers (e.g. lists that parse).
    pub const fn samples(self, samples: &'static [&'static str]) -> Param {
        match self.kind {
            Kind::Text { default, .. } => Param {
                kind: Kind::Text { default, samples },
                ..self
            },
            _ => panic!("only text flags take samples"),
        }
    }

    /// The range of an integer flag whose values are all unsigned 32-bit.
    pub const fn range(&self) -> RangeInclusive<u32> {
        match self.kind {
            Kind::Int { min, max, .. } => {
                assert!(min >= 0 && max <= u32::MAX as i64, "not a u32 range");
                min as u32..=max as u32
            }
            _ => panic!("not an integer flag"),
        }
    }

    /// The range of an integer flag whose values are all signed 32-bit.
    pub const fn range_i32(&self) -> RangeInclusive<i32> {
        match self.kind {
            Kind::Int { min, max, .. } => {
                assert!(
                    min >= i32::MIN as i64 && max <= i32::MAX as i64,
                    "not an i32 range"
                );
                min as i32..=max as i32
            }
            _ => panic!("not an integer flag"),
        }
    }

    /// The default of an integer flag (which must have one), as u32.
    pub const fn default_u32(&self) -> u32 {
        match self.kind {
            Kind::Int {
                default: Some(d), ..
            } => {
                assert!(d >= 0 && d <= u32::MAX as i64, "not a u32 default");
                d as u32
            }
            _ => panic!("not an integer flag with a default"),
        }
    }

    /// The flag without its dashes, e.g. `acc`: the key [`Flags`] is asked for.
    pub fn name(&self) -> &'static str {
        self.long.trim_start_matches('-')
    }

    /// The allowed values, as error messages and help show them, e.g. `2..=64`.
    pub fn allowed(&self) -> String {
        match self.kind {
            Kind::Int { min, max, .. } => format!("{min}..={max}"),
            Kind::Choice { choices, .. } => {
                let names: Vec<&str> = choices.iter().map(|c| c.0).collect();
                names.join(", ")
            }
            Kind::Switch => "on or off".into(),
            Kind::Text { .. } => self.value_name.into(),
        }
    }

    /// The error for `value` of this flag, allowed values as declared.
    pub fn error(&self, value: impl ToString) -> ParamError {
        self.error_because(value, self.allowed())
    }

    /// The error for `value` of this flag with another account of what is allowed.
    pub fn error_because(&self, value: impl ToString, allowed: impl Into<String>) -> ParamError {
        ParamError {
            param: self.long,
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }

    /// Check an integer value against the declared range.
    pub fn check(&self, value: impl Into<i64>) -> Result<(), ParamError> {
        let v = value.into();
        match self.kind {
            Kind::Int { min, max, .. } if (min..=max).contains(&v) => Ok(()),
            _ => Err(self.error(v)),
        }
    }

    /// This integer flag's value: given, else the default; checked against the range.
    pub fn int_value(&self, flags: &dyn Flags) -> Result<Option<i64>, ParamError> {
        let Kind::Int { default, .. } = self.kind else {
            panic!("{} is not an integer flag", self.long)
        };
        let Some(text) = flags.given(self.name()) else {
            return Ok(default);
        };
        let v: i64 = text
            .trim()
            .parse()
            .map_err(|_| self.error_because(&text, format!("an integer in {}", self.allowed())))?;
        self.check(v)?;
        Ok(Some(v))
    }

    /// The value of an unsigned integer flag that has a default.
    pub fn u32(&self, flags: &dyn Flags) -> Result<u32, ParamError> {
        Ok(self.opt_u32(flags)?.expect("a flag with a default"))
    }

    /// The value of an unsigned integer flag, `None` when neither given nor defaulted.
    pub fn opt_u32(&self, flags: &dyn Flags) -> Result<Option<u32>, ParamError> {
        Ok(self.int_value(flags)?.map(|v| v as u32))
    }

    /// The value of a signed integer flag that has a default.
    pub fn i32(&self, flags: &dyn Flags) -> Result<i32, ParamError> {
        Ok(self.opt_i32(flags)?.expect("a flag with a default"))
    }

    /// The value of a signed integer flag, `None` when neither given nor defaulted.
    pub fn opt_i32(&self, flags: &dyn Flags) -> Result<Option<i32>, ParamError> {
        Ok(self.int_value(flags)?.map(|v| v as i32))
    }

    /// The chosen name of a choice flag.
    pub fn choice_value(&self, flags: &dyn Flags) -> Result<&'static str, ParamError> {
        let Kind::Choice { choices, default } = self.kind else {
            panic!("{} is not a choice flag", self.long)
        };
        let Some(text) = flags.given(self.name()) else {
            return Ok(default);
        };
        choices
            .iter()
            .find(|c| c.0 == text)
            .map(|c| c.0)
            .ok_or_else(|| self.error(text))
    }

    /// Whether a switch is on.
    pub fn is_on(&self, flags: &dyn Flags) -> bool {
        flags.given(self.name()).is_some()
    }

    /// The text of a text flag: given, else the default.
    pub fn text_value(&self, flags: &dyn Flags) -> Option<String> {
        let Kind::Text { default, .. } = self.kind else {
            panic!("{} is not a text flag", self.long)
        };
        flags.given(self.name()).or(default.map(String::from))
    }

    /// Parse the text of a text flag with `parse`, naming the flag on failure.
    pub fn parse<T>(
        &self,
        flags: &dyn Flags,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ParamError> {
        self.text_value(flags)
            .map(|t| {
                parse(&t)
                    .map_err(|why| self.error_because(&t, format!("{} ({why})", self.value_name)))
            })
            .transpose()
    }
}

/// The flags given on a command line, as a unit reads them. `gen` implements it over
/// its parser; [`Given`] is a plain list for tests and library callers.
pub trait Flags {
    /// The text given for `flag` (without dashes), `Some("")` for a switch that is on,
    /// `None` when the flag was not given.
    fn given(&self, flag: &str) -> Option<String>;
}

/// Flags as a list of (flag, value) pairs.
#[derive(Clone, Debug, Default)]
pub struct Given(pub Vec<(String, String)>);

impl Given {
    /// Flags from `(flag, value)` pairs (a switch's value is ignored).
    pub fn of(flags: &[(&str, &str)]) -> Given {
        Given(
            flags
                .iter()
                .map(|(f, v)| (f.to_string(), v.to_string()))
                .collect(),
        )
    }
}

impl Flags for Given {
    fn given(&self, flag: &str) -> Option<String> {
        self.0
            .iter()
            .rev()
            .find(|(f, _)| f == flag)
            .map(|(_, v)| v.clone())
    }
}

/// A unit's parameter type as the command line builds it.
pub trait Params: Sized {
    /// Every flag, in the order help shows them.
    const PARAMS: &'static [Param];
    /// Pairs of flags that may not be given together.
    const CONFLICTS: &'static [(&'static Param, &'static Param)] = &[];

    /// The parameters the flags describe (defaults for flags not given); errors name
    /// the flag. Cross-flag rules are `validate`'s.
    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError>;
}

/// A random parameter set of `P` drawn from what its flags declare: every integer flag
/// anywhere in its range (optional ones given half the time, ones with a default three
/// times in four), every choice, switches on
/// or off, text flags from their samples; retried until `from_flags` and `validate`
/// accept it. Unlike a unit's own sampler, which keeps designs small enough to
/// co-simulate, this one reaches the corners of every declared range.
pub fn sample_declared<P: Params + UnitParams>(rng: &mut Sampler) -> P {
    for _ in 0..10_000 {
        let mut given = Given::default();
        for p in P::PARAMS {
            let conflicts = P::CONFLICTS.iter().any(|(a, b)| {
                let other = if a.long == p.long {
                    b
                } else if b.long == p.long {
                    a
                } else {
                    return false;
                };
                given.given(other.name()).is_some()
            });
            if conflicts {
                continue;
            }
            let value = match p.kind {
                Kind::Int { min, max, default } => {
                    // An optional flag is left out half the time, one with a default a
                    // quarter of the time (so a flag that only some modes accept, such
                    // as `--rnd-bits`, does not reject every other mode's draws).
                    if rng.one_in(if default.is_none() { 2 } else { 4 }) {
                        continue;
                    }
                    let span = (max - min) as u64 + 1;
                    Some((min + (rng.next_u64() % span) as i64).to_string())
                }
                Kind::Choice { choices, .. } => Some(rng.pick(choices).0.to_string()),
                Kind::Switch => rng.one_in(2).then(String::new),
                Kind::Text { samples, .. } => {
                    (!samples.is_empty() && rng.one_in(2)).then(|| rng.pick(samples).to_string())
                }
            };
            if let Some(v) = value {
                given.0.push((p.name().to_string(), v));
            }
        }
        if let Ok(p) = P::from_flags(&given) {
            if p.validate().is_ok() {
                return p;
            }
        }
    }
    panic!("no accepted {} parameter set in 10000 draws", P::KIND)
}
