//! Verilator co-simulation harness.
//!
//! [`Verilated::build`] turns emitted Verilog into a shared library: Verilator generates
//! C++ for the top module, [`glue`] adds five C functions generated from the unit's
//! ports, and g++ links both with Verilator's runtime (compiled once and cached). The
//! library is loaded into this process with `libloading`; builds are cached by content
//! hash (see [`build`]), so repeated test runs do not rebuild.
//!
//! An [`Instance`] evaluates a whole batch of beats per FFI call ([`Instance::run`]), in
//! the beat layout and timing of `model::iface`: inputs applied, outputs read with the
//! clock low, then the rising edge. [`cosim`] drives the RTL and a `CycleModel` with the
//! same stimulus in batches and compares every output word; on the first difference it
//! builds the model again with Verilator's `--trace` ([`Verilated::with_trace`]; models
//! are built without it, which compiles two to four times faster), reruns a fresh
//! instance of that twin, writes a VCD of the window around the difference, and returns
//! a [`Mismatch`] naming the beat, every input and every differing output.
//!
//! Every instance has its own `VerilatedContext`, and each library hides Verilator's
//! runtime symbols, so several designs and instances can run in one process and in
//! parallel threads. [`cosim`] uses that: on `threads` threads it cuts a stream at reset
//! beats ([`split_points`]) and runs each part on its own fresh RTL instance and model
//! copy; a mismatch in any part is reported as the unbroken run reports it.

pub mod build;
pub mod glue;
pub mod stimulus;

