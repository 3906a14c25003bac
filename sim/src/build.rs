//! Building Verilated models into shared libraries, with a content-addressed cache.
//!
//! Verilator's runtime (`verilated.cpp` and friends) is compiled once per Verilator
//! version into `runtime-<hash>/libverilated.a`, and its headers are precompiled once per
//! Verilator and g++ version into `pch-<hash>/`. Each design is then Verilated and compiled
//! with its glue into `<top>-<hash>/model.so`, where the hash covers the sources, the top,
//! the glue, the g++ optimisation level ([`Optimize`]), the Verilator version and the
//! harness version: a repeated test run loads the cached library without running
//! Verilator or the compiler. Builds happen in a private temporary folder that is renamed
//! into place, so parallel builds never see half a build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::SimError;

/// Bumped whenever the glue or the build recipe changes meaning.
const HARNESS_VERSION: &str = "lowbit-sim-4";

/// How hard g++ optimises a Verilated model: build time against beats per second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Optimize {
    /// `-O1`, the default: most models in a test run a few hundred beats, and on the
    /// test suite's own models g++ took 30% less time than at `-O2` (16 designs: 15.8 s
    /// against 22.7 s). The exhaustive 8x8 MAC check (16.7 M beats) ran as fast (60.7 s
    /// against 59.0 s, one thread).
    #[default]
    Build,
    /// `-O2`: for long runs and the benchmark; 10 to 20% more beats per second on the
    /// default MAC's RTL than `-O1`.
    Run,
}

impl Optimize {
    fn flag(self) -> &'static str {
        match self {
            Optimize::Build => "-O1",
            Optimize::Run => "-O2",
        }
    }
}

/// How to install what the harness needs.
pub const INSTALL_HINT: &str =
    "run `make tools`, or `sudo apt-get install verilator g++` (Debian's Verilator 5.006 is what CI uses)";

/// Defines Verilator's own makefiles pass when compiling generated code with VCD tracing.
const DEFINES: &[&str] = &[
    "-DVM_COVERAGE=0",
    "-DVM_SC=0",
    "-DVM_TRACE=1",
    "-DVM_TRACE_FST=0",
    "-DVM_TRACE_VCD=1",
];

/// Full path of `tool` on the PATH, or an error saying how to install it.
pub fn require_tool(tool: &str) -> Result<PathBuf, SimError> {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(tool))
                .find(|f| f.is_file())
        })
        .ok_or_else(|| SimError::ToolMissing {
            tool: tool.to_string(),
            hint: INSTALL_HINT.to_string(),
        })
}

/// `verilator --version`, e.g. `Verilator 5.006 2023-01-22 rev (Debian 5.006-3)`.
pub fn verilator_version() -> Result<String, SimError> {
    static VERSION: OnceLock<Result<String, SimError>> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            require_tool("verilator")?;
            let out = run(
                Command::new("verilator").arg("--version"),
                "verilator --version",
            )?;
            Ok(out.trim().to_string())
        })
        .clone()
}

/// Verilator's include folder, from `verilator --getenv VERILATOR_ROOT`.
fn verilator_include() -> Result<PathBuf, SimError> {
    let root = run(
        Command::new("verilator").args(["--getenv", "VERILATOR_ROOT"]),
        "verilator --getenv",
    )?;
    Ok(PathBuf::from(root.trim()).join("include"))
}

/// The folder [`set_cache_dir`] chose, if any.
static CACHE_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Put built models under `dir` for the rest of the process (a program that is not run
/// from the workspace, such as an installed `gen`, names its own folder). The first call
/// wins; false when another folder was set before.
pub fn set_cache_dir(dir: &Path) -> bool {
    CACHE_DIR.set(dir.to_path_buf()).is_ok() || CACHE_DIR.get().is_some_and(|d| d == dir)
}

/// Where built models live: the folder [`set_cache_dir`] set, `$LOWBIT_SIM_CACHE`, or
/// `target/sim-cache` in the workspace (tests and benchmarks).
pub fn cache_dir() -> PathBuf {
    if let Some(d) = CACHE_DIR.get() {
        return d.clone();
    }
    match std::env::var_os("LOWBIT_SIM_CACHE") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/sim-cache"),
    }
}

