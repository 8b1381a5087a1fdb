//! The draft editing path is incremental (only points near an edit are re-located, sums are
//! updated by difference). After every kind of edit, its state must equal a full
//! recomputation of the same areas from scratch.

use geo::{Area as _, Coord, MultiPolygon};
use kleinraum_aggregate::config::{AnalysisConfig, IndicatorConfig, IndicatorKind};
use kleinraum_aggregate::model::{Area, CountColumn, Dataset, FacilityLayer, Level, PointLayer};
use kleinraum_aggregate::synthetic::{Rng, mp, square};
use kleinraum_serve::workspace::{Projector, Session, Workspace, WorkspaceConfig};
use kleinraum_store::{Status, Store, VersionMeta};
use std::collections::BTreeMap;
use std::sync::Arc;

struct Identity;
impl Projector for Identity {
    fn working_to_wgs84(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        Ok((x, y))
    }
    fn wgs84_to_working(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        Ok((x, y))
    }
}

const N: usize = 5;
const S: f64 = 100.0;
const X0: f64 = 500_000.0;
const Y0: f64 = 5_800_000.0;

fn cell(i: usize, j: usize) -> MultiPolygon<f64> {
    let (x, y) = (X0 + i as f64 * S, Y0 + j as f64 * S);
    mp(square(x, y, x + S, y + S), vec![])
}

fn area(id: String, g: MultiPolygon<f64>) -> Area {
    Area {
        name: format!("Gebiet {id}"),
        id,
        parent: None,
        geometry: Some(g),
        attributes: BTreeMap::new(),
    }
}