use std::ffi::{c_char, c_int, c_void, CString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libloading::Library;
use model::iface::{CycleModel, Interface, Port};

pub use build::{cache_dir, require_tool, verilator_version, Optimize, INSTALL_HINT};

/// Everything that can go wrong in the harness.
#[derive(Clone, Debug)]
pub enum SimError {
    /// A tool is not installed.
    ToolMissing { tool: String, hint: String },
    /// A build step failed; `log` is its output.
    Build { step: String, log: String },
    /// The built library could not be loaded or lacks a symbol.
    Load(String),
    /// The interface does not fit the stimulus or the model.
    Layout(String),
    /// RTL and model disagree.
    Mismatch(Box<Mismatch>),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::ToolMissing { tool, hint } => write!(f, "`{tool}` is not installed: {hint}"),
            SimError::Build { step, log } => {
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                write!(f, "{step} failed:\n{}", tail.join("\n"))
            }
            SimError::Load(m) => write!(f, "cannot load the Verilated model: {m}"),
            SimError::Layout(m) => write!(f, "{m}"),
            SimError::Mismatch(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for SimError {}

type NewFn = unsafe extern "C" fn() -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type RunFn = unsafe extern "C" fn(*mut c_void, u64, *const u64, *mut u64, c_int);
type TraceOpenFn = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;

/// The glue's entry points, kept together with the library that holds them.
struct Api {
    new: NewFn,
    free: FreeFn,
    run: RunFn,
    trace_open: TraceOpenFn,
    trace_close: FreeFn,
    _lib: Library,
}

/// A built and loaded Verilated model of one module.
pub struct Verilated {
    api: Arc<Api>,
    top: String,
    iface: Interface,
    path: PathBuf,
    /// What it was built from, to build the traced twin a failure's VCD needs.
    sources: Vec<(String, String)>,
    opt: Optimize,
    traced: bool,
}

impl Verilated {
    /// Verilate `sources` (file name and text) for module `top` with ports `iface`,
    /// compile, cache and load it.
    pub fn build(
        sources: &[(&str, &str)],
        top: &str,
        iface: &Interface,
    ) -> Result<Verilated, SimError> {
        Verilated::build_with(sources, top, iface, Optimize::default())
    }

    /// [`Verilated::build`] with g++ at `opt` ([`Optimize::Run`] for long runs).
    pub fn build_with(
        sources: &[(&str, &str)],
        top: &str,
        iface: &Interface,
        opt: Optimize,
    ) -> Result<Verilated, SimError> {
        Verilated::build_inner(sources, top, iface, opt, false)
    }

    fn build_inner(
        sources: &[(&str, &str)],
        top: &str,
        iface: &Interface,
        opt: Optimize,
        traced: bool,
    ) -> Result<Verilated, SimError> {
        let glue = glue::glue(top, iface, traced);
        let path = build::build(
            sources,
            top,
            build::Artifact::Library { glue: &glue },
            opt,
            traced,
        )?;
        let api = load(&path)?;
        Ok(Verilated {
            api: Arc::new(api),
            top: top.to_string(),
            iface: iface.clone(),
            path,
            sources: sources
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
            opt,
            traced,
        })
    }

    /// The same model Verilated with `--trace`, whose instances can write VCD files
    /// ([`Instance::trace_open`]); built (and cached) on first use. Models are built
    /// without tracing, which compiles two to four times faster.
    pub fn with_trace(&self) -> Result<Verilated, SimError> {
        let sources: Vec<(&str, &str)> = self
            .sources
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        Verilated::build_inner(&sources, &self.top, &self.iface, self.opt, true)
    }

    /// Whether instances can write VCD files (see [`Verilated::with_trace`]).
    pub fn is_traced(&self) -> bool {
        self.traced
    }

    /// The ports this model was built for.
    pub fn interface(&self) -> &Interface {
        &self.iface
    }

    /// The top module's name.
    pub fn top(&self) -> &str {
        &self.top
    }

    /// Path of the cached shared library.
    pub fn library_path(&self) -> &Path {
        &self.path
    }

    /// A fresh instance, registers at Verilator's power-up values (zero).
    pub fn instance(&self) -> Result<Instance, SimError> {
        // SAFETY: `lowbit_new` allocates and returns a fresh simulation object.
        let handle = unsafe { (self.api.new)() };
        if handle.is_null() {
            return Err(SimError::Load("lowbit_new returned null".into()));
        }
        Ok(Instance {
            api: self.api.clone(),
            handle,
            in_words: self.iface.in_words(),
            out_words: self.iface.out_words(),
        })
    }
}

fn load(path: &Path) -> Result<Api, SimError> {
    let load_err = |e: libloading::Error| SimError::Load(format!("{}: {e}", path.display()));
    // SAFETY: the library is one this harness built from its own glue; loading runs only
    // C++ static initializers of Verilator's runtime and the model.
    unsafe {
        let lib = Library::new(path).map_err(load_err)?;
        let new = *lib.get::<NewFn>(b"lowbit_new\0").map_err(load_err)?;
        let free = *lib.get::<FreeFn>(b"lowbit_free\0").map_err(load_err)?;
        let run = *lib.get::<RunFn>(b"lowbit_run\0").map_err(load_err)?;
        let trace_open = *lib
            .get::<TraceOpenFn>(b"lowbit_trace_open\0")
            .map_err(load_err)?;
        let trace_close = *lib
            .get::<FreeFn>(b"lowbit_trace_close\0")
            .map_err(load_err)?;
        Ok(Api {
            new,
            free,
            run,
            trace_open,
            trace_close,
            _lib: lib,
        })
    }
}

/// One running simulation of a [`Verilated`] model.
pub struct Instance {
    api: Arc<Api>,
    handle: *mut c_void,
    in_words: usize,
    out_words: usize,
}

// SAFETY: an instance owns its simulation object (with its own VerilatedContext) and is
// only used through `&mut self`, so it may move to another thread.
unsafe impl Send for Instance {}

impl Instance {
    fn run_raw(&mut self, inputs: &[u64], outputs: &mut [u64], dump: bool) {
        let beats = inputs.len() / self.in_words.max(1);
        assert_eq!(
            inputs.len(),
            beats * self.in_words,
            "input batch is not whole beats"
        );
        assert_eq!(
            outputs.len(),
            beats * self.out_words,
            "output buffer does not match the batch"
        );
        // SAFETY: the buffers hold exactly `beats` records of the sizes the glue expects.
        unsafe {
            (self.api.run)(
                self.handle,
                beats as u64,
                inputs.as_ptr(),
                outputs.as_mut_ptr(),
                dump as c_int,
            )
        }
    }

    /// Evaluate a batch of beats in one call (layout and timing as in `model::iface`).
    pub fn run(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        self.run_raw(inputs, outputs, false);
    }

    /// Open a VCD file; beats run with [`Instance::run_traced`] are written to it.
    pub fn trace_open(&mut self, path: &Path) -> Result<(), SimError> {
        let c = CString::new(path.to_string_lossy().as_bytes())
            .map_err(|e| SimError::Load(e.to_string()))?;
        // SAFETY: valid handle and NUL-terminated path.
        let rc = unsafe { (self.api.trace_open)(self.handle, c.as_ptr()) };
        if rc == 0 {
            Ok(())
        } else if rc == 2 {
            Err(SimError::Load(
                "this model was built without tracing: use an instance of \
                 `Verilated::with_trace()` to write a VCD"
                    .into(),
            ))
        } else {
            Err(SimError::Load(format!(
                "cannot open VCD file {}",
                path.display()
            )))
        }
    }

    /// Like [`Instance::run`], dumping every edge to the open VCD file.
    pub fn run_traced(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        self.run_raw(inputs, outputs, true);
    }

    /// Flush and close the VCD file.
    pub fn trace_close(&mut self) {
        // SAFETY: valid handle.
        unsafe { (self.api.trace_close)(self.handle) }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: the handle came from `lowbit_new` and is freed once.
        unsafe { (self.api.free)(self.handle) }
    }
}

/// How [`cosim`] runs.
#[derive(Clone, Debug)]
pub struct CosimOptions {
    /// Beats per FFI call.
    pub batch: usize,
    /// Beats traced before the first mismatch.
    pub window_before: usize,
    /// Beats traced after it.
    pub window_after: usize,
    /// Where failure VCDs go; default `<cache>/failures`.
    pub vcd_dir: Option<PathBuf>,
    /// Threads: 1 runs the RTL and the model one after the other. With 2 or more (the
    /// default: the number of cores), a stream with reset beats is split at up to
    /// `threads - 1` of them ([`split_points`]) and each part runs on its own thread, on
    /// its own fresh RTL instance and model copy, compared in that thread; a stream
    /// without resets runs the RTL on a second thread, up to two batches ahead of the
    /// model.
    pub threads: usize,
    /// Split the stream at reset beats when `threads >= 2` (the default); false keeps
    /// one stream, the RTL on a second thread.
    pub split: bool,
}

impl Default for CosimOptions {
    fn default() -> Self {
        CosimOptions {
            batch: 4096,
            window_before: 16,
            window_after: 4,
            vcd_dir: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            split: true,
        }
    }
}

/// What a passing co-simulation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosimStats {
    pub beats: u64,
}

/// The first beat where RTL and model disagree.
#[derive(Clone, Debug)]
pub struct Mismatch {
    pub top: String,
    /// Beat index from the start of the stimulus (cycle number).
    pub beat: u64,
    /// First beat of the input history below.
    pub history_from: u64,
    /// Every beat input: name and its values from `history_from` to `beat`.
    pub inputs: Vec<(String, Vec<String>)>,
    /// Every output: name, expected (model) and got (RTL).
    pub outputs: Vec<(String, String, String)>,
    /// VCD of the window around the beat, if it could be written.
    pub vcd: Option<PathBuf>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: RTL differs from the model at beat {} (0-based clock cycle)",
            self.top, self.beat
        )?;
        write!(f, "  inputs, beats {}..={}:", self.history_from, self.beat)?;
        writeln!(f, " (outputs lag their inputs by the unit's latency)")?;
        for (n, vs) in &self.inputs {
            let cols: Vec<String> = vs.iter().map(|v| format!("{v:>18}")).collect();
            writeln!(f, "    {n:<12} {}", cols.join(" "))?;
        }
        writeln!(
            f,
            "  outputs:            model (expected)         RTL (got)"
        )?;
        for (n, e, g) in &self.outputs {
            let mark = if e == g { "" } else { "   <-- differs" };
            writeln!(f, "    {n:<12} {e:>24} {g:>24}{mark}")?;
        }
        match &self.vcd {
            Some(p) => write!(f, "  waveform of the window around it: {}", p.display()),
            None => write!(f, "  (no waveform could be written)"),
        }
    }
}

