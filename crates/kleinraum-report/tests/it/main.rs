//! The report crate on a small hand-made result: both engines produce documents that say what
//! the result says, with `·` where disclosure control withheld a count.

use geo::{MultiPolygon, polygon};
use kleinraum_aggregate::config::AnalysisConfig;
use kleinraum_aggregate::result::{
    AggregateResult, AreaResult, AreaYear, AssignmentReport, Contribution, Count, CountFlag,
    FacilityStats, IndexValue, IndicatorValue, LevelResult,
};
use kleinraum_load::config::ReportConfig;
use kleinraum_report::{Format, ReportKind, ReportMeta, ReportRequest};
use std::io::Read;

fn square(x: f64, y: f64, s: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![
        polygon![(x: x, y: y), (x: x + s, y: y), (x: x + s, y: y + s), (x: x, y: y + s)],
    ])
}

fn analysis() -> AnalysisConfig {
    toml::from_str(
        r#"
[[indicator]]
id = "s4"
title = "Kinderarmut"
kind = "share"
numerator = "kids_sgb2"
denominator = "kids"
source = "Testquelle"
decimals = 1

[[index]]
id = "ix"
title = "Sozialindex Test"
level = "bezirke"
status = ["s4"]

[disclosure]
threshold = 3
[[disclosure.additive]]
total = "residents"
parts = ["age_below_6", "age_6_15", "age_15_18", "age_18_65", "age_above_65"]
"#,
    )
    .expect("analysis config")
}

fn count(v: Option<u64>) -> Count {
    match v {
        Some(v) => Count::published(v),
        None => Count {
            value: None,
            flag: CountFlag::Suppressed,
        },
    }
}

fn area(
    id: &str,
    name: &str,
    x: f64,
    residents: u64,
    small: Option<u64>,
    s4: f64,
    attention: bool,
) -> AreaResult {
    let years = [2023, 2024]
        .iter()
        .map(|&year| AreaYear {
            year,
            counts: vec![
                count(Some(residents)),
                count(small),
                count(Some(40)),
                count(Some(20)),
                count(Some(residents / 2)),
                count(Some(residents / 4)),
                count(Some(30)),
                count(Some(7)),
            ],
            indicators: vec![IndicatorValue::some(s4 + (year - 2023) as f64)],
            indices: vec![Some(IndexValue {
                status_value: Some(if attention { 1.8 } else { -0.4 }),
                status_class: Some(if attention { 4 } else { 2 }),
                dynamics_value: None,
                dynamics_class: None,
                group: None,
                attention,
                reason: None,
                status_contributions: vec![Contribution {
                    indicator: "s4".into(),
                    z: if attention { 1.8 } else { -0.4 },
                }],
                dynamics_contributions: Vec::new(),
            })],
        })
        .collect();
    AreaResult {
        id: id.into(),
        name: name.into(),
        parent: None,
        geometry: Some(square(x, 0.0, 2000.0)),
        area_m2: 4e6,
        facilities: vec![FacilityStats {
            count: 1,
            capacity: 50.0,
        }],
        years,
    }
}