/// Run a command; its combined output on success, a build error with the log otherwise.
pub(crate) fn run(cmd: &mut Command, step: &str) -> Result<String, SimError> {
    let out = cmd.output().map_err(|e| SimError::Build {
        step: step.to_string(),
        log: e.to_string(),
    })?;
    let log =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(log)
    } else {
        Err(SimError::Build {
            step: step.to_string(),
            log,
        })
    }
}

fn io(step: &str, e: std::io::Error) -> SimError {
    SimError::Build {
        step: step.to_string(),
        log: e.to_string(),
    }
}

fn hex_digest(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize()
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Build `final_dir` with `make` (which fills a fresh temporary folder), unless it exists.
fn cached(
    final_dir: &Path,
    make: impl FnOnce(&Path) -> Result<(), SimError>,
) -> Result<(), SimError> {
    if final_dir.is_dir() {
        return Ok(());
    }
    let parent = final_dir.parent().expect("cache entries have a parent");
    std::fs::create_dir_all(parent).map_err(|e| io("create cache folder", e))?;
    let tmp = parent.join(format!(
        ".tmp-{}-{:?}-{}",
        std::process::id(),
        std::thread::current().id(),
        final_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("build")
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| io("create build folder", e))?;
    let result = make(&tmp);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
        return result;
    }
    // Another builder may have won the race; its result is as good as ours.
    if std::fs::rename(&tmp, final_dir).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
        if !final_dir.is_dir() {
            return Err(SimError::Build {
                step: "move build into the cache".into(),
                log: final_dir.display().to_string(),
            });
        }
    }
    Ok(())
}

fn cxx_flags(include: &Path, opt: Optimize) -> Vec<String> {
    let mut f: Vec<String> = vec![
        "-std=c++17".into(),
        opt.flag().into(),
        "-fPIC".into(),
        "-fvisibility=hidden".into(),
    ];
    f.push(format!("-I{}", include.display()));
    f.push(format!("-I{}", include.join("vltstd").display()));
    f.extend(DEFINES.iter().map(|d| d.to_string()));
    f
}

/// Verilator's runtime as a static archive, built once per Verilator version.
pub(crate) fn runtime_archive() -> Result<PathBuf, SimError> {
    require_tool("g++")?;
    require_tool("ar")?;
    let version = verilator_version()?;
    let include = verilator_include()?;
    let dir = cache_dir().join(format!(
        "runtime-{}",
        hex_digest(&[HARNESS_VERSION.as_bytes(), version.as_bytes()])
    ));
    cached(&dir, |tmp| {
        let units = [
            "verilated.cpp",
            "verilated_vcd_c.cpp",
            "verilated_threads.cpp",
        ];
        let mut objects = Vec::new();
        for u in units {
            let obj = tmp.join(u.replace(".cpp", ".o"));
            run(
                Command::new("g++")
                    .args(cxx_flags(&include, Optimize::Run))
                    .arg("-c")
                    .arg(include.join(u))
                    .arg("-o")
                    .arg(&obj),
                &format!("compile Verilator runtime {u}"),
            )?;
            objects.push(obj);
        }
        run(
            Command::new("ar")
                .arg("rcs")
                .arg(tmp.join("libverilated.a"))
                .args(&objects),
            "archive Verilator runtime",
        )?;
        Ok(())
    })?;
    Ok(dir.join("libverilated.a"))
}

/// The header every build includes first, precompiled beside it.
const PCH: &str = "lowbit_pch.h";

