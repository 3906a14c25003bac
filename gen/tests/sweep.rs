//! `gen sweep`: a small spec run from a fresh folder gives the right CSV and JSON rows,
//! a rerun takes every result from the cache (and runs no tool: the tools on the rerun's
//! PATH or --tools-dir are stand-ins that fail and leave a mark), a point that does not
//! fit its device is a row with its error, and bad specs are refused before anything
//! runs (gen/tests/bad_input.rs has more of those).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fresh(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("sweep")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn gen(dir: &Path, args: &[&str], path: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gen"));
    c.args(args).current_dir(dir);
    if let Some(p) = path {
        c.env("PATH", p);
    }
    c.output().expect("gen runs")
}

/// The CSV as a header and rows of fields (RFC 4180 quoting).
fn csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut rows = vec![vec![String::new()]];
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let row = rows.last_mut().unwrap();
        match (c, quoted) {
            ('"', false) => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                row.last_mut().unwrap().push('"');
            }
            ('"', true) => quoted = false,
            (',', false) => row.push(String::new()),
            ('\n', false) => rows.push(vec![String::new()]),
            (c, _) => row.last_mut().unwrap().push(c),
        }
    }
    assert!(!quoted, "an unterminated quote");
    assert_eq!(
        rows.pop(),
        Some(vec![String::new()]),
        "the CSV ends with a line break"
    );
    let header = rows.remove(0);
    (header, rows)
}

fn field<'a>(header: &[String], row: &'a [String], name: &str) -> &'a str {
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    &row[i]
}

