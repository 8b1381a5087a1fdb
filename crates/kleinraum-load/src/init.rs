//! `kleinraum init DIR`: a configuration proposed from a folder of files, for a planner who has
//! data and no config. Every file is inspected — format, layers, CRS, encoding, delimiter and
//! number format, which column looks like an id, a name, a parent id, years, counts — and the
//! proposal says in comments what was guessed and why. What cannot be decided is listed (and
//! marked `TODO` in the file) instead of guessed blindly.

use crate::areatable::{normalize_name, parse_date, parse_year};
use crate::config::is_csv;
use crate::crs::{Crs, Reprojector};
use crate::features::{PropValue, RawLayer, read_layer};
use crate::table::{Cell, CsvTable};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The proposed configuration.
#[derive(Debug, Clone)]
pub struct Proposal {
    /// The config file's text.
    pub toml: String,
    /// One line per decision, for the terminal.
    pub summary: Vec<String>,
    /// What could not be decided (also marked `TODO` in the file).
    pub undecided: Vec<String>,
}

/// A polygon layer found in the folder.
#[derive(Debug, Clone)]
struct PolyLayer {
    path: PathBuf,
    layer: RawLayer,
    crs: Option<Crs>,
    crs_note: String,
    encoding: Option<&'static str>,
    id: Option<String>,
    name: Option<String>,
    ids: Vec<String>,
    names: Vec<String>,
    /// Key of the level (slug of the file stem).
    key: String,
    /// Another file with the same areas (kept for the record).
    same_as: Option<String>,
}

/// A point layer (facilities).
#[derive(Debug, Clone)]
struct PointLayer {
    path: PathBuf,
    layer: RawLayer,
    crs: Option<Crs>,
}

/// A plain lowercase ASCII identifier: umlauts spelled out, everything else `_`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars() {
        let rep: &str = match c {
            'ä' | 'Ä' => "ae",
            'ö' | 'Ö' => "oe",
            'ü' | 'Ü' => "ue",
            'ß' => "ss",
            _ => "",
        };
        if !rep.is_empty() {
            out.push_str(rep);
        } else if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let t = out.trim_matches('_').to_string();
    if t.is_empty() || t.starts_with(|c: char| c.is_ascii_digit()) {
        format!("x{t}")
    } else {
        t
    }
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn stem(p: &Path) -> String {
    let n = p
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = n.to_ascii_lowercase();
    for ext in [
        ".geojson.gz",
        ".json.gz",
        ".csv.gz",
        ".geojson",
        ".json",
        ".csv",
        ".shp",
        ".gpkg",
    ] {
        if lower.ends_with(ext) {
            return n[..n.len() - ext.len()].to_string();
        }
    }
    n
}

/// The file stem without years, CRS codes and separators: `plr_2021_epsg25833` → `plr`.
#[doc(hidden)] // public for tests/it/units
pub fn key_of(p: &Path) -> String {
    let s = slug(&stem(p));
    let parts: Vec<&str> = s
        .split('_')
        .filter(|w| {
            !(w.chars().all(|c| c.is_ascii_digit())
                || w.starts_with("epsg")
                || (w.len() >= 5 && w.chars().filter(|c| c.is_ascii_digit()).count() >= 4))
        })
        .collect();
    let k = parts.join("_");
    if k.is_empty() { s } else { k }
}

fn text(v: &PropValue) -> Option<String> {
    v.as_text()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// Path as written in the config: relative to the config's folder where possible.
fn rel(path: &Path, config_dir: &Path) -> String {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (p, d) = (abs(path), abs(config_dir));
    match p.strip_prefix(&d) {
        Ok(r) => r.to_string_lossy().into_owned(),
        Err(_) => p.to_string_lossy().into_owned(),
    }
}

/// A CRS guessed from coordinate magnitudes when a file declares none.
fn crs_from_coordinates(x: f64, y: f64) -> Option<(Crs, String)> {
    if (5.0..16.0).contains(&x) && (47.0..56.0).contains(&y) {
        return Some((
            Crs::Epsg(4326),
            "the coordinates look like longitude/latitude in Germany".into(),
        ));
    }
    if (2_400_000.0..5_600_000.0).contains(&x) && (5_200_000.0..6_200_000.0).contains(&y) {
        let zone = (x / 1_000_000.0).floor() as u32;
        return Some((
            Crs::Epsg(31464 + zone),
            format!(
                "eastings of {:.0} km start with {zone}: DHDN / Gauß-Krüger zone {zone} — check it",
                x / 1000.0
            ),
        ));
    }
    None
}

fn first_vertex(layer: &RawLayer) -> Option<(f64, f64)> {
    use geo::CoordsIter;
    layer
        .features
        .iter()
        .find_map(|f| f.geometry.as_ref())
        .and_then(|g| g.coords_iter().next())
        .map(|c| (c.x, c.y))
}

/// Whether a Shapefile's DBF is not valid UTF-8 (read as Windows-1252) and has no `.cpg`.
fn dbf_is_cp1252(shp: &Path) -> bool {
    let has_cpg = ["cpg", "CPG"]
        .iter()
        .any(|e| shp.with_extension(e).exists());
    if has_cpg {
        return false;
    }
    ["dbf", "DBF"]
        .iter()
        .filter_map(|e| std::fs::read(shp.with_extension(e)).ok())
        .any(|b| std::str::from_utf8(&b).is_err())
}

/// Scores how well a field works as an id: unique, never empty; names like `id`, `ags`, `schluessel`.
fn pick_id(layer: &RawLayer) -> Option<(String, String)> {
    let n = layer.features.len();
    let mut best: Option<(i32, String, String)> = None;
    for f in &layer.fields {
        let vals: Vec<String> = layer
            .features
            .iter()
            .filter_map(|ft| ft.props.get(f).and_then(text))
            .collect();
        let distinct: HashSet<&String> = vals.iter().collect();
        if vals.len() != n || distinct.len() != n {
            continue;
        }
        let lf = f.to_lowercase();
        let mut score = 0;
        if [
            "id",
            "ags",
            "schluessel",
            "schlüssel",
            "key",
            "code",
            "nr",
            "ars",
        ]
        .iter()
        .any(|k| lf.contains(k))
        {
            score += 4;
        }
        if lf.contains("uuid") || lf.contains("fid") || lf.contains("objectid") {
            score -= 3;
        }
        if vals.iter().all(|v| v.chars().all(|c| c.is_ascii_digit())) {
            score += 2;
        }
        if vals
            .iter()
            .any(|v| v.chars().any(|c| c.is_alphabetic()) && v.contains(' '))
        {
            score -= 3; // names, not ids
        }
        if best.as_ref().is_none_or(|b| score > b.0) {
            let why = format!(
                "unique in all {n} features{}",
                if score >= 4 {
                    ", and its name says id"
                } else {
                    ""
                }
            );
            best = Some((score, f.clone(), why));
        }
    }
    best.map(|(_, f, why)| (f, why))
}

fn pick_name(layer: &RawLayer, id: Option<&str>) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for f in &layer.fields {
        if Some(f.as_str()) == id {
            continue;
        }
        let vals: Vec<String> = layer
            .features
            .iter()
            .filter_map(|ft| ft.props.get(f).and_then(text))
            .collect();
        if vals.len() < layer.features.len()
            || !vals.iter().all(|v| v.chars().any(char::is_alphabetic))
        {
            continue;
        }
        let distinct: HashSet<&String> = vals.iter().collect();
        let lf = f.to_lowercase();
        let mut score = distinct.len() * 10;
        if lf.contains("name") || lf == "gen" || lf.contains("bez") && !lf.contains("id") {
            score += 5_000;
        }
        if best.as_ref().is_none_or(|b| score > b.0) {
            best = Some((score, f.clone()));
        }
    }
    best.map(|(_, f)| f)
}

