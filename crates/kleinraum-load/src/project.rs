//! A whole project: every source the config names, read, checked and reprojected into the
//! domain types of `kleinraum_aggregate::model`.
//!
//! Fatal problems (a missing file, a missing column, no CRS) are `LoadError`s. Row-level
//! problems (a bad coordinate, a duplicate id, a join key without a point) are collected as
//! [`Diagnostic`]s: `kleinraum check` lists them, [`load_project_strict`] refuses to go on.
//! Nothing is dropped without a diagnostic.

use crate::areatable::TableInfo;
use crate::config::{
    CountSource, FacilitySource, LevelSource, PointSource, ProjectConfig, WeightsSource, is_csv,
};
use crate::crs::{Crs, Reprojector, check_area_of_use, check_area_of_use_par};
use crate::error::{Diagnostic, LoadError};
use crate::features::{PropValue, RawLayer, read_layer};
use crate::repair::Repair;
use crate::table::{CsvTable, NotANumber, PlainRow, parse_count};
use geo::{Geometry, MultiPolygon};
use kleinraum_aggregate::aggregate::AreaLocator;
use kleinraum_aggregate::model::{
    Area, CountColumn, Dataset, FacilityLayer, Level, PointKeys, PointLayer, WeightLayer,
    Weighting, plain_int,
};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// What loading found besides the data.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LoadReport {
    /// Rows and features that could not be read (each blocks use: `check` exits with 1,
    /// `aggregate` and `serve` refuse).
    pub diagnostics: Vec<Diagnostic>,
    /// Per `[[table]]` entry: rows used, years, markers, keys that match no area.
    pub tables: Vec<TableInfo>,
    /// Areas made valid on request (`repair = true`).
    pub repairs: Vec<Repair>,
    /// Each geometry source and the CRS it was read in (`EPSG:25832`, `WKT "…"`).
    pub crs: Vec<(String, String)>,
    /// Wall time of each loading stage, for `aggregate --timings`.
    #[serde(skip)]
    pub stages: Vec<(&'static str, std::time::Duration)>,
}

impl LoadReport {
    /// The lines every command prints about what was loaded and repaired, and what is not
    /// used (tables: keys that match no area, rows of another Stichtag, cells without a
    /// value). The same lines in `check`, `aggregate` and `serve`.
    pub fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.repairs {
            out.push(format!("repaired (level {}): {}", r.level, r.describe()));
        }
        for t in &self.tables {
            out.extend(table_notes(t));
        }
        out
    }
}

