//! Value parsers shared by every command's flags: numbers are read whole (negative and
//! huge ones too) and refused with the real range, never with the storage type's.

/// An integer in `min..=max`; any other text is refused with the range.
pub fn ranged(text: &str, min: i64, max: i64) -> Result<i64, String> {
    match text.trim().parse::<i128>() {
        Ok(v) if (i128::from(min)..=i128::from(max)).contains(&v) => Ok(v as i64),
        Ok(v) => Err(format!("{v} is not in {min}..={max}")),
        Err(_) => Err(format!("not an integer in {min}..={max}")),
    }
}

/// A parser of unsigned integers in `min..=max`, for clap's `value_parser`.
pub fn ranged_u64(min: u64, max: u64) -> impl Fn(&str) -> Result<u64, String> + Clone {
    move |text| match text.trim().parse::<i128>() {
        Ok(v) if (i128::from(min)..=i128::from(max)).contains(&v) => Ok(v as u64),
        Ok(v) => Err(format!("{v} is not in {min}..={max}")),
        Err(_) => Err(format!("not an integer in {min}..={max}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_outside_the_range_name_it() {
        assert_eq!(ranged("12", 2, 64), Ok(12));
        assert_eq!(ranged("-1", 2, 64), Err("-1 is not in 2..=64".into()));
        assert_eq!(
            ranged("99999999999999999999999", 2, 64),
            Err("99999999999999999999999 is not in 2..=64".into())
        );
        assert_eq!(ranged("x", 2, 64), Err("not an integer in 2..=64".into()));
        assert_eq!(ranged_u64(1, 64)("-1"), Err("-1 is not in 1..=64".into()));
        assert_eq!(ranged_u64(0, 9)("9"), Ok(9));
    }
}
