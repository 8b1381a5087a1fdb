//! Integration tests of the GeoPackage store: round trips, versioning rules, atomicity (including
//! a child process killed mid-import), GDAL readability and the real Berlin PLR 2021.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use kleinraum_store::{AuditEntry, Status, Store, StoreError, StoredArea, VersionMeta};

fn meta(key: &str, status: Status) -> VersionMeta {
    VersionMeta {
        key: key.into(),
        name: format!("Gebietsstand {key}"),
        valid_from: Some("2021-01-01".into()),
        source: "test".into(),
        lineage: vec![],
        note: String::new(),
        status,
        created_at: "2024-05-01T10:00:00Z".into(),
        created_by: "tester".into(),
        epsg: 25833,
        n_areas: 0,
    }
}

fn audit(action: &str, target: &str) -> AuditEntry {
    AuditEntry {
        at: "2024-05-01T10:00:00Z".into(),
        actor: "test-admin".into(),
        role: "admin".into(),
        action: action.into(),
        target: target.into(),
        detail: format!("{action} {target}"),
    }
}

fn ring(x0: f64, y0: f64, w: f64, h: f64) -> LineString<f64> {
    LineString::from(vec![
        (x0, y0),
        (x0 + w, y0),
        (x0 + w, y0 + h),
        (x0, y0 + h),
        (x0, y0),
    ])
}

/// A grid cell `i` with a hole, coordinates with non-trivial fractions (exactness matters).
fn cell(i: usize) -> StoredArea {
    let x = 390_000.0 + (i % 25) as f64 * 1000.0 + 0.123_456_789;
    let y = 5_810_000.0 + (i / 25) as f64 * 1000.0 + 1.0 / 3.0;
    StoredArea {
        id: format!("{i:08}"),
        name: format!("Gebiet {i}"),
        parent: Some(format!("{:06}", i / 10)),
        geometry: MultiPolygon(vec![Polygon::new(
            ring(x, y, 999.5, 999.25),
            vec![ring(x + 100.0, y + 100.0, 10.1, 10.7)],
        )]),
    }
}

fn cells(n: usize) -> Vec<StoredArea> {
    (0..n).map(cell).collect()
}

fn keys(store: &Store) -> Vec<String> {
    store
        .versions()
        .unwrap()
        .into_iter()
        .map(|v| v.key)
        .collect()
}

