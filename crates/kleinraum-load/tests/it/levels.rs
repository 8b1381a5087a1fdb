//! Hierarchy levels from the real boundary files.

use crate::common::data;
use geo::Area as _;
use kleinraum_load::config::LevelSource;
use kleinraum_load::project::load_level;
use std::collections::HashSet;

fn level(
    key: &str,
    source: &str,
    id: &str,
    name: Option<&str>,
    parent: Option<&str>,
) -> LevelSource {
    LevelSource {
        key: key.into(),
        title: key.into(),
        source: Some(data(source)),
        layer: None,
        id_field: id.into(),
        name_field: name.map(Into::into),
        parent_field: parent.map(Into::into),
        parent_prefix: None,
        crs: None,
        encoding: None,
        merge_duplicates: false,
        repair: false,
    }
}

fn total_area_km2(l: &kleinraum_aggregate::model::Level) -> f64 {
    l.areas
        .iter()
        .map(|a| a.geometry.as_ref().unwrap().unsigned_area())
        .sum::<f64>()
        / 1e6
}

#[test]
fn lor_2021_levels_with_text_ids_umlauts_and_parents() {
    let mut diags = Vec::new();
    let plr = load_level(
        &level(
            "plr",
            "berlin-lor-2021/plr_2021_epsg25833.geojson.gz",
            "PLR_ID",
            Some("PLR_NAME"),
            Some("BZR_ID"),
        ),
        25833,
        None,
        &mut diags,
    )
    .unwrap();
    let bzr = load_level(
        &level(
            "bzr",
            "berlin-lor-2021/bzr_2021_epsg25833.geojson.gz",
            "BZR_ID",
            Some("BZR_NAME"),
            Some("PGR_ID"),
        ),
        25833,
        Some(&plr),
        &mut diags,
    )
    .unwrap();
    let pgr = load_level(
        &level(
            "pgr",
            "berlin-lor-2021/pgr_2021_epsg25833.geojson.gz",
            "PGR_ID",
            Some("PGR_NAME"),
            Some("BEZ"),
        ),
        25833,
        Some(&bzr),
        &mut diags,
    )
    .unwrap();
    let bez = load_level(
        &level(
            "bez",
            "berlin-lor-2021/bezirke.geojson",
            "id",
            Some("name"),
            None,
        ),
        25833,
        Some(&pgr),
        &mut diags,
    )
    .unwrap();
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(plr.areas.len(), 542);
    assert_eq!(
        (bzr.areas.len(), pgr.areas.len(), bez.areas.len()),
        (143, 58, 12)
    );
    assert!(
        plr.areas
            .iter()
            .all(|a| a.id.len() == 8 && a.id.bytes().all(|b| b.is_ascii_digit()))
    );
    let a = &plr.areas[plr.position("01100101").expect("01100101 present")];
    assert_eq!(a.name, "Stülerstraße");
    assert_eq!(a.parent.as_deref(), Some("011001"));
    assert_eq!(
        plr.areas[plr.position("04300414").unwrap()].name,
        "Schloßstraße"
    );
    assert_eq!(
        plr.areas[plr.position("11300616").unwrap()].name,
        "Hohenschönhausener Straße"
    );
    let bzr_ids: HashSet<&str> = bzr.areas.iter().map(|a| a.id.as_str()).collect();
    assert!(
        plr.areas
            .iter()
            .all(|a| bzr_ids.contains(a.parent.as_deref().unwrap()))
    );
    let bez_ids: HashSet<&str> = bez.areas.iter().map(|a| a.id.as_str()).collect();
    assert!(
        pgr.areas
            .iter()
            .all(|a| bez_ids.contains(a.parent.as_deref().unwrap()))
    );
    assert_eq!(
        bez.areas[bez.position("09").unwrap()].name,
        "Treptow-Köpenick"
    );

    // Bezirke come in CRS84 and are reprojected: their total area must be Berlin's.
    let km2 = total_area_km2(&bez);
    assert!((km2 - 891.0).abs() < 8.91, "Bezirke area {km2:.1} km²");
    let plr_km2 = total_area_km2(&plr);
    assert!(
        (plr_km2 - km2).abs() / km2 < 0.005,
        "PLR {plr_km2:.1} vs Bezirke {km2:.1}"
    );
}

