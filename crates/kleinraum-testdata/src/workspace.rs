//! A small Gebietsstände workspace: a 5 × 5 grid of 100 m squares (ids "00" … "44", row
//! then column), 3,000 points with residents and children under 6 for 2023 and 2024 (some
//! exactly on shared edges and vertices), 60 Kitas with capacities, the grid stored as the
//! published base version "basis".

use crate::synthetic::{Rng, mp, square};
use geo::MultiPolygon;
use kleinraum_aggregate::config::{AnalysisConfig, IndicatorConfig, IndicatorKind};
use kleinraum_aggregate::model::{Area, CountColumn, Dataset, FacilityLayer, Level, PointLayer};
use kleinraum_gebietsstand::{Projector, Workspace, WorkspaceConfig};
use kleinraum_store::{Status, Store, VersionMeta};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A linear stand-in for the reprojection to WGS 84: the grid's corner (X0, Y0) is at
/// 13° E, 52° N, one degree is 70 km east and 111 km north (close to Berlin's scale).
/// Exactly invertible, so round trips are identities up to floating point.
pub struct LinearProjector;
impl Projector for LinearProjector {
    fn working_to_wgs84(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        Ok((13.0 + (x - X0) / 70_000.0, 52.0 + (y - Y0) / 111_000.0))
    }
    fn wgs84_to_working(&self, lon: f64, lat: f64) -> Result<(f64, f64), String> {
        Ok((X0 + (lon - 13.0) * 70_000.0, Y0 + (lat - 52.0) * 111_000.0))
    }
}

/// Grid cells per side.
pub const N: usize = 5;
/// Cell size in metres.
pub const S: f64 = 100.0;
/// Easting of the grid's south-west corner.
pub const X0: f64 = 500_000.0;
/// Northing of the grid's south-west corner.
pub const Y0: f64 = 5_800_000.0;

/// Cell (i, j) of the grid (i east, j north).
pub fn cell(i: usize, j: usize) -> MultiPolygon<f64> {
    let (x, y) = (X0 + i as f64 * S, Y0 + j as f64 * S);
    mp(square(x, y, x + S, y + S), vec![])
}

/// An area with a generated name.
pub fn area(id: String, g: MultiPolygon<f64>) -> Area {
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
pub fn workspace() -> (Workspace, tempfile::TempDir) {
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
            in_spatial_order: false,
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
        total_title: None,
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
        analysis,
        store,
        Arc::new(LinearProjector),
    )
    .unwrap();
    ws.ensure_version(meta("basis"), &areas).unwrap();
    ws.compute_all().unwrap();
    (ws, dir)
}

/// Metadata of a published version `key` (for `compute` and imports).
pub fn meta(key: &str) -> VersionMeta {
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