#[test]
fn geometry_round_trip_multipolygon_with_holes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.gpkg");
    let mut store = Store::open(&path).unwrap();
    let tricky = StoredArea {
        id: "007".into(),
        name: "Zwei Teile, Loch".into(),
        parent: None,
        geometry: MultiPolygon(vec![
            Polygon::new(
                ring(0.1, 0.2, 100.000_000_001, 50.5),
                vec![ring(10.0, 10.0, 5.0, 5.0), ring(30.0, 10.0, 1e-9, 7.0)],
            ),
            Polygon::new(
                LineString::from(vec![
                    (-1.5e6, 2.0),
                    (-1.4e6, 2.0),
                    (-1.45e6, 3.000_000_000_000_001),
                    (-1.5e6, 2.0),
                ]),
                vec![],
            ),
        ]),
    };
    let areas = vec![tricky.clone(), cell(1)];
    store
        .import(
            &meta("v1", Status::Published),
            &areas,
            &audit("import", "v1"),
        )
        .unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    let back = store.areas("v1").unwrap();
    assert_eq!(back, areas);
    assert_eq!(back[0].geometry.0[0].interiors().len(), 2);
    assert_eq!(
        back[0].geometry.0[1].exterior().0[2],
        Coord {
            x: -1.45e6,
            y: 3.000_000_000_000_001
        }
    );
    let v = store.version("v1").unwrap().unwrap();
    assert_eq!(v.n_areas, 2);
    assert_eq!(v.status, Status::Published);
    assert_eq!(store.epsg().unwrap(), 25833);
    assert!(store.version("nope").unwrap().is_none());
    assert!(matches!(
        store.areas("nope"),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn versions_ordering_and_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.gpkg")).unwrap();
    let mut add = |key: &str, valid_from: Option<&str>, lineage: &[&str]| {
        let mut m = meta(key, Status::Published);
        m.valid_from = valid_from.map(str::to_string);
        m.lineage = lineage.iter().map(|s| s.to_string()).collect();
        m.note = format!("Notiz zu {key}: ä, \"quoted\"");
        m.n_areas = 999; // ignored on write
        store.import(&m, &cells(3), &audit("import", key)).unwrap();
    };
    add("lor2021", Some("2021-01-01"), &["lor2020"]);
    add("lor2020", Some("2006-01-01"), &[]);
    add("b-entwurf", Some("2021-01-01"), &["lor2021", "lor2020"]);
    add("undatiert", None, &[]);
    add("a-same-day", Some("2021-01-01"), &[]);
    let versions = store.versions().unwrap();
    let order: Vec<&str> = versions.iter().map(|v| v.key.as_str()).collect();
    assert_eq!(
        order,
        ["undatiert", "lor2020", "a-same-day", "b-entwurf", "lor2021"]
    );
    let b = store.version("b-entwurf").unwrap().unwrap();
    assert_eq!(b.lineage, ["lor2021", "lor2020"]);
    assert_eq!(b.n_areas, 3);
    assert_eq!(b.note, "Notiz zu b-entwurf: ä, \"quoted\"");
    let mut expected = meta("b-entwurf", Status::Published);
    expected.lineage = vec!["lor2021".into(), "lor2020".into()];
    expected.note = b.note.clone();
    expected.n_areas = 3;
    assert_eq!(b, expected);
    assert!(versions.iter().all(|v| v.n_areas == 3));
    let u = store.version("undatiert").unwrap().unwrap();
    assert_eq!(u.valid_from, None);
    assert!(u.lineage.is_empty());
    // Status serialises lowercase, as the HTTP API expects.
    let json = serde_json::to_value(&b).unwrap();
    assert_eq!(json["status"], "published");
    assert_eq!(
        serde_json::to_value(Status::Draft).unwrap(),
        serde_json::json!("draft")
    );
}

#[test]
fn draft_replacement_publish_and_immutability() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.gpkg");
    let mut store = Store::open(&path).unwrap();
    store
        .import(
            &meta("base", Status::Published),
            &cells(4),
            &audit("import", "base"),
        )
        .unwrap();
    store
        .import(
            &meta("entwurf", Status::Draft),
            &cells(3),
            &audit("import", "entwurf"),
        )
        .unwrap();

    // A draft replaces a draft: new meta, new areas, old rows gone.
    let mut m2 = meta("entwurf", Status::Draft);
    m2.name = "Entwurf, zweite Fassung".into();
    let new_areas: Vec<StoredArea> = (100..102).map(cell).collect();
    store
        .import(&m2, &new_areas, &audit("import", "entwurf"))
        .unwrap();
    let v = store.version("entwurf").unwrap().unwrap();
    assert_eq!(v.name, "Entwurf, zweite Fassung");
    assert_eq!(v.n_areas, 2);
    assert_eq!(store.areas("entwurf").unwrap(), new_areas);

    // A published version cannot replace a draft.
    let e = store
        .import(
            &meta("entwurf", Status::Published),
            &cells(1),
            &audit("import", "entwurf"),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::Exists {
                status: Status::Draft,
                ..
            }
        ),
        "{e}"
    );
    // Published is immutable: neither a draft nor a published import may replace it.
    for status in [Status::Draft, Status::Published] {
        let e = store
            .import(&meta("base", status), &cells(1), &audit("import", "base"))
            .unwrap_err();
        let msg = e.to_string();
        assert!(matches!(
            e,
            StoreError::Exists {
                status: Status::Published,
                ..
            }
        ));
        assert!(
            msg.contains(&path.display().to_string()) && msg.contains("\"base\""),
            "{msg}"
        );
        assert!(msg.contains("immutable"), "{msg}");
    }
    assert_eq!(store.areas("base").unwrap(), cells(4));

    // Publish, then it is immutable too.
    store
        .publish("entwurf", &audit("publish", "entwurf"))
        .unwrap();
    assert_eq!(
        store.version("entwurf").unwrap().unwrap().status,
        Status::Published
    );
    assert!(matches!(
        store.publish("entwurf", &audit("publish", "entwurf")),
        Err(StoreError::NotDraft { .. })
    ));
    let e = store
        .delete_draft("entwurf", &audit("delete", "entwurf"))
        .unwrap_err();
    assert!(matches!(e, StoreError::NotDraft { .. }), "{e}");
    assert!(matches!(
        store.publish("fehlt", &audit("publish", "fehlt")),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_draft("fehlt", &audit("delete", "fehlt")),
        Err(StoreError::NotFound { .. })
    ));

    // Deleting a draft removes its areas.
    store
        .import(
            &meta("weg", Status::Draft),
            &cells(2),
            &audit("import", "weg"),
        )
        .unwrap();
    store.delete_draft("weg", &audit("delete", "weg")).unwrap();
    assert!(store.version("weg").unwrap().is_none());
    assert!(matches!(
        store.areas("weg"),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(keys(&store), ["base", "entwurf"]);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

/// Every kind of rejected import leaves the previous state whole and names path, key, area.
#[test]
fn failed_imports_leave_previous_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.gpkg");
    let p = path.display().to_string();
    let mut store = Store::open(&path).unwrap();
    let base = cells(5);
    store
        .import(
            &meta("base", Status::Published),
            &base,
            &audit("import", "base"),
        )
        .unwrap();
    let draft = cells(2);
    store
        .import(
            &meta("entwurf", Status::Draft),
            &draft,
            &audit("import", "entwurf"),
        )
        .unwrap();
    let before_versions = store.versions().unwrap();
    let n_audit = store.audit_log(100).unwrap().len();

    let mut nan = cells(3);
    nan[2].geometry.0[0].exterior_mut(|r| r.0[1].y = f64::NAN);
    let mut inf_hole = cells(3);
    inf_hole[1].geometry.0[0].interiors_mut(|h| h[0].0[0].x = f64::INFINITY);
    let mut empty_id = cells(3);
    empty_id[1].id = String::new();
    let mut dup = cells(3);
    dup[2].id = dup[0].id.clone();
    let mut empty_geom = cells(2);
    empty_geom[1].geometry = MultiPolygon(vec![]);
    let mut bad_key = meta("Neu", Status::Draft);
    bad_key.key = "Neu Stand".into();
    let mut bad_date = meta("neu", Status::Draft);
    bad_date.valid_from = Some("01.01.2021".into());
    let mut no_name = meta("neu", Status::Draft);
    no_name.name = " ".into();
    let mut other_crs = meta("entwurf", Status::Draft);
    other_crs.epsg = 25832;

    let cases: Vec<(VersionMeta, Vec<StoredArea>, Vec<&str>)> = vec![
        (
            meta("neu", Status::Draft),
            nan,
            vec!["\"neu\"", "\"00000002\"", "not finite", "NaN"],
        ),
        (
            meta("neu", Status::Draft),
            inf_hole,
            vec!["\"00000001\"", "hole 1", "inf"],
        ),
        (
            meta("neu", Status::Draft),
            empty_id,
            vec!["\"neu\"", "empty id", "Gebiet 1"],
        ),
        (
            meta("neu", Status::Draft),
            dup,
            vec!["\"00000000\"", "duplicate area id"],
        ),
        (
            meta("neu", Status::Draft),
            empty_geom,
            vec!["\"00000001\"", "empty geometry"],
        ),
        (
            meta("neu", Status::Draft),
            vec![],
            vec!["\"neu\"", "no areas"],
        ),
        (bad_key, cells(1), vec!["\"Neu Stand\"", "invalid key"]),
        (bad_date, cells(1), vec!["01.01.2021", "YYYY-MM-DD"]),
        (no_name, cells(1), vec!["name is empty"]),
        (
            meta("base", Status::Published),
            cells(1),
            vec!["\"base\"", "already exists"],
        ),
        // Fails inside the transaction, after the old draft's rows were deleted: rollback
        // must bring them back.
        (
            other_crs,
            cells(1),
            vec!["\"entwurf\"", "EPSG:25832", "EPSG:25833"],
        ),
    ];
    for (m, areas, needles) in cases {
        let e = store
            .import(&m, &areas, &audit("import", &m.key))
            .expect_err(&format!("import of {:?} must fail", m.key));
        let msg = e.to_string();
        assert!(msg.starts_with(&p), "message must name the store: {msg}");
        for n in needles {
            assert!(msg.contains(n), "{msg:?} lacks {n:?}");
        }
        assert_eq!(store.versions().unwrap(), before_versions, "after {msg}");
        assert_eq!(store.areas("base").unwrap(), base);
        assert_eq!(store.areas("entwurf").unwrap(), draft);
        assert!(store.version("neu").unwrap().is_none());
        assert_eq!(
            store.audit_log(100).unwrap().len(),
            n_audit,
            "no audit row on failure"
        );
    }
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn audit_log_order_and_content() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.gpkg")).unwrap();
    store
        .import(&meta("a", Status::Draft), &cells(1), &audit("import", "a"))
        .unwrap();
    store.publish("a", &audit("publish", "a")).unwrap();
    let login = AuditEntry {
        at: "2024-05-02T08:00:00Z".into(),
        actor: "test-planer".into(),
        role: "planner".into(),
        action: "entwurf-speichern".into(),
        target: "b".into(),
        detail: "3 Gebiete; Grenze verschoben".into(),
    };
    store.log(&login).unwrap();
    store
        .import(&meta("b", Status::Draft), &cells(1), &audit("import", "b"))
        .unwrap();
    store.delete_draft("b", &audit("delete", "b")).unwrap();

    let all = store.audit_log(100).unwrap();
    let actions: Vec<(&str, &str)> = all
        .iter()
        .map(|e| (e.action.as_str(), e.target.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("delete", "b"),
            ("import", "b"),
            ("entwurf-speichern", "b"),
            ("publish", "a"),
            ("import", "a")
        ]
    );
    assert_eq!(all[2], login);
    assert_eq!(all[0], audit("delete", "b"));
    assert_eq!(store.audit_log(2).unwrap(), all[..2]);
    assert!(store.audit_log(0).unwrap().is_empty());
}

#[test]
fn refuses_foreign_files_and_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    // Not SQLite at all.
    let text = dir.path().join("text.gpkg");
    std::fs::write(&text, "this is not a database, just some text ".repeat(50)).unwrap();
    let e = Store::open(&text).unwrap_err();
    assert!(matches!(e, StoreError::NotGeoPackage { .. }), "{e}");
    assert!(e.to_string().contains("text.gpkg"), "{e}");

    // SQLite, but not a GeoPackage.
    let plain = dir.path().join("plain.sqlite");
    rusqlite::Connection::open(&plain)
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
        .unwrap();
    let e = Store::open(&plain).unwrap_err();
    assert!(matches!(e, StoreError::NotGeoPackage { .. }), "{e}");
    // ... and it was left alone.
    let n: i64 = rusqlite::Connection::open(&plain)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);

    // A store written by a newer kleinraum.
    let newer = dir.path().join("newer.gpkg");
    drop(Store::open(&newer).unwrap());
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute(
            "UPDATE kleinraum_meta SET value = '99' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    let e = Store::open(&newer).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, StoreError::Schema { .. }), "{msg}");
    assert!(
        msg.contains("newer") && msg.contains("99") && msg.contains("newer.gpkg"),
        "{msg}"
    );

    // A GeoPackage of another program (no kleinraum tables).
    let other = dir.path().join("other.gpkg");
    drop(Store::open(&other).unwrap());
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("DELETE FROM gpkg_contents WHERE table_name = 'kleinraum_meta'; DROP TABLE kleinraum_meta;")
        .unwrap();
    let e = Store::open(&other).unwrap_err();
    assert!(e.to_string().contains("not a kleinraum store"), "{e}");

    // A fresh store has the GeoPackage header.
    let fresh = dir.path().join("fresh.gpkg");
    drop(Store::open(&fresh).unwrap());
    let c = rusqlite::Connection::open(&fresh).unwrap();
    let app: i64 = c
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    let uv: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app, 0x4750_4B47);
    assert_eq!(uv, 10300);
    let bytes = std::fs::read(&fresh).unwrap();
    assert_eq!(
        &bytes[68..72],
        b"GPKG",
        "application_id at header offset 68"
    );
}

