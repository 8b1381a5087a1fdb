//! data/berlin.toml end to end on the real data.

use crate::common::repo_root;
use kleinraum_load::ProjectConfig;
use kleinraum_load::project::{load_project, load_project_strict};

fn berlin() -> ProjectConfig {
    ProjectConfig::load(&repo_root().join("data/berlin.toml")).unwrap()
}

fn sum(ds: &kleinraum_aggregate::model::Dataset, name: &str, year: i32) -> u64 {
    let c = ds
        .points
        .columns
        .iter()
        .find(|c| c.name == name && c.year == year)
        .unwrap_or_else(|| panic!("no column {name} {year}"));
    c.values.iter().map(|v| u64::from(*v)).sum()
}

#[test]
fn berlin_loads_end_to_end() {
    let cfg = berlin();
    let t = std::time::Instant::now();
    let ds = load_project_strict(&cfg).unwrap();
    eprintln!(
        "data/berlin.toml loaded in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    assert_eq!(ds.working_epsg, 25833);
    let sizes: Vec<usize> = ds.levels.iter().map(|l| l.areas.len()).collect();
    assert_eq!(sizes, [542, 143, 58, 12]);

    let p = &ds.points;
    assert_eq!(p.len(), 401_032);
    assert_eq!(p.keys.len(), 401_032);
    assert_eq!(p.years(), [2020, 2021, 2022, 2023, 2024]);
    assert_eq!(sum(&ds, "residents", 2024), 3_897_145);
    assert_eq!(sum(&ds, "residents", 2020), 3_769_962);
    assert!(p.columns.iter().all(|c| c.values.len() == p.len()));
    // Address 1 (Ackerstraße 1): x/y as in the file (already EPSG:25833). The dataset stores
    // points in Morton order, so look it up by key.
    let a1 = p.keys.iter().position(|k| k == "1").unwrap();
    assert_eq!((p.x[a1], p.y[a1]), (391893.4, 5820878.5));
    // Morton order: consecutive points are mostly close together.
    let near = (1..p.len())
        .filter(|&i| (p.x[i] - p.x[i - 1]).abs() + (p.y[i] - p.y[i - 1]).abs() < 500.0)
        .count();
    assert!(
        near * 10 > p.len() * 9,
        "only {near} of {} steps < 500 m",
        p.len()
    );

    let fac = |cat: &str| ds.facilities.iter().find(|f| f.category == cat).unwrap();
    let kitas = fac("kitas");
    assert_eq!(kitas.len(), 2880);
    assert_eq!(kitas.capacity.iter().flatten().sum::<f64>(), 194_979.0);
    assert_eq!(kitas.ids[0], "01010010");
    let pflege = fac("pflege");
    assert_eq!(pflege.len(), 274);
    assert_eq!(pflege.capacity.iter().flatten().sum::<f64>(), 31_154.0);
    assert_eq!(fac("schulen").len(), 902);
    assert_eq!(fac("jugendfreizeit").len(), 407);

    let mss = &ds.tables[0];
    assert_eq!((mss.name.as_str(), mss.ids.len()), ("mss2021", 542));
    assert_eq!(mss.ids[0], "01100101");
    assert_eq!(mss.column("EW").unwrap().values[0], Some(3419.0));
    // -9999 marks the 6 PLR excluded from the index.
    assert_eq!(
        mss.column("S1")
            .unwrap()
            .values
            .iter()
            .filter(|v| v.is_none())
            .count(),
        6
    );
}

#[test]
fn berlin_non_strict_load_has_no_diagnostics() {
    let mut diags = Vec::new();
    let ds = load_project(&berlin(), &mut diags).unwrap();
    assert!(diags.is_empty(), "{:?}", &diags[..diags.len().min(5)]);
    assert_eq!(ds.levels[0].areas.len(), 542);
}

/// Release-mode timing: `cargo test -p kleinraum-load --release --test it -- --ignored --nocapture load_time`
#[test]
#[ignore = "timing only; run in release mode"]
fn load_time_berlin() {
    let cfg = berlin();
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let ds = load_project_strict(&cfg).unwrap();
        eprintln!(
            "berlin.toml: {} points, {} levels loaded in {:.3} s",
            ds.points.len(),
            ds.levels.len(),
            t.elapsed().as_secs_f64()
        );
    }
    // Where the time goes.
    let mut d = Vec::new();
    let mut levels: Vec<kleinraum_aggregate::model::Level> = Vec::new();
    for l in &cfg.levels {
        let t = std::time::Instant::now();
        let level = kleinraum_load::project::load_level(l, 25833, levels.last(), &mut d).unwrap();
        eprintln!("  level {}: {:.3} s", l.key, t.elapsed().as_secs_f64());
        levels.push(level);
    }
    let pts = cfg.points.as_ref().unwrap();
    let t = std::time::Instant::now();
    let table =
        kleinraum_load::table::CsvTable::open(std::path::Path::new(&pts.source), &pts.csv).unwrap();
    eprintln!(
        "  addresses decompress+decode: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    let t = std::time::Instant::now();
    let mut n = 0usize;
    table.for_each_row(&mut d, |r| n += r.record.len()).unwrap();
    eprintln!(
        "  addresses csv pass: {:.3} s ({n} fields)",
        t.elapsed().as_secs_f64()
    );
    let t = std::time::Instant::now();
    kleinraum_load::project::load_points(cfg.points.as_ref().unwrap(), 25833, &mut d).unwrap();
    eprintln!("  points: {:.3} s", t.elapsed().as_secs_f64());
    let t = std::time::Instant::now();
    for f in &cfg.facilities {
        kleinraum_load::project::load_facilities(f, 25833, &mut d).unwrap();
    }
    eprintln!("  facilities: {:.3} s", t.elapsed().as_secs_f64());
}

#[test]
fn points_from_lon_lat_columns_in_wgs84_match_the_etrs_laea_columns() {
    use kleinraum_load::config::{CsvOptions, PointSource};
    use kleinraum_load::project::load_points;
    let src = |x: &str, y: &str, crs: u32| PointSource {
        source: crate::common::data(
            "berlin-zensus2011-grid/zensus2011_100m_berlin_age_u10_80plus_foreigners.csv",
        ),
        layer: None,
        key: "grid_id".into(),
        x: Some(x.into()),
        y: Some(y.into()),
        crs: Some(kleinraum_load::config::Crs::Epsg(crs)),
        csv: CsvOptions::default(),
        counts: vec!["age_under10".into(), "age_80plus".into()],
        year: Some(2011),
        join: Vec::new(),
    };
    let mut d = Vec::new();
    let ll = load_points(&src("lon", "lat", 4326), 25833, &mut d).unwrap();
    assert_eq!(ll.len(), 31_605);
    // Suppressed cells are empty: each is reported (counted as 0), nothing else is wrong.
    assert!(!d.is_empty());
    assert!(
        d.iter()
            .all(|d| d.value.is_empty() && d.field.starts_with("age_")),
        "{:?}",
        &d[..3]
    );
    let total = |c: usize| {
        ll.columns[c]
            .values
            .iter()
            .map(|v| u64::from(*v))
            .sum::<u64>()
    };
    assert_eq!((total(0), total(1)), (288_926, 137_492));
    let laea = load_points(&src("x_mp_3035", "y_mp_3035", 3035), 25833, &mut Vec::new()).unwrap();
    // lon/lat have 6 decimals (about 0.1 m).
    let worst = (0..ll.len())
        .map(|i| (ll.x[i] - laea.x[i]).abs().max((ll.y[i] - laea.y[i]).abs()))
        .fold(0.0, f64::max);
    assert!(worst < 0.2, "largest difference {worst:.3} m");
    assert!((370_000.0..420_000.0).contains(&ll.x[0]));
}

#[test]
fn facilities_filter_multipoint_and_reprojection() {
    use kleinraum_load::config::{CsvOptions, FacilitySource};
    use kleinraum_load::project::load_facilities;
    let src = |file: &str, id: &str| FacilitySource {
        category: "x".into(),
        title: "X".into(),
        source: crate::common::data(file),
        layer: None,
        id_field: Some(id.into()),
        name_field: None,
        capacity_field: None,
        filter: Default::default(),
        x: None,
        y: None,
        crs: None,
        csv: CsvOptions::default(),
    };
    let mut d = Vec::new();
    let mut schulen = src(
        "berlin-social-infrastructure/schulen_2023-10_epsg25833.geojson",
        "bsn",
    );
    schulen
        .filter
        .insert("schultyp".into(), "Grundschule".into());
    assert_eq!(load_facilities(&schulen, 25833, &mut d).unwrap().len(), 376);

    let wgs = load_facilities(
        &src(
            "berlin-social-infrastructure/apotheken_2023-07.geojson",
            "gc_id",
        ),
        25833,
        &mut d,
    )
    .unwrap();
    let utm = load_facilities(
        &src(
            "berlin-social-infrastructure/apotheken_2023-07_epsg25833.geojson",
            "gc_id",
        ),
        25833,
        &mut d,
    )
    .unwrap();
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(wgs.len(), 732);
    assert_eq!(wgs.ids, utm.ids);
    for i in 0..wgs.len() {
        assert!((wgs.x[i] - utm.x[i]).abs() < 0.05 && (wgs.y[i] - utm.y[i]).abs() < 0.05);
    }
}

/// A point file and a count file of `n` rows with keys `{prefix}{i}`, plus hostile join rows: a
/// duplicate far from its first row (another chunk), a key with a leading zero, a key of no
/// point, a bad count. Large enough to be read in several chunks.
fn join_files(
    dir: &std::path::Path,
    prefix: &str,
    n: usize,
) -> kleinraum_load::config::PointSource {
    use std::fmt::Write as _;
    let mut pts = String::from("id,x,y\n");
    let mut counts = String::from("id,n\n");
    for i in 1..=n {
        let _ = writeln!(
            pts,
            "{prefix}{i},{}.5,{}.25",
            390_000 + i % 997,
            5_820_000 + i / 997
        );
        if i < n {
            let _ = writeln!(counts, "{prefix}{i},{}", i % 7);
        }
    }
    let _ = writeln!(
        counts,
        "{prefix}7,1\n{prefix}007,2\n{prefix}999999999,3\n{prefix}{n},x"
    );
    let p = crate::common::write(dir, "points.csv", pts);
    let c = crate::common::write(dir, "counts.csv", counts);
    kleinraum_load::config::PointSource {
        source: p.to_string_lossy().into_owned(),
        layer: None,
        key: "id".into(),
        x: None,
        y: None,
        crs: Some(kleinraum_load::crs::Crs::Epsg(25833)),
        csv: Default::default(),
        counts: vec![],
        year: None,
        join: vec![kleinraum_load::config::CountSource {
            source: c.to_string_lossy().into_owned(),
            key: "id".into(),
            year: 2024,
            counts: vec![],
            csv: Default::default(),
        }],
    }
}

#[test]
fn join_on_integer_keys_equals_join_on_text_keys() {
    // Integer keys take the path without string hashing; text keys the hashed one. Both give
    // the same counts and the same diagnostics, in file order, across chunk boundaries.
    let n = 120_000;
    let run = |prefix: &str| {
        let dir = tempfile::tempdir().unwrap();
        let src = join_files(dir.path(), prefix, n);
        let mut diags = Vec::new();
        let layer = kleinraum_load::project::load_points(&src, 25833, &mut diags).unwrap();
        let mut by_key: Vec<(String, u32, f64)> = layer
            .keys
            .iter()
            .zip(&layer.columns[0].values)
            .zip(&layer.x)
            .map(|((k, &v), &x)| (k.replacen(prefix, "", 1), v, x))
            .collect();
        by_key.sort_by(|a, b| a.0.cmp(&b.0));
        let diags: Vec<(usize, String, String)> = diags
            .iter()
            .map(|d| {
                (
                    d.row,
                    d.value.replacen(prefix, "", 1),
                    d.message.replace(prefix, ""),
                )
            })
            .collect();
        (by_key, diags)
    };
    let (ints, int_diags) = run("");
    let (texts, text_diags) = run("K");
    assert_eq!(ints.len(), n);
    assert_eq!(ints, texts);
    assert_eq!(int_diags, text_diags);
    let lines: Vec<usize> = int_diags.iter().map(|d| d.0).collect();
    assert_eq!(lines, [n + 1, n + 2, n + 3, n + 4], "{int_diags:?}");
    assert!(
        int_diags[0]
            .2
            .starts_with("duplicate key (first at line 8)")
    );
    assert_eq!(int_diags[1].1, "007");
    assert!(int_diags[1].2.contains("matches no point"));
    assert!(int_diags[2].2.contains("matches no point"));
    assert!(int_diags[3].2.contains("counted as 0"));
    let seven = ints.iter().find(|r| r.0 == "7").unwrap();
    assert_eq!(seven.1, 0, "the first row of key 7 wins");
    assert_eq!(ints.iter().find(|r| r.0 == "8").unwrap().1, 1);
}
