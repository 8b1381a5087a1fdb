//! CSV dialects: encodings, delimiters, decimal commas.

use crate::common::write;
use kleinraum_load::config::CsvOptions;
use kleinraum_load::table::{CsvTable, Decimal};

#[test]
fn windows_1252_is_detected_and_decoded() {
    let dir = tempfile::tempdir().unwrap();
    // "Schloßstraße;12,5" in Windows-1252: ß = 0xDF.
    let mut bytes = b"strasse;wert\n".to_vec();
    bytes.extend_from_slice(b"Schlo\xdfstra\xdfe;12,5\n");
    let p = write(dir.path(), "w.csv", bytes);
    let t = CsvTable::open(&p, &CsvOptions::default()).unwrap();
    assert_eq!(t.encoding, "windows-1252");
    assert_eq!(t.delimiter, b';');
    let mut d = Vec::new();
    let rows = t.rows(&mut d).unwrap();
    assert_eq!(
        rows,
        [(2, vec!["Schloßstraße".to_string(), "12,5".to_string()])]
    );
    assert_eq!(t.parse_f64(&rows[0].1[1]), Ok(Some(12.5)));
}

#[test]
fn utf8_bom_is_stripped_from_the_first_column_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "b.csv",
        "\u{feff}PLR_ID,name\n01100101,Stülerstraße\n",
    );
    let t = CsvTable::open(&p, &CsvOptions::default()).unwrap();
    assert_eq!(t.headers, ["PLR_ID", "name"]);
    assert_eq!(t.column("PLR_ID").unwrap(), 0);
    let rows = t.rows(&mut Vec::new()).unwrap();
    assert_eq!(rows[0].1, ["01100101", "Stülerstraße"]);
}

#[test]
fn configured_dialect_tab_and_decimal_comma_gzip() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"id\tx\n1\t1.234,5\n").unwrap();
    let p = write(dir.path(), "t.csv.gz", gz.finish().unwrap());
    let opts = CsvOptions {
        thousands: None,
        delimiter: Some("\t".into()),
        decimal: Some(",".into()),
        encoding: Some("utf-8".into()),
    };
    let t = CsvTable::open(&p, &opts).unwrap();
    assert_eq!((t.delimiter, t.decimal), (b'\t', Decimal::Comma));
    assert_eq!(t.parse_f64("1.234,5"), Ok(Some(1234.5)));
}

#[test]
fn wrong_field_count_is_a_diagnostic_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "f.csv", "a,b\n1,2\n3\n\n4,5\n");
    let t = CsvTable::open(&p, &CsvOptions::default()).unwrap();
    let mut d = Vec::new();
    let rows = t.rows(&mut d).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].row, 3);
    assert!(d[0].message.contains("1 fields"), "{}", d[0]);
}

#[test]
fn area_table_with_decimal_comma_missing_values_and_detected_columns() {
    use kleinraum_load::areatable::load_table;
    use kleinraum_load::config::TableSource;
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"PLR_ID;Name;Quote;EW\n".to_vec();
    bytes.extend_from_slice(
        b"01100101;Stra\xdfe;12,5;3419\n01100102;Gro\xdfer;-9999;1791\n01100103;x;;7\n",
    );
    let p = write(dir.path(), "mss.csv", bytes);
    let src: TableSource = toml::from_str(&format!(
        "name = \"t\"\nlevel = \"plr\"\nsource = {:?}\nid_field = \"PLR_ID\"\nyear = 2020\nmissing = [\"-9999\"]\n",
        p.to_string_lossy()
    ))
    .unwrap();
    let mut d = Vec::new();
    let (t, info) = load_table(&src, None, &mut d).unwrap();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(t.ids, ["01100101", "01100102", "01100103"]);
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Quote", "EW"], "Name is text, not a number column");
    assert_eq!(t.column("Quote").unwrap().values, [Some(12.5), None, None]);
    assert_eq!(
        t.column("Quote").unwrap().marks[1].as_deref(),
        Some("-9999")
    );
    assert_eq!(
        t.column("EW").unwrap().values,
        [Some(3419.0), Some(1791.0), Some(7.0)]
    );
    assert_eq!(
        info.markers,
        [(
            "-9999".to_string(),
            "in der Konfiguration als fehlend angegeben".to_string(),
            1
        )]
    );
}

/// Every row, line and diagnostic as the sequential reader gives them, and as the chunked
/// parallel reader gives them with chunks of `target` bytes.
fn sequential_and_chunked(t: &CsvTable, target: usize) -> [Vec<(usize, Vec<String>)>; 2] {
    let mut d = Vec::new();
    let mut slow = t.rows(&mut d).unwrap();
    slow.extend(d.iter().map(|d| (d.row, vec![d.to_string()])));
    let (parts, d) = t
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
    let mut fast: Vec<_> = parts.into_iter().flatten().collect();
    fast.extend(d.iter().map(|d| (d.row, vec![d.to_string()])));
    [slow, fast]
}

fn shared_csvs() -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.to_string_lossy().ends_with(".csv")
                || p.to_string_lossy().ends_with(".csv.gz")
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&crate::common::shared_data(), &mut out);
    out.sort();
    out
}

/// A row (or diagnostic) as its line and a hash of its fields, the same for both readers: the
/// shared files have millions of fields, and a `String` for each made this the crate's slowest
/// test.
fn row_print<'a>(line: usize, fields: impl IntoIterator<Item = &'a str>) -> (usize, u64) {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::hash::DefaultHasher::new();
    // A `str`'s hash ends with a separator byte, so field boundaries count.
    fields.into_iter().for_each(|f| f.hash(&mut h));
    (line, h.finish())
}