fn result() -> AggregateResult {
    let a = analysis();
    let mut city = area("gesamt", "Gesamtstadt", 0.0, 3000, Some(180), 15.0, false);
    city.geometry = None;
    for y in &mut city.years {
        y.indices = vec![None];
    }
    AggregateResult {
        working_epsg: 25832,
        years: vec![2023, 2024],
        count_columns: [
            "residents",
            "age_below_6",
            "age_6_15",
            "age_15_18",
            "age_18_65",
            "age_above_65",
            "kids",
            "kids_sgb2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        facility_categories: vec!["kitas".into()],
        facility_titles: vec!["Kitas".into()],
        indicators: a.indicators,
        indices: a.indices,
        disclosure: a.disclosure,
        levels: vec![
            LevelResult {
                key: "bezirke".into(),
                title: "Bezirke".into(),
                areas: vec![
                    area("01", "Nordstadt", 0.0, 1200, Some(80), 12.3, false),
                    area("02", "Südstadt", 2000.0, 1100, None, 23.4, true),
                    area("03", "Weststadt", 4000.0, 700, Some(100), 8.8, false),
                ],
            },
            LevelResult {
                key: "gesamt".into(),
                title: "Gesamtstadt".into(),
                areas: vec![city],
            },
        ],
        report: AssignmentReport::default(),
        protection: Default::default(),
    }
}

fn meta() -> ReportMeta {
    let mut m = ReportMeta::today("Teststadt");
    m.gebietsstand = Some("Bezirke 2024".into());
    m
}

fn req(kind: ReportKind, format: Format, area: Option<&str>) -> ReportRequest {
    ReportRequest {
        kind,
        level: None,
        year: Some(2024),
        area: area.map(str::to_string),
        indicator: None,
        method: None,
        classes: None,
        format,
    }
}

/// The text of every `<w:t>` of the DOCX's document.xml, and the XML itself.
fn docx_text(bytes: &[u8]) -> (String, String) {
    let mut zip = zip_entry(bytes, "word/document.xml");
    let mut xml = String::new();
    zip.read_to_string(&mut xml).expect("utf-8");
    let mut text = String::new();
    for part in xml.split("<w:t").skip(1) {
        if !(part.starts_with('>') || part.starts_with(' ')) {
            continue;
        }
        if let Some(start) = part.find('>')
            && let Some(end) = part.find("</w:t>")
            && start < end
        {
            text.push_str(&part[start + 1..end]);
            text.push(' ');
        }
    }
    (text, xml)
}

/// A minimal ZIP reader (stored or deflated entries) for the test: finds `name` through the
/// central directory.
fn zip_entry(b: &[u8], name: &str) -> std::io::Cursor<Vec<u8>> {
    let eocd = (0..b.len() - 21)
        .rev()
        .find(|&i| b[i..i + 4] == [0x50, 0x4b, 5, 6])
        .expect("zip end");
    let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as usize;
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
    let n = u16_at(eocd + 10);
    let mut p = u32_at(eocd + 16);
    for _ in 0..n {
        let method = u16_at(p + 10);
        let csize = u32_at(p + 20);
        let (nl, el, cl) = (u16_at(p + 28), u16_at(p + 30), u16_at(p + 32));
        let local = u32_at(p + 42);
        let fname = String::from_utf8_lossy(&b[p + 46..p + 46 + nl]).into_owned();
        if fname == name {
            let data_at = local + 30 + u16_at(local + 26) + u16_at(local + 28);
            let data = &b[data_at..data_at + csize];
            let out = if method == 0 {
                data.to_vec()
            } else {
                let mut v = Vec::new();
                flate2::read::DeflateDecoder::new(data)
                    .read_to_end(&mut v)
                    .expect("inflate");
                v
            };
            return std::io::Cursor::new(out);
        }
        p += 46 + nl + el + cl;
    }
    panic!("{name} not in the DOCX");
}

#[test]
fn steckbrief_docx_has_word_styles_real_tables_and_suppression_marks() {
    let r = result();
    let bytes = kleinraum_report::render(
        &r,
        &ReportConfig::default(),
        &meta(),
        &req(ReportKind::Steckbrief, Format::Docx, Some("02")),
    )
    .expect("docx");
    let (text, xml) = docx_text(&bytes);
    assert!(
        xml.contains(r#"<w:pStyle w:val="Heading1" />"#)
            || xml.contains(r#"<w:pStyle w:val="Heading1"/>"#),
        "Heading 1 style used"
    );
    assert!(xml.contains("<w:tbl>"), "tables are Word tables");
    assert!(xml.contains("SEQ Tabelle"), "captions are numbered by Word");
    assert!(text.contains("Südstadt (02)"));
    assert!(
        text.contains("24,4"),
        "the 2024 value of s4 (23.4 + 1): {text}"
    );
    // The suppressed age group of Südstadt is shown as "·" in the age table.
    let after = &text[text.find("unter 6").expect("age table") + "unter 6".len()..];
    assert!(
        after.trim_start().starts_with("·"),
        "suppressed count shown as ·: {}",
        after.chars().take(30).collect::<String>()
    );
    assert!(text.contains("gesperrt"), "the mark is explained");
    assert!(text.contains("Sozialraumgebiet"));
}

#[test]
fn monitoring_pdf_is_a_tagged_pdf_with_embedded_fonts() {
    let r = result();
    let bytes = kleinraum_report::render(
        &r,
        &ReportConfig::default(),
        &meta(),
        &req(ReportKind::Monitoring, Format::Pdf, None),
    )
    .expect("pdf");
    assert!(bytes.starts_with(b"%PDF-"));
    let s = String::from_utf8_lossy(&bytes);
    assert!(s.contains("/StructTreeRoot"), "tagged PDF");
    assert!(s.contains("/FontFile2"), "fonts embedded");
    assert!(s.contains("pdfaid:part"), "PDF/A metadata");
}

#[test]
fn bad_parameters_name_the_parameter() {
    let r = result();
    let cfg = ReportConfig::default();
    let mut q = req(ReportKind::Steckbrief, Format::Pdf, Some("99"));
    let e = kleinraum_report::render(&r, &cfg, &meta(), &q)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("area:"), "{e}");
    q.area = None;
    q.year = Some(1999);
    let e = kleinraum_report::render(&r, &cfg, &meta(), &q)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("year:") && e.contains("2023, 2024"), "{e}");
    q.year = None;
    q.level = Some("nope".into());
    let e = kleinraum_report::render(&r, &cfg, &meta(), &q)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("level:") && e.contains("bezirke"), "{e}");
    let mut k = req(ReportKind::Karte, Format::Pdf, None);
    k.indicator = Some("x".into());
    let e = kleinraum_report::render(&r, &cfg, &meta(), &k)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("indicator:"), "{e}");
}

#[test]
fn drawings_rasterise_at_300_dpi() {
    let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="25.4mm" height="10mm" viewBox="0 0 25.4 10"><rect width="25.4" height="10" fill="#ff0000"/><text x="1" y="6" font-size="4" font-family="Liberation Sans">Text</text></svg>"##;
    let (png, w, h) = kleinraum_report::svg_to_png(svg, 300.0).expect("png");
    assert!(png.starts_with(b"\x89PNG"));
    assert_eq!(w, 300, "one inch at 300 dpi");
    assert!((117..=119).contains(&h));
}
