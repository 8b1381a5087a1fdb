//! A point file read in blocks gives exactly what the whole file gives: the same points,
//! counts, line numbers and diagnostics, whatever the block size, with quoted newlines, CRLF,
//! blank lines, broken rows, gzip and Windows-1252.

use crate::common::write;
use kleinraum_load::config::{Crs, CsvOptions, PointSource};
use kleinraum_load::error::Diagnostic;
use kleinraum_load::project::load_points_in_blocks;
use std::io::Write;
use std::path::Path;

fn source(path: &Path) -> PointSource {
    PointSource {
        source: path.to_string_lossy().into_owned(),
        layer: None,
        key: "id".into(),
        x: Some("x".into()),
        y: Some("y".into()),
        crs: Some(Crs::Epsg(25833)),
        csv: CsvOptions::default(),
        counts: vec!["ew".into(), "kinder".into()],
        year: Some(2024),
        join: Vec::new(),
    }
}

/// A file with every kind of row the splitter must not cut wrongly.
fn awkward_file(rows: usize) -> Vec<u8> {
    let mut s = String::from("id;x;y;ew;kinder\n");
    for i in 0..rows {
        let x = 390_000.0 + i as f64 * 1.25;
        let y = 5_820_000.0 + (i % 97) as f64 * 3.5;
        if i == 250 {
            // A quote inside an unquoted field (not RFC 4180): from here on the file cannot be
            // split by counting quotes, and the rest is read as the csv crate reads it.
            s.push_str(&format!("k{i}\"b;{x};{y};1;1\n"));
            continue;
        }
        match i % 11 {
            // A quoted key with the delimiter, a quote and a newline inside.
            0 => s.push_str(&format!(
                "\"Haus {i};\"\"A\"\"\nHof\";{x};{y};{};1\n",
                i % 7
            )),
            // CRLF and a decimal comma.
            1 => s.push_str(&format!(
                "k{i};{};{y};3;0\r\n",
                format!("{x}").replace('.', ",")
            )),
            // A blank line before the row.
            2 => s.push_str(&format!("\nk{i};{x};{y};2;2\n")),
            // A letter in a coordinate: skipped with a diagnostic.
            3 => s.push_str(&format!("k{i};39l{i};{y};1;0\n")),
            // A count that is not one: counted as 0 with a diagnostic.
            4 => s.push_str(&format!("k{i};{x};{y};-1;x\n")),
            // A field missing: a diagnostic naming the line.
            5 => s.push_str(&format!("k{i};{x};{y};4\n")),
            // Umlauts in the key.
            6 => s.push_str(&format!("Straße-{i};{x};{y};5;1\n")),
            _ => s.push_str(&format!("k{i};{x};{y};{};{}\n", i % 13, i % 3)),
        }
    }
    s.into_bytes()
}

fn load(path: &Path, block: usize) -> (kleinraum_aggregate::model::PointLayer, Vec<Diagnostic>) {
    let mut d = Vec::new();
    let layer = load_points_in_blocks(&source(path), 25833, block, &mut d)
        .unwrap_or_else(|e| panic!("block {block}: {e}"));
    (layer, d)
}

/// The duplicate-key messages among `d`: (line, key, message).
fn duplicate_keys(d: &[Diagnostic]) -> Vec<(usize, &str, &str)> {
    d.iter()
        .filter(|d| d.message.starts_with("duplicate key"))
        .map(|d| (d.row, d.value.as_str(), d.message.as_str()))
        .collect()
}

fn assert_same(path: &Path) {
    let (whole, whole_d) = load(path, usize::MAX);
    assert!(whole.len() > 100 && !whole_d.is_empty(), "{}", whole.len());
    for block in [1, 7, 64, 300, 4096] {
        let (b, d) = load(path, block);
        assert_eq!(b.x, whole.x, "block {block}");
        assert_eq!(b.y, whole.y, "block {block}");
        assert_eq!(b.columns, whole.columns, "block {block}");
        let keys = |l: &kleinraum_aggregate::model::PointLayer| -> Vec<String> {
            (0..l.len())
                .map(|i| l.keys.get(i).unwrap().into_owned())
                .collect()
        };
        assert_eq!(keys(&b), keys(&whole), "block {block}");
        assert_eq!(
            d, whole_d,
            "block {block}: the same diagnostics at the same lines"
        );
    }
}