#[test]
fn plr_from_crs84_file_matches_the_utm_file() {
    let mut diags = Vec::new();
    let wgs = load_level(
        &level(
            "p",
            "berlin-lor-2021/plr_2021.geojson",
            "PLR_ID",
            None,
            None,
        ),
        25833,
        None,
        &mut diags,
    )
    .unwrap();
    let utm = load_level(
        &level(
            "p",
            "berlin-lor-2021/plr_2021_epsg25833.geojson.gz",
            "PLR_ID",
            None,
            None,
        ),
        25833,
        None,
        &mut diags,
    )
    .unwrap();
    let c1 = wgs.areas[0].geometry.as_ref().unwrap().0[0].exterior().0[0];
    let c2 = utm.areas[0].geometry.as_ref().unwrap().0[0].exterior().0[0];
    // The CRS84 file has 7 decimals (~1 cm).
    assert!(
        (c1.x - c2.x).abs() < 0.05 && (c1.y - c2.y).abs() < 0.05,
        "{c1:?} vs {c2:?}"
    );
}

#[test]
fn other_partitions_and_old_lor() {
    let load = |src: &str, id: &str| {
        let mut diags = Vec::new();
        let l = load_level(&level("x", src, id, None, None), 25833, None, &mut diags).unwrap();
        (l, diags)
    };
    let (old, d) = load(
        "berlin-lor-until-2020/plr_until_2020_epsg25833.geojson.gz",
        "PLR_ID",
    );
    assert_eq!(old.areas.len(), 448);
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(
        old.areas[old.position("01011101").unwrap()].attributes["PLR_NAME"],
        "Stülerstraße"
    );

    let (ot, d) = load("berlin-other-partitions/ortsteile_96.geojson", "OT_ID");
    assert_eq!(ot.areas.len(), 96);
    // The ALKIS Ortsteile have geometry findings (reported by `check`), nothing else.
    assert!(d.iter().all(|d| d.field == "geometry"), "{d:?}");

    // 194 polygons but 193 distinct PLZ: the duplicate is reported, not silently merged.
    let (plz, d) = load("berlin-other-partitions/plz_194.geojson", "plz");
    assert_eq!(plz.areas.len(), 193);
    let dups: Vec<_> = d.iter().filter(|d| d.field == "plz").collect();
    assert_eq!(dups.len(), 1, "{d:?}");
    assert!(dups[0].message.contains("duplicate id"));
    assert!(
        d.iter().all(|d| d.field == "plz" || d.field == "geometry"),
        "{d:?}"
    );
    let one_part = plz.areas[plz.position("14193").unwrap()]
        .geometry
        .as_ref()
        .unwrap()
        .0
        .len();

    // With merge_duplicates the second 14193 feature joins the first instead. In this source
    // both features are the same polygon, so the area keeps one copy (two identical parts
    // would cancel each other under the crossing-number rule).
    let mut diags = Vec::new();
    let src = LevelSource {
        merge_duplicates: true,
        ..level(
            "x",
            "berlin-other-partitions/plz_194.geojson",
            "plz",
            None,
            None,
        )
    };
    let merged = load_level(&src, 25833, None, &mut diags).unwrap();
    assert_eq!(merged.areas.len(), 193);
    assert!(diags.iter().all(|d| d.field == "geometry"), "{diags:?}");
    let parts = merged.areas[merged.position("14193").unwrap()]
        .geometry
        .as_ref()
        .unwrap()
        .0
        .len();
    assert_eq!(parts, one_part);
    assert!((total_area_km2(&merged) - total_area_km2(&plz)).abs() < 1e-9);
}

#[test]
fn derived_level_from_parent_prefix() {
    let mut diags = Vec::new();
    let mut src = level(
        "plr",
        "berlin-lor-2021/plr_2021_epsg25833.geojson.gz",
        "PLR_ID",
        None,
        None,
    );
    src.parent_prefix = Some(6);
    let plr = load_level(&src, 25833, None, &mut diags).unwrap();
    let derived = LevelSource {
        source: None,
        parent_prefix: Some(2),
        ..level(
            "bzr",
            "berlin-lor-2021/bzr_2021_epsg25833.geojson.gz",
            "BZR_ID",
            None,
            None,
        )
    };
    let bzr = load_level(&derived, 25833, Some(&plr), &mut diags).unwrap();
    assert_eq!(bzr.areas.len(), 143);
    assert!(
        bzr.areas
            .iter()
            .all(|a| a.geometry.is_none() && a.name == a.id)
    );
    assert_eq!(bzr.areas[0].id, "011001");
    assert_eq!(bzr.areas[0].parent.as_deref(), Some("01"));
}