/// A folder of stand-in tools: each writes its name to `mark` and fails.
fn stand_ins(dir: &Path, tools: &[&str], mark: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("stand-ins");
    std::fs::create_dir_all(&bin).unwrap();
    for t in tools {
        let p = bin.join(t);
        std::fs::write(
            &p,
            format!("#!/bin/sh\necho {t} >> '{}'\nexit 1\n", mark.display()),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

#[test]
fn emit_and_lint_rows_then_the_cache() {
    let dir = fresh("lint");
    std::fs::write(
        dir.join("s.toml"),
        "devices = [\"up5k\"]\nstages = [\"emit\", \"lint\"]\n\n[[unit]]\nname = \"mac\"\nacc = [12, 16]\n",
    )
    .unwrap();
    let o = gen(
        &dir,
        &["sweep", "s.toml", "--output-dir", "out", "--jobs", "2"],
        None,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(o.stdout.is_empty());
    assert!(
        err.contains("2 rows (emit, lint): 2 done, 0 from the cache, 0 failed"),
        "{err}"
    );
    let (h, rows) = csv(&dir.join("out/sweep.csv"));
    assert_eq!(&h[..3], ["unit", "acc", "device"]);
    assert_eq!(h.last().unwrap(), "error");
    assert_eq!(rows.len(), 2);
    for (row, acc) in rows.iter().zip(["12", "16"]) {
        assert_eq!(row.len(), h.len());
        assert_eq!(field(&h, row, "unit"), "mac");
        assert_eq!(field(&h, row, "acc"), acc);
        assert_eq!(field(&h, row, "module"), format!("mac_s8x8_acc{acc}_sat"));
        assert_eq!(field(&h, row, "latency"), "1");
        assert_eq!(field(&h, row, "lint"), "clean");
        assert_eq!(field(&h, row, "tools"), "");
        assert_eq!(field(&h, row, "luts"), "");
        assert_eq!(field(&h, row, "cached"), "false");
        assert_eq!(field(&h, row, "error"), "");
        let m = format!("mac_s8x8_acc{acc}_sat");
        let v = std::fs::read_to_string(dir.join(format!("out/points/{m}/{m}.v"))).unwrap();
        assert!(v.contains(&format!("module {m}")));
        assert!(dir.join(format!("out/points/{m}/{m}.json")).is_file());
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/sweep.json")).unwrap())
            .unwrap();
    let jrows = json["rows"].as_array().unwrap();
    assert_eq!(jrows.len(), 2);
    assert_eq!(jrows[1]["params"]["acc"], "16");
    assert_eq!(jrows[1]["lint"], "clean");
    assert!(jrows[1]["error"].is_null());
    assert_eq!(json["stages"], serde_json::json!(["emit", "lint"]));

    // The rerun: a verilator that fails and leaves a mark is first on PATH.
    let mark = dir.join("ran");
    let bin = stand_ins(&dir, &["verilator"], &mark);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let o = gen(
        &dir,
        &["sweep", "s.toml", "--output-dir", "out"],
        Some(&path),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("2 done, 2 from the cache, 0 failed"), "{err}");
    assert!(!mark.exists(), "a tool ran on the rerun");
    let (h, rows) = csv(&dir.join("out/sweep.csv"));
    assert!(rows
        .iter()
        .all(|r| field(&h, r, "cached") == "true" && field(&h, r, "lint") == "clean"));

    // A new point runs (the stand-in verilator: its lint fails), the old ones do not.
    std::fs::write(
        dir.join("s.toml"),
        "devices = [\"up5k\"]\nstages = [\"emit\", \"lint\"]\n\n[[unit]]\nname = \"mac\"\nacc = [12, 16, 20]\n",
    )
    .unwrap();
    let o = gen(
        &dir,
        &["sweep", "s.toml", "--output-dir", "out"],
        Some(&path),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("3 rows (emit, lint): 2 done, 2 from the cache, 1 failed"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&mark).unwrap(), "verilator\n");
    let (h, rows) = csv(&dir.join("out/sweep.csv"));
    assert_eq!(field(&h, &rows[2], "lint"), "failed");
    assert!(field(&h, &rows[2], "error").starts_with("lint: "));
}

/// One point through the flow on the UP5K with Debian's tools, and one that does not
/// fit: a row with its error. The rerun takes both from the cache.
#[test]
fn synth_rows_and_a_point_that_does_not_fit() {
    let dir = fresh("synth");
    std::fs::write(
        dir.join("s.toml"),
        "devices = [\"up5k\"]\ntools = [\"debian\"]\nstages = [\"emit\", \"synth\"]\nseed = 1\n\n\
         [[unit]]\nname = \"mac\"\nacc = 12\n\n[[unit]]\nname = \"bfp-dot\"\nblock = 32\nmant = 8\n",
    )
    .unwrap();
    let o = gen(
        &dir,
        &["sweep", "s.toml", "--output-dir", "out", "--jobs", "2"],
        None,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("2 rows (emit, synth): 1 done, 0 from the cache, 1 failed"),
        "{err}"
    );
    let (h, rows) = csv(&dir.join("out/sweep.csv"));
    assert_eq!(rows.len(), 2);
    let ok = &rows[0];
    assert_eq!(field(&h, ok, "tools"), "debian");
    assert_eq!(field(&h, ok, "module"), "mac_s8x8_acc12_sat");
    let luts: f64 = field(&h, ok, "luts").parse().unwrap();
    let fmax: f64 = field(&h, ok, "fmax_mhz").parse().unwrap();
    assert!(luts > 50.0 && fmax > 5.0, "{luts} LUTs, {fmax} MHz");
    assert!(field(&h, ok, "ffs").parse::<u64>().unwrap() >= 12);
    let per_lut: f64 = field(&h, ok, "mmacs_per_lut").parse().unwrap();
    assert!((per_lut - fmax / luts).abs() < 0.001, "{per_lut}");
    assert_eq!(field(&h, ok, "error"), "");
    let bad = &rows[1];
    assert_eq!(field(&h, bad, "module"), "bfp_dot_n32_m8_e10");
    assert_eq!(field(&h, bad, "luts"), "");
    assert!(
        field(&h, bad, "error").starts_with("synth: ICESTORM_LC ")
            && field(&h, bad, "error").contains("ERROR: Unable to place"),
        "{}",
        field(&h, bad, "error")
    );

    let mark = dir.join("ran");
    let bin = stand_ins(&dir, &["yosys", "nextpnr-ice40", "icepack"], &mark);
    let o = gen(
        &dir,
        &[
            "sweep",
            "s.toml",
            "--output-dir",
            "out",
            "--tools-dir",
            bin.to_str().unwrap(),
        ],
        None,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("1 done, 2 from the cache, 1 failed"), "{err}");
    assert!(!mark.exists(), "a tool ran on the rerun");
    let (h2, rows2) = csv(&dir.join("out/sweep.csv"));
    assert_eq!(field(&h2, &rows2[0], "luts"), field(&h, ok, "luts"));
    assert_eq!(field(&h2, &rows2[0], "cached"), "true");
}

/// Bad specs: exit 2, the file, line and key in the one error line, and no output
/// folder.
#[test]
fn bad_specs_are_refused_before_anything_runs() {
    let cases: &[(&str, &[&str])] = &[
        (
            "[[unit]]\nname = \"macc\"\n",
            &["s.toml:2:", "'name'", "unknown unit 'macc'"],
        ),
        (
            "[[unit]]\nname = \"mac\"\naccc = 12\n",
            &["s.toml:3:", "unknown key 'accc'"],
        ),
        (
            "[[unit]]\nname = \"mac\"\nacc = { from = 16, to = 12 }\n",
            &["s.toml:3:", "'acc'", "empty"],
        ),
        (
            "[[unit]]\nname = \"mac\"\nacc = []\n",
            &["s.toml:3:", "'acc'", "empty"],
        ),
        (
            "[[unit]]\nname = \"mac\"\nacc = [12,\n  65]\n",
            &["s.toml:4:", "'acc' = 65", "2..=64"],
        ),
        (
            "[[unit]]\nname = \"bfp-dot\"\nblock = 8\nlanes = 3\n",
            &["s.toml:4:", "'lanes' = 3", "divisor"],
        ),
        (
            "devices = [\"hx8k\"]\n[[unit]]\nname = \"mac\"\ndsp = true\n",
            &["s.toml:4:", "'dsp'", "HX8K"],
        ),
        (
            "devices = [\"up6k\"]\n[[unit]]\nname = \"mac\"\n",
            &["s.toml:1:", "'devices'", "up5k"],
        ),
        (
            "stages = [\"emit\", \"simulate\"]\n[[unit]]\nname = \"mac\"\n",
            &["s.toml:1:", "'stages'", "'simulate' is not allowed", "cosim"],
        ),
        (
            "[workload]\ndist = \"cauchy\"\n[[unit]]\nname = \"mac\"\n",
            &["s.toml:2:", "'dist'", "gaussian, laplace, uniform, relu"],
        ),
        (
            "[workload]\nk = [256, 0]\n[[unit]]\nname = \"mac\"\n",
            &["s.toml:2:", "'k'", "1..=65536"],
        ),
        (
            "[workload]\nx = \"a.npy\"\n[[unit]]\nname = \"mac\"\n",
            &["s.toml:1:", "'x' and 'w' go together"],
        ),
        (
            "stages = [\"error\"]\n[workload]\nx = \"a.npy\"\nw = \"b.npy\"\n[[unit]]\nname = \"mac\"\n",
            &["s.toml:2:", "key 'x'", "a.npy"],
        ),
        (
            "[cosim]\nbeats = 0\n[[unit]]\nname = \"mac\"\n",
            &["s.toml:2:", "'beats'", "1..=10000000"],
        ),
        (
            "[[unit]]\nname = \"mac\"\nacc = [12, 16]\n[[plot]]\nx = \"acc\"\ny = \"snr\"\n",
            &["s.toml:4:", "'y'", "no column 'snr'", "snr_db"],
        ),
        (
            "[[unit]]\nname = \"mac\"\n[[plot]]\nx = \"luts\"\ny = \"snr_db\"\n",
            &["s.toml:3:", "'y'", "'snr_db' comes from the error stage"],
        ),
        (
            "[[unit]]\nname = \"mac\"\n[[plot]]\nx = \"luts\"\ny = \"fmax_mhz\"\nfile = \"../a.svg\"\n",
            &["s.toml:6:", "'file'", "ending in .svg"],
        ),
        (
            "[[unit]]\nname = \"mac\"\nacc = 12 12\n",
            &["s.toml:3:", "not valid TOML"],
        ),
    ];
    let dir = fresh("bad");
    let mut failures = Vec::new();
    for (text, needles) in cases {
        std::fs::write(dir.join("s.toml"), text).unwrap();
        let o = gen(&dir, &["sweep", "s.toml", "--output-dir", "out"], None);
        let err = String::from_utf8_lossy(&o.stderr);
        let ok = o.status.code() == Some(2)
            && o.stdout.is_empty()
            && err.lines().count() == 1
            && needles.iter().all(|n| err.contains(n))
            && !dir.join("out").exists();
        if !ok {
            failures.push(format!("{text:?}: exit {:?}: {err}", o.status.code()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Two points that build the same design (a switch that repeats the default) share one
/// lint run: the second row comes from the cache even on the first sweep.
#[test]
fn the_same_design_twice_is_linted_once() {
    let dir = fresh("twice");
    std::fs::write(
        dir.join("s.toml"),
        "stages = [\"emit\", \"lint\"]\n[[unit]]\nname = \"mac\"\nsigned = [true, false]\n",
    )
    .unwrap();
    let o = gen(
        &dir,
        &["sweep", "s.toml", "--output-dir", "out", "--jobs", "2"],
        None,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("2 rows (emit, lint): 2 done, 1 from the cache, 0 failed"),
        "{err}"
    );
    let (h, rows) = csv(&dir.join("out/sweep.csv"));
    assert_eq!(field(&h, &rows[0], "module"), field(&h, &rows[1], "module"));
    assert_eq!(field(&h, &rows[1], "signed"), "false");
}

/// `--emit-jobs`: one command per point, each run by `sh` as GNU Parallel and a Slurm
/// array task run a line of jobs.txt (two at a time here), then `--collect` merges them
/// into the same CSV rows as a local run of the spec (the `cached` column aside). A
/// second job set into the same folder, a folder with no job set, and a job with no
/// results are refused.
#[test]
fn emit_jobs_then_collect_equals_a_local_run() {
    let dir = fresh("jobs");
    std::fs::write(
        dir.join("s.toml"),
        "devices = [\"up5k\"]\nstages = [\"emit\", \"lint\"]\n\n[[unit]]\nname = \"mac\"\n\
         acc = [12, 16]\noverflow = [\"saturate\", \"wrap\"]\n\n[[unit]]\nname = \"palq-pe\"\n\
         levels = 3\n",
    )
    .unwrap();
    let o = gen(&dir, &["sweep", "s.toml", "--emit-jobs", "jobs"], None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(o.stdout.is_empty());
    assert!(err.contains("5 jobs in") && err.contains("sbatch"), "{err}");
    let jobs = std::fs::read_to_string(dir.join("jobs/jobs.txt")).unwrap();
    let lines: Vec<&str> = jobs.lines().collect();
    assert_eq!(lines.len(), 5);
    let slurm = std::fs::read_to_string(dir.join("jobs/slurm.sh")).unwrap();
    assert!(slurm.contains("#SBATCH --array=1-5\n"), "{slurm}");
    assert!(
        !dir.join("jobs/results").exists(),
        "nothing runs at --emit-jobs"
    );

    // Refused before a job has results: collect names the missing jobs.
    let o = gen(&dir, &["sweep", "--collect", "jobs"], None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("5 of 5 jobs have no results yet"), "{err}");

    // The jobs from another folder (the commands hold absolute paths), two at a time.
    let elsewhere = fresh("jobs-cwd");
    for pair in lines.chunks(2) {
        let children: Vec<_> = pair
            .iter()
            .map(|l| {
                Command::new("sh")
                    .args(["-c", l])
                    .current_dir(&elsewhere)
                    .output()
            })
            .collect();
        for (c, l) in children.into_iter().zip(pair) {
            let c = c.unwrap();
            assert!(
                c.status.success(),
                "{l}: {}",
                String::from_utf8_lossy(&c.stderr)
            );
        }
    }
    let o = gen(&dir, &["sweep", "--collect", "jobs"], None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("5 of 5 jobs collected, 5 rows, 0 failed"),
        "{err}"
    );

    let o = gen(&dir, &["sweep", "s.toml", "--output-dir", "local"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (hj, rj) = csv(&dir.join("jobs/sweep.csv"));
    let (hl, rl) = csv(&dir.join("local/sweep.csv"));
    assert_eq!(hj, hl);
    assert_eq!(rj.len(), 5);
    let strip = |h: &[String], rows: Vec<Vec<String>>| -> Vec<Vec<String>> {
        let c = h.iter().position(|x| x == "cached").unwrap();
        rows.into_iter()
            .map(|mut r| {
                r.remove(c);
                r
            })
            .collect()
    };
    assert_eq!(strip(&hj, rj), strip(&hl, rl));

    // A second job set into the same folder, and a folder without one: exit 2.
    let o = gen(&dir, &["sweep", "s.toml", "--emit-jobs", "jobs"], None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("'--emit-jobs <DIR>'") && err.contains("already holds"),
        "{err}"
    );
    let o = gen(&dir, &["sweep", "--collect", "local"], None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("'--collect <DIR>'") && err.contains("no job set"),
        "{err}"
    );
}

/// The cosim and error stages: every point co-simulates clean, the error study's rows
/// (one per K) order the accumulators as the model says, a `[[plot]]` is drawn, the
/// rerun takes every result from the cache with the same numbers.
#[test]
fn cosim_and_error_rows_and_a_plot() {
    let dir = fresh("error");
    let spec = "stages = [\"emit\", \"cosim\", \"error\"]\n\
                [workload]\ndist = \"gaussian\"\nk = [64, 512]\ntrials = 20\n\
                [cosim]\nbeats = 2000\n\
                [[unit]]\nname = \"mac\"\nacc = [12, 20]\n\
                [[unit]]\nname = \"palq-shuffle\"\n\
                [[plot]]\nx = \"acc\"\ny = \"snr_db\"\nseries = [\"unit\", \"k\"]\nlines = true\n";
    std::fs::write(dir.join("s.toml"), spec).unwrap();
    let o = gen(
        &dir,
        &["sweep", "s.toml", "--output-dir", "out", "--jobs", "2"],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (h, rows) = csv(&dir.join("out/sweep.csv"));
    // mac: 2 points x 2 lengths; palq-shuffle: 1 point x 2 lengths, no study.
    assert_eq!(rows.len(), 6);
    for r in &rows {
        assert_eq!(field(&h, r, "cosim"), "passed");
        assert_eq!(field(&h, r, "error"), "");
    }
    let snr = |acc: &str, k: &str| -> f64 {
        let r = rows
            .iter()
            .find(|r| field(&h, r, "acc") == acc && field(&h, r, "k") == k)
            .unwrap();
        field(&h, r, "snr_db").parse().unwrap()
    };
    assert!(snr("20", "64") > 30.0 && snr("20", "512") > 30.0);
    assert!(snr("12", "512") < snr("12", "64") && snr("12", "64") < snr("20", "64"));
    let shuffle: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| field(&h, r, "unit") == "palq-shuffle")
        .collect();
    assert!(shuffle.iter().all(|r| field(&h, r, "snr_db").is_empty()));
    let svg = std::fs::read_to_string(dir.join("out/snr_db-vs-acc.svg")).unwrap();
    assert!(svg.contains("mac k 64") && svg.contains("mac k 512") && !svg.contains("palq"));

    let again = gen(&dir, &["sweep", "s.toml", "--output-dir", "out"], None);
    assert!(again.status.success());
    let (h2, rows2) = csv(&dir.join("out/sweep.csv"));
    assert!(rows2.iter().all(|r| field(&h2, r, "cached") == "true"));
    assert_eq!(
        rows.iter()
            .map(|r| field(&h, r, "snr_db"))
            .collect::<Vec<_>>(),
        rows2
            .iter()
            .map(|r| field(&h2, r, "snr_db"))
            .collect::<Vec<_>>()
    );
}

/// A workload from .npy files: K is the rows' length, and one worked row gives the
/// error the MAC's study defines (docs/sweep.md).
#[test]
fn a_workload_from_npy_files() {
    fn npy(values: &[f64], shape: &str) -> Vec<u8> {
        let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend((header.len() as u16).to_le_bytes());
        b.extend(header.as_bytes());
        for v in values {
            b.extend(v.to_le_bytes());
        }
        b
    }
    let dir = fresh("npy");
    // x = (1, -0.5), w = (0.25, 1) at 4 bits: the result is -14/49 against -0.25.
    std::fs::write(dir.join("x.npy"), npy(&[1.0, -0.5], "(1, 2)")).unwrap();
    std::fs::write(dir.join("w.npy"), npy(&[0.25, 1.0], "(1, 2)")).unwrap();
    let spec = "stages = [\"emit\", \"error\"]\n[workload]\nx = \"x.npy\"\nw = \"w.npy\"\n\
                [[unit]]\nname = \"mac\"\nin = 4\nacc = 16\n";
    std::fs::write(dir.join("s.toml"), spec).unwrap();
    let o = gen(&dir, &["sweep", "s.toml", "--output-dir", "out"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (h, rows) = csv(&dir.join("out/sweep.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(field(&h, &rows[0], "k"), "2");
    let rel: f64 = field(&h, &rows[0], "rel_rms").parse().unwrap();
    assert!((rel - (14.0 / 49.0 - 0.25) / 0.25).abs() < 1e-9, "{rel}");
    // Different shapes are refused before anything runs.
    std::fs::write(dir.join("w.npy"), npy(&[0.25, 1.0, 2.0], "(1, 3)")).unwrap();
    let bad = gen(&dir, &["sweep", "s.toml", "--output-dir", "out2"], None);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(
        err.contains("same shape") && !dir.join("out2").exists(),
        "{err}"
    );
}

/// A JSON spec gives the rows its TOML twin gives, and its errors name the place in
/// the JSON document.
#[test]
fn json_specs_read_like_toml() {
    let dir = fresh("json");
    let toml = "stages = [\"emit\", \"error\"]\n[workload]\nk = [64]\ntrials = 10\n\
                [[unit]]\nname = \"mac\"\nacc = { from = 12, to = 20, step = 4 }\n\
                [[unit]]\nname = \"bfp-dot\"\nblock = 8\nmant = [4, 6]\n";
    let json = r#"{"stages": ["emit", "error"], "workload": {"k": [64], "trials": 10},
        "unit": [{"name": "mac", "acc": {"from": 12, "to": 20, "step": 4}},
                 {"name": "bfp-dot", "block": 8, "mant": [4, 6]}]}"#;
    std::fs::write(dir.join("s.toml"), toml).unwrap();
    std::fs::write(dir.join("s.json"), json).unwrap();
    for (spec, out) in [("s.toml", "t"), ("s.json", "j")] {
        let o = gen(&dir, &["sweep", spec, "--output-dir", out], None);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (ht, rt) = csv(&dir.join("t/sweep.csv"));
    let (hj, rj) = csv(&dir.join("j/sweep.csv"));
    assert_eq!((ht, rt.len()), (hj, rj.len()));
    assert_eq!(rt, rj);
    for (text, needles) in [
        (
            r#"{"unit": [{"name": "mac", "acc": [12, 65]}]}"#,
            &["s.json: at unit[0].acc:", "65 is not in 2..=64"][..],
        ),
        (
            r#"{"unit": [{"name": "mac", "acc": 12,}]}"#,
            &["s.json:1:", "not a valid JSON spec"][..],
        ),
        (
            r#"{"unit": [{"name": "mac"}], "workload": {"dist": "cauchy"}}"#,
            &["s.json: at workload.dist:", "'cauchy' is not allowed"][..],
        ),
    ] {
        std::fs::write(dir.join("s.json"), text).unwrap();
        let o = gen(&dir, &["sweep", "s.json", "--output-dir", "bad"], None);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(o.stdout.is_empty() && !dir.join("bad").exists());
        assert!(needles.iter().all(|n| err.contains(n)), "{err}");
    }
}

/// Every shipped sweep (sweeps/*.toml) is a valid spec whose points all build and whose
/// error studies all run (the synth stage is `make density`'s).
#[test]
fn the_shipped_sweeps_build_and_study() {
    let dir = fresh("shipped");
    let sweeps = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sweeps");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&sweeps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    specs.sort();
    assert!(specs.len() >= 4, "{specs:?}");
    for spec in specs {
        let name = spec.file_stem().unwrap().to_string_lossy().into_owned();
        let o = gen(
            &dir,
            &[
                "sweep",
                spec.to_str().unwrap(),
                "--stages",
                "emit,error",
                "--output-dir",
                &name,
            ],
            None,
        );
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let (h, rows) = csv(&dir.join(&name).join("sweep.csv"));
        assert!(!rows.is_empty());
        for r in &rows {
            assert_eq!(field(&h, r, "error"), "", "{name}: {r:?}");
        }
        assert!(
            rows.iter().any(|r| !field(&h, r, "snr_db").is_empty()),
            "{name}: no row has an error study"
        );
    }
}