/// The notes of one table (see [`LoadReport::notes`]).
pub fn table_notes(t: &TableInfo) -> Vec<String> {
    let mut out = Vec::new();
    if !t.unmatched.is_empty() {
        out.push(format!(
            "table {}: {} key(s) match no area of level {} and are not used: {}",
            t.name,
            t.unmatched.len(),
            t.level,
            t.unmatched
                .iter()
                .map(|(k, line)| format!("{k:?} (line {line})"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if t.other_stichtag > 0 {
        out.push(format!(
            "table {}: {} row(s) on another day than the Stichtag {} are not used (stichtag = …)",
            t.name,
            t.other_stichtag,
            t.stichtag.as_deref().unwrap_or("31.12.")
        ));
    }
    for (m, meaning, n) in &t.markers {
        out.push(format!(
            "table {}: {n} cell(s) marked {m:?} ({meaning}) have no value",
            t.name
        ));
    }
    out
}

/// Everything a config names, loaded.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The engine's input.
    pub dataset: Dataset,
    /// The configured weight layer (`[weights]`), for estimates without address points.
    pub weights: Option<WeightLayer>,
    /// The base level's polygon index, built while the points were read (`None` without
    /// points, or when the base level cannot be indexed: the engine then says why).
    pub base_locator: Option<AreaLocator>,
    /// The order a join visits the points in ([`coarse_morton_order`]), computed beside the
    /// index build when the base level is indexed and the points are left in file order.
    ///
    /// [`coarse_morton_order`]: kleinraum_aggregate::spatial::coarse_morton_order
    pub point_order: Option<Vec<u32>>,
    /// What loading found.
    pub report: LoadReport,
}

/// Loads everything the config names. Row-level problems go to `diags`; the dataset holds every
/// row that could be read.
pub fn load_project(
    cfg: &ProjectConfig,
    diags: &mut Vec<Diagnostic>,
) -> Result<Dataset, LoadError> {
    let l = load_all(cfg)?;
    diags.extend(l.report.diagnostics);
    Ok(l.dataset)
}

impl Loaded {
    /// The base level's area for every address point ([`OUTSIDE`] for none): through the
    /// index built while loading, or one built now when there is none (the engine's error
    /// then says why the level cannot be indexed).
    ///
    /// [`OUTSIDE`]: kleinraum_aggregate::spatial::OUTSIDE
    pub fn assign_base_points(
        &self,
    ) -> Result<Vec<u32>, kleinraum_aggregate::aggregate::EngineError> {
        let pts = &self.dataset.points;
        match (&self.base_locator, self.dataset.levels.first()) {
            (Some(l), _) => l.assign_layer_in(pts, self.point_order.as_deref()),
            (None, Some(base)) => AreaLocator::new(&base.areas, &base.key)?.assign_layer(pts),
            // The config has at least one level; nothing to join without one.
            (None, None) => Ok(vec![kleinraum_aggregate::spatial::OUTSIDE; pts.len()]),
        }
    }
}

/// What the loader prepares beyond the data, for what the caller does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prepare {
    /// Build the base level's polygon index while the points are read (the caller joins
    /// them): [`Loaded::base_locator`].
    pub base_index: bool,
    /// Put the points in Morton order ([`PointLayer::in_spatial_order`]): for callers that
    /// join them many times (a server, the Gebietsstände). A single join visits them in that
    /// order through a permutation instead, without moving every column.
    pub spatial_order: bool,
}

impl Prepare {
    /// Both: a server or the Gebietsstände (the points are joined again on every redefinition).
    pub const MANY_JOINS: Prepare = Prepare {
        base_index: true,
        spatial_order: true,
    };
    /// The index, not the order: a single run of the engine (`kleinraum aggregate`).
    pub const ONE_JOIN: Prepare = Prepare {
        base_index: true,
        spatial_order: false,
    };
}

/// Loads everything the config names, with the report of what was found (points in Morton
/// order, the base level indexed: [`Prepare::MANY_JOINS`]).
pub fn load_all(cfg: &ProjectConfig) -> Result<Loaded, LoadError> {
    load_all_with(cfg, Prepare::MANY_JOINS)
}

/// [`load_all`], preparing what `prep` asks for.
pub fn load_all_with(cfg: &ProjectConfig, prep: Prepare) -> Result<Loaded, LoadError> {
    let w = cfg.working_crs;
    let mut report = LoadReport::default();
    let mut stages = Vec::new();
    // Levels (then the base level's polygon index) and points are independent: read on both
    // sides at once, so the index is built while the points are still being parsed.
    let LoadReport {
        diagnostics: level_diags,
        repairs,
        crs: crs_report,
        ..
    } = &mut report;
    let (levels_side, points_side) = rayon::join(
        || -> Result<_, LoadError> {
            let t = std::time::Instant::now();
            let mut levels: Vec<Level> = Vec::with_capacity(cfg.levels.len());
            for src in &cfg.levels {
                let level =
                    load_level_report(src, w, levels.last(), level_diags, repairs, crs_report)?;
                levels.push(level);
            }
            check_hierarchy(cfg, &levels, level_diags);
            let t_levels = t.elapsed();
            // Only a dataset with points is joined; a base level without geometry leaves it to
            // the engine to report.
            let t = std::time::Instant::now();
            let locator = match (&cfg.points, levels.first()) {
                (Some(_), Some(base)) if prep.base_index => {
                    AreaLocator::new(&base.areas, &base.key).ok()
                }
                _ => None,
            };
            let t_index = t.elapsed();
            // The rest is small and also independent of the points: read here too. Its error
            // waits until the points' is known, so the first failing file is reported as
            // before.
            let t = std::time::Instant::now();
            let extras = load_extras(cfg, &levels);
            Ok((levels, locator, t_levels, t_index, (extras, t.elapsed())))
        },
        || -> Result<_, LoadError> {
            let mut diags = Vec::new();
            let t = std::time::Instant::now();
            let mut points = match &cfg.points {
                Some(p) => load_points(p, w, &mut diags)?,
                None => PointLayer::default(),
            };
            let t_points = t.elapsed();
            // The dataset keeps its points in Morton order: they outlive many boundary
            // definitions, and each spatial join over neighbouring points runs several times
            // faster (locality).
            let t = std::time::Instant::now();
            let mut visit = None;
            if prep.spatial_order {
                let order = kleinraum_aggregate::spatial::morton_order(&points.x, &points.y);
                points.reorder(&order);
                points.in_spatial_order = true;
            } else if prep.base_index && !points.is_empty() {
                // While the other side still builds the index: the join then starts at once.
                let (x, y) = (&points.x, &points.y);
                visit = Some(kleinraum_aggregate::spatial::coarse_morton_order(x, y));
            }
            Ok((points, visit, diags, t_points, t.elapsed()))
        },
    );
    let (levels, base_locator, t_levels, t_index, (extras, t_extras)) = levels_side?;
    let (points, point_order, point_diags, t_points, t_order) = points_side?;
    let Extras {
        facilities,
        tables,
        table_info,
        weights,
        diags: extra_diags,
    } = extras?;
    let diags = &mut report.diagnostics;
    diags.extend(point_diags);
    diags.extend(extra_diags);
    report.tables.extend(table_info);
    stages.push(("load: levels (read, reproject, validate)", t_levels));
    stages.push(("load: base level index (beside the points)", t_index));
    stages.push(("load: points and joined counts", t_points));
    if prep.spatial_order {
        stages.push(("load: points in Morton order", t_order));
    } else if point_order.is_some() {
        stages.push(("load: points' visiting order (beside the index)", t_order));
    }
    stages.push((
        "load: facilities, tables, weights (beside the points)",
        t_extras,
    ));
    report.stages = stages;
    Ok(Loaded {
        dataset: Dataset {
            working_epsg: w,
            levels,
            points,
            facilities,
            tables,
        },
        weights,
        base_locator,
        point_order,
        report,
    })
}

/// What a project has besides levels and points.
struct Extras {
    facilities: Vec<FacilityLayer>,
    tables: Vec<kleinraum_aggregate::model::AreaTable>,
    table_info: Vec<TableInfo>,
    weights: Option<WeightLayer>,
    diags: Vec<Diagnostic>,
}

/// Facilities, area tables (entries sharing a name are one table, one file per year) and
/// weights.
fn load_extras(cfg: &ProjectConfig, levels: &[Level]) -> Result<Extras, LoadError> {
    let w = cfg.working_crs;
    let mut diags = Vec::new();
    let mut facilities = Vec::with_capacity(cfg.facilities.len());
    for f in &cfg.facilities {
        facilities.push(load_facilities(f, w, &mut diags)?);
    }
    let mut table_info = Vec::new();
    let mut groups: Vec<(String, Vec<crate::areatable::TablePart>)> = Vec::new();
    for t in &cfg.tables {
        let level = levels.iter().find(|l| l.key == t.level);
        let (table, info) = crate::areatable::load_table(t, level, &mut diags)?;
        let lines = info.row_lines.clone();
        table_info.push(info);
        let part = (table, t.source.clone(), lines);
        match groups.iter_mut().find(|(n, _)| *n == t.name) {
            Some((_, parts)) => parts.push(part),
            None => groups.push((t.name.clone(), vec![part])),
        }
    }
    let tables = groups
        .into_iter()
        .map(|(_, parts)| crate::areatable::merge(parts, &mut diags))
        .collect();
    let weights = match &cfg.weights {
        Some(ws) => Some(load_weights(ws, w, &mut diags)?),
        None => None,
    };
    Ok(Extras {
        facilities,
        tables,
        table_info,
        weights,
        diags,
    })
}

/// Like [`load_project`], but any row-level problem is an error (`LoadError::Rows`).
pub fn load_project_strict(cfg: &ProjectConfig) -> Result<Dataset, LoadError> {
    Ok(load_all_strict(cfg)?.dataset)
}

/// Like [`load_all`], but any row-level problem is an error (`LoadError::Rows`), exactly what
/// `check` calls blocking.
pub fn load_all_strict(cfg: &ProjectConfig) -> Result<Loaded, LoadError> {
    load_all_strict_with(cfg, Prepare::MANY_JOINS)
}

/// [`load_all_strict`], preparing what `prep` asks for.
pub fn load_all_strict_with(cfg: &ProjectConfig, prep: Prepare) -> Result<Loaded, LoadError> {
    let l = load_all_with(cfg, prep)?;
    match l.report.diagnostics.first() {
        None => Ok(l),
        Some(first) => {
            let mut shown = first.to_string();
            if l.report
                .diagnostics
                .iter()
                .any(|d| d.field == "geometry" && d.message.starts_with("area "))
            {
                shown.push_str(
                    " — invalid polygons can be made valid with `repair = true` on their level",
                );
            }
            Err(LoadError::Rows {
                path: first.path.clone().into(),
                count: l.report.diagnostics.len(),
                first: shown,
            })
        }
    }
}

fn crs_err(path: &str) -> impl Fn(String) -> LoadError + '_ {
    move |message| LoadError::Crs {
        path: path.into(),
        message,
    }
}

fn require_field(layer: &RawLayer, field: &str) -> Result<(), LoadError> {
    if layer.fields.iter().any(|f| f == field) {
        Ok(())
    } else {
        Err(LoadError::MissingField {
            path: layer.source.clone().into(),
            field: field.to_string(),
            available: layer.fields.join(", "),
        })
    }
}

fn text_of(props: &BTreeMap<String, PropValue>, field: &str) -> Option<String> {
    props
        .get(field)
        .and_then(PropValue::as_text)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn attributes(props: &BTreeMap<String, PropValue>) -> BTreeMap<String, String> {
    props
        .iter()
        .filter_map(|(k, v)| v.as_text().map(|t| (k.clone(), t)))
        .collect()
}

fn prefix(id: &str, n: usize) -> Option<String> {
    (id.chars().count() >= n).then(|| id.chars().take(n).collect())
}

/// Loads one hierarchy level. `finer` is the previous (finer) level, needed when this level has
/// no source and is derived from the finer level's parent ids.
pub fn load_level(
    src: &LevelSource,
    working_epsg: u32,
    finer: Option<&Level>,
    diags: &mut Vec<Diagnostic>,
) -> Result<Level, LoadError> {
    load_level_report(
        src,
        working_epsg,
        finer,
        diags,
        &mut Vec::new(),
        &mut Vec::new(),
    )
}

/// As [`load_level`], listing repaired areas in `repairs` and the CRS the source was read in.
pub fn load_level_report(
    src: &LevelSource,
    working_epsg: u32,
    finer: Option<&Level>,
    diags: &mut Vec<Diagnostic>,
    repairs: &mut Vec<Repair>,
    crs_used: &mut Vec<(String, String)>,
) -> Result<Level, LoadError> {
    let Some(source) = &src.source else {
        return Ok(derived_level(src, finer));
    };
    let layer = read_layer(source, src.layer.as_deref(), src.encoding.as_deref())?;
    if layer.features.is_empty() {
        return Err(LoadError::Format {
            path: source.into(),
            message: format!("level {:?}: the source has no features", src.key),
        });
    }
    require_field(&layer, &src.id_field)?;
    if let Some(f) = &src.name_field {
        require_field(&layer, f)?;
    }
    if let Some(f) = &src.parent_field {
        require_field(&layer, f)?;
    }
    let crs = layer
        .crs(src.crs.as_ref())
        .ok_or_else(|| LoadError::NoCrs {
            path: source.into(),
        })?;
    crs_used.push((source.clone(), crs.describe()));
    let reproj = Reprojector::from_crs(&crs, working_epsg).map_err(crs_err(source))?;

    let mut areas: Vec<Area> = Vec::with_capacity(layer.features.len());
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(layer.features.len());
    let diag = |row: usize, field: &str, value: &str, message: String| Diagnostic {
        path: source.clone(),
        row,
        field: field.to_string(),
        value: value.to_string(),
        message,
    };
    for (i, f) in layer.features.into_iter().enumerate() {
        let n = i + 1;
        let Some(id) = text_of(&f.props, &src.id_field) else {
            diags.push(diag(
                n,
                &src.id_field,
                "",
                "empty id; the feature is skipped".into(),
            ));
            continue;
        };
        if seen.contains_key(&id) && src.merge_duplicates {
            // One area in several features (e.g. a PLZ in two pieces): join the polygons.
            let mut mp = match f.geometry {
                Some(Geometry::Polygon(p)) => MultiPolygon(vec![p]),
                Some(Geometry::MultiPolygon(mp)) => mp,
                other => {
                    diags.push(diag(
                        n,
                        "geometry",
                        &id,
                        format!(
                            "area {id}: a further part must be a Polygon or MultiPolygon, found {}; the part is skipped",
                            other.as_ref().map_or("nothing", geometry_kind)
                        ),
                    ));
                    continue;
                }
            };
            reproj
                .transform_multipolygon(&mut mp)
                .map_err(|message| LoadError::Feature {
                    path: source.into(),
                    feature: format!("{n} (id {id})"),
                    field: "geometry".into(),
                    message,
                })?;
            if let Some(g) = areas
                .iter_mut()
                .find(|a| a.id == id)
                .and_then(|a| a.geometry.as_mut())
            {
                // A part identical to one already there adds nothing (plz_194.geojson has PLZ
                // 14193 twice with the same polygon); kept, it would cancel the area under the
                // crossing-number rule.
                for p in mp.0 {
                    if !g.0.contains(&p) {
                        g.0.push(p);
                    }
                }
            }
            continue;
        }
        if let Some(first) = seen.get(&id) {
            diags.push(diag(
                n,
                &src.id_field,
                &id,
                format!("duplicate id (first at feature {first}); the feature is skipped"),
            ));
            continue;
        }
        let mut mp: MultiPolygon<f64> = match f.geometry {
            Some(Geometry::Polygon(p)) => MultiPolygon(vec![p]),
            Some(Geometry::MultiPolygon(mp)) => mp,
            Some(other) => {
                diags.push(diag(
                    n,
                    "geometry",
                    &id,
                    format!(
                        "area {id}: expected a Polygon or MultiPolygon, found {}; the feature is skipped",
                        geometry_kind(&other)
                    ),
                ));
                continue;
            }
            None => {
                diags.push(diag(
                    n,
                    "geometry",
                    &id,
                    format!("area {id} has no geometry; the feature is skipped"),
                ));
                continue;
            }
        };
        reproj
            .transform_multipolygon(&mut mp)
            .map_err(|message| LoadError::Feature {
                path: source.into(),
                feature: format!("{n} (id {id})"),
                field: "geometry".into(),
                message,
            })?;
        let problems = crate::check::geometry_problems(&mp);
        if !problems.is_empty() && src.repair {
            let before = crate::repair::drawn_area(&mp);
            let (pb, hb) = crate::repair::parts_and_holes(&mp);
            match crate::repair::make_valid(&mp) {
                Ok(fixed) if crate::check::geometry_problems(&fixed).is_empty() => {
                    let (pa, ha) = crate::repair::parts_and_holes(&fixed);
                    repairs.push(Repair {
                        level: src.key.clone(),
                        source: source.clone(),
                        feature: n,
                        id: id.clone(),
                        problems: problems.iter().map(|p| p.message.clone()).collect(),
                        area_before_m2: before,
                        area_after_m2: crate::repair::drawn_area(&fixed),
                        parts_before: pb,
                        parts_after: pa,
                        holes_before: hb,
                        holes_after: ha,
                    });
                    mp = fixed;
                }
                Ok(fixed) => diags.push(diag(
                    n,
                    "geometry",
                    &id,
                    format!(
                        "area {id}: still invalid after repair: {}",
                        crate::check::geometry_problems(&fixed)
                            .iter()
                            .map(|p| p.message.clone())
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                )),
                Err(e) => diags.push(diag(
                    n,
                    "geometry",
                    &id,
                    format!("area {id}: repair failed: {e}"),
                )),
            }
        } else {
            for p in problems {
                diags.push(diag(
                    n,
                    "geometry",
                    &format!("{:.1} {:.1}", p.x, p.y),
                    format!("area {id}: {}", p.message),
                ));
            }
        }
        let name = src
            .name_field
            .as_ref()
            .and_then(|nf| text_of(&f.props, nf))
            .unwrap_or_else(|| id.clone());
        let parent = if let Some(pf) = &src.parent_field {
            let p = text_of(&f.props, pf);
            if p.is_none() {
                diags.push(diag(n, pf, "", format!("area {id}: empty parent id")));
            }
            p
        } else if let Some(k) = src.parent_prefix {
            let p = prefix(&id, k);
            if p.is_none() {
                diags.push(diag(
                    n,
                    &src.id_field,
                    &id,
                    format!("id is shorter than parent_prefix = {k}"),
                ));
            }
            p
        } else {
            None
        };
        seen.insert(id.clone(), n);
        areas.push(Area {
            id,
            name,
            parent,
            geometry: Some(mp),
            attributes: attributes(&f.props),
        });
    }
    // Only the vertices not surely inside the area of use are gathered (in order; usually
    // none): a copy of all of them was 13 MB for 5,000 areas, grown by doubling.
    let doubtful: Vec<(f64, f64)> = areas
        .iter()
        .filter_map(|a| a.geometry.as_ref())
        .flat_map(|g| g.0.iter())
        .flat_map(|p| p.exterior().0.iter().map(|c| (c.x, c.y)))
        .filter(|&(x, y)| !crate::crs::surely_in_area_of_use(x, y))
        .collect();
    check_area_of_use_par(working_epsg, &crs, doubtful.len(), |i| doubtful[i])
        .map_err(crs_err(source))?;
    Ok(Level {
        key: src.key.clone(),
        title: src.title.clone(),
        areas,
    })
}

/// A level without a boundary source: one area per distinct parent id of the finer level,
/// ascending, named by its id, without geometry.
fn derived_level(src: &LevelSource, finer: Option<&Level>) -> Level {
    let ids: BTreeSet<&str> = finer
        .map(|f| f.areas.iter().filter_map(|a| a.parent.as_deref()).collect())
        .unwrap_or_default();
    let areas = ids
        .into_iter()
        .map(|id| Area {
            id: id.to_string(),
            name: id.to_string(),
            parent: src.parent_prefix.and_then(|k| prefix(id, k)),
            geometry: None,
            attributes: BTreeMap::new(),
        })
        .collect();
    Level {
        key: src.key.clone(),
        title: src.title.clone(),
        areas,
    }
}

/// Every parent id must exist on the next level.
fn check_hierarchy(cfg: &ProjectConfig, levels: &[Level], diags: &mut Vec<Diagnostic>) {
    for i in 0..levels.len().saturating_sub(1) {
        let coarser: std::collections::HashSet<&str> =
            levels[i + 1].areas.iter().map(|a| a.id.as_str()).collect();
        let src = &cfg.levels[i];
        for (n, a) in levels[i].areas.iter().enumerate() {
            if let Some(p) = &a.parent
                && !coarser.contains(p.as_str())
            {
                diags.push(Diagnostic {
                    path: src.source.clone().unwrap_or_default(),
                    row: n + 1,
                    field: src
                        .parent_field
                        .clone()
                        .unwrap_or_else(|| src.id_field.clone()),
                    value: p.clone(),
                    message: format!(
                        "area {}: parent {p:?} is not an area of level {:?}",
                        a.id,
                        levels[i + 1].key
                    ),
                });
            }
        }
    }
}

fn geometry_kind(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) => "Line",
        Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        Geometry::Rect(_) => "Rect",
        Geometry::Triangle(_) => "Triangle",
    }
}

/// The single point of a Point or one-point MultiPoint geometry.
fn single_point(g: &Option<Geometry<f64>>) -> Result<(f64, f64), String> {
    match g {
        Some(Geometry::Point(p)) => Ok((p.x(), p.y())),
        Some(Geometry::MultiPoint(mp)) if mp.0.len() == 1 => Ok((mp.0[0].x(), mp.0[0].y())),
        Some(Geometry::MultiPoint(mp)) => Err(format!(
            "expected one point, found a MultiPoint with {} points",
            mp.0.len()
        )),
        Some(other) => Err(format!("expected a Point, found {}", geometry_kind(other))),
        None => Err("no geometry".into()),
    }
}

/// Points as read, before the joins: coordinates in the source CRS.
struct PointsRead {
    x: Vec<f64>,
    y: Vec<f64>,
    keys: PointKeys,
    /// Line (CSV) or feature number (layers) of each point, for messages.
    rows: Lines,
    columns: Vec<CountColumn>,
    crs: Crs,
}

/// The line (or feature number) of each point, kept only where it does not follow from the
/// point before: nearly every file has one point per line, and a column of line numbers as
/// long as the points' was written for a message about a duplicate key.
#[derive(Debug, Default)]
struct Lines {
    /// (point, its line) where the line is not the previous point's plus one; the first
    /// point always.
    marks: Vec<(usize, usize)>,
}

impl Lines {
    /// Point `i` (the next after those noted) is on `line`.
    fn note(&mut self, i: usize, line: usize) {
        // The last mark gives the line every point since it is on.
        let follows = self
            .marks
            .last()
            .is_some_and(|&(p, l)| i > p && l.checked_add(i - p) == Some(line));
        if !follows {
            self.marks.push((i, line));
        }
    }

    /// The line of point `i`.
    fn of(&self, i: usize) -> usize {
        let k = self.marks.partition_point(|&(p, _)| p <= i);
        match k.checked_sub(1).and_then(|k| self.marks.get(k)) {
            Some(&(p, line)) => line + (i - p),
            None => 0,
        }
    }
}

/// Loads the address points, their own counts and every joined count file.
pub fn load_points(
    p: &PointSource,
    working_epsg: u32,
    diags: &mut Vec<Diagnostic>,
) -> Result<PointLayer, LoadError> {
    load_points_in_blocks(p, working_epsg, crate::blocks::BLOCK, diags)
}

/// [`load_points`] reading a CSV point file in blocks of about `block` bytes (the tests
/// split small files into many).
#[doc(hidden)]
pub fn load_points_in_blocks(
    p: &PointSource,
    working_epsg: u32,
    block: usize,
    diags: &mut Vec<Diagnostic>,
) -> Result<PointLayer, LoadError> {
    let pb = crate::progress::bar(1 + p.join.len() as u64, "loading points");
    // Decompress and decode every CSV file at once: the expensive part, and independent.
    let (main_table, join_tables) = rayon::join(
        || {
            is_csv(&p.source)
                .then(|| crate::blocks::CsvBlocks::open(Path::new(&p.source), &p.csv, block))
        },
        || {
            p.join
                .par_iter()
                .map(|j| CsvTable::open(Path::new(&j.source), &j.csv))
                .collect::<Vec<_>>()
        },
    );
    let read = match main_table {
        Some(t) => {
            let (first, rest) = t?;
            read_points_csv(p, first, rest, diags)?
        }
        None => read_points_layer(p, diags)?,
    };
    pb.inc(1);
    let PointsRead {
        mut x,
        mut y,
        keys,
        rows,
        mut columns,
        crs,
    } = read;
    let reproj = Reprojector::from_crs(&crs, working_epsg).map_err(crs_err(&p.source))?;
    reproj
        .transform_xy(&mut x, &mut y)
        .map_err(crs_err(&p.source))?;
    check_area_of_use_par(working_epsg, &crs, x.len(), |i| (x[i], y[i]))
        .map_err(crs_err(&p.source))?;

    // Key → point index. A duplicate key makes joins ambiguous: reported, the first one wins.
    // Without a file to join, the index only finds duplicates: integer keys are first checked
    // in a bitset (2 million keys: 250 KB, not an 8 MB table), and only a file with one builds
    // the index for its messages. That index of no keys is never asked: nothing is joined.
    let index = if p.join.is_empty() && KeyIndex::surely_distinct(&keys) {
        KeyIndex::Int(FxHashMap::default())
    } else {
        KeyIndex::build(&keys, |i, first| {
            diags.push(Diagnostic {
                path: p.source.clone(),
                row: rows.of(i),
                field: p.key.clone(),
                value: keys.get(i).unwrap_or_default().into_owned(),
                message: format!(
                    "duplicate key (first at {} {}); joins use the first",
                    if is_csv(&p.source) { "line" } else { "feature" },
                    rows.of(first)
                ),
            })
        })
    };
    let n = keys.len();
    let joined: Vec<JoinResult> = p
        .join
        .par_iter()
        .zip(join_tables)
        .map(|(j, t)| {
            let r = read_join(j, &t?, &keys, &index, n);
            pb.inc(1);
            r
        })
        .collect();
    let mut origin: HashMap<(String, i32), String> = columns
        .iter()
        .map(|c| ((c.name.clone(), c.year), p.source.clone()))
        .collect();
    for (j, r) in p.join.iter().zip(joined) {
        let (cols, d) = r?;
        diags.extend(d);
        for c in cols {
            if let Some(prev) = origin.insert((c.name.clone(), c.year), j.source.clone()) {
                return Err(LoadError::Format {
                    path: j.source.clone().into(),
                    message: format!(
                        "count column {:?} for year {} is already loaded from {prev}; give each year's file its own `year` or pick columns with `counts`",
                        c.name, c.year
                    ),
                });
            }
            columns.push(c);
        }
    }
    pb.finish_and_clear();
    Ok(PointLayer {
        x,
        y,
        keys,
        columns,
        in_spatial_order: false,
    })
}

/// The columns read from a point CSV.
struct PointColumns {
    x: Vec<f64>,
    y: Vec<f64>,
    keys: PointKeys,
    rows: Lines,
    values: Vec<Vec<u32>>,
}

impl PointColumns {
    /// Room for `n` more points. The first block's room is fresh zeroed memory that the chunks'
    /// first writes fault in, on all cores; later blocks' room is zeroed on all cores.
    fn grow(&mut self, n: usize) {
        use rayon::iter::repeat_n;
        let PointColumns { x, y, values, .. } = self;
        if x.capacity() == 0 {
            // One block (the whole file): zeroed pages straight from the system.
            (*x, *y) = (vec![0.0; n], vec![0.0; n]);
            values.iter_mut().for_each(|v| *v = vec![0; n]);
            return;
        }
        rayon::join(
            || {
                rayon::join(
                    || x.par_extend(repeat_n(0.0, n)),
                    || y.par_extend(repeat_n(0.0, n)),
                )
            },
            || values.iter_mut().for_each(|v| v.par_extend(repeat_n(0, n))),
        );
    }

    /// Capacity for `n` more points in every column, where the system grants it (a hint:
    /// without it the columns grow as they are filled).
    fn reserve(&mut self, n: usize) {
        let _ = self.x.try_reserve(n);
        let _ = self.y.try_reserve(n);
        self.values.iter_mut().for_each(|v| {
            let _ = v.try_reserve(n);
        });
        self.keys.reserve(n);
    }

    /// Points from `at` on, as disjoint room for chunks of `lines` points each.
    fn slots(&mut self, at: usize, lines: &[usize]) -> Vec<Slots<'_>> {
        let mut x = &mut self.x[at..];
        let mut y = &mut self.y[at..];
        let mut values: Vec<&mut [u32]> = self.values.iter_mut().map(|v| &mut v[at..]).collect();
        let mut out = Vec::with_capacity(lines.len());
        for &n in lines {
            let (hx, tx) = std::mem::take(&mut x).split_at_mut(n);
            let (hy, ty) = std::mem::take(&mut y).split_at_mut(n);
            let mut hv = Vec::with_capacity(values.len());
            for v in values.iter_mut() {
                let (h, t) = std::mem::take(v).split_at_mut(n);
                hv.push(h);
                *v = t;
            }
            (x, y) = (tx, ty);
            out.push(Slots {
                x: hx,
                y: hy,
                lines: Lines::default(),
                values: hv,
                keys: PointKeys::with_capacity(n),
                diags: Vec::new(),
                n: 0,
            });
        }
        out
    }

    /// Moves the `filled[k]` points written into chunk `k` of the room made at `at` (chunks of
    /// `lines[k]`) together, in order, and drops the rest of the room.
    fn close_gaps(&mut self, at: usize, lines: &[usize], filled: &[usize]) {
        let mut columns: Vec<&mut dyn Gaps> = vec![&mut self.x, &mut self.y];
        columns.extend(self.values.iter_mut().map(|v| v as &mut dyn Gaps));
        columns
            .into_par_iter()
            .for_each(|c| c.close(at, lines, filled));
    }
}

/// A column whose chunks of room are moved together ([`PointColumns::close_gaps`]).
trait Gaps: Send {
    fn close(&mut self, at: usize, lines: &[usize], filled: &[usize]);
}

impl<T: Copy + Send> Gaps for Vec<T> {
    fn close(&mut self, at: usize, lines: &[usize], filled: &[usize]) {
        let (mut src, mut dst) = (at, at);
        for (&room, &n) in lines.iter().zip(filled) {
            if src != dst {
                self.copy_within(src..src + n, dst);
            }
            src += room;
            dst += n;
        }
        self.truncate(dst);
    }
}

/// Where the rows of a point CSV go: [`Slots`] made for a chunk before it is parsed, or the
/// columns themselves for the sequential reader (a file with irregular quoting, whose rows are
/// not counted beforehand).
trait PointSink {
    fn diags(&mut self) -> &mut Vec<Diagnostic>;
    /// A point; its counts follow, column by column.
    fn point(&mut self, x: f64, y: f64, key: &str, line: usize);
    fn count(&mut self, column: usize, value: u32);
}

/// Room for the points of one chunk, `n` of them written.
struct Slots<'a> {
    x: &'a mut [f64],
    y: &'a mut [f64],
    /// The lines of the chunk's points (point numbers within the chunk).
    lines: Lines,
    values: Vec<&'a mut [u32]>,
    keys: PointKeys,
    diags: Vec<Diagnostic>,
    n: usize,
}