#[test]
fn points_read_in_blocks_equal_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let raw = awkward_file(400);
    assert_same(&write(dir.path(), "punkte.csv", &raw));
    // The line numbers are those an editor shows: row i = 3 is on line 7 (the header, a
    // quoted key over two lines, a CRLF row, a blank line and a row).
    let (_, d) = load(&dir.path().join("punkte.csv"), 64);
    let bad = d
        .iter()
        .find(|d| d.value == "39l3")
        .expect("diagnostic for 39l3");
    assert_eq!((bad.row, bad.field.as_str()), (7, "x"), "{d:?}");

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    assert_same(&write(dir.path(), "punkte.csv.gz", gz.finish().unwrap()));

    // Windows-1252: the umlauts of a later block are read as the whole file reads them.
    let text = String::from_utf8(raw).unwrap();
    let (cp1252, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
    assert_same(&write(dir.path(), "punkte_ansi.csv", &*cp1252));
    let (layer, _) = load(&dir.path().join("punkte_ansi.csv"), 64);
    assert!(
        (0..layer.len()).any(|i| layer.keys.get(i).unwrap() == "Straße-6"),
        "umlauts decoded"
    );
}

/// Keys that are all plain integers are kept as integers; a text key anywhere (a later block,
/// the middle of a chunk) turns every key to text, keeping the order and the integers before.
#[test]
fn integer_keys_turn_to_text_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let file = |text_at: &[usize]| {
        let mut s = String::from("id;x;y;ew;kinder\n");
        let mut want = Vec::new();
        for i in 0..3000usize {
            let key = match i {
                _ if text_at.contains(&i) => format!("x{i}"),
                // A leading zero is text, too: "007" is not the integer 7.
                _ if text_at.contains(&(i + 1)) => format!("00{i}"),
                _ => (i * 7 + 1).to_string(),
            };
            if i == 1500 {
                // Skipped (with a diagnostic): its key is not among the points.
                s.push_str(&format!("{key};39x;5820000;1;1\n"));
                continue;
            }
            s.push_str(&format!("{key};{};5820000;{};1\n", 390_000 + i, i % 5));
            want.push(key);
        }
        (s, want)
    };
    let keys = |l: &kleinraum_aggregate::model::PointLayer| -> Vec<String> {
        (0..l.len())
            .map(|i| l.keys.get(i).unwrap().into_owned())
            .collect()
    };
    for (name, text_at) in [
        ("ints", vec![]),
        ("late", vec![2990]),
        ("early", vec![3, 2000]),
    ] {
        let (raw, want) = file(&text_at);
        let p = write(dir.path(), &format!("{name}.csv"), raw);
        for block in [usize::MAX, 1, 7, 64, 300, 4096, 40_000] {
            let (layer, d) = load(&p, block);
            assert_eq!(keys(&layer), want, "{name}, block {block}");
            assert_eq!(
                layer.keys.ints().is_some(),
                text_at.is_empty(),
                "{name}, block {block}"
            );
            assert_eq!(layer.columns[0].values.len(), want.len(), "{name}");
            assert_eq!(d.len(), 1, "{name}, block {block}: {d:?}");
        }
    }
}

/// A duplicate key names its own line and its first one as an editor shows them, past blank
/// lines, a record over two lines, a skipped row and a block boundary anywhere (the lines are
/// kept only where they do not follow on from the point before).
#[test]
fn duplicate_keys_name_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let raw = "id;x;y;ew;kinder\n\
               a;390000;5820000;1;1\n\
               \n\
               b;390001;5820000;1;1\n\
               \"c\nd\";390002;5820000;1;1\n\
               e;39x;5820000;1;1\n\
               a;390003;5820000;1;1\n\
               b;390004;5820000;1;1\r\n\
               f;390005;5820000;1;1\n\
               f;390006;5820000;1;1\n";
    let p = write(dir.path(), "doppelt.csv", raw);
    for block in [usize::MAX, 1, 7, 40, 64] {
        let (layer, d) = load(&p, block);
        assert_eq!(layer.len(), 7, "block {block}");
        let dups = duplicate_keys(&d);
        let want = [(8, "a", 2), (9, "b", 4), (11, "f", 10)];
        assert_eq!(dups.len(), want.len(), "block {block}: {d:?}");
        for ((row, value, message), (wrow, wvalue, first)) in dups.iter().zip(want) {
            assert_eq!((*row, *value), (wrow, wvalue), "block {block}: {d:?}");
            assert!(
                message.starts_with(&format!("duplicate key (first at line {first})")),
                "block {block}: {message}"
            );
        }
    }
}