/// Column name → the name the map and the demos use, where a label is unambiguous: totals,
/// the eight age groups of the Berlin statistics, under 15, 15 to 65, foreigners, women.
pub fn standard_name(label: &str) -> Option<&'static str> {
    let l = label.to_lowercase().replace(['_', '-'], " ");
    let nums: Vec<u32> = l
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    let has = |w: &str| l.contains(w);
    if nums.is_empty() {
        let words: Vec<&str> = l.split_whitespace().collect();
        if [
            "insgesamt",
            "gesamt",
            "total",
            "einwohner",
            "inhabitants",
            "bevölkerung",
            "residents",
            "ew",
        ]
        .iter()
        .any(|w| words.len() == 1 && words[0] == *w)
        {
            return Some("residents");
        }
        if has("ausländ") || has("foreigners") {
            return Some("foreigners");
        }
        if has("weiblich") || has("female") || has("frauen") {
            return Some("female");
        }
        return None;
    }
    let older = has("mehr")
        || has("älter")
        || has("above")
        || has("über")
        || has("plus")
        || l.contains('+');
    let younger = has("unter") || has("below") || has("under");
    match nums.as_slice() {
        [6] if younger && !older => Some("age_below_6"),
        [15] if younger && !older => Some("age_under_15"),
        [65] if older => Some("age_above_65"),
        [6, 15] => Some("age_6_15"),
        [15, 18] => Some("age_15_18"),
        [18, 27] => Some("age_18_27"),
        [27, 45] => Some("age_27_45"),
        [45, 55] => Some("age_45_55"),
        [55, 65] => Some("age_55_65"),
        [15, 65] => Some("age_15_65"),
        _ => None,
    }
}

/// Output names for the columns of a table: standard names where unambiguous, else slugs.
fn output_names(labels: &[String]) -> Vec<String> {
    let std: Vec<Option<&str>> = labels
        .iter()
        .map(|l| standard_name(strip_prefix_words(l)))
        .collect();
    let mut used: HashSet<String> = HashSet::new();
    labels
        .iter()
        .zip(&std)
        .map(|(l, s)| {
            let unique = s.is_some_and(|s| std.iter().filter(|x| **x == Some(s)).count() == 1);
            let mut n = if unique {
                s.unwrap_or_default().to_string()
            } else {
                slug(l)
            };
            while !used.insert(n.clone()) {
                n.push('_');
            }
            n
        })
        .collect()
}

/// `inhabitants_age_below_6` → `age_below_6` for the recognizer (a shared prefix of every
/// column says nothing).
fn strip_prefix_words(l: &str) -> &str {
    for p in ["inhabitants_", "einwohner_", "ew_"] {
        if let Some(r) = l.strip_prefix(p) {
            return r;
        }
    }
    l
}

/// Tokens of a wide header: a year between 1990 and 2100 replaced by `{year}`.
#[doc(hidden)] // public for tests/it/units
pub fn year_template(h: &str) -> Option<(String, i32)> {
    let b = h.as_bytes();
    for i in 0..b.len().saturating_sub(3) {
        let w = &h[i..i + 4];
        let before = i == 0 || !b[i - 1].is_ascii_digit();
        let after = i + 4 == b.len() || !b[i + 4].is_ascii_digit();
        if before && after && w.bytes().all(|c| c.is_ascii_digit()) {
            let y: i32 = w.parse().ok()?;
            if (1990..=2100).contains(&y) {
                return Some((format!("{}{{year}}{}", &h[..i], &h[i + 4..]), y));
            }
        }
    }
    None
}

fn common_prefix(v: &[&str]) -> String {
    let mut p = v.first().map(|s| s.to_string()).unwrap_or_default();
    for s in v {
        while !s.starts_with(&p) {
            p.pop();
        }
    }
    p
}

#[doc(hidden)] // public for tests/it/units
pub fn common_suffix(v: &[&str]) -> String {
    let rev: Vec<String> = v.iter().map(|s| s.chars().rev().collect()).collect();
    let refs: Vec<&str> = rev.iter().map(String::as_str).collect();
    common_prefix(&refs).chars().rev().collect()
}

/// How a table's key matched a level.
#[derive(Debug, Clone)]
struct KeyMatch {
    column: usize,
    level: usize,
    by_name: bool,
    matched: usize,
    unmatched: Vec<String>,
}

/// The files [`propose`] reads as layers.
const GEO_EXTENSIONS: [&str; 6] = [
    ".shp",
    ".geojson",
    ".json",
    ".geojson.gz",
    ".json.gz",
    ".gpkg",
];

