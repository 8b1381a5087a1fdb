use kleinraum_aggregate::model::*;

#[test]
fn point_keys_keep_any_text_and_store_plain_integers_compactly() {
    let mut k: PointKeys = ["17", "0", "3"].into_iter().collect();
    assert!(matches!(k, PointKeys::Small(_)));
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

/// Integer keys take 4 bytes each until one is 2^32 or more; from then on 8, with every key
/// kept, also where a block of small keys is appended to wide ones or the other way round.
/// Equal keys are equal however they are stored.
#[test]
fn integer_keys_widen_when_one_does_not_fit_in_32_bits() {
    let big = u64::from(u32::MAX) + 1;
    let mut k = PointKeys::with_capacity(2);
    k.push_int(u64::from(u32::MAX));
    k.push("7");
    assert!(matches!(k, PointKeys::Small(_)));
    k.push_int(big);
    k.push_int(8);
    assert!(matches!(k, PointKeys::Int(_)));
    let want = |k: &PointKeys| k.iter().map(|s| s.into_owned()).collect::<Vec<_>>();
    assert_eq!(want(&k), ["4294967295", "7", "4294967296", "8"]);
    let small: PointKeys = ["1", "2"].into_iter().collect();
    let mut wide: PointKeys = ["9999999999999999999"].into_iter().collect();
    assert!(matches!(wide, PointKeys::Int(_)));
    wide.append(small.clone());
    assert_eq!(want(&wide), ["9999999999999999999", "1", "2"]);
    let mut after = small.clone();
    after.append(["4294967296", "3"].into_iter().collect());
    assert!(matches!(after, PointKeys::Int(_)));
    assert_eq!(want(&after), ["1", "2", "4294967296", "3"]);
    // The same keys stored wide and narrow are the same keys.
    let mut widened = small.clone();
    widened.push_int(big);
    let mut narrow = small.clone();
    narrow.push_int(big);
    assert_eq!(widened, narrow);
    let as_wide = PointKeys::Int(vec![1, 2]);
    assert_eq!(as_wide, small);
    assert_ne!(as_wide, ["1", "3"].into_iter().collect());
    assert_ne!(small, ["1", "x"].into_iter().collect());
    assert_eq!(
        after.permuted(&[2, 0]).get(0).as_deref(),
        Some("4294967296")
    );
    assert_eq!(small.ints().map(|i| i.iter().sum::<u64>()), Some(3));
}