// ---------------------------------------------------------------------------------------------
// Kill test: a child process is SIGKILLed in the middle of a slow import.

const CHILD_ENV: &str = "KLEINRAUM_STORE_CHILD";
const CHILD_PATH_ENV: &str = "KLEINRAUM_STORE_CHILD_PATH";
const KILL_AREAS: usize = 500;

/// 500 areas of 1000 vertices each (~8 MB of WKB): more than SQLite's default 2 MB page cache,
/// so uncommitted pages spill into the database file before the kill, and the rollback journal
/// really has to undo them.
fn second_version() -> Vec<StoredArea> {
    (0..KILL_AREAS)
        .map(|i| {
            let mut a = cell(i + 1000);
            let (cx, cy) = (
                a.geometry.0[0].exterior().0[0].x,
                a.geometry.0[0].exterior().0[0].y,
            );
            let mut ring: Vec<(f64, f64)> = (0..999)
                .map(|k| {
                    let t = k as f64 / 999.0 * std::f64::consts::TAU;
                    (cx + 500.0 + 400.0 * t.cos(), cy + 500.0 + 400.0 * t.sin())
                })
                .collect();
            ring.push(ring[0]);
            a.geometry = MultiPolygon(vec![Polygon::new(LineString::from(ring), vec![])]);
            a
        })
        .collect()
}

