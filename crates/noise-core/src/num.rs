//! Numeric conversions shared by the core.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// Converts a decimal to the nearest `f64`.
///
/// For every decimal whose mantissa fits in 53 bits and whose scale is at
/// most 22 (all real prices), both operands of the division are exact and
/// IEEE division rounds correctly, so the result equals what a correctly
/// rounded text parser (Python's `float`, Rust's `str::parse`) gives for the
/// same digits. That keeps our indicators bit-comparable with TA-Lib fed
/// from the same CSV.
#[inline]
pub fn decimal_to_f64(value: Decimal) -> f64 {
    let mantissa = value.mantissa();
    let scale = value.scale() as usize;
    if mantissa.unsigned_abs() < (1u128 << 53) && scale < POW10.len() {
        // Through i64: an i128-to-float conversion is a slow library call.
        (mantissa as i64) as f64 / POW10[scale]
    } else {
        value.to_f64().unwrap_or(f64::NAN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    proptest! {
        #[test]
        fn matches_text_parse(int in 0u64..10_000_000, frac in 0u32..100_000, digits in 0usize..6) {
            let text = if digits == 0 {
                int.to_string()
            } else {
                let f = frac.to_string();
                let f = &format!("{f:0>6}")[..digits];
                format!("{int}.{f}")
            };
            let d = Decimal::from_str(&text).unwrap();
            prop_assert_eq!(decimal_to_f64(d), text.parse::<f64>().unwrap());
        }
    }
}
