//! Writing the generator's outputs (Verilog, metadata, tables) to files or stdout, all or
//! nothing, the way a Unix tool should.
//!
//! # Use
//! The caller builds every output in memory, then hands them over together:
//!
//! ```no_run
//! use gen::output::{write_all, Planned, Target};
//! let outputs = vec![
//!     Planned::new("--meta", Target::parse("m.json"), b"{}\n".to_vec()),
//!     Planned::new("--output", Target::parse("-"), b"module m; endmodule\n".to_vec()),
//! ];
//! match write_all(outputs, &mut std::io::stdout()) {
//!     Ok(()) => {}
//!     Err(e) if e.is_broken_pipe() => std::process::exit(e.exit_code()), // quietly
//!     Err(e) => {
//!         eprintln!("error: {e}");
//!         std::process::exit(e.exit_code());
//!     }
//! }
//! ```
//!
//! # What happens to each target
//! - `-` ([`Target::Stdout`]) is the `stdout` writer given to [`write_all`], never a file
//!   named `-`. It is written last, after every file, and flushed.
//! - A symbolic link is followed (through any chain of links) and its final target is
//!   written as below; the link itself is never replaced. A dangling link creates its
//!   target, like the shell's `>`.
//! - A new file, or an existing regular file with one name, is written to a temporary file
//!   with a short name (`.gen-<pid>-<n>.tmp`) in the same folder, which is then renamed
//!   over it: readers see the old or the new file, never half of one. An existing file's
//!   permission bits are copied to the new one. The short temporary name means any legal
//!   file name (up to 255 bytes) works.
//! - An existing regular file with other hard links (link count above 1) is truncated and
//!   rewritten in place, so every name keeps seeing the same file. This is not atomic.
//! - Character and block devices, FIFOs and sockets (`/dev/null`, a terminal, a named
//!   pipe) are opened for writing and written directly; they are never replaced or
//!   truncated.
//! - The names of open file descriptors, `/dev/stdout`, `/dev/stderr`, `/dev/fd/N` and
//!   `/proc/self/fd/N`, are opened in append mode and written whatever they lead to (a
//!   terminal, a pipe, or a file the shell redirected them to, which is then appended to,
//!   not replaced). `/dev/stdout`, `/dev/fd/1` and `/proc/self/fd/1` count as stdout for
//!   the duplicate check, so `--meta /dev/stdout -o -` is a usage error.
//!
//! # All or nothing
//! Every target is checked before anything is written: a folder (or a name ending in `/`),
//! a missing parent folder, a parent that is not a folder, an empty or over-long name, two
//! outputs naming the same file (same inode, or the same folder and name for files still
//! to be created), or two outputs both on stdout, are usage errors (exit code 2) and
//! nothing is written. Then every atomic target is staged in its temporary file; if any
//! staging fails, every temporary file is removed and nothing has changed (exit code 1).
//! Then the staged files are renamed into place, the in-place targets (hard-linked files,
//! devices, FIFOs) written, and stdout written last.
//!
//! Limits: a failure after the first rename (a failing rename, a full device, a closed
//! FIFO, a failing stdout) cannot undo what was already written; the error then says which
//! outputs were written already. Hard-linked files and devices are not written atomically.
//! The owner and group of a replaced file are not kept (only its permission bits), and
//! the temporary file is not `fsync`ed before the rename. A file that the shell also
//! redirected stdout to (`gen --meta m.json -o - > m.json`) is not detected as a
//! duplicate (only the names of descriptor 1 are): the writer passed as `stdout` need not
//! be descriptor 1. Appending through `/dev/stdout` to a redirected file and then writing
//! stdout can overwrite, as in the shell, unless the shell opened it with `>>`. Unix only.
//!
//! # Exit codes ([`OutputError::exit_code`])
//! - 2 for [`OutputError::Usage`]: the command line names an impossible target.
//! - 1 for [`OutputError::Io`]: the system refused a write.
//! - 0 for [`OutputError::BrokenPipe`]: the reader of stdout closed it (`gen ... | head`).
//!   The caller should exit quietly, printing nothing. Stdout is written after every file,
//!   so when this happens every file output is already complete and only the part of
//!   stdout the reader chose not to read is lost; that is why the code is 0 rather than
//!   the shell's 141 for a process killed by `SIGPIPE`.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Where one output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The `stdout` writer given to [`write_all`] (the path `-`).
    Stdout,
    /// A file, device, FIFO or symbolic link.
    Path(PathBuf),
}

