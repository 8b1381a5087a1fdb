use kleinraum_load::config::CsvOptions;
use kleinraum_load::table::*;
use std::path::Path;

#[test]
fn delimiter_detected_from_header() {
    assert_eq!(detect_delimiter(b"a;b;c"), b';');
    assert_eq!(detect_delimiter(b"a,b,c"), b',');
    assert_eq!(detect_delimiter(b"a\tb"), b'\t');
    assert_eq!(detect_delimiter(b"\"a;b\",c"), b',');
}

#[test]
fn thousands_separators_and_padding() {
    let p = |v: &str, t: Option<char>| parse_number(v, Decimal::Detect, b';', t);
    assert_eq!(p(" 1 675 ", None), Ok(Some(1675.0)));
    assert_eq!(p("1\u{a0}675", None), Ok(Some(1675.0)));
    assert_eq!(p("1\u{202f}675\u{202f}000", None), Ok(Some(1_675_000.0)));
    assert_eq!(p("12 345,5", None), Ok(Some(12345.5)));
    assert_eq!(p("1 67", None), Err(NotANumber));
    assert_eq!(p("1.675", Some('.')), Ok(Some(1675.0)));
    assert_eq!(p("1.675.000", Some('.')), Ok(Some(1_675_000.0)));
    assert_eq!(p("12.5", Some('.')), Err(NotANumber));
    assert_eq!(
        parse_number("1,675.5", Decimal::Point, b';', Some(',')),
        Ok(Some(1675.5))
    );
    assert_eq!(p("-2 000", None), Ok(Some(-2000.0)));
}

/// Rows (line, fields) and diagnostics, in order.
type Rows = Vec<(usize, Vec<String>)>;

/// Rows and diagnostics as the sequential reader and as the chunked one give them.
fn both_ways(text: &[u8], target: usize) -> (Rows, Rows) {
    let t =
        CsvTable::from_bytes(Path::new("t.csv"), text.to_vec(), &CsvOptions::default()).unwrap();
    let mut d1 = Vec::new();
    let mut slow = t.rows(&mut d1).unwrap();
    slow.extend(
        d1.iter()
            .map(|d| (d.row, vec![format!("diag {}", d.message)])),
    );
    let (accs, d2) = t
        .par_rows_chunked(
            target,
            |_| Vec::new(),
            |acc: &mut Vec<(usize, Vec<String>)>, r| {
                acc.push((
                    r.line,
                    (0..r.record.len()).map(|i| r.text(i).to_string()).collect(),
                ))
            },
        )
        .unwrap();
    let mut fast: Vec<_> = accs.into_iter().flatten().collect();
    fast.extend(
        d2.iter()
            .map(|d| (d.row, vec![format!("diag {}", d.message)])),
    );
    (slow, fast)
}

#[test]
fn chunked_reader_equals_csv_crate_on_hostile_files() {
    let files: [&[u8]; 12] = [
        b"id,x\n1,2\n3,4\n5,6\n",
        b"id,x\r\n1,2\r\n3,4\r\n5,6",
        b"\"id\",\"x\"\n\"1\",\"a\nb,c\"\n\"2\",\"d\"\"e\"\n3,\"\"\n",
        b"id;x\n1;\"long quoted\nfield\nover\nlines;;\"\n2;3\n\n\n4;5\n",
        b"id,x\n1,2,3\n4\n\n  \n5,6\n7,\n",
        b"id,x\n1,2\r3,4\n",
        b"id,x\n1,ab\"c\n2,3\n",
        b"id,x\n1,\"ab\"c\n2,3\n",
        b"id,x\n1,\"unterminated\n2,3\n",
        b"id,x\n1,2",
        b"id,x\n\"a\"\"\"\"b\",\"\"\"\"\n\"\r\n\",x\r\n",
        b"id\tx\n1\t2\n\"3\t\"\t4\n",
    ];
    for (k, f) in files.iter().enumerate() {
        for target in [1, 2, 3, 5, 7, 11, 1 << 20] {
            let (slow, fast) = both_ways(f, target);
            assert_eq!(slow, fast, "file {k}, chunks of {target} bytes");
        }
    }
}

/// Whether a field is a plain integer as [`PlainRow::int`] reads it.
fn is_plain(text: &str) -> bool {
    let b = text.as_bytes();
    !b.is_empty()
        && b.len() <= 19
        && b.iter().all(u8::is_ascii_digit)
        && (b.len() == 1 || b[0] != b'0')
}

