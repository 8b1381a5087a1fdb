//! Map classes and colours, the same as the web map's (`web/js/classify.js`): quantiles, equal
//! intervals or natural breaks with ColorBrewer palettes by polarity, and the MSS classes.

use kleinraum_aggregate::config::Polarity;
use kleinraum_load::config::ReportClassification;

/// Light → dark palettes (ColorBrewer YlOrRd, PuBu; viridis for neutral indicators).
const WORSE: [&str; 7] = [
    "#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026", "#800026",
];
const BETTER: [&str; 7] = [
    "#d0d1e6", "#a6bddb", "#74a9cf", "#3690c0", "#0570b0", "#045a8d", "#023858",
];
const NEUTRAL: [&str; 7] = [
    "#fde725", "#90d743", "#35b779", "#21918c", "#31688e", "#443983", "#440154",
];

/// Colour of areas without a value (suppressed or undefined).
pub const NO_DATA: &str = "#bdbdbd";

/// MSS status classes 1 hoch … 4 sehr niedrig.
pub const STATUS: [(&str, &str); 4] = [
    ("hoch", "#a6d96a"),
    ("mittel", "#fff5b8"),
    ("niedrig", "#f4874b"),
    ("sehr niedrig", "#7b2a74"),
];
/// MSS dynamics classes 1 positiv, 2 stabil, 3 negativ.
pub const DYNAMICS: [&str; 3] = ["positiv", "stabil", "negativ"];

/// One class of a map legend.
#[derive(Debug, Clone, PartialEq)]
pub struct Class {
    /// Legend text.
    pub label: String,
    /// Fill colour (`#rrggbb`).
    pub color: String,
    /// Areas in the class.
    pub count: usize,
}

/// A classification of one value per area.
#[derive(Debug, Clone)]
pub struct Classified {
    /// The classes, low → high.
    pub classes: Vec<Class>,
    /// Class per area (`None`: no value).
    pub of: Vec<Option<usize>>,
    /// Areas without a value.
    pub no_data: usize,
}

impl Classified {
    /// Fill colour of area `i`.
    pub fn color(&self, i: usize) -> &str {
        self.of[i].map_or(NO_DATA, |c| self.classes[c].color.as_str())
    }
}

fn palette(polarity: Polarity) -> &'static [&'static str; 7] {
    match polarity {
        Polarity::HigherIsWorse => &WORSE,
        Polarity::HigherIsBetter => &BETTER,
        Polarity::Neutral => &NEUTRAL,
    }
}

/// `n` colours spread over a palette; higher-is-better is reversed (dark = low supply).
fn colors(polarity: Polarity, n: usize) -> Vec<String> {
    let p = palette(polarity);
    let mut out: Vec<String> = (0..n)
        .map(|i| {
            let t = if n == 1 {
                0.5
            } else {
                i as f64 / (n - 1) as f64
            };
            p[(t * (p.len() - 1) as f64).round() as usize].to_string()
        })
        .collect();
    if polarity == Polarity::HigherIsBetter {
        out.reverse();
    }
    out
}

fn quantile_breaks(sorted: &[f64], k: usize) -> Vec<f64> {
    let n = sorted.len();
    let mut out: Vec<f64> = Vec::new();
    for i in 1..k {
        let pos = ((i * n) as f64 / k as f64).ceil() as isize - 1;
        let b = sorted[pos.clamp(0, n as isize - 1) as usize];
        if out.last().is_none_or(|&l| b > l) {
            out.push(b);
        }
    }
    out.retain(|&b| b < sorted[n - 1]);
    out
}

fn equal_breaks(sorted: &[f64], k: usize) -> Vec<f64> {
    let (lo, hi) = (sorted[0], sorted[sorted.len() - 1]);
    if hi <= lo {
        return Vec::new();
    }
    (1..k)
        .map(|i| lo + (hi - lo) * i as f64 / k as f64)
        .collect()
}

/// Jenks–Fisher natural breaks, exact dynamic programme (O(k·n²)); as the web map.
fn jenks_breaks(sorted: &[f64], k: usize) -> Vec<f64> {
    let n = sorted.len();
    let mut distinct = sorted.to_vec();
    distinct.dedup();
    let k = k.min(distinct.len());
    if k < 2 {
        return Vec::new();
    }
    let mut s1 = vec![0.0; n + 1];
    let mut s2 = vec![0.0; n + 1];
    for i in 0..n {
        s1[i + 1] = s1[i] + sorted[i];
        s2[i + 1] = s2[i] + sorted[i] * sorted[i];
    }
    let ssd = |i: usize, j: usize| {
        let m = (j - i + 1) as f64;
        let s = s1[j + 1] - s1[i];
        s2[j + 1] - s2[i] - s * s / m
    };
    let mut cost = vec![(0..n).map(|j| ssd(0, j)).collect::<Vec<_>>()];
    let mut from = vec![vec![0usize; n]];
    for c in 1..k {
        let mut cc = vec![f64::INFINITY; n];
        let mut ff = vec![0usize; n];
        for j in c..n {
            for i in c..=j {
                let v = cost[c - 1][i - 1] + ssd(i, j);
                if v < cc[j] {
                    cc[j] = v;
                    ff[j] = i;
                }
            }
        }
        cost.push(cc);
        from.push(ff);
    }
    let mut breaks = Vec::new();
    let mut j = n - 1;
    for c in (1..k).rev() {
        let i = from[c][j];
        breaks.insert(0, sorted[i - 1]);
        j = i - 1;
    }
    breaks.dedup();
    breaks
}

