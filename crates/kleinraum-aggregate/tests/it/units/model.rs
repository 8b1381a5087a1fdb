use kleinraum_aggregate::model::*;

#[test]
fn point_keys_keep_any_text_and_store_plain_integers_compactly() {
    let mut k: PointKeys = ["17", "0", "3"].into_iter().collect();
    assert!(matches!(k, PointKeys::Int(_)));
    // A leading zero, a sign or a letter: the text is kept as written.
    k.push("007");
    k.push("A-1");
    assert!(matches!(k, PointKeys::Text { .. }));
    let all: Vec<String> = k.iter().map(|s| s.into_owned()).collect();
    assert_eq!(all, ["17", "0", "3", "007", "A-1"]);
    let mut joined: PointKeys = ["1", "2"].into_iter().collect();
    joined.append(["x"].into_iter().collect());
    joined.append(["3"].into_iter().collect());
    let all: Vec<String> = joined.iter().map(|s| s.into_owned()).collect();
    assert_eq!(all, ["1", "2", "x", "3"]);
    assert_eq!(joined.permuted(&[3, 2, 0, 1]).get(1).as_deref(), Some("x"));
    let ints: PointKeys = ["5", "6", "7"].into_iter().collect();
    assert_eq!(
        ints.permuted(&[2, 0, 1]),
        ["7", "5", "6"].into_iter().collect()
    );
    assert_eq!(plain_int("0"), Some(0));
    assert_eq!(plain_int("01"), None);
    assert_eq!(plain_int("+1"), None);
    assert_eq!(plain_int("99999999999999999999"), None);
    assert_eq!(PointKeys::default().get(0), None);
}
