//! Unit tests of the parent module.

use super::*;

/// A `.npy` file (version 1.0) with this header dictionary text and data.
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

#[test]
fn npy_dtypes() {
    let f4: Vec<u8> = [1.5f32, -2.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let got = parse_npy(&npy(&dict("<f4", "(2,)"), &f4)).unwrap();
    assert_eq!(got, vec![Element::Float(1.5), Element::Float(-2.0)]);
    let got = parse_npy(&npy(&dict("<f8", "(1, 1)"), &0.25f64.to_le_bytes())).unwrap();
    assert_eq!(got, vec![Element::Float(0.25)]);
    let got = parse_npy(&npy(&dict("|i1", "(2,)"), &[0xff, 0x7f])).unwrap();
    assert_eq!(got, vec![Element::Int(-1), Element::Int(127)]);
    let got = parse_npy(&npy(&dict("|u1", "(1,)"), &[0xff])).unwrap();
    assert_eq!(got, vec![Element::Int(255)]);
    let got = parse_npy(&npy(&dict("<i2", "(1,)"), &(-300i16).to_le_bytes())).unwrap();
    assert_eq!(got, vec![Element::Int(-300)]);
    let got = parse_npy(&npy(&dict("<i4", "()"), &i32::MIN.to_le_bytes())).unwrap();
    assert_eq!(got, vec![Element::Int(i32::MIN.into())]);
    let got = parse_npy(&npy(&dict("<i8", "(1,)"), &i64::MIN.to_le_bytes())).unwrap();
    assert_eq!(got, vec![Element::Int(i64::MIN.into())]);
    let got = parse_npy(&npy(&dict("<u8", "(1,)"), &u64::MAX.to_le_bytes())).unwrap();
    assert_eq!(got, vec![Element::Int(u64::MAX.into())]);
    // Version 2.0: a 4-byte header length.
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    let h = dict("|u1", "(1,)") + "\n";
    v2.extend((h.len() as u32).to_le_bytes());
    v2.extend(h.as_bytes());
    v2.push(7);
    assert_eq!(parse_npy(&v2).unwrap(), vec![Element::Int(7)]);
    // Fortran order: the element order does not matter to the consumers.
    let fo = "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 1), }";
    assert_eq!(parse_npy(&npy(fo, &[1, 2])).unwrap().len(), 2);
}

#[test]
fn npy_defects_are_named() {
    let f4 = 1.0f32.to_le_bytes();
    for (bytes, needle) in [
        (npy(&dict("<f4", "(2,)"), &f4), "truncated"),
        (npy(&dict("<f4", "(1,)"), &[0; 5]), "extra bytes"),
        (npy(&dict("<f4", "(-1,)"), &f4), "negative dimension -1"),
        (npy(&dict("<f4", "(0,)"), &[]), "empty array"),
        (npy(&dict("<f4", "(3, 0)"), &[]), "empty array"),
        (npy(&dict(">f4", "(1,)"), &f4), "unsupported dtype '>f4'"),
        (
            npy(&dict("<c8", "(1,)"), &[0; 8]),
            "unsupported dtype '<c8'",
        ),
        (npy(&dict("<f4", "(x,)"), &f4), "not a size"),
        (
            npy("{'descr': '<f4', 'shape': (1,), }", &f4),
            "fortran_order",
        ),
        (npy(&(dict("<f4", "(1,)") + "{"), &f4), "not a dictionary"),
        (
            npy(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
                &f4,
            ),
            "unknown header key 'x'",
        ),
        (
            npy(&dict("|u1", "(99999999999, 99999999999, 99999999999)"), &[]),
            "overflows",
        ),
        (b"\x93NUMPY\x01".to_vec(), "truncated"),
        (b"\x93NUMPY\x01\x00\xff\x00{".to_vec(), "truncated"),
        (b"\x93NUMPY\x04\x00\x00\x00".to_vec(), "version 4.0"),
    ] {
        let e = parse_npy(&bytes).unwrap_err();
        assert!(e.contains(needle), "{needle}: {e}");
    }
}

#[test]
fn tensors_are_finite_float32_and_not_all_zero() {
    let dir = std::env::temp_dir().join(format!("lowbit-fit-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let load = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        Tensor::load(p.into_os_string())
    };
    assert_eq!(
        load("ok.txt", b"1, -2.5\n3e-3").unwrap().values,
        vec![1.0, -2.5, 3e-3]
    );
    for (text, needle) in [
        ("1 NaN", "'NaN' (value 2) is not a finite float32"),
        ("inf", "'inf' (value 1)"),
        ("1e400", "'1e400' (value 1)"),
        ("4e38", "'4e38'"),
        ("1 x", "'x' (value 2)"),
        ("\u{ff11}", "is not a finite float32"),
        (" \n ,", "no values"),
        ("0 0.0 -0", "every value is 0"),
    ] {
        let e = load("bad.txt", text.as_bytes()).unwrap_err();
        assert!(e.contains(needle), "{text}: {e}");
    }
    let nan: Vec<u8> = [1.0f64, f64::NAN]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let e = load("nan.npy", &npy(&dict("<f8", "(2,)"), &nan)).unwrap_err();
    assert!(e.contains("NaN (value 2)"), "{e}");
    let e = load(
        "big.npy",
        &npy(&dict("<f8", "(1,)"), &1e300f64.to_le_bytes()),
    )
    .unwrap_err();
    assert!(e.contains("1e300 (value 1)"), "{e}");
    let e = load("bin", &[0xff, 0xfe]).unwrap_err();
    assert!(e.contains("neither"), "{e}");
    let e = Tensor::load(dir.join("missing").into_os_string()).unwrap_err();
    assert!(e.contains("cannot read"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn number_parsers_quote_the_range() {
    let k = int_in::<u64>(1, 1 << 40);
    assert_eq!(k("1024"), Ok(1024));
    assert_eq!(k("-1").unwrap_err(), "-1 is not in 1..=1099511627776");
    assert_eq!(k("abc").unwrap_err(), "not an integer in 1..=1099511627776");
    assert_eq!(k("").unwrap_err(), "not an integer in 1..=1099511627776");
    let seed = int_in::<u64>(0, u64::MAX.into());
    assert_eq!(seed("18446744073709551615"), Ok(u64::MAX));
    assert!(seed("18446744073709551616")
        .unwrap_err()
        .contains("0..=18446744073709551615"));
    let sigma = real_in(0.0, 1000.0);
    assert_eq!(sigma("1000"), Ok(1000.0));
    for bad in ["0", "-1", "NaN", "inf", "1e400", "1000.5", "x"] {
        assert!(sigma(bad).unwrap_err().contains("(0, 1000]"), "{bad}");
    }
}

/// Library callers that bypass the parser get bad-input errors (2) naming the flag.
#[test]
fn exit_codes() {
    let args = FitArgs {
        tensor: TensorArgs {
            file: None,
            synthetic: Some(Synthetic::Uniform),
            count: 100,
            seed: 1,
        },
        bits: 9,
        metric: Metric::Mse,
    };
    let e = run(&args, &mut Vec::new(), &mut Vec::new()).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.0.contains("'--bits <BITS>': 9 is not in 2..=8"),
        "{}",
        e.0
    );
    let none = FitArgs {
        tensor: TensorArgs {
            synthetic: None,
            ..args.tensor.clone()
        },
        bits: 3,
        ..args
    };
    let e = run(&none, &mut Vec::new(), &mut Vec::new()).unwrap_err();
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn synthetic_tensors_have_their_shape() {
    let g = synthetic(Synthetic::Gaussian, 20000, 3);
    let mean = g.iter().map(|v| f64::from(*v)).sum::<f64>() / 20000.0;
    let var = g.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / 20000.0;
    approx::assert_abs_diff_eq!(mean, 0.0, epsilon = 0.03);
    approx::assert_abs_diff_eq!(var, 1.0, epsilon = 0.05);
    let u = synthetic(Synthetic::Uniform, 20000, 3);
    assert!(u.iter().all(|v| v.abs() <= 1.0));
    let l = synthetic(Synthetic::Laplacian, 20000, 3);
    let var = l.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / 20000.0;
    // Laplace(1) has variance 2.
    approx::assert_abs_diff_eq!(var, 2.0, epsilon = 0.15);
    assert_eq!(g, synthetic(Synthetic::Gaussian, 20000, 3), "deterministic");
}