impl PointSink for Slots<'_> {
    fn diags(&mut self) -> &mut Vec<Diagnostic> {
        &mut self.diags
    }
    fn point(&mut self, x: f64, y: f64, key: &str, line: usize) {
        // A chunk has no more rows than lines (RowChunks).
        self.x[self.n] = x;
        self.y[self.n] = y;
        self.lines.note(self.n, line);
        self.keys.push(key);
        self.n += 1;
    }
    fn count(&mut self, column: usize, value: u32) {
        self.values[column][self.n - 1] = value;
    }
}

impl Slots<'_> {
    /// [`PointSink::point`] with a key written as a plain integer, given as its value.
    fn point_int(&mut self, x: f64, y: f64, key: u64, line: usize) {
        self.x[self.n] = x;
        self.y[self.n] = y;
        self.lines.note(self.n, line);
        self.keys.push_int(key);
        self.n += 1;
    }

    /// The counts of the last point, column by column.
    fn counts(&mut self, values: &[u32]) {
        let at = self.n - 1;
        for (column, &v) in self.values.iter_mut().zip(values) {
            column[at] = v;
        }
    }
}

/// The columns, appended to.
struct Push<'a> {
    columns: &'a mut PointColumns,
    diags: &'a mut Vec<Diagnostic>,
}