impl Target {
    /// `-` is stdout, anything else a path.
    pub fn parse(s: impl AsRef<OsStr>) -> Target {
        let s = s.as_ref();
        if s == "-" {
            Target::Stdout
        } else {
            Target::Path(PathBuf::from(s))
        }
    }
}

impl From<PathBuf> for Target {
    fn from(p: PathBuf) -> Target {
        Target::parse(p.into_os_string())
    }
}

impl From<&Path> for Target {
    fn from(p: &Path) -> Target {
        Target::parse(p.as_os_str())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Stdout => write!(f, "-"),
            Target::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

/// One output: the flag that named it (for messages, e.g. `--meta`), where it goes and
/// its whole content.
#[derive(Clone, Debug)]
pub struct Planned {
    pub flag: &'static str,
    pub target: Target,
    pub bytes: Vec<u8>,
}

impl Planned {
    pub fn new(flag: &'static str, target: Target, bytes: Vec<u8>) -> Planned {
        Planned {
            flag,
            target,
            bytes,
        }
    }
}

/// Why the outputs could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputError {
    /// The command line names an impossible target; nothing was written. Exit code 2.
    Usage { flag: &'static str, message: String },
    /// The system refused a write. `message` says which outputs, if any, were already
    /// written. Exit code 1.
    Io { flag: &'static str, message: String },
    /// The reader of stdout closed it; every file output was written. Exit quietly with
    /// code 0.
    BrokenPipe { flag: &'static str },
}

impl OutputError {
    /// 2 for usage errors, 1 for I/O failures, 0 for a closed stdout pipe.
    pub fn exit_code(&self) -> i32 {
        match self {
            OutputError::Usage { .. } => 2,
            OutputError::Io { .. } => 1,
            OutputError::BrokenPipe { .. } => 0,
        }
    }

    /// The flag of the output that failed.
    pub fn flag(&self) -> &'static str {
        match self {
            OutputError::Usage { flag, .. }
            | OutputError::Io { flag, .. }
            | OutputError::BrokenPipe { flag } => flag,
        }
    }

    pub fn is_usage(&self) -> bool {
        matches!(self, OutputError::Usage { .. })
    }

    /// The caller should stop quietly: print nothing, exit with [`Self::exit_code`].
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, OutputError::BrokenPipe { .. })
    }
}

impl fmt::Display for OutputError {
    /// One line: `'--meta': <message>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputError::Usage { flag, message } | OutputError::Io { flag, message } => {
                write!(f, "'{flag}': {message}")
            }
            OutputError::BrokenPipe { flag } => write!(f, "'{flag}': stdout was closed"),
        }
    }
}

impl std::error::Error for OutputError {}

/// Whether an I/O error is a write to a pipe whose reader has gone (`EPIPE`; Rust
/// ignores `SIGPIPE`, so the write fails instead of killing the process).
pub fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// The longest file name (one path component) Linux file systems accept.
const NAME_MAX: usize = 255;

/// How one checked target is written.
#[derive(Debug)]
enum Plan {
    Stdout,
    /// Temporary file in `dest`'s folder, then rename; `mode` from the file replaced.
    Atomic {
        dest: PathBuf,
        mode: Option<Permissions>,
    },
    /// Truncate and rewrite (a regular file with other hard links).
    InPlace(PathBuf),
    /// Open and write, no truncation, no replacement (devices, FIFOs, sockets).
    Direct(PathBuf),
    /// Open in append mode and write (the names of open file descriptors).
    Append(PathBuf),
}

