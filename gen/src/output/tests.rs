//! Unit tests of the parent module.

use super::*;
use std::os::unix::fs::PermissionsExt;

/// A fresh empty folder under the system's temporary folder.
fn scratch(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("lowbit-output-{}-{n}-{name}", std::process::id()));
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