/// Whether [`propose`] needs GDAL for the files in `dir` (a GeoPackage among them). An
/// unreadable folder needs nothing: `propose` reports it.
pub fn needs_gdal(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.filter_map(|e| e.ok()).any(|e| {
        let name = e.file_name().to_string_lossy().to_lowercase();
        e.path().is_file()
            && GEO_EXTENSIONS.iter().any(|x| name.ends_with(x))
            && crate::features::SourceKind::of(&name) == crate::features::SourceKind::Ogr
    })
}

/// Proposes a configuration for the files in `dir`; `config_dir` is where the config will be
/// written (paths are written relative to it).
pub fn propose(dir: &Path, config_dir: &Path) -> Result<Proposal, String> {
    let mut summary = Vec::new();
    let mut undecided = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut polys: Vec<PolyLayer> = Vec::new();
    let mut points: Vec<PointLayer> = Vec::new();
    let mut csvs: Vec<PathBuf> = Vec::new();
    for p in &files {
        let lower = p.to_string_lossy().to_lowercase();
        if is_csv(&lower) {
            csvs.push(p.clone());
            continue;
        }
        let geo = GEO_EXTENSIONS.iter().any(|e| lower.ends_with(e));
        if !geo {
            if !(lower.ends_with(".shx")
                || lower.ends_with(".dbf")
                || lower.ends_with(".prj")
                || lower.ends_with(".cpg"))
            {
                summary.push(format!(
                    "{}: not a data file kleinraum reads; skipped",
                    name_of(p)
                ));
            }
            continue;
        }
        let layer = match read_layer(&p.to_string_lossy(), None, None) {
            Ok(l) => l,
            Err(e) => {
                undecided.push(format!("{}: cannot be read ({e})", name_of(p)));
                continue;
            }
        };
        let (crs, crs_note) = match layer.crs(None) {
            Some(Crs::Epsg(c)) => (
                Some(Crs::Epsg(c)),
                format!("declared by the file: EPSG:{c}"),
            ),
            Some(Crs::Definition(d)) => (
                Some(Crs::Definition(d.clone())),
                format!(
                    "the file's CRS ({}) has no EPSG code; PROJ transforms from its definition",
                    Crs::Definition(d).describe()
                ),
            ),
            None => match first_vertex(&layer).and_then(|(x, y)| crs_from_coordinates(x, y)) {
                Some((c, why)) => (Some(c), format!("not declared; guessed: {why}")),
                None => {
                    undecided.push(format!(
                        "{}: no CRS declared and none recognisable from the coordinates: set `crs` (TODO in the file)",
                        name_of(p)
                    ));
                    (None, "not declared — TODO".into())
                }
            },
        };
        let is_points = layer
            .features
            .iter()
            .filter_map(|f| f.geometry.as_ref())
            .all(|g| matches!(g, geo::Geometry::Point(_) | geo::Geometry::MultiPoint(_)));
        if is_points {
            points.push(PointLayer {
                path: p.clone(),
                layer,
                crs,
            });
            continue;
        }
        let id = pick_id(&layer);
        let name = pick_name(&layer, id.as_ref().map(|x| x.0.as_str()));
        let ids: Vec<String> = match &id {
            Some((f, _)) => layer
                .features
                .iter()
                .filter_map(|ft| ft.props.get(f).and_then(text))
                .collect(),
            None => Vec::new(),
        };
        let names: Vec<String> = match &name {
            Some(f) => layer
                .features
                .iter()
                .map(|ft| ft.props.get(f).and_then(text).unwrap_or_default())
                .collect(),
            None => Vec::new(),
        };
        let encoding = (lower.ends_with(".shp") && dbf_is_cp1252(p)).then_some("windows-1252");
        if id.is_none() {
            undecided.push(format!(
                "{}: no field is unique in every feature; set `id_field` (TODO in the file)",
                name_of(p)
            ));
        }
        polys.push(PolyLayer {
            key: key_of(p),
            path: p.clone(),
            layer,
            crs,
            crs_note,
            encoding,
            id: id.as_ref().map(|x| x.0.clone()),
            name,
            ids,
            names,
            same_as: None,
        });
        if let Some((f, why)) = id {
            summary.push(format!("{}: area id {f:?} ({why})", name_of(p)));
        }
    }
    // The same areas in two files (one in WGS 84, one in UTM): keep the metric one.
    for i in 0..polys.len() {
        for j in 0..polys.len() {
            if i == j
                || polys[i].same_as.is_some()
                || polys[j].same_as.is_some()
                || polys[i].ids.is_empty()
            {
                continue;
            }
            let a: BTreeSet<&String> = polys[i].ids.iter().collect();
            let b: BTreeSet<&String> = polys[j].ids.iter().collect();
            if a == b {
                let metric = |p: &PolyLayer| matches!(p.crs, Some(Crs::Epsg(25832 | 25833)));
                let drop = if metric(&polys[i]) && !metric(&polys[j]) {
                    j
                } else if metric(&polys[j]) && !metric(&polys[i]) {
                    i
                } else {
                    j.max(i)
                };
                let keep = if drop == i { j } else { i };
                polys[drop].same_as = Some(name_of(&polys[keep].path));
            }
        }
    }
    for p in polys.iter().filter(|p| p.same_as.is_some()) {
        summary.push(format!(
            "{}: the same areas as {}; not used",
            name_of(&p.path),
            p.same_as.as_deref().unwrap_or("")
        ));
    }
    polys.retain(|p| p.same_as.is_none());
    // Finest first.
    polys.sort_by(|a, b| {
        b.layer
            .features
            .len()
            .cmp(&a.layer.features.len())
            .then(a.key.cmp(&b.key))
    });
    // Unique level keys.
    let mut seen_keys = HashSet::new();
    for p in &mut polys {
        while !seen_keys.insert(p.key.clone()) {
            p.key.push('_');
        }
    }
    if polys.is_empty() {
        undecided.push(
            "no boundary file (polygons) in the folder: kleinraum needs the areas' boundaries"
                .into(),
        );
    }
    // Parents: a field of the finer level whose values are the ids of the next one; else a
    // prefix of the id.
    let mut parent: Vec<Option<(String, bool, String)>> = vec![None; polys.len()];
    for i in 0..polys.len().saturating_sub(1) {
        let coarse: HashSet<&String> = polys[i + 1].ids.iter().collect();
        let fine = &polys[i];
        let mut found = None;
        for f in &fine.layer.fields {
            if Some(f) == fine.id.as_ref() {
                continue;
            }
            let vals: Vec<String> = fine
                .layer
                .features
                .iter()
                .filter_map(|ft| ft.props.get(f).and_then(text))
                .collect();
            if vals.len() == fine.layer.features.len()
                && !coarse.is_empty()
                && vals.iter().all(|v| coarse.contains(v))
            {
                found = Some((
                    f.clone(),
                    false,
                    format!("every value of {f:?} is an id of {}", polys[i + 1].key),
                ));
                break;
            }
        }
        if found.is_none() {
            let lens: BTreeSet<usize> =
                polys[i + 1].ids.iter().map(|s| s.chars().count()).collect();
            if let (Some(&k), 1) = (lens.iter().next(), lens.len())
                && !fine.ids.is_empty()
                && fine.ids.iter().all(|id| {
                    id.chars().count() > k
                        && coarse.contains(&id.chars().take(k).collect::<String>())
                })
            {
                found = Some((
                    k.to_string(),
                    true,
                    format!(
                        "the first {k} characters of every id are an id of {}",
                        polys[i + 1].key
                    ),
                ));
            }
        }
        match &found {
            Some(_) => {}
            None => undecided.push(format!(
                "{} does not nest in {}: no field holds its ids and no id prefix does; set parent_field or parent_prefix, or drop one of the levels (TODO in the file)",
                polys[i].key,
                polys[i + 1].key
            )),
        }
        parent[i] = found;
    }
    // Working CRS from where the areas are.
    let mut working = 25832;
    let mut working_why = "no boundaries to locate".to_string();
    if let Some(p) = polys.first()
        && let (Some(crs), Some((x, y))) = (&p.crs, first_vertex(&p.layer))
        && let Ok(r) = Reprojector::from_crs(crs, 4326)
        && let Ok((lon, lat)) = r.transform(x, y)
    {
        working = if lon < 12.0 { 25832 } else { 25833 };
        working_why = format!(
            "the areas lie at {lon:.2}° E, {lat:.2}° N: ETRS89 / UTM zone {} covers them",
            if working == 25832 {
                "32N (6° E to 12° E)"
            } else {
                "33N (12° E to 18° E)"
            }
        );
    }

    // Tables.
    let mut table_text = String::new();
    let mut table_names: HashSet<String> = HashSet::new();
    let mut count_names: HashSet<String> = HashSet::new();
    let mut used_as_mapping: HashSet<PathBuf> = HashSet::new();
    let mut additive: Vec<(String, Vec<String>)> = Vec::new();
    let mut indicators = String::new();
    // Mapping files first: two columns, the second holding ids of a level.
    let mut mappings: Vec<(PathBuf, HashMap<String, String>, usize)> = Vec::new();
    for p in &csvs {
        let Ok(t) = CsvTable::open(p, &Default::default()) else {
            continue;
        };
        if t.headers.len() != 2 {
            continue;
        }
        let rows = t.rows(&mut Vec::new()).unwrap_or_default();
        for (li, l) in polys.iter().enumerate() {
            let ids: HashSet<&String> = l.ids.iter().collect();
            if !rows.is_empty()
                && rows
                    .iter()
                    .all(|(_, r)| ids.contains(&r[1].trim().to_string()))
            {
                let m: HashMap<String, String> = rows
                    .iter()
                    .map(|(_, r)| (r[0].trim().to_string(), r[1].trim().to_string()))
                    .collect();
                mappings.push((p.clone(), m, li));
                break;
            }
        }
    }
    for p in &csvs {
        if mappings.iter().any(|m| &m.0 == p) {
            continue;
        }
        match propose_table(p, &polys, &mappings, config_dir, &mut count_names) {
            Ok(Some(t)) => {
                let mut name = t.name.clone();
                while !table_names.insert(name.clone()) {
                    name.push('_');
                }
                table_text.push_str(&t.toml.replace("@NAME@", &q(&name)));
                summary.extend(t.summary);
                undecided.extend(t.undecided);
                if let Some(m) = t.mapping {
                    used_as_mapping.insert(m);
                }
                additive.extend(t.additive);
                indicators.push_str(&t.indicators);
            }
            Ok(None) => summary.push(format!(
                "{}: no column matches the areas' ids or names; not used",
                name_of(p)
            )),
            Err(e) => undecided.push(format!("{}: {e}", name_of(p))),
        }
    }
    for (p, _, _) in &mappings {
        if !used_as_mapping.contains(p) {
            summary.push(format!(
                "{}: looks like a mapping of keys to area ids, but no table needs it",
                name_of(p)
            ));
        }
    }

    // The file.
    let title = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "kleinraum".into());
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# kleinraum configuration proposed by `kleinraum init` for the files in {}",
        dir.display()
    );
    let _ = writeln!(
        s,
        "# Every guess is explained in a comment; check them, then run `kleinraum check` on this file."
    );
    if !undecided.is_empty() {
        let _ = writeln!(s, "#\n# Could not decide (search for TODO):");
        for u in &undecided {
            let _ = writeln!(s, "#   - {u}");
        }
    }
    let _ = writeln!(s, "\ntitle = {}", q(&title));
    let _ = writeln!(s, "# {working_why}");
    let _ = writeln!(s, "working_crs = {working}\n");
    for (i, p) in polys.iter().enumerate() {
        let _ = writeln!(
            s,
            "# {}: {} areas; CRS {}",
            name_of(&p.path),
            p.layer.features.len(),
            p.crs_note
        );
        let _ = writeln!(s, "[[level]]");
        let _ = writeln!(s, "key = {}", q(&p.key));
        let _ = writeln!(s, "title = {}", q(&title_of(&p.key)));
        let _ = writeln!(s, "source = {}", q(&rel(&p.path, config_dir)));
        match &p.id {
            Some(f) => {
                let _ = writeln!(s, "id_field = {}", q(f));
            }
            None => {
                let _ = writeln!(
                    s,
                    "id_field = \"TODO\"   # TODO: no field is unique (fields: {})",
                    p.layer.fields.join(", ")
                );
            }
        }
        if let Some(n) = &p.name {
            let _ = writeln!(s, "name_field = {}", q(n));
        }
        match &parent[i] {
            Some((f, false, why)) => {
                let _ = writeln!(s, "parent_field = {}   # {why}", q(f));
            }
            Some((k, true, why)) => {
                let _ = writeln!(s, "parent_prefix = {k}   # {why}");
            }
            None if i + 1 < polys.len() => {
                let _ = writeln!(
                    s,
                    "# TODO: parent_field = \"…\" (the id of the {} area each area belongs to)",
                    polys[i + 1].key
                );
            }
            None => {}
        }
        if let Some(e) = p.encoding {
            let _ = writeln!(
                s,
                "encoding = {}   # the DBF is not UTF-8 and has no .cpg: Windows-1252, as German GIS exports",
                q(e)
            );
        }
        match (&p.crs, p.layer.epsg.is_none() && p.layer.wkt.is_none()) {
            (Some(Crs::Epsg(c)), true) => {
                let _ = writeln!(s, "crs = {c}   # guessed, see above");
            }
            (None, _) => {
                let _ = writeln!(s, "# crs = TODO   # the file declares none");
            }
            _ => {}
        }
        s.push('\n');
    }
    for pt in &points {
        let cat = key_of(&pt.path);
        let id = pick_id(&pt.layer);
        let name = pick_name(&pt.layer, id.as_ref().map(|x| x.0.as_str()));
        let cap = pt.layer.fields.iter().find(|f| {
            let l = f.to_lowercase();
            ["platz", "plaetze", "plätze", "kapaz", "capacity", "betten"]
                .iter()
                .any(|k| l.contains(k))
        });
        let _ = writeln!(
            s,
            "# {}: {} points",
            name_of(&pt.path),
            pt.layer.features.len()
        );
        let _ = writeln!(
            s,
            "[[facilities]]\ncategory = {}\ntitle = {}\nsource = {}",
            q(&cat),
            q(&title_of(&cat)),
            q(&rel(&pt.path, config_dir))
        );
        if let Some((f, _)) = &id {
            let _ = writeln!(s, "id_field = {}", q(f));
        }
        if let Some(n) = &name {
            let _ = writeln!(s, "name_field = {}", q(n));
        }
        if let Some(c) = cap {
            let _ = writeln!(s, "capacity_field = {}   # its name says places", q(c));
        }
        if pt.crs.is_none() {
            let _ = writeln!(s, "# crs = TODO");
        }
        s.push('\n');
        summary.push(format!("{}: facilities {cat:?}", name_of(&pt.path)));
    }
    s.push_str(&table_text);
    s.push_str(&indicators);
    if !additive.is_empty() {
        let _ = writeln!(s, "[disclosure]\nthreshold = 3\n");
        for (total, parts) in &additive {
            let list: Vec<String> = parts.iter().map(|p| q(p)).collect();
            let _ = writeln!(
                s,
                "# the age groups add up to the total: protect them against subtraction"
            );
            let _ = writeln!(
                s,
                "[[disclosure.additive]]\ntotal = {}\nparts = [{}]\n",
                q(total),
                list.join(", ")
            );
        }
    }
    let _ = writeln!(
        s,
        "# Gebietsstände (drafts, other definitions) are kept in this GeoPackage beside the config."
    );
    let _ = writeln!(
        s,
        "[store]\npath = {}",
        q(&format!("{}.gpkg", slug(&title)))
    );
    Ok(Proposal {
        toml: s,
        summary,
        undecided,
    })
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn title_of(key: &str) -> String {
    let mut c = key.replace('_', " ");
    if let Some(f) = c.get_mut(0..1) {
        f.make_ascii_uppercase();
    }
    c
}

