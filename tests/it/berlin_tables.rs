//! Berlin from published tables only (data/berlin-tables.toml: LOR boundaries, the EWR long
//! table, the MSS table, the Zensus grid as weight, no address points): every PLR has residents
//! for 2021–2024 equal to the EWR rows of 31 December, the Bezirk totals are the sums of their
//! PLR; and the old-LOR EWR 2020 interpolated onto the new PLR by area, by the census grid and
//! (from data/berlin.toml) by the address points, against the published counts.

use kleinraum_aggregate::aggregate::{assign_points, run};
use kleinraum_aggregate::model::{Dataset, Level};
use kleinraum_aggregate::redefine::{Crosswalk, Measure, area_lattice, interpolate};
use kleinraum_aggregate::result::AggregateResult;
use kleinraum_load::config::ProjectConfig;
use kleinraum_load::project::{Loaded, load_all_strict, load_level};
use std::collections::HashMap;
use std::sync::OnceLock;

use crate::common::{Server, fresh_store, get, read_csv, repo, shared_data};

fn berlin_tables() -> &'static (ProjectConfig, Loaded, AggregateResult) {
    static B: OnceLock<(ProjectConfig, Loaded, AggregateResult)> = OnceLock::new();
    B.get_or_init(|| {
        let cfg = ProjectConfig::load(&repo().join("data/berlin-tables.toml")).expect("config");
        let l = load_all_strict(&cfg).expect("Berlin tables load without unreadable rows");
        let r = run(&l.dataset, &cfg.analysis()).expect("engine");
        (cfg, l, r)
    })
}

fn value(r: &AggregateResult, level: &str, id: &str, year: i32, col: &str) -> Option<u64> {
    let l = r.level(level)?;
    let a = l.areas.iter().find(|a| a.id == id)?;
    let c = r.count_columns.iter().position(|x| x == col)?;
    a.years[r.year_index(year)?].counts[c].value
}

fn ewr(file: &str) -> Vec<HashMap<String, String>> {
    read_csv(&shared_data().join("berlin-population-ewr").join(file))
}

#[test]
fn every_plr_has_the_published_residents_of_every_year_and_bezirke_are_their_sums() {
    let (_, l, r) = berlin_tables();
    assert!(l.dataset.points.is_empty());
    assert_eq!(r.levels[0].areas.len(), 542);
    assert_eq!(
        r.years,
        vec![2020, 2021, 2022, 2023, 2024],
        "MSS 2020, EWR 2021–2024"
    );
    let mut checked = 0;
    for row in ewr("ewr_plr_2021_2021h1-2024h2.csv") {
        if !row["stichtag"].ends_with("-12-31") {
            continue;
        }
        let year: i32 = row["stichtag"][..4].parse().unwrap();
        let want: u64 = row["inhabitants"].parse().unwrap();
        // Residents are published unless disclosure control withholds them (none are < 3).
        assert_eq!(
            value(r, "planungsraeume", &row["PLR_ID"], year, "residents"),
            Some(want)
        );
        checked += 1;
    }
    assert_eq!(checked, 4 * 542);
    let plr = r.level("planungsraeume").unwrap();
    for year in 2021..=2024 {
        let mut by_bezirk: HashMap<&str, u64> = HashMap::new();
        for a in &plr.areas {
            *by_bezirk.entry(&a.id[..2]).or_default() +=
                value(r, "planungsraeume", &a.id, year, "residents").unwrap();
        }
        for (bez, sum) in &by_bezirk {
            assert_eq!(
                value(r, "bezirke", bez, year, "residents"),
                Some(*sum),
                "{bez} {year}"
            );
        }
        let total: u64 = by_bezirk.values().sum();
        assert_eq!(value(r, "gesamt", "gesamt", year, "residents"), Some(total));
    }
    assert_eq!(
        value(r, "gesamt", "gesamt", 2024, "residents"),
        Some(3_897_145)
    );
    // The 2021 Bezirk totals equal the AfS table of the Bezirke.
    assert_eq!(value(r, "bezirke", "01", 2021, "residents"), Some(385_692));
    assert_eq!(value(r, "bezirke", "12", 2021, "residents"), Some(265_772));
}

/// Σ|estimate − published| / Σ published, and the largest absolute error.
fn errors(est: &[Option<f64>], published: &HashMap<usize, f64>) -> (f64, f64) {
    let mut abs = 0.0;
    let mut sum = 0.0;
    let mut max: f64 = 0.0;
    for (&t, &p) in published {
        let e = (est[t].unwrap_or(0.0) - p).abs();
        abs += e;
        sum += p;
        max = max.max(e);
    }
    (abs / sum, max)
}