/// Integer keys without a file to join are checked for repeats in a bitset first: a repeat
/// (in a dense range or a sparse one) is still reported with both lines, distinct keys give
/// no message.
#[test]
fn duplicate_integer_keys_without_joins_name_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    for (name, keys, want) in [
        ("dicht.csv", [1u64, 2, 3, 4, 2, 5], Some((6, "2", 3))),
        (
            "verstreut.csv",
            [7, 90_000_000, 5, 7, 11, 12],
            Some((5, "7", 2)),
        ),
        ("einmal.csv", [10, 11, 12, 13, 14, 15], None),
    ] {
        let mut raw = String::from("id;x;y;ew;kinder\n");
        for (k, key) in keys.iter().enumerate() {
            raw.push_str(&format!("{key};{};5820000;1;0\n", 390_000 + k));
        }
        let p = write(dir.path(), name, &raw);
        for block in [usize::MAX, 1, 20] {
            let (layer, d) = load(&p, block);
            assert_eq!(layer.len(), 6, "{name}, block {block}");
            let dups = duplicate_keys(&d);
            match want {
                None => assert!(dups.is_empty(), "{name}, block {block}: {d:?}"),
                Some((row, value, first)) => {
                    assert_eq!(dups.len(), 1, "{name}, block {block}: {d:?}");
                    assert_eq!((dups[0].0, dups[0].1), (row, value), "{name}: {d:?}");
                    assert!(
                        dups[0]
                            .2
                            .starts_with(&format!("duplicate key (first at line {first})")),
                        "{name}: {}",
                        dups[0].2
                    );
                }
            }
        }
    }
}

#[test]
fn a_broken_gzip_block_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&awkward_file(2000)).unwrap();
    let mut bytes = gz.finish().unwrap();
    bytes.truncate(bytes.len() / 2);
    let p = write(dir.path(), "kaputt.csv.gz", bytes);
    let e = load_points_in_blocks(&source(&p), 25833, 256, &mut Vec::new()).unwrap_err();
    assert!(
        e.to_string().contains("kaputt.csv.gz") && e.to_string().contains("gzip"),
        "{e}"
    );
}

/// A named pipe can be read only once, from its first byte: it gives what the same file gives
/// (points, counts, lines, diagnostics). So does a GeoJSON file.
#[cfg(unix)]
#[test]
fn a_pipe_is_read_as_the_file_is() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = |name: &str, bytes: Vec<u8>| {
        let p = dir.path().join(name);
        let ok = std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .unwrap();
        assert!(ok.success(), "mkfifo {}", p.display());
        let writer = p.clone();
        // Opening a pipe for writing waits for its reader.
        std::thread::spawn(move || std::fs::write(writer, bytes).unwrap());
        p
    };
    let raw = awkward_file(400);
    let file = write(dir.path(), "punkte.csv", &raw);
    let (filed, filed_d) = load(&file, 64);
    let (piped, piped_d) = load(&pipe("punkte_pipe.csv", raw), 64);
    assert_eq!(piped.x, filed.x);
    assert_eq!(piped.columns, filed.columns);
    let lines = |d: &[Diagnostic]| {
        d.iter()
            .map(|d| (d.row, d.value.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(lines(&piped_d), lines(&filed_d));

    let gj = br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"1"},"geometry":{"type":"Point","coordinates":[13.4,52.5]}}]}"#;
    let layer = kleinraum_load::gj::read(&pipe("flaechen.geojson", gj.to_vec())).unwrap();
    assert_eq!(layer.features.len(), 1);
    assert!(layer.features[0].geometry.is_some());
}

/// A block of several chunks (1 MiB and more each) is parsed into room made for every chunk,
/// whose skipped rows leave gaps that are closed in order afterwards: the same points, keys,
/// counts and diagnostics as blocks of one chunk each.
#[test]
fn the_chunks_of_a_block_are_joined_in_order() {
    let dir = tempfile::tempdir().unwrap();
    // Without the stray quote, so every block is split into chunks.
    let text = String::from_utf8(awkward_file(120_000))
        .unwrap()
        .replace("k250\"b", "k250b");
    assert!(text.len() > 3 << 20, "{}", text.len());
    let p = write(dir.path(), "gross.csv", text.as_bytes());
    let (whole, whole_d) = load(&p, usize::MAX);
    let (small, small_d) = load(&p, 256 << 10);
    assert!(whole.len() > 90_000, "{}", whole.len());
    assert_eq!(whole.x, small.x);
    assert_eq!(whole.y, small.y);
    assert_eq!(whole.columns, small.columns);
    assert_eq!(whole.keys, small.keys);
    assert_eq!(whole_d, small_d);
    // Rows were skipped in every chunk (a letter in a coordinate, every 11th row).
    assert_eq!(
        whole_d
            .iter()
            .filter(|d| d.value.starts_with("39l"))
            .count(),
        (0..120_000).filter(|i| i % 11 == 3).count()
    );
}