/// A proposed `[[table]]`.
struct TableProposal {
    name: String,
    toml: String,
    summary: Vec<String>,
    undecided: Vec<String>,
    mapping: Option<PathBuf>,
    additive: Vec<(String, Vec<String>)>,
    indicators: String,
}

fn propose_table(
    p: &Path,
    polys: &[PolyLayer],
    mappings: &[(PathBuf, HashMap<String, String>, usize)],
    config_dir: &Path,
    count_names: &mut HashSet<String>,
) -> Result<Option<TableProposal>, String> {
    let t = CsvTable::open(p, &Default::default()).map_err(|e| e.to_string())?;
    let mut diags = Vec::new();
    let rows = t.rows(&mut diags).map_err(|e| e.to_string())?;
    if rows.is_empty() {
        return Err("no data rows".into());
    }
    let nrows = rows.len();
    let col = |c: usize| rows.iter().map(move |(_, r)| r[c].trim());
    let mut summary = Vec::new();
    let mut undecided = Vec::new();
    let file = name_of(p);
    // Key: the column whose values best match a level's ids or names.
    let mut best: Option<KeyMatch> = None;
    for c in 0..t.headers.len() {
        let distinct: BTreeSet<&str> = col(c).filter(|v| !v.is_empty()).collect();
        if distinct.is_empty() {
            continue;
        }
        for (li, l) in polys.iter().enumerate() {
            let ids: HashSet<&str> = l.ids.iter().map(String::as_str).collect();
            let names: HashSet<String> = l.names.iter().map(|n| normalize_name(n)).collect();
            for by_name in [false, true] {
                let hit = |v: &str| {
                    if by_name {
                        names.contains(&normalize_name(v))
                    } else {
                        ids.contains(v)
                    }
                };
                let matched = distinct.iter().filter(|v| hit(v)).count();
                if matched == 0 {
                    continue;
                }
                // Most areas covered wins; then the finer level; ids before names.
                let better = best.as_ref().is_none_or(|b| {
                    (matched * 1000 / l.ids.len().max(1), !by_name)
                        > (
                            b.matched * 1000 / polys[b.level].ids.len().max(1),
                            !b.by_name,
                        )
                });
                if better {
                    best = Some(KeyMatch {
                        column: c,
                        level: li,
                        by_name,
                        matched,
                        unmatched: distinct
                            .iter()
                            .filter(|v| !hit(v))
                            .map(|v| v.to_string())
                            .collect(),
                    });
                }
            }
        }
    }
    let Some(key) = best else { return Ok(None) };
    let level = &polys[key.level];
    let mut mapping = None;
    if !key.unmatched.is_empty() {
        for (mp, m, li) in mappings {
            if *li == key.level && key.unmatched.iter().any(|u| m.contains_key(u)) {
                mapping = Some(mp.clone());
            }
        }
    }
    summary.push(format!(
        "{file}: key {:?} matches {} of {} {} of level {} by {}{}",
        t.headers[key.column],
        key.matched,
        level.ids.len(),
        if key.by_name { "names" } else { "ids" },
        level.key,
        if key.by_name { "name" } else { "id" },
        if key.unmatched.is_empty() {
            String::new()
        } else {
            format!(
                "; {} key(s) match none ({})",
                key.unmatched.len(),
                key.unmatched
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    ));
    // Columns determined by the key (the area's name in another column): not data.
    let dependent = |c: usize| -> bool {
        let mut m: HashMap<&str, &str> = HashMap::new();
        rows.iter().all(|(_, r)| {
            let k = r[key.column].trim();
            let v = r[c].trim();
            *m.entry(k).or_insert(v) == v
        })
    };
    // Dates and years.
    let mut date_col = None;
    let mut year_col = None;
    let mut fixed_year: Option<(i32, String)> = None;
    for c in (0..t.headers.len()).filter(|&c| c != key.column) {
        let vals: Vec<&str> = col(c).collect();
        if vals.iter().all(|v| parse_date(v).is_some()) {
            date_col = Some(c);
            break;
        }
        let h = t.headers[c].to_lowercase();
        if vals
            .iter()
            .all(|v| v.parse::<i32>().is_ok() && parse_year(v).is_some())
            && (h.contains("jahr")
                || h.contains("year")
                || vals.iter().collect::<BTreeSet<_>>().len() > 1)
            && !dependent(c)
        {
            year_col = Some(c);
            break;
        }
        // A constant period like 202012 (MSS): YYYYMM.
        let distinct: BTreeSet<&&str> = vals.iter().collect();
        if distinct.len() == 1
            && (h.contains("zeit")
                || h.contains("jahr")
                || h.contains("stand")
                || h.contains("period"))
            && let Some(v) = distinct.iter().next()
            && v.len() == 6
            && let Ok(ym) = v.parse::<i32>()
            && (1990..=2100).contains(&(ym / 100))
        {
            fixed_year = Some((
                ym / 100,
                format!(
                    "column {:?} holds {v} (year {}, month {}) in every row",
                    t.headers[c],
                    ym / 100,
                    ym % 100
                ),
            ));
        }
    }
    // Wide: headers with a year.
    let templates: Vec<(usize, String, i32)> = (0..t.headers.len())
        .filter(|&c| c != key.column && Some(c) != date_col && Some(c) != year_col)
        .filter_map(|c| year_template(&t.headers[c]).map(|(tpl, y)| (c, tpl, y)))
        .filter(|(c, _, _)| col(*c).all(|v| !matches!(t.cell(v, &[]), Cell::NotANumber)))
        .collect();
    let wide = date_col.is_none() && year_col.is_none() && templates.len() >= 2;
    let mut toml = String::new();
    let _ = writeln!(
        toml,
        "# {file}: {nrows} rows; {}, delimiter {:?}, decimal {}",
        t.encoding,
        char::from(t.delimiter),
        match t.decimal {
            crate::table::Decimal::Comma => "comma",
            crate::table::Decimal::Point => "point",
            crate::table::Decimal::Detect => "point or comma",
        }
    );
    let _ = writeln!(
        toml,
        "[[table]]\nname = @NAME@\nlevel = {}\nsource = {}",
        q(&level.key),
        q(&rel(p, config_dir))
    );
    let _ = writeln!(
        toml,
        "id_field = {}   # matches {} of {} areas",
        q(&t.headers[key.column]),
        key.matched,
        level.ids.len()
    );
    if key.by_name {
        let _ = writeln!(
            toml,
            "match_by = \"name\"   # the key column holds the areas' names, not their ids"
        );
    }
    if let Some(m) = &mapping {
        let _ = writeln!(
            toml,
            "mapping = {}   # assigns the keys that match no name",
            q(&rel(m, config_dir))
        );
    }
    if !key.unmatched.is_empty() {
        let still: Vec<&String> = key
            .unmatched
            .iter()
            .filter(|u| {
                !mappings
                    .iter()
                    .any(|(mp, m, _)| Some(mp) == mapping.as_ref() && m.contains_key(*u))
            })
            .collect();
        if !still.is_empty() {
            let _ = writeln!(
                toml,
                "# {} key(s) match no area and will be listed by `check`: {}",
                still.len(),
                still
                    .iter()
                    .take(5)
                    .map(|s| q(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    // Value columns.
    let mut labels: Vec<String> = Vec::new();
    let mut sources: Vec<Vec<usize>> = Vec::new();
    let mut thousands_dot = false;
    let mut markers: BTreeMap<String, usize> = BTreeMap::new();
    let mut sentinel: Option<String> = None;
    let classify = |c: usize, markers: &mut BTreeMap<String, usize>| -> Option<(bool, bool)> {
        // (only whole numbers, a dot between thousands): `1.234` with groups of three digits
        // after the dots is a thousands separator when no value in the column has real decimals.
        let grouped = |v: &str| {
            let parts: Vec<&str> = v.trim().split('.').collect();
            parts.len() >= 2
                && (1..=3).contains(&parts[0].trim_start_matches('-').len())
                && parts[1..]
                    .iter()
                    .all(|p| p.len() == 3 && p.bytes().all(|b| b.is_ascii_digit()))
        };
        let mut numbers = 0;
        let mut decimals = 0;
        let mut dots = 0;
        for v in col(c) {
            match t.cell(v, &[]) {
                Cell::Number(x) => {
                    numbers += 1;
                    if x.fract() != 0.0 {
                        if grouped(v) {
                            dots += 1;
                        } else {
                            decimals += 1;
                        }
                    }
                }
                Cell::Marker(m) => *markers.entry(m).or_default() += 1,
                Cell::Empty => {}
                Cell::NotANumber => return None,
            }
        }
        (numbers > 0).then_some((decimals == 0, dots > 0 && decimals == 0))
    };
    let id_like = |h: &str| {
        let l = h.to_lowercase();
        [
            "id", "schl", "code", "nr", "zeit", "jahr", "year", "period", "plz", "ags", "kennz",
        ]
        .iter()
        .any(|k| {
            l == *k
                || l.ends_with(&format!("_{k}"))
                || l.starts_with(&format!("{k}_"))
                || l.contains("schlüssel")
        })
    };
    let mut variable: Option<(usize, usize)> = None;
    if wide {
        let tpls: Vec<&str> = templates.iter().map(|(_, s, _)| s.as_str()).collect();
        let distinct: BTreeSet<&str> = tpls.iter().copied().collect();
        let pattern = if distinct.len() == 1 {
            tpls[0].to_string()
        } else {
            let v: Vec<&str> = distinct.iter().copied().collect();
            let (pre, suf) = (common_prefix(&v), common_suffix(&v));
            format!("{pre}{{column}}{suf}")
        };
        let years: BTreeSet<i32> = templates.iter().map(|t| t.2).collect();
        let _ = writeln!(
            toml,
            "wide = {}   # a column per year: {} years, {}–{}",
            q(&pattern),
            years.len(),
            years.first().unwrap_or(&0),
            years.last().unwrap_or(&0)
        );
        summary.push(format!("{file}: wide layout {pattern:?}"));
        if distinct.len() == 1 {
            let base = stem(p).to_lowercase();
            let n = if [
                "bevoelkerung",
                "bevölkerung",
                "einwohner",
                "population",
                "ew",
            ]
            .iter()
            .any(|w| base.contains(w))
            {
                "residents".to_string()
            } else {
                key_of(p)
            };
            labels.push(n);
            sources.push(templates.iter().map(|t| t.0).collect());
        } else {
            let (pre, suf) = {
                let v: Vec<&str> = distinct.iter().copied().collect();
                (common_prefix(&v), common_suffix(&v))
            };
            let mut parts: Vec<String> = Vec::new();
            for (c, tpl, _) in &templates {
                let part = tpl[pre.len()..tpl.len() - suf.len()].trim().to_string();
                match parts.iter().position(|x| *x == part) {
                    Some(i) => sources[i].push(*c),
                    None => {
                        parts.push(part);
                        sources.push(vec![*c]);
                    }
                }
            }
            labels = parts;
        }
    } else {
        // One row per area, year and variable?
        if date_col.is_some() || year_col.is_some() {
            let yc = date_col.or(year_col).unwrap_or_default();
            for vc in (0..t.headers.len()).filter(|&c| c != key.column && c != yc) {
                let distinct: HashSet<&str> = col(vc).collect();
                if distinct.len() < 2
                    || distinct.len() > 100
                    || dependent(vc)
                    || classify(vc, &mut BTreeMap::new()).is_some()
                {
                    continue;
                }
                let unique = {
                    let mut s = HashSet::new();
                    rows.iter()
                        .all(|(_, r)| s.insert((r[key.column].trim(), r[yc].trim(), r[vc].trim())))
                };
                let numeric: Vec<usize> = (0..t.headers.len())
                    .filter(|&c| c != key.column && c != yc && c != vc && !dependent(c))
                    .filter(|&c| classify(c, &mut BTreeMap::new()).is_some())
                    .collect();
                if unique && numeric.len() == 1 {
                    variable = Some((vc, numeric[0]));
                    break;
                }
            }
        }
        if let Some((vc, valc)) = variable {
            let _ = writeln!(
                toml,
                "variable_field = {}   # one row per area, year and variable",
                q(&t.headers[vc])
            );
            let _ = writeln!(toml, "value_field = {}", q(&t.headers[valc]));
            let mut seen = Vec::new();
            for v in col(vc) {
                if !seen.iter().any(|s: &String| s == v) {
                    seen.push(v.to_string());
                }
            }
            labels = seen;
            sources = vec![vec![valc]; labels.len()];
        } else {
            for c in 0..t.headers.len() {
                if c == key.column
                    || Some(c) == date_col
                    || Some(c) == year_col
                    || id_like(&t.headers[c])
                    || dependent(c) && classify(c, &mut BTreeMap::new()).is_none()
                {
                    continue;
                }
                if classify(c, &mut BTreeMap::new()).is_some() {
                    labels.push(t.headers[c].clone());
                    sources.push(vec![c]);
                }
            }
        }
    }
    if let Some(dc) = date_col {
        let days: BTreeSet<(u32, u32)> = col(dc)
            .filter_map(parse_date)
            .map(|(_, m, d)| (m, d))
            .collect();
        let st = if days.contains(&(12, 31)) {
            (12, 31)
        } else {
            *days.iter().next_back().unwrap_or(&(12, 31))
        };
        let _ = writeln!(
            toml,
            "date_field = {}   # dates in every row",
            q(&t.headers[dc])
        );
        let _ = writeln!(
            toml,
            "stichtag = \"{:02}-{:02}\"   # {}",
            st.0,
            st.1,
            if days.len() > 1 {
                format!(
                    "the file has {} Stichtage a year ({}); the rows of {:02}.{:02}. are used",
                    days.len(),
                    days.iter()
                        .map(|(m, d)| format!("{d:02}.{m:02}."))
                        .collect::<Vec<_>>()
                        .join(", "),
                    st.1,
                    st.0
                )
            } else {
                "the only Stichtag in the file".into()
            }
        );
    } else if let Some(yc) = year_col {
        let _ = writeln!(
            toml,
            "year_field = {}   # years in every row",
            q(&t.headers[yc])
        );
    } else if !wide {
        match &fixed_year {
            Some((y, why)) => {
                let _ = writeln!(toml, "year = {y}   # {why}");
            }
            None => {
                let from_name = year_template(&stem(p)).map(|(_, y)| y);
                match from_name {
                    Some(y) => {
                        let _ = writeln!(
                            toml,
                            "year = {y}   # from the file name — check it (tables often name the year of publication, not of the data)"
                        );
                        undecided.push(format!(
                            "{file}: the year {y} is taken from the file name; check it"
                        ));
                    }
                    None => {
                        let _ = writeln!(
                            toml,
                            "year = 2024   # TODO: the file says nothing about its year"
                        );
                        undecided.push(format!("{file}: no year in the rows, the headers or the file name (TODO in the file)"));
                    }
                }
            }
        }
    }
    // Counts and rates per output column.
    let names = output_names(&labels);
    let mut counts: Vec<String> = Vec::new();
    let mut columns: Vec<(String, String)> = Vec::new();
    for ((label, name), srcs) in labels.iter().zip(&names).zip(&sources) {
        let mut whole = true;
        let mut dot = false;
        let mut values: Vec<f64> = Vec::new();
        for &c in srcs {
            match classify(c, &mut markers) {
                Some((w, d)) => {
                    whole &= w;
                    dot |= d;
                }
                None => whole = false,
            }
            values.extend(col(c).filter_map(|v| t.parse_f64(v).ok().flatten()));
        }
        if variable.is_some() {
            // Values of this variable only.
            let (vc, valc) = variable.unwrap_or_default();
            values = rows
                .iter()
                .filter(|(_, r)| r[vc].trim() == label)
                .filter_map(|(_, r)| t.parse_f64(&r[valc]).ok().flatten())
                .collect();
            whole = values.iter().all(|v| v.fract() == 0.0) || dot;
        }
        thousands_dot |= dot;
        // A sentinel such as -9999 marks "invalid" in some tables.
        for v in &values {
            if *v <= -999.0 && values.iter().filter(|x| *x == v).count() >= 2 {
                sentinel = Some(format!("{v}"));
            }
        }
        let lower = label.to_lowercase();
        let rate_name = [
            "anteil",
            "quote",
            "%",
            "pct",
            "percentage",
            "rate",
            "dichte",
            "share",
            "_s",
            "index",
        ]
        .iter()
        .any(|k| lower.contains(k))
            || (label.len() <= 3
                && label.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && label.chars().skip(1).all(|c| c.is_ascii_digit()));
        let is_count = whole
            && !rate_name
            && values
                .iter()
                .all(|v| *v >= 0.0 || sentinel.as_deref() == Some(&format!("{v}")));
        let mut out = name.clone();
        if is_count && !count_names.insert(out.clone()) {
            out = format!("{}_{}", key_of(p), out);
            count_names.insert(out.clone());
        }
        if is_count {
            counts.push(out.clone());
        }
        columns.push((out, label.clone()));
    }
    if columns.is_empty() {
        return Err("no column with numbers besides the key".into());
    }
    let cols: Vec<String> = columns
        .iter()
        .map(|(n, l)| format!("{} = {}", toml_key(n), q(l)))
        .collect();
    let _ = writeln!(toml, "columns = {{ {} }}", cols.join(", "));
    if !counts.is_empty() {
        let list: Vec<String> = counts.iter().map(|c| q(c)).collect();
        let _ = writeln!(
            toml,
            "counts = [{}]   # whole numbers: counts, summed up to coarser levels",
            list.join(", ")
        );
    }
    let rates: Vec<&String> = columns
        .iter()
        .map(|(n, _)| n)
        .filter(|n| !counts.contains(n))
        .collect();
    if !rates.is_empty() {
        let _ = writeln!(
            toml,
            "# rates or other values (no value on coarser levels unless weighted: weights = {{ {} = \"a count column\" }}): {}",
            rates[0],
            rates
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(sv) = &sentinel {
        let _ = writeln!(
            toml,
            "missing = [{}]   # a value that occurs several times and cannot be a number of people",
            q(sv)
        );
    }
    let mut csv_opts: Vec<String> = Vec::new();
    if t.delimiter != b',' {
        csv_opts.push(format!(
            "delimiter = {}",
            q(&char::from(t.delimiter).to_string())
        ));
    }
    if t.encoding != "UTF-8" {
        csv_opts.push(format!("encoding = {}", q(&t.encoding.to_lowercase())));
    }
    if thousands_dot {
        csv_opts.push("thousands = \".\"".into());
    }
    if !csv_opts.is_empty() {
        let _ = writeln!(toml, "csv = {{ {} }}", csv_opts.join(", "));
    }
    if !markers.is_empty() {
        let _ = writeln!(
            toml,
            "# cells without a value: {}",
            markers
                .iter()
                .map(|(m, n)| format!("{n} × {m:?} ({})", crate::table::marker_meaning(m)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    toml.push('\n');
    // Additive age groups and share indicators of a total.
    let mut additive = Vec::new();
    let mut indicators = String::new();
    let ages = [
        "age_below_6",
        "age_6_15",
        "age_15_18",
        "age_18_27",
        "age_27_45",
        "age_45_55",
        "age_55_65",
        "age_above_65",
    ];
    if counts.iter().any(|c| c == "residents") {
        if ages.iter().all(|a| counts.iter().any(|c| c == a)) {
            additive.push((
                "residents".to_string(),
                ages.iter().map(|s| s.to_string()).collect(),
            ));
        }
        for c in counts.iter().filter(|c| *c != "residents") {
            let _ = writeln!(
                indicators,
                "[[indicator]]\nid = {}\ntitle = {}\nkind = \"share\"\nnumerator = {}\ndenominator = \"residents\"\npolarity = \"neutral\"\n",
                q(&format!("anteil_{c}")),
                q(&format!(
                    "Anteil {}",
                    columns
                        .iter()
                        .find(|(n, _)| n == c)
                        .map_or(c.as_str(), |(_, l)| l.as_str())
                )),
                q(c)
            );
        }
    }
    Ok(Some(TableProposal {
        name: key_of(p),
        toml,
        summary,
        undecided,
        mapping,
        additive,
        indicators,
    }))
}

/// A TOML key: bare when it can be, quoted otherwise.
fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        q(k)
    }
}