/// Classifies numeric values as the web map does; labels formatted with `fmt`.
pub fn numeric(
    values: &[Option<f64>],
    method: ReportClassification,
    k: usize,
    polarity: Polarity,
    fmt: impl Fn(f64) -> String,
) -> Classified {
    let mut sorted: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return Classified {
            classes: Vec::new(),
            of: vec![None; values.len()],
            no_data: values.len(),
        };
    }
    let breaks = match method {
        ReportClassification::Quantile => quantile_breaks(&sorted, k),
        ReportClassification::Equal => equal_breaks(&sorted, k),
        ReportClassification::Jenks => jenks_breaks(&sorted, k),
    };
    let n = breaks.len() + 1;
    let cols = colors(polarity, n);
    let mut classes: Vec<Class> = (0..n)
        .map(|c| {
            let lower = if c == 0 { sorted[0] } else { breaks[c - 1] };
            let upper = if c == n - 1 {
                sorted[sorted.len() - 1]
            } else {
                breaks[c]
            };
            let label = if c == 0 {
                format!("{} – {}", fmt(lower), fmt(upper))
            } else {
                format!("> {} – {}", fmt(lower), fmt(upper))
            };
            Class {
                label,
                color: cols[c].clone(),
                count: 0,
            }
        })
        .collect();
    let of: Vec<Option<usize>> = values
        .iter()
        .map(|v| {
            v.filter(|v| v.is_finite())
                .map(|v| breaks.iter().take_while(|&&b| v > b).count())
        })
        .collect();
    for c in of.iter().flatten() {
        classes[*c].count += 1;
    }
    let no_data = of.iter().filter(|c| c.is_none()).count();
    Classified {
        classes,
        of,
        no_data,
    }
}

/// MSS status classes (values 1–4).
pub fn status(values: &[Option<u8>]) -> Classified {
    let mut classes: Vec<Class> = STATUS
        .iter()
        .enumerate()
        .map(|(i, (l, c))| Class {
            label: format!("{} {l}", i + 1),
            color: (*c).into(),
            count: 0,
        })
        .collect();
    let of: Vec<Option<usize>> = values
        .iter()
        .map(|v| v.filter(|v| (1..=4).contains(v)).map(|v| v as usize - 1))
        .collect();
    for c in of.iter().flatten() {
        classes[*c].count += 1;
    }
    let no_data = of.iter().filter(|c| c.is_none()).count();
    Classified {
        classes,
        of,
        no_data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_the_web_map() {
        // classify.js quantileBreaks([1..10], 5) = [2, 4, 6, 8]
        let v: Vec<Option<f64>> = (1..=10).map(|x| Some(x as f64)).collect();
        let c = numeric(
            &v,
            ReportClassification::Quantile,
            5,
            Polarity::HigherIsWorse,
            |x| format!("{x}"),
        );
        assert_eq!(c.classes.len(), 5);
        assert_eq!(c.classes[0].label, "1 – 2");
        assert_eq!(c.classes[4].label, "> 8 – 10");
        assert_eq!(c.of[0], Some(0));
        assert_eq!(c.of[9], Some(4));
        assert!(c.classes.iter().all(|k| k.count == 2));
    }

    #[test]
    fn jenks_separates_clusters() {
        let v: Vec<Option<f64>> = [1.0, 1.1, 1.2, 5.0, 5.1, 9.0, 9.2, f64::NAN]
            .iter()
            .map(|&x| Some(x))
            .chain([None])
            .collect();
        let c = numeric(&v, ReportClassification::Jenks, 3, Polarity::Neutral, |x| {
            format!("{x}")
        });
        assert_eq!(
            c.of[..7],
            [
                Some(0),
                Some(0),
                Some(0),
                Some(1),
                Some(1),
                Some(2),
                Some(2)
            ]
        );
        assert_eq!(c.no_data, 2);
        assert_eq!(c.color(8), NO_DATA);
    }

    #[test]
    fn better_is_reversed() {
        let v: Vec<Option<f64>> = (1..=4).map(|x| Some(x as f64)).collect();
        let c = numeric(
            &v,
            ReportClassification::Equal,
            4,
            Polarity::HigherIsBetter,
            |x| format!("{x}"),
        );
        // low supply is dark
        assert_eq!(c.classes[0].color, "#023858");
    }
}