/// A port's value from its words, as `12'h7ff (2047)`.
fn show(p: &Port, words: &[u64]) -> String {
    let hex: String = words.iter().rev().map(|w| format!("{w:016x}")).collect();
    let digits = p.width.div_ceil(4) as usize;
    let hex = &hex[hex.len() - digits..];
    if p.width <= 64 {
        let raw = words[0];
        let value = if p.signed {
            model::int::from_bits(raw as u128, p.width, true)
        } else {
            raw as i128
        };
        format!("{}'h{hex} ({value})", p.width)
    } else {
        format!("{}'h{hex}", p.width)
    }
}

fn named_values<'a>(
    ports: impl Iterator<Item = &'a Port>,
    record: &[u64],
) -> Vec<(String, String)> {
    let mut off = 0;
    ports
        .map(|p| {
            let v = show(p, &record[off..off + p.words()]);
            off += p.words();
            (p.name.clone(), v)
        })
        .collect()
}

/// Beats of input history shown in a mismatch report.
const HISTORY: usize = 4;

/// Drive `dut` and `model` with `stimulus` (whole input records) and compare every output
/// word. See the crate docs.
pub fn cosim(
    dut: &Verilated,
    model: &mut dyn CycleModel,
    stimulus: &[u64],
    opts: &CosimOptions,
) -> Result<CosimStats, SimError> {
    let iface = dut.interface();
    if model.interface() != iface {
        return Err(SimError::Layout(format!(
            "{}: the model's ports differ from the RTL's",
            dut.top
        )));
    }
    let (iw, ow) = (iface.in_words(), iface.out_words());
    if iw == 0 || !stimulus.len().is_multiple_of(iw) {
        return Err(SimError::Layout(format!(
            "stimulus of {} words is not whole beats of {iw} words",
            stimulus.len()
        )));
    }
    if opts.threads >= 2 && opts.split {
        let starts = split_points(iface, stimulus, opts.threads);
        if starts.len() > 1 {
            return cosim_split(dut, model, stimulus, opts, &starts);
        }
    }
    let mut rtl = dut.instance()?;
    let batch = opts.batch.max(1) * iw;
    let mut expected = Vec::new();
    let mut done = 0usize;
    // Compare one batch (one slice comparison); on a difference, name its first beat.
    let check = |got: &[u64], expected: &[u64], done: &mut usize| -> Result<(), SimError> {
        if got != expected {
            let i = (0..got.len())
                .find(|&i| got[i] != expected[i])
                .expect("the batches differ");
            return Err(mismatch(
                dut,
                stimulus,
                0,
                *done + i / ow,
                &expected[i / ow * ow..][..ow],
                &got[i / ow * ow..][..ow],
                opts,
            ));
        }
        *done += got.len() / ow;
        Ok(())
    };
    if opts.threads < 2 {
        let mut got = Vec::new();
        for chunk in stimulus.chunks(batch) {
            let beats = chunk.len() / iw;
            got.resize(beats * ow, 0);
            expected.resize(beats * ow, 0);
            rtl.run(chunk, &mut got);
            model.run(chunk, &mut expected);
            check(&got, &expected, &mut done)?;
        }
        return Ok(CosimStats { beats: done as u64 });
    }
    // Two threads: the RTL worker runs the batches in order, up to two ahead of this
    // thread, which runs the model on each and compares. Buffers go back and forth.
    std::thread::scope(|s| -> Result<CosimStats, SimError> {
        let (to_rtl, rtl_in) = std::sync::mpsc::sync_channel::<(&[u64], Vec<u64>)>(2);
        let (rtl_out, from_rtl) = std::sync::mpsc::sync_channel::<Vec<u64>>(2);
        let rtl = &mut rtl;
        s.spawn(move || {
            for (chunk, mut got) in rtl_in {
                got.resize(chunk.len() / iw * ow, 0);
                rtl.run(chunk, &mut got);
                if rtl_out.send(got).is_err() {
                    break;
                }
            }
        });
        let hung_up = || SimError::Load("the RTL thread stopped".into());
        let chunks: Vec<&[u64]> = stimulus.chunks(batch).collect();
        for chunk in chunks.iter().take(2) {
            to_rtl.send((chunk, Vec::new())).map_err(|_| hung_up())?;
        }
        for (k, chunk) in chunks.iter().enumerate() {
            expected.resize(chunk.len() / iw * ow, 0);
            model.run(chunk, &mut expected);
            let got = from_rtl.recv().map_err(|_| hung_up())?;
            check(&got, &expected, &mut done)?;
            if let Some(next) = chunks.get(k + 2) {
                to_rtl.send((next, got)).map_err(|_| hung_up())?;
            }
        }
        Ok(CosimStats { beats: done as u64 })
    })
}