/// A 5×5 grid of 100 m squares, 3,000 points with counts for two years (some exactly on
/// shared edges and vertices), 60 facilities with capacities.
fn setup() -> (Workspace, tempfile::TempDir) {
    let mut rng = Rng(42);
    let areas: Vec<Area> = (0..N)
        .flat_map(|j| (0..N).map(move |i| (i, j)))
        .map(|(i, j)| area(format!("{j}{i}"), cell(i, j)))
        .collect();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for k in 0..3000 {
        let (mut px, mut py) = (rng.unit() * S * N as f64, rng.unit() * S * N as f64);
        if k % 50 == 0 {
            // On a lattice line: the border rule decides, in the grid and in the increments.
            px = (px / S).round() * S;
        }
        if k % 97 == 0 {
            py = (py / S).round() * S;
        }
        x.push(X0 + px);
        y.push(Y0 + py);
    }
    let columns: Vec<CountColumn> = [2023, 2024]
        .iter()
        .flat_map(|&year| {
            let mut r = Rng(year as u64);
            let res: Vec<u32> = (0..x.len()).map(|_| (r.next_u64() % 9) as u32).collect();
            let kids: Vec<u32> = res.iter().map(|&v| v / 3).collect();
            [
                CountColumn {
                    name: "residents".into(),
                    year,
                    values: res,
                },
                CountColumn {
                    name: "age_below_6".into(),
                    year,
                    values: kids,
                },
            ]
        })
        .collect();
    let keys = (0..x.len()).map(|k| k.to_string()).collect();
    let (fx, fy): (Vec<f64>, Vec<f64>) = (0..60)
        .map(|_| (X0 + rng.unit() * 500.0, Y0 + rng.unit() * 500.0))
        .unzip();
    let fac = FacilityLayer {
        category: "kitas".into(),
        title: "Kitas".into(),
        ids: (0..60).map(|k| format!("K{k}")).collect(),
        names: (0..60).map(|k| format!("Kita {k}")).collect(),
        capacity: (0..60).map(|k| Some(10.0 + k as f64)).collect(),
        attributes: vec![BTreeMap::new(); 60],
        x: fx,
        y: fy,
    };
    let dataset = Dataset {
        working_epsg: 25832,
        levels: vec![Level {
            key: "sr".into(),
            title: "Sozialräume".into(),
            areas: areas.clone(),
        }],
        points: PointLayer {
            x,
            y,
            keys,
            columns,
        },
        facilities: vec![fac],
        tables: Vec::new(),
    };
    let analysis = AnalysisConfig {
        indicators: vec![IndicatorConfig {
            id: "kita_versorgung".into(),
            title: "Kita-Plätze je 100 Kinder".into(),
            kind: IndicatorKind::SupplyRate,
            numerator: "kitas.capacity".into(),
            denominator: Some("age_below_6".into()),
            years: None,
            unit: None,
            source: None,
            description: None,
            polarity: Default::default(),
            decimals: 1,
        }],
        indices: Vec::new(),
        disclosure: Default::default(),
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.gpkg")).unwrap();
    let ws = Workspace::new(
        WorkspaceConfig {
            base_key: "basis".into(),
            level_key: "sr".into(),
            level_title: "Sozialräume".into(),
            residents_column: "residents".into(),
            extensive_columns: Vec::new(),
        },
        dataset,
        analysis,
        store,
        Arc::new(Identity),
    )
    .unwrap();
    ws.ensure_version(meta("basis"), &areas).unwrap();
    ws.compute_all().unwrap();
    (ws, dir)
}

fn meta(key: &str) -> VersionMeta {
    VersionMeta {
        key: key.into(),
        name: key.into(),
        valid_from: None,
        source: "test".into(),
        lineage: Vec::new(),
        note: String::new(),
        status: Status::Published,
        created_at: "2026-01-01T00:00:00Z".into(),
        created_by: "test".into(),
        epsg: 25832,
        n_areas: 0,
    }
}

/// The session's incremental state against a full recomputation of its areas.
fn assert_matches_full(ws: &Workspace, s: &Session, step: &str) {
    let full = ws.compute(meta("voll"), s.areas.clone()).unwrap();
    assert_eq!(s.assignment, full.assignment, "{step}: point assignment");
    assert_eq!(s.fac_assignment, full.fac_assignment, "{step}: facilities");
    assert_eq!(s.finest.sums, full.finest.sums, "{step}: sums");
    let caps = |v: &[kleinraum_aggregate::result::FacilityStats]| -> Vec<(u64, i64)> {
        v.iter()
            .map(|f| (f.count, (f.capacity * 1000.0).round() as i64))
            .collect()
    };
    assert_eq!(
        caps(&s.finest.facilities),
        caps(&full.finest.facilities),
        "{step}: facility sums"
    );
    let (r, _) = ws.session_result(s).unwrap();
    assert_eq!(r.levels[0].areas.len(), full.result.levels[0].areas.len());
    for (a, b) in r.levels[0].areas.iter().zip(&full.result.levels[0].areas) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.years, b.years, "{step}: area {}", a.id);
    }
    let total: f64 = s
        .areas
        .iter()
        .map(|a| a.geometry.as_ref().unwrap().unsigned_area())
        .sum();
    assert!(
        (total - 250_000.0).abs() < 1e-3,
        "{step}: total area {total}"
    );
}