/// What makes two targets the same file.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    Stdout,
    Inode(u64, u64),
    New(PathBuf, OsString),
}

fn usage(flag: &'static str, message: String) -> OutputError {
    OutputError::Usage { flag, message }
}

/// Quote a path for a message.
fn q(p: &Path) -> String {
    format!("'{}'", p.display())
}

/// Whether the path as typed names a folder (`adir/`, `.`, `x/..`).
fn names_folder(p: &Path) -> bool {
    let b = p.as_os_str().as_bytes();
    b.ends_with(b"/") || b == b"." || b == b".." || b.ends_with(b"/.") || b.ends_with(b"/..")
}

/// Follow a chain of symbolic links from `p` to the path it finally names (which may not
/// exist: a dangling link).
fn resolve_links(flag: &'static str, p: &Path) -> Result<PathBuf, OutputError> {
    let mut cur = p.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = fs::read_link(&cur).map_err(|e| OutputError::Io {
                    flag,
                    message: format!("cannot read the link {}: {e}", q(&cur)),
                })?;
                cur = match cur.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(cur),
        }
    }
    Err(usage(
        flag,
        format!("{}: too many levels of symbolic links", q(p)),
    ))
}

/// The folder a file path lies in (`.` for a bare name).
fn parent_of(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The file descriptor a path names, for `/dev/stdout`, `/dev/stderr`, `/dev/stdin`,
/// `/dev/fd/N` and `/proc/self/fd/N`.
fn fd_alias(p: &Path) -> Option<u32> {
    let s = p.to_str()?;
    match s {
        "/dev/stdin" => Some(0),
        "/dev/stdout" => Some(1),
        "/dev/stderr" => Some(2),
        _ => s
            .strip_prefix("/dev/fd/")
            .or_else(|| s.strip_prefix("/proc/self/fd/"))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse().ok()),
    }
}

/// Check one path target: how to write it, and what it is for the duplicate check.
fn check_path(flag: &'static str, p: &Path) -> Result<(Plan, Identity), OutputError> {
    if p.as_os_str().is_empty() {
        return Err(usage(flag, "an empty file name".into()));
    }
    if let Some(fd) = fd_alias(p) {
        let m = fs::metadata(p).map_err(|e| {
            usage(
                flag,
                format!(
                    "{}: file descriptor {fd} is not open for writing ({e})",
                    q(p)
                ),
            )
        })?;
        if m.is_dir() {
            return Err(usage(flag, format!("{} is a folder, not a file", q(p))));
        }
        let id = if fd == 1 {
            Identity::Stdout
        } else {
            Identity::Inode(m.dev(), m.ino())
        };
        return Ok((Plan::Append(p.to_path_buf()), id));
    }
    let folder = || {
        usage(
            flag,
            format!("{} is a folder, not a file; name a file in it", q(p)),
        )
    };
    if names_folder(p) {
        return Err(folder());
    }
    match fs::metadata(p) {
        Ok(m) => {
            let ft = m.file_type();
            let id = Identity::Inode(m.dev(), m.ino());
            if ft.is_dir() {
                Err(folder())
            } else if ft.is_file() {
                // The final target of any links: replaced atomically unless hard-linked.
                let real = fs::canonicalize(p).map_err(|e| OutputError::Io {
                    flag,
                    message: format!("cannot resolve {}: {e}", q(p)),
                })?;
                if m.nlink() > 1 {
                    Ok((Plan::InPlace(real), id))
                } else {
                    let mode = Some(m.permissions());
                    Ok((Plan::Atomic { dest: real, mode }, id))
                }
            } else if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() || ft.is_socket()
            {
                // Opened through the given path: /dev/stdout's links go through /proc.
                Ok((Plan::Direct(p.to_path_buf()), id))
            } else {
                Err(usage(
                    flag,
                    format!("{} is neither a file nor a device", q(p)),
                ))
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // A new file, perhaps at the end of a dangling link.
            let dest = resolve_links(flag, p)?;
            if names_folder(&dest) {
                return Err(folder());
            }
            let Some(name) = dest.file_name().map(OsStr::to_os_string) else {
                return Err(folder());
            };
            if name.len() > NAME_MAX {
                return Err(usage(
                    flag,
                    format!(
                        "{}: the file name is {} bytes long, the most allowed is {NAME_MAX}",
                        q(p),
                        name.len()
                    ),
                ));
            }
            let dir = parent_of(&dest);
            match fs::metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(usage(flag, format!("{} is not a folder", q(&dir)))),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(usage(
                        flag,
                        format!("the folder {} does not exist", q(&dir)),
                    ))
                }
                Err(e) => {
                    return Err(usage(flag, format!("the folder {}: {e}", q(&dir))));
                }
            }
            let real_dir = fs::canonicalize(&dir).map_err(|e| OutputError::Io {
                flag,
                message: format!("cannot resolve {}: {e}", q(&dir)),
            })?;
            let id = Identity::New(real_dir, name.clone());
            Ok((Plan::Atomic { dest, mode: None }, id))
        }
        Err(e) if e.raw_os_error() == Some(20) => {
            // ENOTDIR: a component of the folder part is a file.
            Err(usage(
                flag,
                format!("{}: a folder in the path is a file", q(p)),
            ))
        }
        Err(e) if e.raw_os_error() == Some(36) => {
            // ENAMETOOLONG
            Err(usage(
                flag,
                format!(
                    "{}: a name in the path is longer than {NAME_MAX} bytes",
                    q(p)
                ),
            ))
        }
        Err(e) => Err(usage(flag, format!("{}: {e}", q(p)))),
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh short temporary name in `dir`.
fn temp_path(dir: &Path) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".gen-{}-{n}.tmp", std::process::id()))
}