/// Verilator's headers precompiled once per Verilator and g++ version and [`Optimize`]
/// level into `pch-<hash>/lowbit_pch.h.gch`, with exactly the flags designs are compiled with:
/// parsing them is about 40% of compiling a small design (a 16-element block dot product:
/// 3.1 s instead of 5.3 s). `None`, with a note, if it cannot be built: designs then
/// compile without it.
fn precompiled_header(opt: Optimize) -> Option<PathBuf> {
    static PATHS: [OnceLock<Option<PathBuf>>; 2] = [OnceLock::new(), OnceLock::new()];
    PATHS[opt as usize].get_or_init(|| {
        let build = || -> Result<PathBuf, SimError> {
            let version = verilator_version()?;
            let gxx = run(Command::new("g++").arg("--version"), "g++ --version")?;
            let include = verilator_include()?;
            let dir = cache_dir().join(format!(
                "pch-{}",
                hex_digest(&[
                    HARNESS_VERSION.as_bytes(),
                    version.as_bytes(),
                    gxx.as_bytes(),
                    opt.flag().as_bytes()
                ])
            ));
            cached(&dir, |tmp| {
                let header = tmp.join(PCH);
                let text = "#include \"verilated.h\"\n#include \"verilated_vcd_c.h\"\n#include <cstdint>\n";
                std::fs::write(&header, text).map_err(|e| io("write header", e))?;
                run(
                    Command::new("g++")
                        .args(cxx_flags(&include, opt))
                        .args(["-pthread", "-x", "c++-header"])
                        .arg(&header)
                        .arg("-o")
                        .arg(tmp.join(format!("{PCH}.gch"))),
                    "precompile Verilator's headers",
                )?;
                Ok(())
            })?;
            Ok(dir.join(PCH))
        };
        build()
            .map_err(|e| eprintln!("note: compiling without precompiled headers: {e}"))
            .ok()
    })
    .clone()
}

