//! `gen accwidth` as a user runs it: every bound it prints against a brute force.
//!
//! Large grid (widths up to 32x32, K up to 2^20): the products' extremes come from every
//! operand pair for widths up to 8 and from the four corner pairs beyond (a product is
//! bilinear, so its extremes sit at corners), the sum's extremes are K times those (each
//! term is chosen freely), and the minimum width is found by scanning P upwards. Small
//! shapes: every weight and activation vector, partial sums included.

use std::process::{Command, Output};

fn gen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(args)
        .output()
        .expect("gen runs")
}

fn run_ok(args: &[&str]) -> String {
    let o = gen(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
    String::from_utf8(o.stdout).unwrap()
}

fn range(bits: u32, signed: bool) -> (i128, i128) {
    if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

/// The least P (at least 2, the tool's narrowest) whose two's-complement range holds
/// `[lo, hi]`, by scanning.
fn scan_width(lo: i128, hi: i128) -> u32 {
    (2..=127)
        .find(|&p| -(1i128 << (p - 1)) <= lo && hi < (1i128 << (p - 1)))
        .unwrap()
}

/// The number after `key` and before " bits" in the report.
fn bits_after(report: &str, key: &str) -> u32 {
    let at = report
        .find(key)
        .unwrap_or_else(|| panic!("{key} missing: {report}"))
        + key.len();
    let rest = &report[at..];
    rest[..rest.find(" bits").unwrap()].parse().unwrap()
}

/// The extremes of `x * w` over every operand pair (widths up to 8) or the corners.
fn product_extremes(n: u32, signed: bool, m: u32) -> (i128, i128) {
    let (xl, xh) = range(n, signed);
    let (wl, wh) = range(m, true);
    let pairs: Vec<(i128, i128)> = if n <= 8 && m <= 8 {
        (xl..=xh)
            .flat_map(|x| (wl..=wh).map(move |w| (x, w)))
            .collect()
    } else {
        vec![(xl, wl), (xl, wh), (xh, wl), (xh, wh)]
    };
    pairs
        .iter()
        .fold((0, 0), |(lo, hi), (x, w)| (lo.min(x * w), hi.max(x * w)))
}

#[test]
fn printed_bounds_match_brute_force_up_to_32x32_and_k_2_pow_20() {
    let widths = [2u32, 3, 5, 8, 16, 24, 31, 32];
    let ks: [u64; 9] = [1, 2, 3, 7, 1000, 1024, 4095, (1 << 20) - 1, 1 << 20];
    let mut checked = 0;
    for &n in &widths {
        for signed in [true, false] {
            for &m in &widths {
                let (plo, phi) = product_extremes(n, signed, m);
                for &k in &ks {
                    let (lo, hi) = (i128::from(k) * plo, i128::from(k) * phi);
                    let (n_s, m_s, k_s) = (n.to_string(), m.to_string(), k.to_string());
                    let mut args = vec!["accwidth", "--k", &k_s, "--in", &n_s];
                    args.extend(["--weight-bits", &m_s]);
                    if !signed {
                        args.push("--unsigned");
                    }
                    let v = run_ok(&args);
                    let case = format!("{args:?}: {v}");
                    assert!(
                        v.contains(&format!("every partial sum in [{lo}, {hi}]")),
                        "{case}"
                    );
                    let exact = scan_width(lo, hi);
                    assert_eq!(bits_after(&v, "cannot overflow: "), exact, "{case}");
                    // A2Q: the least P with 2^(P-1) >= K * 2^(N+M-1-s) + 1, by scanning.
                    let t = u128::from(k) << (n + m - 1 - u32::from(signed));
                    let a2q = (1..128).find(|&p| 1u128 << (p - 1) > t).unwrap();
                    assert_eq!(bits_after(&v, "), i.e. "), a2q, "{case}");
                    assert!(a2q >= exact, "{case}");
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 8 * 2 * 8 * 9);
    // The case: f64 rounding printed 57.
    let v = run_ok(&[
        "accwidth",
        "--k",
        "1024",
        "--in",
        "24",
        "--weight-bits",
        "24",
    ]);
    assert!(v.contains("cannot overflow: 58 bits"), "{v}");
    assert!(
        v.contains("= 1 + log2(1 + 1024 * 2^46), i.e. 58 bits"),
        "{v}"
    );
    // The largest K.
    let v = run_ok(&[
        "accwidth",
        "--k",
        "1099511627776",
        "--in",
        "32",
        "--weight-bits",
        "32",
    ]);
    assert!(v.contains("cannot overflow: 104 bits"), "{v}");
}

/// Every vector of `k` values in `lo..=hi`.
fn vectors(k: usize, lo: i128, hi: i128) -> Vec<Vec<i128>> {
    (0..k).fold(vec![vec![]], |out, _| {
        out.into_iter()
            .flat_map(|v| {
                (lo..=hi).map(move |x| {
                    let mut v = v.clone();
                    v.push(x);
                    v
                })
            })
            .collect()
    })
}

/// Every weight and activation vector of small shapes, with weights signed or unsigned:
/// signed weights through the original flags, unsigned ones through `gen mac`'s operand
/// flags (`--in-a` weights, `--in-b` activations).
#[test]
fn small_shapes_against_every_vector() {
    for k in 1..=3usize {
        for n in 2..=3 {
            for m in 2..=3 {
                for signed in [true, false] {
                    for w_signed in [true, false] {
                        let (xl, xh) = range(n, signed);
                        let (wl, wh) = range(m, w_signed);
                        let (mut lo, mut hi) = (0, 0);
                        let acts = vectors(k, xl, xh);
                        for w in vectors(k, wl, wh) {
                            for x in &acts {
                                let mut s = 0;
                                for (a, b) in w.iter().zip(x) {
                                    s += a * b;
                                    (lo, hi) = (lo.min(s), hi.max(s));
                                }
                            }
                        }
                        let (n_s, m_s, k_s) = (n.to_string(), m.to_string(), k.to_string());
                        let mut args = vec!["accwidth", "--k", &k_s];
                        if w_signed {
                            args.extend(["--in", &n_s, "--weight-bits", &m_s]);
                            if !signed {
                                args.push("--unsigned");
                            }
                        } else {
                            args.extend(["--in-a", &m_s, "--in-b", &n_s, "--a-unsigned"]);
                            if !signed {
                                args.push("--b-unsigned");
                            }
                        }
                        let v = run_ok(&args);
                        assert!(v.contains(&format!("in [{lo}, {hi}]")), "{args:?}: {v}");
                        assert_eq!(bits_after(&v, "cannot overflow: "), scan_width(lo, hi));
                        if !signed && !w_signed {
                            let u = (2..).find(|&p| hi < 1i128 << p).unwrap();
                            assert_eq!(bits_after(&v, "(as `gen mac` builds it): "), u);
                        } else {
                            assert!(!v.contains("unsigned accumulator"), "{args:?}: {v}");
                        }
                    }
                }
            }
        }
    }
}

/// W4A8 (int4 weights, uint8 activations) with the operand flags of `gen mac`.
#[test]
fn mixed_operands_w4a8() {
    let v = run_ok(&[
        "accwidth",
        "--in-a",
        "4",
        "--in-b",
        "8",
        "--b-unsigned",
        "--k",
        "512",
    ]);
    assert!(v.contains("activations: unsigned 8-bit, [0, 255]"), "{v}");
    assert!(
        v.contains("weights: K = 512 signed 4-bit values, [-8, 7]"),
        "{v}"
    );
    // 512 * (-8 * 255) and 512 * (7 * 255).
    assert!(v.contains("every partial sum in [-1044480, 913920]"), "{v}");
    assert!(v.contains("cannot overflow: 21 bits"), "{v}");
    // A2Q: K * 2^(8 + 4 - 1) = 2^20, so P = 22.
    assert!(
        v.contains("1 + log2(1 + 512 * 2^11), i.e. 22 bits\n"),
        "{v}"
    );
    assert!(v.contains("||w||_1 <= 7.99609375"), "{v}");
    // The same report through the original flags.
    let w = run_ok(&[
        "accwidth",
        "--in",
        "8",
        "--unsigned",
        "--weight-bits",
        "4",
        "--k",
        "512",
    ]);
    assert_eq!(v, w);
}

/// Weight files: the exact worst case, the all-zero case at the tool's narrowest width
/// with a word about it, and A2Q's L1 bound compared exactly at its edge.
#[test]
fn weight_files() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("accwidth-weights");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("w.txt");
    let path = file.to_str().unwrap();

    std::fs::write(&file, "0, 0\n0").unwrap();
    let v = run_ok(&["accwidth", "--weights", path]);
    assert!(v.contains("every partial sum in [0, 0]"), "{v}");
    assert!(v.contains("cannot overflow: 2 bits"), "{v}");
    assert!(v.contains("all-zero weights"), "{v}");
    assert!(v.contains("narrowest accumulator the tool builds"), "{v}");

    // Signed 4-bit activations, 8-bit accumulator: ||w||_1 <= 127 / 8 = 15.875, so an
    // integer norm of 15 is within it and 16 is not (and -16 * -8 = 128 overflows).
    for (weights, verdict) in [("15", "15, within it"), ("-16", "16, above it: these")] {
        std::fs::write(&file, weights).unwrap();
        let v = run_ok(&["accwidth", "--in", "4", "--acc", "8", "--weights", path]);
        assert!(v.contains("(2^7 - 1) / 2^3: ||w||_1 <= 15.875;"), "{v}");
        assert!(v.contains(verdict), "{v}");
    }
    // Random weights against every activation vector (N = 3, K = 4).
    let mut state = 12345u64;
    for _ in 0..20 {
        let w: Vec<i64> = (0..4)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 33) % 2001) as i64 - 1000
            })
            .collect();
        let text: Vec<String> = w.iter().map(|v| v.to_string()).collect();
        std::fs::write(&file, text.join(" ")).unwrap();
        for signed in [true, false] {
            let (xl, xh) = range(3, signed);
            let (mut lo, mut hi) = (0, 0);
            for x in vectors(4, xl, xh) {
                let s: i128 = w.iter().zip(&x).map(|(a, b)| i128::from(*a) * b).sum();
                (lo, hi) = (lo.min(s), hi.max(s));
            }
            let mut args = vec!["accwidth", "--in", "3", "--weights", path];
            if !signed {
                args.push("--unsigned");
            }
            let v = run_ok(&args);
            assert!(v.contains(&format!("in [{lo}, {hi}]")), "{w:?}: {v}");
            assert_eq!(bits_after(&v, "cannot overflow: "), scan_width(lo, hi));
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