/// Child side of `import_killed_mid_write_leaves_previous_state`; does nothing when run
/// directly (it is `#[ignore]`d and checks an env var).
#[test]
#[ignore = "helper: run as a child process by import_killed_mid_write_leaves_previous_state"]
fn kill_child_import() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let path = PathBuf::from(std::env::var_os(CHILD_PATH_ENV).expect("store path"));
    let mut store = Store::open(&path).unwrap();
    let areas = second_version();
    println!("importing");
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    store
        .import(
            &meta("zweite", Status::Published),
            &areas,
            &audit("import", "zweite"),
        )
        .unwrap();
    println!("finished");
}

#[test]
fn import_killed_mid_write_leaves_previous_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kill.gpkg");
    let journal = dir.path().join("kill.gpkg-journal");
    let first = cells(300);
    {
        let mut store = Store::open(&path).unwrap();
        store
            .import(
                &meta("erste", Status::Published),
                &first,
                &audit("import", "erste"),
            )
            .unwrap();
    }
    let size_before = std::fs::metadata(&path).unwrap().len();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::kill_child_import",
            "--nocapture",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .env(CHILD_PATH_ENV, &path)
        // 500 areas × 10 ms: the import takes ≥ 5 s.
        .env("KLEINRAUM_STORE_SLOW_IMPORT_MS", "10")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("child ended before importing; stderr:\n{err}");
        }
        // libtest prints "test kill_child_import ... " without a newline before our output.
        if line.trim_end().ends_with("importing") {
            break;
        }
    }
    // The rollback journal appears with the first page written inside the transaction.
    let t0 = Instant::now();
    while !journal.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no journal appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Wait until uncommitted pages reach the database file itself, then kill it hard (SIGKILL).
    while std::fs::metadata(&path).unwrap().len() <= size_before {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the database file never grew during the import"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "child finished before the kill: the test would prove nothing"
    );
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(!rest.contains("finished"), "child committed: {rest}");
    assert!(journal.exists(), "a hot journal must be left behind");
    eprintln!(
        "killed child after {:?} of import; file {} → {} bytes, journal {} bytes",
        t0.elapsed(),
        size_before,
        std::fs::metadata(&path).unwrap().len(),
        std::fs::metadata(&journal).unwrap().len()
    );

    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    assert!(!journal.exists(), "open must roll the hot journal back");
    let versions = store.versions().unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].key, "erste");
    assert_eq!(versions[0].n_areas, 300);
    assert!(store.version("zweite").unwrap().is_none());
    assert_eq!(store.areas("erste").unwrap(), first);
    let log = store.audit_log(10).unwrap();
    assert_eq!(log.len(), 1, "only the first import is logged");
    // The interrupted import can now be done.
    let second = second_version();
    store
        .import(
            &meta("zweite", Status::Published),
            &second,
            &audit("import", "zweite"),
        )
        .unwrap();
    assert_eq!(store.areas("zweite").unwrap(), second);
    assert_eq!(keys(&store), ["erste", "zweite"]);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