impl PointSink for Push<'_> {
    fn diags(&mut self) -> &mut Vec<Diagnostic> {
        self.diags
    }
    fn point(&mut self, x: f64, y: f64, key: &str, line: usize) {
        let c = &mut *self.columns;
        c.rows.note(c.x.len(), line);
        c.x.push(x);
        c.y.push(y);
        c.keys.push(key);
    }
    fn count(&mut self, column: usize, value: u32) {
        self.columns.values[column].push(value);
    }
}

/// The columns of a point CSV that are read, and their names for messages.
struct PointFields<'a> {
    p: &'a PointSource,
    key: usize,
    x: (usize, &'a str),
    y: (usize, &'a str),
    counts: Vec<usize>,
}

impl PointFields<'_> {
    /// One row: a point with its counts, or a diagnostic saying why the row is skipped.
    fn row(&self, t: &CsvTable, s: &mut impl PointSink, r: &crate::table::Row<'_>) {
        let key = crate::table::trim(r.text(self.key));
        if key.is_empty() {
            let d = t.diag(r.line, &self.p.key, "", "empty key; the row is skipped");
            s.diags().push(d);
            return;
        }
        let coord = |(col, name): (usize, &str), s: &mut _| {
            let v = r.text(col);
            let problem = match t.parse_f64(v) {
                Ok(Some(f)) => return Some(f),
                Ok(None) => "empty coordinate",
                Err(NotANumber) => "not a number",
            };
            let m = format!("point {key}: {problem}; the row is skipped");
            PointSink::diags(s).push(t.diag(r.line, name, v, m));
            None
        };
        let (Some(vx), Some(vy)) = (coord(self.x, s), coord(self.y, s)) else {
            return;
        };
        s.point(vx, vy, key, r.line);
        for (j, (&col, name)) in self.counts.iter().zip(&self.p.counts).enumerate() {
            let v = r.text(col);
            let n = parse_count(v).unwrap_or_else(|m| {
                let d = t.diag(r.line, name, v, format!("point {key}: {m}; counted as 0"));
                s.diags().push(d);
                0
            });
            s.count(j, n);
        }
    }

    /// [`PointFields::row`] for a plain row that needs no message (a key, both coordinates,
    /// every count a plain integer that fits); `false`, with nothing written, for any other.
    fn plain_row(&self, t: &CsvTable, s: &mut Slots<'_>, line: usize, r: &PlainRow<'_>) -> bool {
        let point = t.point_decimals();
        let coord = |col| match r.point_decimal(col) {
            Some(v) if point => Some(v),
            _ => t.parse_f64(r.text(col)).ok().flatten(),
        };
        let (Some(x), Some(y)) = (coord(self.x.0), coord(self.y.0)) else {
            return false;
        };
        // Every count read once, before anything is written.
        let mut counts = [0u32; 32];
        if self.counts.len() > counts.len() {
            return false;
        }
        for (v, &c) in counts.iter_mut().zip(&self.counts) {
            let Some(n) = r.count(c) else {
                return false;
            };
            *v = n;
        }
        match r.int(self.key) {
            Some(k) => s.point_int(x, y, k, line),
            None => {
                let key = crate::table::trim(r.text(self.key));
                if key.is_empty() {
                    return false;
                }
                s.point(x, y, key, line);
            }
        }
        s.counts(&counts[..self.counts.len()]);
        true
    }

    /// Reads the rows of block `t` into `columns` (their diagnostics to `row_diags`): on all
    /// cores, each chunk into room made for it beforehand, so no row is copied; a file with
    /// irregular quoting sequentially. Returns the diagnostics of rows with the wrong number
    /// of fields.
    fn block(
        &self,
        t: &CsvTable,
        later: usize,
        columns: &mut PointColumns,
        row_diags: &mut Vec<Diagnostic>,
    ) -> Result<Vec<Diagnostic>, LoadError> {
        let plan = t.row_chunks();
        let at = columns.x.len();
        let lines: usize = plan.lines().iter().sum();
        if later > 0 {
            // Room for the rest of the file too, guessed from this block's bytes per line: the
            // columns then grow in place instead of being copied block after block (a low
            // guess costs one reallocation, a high one address space only).
            columns.reserve(lines + lines.saturating_mul(later) / t.data_len().max(1) + 1024);
        }
        columns.grow(lines);
        let slots = columns.slots(at, plan.lines());
        if let Some((slots, structural)) = t.par_rows_plain_into(
            &plan,
            slots,
            &|s, line, r| self.plain_row(t, s, line, r),
            &|s, r| self.row(t, s, r),
        ) {
            let mut filled = Vec::with_capacity(slots.len());
            let mut keys = Vec::with_capacity(slots.len());
            let mut marks = Vec::new();
            let mut first = at;
            for s in slots {
                filled.push(s.n);
                keys.push(s.keys);
                row_diags.extend(s.diags);
                // Each chunk's points follow the previous chunk's once the gaps are closed.
                marks.extend(s.lines.marks.into_iter().map(|(i, line)| (first + i, line)));
                first += s.n;
            }
            columns.rows.marks.append(&mut marks);
            columns.close_gaps(at, plan.lines(), &filled);
            keys.into_iter().for_each(|k| columns.keys.append(k));
            return Ok(structural);
        }
        // Not split after all: the room goes, and the rows are appended as they come.
        columns.close_gaps(at, &[], &[]);
        let mut structural = Vec::new();
        let mut sink = Push {
            columns,
            diags: row_diags,
        };
        t.for_each_row(&mut structural, |r| self.row(t, &mut sink, r))?;
        Ok(structural)
    }
}

