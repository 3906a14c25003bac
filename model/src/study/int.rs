//! Error studies of the integer units.
//!
//! `mac`: each row's activations `x` go to operand `a` and weights `w` to operand `b`,
//! quantized per row with the symmetric scale `amax(row) / qmax`, rounded to nearest
//! (ties to even) and clamped: a signed N-bit operand takes `-(2^(N-1) - 1) ..= 2^(N-1) -
//! 1`, an unsigned one `0 ..= 2^N - 1` (negative values clamp to 0, so an unsigned
//! operand suits ReLU activations). The MAC accumulates the row with its own width and
//! overflow policy ([`crate::mac::mac_step`]); the result is `acc * scale_a * scale_b`,
//! flagged when `ovf` is set.

use super::{amax, quantize_int, Errors, StudyError, Workload};
use crate::mac::{mac_step, MacParams, Operand};

/// The code range and the largest code of an operand.
fn range(o: Operand) -> (i64, i64) {
    if o.signed {
        let m = (1i64 << (o.bits - 1)) - 1;
        (-m, m)
    } else {
        (0, (1i64 << o.bits) - 1)
    }
}

/// A row quantized for operand `o`: the codes and the scale.
pub fn quantize_row(row: &[f64], o: Operand) -> (Vec<i64>, f64) {
    let (lo, hi) = range(o);
    let top = if o.signed {
        amax(row)
    } else {
        row.iter().fold(0.0f64, |m, v| m.max(*v))
    };
    let scale = top / hi as f64;
    (
        row.iter()
            .map(|v| quantize_int(*v, scale, lo, hi))
            .collect(),
        scale,
    )
}

/// The MAC's error on `w` (module docs).
pub fn mac(p: &MacParams, w: &Workload) -> Result<Errors, StudyError> {
    Ok(w.dot_errors(|x, wt| {
        let (qa, sa) = quantize_row(x, p.a());
        let (qb, sb) = quantize_row(wt, p.b());
        let (mut acc, mut ovf) = (0i128, false);
        for (i, (a, b)) in qa.iter().zip(&qb).enumerate() {
            (acc, ovf) = mac_step(p, acc, ovf, i == 0, i128::from(*a), i128::from(*b));
        }
        (acc as f64 * sa * sb, ovf)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mac::Overflow;
    use crate::study::Dist;

    #[test]
    fn wider_accumulators_err_less_until_quantization_dominates() {
        let w = Workload::synthetic(Dist::Gaussian, 256, 50, 1);
        let at = |acc_bits| {
            let p = MacParams {
                acc_bits,
                ..MacParams::default()
            };
            mac(&p, &w).unwrap()
        };
        let (e12, e16, e24, e32) = (at(12), at(16), at(24), at(32));
        // Codes near 45 in magnitude: a row's sum has a spread near 16 * 45^2 = 32400,
        // past 12 bits nearly always and past 16 bits often.
        assert!(e12.flagged > 0.9 && e12.rel_rms > 0.5, "{e12:?}");
        assert!(
            e16.flagged < e12.flagged && e16.rel_rms < e12.rel_rms,
            "{e16:?}"
        );
        // Once nothing overflows, only operand rounding is left.
        assert!(e24.flagged == 0.0 && e24.snr_db > 30.0, "{e24:?}");
        assert_eq!(e24, e32);
        let wrap = mac(
            &MacParams {
                overflow: Overflow::Wrap,
                ..MacParams::default()
            },
            &w,
        )
        .unwrap();
        assert!(
            wrap.rel_rms > e12.rel_rms,
            "wrapping errs more than saturating"
        );
    }

    #[test]
    fn a_worked_row() {
        // x = (1, -0.5), w = (0.25, 1): 4-bit signed codes (7, -4) with scale 1/7 and
        // (2, 7) with scale 1/7 (0.25 * 7 = 1.75 rounds to 2); acc = 14 - 28 = -14,
        // result -14/49 = -0.2857..., exact -0.25.
        let w = Workload::from_rows("t", 2, vec![1.0, -0.5], vec![0.25, 1.0]).unwrap();
        let p = MacParams {
            in_bits: 4,
            acc_bits: 16,
            ..MacParams::default()
        };
        let e = mac(&p, &w).unwrap();
        assert!((e.rel_rms - (0.25 - 14.0 / 49.0f64).abs() / 0.25).abs() < 1e-12);
    }
}