#[test]
fn every_edit_equals_a_full_recomputation() {
    let (ws, _dir) = setup();
    let id = ws.start_session("basis", "test").unwrap();
    let sess = ws.session(&id).unwrap();
    let mut s = sess.lock().unwrap();
    assert_matches_full(&ws, &s, "start");

    // Split area 22 (the centre) by its western half; the cut runs through points on x = .50.
    let by = mp(
        square(X0 + 190.0, Y0 + 190.0, X0 + 250.0, Y0 + 310.0),
        vec![],
    );
    let out = ws.op_split(&mut s, "22", &by).unwrap();
    assert_eq!(out.changed, ["22-1", "22-2"]);
    assert_eq!(out.removed, ["22"]);
    // The cut's end points lie on the edges of 12 and 32: they get that vertex too.
    assert_eq!(out.vertices_added, ["12", "32"]);
    for id in ["12", "32"] {
        let g = s
            .areas
            .iter()
            .find(|a| a.id == id)
            .unwrap()
            .geometry
            .as_ref()
            .unwrap();
        assert_eq!(g.0[0].exterior().0.len(), 6, "{id}: square + one vertex");
        assert!((g.unsigned_area() - S * S).abs() < 1e-6);
    }
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert_eq!(s.areas.len(), 26);
    assert_matches_full(&ws, &s, "split");

    // Merge the two halves with the eastern neighbour.
    let out = ws
        .op_merge(&mut s, &["22-1".into(), "22-2".into(), "23".into()])
        .unwrap();
    assert_eq!(out.removed.len(), 2);
    assert_eq!(s.areas.len(), 24);
    assert_matches_full(&ws, &s, "merge");

    // Move the vertex shared by 11, 12, 21 and the merged area, in all four.
    let from = Coord {
        x: X0 + 200.0,
        y: Y0 + 200.0,
    };
    let to = Coord {
        x: X0 + 237.0,
        y: Y0 + 181.0,
    };
    let mut geoms = Vec::new();
    for a in &s.areas {
        let mut g = a.geometry.clone().unwrap();
        let mut hit = false;
        for p in g.0.iter_mut() {
            p.exterior_mut(|ls| {
                for c in ls.0.iter_mut() {
                    if *c == from {
                        *c = to;
                        hit = true;
                    }
                }
            });
        }
        if hit {
            geoms.push((a.id.clone(), g));
        }
    }
    assert_eq!(geoms.len(), 4, "the vertex is shared by four areas");
    let out = ws.op_reshape(&mut s, geoms).unwrap();
    assert_eq!(out.changed.len(), 4);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert_matches_full(&ws, &s, "vertex move");

    // A new area drawn across four areas takes its land from them.
    let by = mp(square(X0 + 50.0, Y0 + 50.0, X0 + 150.0, Y0 + 150.0), vec![]);
    let out = ws
        .op_draw(&mut s, &by, Some("Neubaugebiet".into()))
        .unwrap();
    assert!(out.changed.contains(&"neu-1".to_string()));
    assert_eq!(out.changed.len(), 5, "{:?}", out.changed);
    assert_matches_full(&ws, &s, "draw");

    // An edit that opens a gap is reported, and the state still equals the full run.
    let g = s.areas.iter().find(|a| a.id == "00").unwrap();
    let mut shrunk = g.geometry.clone().unwrap();
    shrunk.0[0].exterior_mut(|ls| {
        for c in ls.0.iter_mut() {
            if *c == (Coord { x: X0, y: Y0 }) {
                *c = Coord {
                    x: X0 + 30.0,
                    y: Y0 + 30.0,
                };
            }
        }
    });
    let out = ws.op_reshape(&mut s, vec![("00".into(), shrunk)]).unwrap();
    assert!(
        out.warnings.iter().any(|w| w.kind == "gap"),
        "{:?}",
        out.warnings
    );
    let full = ws.compute(meta("voll"), s.areas.clone()).unwrap();
    assert_eq!(s.finest.sums, full.finest.sums, "gap: sums");
    assert_eq!(s.assignment, full.assignment, "gap: assignment");
}

#[test]
fn old_draft_sessions_are_dropped_beyond_the_cap() {
    let (ws, _dir) = setup();
    let first = ws.start_session("basis", "test").unwrap();
    let mut last = first.clone();
    for _ in 0..32 {
        last = ws.start_session("basis", "test").unwrap();
    }
    assert!(
        ws.session(&first).is_err(),
        "the oldest of 33 sessions is gone"
    );
    assert!(ws.session(&last).is_ok());
    assert!(ws.start_session("nix", "test").is_err());
}

/// Bounded property test of the upload parser (a planner's GeoJSON file): random byte edits
/// and structural mutations of a valid FeatureCollection give either areas or a message that
/// names the problem — never a panic.
#[test]
fn mutated_uploads_are_parsed_or_refused_never_panic() {
    use kleinraum_serve::redefine::parse_upload;
    let (ws, _dir) = setup();
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
