//! Bad input to `gen accwidth`, `gen acc-error`, `gen fit`, `gen mx-error`,
//! `gen rangebn-error` and `gen sweep`: every case must exit 2 with exactly one `error:` line naming the
//! flag (or the file and the argument that named it) and the allowed range or the
//! defect, print nothing on stdout, never panic, and leave its (fresh) working folder
//! exactly as it was.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A `.npy` file, version 1.0, with this header dictionary text and data.
fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend((header.len() as u16).to_le_bytes());
    b.extend(header.as_bytes());
    b.extend(data);
    b
}

fn dict(descr: &str, shape: &str) -> String {
    format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}")
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn f64s(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Names and sizes of everything in `dir`, sorted.
fn listing(dir: &Path) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    v.sort();
    v
}

struct Case {
    /// The command line after `gen`.
    args: &'static [&'static str],
    /// Files to create in the working folder first.
    files: Vec<(&'static str, Vec<u8>)>,
    /// Text that stderr must contain: the flag or argument, the file, the range.
    needles: &'static [&'static str],
}

fn case(args: &'static [&'static str], needles: &'static [&'static str]) -> Case {
    Case {
        args,
        files: vec![],
        needles,
    }
}

fn with_file(
    args: &'static [&'static str],
    name: &'static str,
    bytes: Vec<u8>,
    needles: &'static [&'static str],
) -> Case {
    Case {
        args,
        files: vec![(name, bytes)],
        needles,
    }
}

