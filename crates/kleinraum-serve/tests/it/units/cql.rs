use kleinraum_serve::cql::*;
use serde_json::Value;
use serde_json::json;

fn resolve(n: &str) -> Option<(usize, PropType)> {
    match n {
        "status_class" => Some((0, PropType::Number)),
        "year" => Some((1, PropType::Year)),
        "name" => Some((2, PropType::Text)),
        "attention" => Some((3, PropType::Bool)),
        _ => None,
    }
}

fn sel(f: &str, row: &[Value]) -> bool {
    parse(f, &resolve).unwrap().selects(row)
}

#[test]
fn and_or_precedence_and_evaluation() {
    let e = parse(
        "status_class >= 3 AND year = 2024 OR name = 'Wedding'",
        &resolve,
    )
    .unwrap();
    assert!(e.selects(&[json!(4), json!(2024), json!("x")]));
    assert!(!e.selects(&[json!(2), json!(2024), json!("x")]));
    assert!(e.selects(&[json!(1), json!(2020), json!("Wedding")]));
    assert!(!e.selects(&[json!(null), json!(2024), json!("x")]));
}

#[test]
fn in_like_null_and_quotes() {
    let e = parse(
        "name IN ('A''s', 'B') AND NOT status_class IS NULL",
        &resolve,
    )
    .unwrap();
    assert!(e.selects(&[json!(1), json!(1), json!("A's")]));
    assert!(!e.selects(&[json!(null), json!(1), json!("A's")]));
    let e = parse("name LIKE 'Wed%'", &resolve).unwrap();
    assert!(e.selects(&[json!(1), json!(1), json!("Wedding")]));
    assert!(!e.selects(&[json!(1), json!(1), json!("Moabit")]));
    assert!(sel(r"name = 'A\'s'", &[json!(1), json!(1), json!("A's")]));
}

#[test]
fn null_makes_a_comparison_unknown_not_false() {
    let row = [json!(null), json!(2020), json!("x")];
    // NOT (unknown) is unknown: the row is not selected either way.
    assert!(!sel("status_class >= 3", &row));
    assert!(!sel("NOT (status_class >= 3)", &row));
    assert!(!sel("NOT (status_class >= 3) AND year = 2020", &row));
    // … but OR with a true branch is true, AND with a false branch is false.
    assert!(sel("status_class >= 3 OR year = 2020", &row));
    assert!(sel("NOT (status_class >= 3 AND year = 2019)", &row));
    assert!(sel("status_class IS NULL", &row));
    assert!(!sel("status_class IN (1, 2)", &row));
    assert!(!sel("NOT status_class IN (1, 2)", &row));
}

#[test]
fn literals_booleans_dates_and_reversed_comparisons() {
    let row = [json!(4), json!(2020), json!("Wedding"), json!(true)];
    assert!(sel("TRUE", &row));
    assert!(!sel("FALSE OR status_class < 0", &row));
    assert!(sel("attention = TRUE", &row));
    // GDAL's spelling of booleans.
    assert!(sel("attention = 1", &row));
    assert!(!sel("attention = 0", &row));
    assert!(parse("attention = 2", &resolve).is_err());
    assert!(sel("3 <= status_class", &row));
    assert!(sel("year = DATE('2020-12-31')", &row));
    assert!(sel("year < TIMESTAMP('2021-01-01T00:00:00Z')", &row));
    assert!(sel(
        "year >= DATE('2020-01-01') AND year <= DATE('2020-12-31')",
        &row
    ));
    assert!(sel("status_class BETWEEN 3 AND 4", &row));
    assert!(sel("status_class NOT BETWEEN 1 AND 2", &row));
    assert!(sel("status_class <> year", &row));
    assert!(parse("year = DATE('2024-99-99')", &resolve).is_err());
    assert!(parse("name = DATE('2024-01-01')", &resolve).is_err());
}

#[test]
fn like_escapes_and_wildcards() {
    let p = |s: &str| compile_pattern(s).unwrap();
    assert!(like_match("100%", &p(r"100\%")));
    assert!(!like_match("1000", &p(r"100\%")));
    assert!(like_match("a_b", &p(r"a\_b")));
    assert!(!like_match("axb", &p(r"a\_b")));
    assert!(like_match("Wedding", &p("W_d%g")));
    assert!(like_match("", &p("%")));
    assert!(!like_match("", &p("_")));
    assert!(like_match("abcabd", &p("%abd")));
    assert!(like_match("mississippi", &p("m%iss%pi")));
    assert!(!like_match("mississippi", &p("m%iss%px")));
    assert!(compile_pattern("abc\\").is_err());
}

/// Brute force over every split point, as the old recursive matcher did (exponential, so
/// only for short inputs): the linear matcher must agree with it.
fn like_brute(s: &[char], p: &[PatternItem]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(PatternItem::Any) => (0..=s.len()).any(|i| like_brute(&s[i..], &p[1..])),
        Some(PatternItem::One) => !s.is_empty() && like_brute(&s[1..], &p[1..]),
        Some(PatternItem::Char(c)) => s.first() == Some(c) && like_brute(&s[1..], &p[1..]),
    }
}