fn read_points_csv(
    p: &PointSource,
    first: CsvTable,
    mut rest: crate::blocks::CsvBlocks,
    diags: &mut Vec<Diagnostic>,
) -> Result<PointsRead, LoadError> {
    let t = &first;
    let xname = p.x.as_deref().unwrap_or("x");
    let yname = p.y.as_deref().unwrap_or("y");
    let fields = PointFields {
        p,
        key: t.column(&p.key)?,
        x: (t.column(xname)?, xname),
        y: (t.column(yname)?, yname),
        counts: p
            .counts
            .iter()
            .map(|c| t.column(c))
            .collect::<Result<Vec<_>, _>>()?,
    };
    // Block by block (the file is never in memory whole); the next block is read and decoded
    // while this one is parsed, straight into the columns.
    let mut columns = PointColumns {
        x: Vec::new(),
        y: Vec::new(),
        keys: PointKeys::default(),
        rows: Lines::default(),
        values: vec![Vec::new(); fields.counts.len()],
    };
    let mut row_diags = Vec::new();
    let mut block = Some(first);
    while let Some(t) = block.take() {
        let later = rest.bytes_to_come();
        let (parsed, next) = rayon::join(
            || fields.block(&t, later, &mut columns, &mut row_diags),
            || rest.next_block(),
        );
        diags.extend(parsed?);
        rest.recycle(t);
        block = next?;
    }
    diags.extend(row_diags);
    let PointColumns {
        mut x,
        mut y,
        keys,
        rows,
        mut values,
    } = columns;
    x.shrink_to_fit();
    y.shrink_to_fit();
    values.iter_mut().for_each(Vec::shrink_to_fit);
    Ok(PointsRead {
        x,
        y,
        keys,
        rows,
        columns: p
            .counts
            .iter()
            .zip(values)
            .map(|(name, values)| CountColumn {
                name: name.clone(),
                year: p.year.unwrap_or(0),
                values,
            })
            .collect(),
        crs: p.crs.clone().unwrap_or(Crs::Epsg(0)),
    })
}

