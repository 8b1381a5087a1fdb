//! Bounded property test of the upload parser.

/// Bounded property test of the upload parser (a planner's GeoJSON file): random byte edits
/// and structural mutations of a valid FeatureCollection give either areas or a message that
/// names the problem — never a panic.
#[test]
fn mutated_uploads_are_parsed_or_refused_never_panic() {
    use kleinraum_serve::redefine::parse_upload;
    use kleinraum_testdata::synthetic::Rng;
    let (ws, _dir) = kleinraum_testdata::workspace::workspace();
    let valid = serde_json::json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "A", "name": "Nord"}, "geometry": {"type": "Polygon",
            "coordinates": [[[10.0, 50.0], [10.1, 50.0], [10.1, 50.1], [10.0, 50.1], [10.0, 50.0]]]}},
        {"type": "Feature", "properties": {"id": 7, "name": "Süd"}, "geometry": {"type": "MultiPolygon",
            "coordinates": [[[[10.0, 49.9], [10.1, 49.9], [10.1, 50.0], [10.0, 49.9]]]]}}
    ]})
    .to_string();
    let areas = parse_upload(&ws, valid.as_bytes(), "id", Some("name")).expect("valid upload");
    assert_eq!(areas.len(), 2);
    assert_eq!(areas[1].id, "7");
    let mut rng = Rng(7);
    let pieces = [
        "null",
        "[]",
        "{}",
        "\"x\"",
        "1e999",
        "-0",
        "[[[]]]",
        "[[[[1,2]]]]",
        "\"Polygon\"",
        "\"MultiPolygon\"",
        "\"Point\"",
        "[200, 95]",
        "{\"type\":\"Feature\"}",
        "\u{0}",
        "\"\u{1F600}\"",
    ];
    let (mut ok, mut refused) = (0, 0);
    for _ in 0..5_000 {
        let mut text: Vec<char> = valid.chars().collect();
        for _ in 0..1 + rng.next_u64() % 4 {
            let pos = (rng.next_u64() % (text.len() as u64 + 1)) as usize;
            match rng.next_u64() % 4 {
                0 if pos < text.len() => {
                    text.remove(pos);
                }
                1 => text.insert(
                    pos,
                    ['[', ']', '{', '}', ',', '"', ':', '1', '-', '.']
                        [(rng.next_u64() % 10) as usize],
                ),
                _ => {
                    let p = pieces[(rng.next_u64() % pieces.len() as u64) as usize];
                    for (k, c) in p.chars().enumerate() {
                        text.insert(pos + k, c);
                    }
                }
            }
        }
        let body: String = text.into_iter().collect();
        match parse_upload(&ws, body.as_bytes(), "id", Some("name")) {
            Ok(a) => {
                assert!(!a.is_empty());
                ok += 1;
            }
            Err(e) => {
                let msg = format!("{:?}", e);
                assert!(msg.len() > 5, "a message: {msg}");
                refused += 1;
            }
        }
    }
    assert!(ok > 50 && refused > 1_000, "{ok} parsed, {refused} refused");
}
