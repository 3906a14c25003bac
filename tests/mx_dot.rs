//! The MX block dot product `mx_dot` on the RTL: issue 15's worked dot case, NaN blocks,
//! mixed element types, saturation and flush of the block value, accumulation across
//! blocks with `clear`, property co-simulation with every element type on each side, and
//! the model against plain f64/f32 arithmetic where that is exact.

use lowbit_tests::{check_unit_with, verilate, Rng};
use model::iface::set_field;
use model::mx::{block_value, Elem, MxDotParams, SCALE_NAN};
use model::UnitParams;
use sim::{cosim, CosimOptions};

/// One beat: rst, in_valid, clear, xa, qa, xb, qb (codes of one beat's lanes).
fn beat(
    p: &MxDotParams,
    valid: bool,
    clear: bool,
    (xa, qa): (u32, &[u64]),
    (xb, qb): (u32, &[u64]),
) -> Vec<u64> {
    let iface = p.interface();
    let pack = |port: &str, w: u32, q: &[u64]| {
        let mut words = vec![0u64; iface.port(port).unwrap().words()];
        for (j, c) in q.iter().enumerate() {
            set_field(&mut words, w * j as u32, w, *c);
        }
        words
    };
    let mut beat = vec![0, valid as u64, clear as u64, xa.into()];
    beat.extend(pack("qa", p.elem_a.width(), qa));
    beat.push(xb.into());
    beat.extend(pack("qb", p.elem_b.width(), qb));
    beat
}

/// A whole block pair (in `block / lanes` beats) followed by `latency` idle beats, so
/// that the outputs of the last idle beat show the block's result.
fn block(p: &MxDotParams, clear: bool, a: (u32, &[u64]), b: (u32, &[u64])) -> Vec<u64> {
    let l = p.lanes() as usize;
    let mut s = Vec::new();
    for i in 0..p.beats_per_block() as usize {
        let part = |q: &[u64]| q[i * l..(i + 1) * l].to_vec();
        s.extend(beat(p, true, clear, (a.0, &part(a.1)), (b.0, &part(b.1))));
    }
    let idle = vec![0u64; l];
    for _ in 0..p.latency() {
        s.extend(beat(p, false, false, (0, &idle), (0, &idle)));
    }
    s
}