/// Rows and diagnostics through [`CsvTable::par_rows_plain_chunked`], with the rows that came
/// the plain way counted, where `decline` says which of those go the general way after all.
/// Each plain row's numbers are checked against its texts.
fn plain_way(t: &CsvTable, target: usize, decline: impl Fn(usize) -> bool + Sync) -> (Rows, usize) {
    type Acc = (Vec<(usize, Vec<String>)>, usize);
    let (accs, d) = t
        .par_rows_plain_chunked(
            target,
            |_| (Vec::new(), 0),
            |acc: &mut Acc, line, r| {
                if decline(line) {
                    return false;
                }
                let fields = (0..t.headers.len())
                    .map(|i| {
                        let text = r.text(i);
                        match r.int(i) {
                            Some(v) => assert_eq!(v.to_string(), text, "line {line}"),
                            None => assert!(!is_plain(text), "line {line}: {text:?}"),
                        }
                        if let Some(d) = r.point_decimal(i) {
                            let general = parse_decimal(text, Decimal::Point, t.delimiter);
                            assert_eq!(general.map(|g| g.map(f64::to_bits)), Ok(Some(d.to_bits())));
                        }
                        text.to_string()
                    })
                    .collect();
                acc.0.push((line, fields));
                acc.1 += 1;
                true
            },
            |acc: &mut Acc, r| {
                acc.0.push((
                    r.line,
                    (0..r.record.len()).map(|i| r.text(i).to_string()).collect(),
                ))
            },
        )
        .unwrap();
    let taken = accs.iter().map(|a| a.1).sum();
    let mut rows: Rows = accs.into_iter().flat_map(|a| a.0).collect();
    rows.extend(
        d.iter()
            .map(|d| (d.row, vec![format!("diag {}", d.message)])),
    );
    (rows, taken)
}

#[test]
fn plain_rows_read_in_one_pass_equal_the_general_reader() {
    let mut files: Vec<Vec<u8>> = [
        &b"id,a,b\n1,2,3\n4,5,6\n"[..],
        b"id;a;b\r\n1;2;3\r\n4;5;6",
        b"id,a,b\n1,02,3\n0,0,0\n-1,2,3\n1,2\n1,2,3,4\n\n \n1, 2,3\n1,2,3 \n",
        b"id,a,b\n18446744073709551615,1,2\n9999999999999999999,1,2\n10000000000000000000,1,2\n",
        b"id,a,b\n1,2,3\r4,5,6\n",
        b"id,a,b\n1,2,3\r\n\r\n4,5,6\r\n",
        b"id,a,b\n1,\"2\",3\n4,5,6\n7,\"8\n9\",1\n",
        b"id,a,b\n1,2,3,\n,1,2\n1,,2\n1.5,2,3\n",
        b"id\ta\n1\t2\n3\t4x\n5\t6\n",
        b"id\n1\n\n2\n",
        b"id,a\n\xc3\xa4,1\n2,3\n",
    ]
    .iter()
    .map(|f| f.to_vec())
    .collect();
    // A long file of mostly plain rows with every kind of exception sprinkled in.
    let mut state = 7u64;
    let mut long = b"id;x;y;z\n".to_vec();
    for k in 1..3000u64 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let row = match (state >> 33) % 23 {
            0 => format!("{k};0{};1;2\n", state % 9),
            1 => format!("{k};;1;2\r\n"),
            2 => "\n".to_string(),
            3 => format!("{k};1;2\n"),
            // Quotes near the end only: from a quote on, a chunk is read the general way.
            4 if k > 2900 => format!("{k};\"1\";2;3\n"),
            5 => format!("{k};4294967296;1;2\n"),
            6 => format!("{k};-1;1;2\n"),
            // Decimals, the exact case and beyond it.
            7 => format!(
                "{k};{}.{};0.{};00.5\n",
                state % 100_000,
                state % 1000,
                state % 7
            ),
            8 => format!("{k};{}.;.5;1.2.3\n", state % 10),
            9 => format!("{k};9007199254740993.5;123456789012.3456789;12345678901234567890.1\n"),
            10 => format!("{k};9007199254740993;1e5;-2.5\n"),
            _ => format!(
                "{k};{};{};{}\r\n",
                state % 1000,
                (state >> 10) % 7,
                (state >> 20) % 50
            ),
        };
        long.extend_from_slice(row.as_bytes());
    }
    files.push(long);
    for (k, f) in files.iter().enumerate() {
        let t =
            CsvTable::from_bytes(Path::new("t.csv"), f.clone(), &CsvOptions::default()).unwrap();
        for target in [1, 2, 3, 5, 7, 11, 64, 1 << 20] {
            let (slow, general_only) = both_ways(f, target);
            assert_eq!(slow, general_only, "file {k}, chunks of {target} bytes");
            let (plain, taken) = plain_way(&t, target, |_| false);
            assert_eq!(slow, plain, "file {k}, chunks of {target} bytes");
            // Rows declined by the callback (every third line) come the general way.
            let (some, fewer) = plain_way(&t, target, |line| line % 3 == 0);
            assert_eq!(
                slow, some,
                "file {k}, chunks of {target} bytes, some declined"
            );
            assert!(fewer <= taken);
            if k == files.len() - 1 && target == 1 << 20 {
                assert!(
                    taken > 2000 && fewer < taken,
                    "plain rows taken: {taken}, {fewer}"
                );
            }
        }
    }
}

