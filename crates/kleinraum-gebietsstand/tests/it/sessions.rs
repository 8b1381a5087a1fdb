//! The draft editing path is incremental (only points near an edit are re-located, sums are
//! updated by difference). After every kind of edit, its state must equal a full
//! recomputation of the same areas from scratch.

use geo::{Area as _, Coord};
use kleinraum_gebietsstand::{Session, Workspace};
use kleinraum_testdata::synthetic::{mp, square};
use kleinraum_testdata::workspace::{S, X0, Y0, meta, workspace as setup};

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
        .op_merge(&mut s, &["22-1".into(), "22-2".into(), "23".into()], None)
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