/// Write `bytes` to a new temporary file beside `dest`; its path.
fn stage(dest: &Path, mode: Option<&Permissions>, bytes: &[u8]) -> io::Result<PathBuf> {
    let dir = parent_of(dest);
    let (tmp, mut file) = loop {
        let tmp = temp_path(&dir);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    };
    let written = file.write_all(bytes).and_then(|()| match mode {
        Some(m) => file.set_permissions(m.clone()),
        None => Ok(()),
    });
    drop(file);
    match written {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// "; --meta 'm.json' was already written" for an error after some outputs were done.
fn already(done: &[String]) -> String {
    if done.is_empty() {
        String::new()
    } else {
        format!(" ({} already written)", done.join(", "))
    }
}

/// Check targets without writing anything: the usage errors [`write_all`] would give
/// (a folder, a missing parent folder, a name too long, one file or stdout named twice).
/// For a command that runs for a long time before its outputs exist (`--freq`, `gen
/// synth --json`), so that a bad path fails at once. [`write_all`] checks again.
pub fn check_targets(targets: &[(&'static str, &Target)]) -> Result<(), OutputError> {
    plan_all(targets).map(|_| ())
}

/// Phase 1 of [`write_all`]: how to write each target.
fn plan_all(targets: &[(&'static str, &Target)]) -> Result<Vec<Plan>, OutputError> {
    let mut seen: Vec<(Identity, &'static str)> = Vec::new();
    let mut plans = Vec::with_capacity(targets.len());
    for &(flag, target) in targets {
        let (plan, id) = match target {
            Target::Stdout => (Plan::Stdout, Identity::Stdout),
            Target::Path(p) => check_path(flag, p)?,
        };
        if let Some((_, other)) = seen.iter().find(|(i, _)| *i == id) {
            let what = match target {
                Target::Stdout => "stdout".to_string(),
                Target::Path(p) => q(p),
            };
            let message = if *other == flag {
                format!("{what} is named twice")
            } else {
                format!("{what} is also the target of '{other}'; give each output its own file")
            };
            return Err(usage(flag, message));
        }
        seen.push((id, flag));
        plans.push(plan);
    }
    Ok(plans)
}

/// A table command's output: the table on stdout, and also in `output` when given (a
/// file, a link or a device; `-` is stdout, written once).
pub fn write_table(
    table: &str,
    output: Option<&Path>,
    stdout: &mut dyn Write,
) -> Result<(), OutputError> {
    let mut planned = vec![Planned::new("--output", Target::Stdout, table.into())];
    if let Some(target) = output.map(Target::from) {
        if !matches!(target, Target::Stdout) {
            planned.insert(0, Planned::new("--output", target, table.into()));
        }
    }
    write_all(planned, stdout)
}

/// Write every output, or (for every error found before writing) none: see the module
/// documentation for the rules and the exit codes.
pub fn write_all(outputs: Vec<Planned>, stdout: &mut dyn Write) -> Result<(), OutputError> {
    // 1. Check every target.
    let targets: Vec<(&'static str, &Target)> =
        outputs.iter().map(|o| (o.flag, &o.target)).collect();
    let plans = plan_all(&targets)?;

    // 2. Stage every atomic target; on any failure remove them all.
    let mut staged: Vec<Option<PathBuf>> = Vec::with_capacity(outputs.len());
    for (out, plan) in outputs.iter().zip(&plans) {
        let tmp = match plan {
            Plan::Atomic { dest, mode } => match stage(dest, mode.as_ref(), &out.bytes) {
                Ok(t) => Some(t),
                Err(e) => {
                    for t in staged.iter().flatten() {
                        let _ = fs::remove_file(t);
                    }
                    return Err(OutputError::Io {
                        flag: out.flag,
                        message: format!("cannot write {}: {e}; nothing was written", q(dest)),
                    });
                }
            },
            _ => None,
        };
        staged.push(tmp);
    }

    // 3. Rename the staged files into place.
    let mut done: Vec<String> = Vec::new();
    for (i, (out, plan)) in outputs.iter().zip(&plans).enumerate() {
        if let (Plan::Atomic { dest, .. }, Some(tmp)) = (plan, &staged[i]) {
            if let Err(e) = fs::rename(tmp, dest) {
                for t in staged[i..].iter().flatten() {
                    let _ = fs::remove_file(t);
                }
                return Err(OutputError::Io {
                    flag: out.flag,
                    message: format!("cannot write {}: {e}{}", q(dest), already(&done)),
                });
            }
            done.push(format!("{} {}", out.flag, q(dest)));
        }
    }

    // 4. Files written in place, devices and FIFOs.
    for (out, plan) in outputs.iter().zip(&plans) {
        let mut options = OpenOptions::new();
        let path = match plan {
            Plan::InPlace(p) => {
                options.write(true).truncate(true);
                p
            }
            Plan::Direct(p) => {
                options.write(true);
                p
            }
            Plan::Append(p) => {
                options.append(true);
                p
            }
            _ => continue,
        };
        let written = options
            .open(path)
            .and_then(|mut f: File| f.write_all(&out.bytes).and_then(|()| f.flush()));
        if let Err(e) = written {
            if is_broken_pipe(&e) {
                return Err(OutputError::Io {
                    flag: out.flag,
                    message: format!(
                        "cannot write {}: its reader closed it{}",
                        q(path),
                        already(&done)
                    ),
                });
            }
            return Err(OutputError::Io {
                flag: out.flag,
                message: format!("cannot write {}: {e}{}", q(path), already(&done)),
            });
        }
        done.push(format!("{} {}", out.flag, q(path)));
    }

    // 5. Stdout last.
    for (out, plan) in outputs.iter().zip(&plans) {
        if let Plan::Stdout = plan {
            if let Err(e) = stdout.write_all(&out.bytes).and_then(|()| stdout.flush()) {
                if is_broken_pipe(&e) {
                    return Err(OutputError::BrokenPipe { flag: out.flag });
                }
                return Err(OutputError::Io {
                    flag: out.flag,
                    message: format!("cannot write to stdout: {e}{}", already(&done)),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