/// Run `blocks` (each from [`block`]) through the RTL, co-simulate against the model, and
/// return `(acc, uf, of, nan, out_valid)` after each block.
fn run(p: &MxDotParams, blocks: &[Vec<u64>]) -> Vec<(f32, u64, u64, u64, u64)> {
    let stimulus: Vec<u64> = blocks.concat();
    let dut = verilate(p);
    let mut model = p.model().unwrap();
    cosim(&dut, model.as_mut(), &stimulus, &CosimOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let idle = vec![0u64; p.lanes() as usize];
    let beat_words = beat(p, false, false, (0, &idle), (0, &idle)).len();
    let beats = stimulus.len() / beat_words;
    let mut out = vec![0u64; 5 * beats];
    dut.instance().unwrap().run(&stimulus, &mut out);
    let mut results = Vec::new();
    let mut at = 0;
    for b in blocks {
        at += b.len() / beat_words;
        let o = &out[5 * (at - 1)..5 * at];
        results.push((f32::from_bits(o[0] as u32), o[1], o[2], o[3], o[4]));
    }
    results
}

/// E2M1 codes: 0.5 is the quantum, so `v` is `2v` quanta.
fn e2m1(v: &[f64]) -> Vec<u64> {
    v.iter()
        .map(|x| Elem::E2m1.encode(*x < 0.0, (x.abs() * 2.0) as u64))
        .collect()
}

/// Issue 15's worked dot case, from codes: A = [1, 0.5, -3, 6] at X = 0 (byte 127), B =
/// [2, -4, 4, 1] at X = -2 (byte 125): S = 2 - 2 - 12 + 6 = -6, value -6 * 2^-2 = -1.5.
/// Then, in two beats a block: a NaN scale byte (adds nothing, sets nan), the block again
/// (accumulates to -3), again with clear (restarts at -1.5, nan cleared), a NaN scale
/// byte with clear (restarts at +0 with nan).
#[test]
fn worked_case_nan_scales_and_clear_on_the_rtl() {
    let (a, b) = (e2m1(&[1.0, 0.5, -3.0, 6.0]), e2m1(&[2.0, -4.0, 4.0, 1.0]));
    assert_eq!(a, [0b0010, 0b0001, 0b1101, 0b0111]);
    assert_eq!(b, [0b0100, 0b1110, 0b0110, 0b0010]);
    let p = MxDotParams {
        elem_a: Elem::E2m1,
        elem_b: Elem::E2m1,
        block: 4,
        lanes: None,
    };
    let r = run(&p, &[block(&p, true, (127, &a), (125, &b))]);
    assert_eq!(r, [(-1.5, 0, 0, 0, 1)]);

    let p = MxDotParams {
        lanes: Some(2),
        ..p
    };
    let blocks = [
        block(&p, true, (127, &a), (125, &b)),
        block(&p, false, (SCALE_NAN, &a), (125, &b)),
        block(&p, false, (127, &a), (125, &b)),
        block(&p, false, (127, &a), (SCALE_NAN, &b)),
        block(&p, true, (127, &a), (125, &b)),
        block(&p, true, (127, &a), (SCALE_NAN, &b)),
    ];
    assert_eq!(
        run(&p, &blocks),
        [
            (-1.5, 0, 0, 0, 1),
            (-1.5, 0, 0, 1, 1),
            (-3.0, 0, 0, 1, 1),
            (-3.0, 0, 0, 1, 1),
            (-1.5, 0, 0, 0, 1),
            (0.0, 0, 0, 1, 1),
        ]
    );
}

/// Mixed types (E4M3 x E5M2): a plain block against f64, NaN and infinity element codes,
/// a block value that saturates (with `of`) and one that flushes (with `uf`).
#[test]
#[allow(clippy::unusual_byte_groupings)] // codes grouped as sign, exponent, mantissa
fn mixed_types_nan_elements_saturation_and_flush_on_the_rtl() {
    let p = MxDotParams {
        elem_a: Elem::E4m3,
        elem_b: Elem::E5m2,
        block: 2,
        lanes: None,
    };
    let (ea, eb) = (Elem::E4m3, Elem::E5m2);
    let a = [0b0_0111_100, 0b1_1000_010]; // 1.5, -2.5
    let b = [0b0_10000_10, 0b0_01111_01]; // 3.0, 1.25
    let value = |e: Elem, c: u64| e.decode(c).unwrap() as f64 * 2f64.powi(e.lsb_exp());
    assert_eq!((value(ea, a[0]), value(ea, a[1])), (1.5, -2.5));
    assert_eq!((value(eb, b[0]), value(eb, b[1])), (3.0, 1.25));
    let want = (1.5 * 3.0 - 2.5 * 1.25) * 2f64.powi(3 - 1);
    let e4m3_nan = [0b0_1111_111, a[1]];
    let e5m2_inf = [b[0], 0b1_11111_00];
    let e5m2_nan = [0b0_11111_01, b[1]];
    let max = [0b0_1111_110, 0b0_1111_110]; // 448, 448
    let big = [0b0_11110_11, 0b0_11110_11]; // 57344, 57344
    let blocks = [
        block(&p, true, (130, &a), (126, &b)),
        block(&p, false, (127, &e4m3_nan), (127, &b)),
        block(&p, true, (127, &a), (127, &e5m2_inf)),
        block(&p, false, (127, &a), (127, &e5m2_nan)),
        block(&p, true, (254, &max), (254, &big)),
        block(&p, true, (0, &a), (0, &b)),
    ];
    let r = run(&p, &blocks);
    assert_eq!(r[0], (want as f32, 0, 0, 0, 1));
    assert_eq!(
        r[1],
        (want as f32, 0, 0, 1, 1),
        "a NaN element adds nothing"
    );
    assert_eq!(
        r[2],
        (0.0, 0, 0, 1, 1),
        "an infinity with clear restarts at +0"
    );
    assert_eq!(r[3], (0.0, 0, 0, 1, 1));
    assert_eq!(r[4], (f32::MAX, 0, 1, 0, 1), "saturates with of");
    assert_eq!(r[5], (0.0, 1, 0, 0, 1), "flushes with uf");
}

/// Codes of type `e` for a random block: mostly finite (a NaN or infinity code one time
/// in `nan_one_in`), zeros and extremes often.
fn codes(rng: &mut Rng, e: Elem, n: usize, nan_one_in: u64) -> Vec<u64> {
    (0..n)
        .map(|_| loop {
            let c = match rng.next_u64() % 8 {
                0 => 0,
                1 => e.encode(rng.one_in(2), e.max_int()),
                _ => rng.next_u64() & ((1 << e.width()) - 1),
            };
            if e.decode(c).is_some() || rng.one_in(nan_one_in) {
                break c;
            }
        })
        .collect()
}

/// A scale byte: around 127 mostly, the extremes and the NaN byte sometimes.
fn scale(rng: &mut Rng) -> u32 {
    match rng.next_u64() % 16 {
        0 => 0,
        1 => 254,
        2 => SCALE_NAN,
        3 => (rng.next_u64() % 256) as u32,
        _ => 100 + (rng.next_u64() % 50) as u32,
    }
}

/// Random block pairs for `p`, `clear` one time in four.
fn stimulus(p: &MxDotParams, seed: u64, blocks: usize) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    let (n, l) = (p.block as usize, p.lanes() as usize);
    let mut s = Vec::new();
    for _ in 0..blocks {
        let (xa, xb) = (scale(&mut rng), scale(&mut rng));
        let qa = codes(&mut rng, p.elem_a, n, 64);
        let qb = codes(&mut rng, p.elem_b, n, 64);
        let clear = rng.one_in(4);
        for i in 0..n / l {
            s.extend(beat(
                p,
                true,
                clear,
                (xa, &qa[i * l..(i + 1) * l]),
                (xb, &qb[i * l..(i + 1) * l]),
            ));
            // An idle beat now and then between beats.
            if rng.one_in(5) {
                s.extend(beat(p, false, rng.one_in(2), (0, &qa[..l]), (0, &qb[..l])));
            }
        }
    }
    s
}