fn read_points_layer(
    p: &PointSource,
    diags: &mut Vec<Diagnostic>,
) -> Result<PointsRead, LoadError> {
    let layer = read_layer(&p.source, p.layer.as_deref(), None)?;
    require_field(&layer, &p.key)?;
    for c in &p.counts {
        require_field(&layer, c)?;
    }
    let crs = layer.crs(p.crs.as_ref()).ok_or_else(|| LoadError::NoCrs {
        path: p.source.clone().into(),
    })?;
    let year = p.year.unwrap_or(0);
    let mut out = PointsRead {
        x: Vec::new(),
        y: Vec::new(),
        keys: PointKeys::default(),
        rows: Lines::default(),
        columns: p
            .counts
            .iter()
            .map(|c| CountColumn {
                name: c.clone(),
                year,
                values: Vec::new(),
            })
            .collect(),
        crs,
    };
    let d = |row: usize, field: &str, value: String, message: String| Diagnostic {
        path: p.source.clone(),
        row,
        field: field.into(),
        value,
        message,
    };
    for (i, f) in layer.features.iter().enumerate() {
        let n = i + 1;
        let Some(key) = text_of(&f.props, &p.key) else {
            diags.push(d(
                n,
                &p.key,
                String::new(),
                "empty key; the feature is skipped".into(),
            ));
            continue;
        };
        let (x, y) = match single_point(&f.geometry) {
            Ok(xy) => xy,
            Err(m) => {
                diags.push(d(
                    n,
                    "geometry",
                    key.clone(),
                    format!("point {key}: {m}; the feature is skipped"),
                ));
                continue;
            }
        };
        out.rows.note(out.x.len(), n);
        out.x.push(x);
        out.y.push(y);
        for col in out.columns.iter_mut() {
            let v = f.props.get(&col.name).cloned().unwrap_or(PropValue::Null);
            let text = v.as_text().unwrap_or_default();
            let parsed = match v {
                PropValue::Int(i) if i >= 0 && i <= i64::from(u32::MAX) => Ok(i as u32),
                PropValue::Float(x) if x >= 0.0 && x.fract() == 0.0 && x <= f64::from(u32::MAX) => {
                    Ok(x as u32)
                }
                _ => parse_count(&text),
            };
            col.values.push(parsed.unwrap_or_else(|m| {
                diags.push(d(
                    n,
                    &col.name,
                    text.clone(),
                    format!("point {key}: {m}; counted as 0"),
                ));
                0
            }));
        }
        out.keys.push(&key);
    }
    Ok(out)
}

/// The count columns of one join file and its diagnostics.
type JoinResult = Result<(Vec<CountColumn>, Vec<Diagnostic>), LoadError>;

/// The smallest and largest of `ints` if they are few enough between them for a table with a
/// slot per value (at most four per key, plus a little): [`KeyIndex::Dense`].
fn dense_range<T: Copy + Into<u64>>(ints: &[T]) -> Option<(u64, u64)> {
    let (lo, hi) = ints.iter().fold((u64::MAX, 0), |(lo, hi), &v| {
        let v = v.into();
        (lo.min(v), hi.max(v))
    });
    (!ints.is_empty() && hi - lo < 4 * ints.len() as u64 + 1024).then_some((lo, hi))
}

/// Point keys → point index. Keys that are all plain integers (`17`, no sign, no leading zero)
/// are looked up as numbers, in a table where they are dense: no string is hashed. Any other
/// text matches no such key, exactly as when comparing text.
enum KeyIndex<'a> {
    /// `slots[key - base]` is the point index, or `u32::MAX`.
    Dense {
        base: u64,
        slots: Vec<u32>,
    },
    Int(FxHashMap<u64, u32>),
    Text(FxHashMap<&'a str, u32>),
}

