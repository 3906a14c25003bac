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
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fresh empty folder under the system's temporary folder.
    fn scratch(name: &str) -> PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("lowbit-output-{}-{n}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn planned(flag: &'static str, p: &Path, text: &str) -> Planned {
        Planned::new(flag, Target::from(p), text.as_bytes().to_vec())
    }

    /// The names in a folder, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn usage_of(r: Result<(), OutputError>) -> OutputError {
        let e = r.unwrap_err();
        assert!(e.is_usage(), "{e:?}");
        assert_eq!(e.exit_code(), 2);
        e
    }

    #[test]
    fn dash_is_stdout_and_never_a_file() {
        assert_eq!(Target::parse("-"), Target::Stdout);
        assert_eq!(Target::from(PathBuf::from("-")), Target::Stdout);
        assert_eq!(Target::parse("./-"), Target::Path("./-".into()));
        let dir = scratch("dash");
        let mut out = Vec::new();
        let meta = dir.join("m.json");
        write_all(
            vec![
                Planned::new("--output", Target::parse("-"), b"verilog\n".to_vec()),
                planned("--meta", &meta, "{}\n"),
            ],
            &mut out,
        )
        .unwrap();
        assert_eq!(out, b"verilog\n");
        assert_eq!(listing(&dir), ["m.json"]);
        assert!(!Path::new("-").exists());
    }

    #[test]
    fn two_outputs_on_stdout_are_a_usage_error() {
        let mut out = Vec::new();
        let e = usage_of(write_all(
            vec![
                Planned::new("--output", Target::Stdout, b"a".to_vec()),
                Planned::new("--meta", Target::Stdout, b"b".to_vec()),
            ],
            &mut out,
        ));
        assert_eq!(e.flag(), "--meta");
        assert!(e.to_string().contains("'--output'"), "{e}");
        assert!(out.is_empty());
    }

    #[test]
    fn targets_can_be_checked_before_the_outputs_exist() {
        let dir = scratch("check");
        let ok = Target::from(dir.join("m.json"));
        let missing = Target::from(dir.join("nodir/x.v"));
        check_targets(&[("--meta", &ok), ("--output", &Target::Stdout)]).unwrap();
        let e = check_targets(&[("--meta", &ok), ("--output", &missing)]).unwrap_err();
        assert_eq!((e.flag(), e.exit_code()), ("--output", 2));
        let e = check_targets(&[("--meta", &ok), ("--output", &ok)]).unwrap_err();
        assert!(e.is_usage(), "{e}");
        assert!(listing(&dir).is_empty());
    }

    #[test]
    fn new_file_is_written_and_no_temporary_file_stays() {
        let dir = scratch("new");
        let v = dir.join("x.v");
        write_all(
            vec![planned("--output", &v, "module x;\n")],
            &mut io::sink(),
        )
        .unwrap();
        assert_eq!(fs::read_to_string(&v).unwrap(), "module x;\n");
        assert_eq!(listing(&dir), ["x.v"]);
    }

    #[test]
    fn bare_relative_name_goes_to_the_current_folder() {
        // A name with no folder part: its parent is "", which must mean ".".
        assert_eq!(parent_of(Path::new("x.v")), PathBuf::from("."));
        assert_eq!(parent_of(Path::new("d/x.v")), PathBuf::from("d"));
    }

    #[test]
    fn replaced_file_keeps_its_mode() {
        let dir = scratch("mode");
        let v = dir.join("x.v");
        fs::write(&v, "old").unwrap();
        fs::set_permissions(&v, Permissions::from_mode(0o640)).unwrap();
        write_all(vec![planned("--output", &v, "new")], &mut io::sink()).unwrap();
        assert_eq!(fs::read_to_string(&v).unwrap(), "new");
        let mode = fs::metadata(&v).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        assert_eq!(listing(&dir), ["x.v"]);
    }

    #[test]
    fn hard_links_stay_linked() {
        let dir = scratch("hard");
        let a = dir.join("a.v");
        let b = dir.join("b.v");
        fs::write(&a, "old old old").unwrap();
        fs::hard_link(&a, &b).unwrap();
        let ino = fs::metadata(&a).unwrap().ino();
        write_all(vec![planned("--output", &a, "new")], &mut io::sink()).unwrap();
        assert_eq!(fs::read_to_string(&a).unwrap(), "new");
        assert_eq!(fs::read_to_string(&b).unwrap(), "new", "the other name");
        assert_eq!(fs::metadata(&a).unwrap().ino(), ino);
        assert_eq!(fs::metadata(&a).unwrap().nlink(), 2);
    }

    #[test]
    fn symbolic_link_is_written_through() {
        let dir = scratch("symlink");
        fs::create_dir(dir.join("real")).unwrap();
        let target = dir.join("real/t.v");
        fs::write(&target, "old").unwrap();
        fs::set_permissions(&target, Permissions::from_mode(0o600)).unwrap();
        // A relative chain: link.v -> mid.v -> real/t.v.
        std::os::unix::fs::symlink("real/t.v", dir.join("mid.v")).unwrap();
        std::os::unix::fs::symlink("mid.v", dir.join("link.v")).unwrap();
        let link = dir.join("link.v");
        write_all(vec![planned("--output", &link, "new")], &mut io::sink()).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_link(&link).unwrap(), PathBuf::from("mid.v"));
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600);
        assert_eq!(listing(&dir.join("real")), ["t.v"]);
    }

    #[test]
    fn dangling_link_creates_its_target() {
        let dir = scratch("dangling");
        fs::create_dir(dir.join("sub")).unwrap();
        let link = dir.join("link.v");
        std::os::unix::fs::symlink("sub/new.v", &link).unwrap();
        write_all(vec![planned("--output", &link, "made")], &mut io::sink()).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(dir.join("sub/new.v")).unwrap(), "made");
        // A dangling link into a missing folder is a usage error.
        let bad = dir.join("bad.v");
        std::os::unix::fs::symlink("nodir/new.v", &bad).unwrap();
        let e = usage_of(write_all(
            vec![planned("--output", &bad, "x")],
            &mut io::sink(),
        ));
        assert!(e.to_string().contains("does not exist"), "{e}");
    }

    #[test]
    fn devices_are_written_not_replaced() {
        let dir = scratch("device");
        // /dev/null directly and through a link, the way /dev/stdout is a link.
        let link = dir.join("null-link");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        write_all(
            vec![
                planned("--output", Path::new("/dev/null"), "verilog"),
                planned("--json", &dir.join("r.json"), "{}"),
            ],
            &mut io::sink(),
        )
        .unwrap();
        // Both /dev/null: one inode, so a duplicate.
        usage_of(write_all(
            vec![
                planned("--output", Path::new("/dev/null"), "a"),
                planned("--meta", &link, "b"),
            ],
            &mut io::sink(),
        ));
        write_all(vec![planned("--meta", &link, "b")], &mut io::sink()).unwrap();
        assert!(fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(listing(&dir), ["null-link", "r.json"]);
    }

    #[test]
    fn descriptor_names_are_appended_to_not_replaced() {
        use std::os::fd::AsRawFd;
        let dir = scratch("fd");
        let f = dir.join("redirected");
        fs::write(&f, "before\n").unwrap();
        let ino = fs::metadata(&f).unwrap().ino();
        // As if the shell had opened it for us: `gen --meta /dev/fd/N N>>redirected`.
        let open = OpenOptions::new().append(true).open(&f).unwrap();
        let name = PathBuf::from(format!("/dev/fd/{}", open.as_raw_fd()));
        write_all(vec![planned("--meta", &name, "meta\n")], &mut io::sink()).unwrap();
        let proc_name = PathBuf::from(format!("/proc/self/fd/{}", open.as_raw_fd()));
        write_all(
            vec![planned("--meta", &proc_name, "again\n")],
            &mut io::sink(),
        )
        .unwrap();
        assert_eq!(fs::read_to_string(&f).unwrap(), "before\nmeta\nagain\n");
        assert_eq!(fs::metadata(&f).unwrap().ino(), ino, "not replaced");
        assert_eq!(listing(&dir), ["redirected"]);
        drop(open);
        // /dev/stdout is stdout for the duplicate check.
        for stdout_name in ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"] {
            let e = usage_of(write_all(
                vec![
                    Planned::new("--output", Target::Stdout, b"v".to_vec()),
                    planned("--meta", Path::new(stdout_name), "m"),
                ],
                &mut io::sink(),
            ));
            assert!(e.to_string().contains("'--output'"), "{e}");
        }
        assert_eq!(fd_alias(Path::new("/dev/fd/12")), Some(12));
        assert_eq!(fd_alias(Path::new("/dev/fd/")), None);
        assert_eq!(fd_alias(Path::new("/dev/fd/1x")), None);
        assert_eq!(fd_alias(Path::new("/dev/null")), None);
        // A descriptor that is not open.
        usage_of(write_all(
            vec![planned("--meta", Path::new("/dev/fd/987654"), "m")],
            &mut io::sink(),
        ));
    }

    #[test]
    fn fifo_is_written_not_replaced() {
        let dir = scratch("fifo");
        let fifo = dir.join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo (coreutils) runs");
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read(fifo).unwrap())
        };
        write_all(
            vec![planned("--output", &fifo, "through the pipe")],
            &mut io::sink(),
        )
        .unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(listing(&dir), ["pipe"]);
    }

    #[test]
    fn full_device_is_an_io_error_after_the_files() {
        let dir = scratch("full");
        let meta = dir.join("m.json");
        let e = write_all(
            vec![
                planned("--meta", &meta, "{}"),
                planned("--output", Path::new("/dev/full"), "verilog"),
            ],
            &mut io::sink(),
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert_eq!(e.flag(), "--output");
        let text = e.to_string();
        assert!(
            text.contains("/dev/full") && text.contains("already written"),
            "{text}"
        );
        assert!(!text.contains('\n'));
        assert!(fs::metadata("/dev/full")
            .unwrap()
            .file_type()
            .is_char_device());
    }

    #[test]
    fn missing_folder_writes_nothing() {
        let dir = scratch("nodir");
        let meta = dir.join("m.json");
        let e = usage_of(write_all(
            vec![
                planned("--meta", &meta, "{}"),
                planned("--output", &dir.join("nodir/x.v"), "v"),
            ],
            &mut io::sink(),
        ));
        assert_eq!(e.flag(), "--output");
        assert!(e.to_string().contains("does not exist"), "{e}");
        assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));
        // A file where a folder should be.
        fs::write(dir.join("f"), "").unwrap();
        let e = usage_of(write_all(
            vec![planned("--output", &dir.join("f/x.v"), "v")],
            &mut io::sink(),
        ));
        assert!(e.to_string().contains("is a file"), "{e}");
    }

    #[test]
    fn folders_are_usage_errors() {
        let dir = scratch("folders");
        fs::create_dir(dir.join("adir")).unwrap();
        for p in [
            dir.join("adir"),
            PathBuf::from(format!("{}/adir/", dir.display())),
            PathBuf::from(format!("{}/new/", dir.display())),
            PathBuf::from(format!("{}/adir/.", dir.display())),
            PathBuf::from("."),
            PathBuf::from(".."),
            PathBuf::from("/"),
        ] {
            let e = usage_of(write_all(
                vec![planned("--output", &p, "v")],
                &mut io::sink(),
            ));
            assert!(e.to_string().contains("is a folder"), "{p:?}: {e}");
        }
        assert_eq!(listing(&dir), ["adir"]);
        assert!(listing(&dir.join("adir")).is_empty());
        usage_of(write_all(
            vec![planned("--output", Path::new(""), "v")],
            &mut io::sink(),
        ));
    }

    #[test]
    fn long_names_work_up_to_255_bytes() {
        let dir = scratch("long");
        let name = format!("{}.v", "a".repeat(248));
        assert_eq!(name.len(), 250);
        let v = dir.join(&name);
        write_all(vec![planned("--output", &v, "x")], &mut io::sink()).unwrap();
        assert_eq!(fs::read_to_string(&v).unwrap(), "x");
        // Replacing it goes through a temporary file too.
        write_all(vec![planned("--output", &v, "y")], &mut io::sink()).unwrap();
        assert_eq!(fs::read_to_string(&v).unwrap(), "y");
        let max = dir.join("b".repeat(255));
        write_all(vec![planned("--output", &max, "z")], &mut io::sink()).unwrap();
        let e = usage_of(write_all(
            vec![planned("--output", &dir.join("c".repeat(256)), "z")],
            &mut io::sink(),
        ));
        assert!(e.to_string().contains("255"), "{e}");
        assert_eq!(listing(&dir).len(), 2);
    }

    #[test]
    fn the_same_file_twice_is_a_usage_error() {
        let dir = scratch("same");
        fs::create_dir(dir.join("sub")).unwrap();
        let s = dir.join("s.v");
        let e = usage_of(write_all(
            vec![planned("--output", &s, "a"), planned("--meta", &s, "b")],
            &mut io::sink(),
        ));
        assert!(e.to_string().contains("'--output'"), "{e}");
        // Spelled differently, not yet existing.
        usage_of(write_all(
            vec![
                planned("--output", &s, "a"),
                planned("--meta", &dir.join("sub/../s.v"), "b"),
            ],
            &mut io::sink(),
        ));
        assert!(listing(&dir) == ["sub"]);
        // Existing, through a hard link and through a symbolic link.
        fs::write(&s, "old").unwrap();
        fs::hard_link(&s, dir.join("h.v")).unwrap();
        std::os::unix::fs::symlink("s.v", dir.join("l.v")).unwrap();
        for other in ["h.v", "l.v"] {
            usage_of(write_all(
                vec![
                    planned("--output", &s, "a"),
                    planned("--meta", &dir.join(other), "b"),
                ],
                &mut io::sink(),
            ));
        }
        // A dangling link and the file it would create.
        std::os::unix::fs::symlink("t.v", dir.join("d.v")).unwrap();
        usage_of(write_all(
            vec![
                planned("--output", &dir.join("t.v"), "a"),
                planned("--meta", &dir.join("d.v"), "b"),
            ],
            &mut io::sink(),
        ));
        assert_eq!(fs::read_to_string(&s).unwrap(), "old");
        assert!(!dir.join("t.v").exists());
    }

    /// A stdout whose reader has gone.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A stdout that fails otherwise.
    struct BrokenDisk;

    impl Write for BrokenDisk {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn closed_stdout_is_quiet_and_the_files_are_written() {
        assert!(is_broken_pipe(&io::Error::from(io::ErrorKind::BrokenPipe)));
        assert!(!is_broken_pipe(&io::Error::other("x")));
        let dir = scratch("pipe");
        let meta = dir.join("m.json");
        let e = write_all(
            vec![
                Planned::new("--output", Target::Stdout, b"verilog".to_vec()),
                planned("--meta", &meta, "{}"),
            ],
            &mut ClosedPipe,
        )
        .unwrap_err();
        assert!(e.is_broken_pipe());
        assert_eq!(e.exit_code(), 0);
        assert_eq!(e.flag(), "--output");
        assert_eq!(fs::read_to_string(&meta).unwrap(), "{}");
        let e = write_all(
            vec![Planned::new("--output", Target::Stdout, b"v".to_vec())],
            &mut BrokenDisk,
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(e.to_string().contains("disk on fire"), "{e}");
    }

    #[test]
    fn a_real_closed_pipe_gives_broken_pipe() {
        // A pipe whose read end is closed: a child that exits at once, leaving us the
        // write end of its stdin.
        let mut child = std::process::Command::new("true")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("true runs");
        let mut stdin = child.stdin.take().unwrap();
        child.wait().unwrap();
        let e = write_all(
            vec![Planned::new(
                "--output",
                Target::Stdout,
                vec![b'x'; 1 << 16],
            )],
            &mut stdin,
        )
        .unwrap_err();
        assert!(e.is_broken_pipe(), "{e:?}");
    }
}