/// Where [`cosim`] splits a stream for `parts` threads: beat 0, then for each further
/// part the first reset beat at or after its even share of the stream (none when the
/// unit has no reset or the stream none there). A part starts fresh instances of RTL
/// and model at its first beat; starting at a reset beat keeps what it checks what the
/// unbroken stream checks, since after a reset a unit's outputs do not depend on what
/// came before (docs/conventions.md); the comparison itself is exact either way.
pub fn split_points(iface: &Interface, stimulus: &[u64], parts: usize) -> Vec<usize> {
    let iw = iface.in_words().max(1);
    let beats = stimulus.len() / iw;
    let rst = iface
        .beat_inputs()
        .find(|p| p.role == model::iface::Role::Reset)
        .and_then(|p| iface.in_offset(&p.name));
    let mut starts = vec![0];
    let Some(rst) = rst else { return starts };
    // Parts shorter than this are not worth a thread.
    let least = 4096;
    for k in 1..parts.max(1) {
        let target = (beats * k / parts).max(starts[starts.len() - 1] + least);
        if let Some(b) = (target..beats).find(|&b| stimulus[b * iw + rst] & 1 == 1) {
            if beats - b >= least {
                starts.push(b);
            }
        }
    }
    starts
}

/// [`cosim`] on parts of the stream starting at `starts`, one thread each.
fn cosim_split(
    dut: &Verilated,
    model: &mut dyn CycleModel,
    stimulus: &[u64],
    opts: &CosimOptions,
    starts: &[usize],
) -> Result<CosimStats, SimError> {
    let iface = dut.interface();
    let (iw, ow) = (iface.in_words(), iface.out_words());
    let beats = stimulus.len() / iw;
    let batch = opts.batch.max(1);
    let parts: Vec<(usize, usize)> = starts
        .iter()
        .zip(starts.iter().skip(1).chain(std::iter::once(&beats)))
        .map(|(&a, &b)| (a, b))
        .collect();
    // Each part: its first differing beat with the model's and the RTL's outputs.
    type Found = Result<Option<(usize, Vec<u64>, Vec<u64>)>, SimError>;
    let found: Vec<Found> = std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .iter()
            .map(|&(from, to)| {
                let mut m = model.boxed_clone();
                s.spawn(move || -> Found {
                    let mut rtl = dut.instance()?;
                    let (mut got, mut expected) = (Vec::new(), Vec::new());
                    let mut b = from;
                    while b < to {
                        let n = batch.min(to - b);
                        let chunk = &stimulus[b * iw..(b + n) * iw];
                        got.resize(n * ow, 0);
                        expected.resize(n * ow, 0);
                        rtl.run(chunk, &mut got);
                        m.run(chunk, &mut expected);
                        if got != expected {
                            let i = (0..got.len())
                                .find(|&i| got[i] != expected[i])
                                .expect("the batches differ");
                            let at = i / ow * ow;
                            return Ok(Some((
                                b + i / ow,
                                expected[at..at + ow].to_vec(),
                                got[at..at + ow].to_vec(),
                            )));
                        }
                        b += n;
                    }
                    Ok(None)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a co-simulation thread panicked"))
            .collect()
    });
    // The earliest difference of the earliest part that has one.
    for ((from, _), f) in parts.iter().zip(found) {
        if let Some((beat, expected, got)) = f? {
            return Err(mismatch(dut, stimulus, *from, beat, &expected, &got, opts));
        }
    }
    Ok(CosimStats {
        beats: beats as u64,
    })
}

/// The mismatch report for `beat` of a run that started fresh instances at beat `from`.
#[allow(clippy::too_many_arguments)]
fn mismatch(
    dut: &Verilated,
    stimulus: &[u64],
    from: usize,
    beat: usize,
    expected: &[u64],
    got: &[u64],
    opts: &CosimOptions,
) -> SimError {
    let iface = dut.interface();
    let iw = iface.in_words();
    let history_from = beat.saturating_sub(HISTORY - 1).max(from);
    let mut inputs: Vec<(String, Vec<String>)> = iface
        .beat_inputs()
        .map(|p| (p.name.clone(), Vec::new()))
        .collect();
    for b in history_from..=beat {
        let record = &stimulus[b * iw..(b + 1) * iw];
        for (slot, (_, v)) in inputs
            .iter_mut()
            .zip(named_values(iface.beat_inputs(), record))
        {
            slot.1.push(v);
        }
    }
    let exp = named_values(iface.outputs(), expected);
    let got = named_values(iface.outputs(), got);
    let outputs = exp
        .into_iter()
        .zip(got)
        .map(|((n, e), (_, g))| (n, e, g))
        .collect();
    let vcd = write_window_vcd(dut, &stimulus[from * iw..], from, beat, opts).ok();
    SimError::Mismatch(Box::new(Mismatch {
        top: dut.top.clone(),
        beat: beat as u64,
        history_from: history_from as u64,
        inputs,
        outputs,
        vcd,
    }))
}

/// Rerun `stimulus` (the stream from beat `from` on) on a fresh instance and trace only
/// the window around `beat`.
fn write_window_vcd(
    dut: &Verilated,
    stimulus: &[u64],
    from: usize,
    beat: usize,
    opts: &CosimOptions,
) -> Result<PathBuf, SimError> {
    let iface = dut.interface();
    let (iw, ow) = (iface.in_words(), iface.out_words());
    let total = stimulus.len() / iw;
    let beat_here = beat - from;
    let start = beat_here.saturating_sub(opts.window_before);
    let end = (beat_here + opts.window_after + 1).min(total);
    let dir = opts
        .vcd_dir
        .clone()
        .unwrap_or_else(|| cache_dir().join("failures"));
    std::fs::create_dir_all(&dir).map_err(|e| SimError::Load(e.to_string()))?;
    let path = dir.join(format!("{}-beat{beat}.vcd", dut.top));
    let twin;
    let dut = if dut.traced {
        dut
    } else {
        twin = dut.with_trace()?;
        &twin
    };
    let mut rtl = dut.instance()?;
    let mut out = vec![0u64; start * ow];
    rtl.run(&stimulus[..start * iw], &mut out);
    rtl.trace_open(&path)?;
    let mut out = vec![0u64; (end - start) * ow];
    rtl.run_traced(&stimulus[start * iw..end * iw], &mut out);
    rtl.trace_close();
    Ok(path)
}

/// Build the plain C++ benchmark loop for `top` (see [`glue::plain_loop`]) and run it for
/// `beats` beats; returns its beats per second.
pub fn plain_cpp_beats_per_second(
    sources: &[(&str, &str)],
    top: &str,
    iface: &Interface,
    beats: u64,
    opt: Optimize,
) -> Result<f64, SimError> {
    let main = glue::plain_loop(top, iface);
    let exe = build::build(
        sources,
        top,
        build::Artifact::Program { main: &main },
        opt,
        false,
    )?;
    let out = build::run(
        std::process::Command::new(&exe).arg(beats.to_string()),
        "plain C++ loop",
    )?;
    out.lines()
        .find_map(|l| l.strip_prefix("beats_per_second "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| SimError::Build {
            step: "plain C++ loop output".into(),
            log: out.clone(),
        })
}
