//! Redefinition speed on the real Berlin data (401,032 address points, 542 PLR, 5 years):
//! recomputing a whole new definition from the points, and moving one shared vertex of one PLR
//! in a draft (incremental: only the points near the edit are re-located). Both through the
//! same `Workspace` calls the HTTP handlers make, measured side by side in one run.
//!
//! `cargo bench --bench redefine` (scripts/bench runs it). Needs ../shared/data.

use criterion::{Criterion, criterion_group, criterion_main};
use kleinraum_aggregate::model::Area;
use kleinraum_gebietsstand::{Projector, Workspace, WorkspaceConfig};
use kleinraum_load::{ProjectConfig, project};
use kleinraum_store::{Status, Store, VersionMeta};
use std::hint::black_box;
use std::sync::Arc;

/// Output reprojection is not on the measured path.
struct Identity;
impl Projector for Identity {
    fn working_to_wgs84(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        Ok((x, y))
    }
    fn wgs84_to_working(&self, lon: f64, lat: f64) -> Result<(f64, f64), String> {
        Ok((lon, lat))
    }
}

fn meta(key: &str, n: usize) -> VersionMeta {
    VersionMeta {
        key: key.into(),
        name: key.into(),
        valid_from: None,
        source: "bench".into(),
        lineage: Vec::new(),
        note: String::new(),
        status: Status::Published,
        created_at: "2026-01-01T00:00:00Z".into(),
        created_by: "bench".into(),
        epsg: 25833,
        n_areas: n,
    }
}

/// The areas sharing the first exterior vertex of `id` that other areas also have, and that
/// vertex.
fn shared_vertex(areas: &[Area], id: &str) -> (geo::Coord<f64>, Vec<usize>) {
    let a = areas.iter().find(|a| a.id == id).expect("PLR in LOR 2021");
    let g = a.geometry.as_ref().unwrap();
    for c in g.0[0].exterior().0.iter() {
        let owners: Vec<usize> = areas
            .iter()
            .enumerate()
            .filter(|(_, o)| {
                o.geometry
                    .as_ref()
                    .is_some_and(|og| og.0.iter().any(|p| p.exterior().0.contains(c)))
            })
            .map(|(i, _)| i)
            .collect();
        if owners.len() >= 3 {
            return (*c, owners);
        }
    }
    panic!("no vertex of {id} shared by three areas");
}

fn moved(
    areas: &[Area],
    owners: &[usize],
    from: geo::Coord<f64>,
    to: geo::Coord<f64>,
) -> Vec<(String, geo::MultiPolygon<f64>)> {
    owners
        .iter()
        .map(|&i| {
            let mut g = areas[i].geometry.clone().unwrap();
            for p in g.0.iter_mut() {
                p.exterior_mut(|ls| {
                    for c in ls.0.iter_mut() {
                        if *c == from {
                            *c = to;
                        }
                    }
                });
            }
            (areas[i].id.clone(), g)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = ProjectConfig::load(&root.join("data/berlin.toml")).expect("data/berlin.toml");
    let dataset = project::load_project_strict(&cfg).expect("Berlin data (../shared/data)");
    let areas = dataset.levels[0].areas.clone();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.gpkg")).unwrap();
    let ws = Workspace::new(
        WorkspaceConfig {
            base_key: "lor2021".into(),
            level_key: cfg.levels[0].key.clone(),
            level_title: cfg.levels[0].title.clone(),
            residents_column: "residents".into(),
        },
        dataset,
        cfg.analysis(),
        store,
        Arc::new(Identity),
    )
    .unwrap();
    ws.ensure_version(meta("lor2021", areas.len()), &areas)
        .unwrap();
    ws.compute_all().unwrap();

    let mut g = c.benchmark_group("redefine_berlin");
    g.sample_size(20);
    g.bench_function(
        "recompute whole definition (542 PLR, 401,032 points, 5 years)",
        |b| b.iter(|| black_box(ws.compute(meta("neu", areas.len()), areas.clone()).unwrap())),
    );

    let (v, owners) = shared_vertex(&areas, "08100521");
    let sid = ws.start_session("lor2021", "bench").unwrap();
    let sess = ws.session(&sid).unwrap();
    let there = geo::Coord {
        x: v.x + 5.0,
        y: v.y + 3.0,
    };
    let forth = moved(&areas, &owners, v, there);
    let mut back_areas = areas.clone();
    for (id, g) in &forth {
        let i = back_areas.iter().position(|a| &a.id == id).unwrap();
        back_areas[i].geometry = Some(g.clone());
    }
    let back = moved(&back_areas, &owners, there, v);
    let mut flip = false;
    g.bench_function(
        format!(
            "move one vertex of PLR 08100521 (shared by {} areas), incremental",
            owners.len()
        ),
        |b| {
            b.iter(|| {
                let mut s = sess.lock().unwrap();
                flip = !flip;
                let edit = if flip { forth.clone() } else { back.clone() };
                black_box(ws.op_reshape(&mut s, edit).unwrap())
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