/// The rows and then the diagnostics of the sequential reader, as [`row_print`]s.
fn sequential_prints(t: &CsvTable) -> Vec<(usize, u64)> {
    let mut d = Vec::new();
    let mut slow: Vec<(usize, u64)> = t
        .rows(&mut d)
        .unwrap()
        .iter()
        .map(|(line, f)| row_print(*line, f.iter().map(String::as_str)))
        .collect();
    slow.extend(d.iter().map(|d| row_print(d.row, [d.to_string().as_str()])));
    slow
}

#[test]
fn chunked_reader_equals_sequential_reader_on_every_shared_csv() {
    let files = shared_csvs();
    assert!(files.len() >= 20, "shared CSVs found: {}", files.len());
    for p in files {
        let t = CsvTable::open(&p, &CsvOptions::default()).unwrap();
        let slow = sequential_prints(&t);
        assert!(!slow.is_empty(), "{}", p.display());
        // Small chunks: many boundaries, inside quoted fields too where a file has them.
        for target in [4096, 65_536] {
            let (parts, d) = t
                .par_rows_chunked(
                    target,
                    |_| Vec::new(),
                    |acc: &mut Vec<(usize, u64)>, r| {
                        acc.push(row_print(r.line, (0..r.record.len()).map(|i| r.text(i))))
                    },
                )
                .unwrap();
            let mut fast: Vec<_> = parts.into_iter().flatten().collect();
            fast.extend(d.iter().map(|d| row_print(d.row, [d.to_string().as_str()])));
            let first_difference = slow.iter().zip(&fast).position(|(a, b)| a != b);
            assert!(
                slow.len() == fast.len() && first_difference.is_none(),
                "{} in chunks of {target} bytes: {} rows and diagnostics read sequentially, {} in \
                 chunks; first difference at {:?}",
                p.display(),
                slow.len(),
                fast.len(),
                first_difference.map(|i| (slow[i].0, fast[i].0))
            );
        }
    }
}

#[test]
fn plain_rows_reader_equals_sequential_reader_on_every_shared_csv() {
    // Rows without quotes take the one-pass way, the rest the general way: the same rows.
    let mut plain_rows = 0;
    for p in shared_csvs() {
        let t = CsvTable::open(&p, &CsvOptions::default()).unwrap();
        let slow = sequential_prints(&t);
        type Acc = (Vec<(usize, u64)>, usize);
        let (parts, d) = t
            .par_rows_plain_chunked(
                65_536,
                |_| (Vec::new(), 0),
                |acc: &mut Acc, line, r| {
                    for i in 0..t.headers.len() {
                        if let Some(v) = r.int(i) {
                            assert_eq!(v.to_string(), r.text(i), "{} line {line}", p.display());
                        }
                        if let Some(d) = r.point_decimal(i).filter(|_| t.point_decimals()) {
                            let general = t.parse_f64(r.text(i)).map(|g| g.map(f64::to_bits));
                            assert_eq!(
                                general,
                                Ok(Some(d.to_bits())),
                                "{} line {line}",
                                p.display()
                            );
                        }
                    }
                    acc.0
                        .push(row_print(line, (0..t.headers.len()).map(|i| r.text(i))));
                    acc.1 += 1;
                    true
                },
                |acc: &mut Acc, r| {
                    acc.0
                        .push(row_print(r.line, (0..r.record.len()).map(|i| r.text(i))))
                },
            )
            .unwrap();
        plain_rows += parts.iter().map(|a| a.1).sum::<usize>();
        let mut fast: Vec<_> = parts.into_iter().flat_map(|a| a.0).collect();
        fast.extend(d.iter().map(|d| row_print(d.row, [d.to_string().as_str()])));
        let first_difference = slow.iter().zip(&fast).position(|(a, b)| a != b);
        assert!(
            slow.len() == fast.len() && first_difference.is_none(),
            "{}: {} rows and diagnostics read sequentially, {} by the plain-row reader; first \
             difference at {:?}",
            p.display(),
            slow.len(),
            fast.len(),
            first_difference.map(|i| (slow[i].0, fast[i].0))
        );
    }
    // Berlin's five count files alone have 2 million plain rows.
    assert!(plain_rows > 1_500_000, "plain rows: {plain_rows}");
}

#[test]
fn chunked_reader_equals_sequential_reader_in_excel_dialects() {
    // The Berlin MSS table as Excel writes it: semicolons, decimal commas, CRLF, Windows-1252
    // (an umlaut in a quoted name), and one broken row: the same rows, lines and diagnostics.
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(crate::common::data(
        "berlin-mss-2021/mss2021_index_indicators_plr.csv",
    ))
    .unwrap();
    let mut text = String::new();
    for (i, line) in src.lines().enumerate() {
        let fields: Vec<String> = line
            .split(',')
            .map(|f| f.replace('.', ","))
            .enumerate()
            .map(|(k, f)| {
                if k == 0 && i > 0 {
                    format!("\"Kiez Ä{f}\"")
                } else {
                    f
                }
            })
            .collect();
        text.push_str(&fields.join(";"));
        if i == 40 {
            text.push_str(";surplus");
        }
        text.push_str("\r\n");
    }
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
    let p = write(dir.path(), "excel.csv", bytes.as_ref());
    let t = CsvTable::open(&p, &CsvOptions::default()).unwrap();
    assert_eq!(t.encoding, "windows-1252");
    assert_eq!(t.delimiter, b';');
    let [slow, fast] = sequential_and_chunked(&t, 1000);
    assert_eq!(slow, fast);
    assert!(
        slow.iter()
            .any(|(line, f)| *line == 41 && f[0].contains("fields"))
    );
    assert!(slow.iter().any(|(_, f)| f[0].starts_with("Kiez Ä")));
}