impl<'a> KeyIndex<'a> {
    /// Indexes `keys`; `duplicate(i, first)` is called for each key `i` already seen at `first`
    /// (in key order; the first one wins).
    fn build(keys: &'a PointKeys, mut duplicate: impl FnMut(usize, usize)) -> KeyIndex<'a> {
        let n = keys.len();
        let mut insert = |slot: &mut u32, i: usize| {
            if *slot == u32::MAX {
                *slot = i as u32;
            } else {
                duplicate(i, *slot as usize);
            }
        };
        match keys {
            PointKeys::Small(ints) if !ints.is_empty() => Self::of_ints(ints, insert),
            PointKeys::Int(ints) if !ints.is_empty() => Self::of_ints(ints, insert),
            PointKeys::Small(_) | PointKeys::Int(_) => KeyIndex::Text(FxHashMap::default()),
            PointKeys::Text { text, ends } => {
                let mut map = FxHashMap::with_capacity_and_hasher(n, Default::default());
                let mut start = 0;
                for (i, &end) in ends.iter().enumerate() {
                    insert(map.entry(&text[start..end]).or_insert(u32::MAX), i);
                    start = end;
                }
                KeyIndex::Text(map)
            }
        }
    }

    /// The index of integer keys (not empty): a table where they are dense, else a map.
    fn of_ints<T: Copy + Into<u64>>(ints: &[T], mut insert: impl FnMut(&mut u32, usize)) -> Self {
        if let Some((lo, hi)) = dense_range(ints) {
            let mut slots = vec![u32::MAX; (hi - lo + 1) as usize];
            for (i, &v) in ints.iter().enumerate() {
                insert(&mut slots[(v.into() - lo) as usize], i);
            }
            KeyIndex::Dense { base: lo, slots }
        } else {
            let mut map = FxHashMap::with_capacity_and_hasher(ints.len(), Default::default());
            for (i, &v) in ints.iter().enumerate() {
                insert(map.entry(v.into()).or_insert(u32::MAX), i);
            }
            KeyIndex::Int(map)
        }
    }

    /// True if `keys` are integers in a dense range without a repeat (the case of
    /// [`KeyIndex::Dense`]), found with one bit per possible key. False says nothing.
    fn surely_distinct(keys: &PointKeys) -> bool {
        match keys {
            PointKeys::Small(ints) => Self::distinct_ints(ints),
            PointKeys::Int(ints) => Self::distinct_ints(ints),
            PointKeys::Text { .. } => false,
        }
    }

    fn distinct_ints<T: Copy + Into<u64>>(ints: &[T]) -> bool {
        let Some((lo, hi)) = dense_range(ints) else {
            return false;
        };
        let mut seen = vec![0u64; ((hi - lo) / 64 + 1) as usize];
        for &v in ints {
            let k = v.into() - lo;
            let (word, bit) = ((k / 64) as usize, 1u64 << (k % 64));
            if seen[word] & bit != 0 {
                return false;
            }
            seen[word] |= bit;
        }
        true
    }

    fn get(&self, key: &str) -> Option<u32> {
        match self {
            KeyIndex::Dense { base, slots } => {
                let v = plain_int(key)?;
                let s = *slots.get(usize::try_from(v.checked_sub(*base)?).ok()?)?;
                (s != u32::MAX).then_some(s)
            }
            KeyIndex::Int(map) => map.get(&plain_int(key)?).copied(),
            KeyIndex::Text(map) => map.get(key).copied(),
        }
    }

    /// [`KeyIndex::get`] of a plain integer's text, from its value. `None` for text keys.
    fn get_int(&self, v: u64) -> Option<u32> {
        match self {
            KeyIndex::Dense { base, slots } => {
                let s = *slots.get(usize::try_from(v.checked_sub(*base)?).ok()?)?;
                (s != u32::MAX).then_some(s)
            }
            KeyIndex::Int(map) => map.get(&v).copied(),
            KeyIndex::Text(_) => None,
        }
    }
}

/// What one chunk of a count file read: per row the point (or none) and where its parsed
/// counts and messages are.
#[derive(Default)]
struct JoinChunk {
    /// (point index or `u32::MAX` for none, line, end of the row's entries in `diags`).
    rows: Vec<(u32, u32, u32)>,
    /// The counts of the matched rows, row by row.
    values: Vec<u32>,
    /// The unmatched-key message or the count messages of each row.
    diags: Vec<Diagnostic>,
}

/// Reads one count file joined on the point key. Points without a row get 0.
fn read_join(
    j: &CountSource,
    t: &CsvTable,
    keys: &PointKeys,
    index: &KeyIndex<'_>,
    n_points: usize,
) -> JoinResult {
    let kc = t.column(&j.key)?;
    let names: Vec<String> = if j.counts.is_empty() {
        t.headers.iter().filter(|h| **h != j.key).cloned().collect()
    } else {
        j.counts.clone()
    };
    let cols = names
        .iter()
        .map(|c| t.column(c))
        .collect::<Result<Vec<_>, _>>()?;
    let text_keys = matches!(index, KeyIndex::Text(_));
    let init = |lines| {
        let chunk = JoinChunk {
            rows: Vec::with_capacity(lines),
            values: Vec::with_capacity(lines * cols.len()),
            diags: Vec::new(),
        };
        (chunk, 0usize)
    };
    // A plain row whose key is a point's and whose counts are plain and fit: taken as is; any
    // other row by `general`, which says what is wrong with it.
    let plain = |(c, _): &mut (JoinChunk, usize), line: usize, r: &PlainRow<'_>| {
        let Some(idx) = r.int(kc).and_then(|k| index.get_int(k)) else {
            return false;
        };
        let start = c.values.len();
        for &col in &cols {
            let Some(v) = r.count(col) else {
                // Declined: the chunk as it was.
                c.values.truncate(start);
                return false;
            };
            c.values.push(v);
        }
        c.rows.push((idx, line as u32, c.diags.len() as u32));
        true
    };
    let general = |(c, cursor): &mut (JoinChunk, usize), r: &crate::table::Row<'_>| {
        let key = crate::table::trim(r.text(kc));
        // Count files are usually sorted like the coordinate file: with text keys, look a
        // few points ahead of the previous match before hashing.
        let ahead = if text_keys {
            (*cursor..(*cursor + 8).min(keys.len()))
                .find(|&k| keys.get(k).is_some_and(|k| k == key))
                .map(|k| k as u32)
        } else {
            None
        };
        let line = r.line as u32;
        let Some(idx) = ahead.or_else(|| index.get(key)) else {
            c.diags.push(t.diag(
                r.line,
                &j.key,
                key,
                "key matches no point of the coordinate file; the row's counts are not used",
            ));
            c.rows.push((u32::MAX, line, c.diags.len() as u32));
            return;
        };
        *cursor = idx as usize + 1;
        for (&col, name) in cols.iter().zip(&names) {
            let v = r.text(col);
            c.values.push(parse_count(v).unwrap_or_else(|m| {
                c.diags
                    .push(t.diag(r.line, name, v, format!("point {key}: {m}; counted as 0")));
                0
            }));
        }
        c.rows.push((idx, line, c.diags.len() as u32));
    };
    let (chunks, mut diags) = if text_keys {
        t.par_rows(init, general)?
    } else {
        t.par_rows_plain(init, plain, general)?
    };
    // Merged in file order: the first row of a key wins, later ones are duplicates.
    // Each column its own zeroed allocation, only written here (`vec![vec![0; n]; k]` copies
    // the first into the others, and a fresh zeroed page that is read before it is written is
    // the kernel's shared zero page: the write then faults again and flushes the TLB of every
    // core, a tenth of the CPU of Berlin's `aggregate` (perf: do_wp_page, flush_tlb_mm_range).
    // `seen_line` is read before it is written, so it starts as `NOT_SEEN` (a fill, not
    // zeroed pages).
    const NOT_SEEN: u32 = u32::MAX;
    let mut values: Vec<Vec<u32>> = (0..cols.len()).map(|_| vec![0; n_points]).collect();
    let mut seen_line: Vec<u32> = vec![NOT_SEEN; n_points];
    let mut local = Vec::new();
    for (c, _) in chunks {
        let mut vals = c.values.chunks_exact(cols.len().max(1));
        let mut msgs = c.diags.into_iter();
        let mut taken = 0u32;
        for (idx, line, end) in c.rows {
            let row_msgs = msgs.by_ref().take((end - taken) as usize);
            taken = end;
            if idx == u32::MAX {
                local.extend(row_msgs);
                continue;
            }
            let row_vals = if cols.is_empty() {
                &[][..]
            } else {
                vals.next().unwrap_or_default()
            };
            let i = idx as usize;
            if seen_line[i] != NOT_SEEN {
                local.push(t.diag(
                    line as usize,
                    &j.key,
                    &keys.get(i).unwrap_or_default(),
                    format!(
                        "duplicate key (first at line {}); this row is not used",
                        seen_line[i]
                    ),
                ));
                row_msgs.for_each(drop);
                continue;
            }
            seen_line[i] = line;
            for (col, &v) in values.iter_mut().zip(row_vals) {
                col[i] = v;
            }
            local.extend(row_msgs);
        }
    }
    diags.extend(local);
    let columns = names
        .into_iter()
        .zip(values)
        .map(|(name, values)| CountColumn {
            name,
            year: j.year,
            values,
        })
        .collect();
    Ok((columns, diags))
}

/// One facility as read (source CRS).
struct FacilityRow {
    x: f64,
    y: f64,
    id: String,
    name: String,
    capacity: Option<f64>,
    attributes: BTreeMap<String, String>,
}

/// Loads one facility category.
pub fn load_facilities(
    f: &FacilitySource,
    working_epsg: u32,
    diags: &mut Vec<Diagnostic>,
) -> Result<FacilityLayer, LoadError> {
    let (rows, crs) = if is_csv(&f.source) {
        read_facilities_csv(f, diags)?
    } else {
        read_facilities_layer(f, diags)?
    };
    let reproj = Reprojector::from_crs(&crs, working_epsg).map_err(crs_err(&f.source))?;
    let mut pts: Vec<(f64, f64)> = rows.iter().map(|r| (r.x, r.y)).collect();
    reproj
        .transform_coords(&mut pts)
        .map_err(crs_err(&f.source))?;
    check_area_of_use(working_epsg, &crs, pts.iter().copied()).map_err(crs_err(&f.source))?;
    let mut out = FacilityLayer {
        category: f.category.clone(),
        title: f.title.clone(),
        ..Default::default()
    };
    for (r, (x, y)) in rows.into_iter().zip(pts) {
        out.x.push(x);
        out.y.push(y);
        out.ids.push(r.id);
        out.names.push(r.name);
        out.capacity.push(r.capacity);
        out.attributes.push(r.attributes);
    }
    Ok(out)
}

fn capacity_of(v: &PropValue) -> Result<Option<f64>, NotANumber> {
    match v {
        PropValue::Null => Ok(None),
        PropValue::Int(i) => Ok(Some(*i as f64)),
        PropValue::Float(x) => Ok(Some(*x)),
        PropValue::Bool(_) => Err(NotANumber),
        PropValue::Text(s) if s.trim().is_empty() => Ok(None),
        PropValue::Text(_) => v.as_f64().map(Some).ok_or(NotANumber),
    }
}