#[test]
fn old_lor_ewr_2020_onto_the_new_plr_by_area_by_grid_and_by_addresses() {
    let (tcfg, l, _) = berlin_tables();
    let new: &Level = &l.dataset.levels[0];
    let old_src = tcfg
        .gebietsstaende
        .iter()
        .find(|g| g.key == "lor2020")
        .unwrap();
    let old = load_level(&old_src.as_level("lor2020"), 25833, None, &mut Vec::new()).unwrap();
    let pos = |lv: &Level| -> HashMap<String, usize> {
        lv.areas
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i))
            .collect()
    };
    let (old_pos, new_pos) = (pos(&old), pos(new));
    let mut v = vec![None; old.areas.len()];
    for row in ewr("ewr_plr_until2020_2015h1-2020h2.csv") {
        if row["period"] == "2020-02" {
            v[old_pos[&row["PLR_ID"]]] = Some(row["inhabitants"].parse::<f64>().unwrap());
        }
    }
    // Published on the new PLR for 31.12.2020: MSS 2021 `EW` (one PLR has none).
    let mut mss = csv::Reader::from_path(
        shared_data().join("berlin-mss-2021/mss2021_index_indicators_plr.csv"),
    )
    .unwrap();
    let h: Vec<String> = mss.headers().unwrap().iter().map(str::to_string).collect();
    let (ci, ce) = (
        h.iter().position(|x| x == "PLR_ID").unwrap(),
        h.iter().position(|x| x == "EW").unwrap(),
    );
    let published: HashMap<usize, f64> = mss
        .records()
        .map(|r| r.unwrap())
        .filter_map(|r| r[ce].parse::<f64>().ok().map(|ew| (new_pos[&r[ci]], ew)))
        .collect();
    assert_eq!(published.len(), 541);
    let estimate = |x: &[f64], y: &[f64], w: &[u32]| {
        let a_old = assign_points(&old.areas, x, y).unwrap();
        let a_new = assign_points(&new.areas, x, y).unwrap();
        let cw = Crosswalk::build(&a_old, &a_new, w, old.areas.len(), new.areas.len());
        let est: Vec<Option<f64>> = interpolate(&cw, &v, Measure::Extensive)
            .into_iter()
            .map(|e| e.value)
            .collect();
        let total: f64 = est.iter().flatten().sum();
        (est, total)
    };
    // By area: a lattice over the old PLR.
    let lattice = area_lattice(
        &old.areas,
        kleinraum_gebietsstand::workspace::AREA_LATTICE_POINTS,
    )
    .unwrap();
    let (est_area, total_area) = estimate(&lattice.x, &lattice.y, &lattice.weight);
    // By the Zensus 2011 1 km grid, each cell spread over its square.
    let grid = l.weights.as_ref().expect("[weights] in berlin-tables.toml");
    let (est_grid, total_grid) = estimate(&grid.x, &grid.y, &grid.weight);
    // By the residents 2020 at the address points (data/berlin.toml).
    let acfg = ProjectConfig::load(&repo().join("data/berlin.toml")).unwrap();
    let ads: Dataset = load_all_strict(&acfg).unwrap().dataset;
    let res2020 = &ads
        .points
        .columns
        .iter()
        .find(|c| c.name == "residents" && c.year == 2020)
        .unwrap()
        .values;
    let (est_addr, _) = estimate(&ads.points.x, &ads.points.y, res2020);
    let (e_area, m_area) = errors(&est_area, &published);
    let (e_grid, m_grid) = errors(&est_grid, &published);
    let (e_addr, m_addr) = errors(&est_addr, &published);
    eprintln!(
        "EWR 31.12.2020 of the 448 old PLR onto the 542 new PLR, against MSS 2021 EW (541 PLR)"
    );
    eprintln!("weighting                          Σ|error|/Σ published   largest error");
    eprintln!(
        "area (lattice, {:>4.0} m)              {:>8.3} %            {m_area:>6.0}",
        match lattice.weighting {
            kleinraum_aggregate::model::Weighting::Area { spacing_m } => spacing_m,
            _ => 0.0,
        },
        100.0 * e_area
    );
    eprintln!(
        "Zensus 2011 1 km grid                {:>8.3} %            {m_grid:>6.0}",
        100.0 * e_grid
    );
    eprintln!(
        "residents at the address points      {:>8.3} %            {m_addr:>6.0}",
        100.0 * e_addr
    );
    // The address-weighted figure the project has quoted since issue 6.
    assert!((e_addr - 0.004_68).abs() < 0.000_01, "{e_addr}");
    // Measured: area 10.2 %, grid 7.2 % (see the report); bounds with a margin, and the order.
    assert!(e_area < 0.12 && e_grid < 0.09, "{e_area} {e_grid}");
    assert!(e_addr < e_grid && e_grid < e_area);
    // Nothing is lost: every old PLR lies in the lattice and under populated cells.
    let sum: f64 = v.iter().flatten().sum();
    assert!((total_area - sum).abs() < 1e-6, "{total_area} vs {sum}");
    assert!((total_grid - sum).abs() < 1e-6, "{total_grid} vs {sum}");
}

#[test]
fn serve_berlin_tables_with_the_lor_2020_estimated_through_the_grid() {
    let store = fresh_store();
    let store_s = store.display().to_string();
    let s = Server::start(
        "data/berlin-tables.toml",
        &[("KLEINRAUM_STORE", &store_s)],
        std::time::Duration::from_secs(300),
    );
    for year in 2021..=2024 {
        let fc = get(&s.addr, &format!("/collections/planungsraeume/items?datetime={year}-12-31&limit=1000&skipGeometry=true"), &[]).json();
        let feats = fc["features"].as_array().unwrap();
        assert_eq!(feats.len(), 542, "{year}");
        assert!(
            feats.iter().all(|f| f["properties"]["residents"].is_u64()),
            "{year}"
        );
    }
    // S3 is rolled up weighted by EW; S1 is not weighted: "–" on coarser levels.
    let ts = get(&s.addr, "/collections/bezirke/items/01/timeseries", &[]).json();
    assert!(
        ts["indicators"]["s1"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v.is_null()),
        "{ts}"
    );
    assert_eq!(ts["indicator_reasons"]["s1"][0], "not_additive", "{ts}");
    let lor2020 = get(&s.addr, "/gebietsstaende/lor2020/areas?year=2024", &[]).json();
    let f = &lor2020["features"][0]["properties"];
    assert!(
        f["weighting"].as_str().unwrap().contains("Zensus 2011"),
        "{f}"
    );
    assert!(
        f["estimated"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "residents")
    );
    let total: u64 = lor2020["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["properties"]["residents"].as_u64())
        .sum();
    // Each estimate is rounded to a whole resident: the total stays within a few hundred.
    assert!(total.abs_diff(3_897_145) < 500, "{total}");
    let _ = std::fs::remove_file(&store);
}