// ---------------------------------------------------------------------------------------------
// GDAL

fn ogrinfo(args: &[&str]) -> Option<String> {
    let out = match Command::new("ogrinfo").args(args).output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var_os("CI").is_some() {
                panic!("ogrinfo not on PATH, but CI is set: install gdal-bin");
            }
            eprintln!("SKIP: ogrinfo not on PATH (install gdal-bin)");
            return None;
        }
        Err(e) => panic!("ogrinfo: {e}"),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "ogrinfo {args:?} failed:\n{text}");
    for l in text.lines() {
        assert!(
            !l.contains("ERROR") && !l.starts_with("Warning"),
            "ogrinfo {args:?}: {l}\n{text}"
        );
    }
    Some(text)
}

#[test]
fn gdal_reads_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gdal.gpkg");
    let mut store = Store::open(&path).unwrap();
    store
        .import(
            &meta("x", Status::Published),
            &cells(7),
            &audit("import", "x"),
        )
        .unwrap();
    store
        .import(&meta("y", Status::Draft), &cells(4), &audit("import", "y"))
        .unwrap();
    store.log(&audit("login", "-")).unwrap();
    drop(store);
    let p = path.to_str().unwrap();

    let Some(summary) = ogrinfo(&["-ro", "-so", p]) else {
        return;
    };
    assert!(summary.contains("areas (Multi Polygon)"), "{summary}");
    assert!(summary.contains("gebietsstaende"), "{summary}");
    assert!(summary.contains("audit_log"), "{summary}");

    let layer = ogrinfo(&["-ro", "-so", p, "areas"]).unwrap();
    assert!(layer.contains("Feature Count: 11"), "{layer}");
    assert!(layer.contains("25833"), "CRS: {layer}");
    assert!(layer.contains("Geometry: Multi Polygon"), "{layer}");

    let count = ogrinfo(&["-ro", p, "-sql", "SELECT COUNT(*) AS n FROM areas"]).unwrap();
    assert!(
        count
            .lines()
            .any(|l| l.trim().starts_with("n (") && l.trim().ends_with("= 11")),
        "{count}"
    );

    let x = ogrinfo(&[
        "-ro",
        p,
        "areas",
        "-where",
        "gebietsstand='x'",
        "-geom=SUMMARY",
    ])
    .unwrap();
    assert_eq!(x.matches("OGRFeature(areas):").count(), 7, "{x}");
    assert!(x.contains("area_id (String) = 00000006"), "{x}");
    assert_eq!(x.matches("MULTIPOLYGON : 1 geometries:").count(), 7, "{x}");

    let audit_rows = ogrinfo(&["-ro", p, "audit_log"]).unwrap();
    assert_eq!(audit_rows.matches("OGRFeature(audit_log):").count(), 3);

    // GDAL's own GeoPackage validator (python3-gdal), where installed.
    // Debian's python3-gdal lives beside the system interpreter, not in a pyenv one.
    let python = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let v = Command::new(python)
        .args(["-m", "osgeo_utils.samples.validate_gpkg", p])
        .output();
    match v {
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("No module named") => {
            eprintln!("SKIP validate_gpkg: python3-gdal not installed")
        }
        Ok(o) => assert!(
            o.status.success() && o.stdout.is_empty() && o.stderr.is_empty(),
            "validate_gpkg: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => eprintln!("SKIP validate_gpkg: python3: {e}"),
    }

    // GDAL computes the envelope itself: it must match the envelope of the stored areas.
    let full = ogrinfo(&[
        "-ro",
        p,
        "areas",
        "-where",
        "area_id='00000000' AND gebietsstand='x'",
    ])
    .unwrap();
    assert!(
        full.contains("MULTIPOLYGON (((390000.123456789 5810000.33333333"),
        "{full}"
    );
}