#[test]
fn like_matcher_equals_brute_force_on_random_inputs() {
    let mut rng = kleinraum_testdata::synthetic::Rng(0x9e37_79b9_7f4a_7c15);
    let mut next = || rng.next_u64();
    for _ in 0..20_000 {
        let s: String = (0..next() % 9)
            .map(|_| ['a', 'b', '%'][(next() % 3) as usize])
            .collect();
        let p: String = (0..next() % 7)
            .map(|_| ['a', 'b', '%', '_'][(next() % 4) as usize])
            .collect();
        let pat = compile_pattern(&p).unwrap();
        let chars: Vec<char> = s.chars().collect();
        assert_eq!(
            like_match(&s, &pat),
            like_brute(&chars, &pat),
            "{s:?} LIKE {p:?}"
        );
    }
}

#[test]
fn hostile_filters_are_refused_or_fast() {
    let deep = format!("{}status_class = 1{}", "(".repeat(2_500), ")".repeat(2_500));
    assert_eq!(parse(&deep, &resolve).unwrap_err(), CqlError::TooDeep);
    let nots = format!("{}status_class = 1", "NOT (".repeat(1_500));
    assert_eq!(parse(&nots, &resolve).unwrap_err(), CqlError::TooDeep);
    let nots = format!("{}status_class = 1", "NOT (".repeat(2_000));
    assert!(matches!(
        parse(&nots, &resolve).unwrap_err(),
        CqlError::TooLong(_)
    ));
    let long = "status_class = 1 AND ".repeat(600) + "year = 2020";
    assert!(matches!(
        parse(&long, &resolve).unwrap_err(),
        CqlError::TooLong(_)
    ));
    let many = "status_class = 1 OR ".repeat(300) + "year = 2020";
    assert_eq!(
        parse(&many, &resolve).unwrap_err(),
        CqlError::TooManyPredicates
    );
    // Within the limits: a flat chain, evaluated without deep recursion.
    let ok = "status_class = 1 OR ".repeat(200) + "year = 2020";
    assert!(sel(&ok, &[json!(0), json!(2020), json!("x")]));
    // The pattern that backtracked exponentially before answers at once.
    let e = parse("name LIKE '%_%_%_%_%_%_%_%_%_%_%_%#'", &resolve).unwrap();
    let name = json!("Kita Sonnenschein am Wasserturm mit langem Namen und noch mehr Text");
    assert!(!e.selects(&[json!(1), json!(2020), name]));
    let p = format!("name LIKE '{}'", "%a".repeat(200));
    assert_eq!(parse(&p, &resolve).unwrap_err(), CqlError::PatternTooLong);
}

#[test]
fn errors_name_the_problem() {
    assert_eq!(
        parse("foo = 1", &resolve).unwrap_err().to_string(),
        "filter: unknown property 'foo'"
    );
    let msg = |f: &str| parse(f, &resolve).unwrap_err().to_string();
    assert!(msg("name = 3").contains("quote"));
    assert!(msg("(year = 1").contains("')'"));
    assert!(msg("year = 'x").contains("unterminated"));
    assert!(msg("status_class LIKE 'a%'").contains("text"));
    assert!(msg("'x'").contains("literal"));
}

#[test]
fn instants_are_strict() {
    assert_eq!(parse_instant("2024-02-29", false), Some((2024, 2, 29, 0)));
    assert_eq!(parse_instant("2023-02-29", false), None);
    assert_eq!(parse_instant("2024-99-99", false), None);
    assert_eq!(
        parse_instant("2024-12-31T23:00:00Z", true),
        Some((2024, 12, 31, 82_800))
    );
    assert_eq!(
        parse_instant("2024-12-31T23:30:00-01:00", true),
        Some((2025, 1, 1, 1_800))
    );
    assert_eq!(
        parse_instant("2024-01-01T00:30:00+01:00", true),
        Some((2023, 12, 31, 84_600))
    );
    assert_eq!(parse_instant("2024-12-31T25:00:00Z", true), None);
    assert_eq!(parse_instant("2024-12-31T10:00:00", true), None);
    assert_eq!(
        parse_instant("2024-12-31T10:00:00.123Z", true),
        Some((2024, 12, 31, 36_000))
    );
}

/// A tiny random expression generator with its own three-valued evaluation: the parser
/// must give every rendered expression the same meaning (precedence, NOT, NULL), and must
/// never panic on mutated text. A bounded property test (fixed seed, fixed case count), run
/// in CI like the other unit tests.
mod property {
    use super::*;

    use kleinraum_testdata::synthetic::Rng;

    #[derive(Debug)]
    enum T {
        And(Box<T>, Box<T>),
        Or(Box<T>, Box<T>),
        Not(Box<T>),
        Gt(i64),
        IsNull,
        Like(&'static str),
        Bool(bool),
    }

