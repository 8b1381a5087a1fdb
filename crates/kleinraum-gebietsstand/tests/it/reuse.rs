//! One publication across Gebietsstände: a copy of an area of the statistics withholds what
//! the statistics withhold ([`kleinraum_gebietsstand::reuse`]).
//!
//! Four Sozialräume in two Bezirke: A = {00, 01}, B = {10, 11}; foreigners 1, 9, 5, 7. The
//! statistics (with the Bezirke) withhold 00 (a 1) and 01 (its only sibling in A). A version of
//! the four Sozialräume alone has no Bezirke: protecting 00 in the city total alone, the
//! smallest partner would be 10 — and 01 = 9 published there, with A = 10 published in the
//! statistics, would give 00 = 1 back.

use kleinraum_aggregate::config::AnalysisConfig;
use kleinraum_aggregate::model::{Area, CountColumn, Dataset, FacilityLayer, Level, PointLayer};
use kleinraum_aggregate::result::{AggregateResult, CountFlag};
use kleinraum_gebietsstand::{Workspace, WorkspaceConfig};
use kleinraum_store::{AuditEntry, Store};
use kleinraum_testdata::synthetic::{mp, square};
use kleinraum_testdata::workspace::{LinearProjector, X0, Y0, area, meta};
use std::sync::Arc;

const FOREIGNERS: [u32; 4] = [1, 9, 5, 7];

fn sozialraum(k: usize, parent: &str) -> Area {
    let x = X0 + k as f64 * 100.0;
    Area {
        parent: Some(parent.into()),
        ..area(
            format!("{}{}", k / 2, k % 2),
            mp(square(x, Y0, x + 100.0, Y0 + 100.0), vec![]),
        )
    }
}

fn setup() -> (Workspace, Vec<Area>, tempfile::TempDir) {
    let sr: Vec<Area> = (0..4)
        .map(|k| sozialraum(k, if k < 2 { "A" } else { "B" }))
        .collect();
    let bz: Vec<Area> = ["A", "B"]
        .iter()
        .enumerate()
        .map(|(k, id)| {
            let x = X0 + k as f64 * 200.0;
            area(
                (*id).into(),
                mp(square(x, Y0, x + 200.0, Y0 + 100.0), vec![]),
            )
        })
        .collect();
    let dataset = Dataset {
        working_epsg: 25832,
        levels: vec![
            Level {
                key: "sr".into(),
                title: "Sozialräume".into(),
                areas: sr.clone(),
            },
            Level {
                key: "bz".into(),
                title: "Bezirke".into(),
                areas: bz,
            },
        ],
        points: points(),
        facilities: Vec::<FacilityLayer>::new(),
        tables: Vec::new(),
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.gpkg")).unwrap();
    let ws = Workspace::new(
        WorkspaceConfig {
            base_key: "basis".into(),
            level_key: "sr".into(),
            level_title: "Sozialräume".into(),
            residents_column: "residents".into(),
        },
        dataset,
        AnalysisConfig::default(),
        store,
        Arc::new(LinearProjector),
    )
    .unwrap();
    ws.ensure_version(meta("basis"), &sr).unwrap();
    ws.compute_all().unwrap();
    (ws, sr, dir)
}

fn foreigners(r: &AggregateResult, id: &str) -> CountFlag {
    let c = r
        .count_columns
        .iter()
        .position(|c| c == "foreigners")
        .unwrap();
    r.levels[0].areas.iter().find(|a| a.id == id).unwrap().years[0].counts[c].flag
}

fn withheld(f: CountFlag) -> bool {
    matches!(f, CountFlag::Suppressed | CountFlag::SecondarySuppressed)
}

#[test]
fn copies_of_the_statistics_areas_withhold_what_the_statistics_withhold() {
    let (ws, sr, _dir) = setup();
    // The rule's premise: over the Sozialräume alone, 01 would be published.
    let alone = kleinraum_aggregate::aggregate::run(
        &Dataset {
            levels: vec![Level {
                key: "sr".into(),
                title: "Sozialräume".into(),
                areas: sr
                    .iter()
                    .map(|a| Area {
                        parent: None,
                        ..a.clone()
                    })
                    .collect(),
            }],
            working_epsg: 25832,
            points: points(),
            facilities: Vec::new(),
            tables: Vec::new(),
        },
        &AnalysisConfig::default(),
    )
    .unwrap();
    assert!(withheld(foreigners(&alone, "00")));
    assert!(
        !withheld(foreigners(&alone, "01")),
        "the premise of the test"
    );

    // The base version: 00 and 01 withheld, as in the statistics.
    let base = ws.get("basis").unwrap();
    assert!(withheld(foreigners(&base.result, "00")));
    assert!(withheld(foreigners(&base.result, "01")));
    let nodes = ws.published_nodes().expect("statistics computed");
    let same = nodes.identical(&base.assignment, base.areas.len());
    assert!(
        same.iter().all(Option::is_some),
        "every base area is a copy"
    );

    // An upload of the same four areas (new ids) and a Bezirk: the same withheld cells; the
    // Bezirk A copy is identical to the statistics' A, published there (10), so here too.
    let mut up: Vec<Area> = sr
        .iter()
        .map(|a| Area {
            id: format!("neu-{}", a.id),
            ..a.clone()
        })
        .collect();
    up.truncate(2);
    up.push(area(
        "B".into(),
        mp(square(X0 + 200.0, Y0, X0 + 400.0, Y0 + 100.0), vec![]),
    ));
    let audit = AuditEntry {
        at: "2026-01-01T00:00:00Z".into(),
        actor: "test".into(),
        role: "planner".into(),
        action: "import".into(),
        target: "kopie".into(),
        detail: String::new(),
    };
    let c = ws.import(meta("kopie"), up, audit).unwrap();
    assert!(withheld(foreigners(&c.result, "neu-00")));
    assert!(withheld(foreigners(&c.result, "neu-01")));

    // A draft session: its untouched areas are copies too.
    let id = ws.start_session("basis", "test").unwrap();
    let sess = ws.session(&id).unwrap();
    let s = sess.lock().unwrap();
    let (r, _) = ws.session_result(&s).unwrap();
    assert!(withheld(foreigners(&r, "01")));

    // The Bezirk in the upload has exactly the addresses of the statistics' Bezirk B.
    let in_upload = nodes.identical(&c.assignment, c.areas.len());
    assert!(in_upload.iter().all(Option::is_some));
    // An area with the addresses of 00 and half of 01 is no copy: nothing to reuse.
    let half: Vec<u32> = (0..40u32).map(|p| u32::from(p >= 15)).collect();
    let cut = nodes.identical(&half, 2);
    assert!(cut[0].is_none() && cut[1].is_none());
}

/// Ten addresses per Sozialraum with 40 residents each; the foreigners on the first ones.
fn points() -> PointLayer {
    let (mut x, mut y, mut res, mut fgn) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (k, &f) in FOREIGNERS.iter().enumerate() {
        for p in 0..10u32 {
            x.push(X0 + k as f64 * 100.0 + 5.0 + 9.0 * p as f64);
            y.push(Y0 + 50.0);
            res.push(40);
            fgn.push(u32::from(p < f));
        }
    }
    let n = x.len();
    PointLayer {
        x,
        y,
        keys: (0..n).map(|k| k.to_string()).collect(),
        columns: vec![
            CountColumn {
                name: "residents".into(),
                year: 2024,
                values: res,
            },
            CountColumn {
                name: "foreigners".into(),
                year: 2024,
                values: fgn,
            },
        ],
        in_spatial_order: false,
    }
}