// ---------------------------------------------------------------------------------------------
// Real data: Berlin PLR 2021 (542 Planungsräume).

fn shared_data() -> PathBuf {
    match std::env::var_os("KLEINRAUM_SHARED_DATA") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

fn coords(v: &serde_json::Value) -> LineString<f64> {
    LineString(
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| Coord {
                x: c[0].as_f64().unwrap(),
                y: c[1].as_f64().unwrap(),
            })
            .collect(),
    )
}

fn polygon(rings: &serde_json::Value) -> Polygon<f64> {
    let mut rings: Vec<LineString<f64>> = rings.as_array().unwrap().iter().map(coords).collect();
    let ext = rings.remove(0);
    Polygon::new(ext, rings)
}

#[test]
fn berlin_plr_2021_round_trip() {
    let file = shared_data().join("berlin-lor-2021/plr_2021_epsg25833.geojson.gz");
    assert!(file.exists(), "shared data missing: {}", file.display());
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&file).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let fc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let areas: Vec<StoredArea> = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let g = &f["geometry"];
            let geometry = match g["type"].as_str().unwrap() {
                "Polygon" => MultiPolygon(vec![polygon(&g["coordinates"])]),
                "MultiPolygon" => MultiPolygon(
                    g["coordinates"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(polygon)
                        .collect(),
                ),
                t => panic!("unexpected geometry type {t}"),
            };
            StoredArea {
                id: f["properties"]["PLR_ID"].as_str().unwrap().to_string(),
                name: f["properties"]["PLR_NAME"].as_str().unwrap().to_string(),
                parent: f["properties"]["BZR_ID"].as_str().map(str::to_string),
                geometry,
            }
        })
        .collect();
    assert_eq!(areas.len(), 542);
    let n_coords: usize = areas
        .iter()
        .flat_map(|a| &a.geometry.0)
        .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
        .sum();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("berlin.gpkg");
    let mut store = Store::open(&path).unwrap();
    let mut m = meta("lor2021", Status::Published);
    m.name = "LOR 2021 (Planungsräume)".into();
    m.source = file.display().to_string();
    let t = Instant::now();
    store
        .import(&m, &areas, &audit("import", "lor2021"))
        .unwrap();
    let import_time = t.elapsed();
    drop(store);

    let t = Instant::now();
    let store = Store::open(&path).unwrap();
    let back = store.areas("lor2021").unwrap();
    let read_time = t.elapsed();
    eprintln!(
        "Berlin PLR 2021: 542 areas, {n_coords} coordinates: import {import_time:?}, read {read_time:?}, file {} KiB",
        std::fs::metadata(&path).unwrap().len() / 1024
    );
    assert_eq!(back.len(), 542);
    assert_eq!(back, areas, "coordinates must round-trip exactly");
    assert!(
        back.iter().any(|a| a.id == "01100101"),
        "leading zeros kept"
    );
    assert!(back.iter().all(|a| a.id.len() == 8));
    assert_eq!(store.version("lor2021").unwrap().unwrap().n_areas, 542);

    if let Some(out) = ogrinfo(&["-ro", "-so", path.to_str().unwrap(), "areas"]) {
        assert!(out.contains("Feature Count: 542"), "{out}");
    }
}