    fn generate(r: &mut Rng, depth: u32) -> T {
        match if depth == 0 {
            3 + r.below(4)
        } else {
            r.below(7)
        } {
            0 => T::And(
                Box::new(generate(r, depth - 1)),
                Box::new(generate(r, depth - 1)),
            ),
            1 => T::Or(
                Box::new(generate(r, depth - 1)),
                Box::new(generate(r, depth - 1)),
            ),
            2 => T::Not(Box::new(generate(r, depth - 1))),
            3 => T::Gt(r.below(6) as i64),
            4 => T::IsNull,
            5 => T::Like(["W%", "%a%", "_o%", "%"][r.below(4) as usize]),
            _ => T::Bool(r.below(2) == 0),
        }
    }

    /// Fully parenthesised text, so the reference needs no precedence rules.
    fn text(t: &T) -> String {
        match t {
            T::And(a, b) => format!("({} AND {})", text(a), text(b)),
            T::Or(a, b) => format!("({} or {})", text(a), text(b)),
            T::Not(a) => format!("NOT ({})", text(a)),
            T::Gt(n) => format!("status_class > {n}"),
            T::IsNull => "status_class IS NULL".into(),
            T::Like(p) => format!("name LIKE '{p}'"),
            T::Bool(b) => {
                if *b {
                    "TRUE".into()
                } else {
                    "false".into()
                }
            }
        }
    }

    fn reference(t: &T, class: Option<i64>, name: &str) -> Option<bool> {
        match t {
            T::And(a, b) => match (reference(a, class, name), reference(b, class, name)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            T::Or(a, b) => match (reference(a, class, name), reference(b, class, name)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            T::Not(a) => reference(a, class, name).map(|b| !b),
            T::Gt(n) => class.map(|c| c > *n),
            T::IsNull => Some(class.is_none()),
            T::Like(p) => Some(match *p {
                "W%" => name.starts_with('W'),
                "%a%" => name.contains('a'),
                "_o%" => name.chars().nth(1) == Some('o'),
                _ => true,
            }),
            T::Bool(b) => Some(*b),
        }
    }

    #[test]
    fn parsed_filters_mean_what_they_say() {
        let mut r = Rng(0x5eed_cafe_f00d_d00d);
        let rows: [(Option<i64>, &str); 4] = [
            (Some(4), "Wedding"),
            (None, "Moabit"),
            (Some(1), "Tor"),
            (Some(2), ""),
        ];
        for _ in 0..3_000 {
            let depth = 1 + r.below(5) as u32;
            let t = generate(&mut r, depth);
            let f = text(&t);
            let e = parse(&f, &resolve).unwrap_or_else(|e| panic!("{f}: {e}"));
            for (class, name) in rows {
                let row = [
                    class.map_or(Value::Null, Value::from),
                    json!(2020),
                    json!(name),
                    json!(false),
                ];
                assert_eq!(
                    e.eval(&row),
                    reference(&t, class, name),
                    "{f} on {class:?} {name:?}"
                );
            }
        }
    }

    #[test]
    fn mutated_filters_never_panic() {
        let mut r = Rng(0xdead_beef_1234_5678);
        let alphabet: Vec<char> =
            "()'\"\\%_ ,=<>!-+.eE0123456789aAnNdDoOrRtTlLiIkKsSuUfF\u{e4}\u{1F600}"
                .chars()
                .collect();
        let words = [
            "AND",
            "OR",
            "NOT",
            "IN",
            "LIKE",
            "IS",
            "NULL",
            "BETWEEN",
            "DATE",
            "TIMESTAMP",
            "TRUE",
            "name",
            "year",
            "status_class",
            "attention",
            "(",
            ")",
            "'",
            "''",
            ",",
        ];
        let mut seen_ok = 0;
        for _ in 0..20_000 {
            let mut f = text(&generate(&mut r, 3));
            for _ in 0..r.below(4) {
                let pos = (r.below(f.chars().count() as u64 + 1)) as usize;
                let byte = f.char_indices().nth(pos).map_or(f.len(), |(b, _)| b);
                match r.below(3) {
                    0 => f.insert(byte, alphabet[r.below(alphabet.len() as u64) as usize]),
                    1 => f.insert_str(
                        byte,
                        &format!(" {} ", words[r.below(words.len() as u64) as usize]),
                    ),
                    _ => {
                        if byte < f.len() {
                            f.remove(byte);
                        }
                    }
                }
            }
            if let Ok(e) = parse(&f, &resolve) {
                seen_ok += 1;
                let _ = e.eval(&[json!(3), json!(2020), json!("Wedding"), json!(true)]);
                let _ = e.eval(&[Value::Null, Value::Null, Value::Null, Value::Null]);
            }
        }
        assert!(
            seen_ok > 1_000,
            "the mutations also produce valid filters ({seen_ok})"
        );
    }
}
