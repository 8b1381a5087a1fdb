//! German number formatting for tables, legends and charts: `1.234,5`, `·` for a suppressed
//! count, `–` for an undefined value.

/// The mark of a suppressed count (disclosure control), explained under every table.
pub const SUPPRESSED: &str = "·";
/// The mark of an undefined value (no data, denominator 0, no index value).
pub const UNDEFINED: &str = "–";

/// `v` with `decimals` places, decimal comma and thousands dots; `–` for NaN/∞.
pub fn num(v: f64, decimals: u8) -> String {
    if !v.is_finite() {
        return UNDEFINED.into();
    }
    let s = format!("{:.*}", decimals as usize, v.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s.as_str(), None),
    };
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    // -0,0 reads as an error in a table: the sign only when the rounded value is not zero.
    let negative = v < 0.0 && s.bytes().any(|b| b.is_ascii_digit() && b != b'0');
    let mut out = String::new();
    if negative {
        out.push('−');
    }
    out.push_str(&grouped);
    if let Some(f) = frac {
        out.push(',');
        out.push_str(f);
    }
    out
}

/// An optional value.
pub fn opt(v: Option<f64>, decimals: u8) -> String {
    v.map_or_else(|| UNDEFINED.into(), |v| num(v, decimals))
}

/// An integer count.
pub fn int(v: u64) -> String {
    num(v as f64, 0)
}

/// A signed z-value or change with an explicit `+`.
pub fn signed(v: f64, decimals: u8) -> String {
    let s = num(v, decimals);
    if v > 0.0 && s.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        format!("+{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_numbers() {
        assert_eq!(num(1234567.891, 2), "1.234.567,89");
        assert_eq!(num(12.0, 0), "12");
        assert_eq!(num(999.96, 1), "1.000,0");
        assert_eq!(num(-0.04, 1), "0,0");
        assert_eq!(num(-3.25, 1), "−3,2");
        assert_eq!(num(f64::NAN, 1), "–");
        assert_eq!(signed(1.5, 2), "+1,50");
        assert_eq!(signed(-1.5, 2), "−1,50");
        assert_eq!(int(401032), "401.032");
    }
}