/// Property co-simulation (lint, synthesis, Icarus, Verilator against the model) with
/// every element type on one side or the other, one block per beat and over several.
#[test]
fn rtl_matches_model_for_every_element_type() {
    for (i, (a, b, block, lanes)) in [
        (Elem::Int8, Elem::E4m3, 4, 4),
        (Elem::E5m2, Elem::E3m2, 6, 2),
        (Elem::E2m3, Elem::E2m1, 8, 2),
    ]
    .into_iter()
    .enumerate()
    {
        let p = MxDotParams {
            elem_a: a,
            elem_b: b,
            block,
            lanes: Some(lanes),
        };
        check_unit_with(p, &stimulus(&p, i as u64, 600)).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The model against f64 arithmetic, for every pair of element types: the block's value
/// is the exact sum (f64 holds it when it has at most 53 significant bits) rounded once to
/// f32, in the normal range; the accumulator adds as f32 does.
#[test]
fn model_matches_f64_where_exact() {
    let mut rng = Rng::new(15);
    let mut checked = 0;
    for a in Elem::ALL {
        for b in Elem::ALL {
            let p = MxDotParams {
                elem_a: a,
                elem_b: b,
                block: 16,
                lanes: None,
            };
            for _ in 0..300 {
                let (qa, qb) = (codes(&mut rng, a, 16, 1000), codes(&mut rng, b, 16, 1000));
                let (xa, xb) = (
                    100 + (rng.next_u64() % 60) as u32,
                    100 + (rng.next_u64() % 60) as u32,
                );
                let got = block_value(&p, xa, &qa, xb, &qb);
                let Some(va) = qa.iter().map(|c| a.decode(*c)).collect::<Option<Vec<_>>>() else {
                    assert_eq!(got, None);
                    continue;
                };
                let Some(vb) = qb.iter().map(|c| b.decode(*c)).collect::<Option<Vec<_>>>() else {
                    assert_eq!(got, None);
                    continue;
                };
                let s: i128 = va
                    .iter()
                    .zip(&vb)
                    .map(|(x, y)| i128::from(*x) * i128::from(*y))
                    .sum();
                if s.unsigned_abs() >= 1 << 53 {
                    continue; // not exact in f64
                }
                let exp = xa as i32 + xb as i32 - 254 + a.lsb_exp() + b.lsb_exp();
                let want = (s as f64 * 2f64.powi(exp)) as f32;
                if want != 0.0 && (want.abs() < f32::MIN_POSITIVE || want.is_infinite()) {
                    continue; // flush or saturation: tested on the RTL
                }
                let got = got.unwrap();
                assert_eq!(
                    f32::from_bits(got.bits as u32),
                    want,
                    "{a:?} {b:?} {qa:?} {qb:?}"
                );
                assert!(!got.underflow && !got.overflow);
                checked += 1;
            }
        }
    }
    assert!(checked > 5000, "only {checked} blocks checked");
}