fn check(cases: Vec<Case>, group: &str) {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("bad_input")
        .join(group);
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let dir = root.join(i.to_string());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &c.files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        let before = listing(&dir);
        let o = Command::new(env!("CARGO_BIN_EXE_gen"))
            .args(c.args)
            .current_dir(&dir)
            .output()
            .expect("gen runs");
        let err = String::from_utf8_lossy(&o.stderr);
        let mut wrong = Vec::new();
        if o.status.code() != Some(2) {
            wrong.push(format!("exit {:?}", o.status.code()));
        }
        if !o.stdout.is_empty() {
            wrong.push("stdout not empty".into());
        }
        let errors = err.lines().filter(|l| l.starts_with("error:")).count();
        if errors != 1 {
            wrong.push(format!("{errors} error: lines"));
        }
        if err.contains("panicked") {
            wrong.push("panic".into());
        }
        for n in c.needles {
            if !err.contains(n) {
                wrong.push(format!("'{n}' missing"));
            }
        }
        if listing(&dir) != before {
            wrong.push(format!("folder changed: {:?}", listing(&dir)));
        }
        if !wrong.is_empty() {
            failures.push(format!("gen {:?}: {}\n{err}", c.args, wrong.join(", ")));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn accwidth() {
    const K: &str = "1..=1099511627776";
    const I64: &str = "-9223372036854775808..=9223372036854775807";
    let w = || b"1 -2 3".to_vec();
    check(
        vec![
            // Out of range.
            case(&["accwidth", "--k", "0"], &["'--k <K>'", K]),
            case(&["accwidth", "--k", "1099511627777"], &["'--k <K>'", K]),
            case(
                &["accwidth", "--k", "99999999999999999999999"],
                &["'--k <K>'", K],
            ),
            case(
                &["accwidth", "--k", "4", "--in", "33"],
                &["'--in <BITS>'", "2..=32"],
            ),
            case(
                &["accwidth", "--k", "4", "--in", "1"],
                &["'--in <BITS>'", "2..=32"],
            ),
            case(
                &["accwidth", "--k", "4", "--weight-bits", "33"],
                &["'--weight-bits <BITS>'", "2..=32"],
            ),
            case(
                &["accwidth", "--k", "4", "--acc", "65"],
                &["'--acc <BITS>'", "2..=64"],
            ),
            case(
                &["accwidth", "--k", "4", "--in-a", "33"],
                &["'--in-a <BITS>'", "2..=32"],
            ),
            case(
                &["accwidth", "--k", "4", "--in-b", "1"],
                &["'--in-b <BITS>'", "2..=32"],
            ),
            // An operand flag beside the flag it stands for.
            case(
                &["accwidth", "--k", "4", "--in-a", "4", "--weight-bits", "4"],
                &[
                    "'--in-a <BITS>'",
                    "'--weight-bits <BITS>'",
                    "cannot be used with",
                ],
            ),
            case(
                &["accwidth", "--k", "4", "--in", "8", "--in-b", "8"],
                &["'--in <BITS>'", "'--in-b <BITS>'", "cannot be used with"],
            ),
            // Negative.
            case(&["accwidth", "--k", "-1"], &["'--k <K>'", K]),
            case(
                &["accwidth", "--k", "4", "--in", "-8"],
                &["'--in <BITS>'", "2..=32"],
            ),
            case(
                &["accwidth", "--k", "4", "--weight-bits", "-8"],
                &["'--weight-bits <BITS>'", "2..=32"],
            ),
            case(
                &["accwidth", "--k", "4", "--acc", "-12"],
                &["'--acc <BITS>'", "2..=64"],
            ),
            // Malformed.
            case(&["accwidth", "--k", "1e3"], &["'--k <K>'", K]),
            case(&["accwidth", "--k", "0x10"], &["'--k <K>'", K]),
            case(&["accwidth", "--k", "4.5"], &["'--k <K>'", K]),
            case(
                &["accwidth", "--k", "4", "--in", "eight"],
                &["'--in <BITS>'", "2..=32"],
            ),
            case(&["accwidth", "--k"], &["'--k <K>'"]),
            case(
                &["accwidth", "--k", "--in", "8"],
                &["'--k <K>'", "a value is required"],
            ),
            // Empty.
            case(&["accwidth", "--k", ""], &["'--k <K>'", K]),
            case(
                &["accwidth", "--weights", ""],
                &["'--weights <FILE>'", "empty file name"],
            ),
            case(&["accwidth"], &["--k <K>", "--weights <FILE>"]),
            // Unicode.
            case(&["accwidth", "--k", "\u{ff14}"], &["'--k <K>'", K]),
            case(
                &["accwidth", "--k", "4", "--in", "\u{516b}"],
                &["'--in <BITS>'", "2..=32"],
            ),
            case(
                &["accwidth", "--weights", "\u{f1}.txt"],
                &["'--weights <FILE>'", "\u{f1}.txt"],
            ),
            // Conflicting or ineffective.
            with_file(
                &["accwidth", "--k", "4", "--weights", "w.txt"],
                "w.txt",
                w(),
                &["--weights", "--k"],
            ),
            with_file(
                &["accwidth", "--weights", "w.txt", "--weight-bits", "4"],
                "w.txt",
                w(),
                &["--weights", "--weight-bits"],
            ),
            with_file(
                &["accwidth", "--weights", "w.txt", "--a-unsigned"],
                "w.txt",
                w(),
                &["--weights", "--a-unsigned"],
            ),
            with_file(
                &["accwidth", "--in-a", "4", "--weights", "w.txt"],
                "w.txt",
                w(),
                &["--weights", "--in-a"],
            ),
            case(
                &["accwidth", "--k", "4", "--k", "5"],
                &["'--k <K>'", "multiple"],
            ),
            // Missing file.
            case(
                &["accwidth", "--weights", "missing.txt"],
                &["'--weights <FILE>'", "missing.txt", "cannot read"],
            ),
            // Bad files.
            with_file(
                &["accwidth", "--weights", "w.txt"],
                "w.txt",
                b"1 2.5".to_vec(),
                &["'--weights <FILE>'", "w.txt", "'2.5' (value 2)", I64],
            ),
            with_file(
                &["accwidth", "--weights", "w.txt"],
                "w.txt",
                b"9223372036854775808".to_vec(),
                &["w.txt", I64],
            ),
            with_file(
                &["accwidth", "--weights", "w.txt"],
                "w.txt",
                b"1 NaN".to_vec(),
                &["w.txt", "'NaN'"],
            ),
            with_file(
                &["accwidth", "--weights", "w.txt"],
                "w.txt",
                b" \n, ".to_vec(),
                &["w.txt", "no values"],
            ),
            with_file(
                &["accwidth", "--weights", "w.txt"],
                "w.txt",
                "\u{ff11}".into(),
                &["w.txt", "'\u{ff11}'"],
            ),
            with_file(
                &["accwidth", "--weights", "w.bin"],
                "w.bin",
                vec![0xff, 0, 0x80],
                &["w.bin", "neither"],
            ),
            with_file(
                &["accwidth", "--weights", "w.npy"],
                "w.npy",
                npy(&dict("<i4", "(3,)"), &[0; 8]),
                &["'--weights <FILE>'", "w.npy", "truncated"],
            ),
            with_file(
                &["accwidth", "--weights", "w.npy"],
                "w.npy",
                npy(&dict("<i4", "(2,)"), &[0; 9]),
                &["w.npy", "extra bytes"],
            ),
            with_file(
                &["accwidth", "--weights", "w.npy"],
                "w.npy",
                npy(&dict("<i4", "(-2,)"), &[0; 8]),
                &["w.npy", "negative dimension -2"],
            ),
            with_file(
                &["accwidth", "--weights", "w.npy"],
                "w.npy",
                npy(&dict("<i4", "(0,)"), &[]),
                &["w.npy", "empty array"],
            ),
            with_file(
                &["accwidth", "--weights", "w.npy"],
                "w.npy",
                npy(&dict("<c8", "(1,)"), &[0; 8]),
                &["w.npy", "unsupported dtype '<c8'"],
            ),
            with_file(
                &["accwidth", "--weights", "w.npy"],
                "w.npy",
                npy(&dict("<f8", "(2,)"), &f64s(&[1.0, 0.5])),
                &["w.npy", "5e-1 (value 2)"],
            ),
            with_file(
                &["accwidth", "--weights", "w.npy"],
                "w.npy",
                npy(&dict("<f4", "(1,)"), &f32s(&[f32::INFINITY])),
                &["w.npy", "inf (value 1)"],
            ),
            with_file(
                &["accwidth", "--weights", "w.npy"],
                "w.npy",
                npy(&dict("<u8", "(1,)"), &u64::MAX.to_le_bytes()),
                &["w.npy", "18446744073709551615 (value 1)"],
            ),
            with_file(
                &["accwidth", "--weights", "w.npy"],
                "w.npy",
                b"\x93NUMPY\x09\x00".to_vec(),
                &["w.npy", "version 9.0"],
            ),
        ],
        "accwidth",
    );
}

#[test]
fn acc_error() {
    const TRIALS: &str = "1..=100000";
    const SIGMA: &str = "(0, 1000]";
    const SEED: &str = "0..=18446744073709551615";
    check(
        vec![
            // Out of range (and no --output file written).
            case(
                &["acc-error", "--trials", "0", "--output", "t.md"],
                &["'--trials <N>'", TRIALS],
            ),
            case(
                &["acc-error", "--trials", "100001"],
                &["'--trials <N>'", TRIALS],
            ),
            case(
                &["acc-error", "--trials", "4294967296"],
                &["'--trials <N>'", TRIALS],
            ),
            case(
                &["acc-error", "--sigma", "0"],
                &["'--sigma <SIGMA>'", SIGMA],
            ),
            case(
                &["acc-error", "--sigma", "1000.5"],
                &["'--sigma <SIGMA>'", SIGMA],
            ),
            case(
                &["acc-error", "--sigma", "1e400"],
                &["'--sigma <SIGMA>'", SIGMA],
            ),
            case(
                &["acc-error", "--seed", "18446744073709551616"],
                &["'--seed <SEED>'", SEED],
            ),
            // Negative.
            case(
                &["acc-error", "--trials", "-1"],
                &["'--trials <N>'", TRIALS],
            ),
            case(
                &["acc-error", "--sigma", "-1"],
                &["'--sigma <SIGMA>'", SIGMA],
            ),
            case(&["acc-error", "--seed", "-1"], &["'--seed <SEED>'", SEED]),
            // Malformed, NaN and infinities.
            case(
                &["acc-error", "--trials", "ten"],
                &["'--trials <N>'", TRIALS],
            ),
            case(
                &["acc-error", "--trials", "2.0"],
                &["'--trials <N>'", TRIALS],
            ),
            case(
                &["acc-error", "--sigma", "NaN"],
                &["'--sigma <SIGMA>'", SIGMA],
            ),
            case(
                &["acc-error", "--sigma", "inf"],
                &["'--sigma <SIGMA>'", SIGMA],
            ),
            case(
                &["acc-error", "--sigma", "-inf"],
                &["'--sigma <SIGMA>'", SIGMA],
            ),
            case(
                &["acc-error", "--sigma", "3,5"],
                &["'--sigma <SIGMA>'", SIGMA],
            ),
            case(&["acc-error", "--seed", "0x1"], &["'--seed <SEED>'", SEED]),
            // Empty.
            case(&["acc-error", "--trials", ""], &["'--trials <N>'", TRIALS]),
            case(&["acc-error", "--sigma", ""], &["'--sigma <SIGMA>'", SIGMA]),
            case(
                &["acc-error", "--output", ""],
                &["'--output <FILE>'", "empty file name"],
            ),
            case(&["acc-error", "--output"], &["'--output <FILE>'"]),
            // Unicode.
            case(
                &["acc-error", "--trials", "\u{ff15}"],
                &["'--trials <N>'", TRIALS],
            ),
            case(
                &["acc-error", "--sigma", "\u{3c3}"],
                &["'--sigma <SIGMA>'", SIGMA],
            ),
            // Conflicting: a flag given twice.
            case(
                &["acc-error", "--trials", "3", "--trials", "4"],
                &["'--trials <N>'", "multiple"],
            ),
        ],
        "acc-error",
    );
}

#[test]
fn fit() {
    const BITS: &str = "2..=8";
    const COUNT: &str = "1..=10000000";
    const SEED: &str = "0..=18446744073709551615";
    let t = || b"1 -2 0.5".to_vec();
    let f4 = |v: &[f32]| npy(&dict("<f4", &format!("({},)", v.len())), &f32s(v));
    check(
        vec![
            // Out of range.
            case(
                &["fit", "--synthetic", "gaussian", "--bits", "9"],
                &["'--bits <BITS>'", BITS],
            ),
            case(
                &["fit", "--synthetic", "gaussian", "--bits", "1"],
                &["'--bits <BITS>'", BITS],
            ),
            case(
                &["fit", "--synthetic", "gaussian", "--count", "0"],
                &["'--count <COUNT>'", COUNT],
            ),
            case(
                &["fit", "--synthetic", "gaussian", "--count", "10000001"],
                &["'--count <COUNT>'", COUNT],
            ),
            // Negative.
            case(
                &["fit", "--synthetic", "gaussian", "--bits", "-5"],
                &["'--bits <BITS>'", BITS],
            ),
            case(
                &["fit", "--synthetic", "gaussian", "--count", "-5"],
                &["'--count <COUNT>'", COUNT],
            ),
            case(
                &["fit", "--synthetic", "gaussian", "--seed", "-5"],
                &["'--seed <SEED>'", SEED],
            ),
            // Malformed.
            case(
                &["fit", "--synthetic", "gaussian", "--count", "1k"],
                &["'--count <COUNT>'", COUNT],
            ),
            case(
                &["fit", "--synthetic", "gaussian", "--count", "--bits", "3"],
                &["'--count <COUNT>'", "a value is required"],
            ),
            case(
                &["fit", "--synthetic", "gaussian", "--bits", "4.0"],
                &["'--bits <BITS>'", BITS],
            ),
            case(
                &["fit", "--synthetic", "normal"],
                &["'--synthetic <SYNTHETIC>'", "gaussian"],
            ),
            case(
                &["fit", "--synthetic", "gaussian", "--metric", "l3"],
                &["'--metric <METRIC>'", "mse"],
            ),
            // Empty.
            case(&["fit", ""], &["'[FILE]'", "empty file name"]),
            case(
                &["fit", "--synthetic", "gaussian", "--count", ""],
                &["'--count <COUNT>'", COUNT],
            ),
            case(&["fit"], &["FILE", "--synthetic"]),
            // Unicode.
            case(
                &["fit", "--synthetic", "gaussian", "--bits", "\u{ff18}"],
                &["'--bits <BITS>'", BITS],
            ),
            case(
                &["fit", "\u{e9}t\u{e9}.npy"],
                &["'[FILE]'", "\u{e9}t\u{e9}.npy", "cannot read"],
            ),
            // Conflicting or ineffective.
            with_file(
                &["fit", "t.txt", "--count", "5"],
                "t.txt",
                t(),
                &["[FILE]", "--count"],
            ),
            with_file(
                &["fit", "t.txt", "--seed", "5"],
                "t.txt",
                t(),
                &["[FILE]", "--seed"],
            ),
            with_file(
                &["fit", "t.txt", "--synthetic", "uniform"],
                "t.txt",
                t(),
                &["[FILE]", "--synthetic"],
            ),
            // Missing file.
            case(
                &["fit", "missing.npy"],
                &["'[FILE]'", "missing.npy", "cannot read"],
            ),
            // Bad text files.
            with_file(
                &["fit", "t.txt"],
                "t.txt",
                b"1 NaN 2".to_vec(),
                &[
                    "'[FILE]'",
                    "t.txt",
                    "'NaN' (value 2) is not a finite float32",
                ],
            ),
            with_file(
                &["fit", "t.txt"],
                "t.txt",
                b"inf".to_vec(),
                &["t.txt", "'inf' (value 1)"],
            ),
            with_file(
                &["fit", "t.txt"],
                "t.txt",
                b"-infinity".to_vec(),
                &["t.txt", "'-infinity' (value 1)"],
            ),
            with_file(
                &["fit", "t.txt"],
                "t.txt",
                b"1\n1e400".to_vec(),
                &["t.txt", "'1e400' (value 2)"],
            ),
            with_file(
                &["fit", "t.txt"],
                "t.txt",
                b"1, x".to_vec(),
                &["t.txt", "'x' (value 2)"],
            ),
            with_file(
                &["fit", "t.txt"],
                "t.txt",
                b"".to_vec(),
                &["t.txt", "no values"],
            ),
            with_file(
                &["fit", "t.txt"],
                "t.txt",
                b"0 -0 0.0".to_vec(),
                &["t.txt", "every value is 0"],
            ),
            with_file(
                &["fit", "t.txt"],
                "t.txt",
                "\u{3c0}".into(),
                &["t.txt", "'\u{3c0}' (value 1)"],
            ),
            // Bad .npy files.
            with_file(
                &["fit", "t.npy"],
                "t.npy",
                npy(&dict("<f4", "(4,)"), &f32s(&[1.0, 2.0, 3.0])),
                &["'[FILE]'", "t.npy", "truncated"],
            ),
            with_file(
                &["fit", "t.npy"],
                "t.npy",
                npy(&dict("<f4", "(2,)"), &f32s(&[1.0, 2.0, 3.0])),
                &["t.npy", "extra bytes"],
            ),
            with_file(
                &["fit", "t.npy"],
                "t.npy",
                npy(&dict("<f4", "(2, -1)"), &f32s(&[1.0, 2.0])),
                &["t.npy", "negative dimension -1"],
            ),
            with_file(
                &["fit", "t.npy"],
                "t.npy",
                npy(&dict("<f4", "(0,)"), &[]),
                &["t.npy", "empty array"],
            ),
            with_file(
                &["fit", "t.npy"],
                "t.npy",
                npy(&dict(">f4", "(1,)"), &f32s(&[1.0])),
                &["t.npy", "unsupported dtype '>f4'", "<f4"],
            ),
            with_file(
                &["fit", "t.npy"],
                "t.npy",
                npy(&dict("<U3", "(1,)"), &[0; 12]),
                &["t.npy", "unsupported dtype '<U3'"],
            ),
            with_file(
                &["fit", "t.npy"],
                "t.npy",
                f4(&[1.0, f32::NAN]),
                &["t.npy", "NaN (value 2)"],
            ),
            with_file(
                &["fit", "t.npy"],
                "t.npy",
                f4(&[f32::NEG_INFINITY]),
                &["t.npy", "-inf (value 1)"],
            ),
            with_file(
                &["fit", "t.npy"],
                "t.npy",
                npy(&dict("<f8", "(2,)"), &f64s(&[1.0, 1e300])),
                &["t.npy", "1e300 (value 2)"],
            ),
            with_file(
                &["fit", "t.npy"],
                "t.npy",
                f4(&[0.0, 0.0]),
                &["t.npy", "every value is 0"],
            ),
            with_file(
                &["fit", "t.npy"],
                "t.npy",
                b"\x93NUMPY\x01\x00\x40\x00{'descr'".to_vec(),
                &["t.npy", "truncated"],
            ),
            with_file(
                &["fit", "t.npy"],
                "t.npy",
                npy("{'descr': '<f4', 'shape': (1,)}", &f32s(&[1.0])),
                &["t.npy", "fortran_order"],
            ),
        ],
        "fit",
    );
}

/// `gen mx-error` shares `gen fit`'s tensor flags (their cases are above) and adds
/// `--block` and `--rounding`.
#[test]
fn mx_error() {
    const BLOCK: &str = "1..=64";
    let t = || b"1 -2 0.5".to_vec();
    check(
        vec![
            case(
                &["mx-error", "--synthetic", "gaussian", "--block", "0"],
                &["'--block <BLOCK>'", BLOCK],
            ),
            case(
                &["mx-error", "--synthetic", "gaussian", "--block", "65"],
                &["'--block <BLOCK>'", BLOCK],
            ),
            case(
                &["mx-error", "--synthetic", "gaussian", "--block", "-1"],
                &["'--block <BLOCK>'", BLOCK],
            ),
            case(
                &["mx-error", "--synthetic", "gaussian", "--block", "1k"],
                &["'--block <BLOCK>'", BLOCK],
            ),
            case(
                &["mx-error", "--synthetic", "gaussian", "--rounding", "sr"],
                &["'--rounding <ROUNDING>'", "rne", "away"],
            ),
            case(
                &["mx-error", "--synthetic", "gaussian", "--count", "0"],
                &["'--count <COUNT>'", "1..=10000000"],
            ),
            case(&["mx-error"], &["FILE", "--synthetic"]),
            case(
                &["mx-error", "missing.npy"],
                &["'[FILE]'", "missing.npy", "cannot read"],
            ),
            with_file(
                &["mx-error", "t.txt", "--count", "5"],
                "t.txt",
                t(),
                &["[FILE]", "--count"],
            ),
            with_file(
                &["mx-error", "t.txt"],
                "t.txt",
                b"1 NaN 2".to_vec(),
                &["t.txt", "'NaN' (value 2) is not a finite float32"],
            ),
        ],
        "mx-error",
    );
}

/// `gen rangebn-error`: its own flags, out of range, negative and malformed, and an
/// output folder that does not exist (nothing written).
#[test]
fn rangebn_error() {
    const TRIALS: &str = "2..=100000";
    const SEED: &str = "0..=18446744073709551615";
    check(
        vec![
            case(
                &["rangebn-error", "--trials", "0", "--output", "t.md"],
                &["'--trials <N>'", TRIALS],
            ),
            case(
                &["rangebn-error", "--trials", "1"],
                &["'--trials <N>'", TRIALS],
            ),
            case(
                &["rangebn-error", "--trials", "100001"],
                &["'--trials <N>'", TRIALS],
            ),
            case(
                &["rangebn-error", "--trials", "-3"],
                &["'--trials <N>'", TRIALS],
            ),
            case(
                &["rangebn-error", "--trials", "many"],
                &["'--trials <N>'", TRIALS],
            ),
            case(
                &["rangebn-error", "--seed", "18446744073709551616"],
                &["'--seed <SEED>'", SEED],
            ),
            case(
                &["rangebn-error", "--seed", "x"],
                &["'--seed <SEED>'", SEED],
            ),
            case(
                &["rangebn-error", "--trials", "2", "--output", "no/such/t.md"],
                &["--output", "the folder 'no/such' does not exist"],
            ),
        ],
        "rangebn-error",
    );
}

/// `gen sweep`: its own flags, a missing spec, and specs with an unknown unit or key, an
/// empty range, a value out of range, an invalid combination, a stage not implemented
/// yet: each names the file, line and key, and nothing is written (not even the default
/// output folder build/sweep/<spec>).
#[test]
fn sweep() {
    let spec = |text: &str| text.as_bytes().to_vec();
    check(
        vec![
            case(&["sweep", "no.toml"], &["'<SPEC.toml>'", "no.toml"]),
            case(
                &["sweep", "s.toml", "--jobs", "0"],
                &["'--jobs <N>'", "1..=256"],
            ),
            case(
                &["sweep", "s.toml", "--stages", "place"],
                &["'--stages", "emit"],
            ),
            with_file(
                &["sweep", "s.toml", "--stages", "emit,error"],
                "s.toml",
                spec("[workload]\nx = \"a.npy\"\nw = \"b.npy\"\n[[unit]]\nname = \"mac\"\n"),
                &["[workload] key 'x'", "a.npy"],
            ),
            with_file(
                &["sweep", "s.toml"],
                "s.toml",
                spec("[[unit]]\nname = \"nosuch\"\n"),
                &["s.toml:2:", "'name'", "unknown unit 'nosuch'", "bfp-dot"],
            ),
            with_file(
                &["sweep", "s.toml"],
                "s.toml",
                spec("[[unit]]\nname = \"mac\"\nwidth = 8\n"),
                &["s.toml:3:", "unknown key 'width'", "acc"],
            ),
            with_file(
                &["sweep", "s.toml"],
                "s.toml",
                spec("[[unit]]\nname = \"mac\"\nacc = { from = 4, to = 16, step = 0 }\n"),
                &["s.toml:3:", "'acc'", "step 0"],
            ),
            with_file(
                &["sweep", "s.toml"],
                "s.toml",
                spec("[[unit]]\nname = \"mac\"\nacc = { from = 32, to = 16 }\n"),
                &["s.toml:3:", "'acc'", "is empty"],
            ),
            with_file(
                &["sweep", "s.toml"],
                "s.toml",
                spec("[[unit]]\nname = \"mac\"\nin = { from = 8, to = 40, step = 8 }\n"),
                &["s.toml:3:", "'in' = 40", "'--in <BITS>'", "2..=32"],
            ),
            with_file(
                &["sweep", "s.toml"],
                "s.toml",
                spec("[[unit]]\nname = \"mac\"\nsigned = true\nunsigned = true\n"),
                &["s.toml:", "'--unsigned'", "cannot be used with"],
            ),
            with_file(
                &["sweep", "s.toml"],
                "s.toml",
                spec("[[unit]]\nname = \"mac\"\nsigned = 1\n"),
                &["s.toml:3:", "'signed'", "true or false"],
            ),
            with_file(
                &["sweep", "s.toml"],
                "s.toml",
                spec("tools = [\"debian\"]\ndevices = [\"ecp5-25k\"]\n[[unit]]\nname = \"mac\"\n"),
                &["s.toml:1:", "key 'tools'", "needs --tools yowasp"],
            ),
            with_file(
                &["sweep", "s.toml"],
                "s.toml",
                spec("seed = -1\n[[unit]]\nname = \"mac\"\n"),
                &["s.toml:1:", "'seed'", "0..=4294967295"],
            ),
            with_file(
                &["sweep", "s.toml"],
                "s.toml",
                spec("devices = [\"up5k\"]\n"),
                &["s.toml", "no [[unit]] table"],
            ),
        ],
        "sweep",
    );
}
