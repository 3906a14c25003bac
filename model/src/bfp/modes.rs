//! Mixed-mantissa [`Modes`]: widths a unit switches between at run time.

use serde::{Deserialize, Serialize};

use super::MANT_BITS;
use crate::unit::ParamError;

/// Mantissa widths a mixed-mantissa unit can switch between at run time, e.g. `4,6`
/// (HBFP4 for most layers, HBFP6 where accuracy needs it). A set of widths in 2..=8;
/// written and serialized as the ascending list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Modes(u16);

impl Modes {
    /// The widths, ascending.
    pub fn list(&self) -> Vec<u32> {
        (2..=8).filter(|m| self.0 >> m & 1 == 1).collect()
    }

    /// Bits of the `mode` input: enough to index every width.
    pub fn select_bits(&self) -> u32 {
        let n = self.list().len() as u32;
        crate::int::index_bits(n)
    }

    /// The width `mode` selects: the mode-th smallest; indexes past the list select the
    /// widest.
    pub fn width(&self, mode: u64) -> u32 {
        let l = self.list();
        l[(mode as usize).min(l.len() - 1)]
    }
}

impl std::str::FromStr for Modes {
    type Err = String;
    fn from_str(text: &str) -> Result<Modes, String> {
        let mut bits = 0u16;
        for part in text.split(',') {
            let m: u32 = part
                .trim()
                .parse()
                .map_err(|_| format!("'{part}' is not a width; give widths such as 4,6"))?;
            if !MANT_BITS.contains(&m) {
                return Err(format!("width {m} is outside 2..=8"));
            }
            bits |= 1 << m;
        }
        Ok(Modes(bits))
    }
}

impl std::fmt::Display for Modes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l: Vec<String> = self.list().iter().map(u32::to_string).collect();
        write!(f, "{}", l.join(","))
    }
}

impl Serialize for Modes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.list().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Modes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Modes, D::Error> {
        let l = Vec::<u32>::deserialize(d)?;
        let text: Vec<String> = l.iter().map(u32::to_string).collect();
        text.join(",").parse().map_err(serde::de::Error::custom)
    }
}

/// `--modes` must list two or more widths, the widest equal to `--mant`.
pub(super) fn check_modes(modes: Option<Modes>, mant_bits: u32) -> Result<(), ParamError> {
    let Some(modes) = modes else { return Ok(()) };
    let l = modes.list();
    if l.len() < 2 || l.last() != Some(&mant_bits) {
        return Err(ParamError {
            param: "--modes",
            value: modes.to_string(),
            allowed: format!(
                "two or more widths in 2..={mant_bits}, the widest equal to --mant {mant_bits}"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bfp::BfpQuantParams;
    use crate::unit::UnitParams;

    #[test]
    fn modes_parse_validate_and_name() {
        let m: Modes = "6,4".parse().unwrap();
        assert_eq!(
            (
                m.list(),
                m.select_bits(),
                m.width(0),
                m.width(1),
                m.width(3)
            ),
            (vec![4, 6], 1, 4, 6, 6)
        );
        assert_eq!(serde_json::to_string(&m).unwrap(), "[4,6]");
        assert!("4,9".parse::<Modes>().is_err() && "4,x".parse::<Modes>().is_err());
        let p = BfpQuantParams {
            mant_bits: 6,
            modes: Some(m),
            ..BfpQuantParams::default()
        };
        assert_eq!(p.module_name(), "bfp_quant_n16_m6_e10_rne_modes4_6");
        assert!(p.validate().is_ok());
        let bad = BfpQuantParams {
            mant_bits: 8,
            modes: Some(m),
            ..BfpQuantParams::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(bad.param, "--modes");
    }
}
