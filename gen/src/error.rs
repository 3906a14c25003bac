//! How a command fails: a message and the exit code it gives (2 for bad input, 1 for
//! any other failure). Every layer of `gen` returns [`Failure`]; only `cli` prints it.

use std::path::Path;

use crate::synth::SynthError;

/// A failure with the exit code it should give.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    /// Bad input: exit code 2.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }

    /// Any other failure: exit code 1.
    pub fn other(message: impl Into<String>) -> Failure {
        Failure {
            code: 1,
            message: message.into(),
        }
    }

    /// A file that could not be written.
    pub fn io(what: &Path, e: std::io::Error) -> Failure {
        Failure::other(format!("cannot write {}: {e}", what.display()))
    }
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

/// A write to stdout or stderr failed.
impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::other(e.to_string())
    }
}