/// What to link the Verilated design into.
pub(crate) enum Artifact<'a> {
    /// A shared library with the harness glue.
    Library { glue: &'a str },
    /// A stand-alone program (the benchmark's plain C++ loop).
    Program { main: &'a str },
}

/// Verilate `sources` for `top` (with `--trace` when `trace`) and compile them with the
/// glue or program at `opt`; returns the path of the cached `model.so` or `program`.
///
/// Tracing code is most of what Verilator emits for our designs: without it g++ took a
/// third to a half of the time (a 16-lane requantizer 4.6 s instead of 18.6 s, an
/// eight-way interleaved accumulator 2.2 s instead of 8.1 s), so models are built
/// without it and a traced twin is built only to write a failure's VCD.
pub(crate) fn build(
    sources: &[(&str, &str)],
    top: &str,
    artifact: Artifact,
    opt: Optimize,
    trace: bool,
) -> Result<PathBuf, SimError> {
    require_tool("verilator")?;
    let version = verilator_version()?;
    let archive = runtime_archive()?;
    let (cpp, out_name, kind) = match artifact {
        Artifact::Library { glue } => (glue, "model.so", "lib"),
        Artifact::Program { main } => (main, "program", "exe"),
    };
    let mut parts: Vec<&[u8]> = vec![
        HARNESS_VERSION.as_bytes(),
        version.as_bytes(),
        top.as_bytes(),
        cpp.as_bytes(),
        kind.as_bytes(),
        opt.flag().as_bytes(),
        if trace { b"trace" } else { b"notrace" },
    ];
    for (name, text) in sources {
        parts.push(name.as_bytes());
        parts.push(text.as_bytes());
    }
    let dir = cache_dir().join(format!(
        "{top}-{kind}{}-{}",
        if trace { "-trace" } else { "" },
        hex_digest(&parts)
    ));
    let include = verilator_include()?;
    cached(&dir, |tmp| {
        let pch = precompiled_header(opt);
        let src_dir = tmp.join("src");
        std::fs::create_dir_all(&src_dir).map_err(|e| io("write sources", e))?;
        let mut paths = Vec::new();
        for (name, text) in sources {
            let p = src_dir.join(name);
            std::fs::write(&p, text).map_err(|e| io("write sources", e))?;
            paths.push(p);
        }
        let obj = tmp.join("obj");
        let mut verilate = Command::new("verilator");
        verilate.arg("--cc");
        if trace {
            verilate.arg("--trace");
        }
        run(
            verilate
                .args(["-O3", "--top-module", top, "-Mdir"])
                .arg(&obj)
                .args(&paths),
            "verilator --cc",
        )?;
        let main = tmp.join("harness.cpp");
        std::fs::write(&main, cpp).map_err(|e| io("write glue", e))?;
        let mut generated: Vec<PathBuf> = std::fs::read_dir(&obj)
            .map_err(|e| io("list Verilator output", e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
            .collect();
        generated.sort();
        // One translation unit: every Verilated file and the glue included into one
        // file, so g++ parses Verilator's headers once instead of once per file (a
        // 16-element block dot product compiles in about 2 s instead of 9 s). Should a
        // Verilator version ever emit files that clash when joined, the per-file build
        // below still runs.
        let unity = tmp.join("unity.cpp");
        let mut text = String::new();
        // Names, not paths: the glue sits next to this file and the Verilated sources
        // are on the include path, so the cached folder stays valid after the rename.
        for p in std::iter::once(&main).chain(&generated) {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            text.push_str(&format!("#include \"{name}\"\n"));
        }
        std::fs::write(&unity, text).map_err(|e| io("write unity source", e))?;
        let compile = |files: &[&Path]| {
            let mut cmd = Command::new("g++");
            cmd.args(cxx_flags(&include, opt))
                .arg(format!("-I{}", obj.display()));
            if let Some(pch) = &pch {
                cmd.arg("-include").arg(pch);
            }
            if matches!(kind, "lib") {
                cmd.args(["-shared", "-Wl,--exclude-libs,ALL"]);
            }
            cmd.args(files)
                .arg(&archive)
                .args(["-pthread", "-o"])
                .arg(tmp.join(out_name));
            run(&mut cmd, "g++ (Verilated model)")
        };
        if let Err(e) = compile(&[unity.as_path()]) {
            eprintln!("note: single-unit build of {top} failed, compiling file by file: {e}");
            let mut files: Vec<&Path> = vec![main.as_path()];
            files.extend(generated.iter().map(|p| p.as_path()));
            compile(&files)?;
        }
        Ok(())
    })?;
    Ok(dir.join(out_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// g++ uses the precompiled header with the flags designs are compiled with (it would
    /// silently parse the headers again if they differed, e.g. in `-pthread`).
    #[test]
    fn precompiled_header_is_used() {
        for opt in [Optimize::Build, Optimize::Run] {
            pch_is_used(opt);
        }
    }

    fn pch_is_used(opt: Optimize) {
        let pch = precompiled_header(opt).expect("the precompiled header builds");
        let include = verilator_include().expect("verilator");
        let dir = std::env::temp_dir().join(format!("lowbit-pch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp folder");
        let src = dir.join("use.cpp");
        std::fs::write(&src, "int lowbit_pch_probe() { return VL_EDATASIZE; }\n").expect("write");
        let log = run(
            Command::new("g++")
                .args(cxx_flags(&include, opt))
                .arg("-include")
                .arg(&pch)
                .args(["-Winvalid-pch", "-H", "-c", "-pthread", "-o"])
                .arg(dir.join("use.o"))
                .arg(&src),
            "compile with the precompiled header",
        )
        .expect("compiles");
        let _ = std::fs::remove_dir_all(&dir);
        // `-H` marks a used precompiled header with `!` and prints every header it parses.
        assert!(log.contains(&format!("! {}.gch", pch.display())), "{log}");
        assert!(!log.contains("verilated.h\n"), "{log}");
    }
}