#[test]
fn fast_decimals_equal_the_general_parser() {
    let mut vals: Vec<String> = [
        "0",
        "-0",
        "12",
        "12.5",
        "12,5",
        "-391234.567",
        "5805000.001",
        "1.234,5",
        "1.234",
        "00012.50",
        ".5",
        "5.",
        "1e5",
        "+3",
        "12.5.1",
        "12,5,1",
        "9007199254740993",
        "0.1",
        "0.30000000000000004",
        "123456789012345678901",
        "1,234.5",
        " 12 ",
        "",
    ]
    .iter()
    .map(|v| v.to_string())
    .collect();
    let mut state = 12345u64;
    for _ in 0..20_000 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let int = state >> 40;
        let frac = (state >> 8) % 100_000;
        let digits = (state % 6) as usize;
        vals.push(format!(
            "{int}.{:0digits$}",
            frac % 10u64.pow(digits as u32)
        ));
        vals.push(format!("-{int},{frac}"));
    }
    for decimal in [Decimal::Point, Decimal::Comma, Decimal::Detect] {
        for delimiter in [b',', b';'] {
            let opts = CsvOptions {
                delimiter: Some(char::from(delimiter).to_string()),
                decimal: match decimal {
                    Decimal::Point => Some(".".into()),
                    Decimal::Comma => Some(",".into()),
                    Decimal::Detect => None,
                },
                ..CsvOptions::default()
            };
            let t = CsvTable::from_bytes(Path::new("t.csv"), b"x\n".to_vec(), &opts).unwrap();
            for v in &vals {
                let want = parse_number(v, decimal, delimiter, None);
                let got = t.parse_f64(v);
                assert_eq!(
                    got.map(|o| o.map(f64::to_bits)),
                    want.map(|o| o.map(f64::to_bits)),
                    "{v:?} {decimal:?} {}",
                    delimiter as char
                );
            }
        }
    }
}

#[test]
fn fast_trim_equals_str_trim() {
    for v in [
        "",
        " ",
        "12",
        " 12",
        "12 ",
        "\t12\t",
        "\u{a0}12",
        "12\u{a0}",
        "\u{2007}7\u{3000}",
        "a b",
        "ä",
        "x\u{a0}",
        "\u{feff}1",
    ] {
        assert_eq!(trim(v), v.trim(), "{v:?}");
    }
}

#[test]
fn decimals_and_counts() {
    assert_eq!(parse_decimal("12,5", Decimal::Detect, b';'), Ok(Some(12.5)));
    assert_eq!(
        parse_decimal("12,5", Decimal::Detect, b','),
        Err(NotANumber)
    );
    assert_eq!(
        parse_decimal("1.234,5", Decimal::Comma, b';'),
        Ok(Some(1234.5))
    );
    assert_eq!(
        parse_decimal("-9999", Decimal::Point, b','),
        Ok(Some(-9999.0))
    );
    assert_eq!(parse_decimal(" ", Decimal::Point, b','), Ok(None));
    assert_eq!(parse_decimal("x1", Decimal::Point, b','), Err(NotANumber));
    assert_eq!(parse_count("17"), Ok(17));
    assert!(parse_count("1.5").is_err());
    assert!(parse_count("-1").is_err());
    assert!(parse_count("").is_err());
}
