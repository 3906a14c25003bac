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

impl Failure {
    /// A reader closed stdout early (`gen ... | head`): end quietly with success, as
    /// command-line tools do; nothing else was lost.
    pub fn broken_pipe() -> Failure {
        Failure {
            code: 0,
            message: String::new(),
        }
    }

    /// Whether this is a quiet end ([`Failure::broken_pipe`]).
    pub fn is_quiet(&self) -> bool {
        self.code == 0 && self.message.is_empty()
    }
}

/// A write to stdout failed.
impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        if crate::output::is_broken_pipe(&e) {
            Failure::broken_pipe()
        } else {
            Failure::other(e.to_string())
        }
    }
}

/// Writing the outputs failed: a bad path (exit 2), an I/O error (exit 1) or a closed
/// stdout (quiet).
impl From<crate::output::OutputError> for Failure {
    fn from(e: crate::output::OutputError) -> Failure {
        if e.is_broken_pipe() {
            Failure::broken_pipe()
        } else {
            Failure {
                code: e.exit_code(),
                message: e.to_string(),
            }
        }
    }
}