fn read_facilities_layer(
    f: &FacilitySource,
    diags: &mut Vec<Diagnostic>,
) -> Result<(Vec<FacilityRow>, Crs), LoadError> {
    let layer = read_layer(&f.source, f.layer.as_deref(), None)?;
    for field in f
        .id_field
        .iter()
        .chain(&f.name_field)
        .chain(&f.capacity_field)
        .chain(f.filter.keys())
    {
        require_field(&layer, field)?;
    }
    let crs = layer.crs(f.crs.as_ref()).ok_or_else(|| LoadError::NoCrs {
        path: f.source.clone().into(),
    })?;
    let mut rows = Vec::with_capacity(layer.features.len());
    for (i, feat) in layer.features.iter().enumerate() {
        let n = i + 1;
        let keep = f.filter.iter().all(|(k, want)| {
            feat.props
                .get(k)
                .and_then(PropValue::as_text)
                .is_some_and(|t| t.trim() == want.trim())
        });
        if !keep {
            continue;
        }
        let id = f
            .id_field
            .as_ref()
            .and_then(|k| text_of(&feat.props, k))
            .unwrap_or_else(|| n.to_string());
        let (x, y) = match single_point(&feat.geometry) {
            Ok(xy) => xy,
            Err(m) => {
                diags.push(Diagnostic {
                    path: f.source.clone(),
                    row: n,
                    field: "geometry".into(),
                    value: id.clone(),
                    message: format!("facility {id}: {m}; the feature is skipped"),
                });
                continue;
            }
        };
        let capacity = match &f.capacity_field {
            None => None,
            Some(cf) => {
                let v = feat.props.get(cf).cloned().unwrap_or(PropValue::Null);
                capacity_of(&v).unwrap_or_else(|NotANumber| {
                    diags.push(Diagnostic {
                        path: f.source.clone(),
                        row: n,
                        field: cf.clone(),
                        value: v.as_text().unwrap_or_default(),
                        message: format!("facility {id}: capacity is not a number; left empty"),
                    });
                    None
                })
            }
        };
        rows.push(FacilityRow {
            x,
            y,
            name: f
                .name_field
                .as_ref()
                .and_then(|k| text_of(&feat.props, k))
                .unwrap_or_default(),
            id,
            capacity,
            attributes: attributes(&feat.props),
        });
    }
    Ok((rows, crs))
}

fn read_facilities_csv(
    f: &FacilitySource,
    diags: &mut Vec<Diagnostic>,
) -> Result<(Vec<FacilityRow>, Crs), LoadError> {
    let t = CsvTable::open(Path::new(&f.source), &f.csv)?;
    let xname = f.x.as_deref().unwrap_or("x");
    let yname = f.y.as_deref().unwrap_or("y");
    let (xc, yc) = (t.column(xname)?, t.column(yname)?);
    let idc = f.id_field.as_ref().map(|c| t.column(c)).transpose()?;
    let namec = f.name_field.as_ref().map(|c| t.column(c)).transpose()?;
    let capc = f.capacity_field.as_ref().map(|c| t.column(c)).transpose()?;
    let filters = f
        .filter
        .iter()
        .map(|(k, v)| Ok((t.column(k)?, v.trim().to_string())))
        .collect::<Result<Vec<_>, LoadError>>()?;
    let mut rows = Vec::new();
    let mut local = Vec::new();
    t.for_each_row(diags, |r| {
        if !filters.iter().all(|(c, want)| r.text(*c).trim() == want) {
            return;
        }
        let id = idc
            .map(|c| r.text(c).trim().to_string())
            .unwrap_or_else(|| r.line.to_string());
        let num = |c: usize, name: &str, local: &mut Vec<Diagnostic>| match t.parse_f64(r.text(c)) {
            Ok(v) => v,
            Err(NotANumber) => {
                local.push(t.diag(
                    r.line,
                    name,
                    r.text(c),
                    format!("facility {id}: not a number"),
                ));
                None
            }
        };
        let (Some(x), Some(y)) = (num(xc, xname, &mut local), num(yc, yname, &mut local)) else {
            local.push(t.diag(
                r.line,
                xname,
                r.text(xc),
                format!("facility {id}: no usable coordinates; the row is skipped"),
            ));
            return;
        };
        let capacity =
            capc.and_then(|c| num(c, f.capacity_field.as_deref().unwrap_or(""), &mut local));
        let attributes = t
            .headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.clone(), r.text(i).to_string()))
            .collect();
        rows.push(FacilityRow {
            x,
            y,
            name: namec
                .map(|c| r.text(c).trim().to_string())
                .unwrap_or_default(),
            id,
            capacity,
            attributes,
        });
    })?;
    diags.extend(local);
    Ok((rows, f.crs.clone().unwrap_or(Crs::Epsg(0))))
}

/// Loads the weight layer (`[weights]`): a population grid as points, each cell's weight at
/// its centre or — with `cell_size` — spread evenly over the cell in steps of at most 50 m, so
/// a boundary through a cell splits its population by area. Cells without a value weigh 0.
pub fn load_weights(
    w: &WeightsSource,
    working_epsg: u32,
    diags: &mut Vec<Diagnostic>,
) -> Result<WeightLayer, LoadError> {
    let (pts, crs) = if is_csv(&w.source) {
        let t = CsvTable::open(Path::new(&w.source), &w.csv)?;
        let (xn, yn) = (w.x.as_deref().unwrap_or("x"), w.y.as_deref().unwrap_or("y"));
        let (xc, yc, wc) = (t.column(xn)?, t.column(yn)?, t.column(&w.weight)?);
        let crs = w.crs.clone().ok_or_else(|| LoadError::NoCrs {
            path: w.source.clone().into(),
        })?;
        let mut pts: Vec<(f64, f64, f64)> = Vec::new();
        let mut local = Vec::new();
        t.for_each_row(diags, |r| {
            let num = |c: usize, name: &str, local: &mut Vec<Diagnostic>| match t.parse_f64(r.text(c)) {
                Ok(Some(v)) => Some(v),
                _ => {
                    local.push(t.diag(r.line, name, r.text(c), "not a coordinate; the row is skipped"));
                    None
                }
            };
            let (Some(x), Some(y)) = (num(xc, xn, &mut local), num(yc, yn, &mut local)) else {
                return;
            };
            let v = match t.cell(r.text(wc), &w.missing) {
                crate::table::Cell::Number(v) if v >= 0.0 => v,
                crate::table::Cell::Number(_) | crate::table::Cell::NotANumber => {
                    local.push(t.diag(
                        r.line,
                        &w.weight,
                        r.text(wc),
                        "not a weight (a number ≥ 0; list no-value codes in `missing`); counted as 0",
                    ));
                    0.0
                }
                _ => 0.0,
            };
            pts.push((x, y, v));
        })?;
        diags.extend(local);
        (pts, crs)
    } else {
        let layer = read_layer(&w.source, None, None)?;
        require_field(&layer, &w.weight)?;
        let crs = layer.crs(w.crs.as_ref()).ok_or_else(|| LoadError::NoCrs {
            path: w.source.clone().into(),
        })?;
        let mut pts = Vec::new();
        for (i, f) in layer.features.iter().enumerate() {
            let v = f
                .props
                .get(&w.weight)
                .and_then(PropValue::as_f64)
                .unwrap_or(0.0);
            match single_point(&f.geometry) {
                Ok((x, y)) => pts.push((x, y, v.max(0.0))),
                Err(m) => diags.push(Diagnostic {
                    path: w.source.clone(),
                    row: i + 1,
                    field: "geometry".into(),
                    value: String::new(),
                    message: format!("{m}; the feature is skipped"),
                }),
            }
        }
        (pts, crs)
    };
    // Spread each cell over k × k sub-points (uniform k: only the ratios of weights matter).
    let (k, cs) = match w.cell_size {
        Some(cs) if cs > 0.0 && cs.is_finite() => ((cs / 50.0).ceil().max(1.0) as usize, cs),
        Some(cs) => {
            return Err(LoadError::Format {
                path: w.source.clone().into(),
                message: format!("weights.cell_size = {cs}: must be a positive length"),
            });
        }
        None => (1, 0.0),
    };
    let mut xy: Vec<(f64, f64)> = Vec::new();
    let mut weight: Vec<u32> = Vec::new();
    for (x, y, v) in pts {
        let v = v.round();
        if v <= 0.0 {
            continue;
        }
        for i in 0..k {
            for j in 0..k {
                let dx = (i as f64 + 0.5) / k as f64 * cs - cs / 2.0;
                let dy = (j as f64 + 0.5) / k as f64 * cs - cs / 2.0;
                xy.push((x + dx, y + dy));
                weight.push(v.min(f64::from(u32::MAX)) as u32);
            }
        }
    }
    let reproj = Reprojector::from_crs(&crs, working_epsg).map_err(crs_err(&w.source))?;
    reproj
        .transform_coords(&mut xy)
        .map_err(crs_err(&w.source))?;
    check_area_of_use(working_epsg, &crs, xy.iter().copied()).map_err(crs_err(&w.source))?;
    Ok(WeightLayer {
        x: xy.iter().map(|p| p.0).collect(),
        y: xy.iter().map(|p| p.1).collect(),
        weight,
        weighting: Weighting::Grid {
            title: w.title.clone(),
        },
    })
}
