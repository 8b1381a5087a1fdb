use bytes::Bytes;
use kleinraum_report::{Format, ReportKind, ReportRequest};
use kleinraum_serve::reports::*;

#[test]
fn cache_stays_bounded() {
    let mut c = Cache::default();
    for i in 0..20 {
        c.put(format!("k{i}"), Bytes::from(vec![0u8; CACHE_BYTES / 8]));
    }
    assert!(c.bytes() <= CACHE_BYTES);
    assert!(c.contains("k19") && !c.contains("k0"));
}

#[test]
fn file_names_are_plain() {
    let r = ReportRequest {
        kind: ReportKind::Steckbrief,
        level: Some("plr".into()),
        year: Some(2020),
        area: Some("01\"x".into()),
        indicator: None,
        method: None,
        classes: None,
        format: Format::Docx,
    };
    assert_eq!(file_name(&r), "steckbrief-plr-01_x-2020.docx");
}
