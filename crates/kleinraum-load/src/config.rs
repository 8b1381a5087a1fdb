//! The project configuration file (TOML). One commented example per use case lives in `data/`
//! (`demo.toml`, `berlin.toml`). Unknown keys are rejected with their name; paths are resolved
//! once, at load.

pub use crate::crs::Crs;
use crate::error::LoadError;
use kleinraum_aggregate::config::{AnalysisConfig, DisclosureConfig, IndexConfig, IndicatorConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The whole config file as written.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// Name of the municipality, shown in the UI.
    #[serde(default = "default_title")]
    pub title: String,
    /// Name of the whole municipality as an area (the top of the hierarchy): "Gesamtstadt"
    /// unless set (a Kreis: "Landkreis Musterland").
    #[serde(default)]
    pub total_title: Option<String>,
    /// EPSG code of the metric working CRS: 25832 or 25833.
    pub working_crs: u32,
    /// Hierarchy levels, finest first. The first one needs a boundary source.
    #[serde(rename = "level")]
    pub levels: Vec<LevelSource>,
    /// Address points with counts.
    #[serde(default)]
    pub points: Option<PointSource>,
    /// Facility layers.
    #[serde(default)]
    pub facilities: Vec<FacilitySource>,
    /// Area-level tables.
    #[serde(default, rename = "table")]
    pub tables: Vec<TableSource>,
    /// A population grid weighting estimates when there are no address points.
    #[serde(default)]
    pub weights: Option<WeightsSource>,
    /// Indicators.
    #[serde(default, rename = "indicator")]
    pub indicators: Vec<IndicatorConfig>,
    /// Composite indices.
    #[serde(default, rename = "index")]
    pub indices: Vec<IndexConfig>,
    /// Disclosure control.
    #[serde(default)]
    pub disclosure: DisclosureConfig,
    /// Server settings (read by `kleinraum serve`).
    #[serde(default)]
    pub server: ServerConfig,
    /// The store of Gebietsstände (versions of the area definitions) and the audit log.
    #[serde(default)]
    pub store: StoreConfig,
    /// Further Gebietsstände imported into the store at start when it lacks them.
    #[serde(default, rename = "gebietsstand")]
    pub gebietsstaende: Vec<GebietsstandSource>,
    /// API tokens for writes (drafts, imports) and non-public reads.
    #[serde(default)]
    pub auth: AuthConfig,
    /// The Berichtswesen: title page, texts, colours, sections of the reports.
    #[serde(default)]
    pub report: ReportConfig,
    /// The directory relative paths are resolved against (the config file's directory).
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The config file as given (its name names the default store).
    #[serde(skip)]
    pub config_path: PathBuf,
}

fn unique<'a>(items: impl Iterator<Item = &'a str>, what: &str) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for it in items {
        if !seen.insert(it) {
            return Err(format!("{what} {it:?} is used twice; it must be unique"));
        }
    }
    Ok(())
}

/// True for a CSV source (`.csv`, `.csv.gz`, any case).
pub fn is_csv(source: &str) -> bool {
    let l = source.to_ascii_lowercase();
    l.ends_with(".csv") || l.ends_with(".csv.gz")
}

fn default_title() -> String {
    "kleinraum".into()
}

impl ProjectConfig {
    /// Whether loading this config needs GDAL: a layer source only OGR reads (GeoPackage,
    /// PostGIS, …) or `repair = true` on a level or Gebietsstand (GEOS MakeValid). The
    /// `kleinraum` program hands such configs to `kleinraum-gdal` (see [`crate::backend`]).
    pub fn needs_gdal(&self) -> bool {
        use crate::features::SourceKind;
        let ogr = |s: &str| SourceKind::of(s) == SourceKind::Ogr;
        self.levels
            .iter()
            .any(|l| l.repair || l.source.as_deref().is_some_and(ogr))
            || self
                .gebietsstaende
                .iter()
                .any(|g| g.repair || ogr(&g.source))
            || self.points.as_ref().is_some_and(|p| ogr(&p.source))
            || self.facilities.iter().any(|f| ogr(&f.source))
            || self.weights.as_ref().is_some_and(|w| ogr(&w.source))
    }

    /// Reads a config file: parses it (unknown keys are errors naming the key and line), sets
    /// `base_dir` to the file's directory, resolves every source path and validates the
    /// cross-references. Every error names the file and the key.
    pub fn load(path: &Path) -> Result<ProjectConfig, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        ProjectConfig::from_toml(&text, path, &base_dir)
    }

    /// Parses and validates config text; `path` is used in messages, relative source paths
    /// resolve against `base_dir`.
    pub fn from_toml(text: &str, path: &Path, base_dir: &Path) -> Result<ProjectConfig, LoadError> {
        let err = |message: String| LoadError::Config {
            path: path.to_path_buf(),
            message,
        };
        let mut cfg: ProjectConfig = toml::from_str(text)
            .map_err(|e| err(format!("invalid config: {}", e.to_string().trim_end())))?;
        cfg.base_dir = base_dir.to_path_buf();
        cfg.config_path = path.to_path_buf();
        cfg.resolve_paths().map_err(err)?;
        cfg.validate().map_err(err)?;
        Ok(cfg)
    }

    fn resolve_paths(&mut self) -> Result<(), String> {
        let base = self.base_dir.clone();
        let fix = |s: &mut String, key: String| -> Result<(), String> {
            *s = resolve_path(s, &base).map_err(|e| format!("{key}: {e}"))?;
            Ok(())
        };
        if let Some(l) = &mut self.report.logo {
            fix(l, "report.logo".into())?;
        }
        for l in &mut self.levels {
            if let Some(s) = &mut l.source {
                fix(s, format!("level {:?}: source", l.key))?;
            }
        }
        if let Some(p) = &mut self.points {
            fix(&mut p.source, "points.source".into())?;
            for (i, j) in p.join.iter_mut().enumerate() {
                fix(&mut j.source, format!("points.join[{}].source", i + 1))?;
            }
        }
        for f in &mut self.facilities {
            fix(
                &mut f.source,
                format!("facilities {:?}: source", f.category),
            )?;
        }
        for t in &mut self.tables {
            fix(&mut t.source, format!("table {:?}: source", t.name))?;
            if let Some(m) = &mut t.mapping {
                fix(m, format!("table {:?}: mapping", t.name))?;
            }
        }
        if let Some(w) = &mut self.weights {
            fix(&mut w.source, "weights.source".into())?;
        }
        for g in &mut self.gebietsstaende {
            fix(&mut g.source, format!("gebietsstand {:?}: source", g.key))?;
        }
        if let Some(p) = &mut self.store.path {
            fix(p, "store.path".into())?;
        }
        Ok(())
    }

    /// Checks the cross-references the schema cannot express.
    fn validate(&self) -> Result<(), String> {
        let d = &self.disclosure;
        if d.threshold < 3
            && d.low_threshold_reason
                .as_deref()
                .is_none_or(|r| r.trim().len() < 10)
        {
            return Err(format!(
                "[disclosure] threshold = {}: counts of 1 and 2 people would be published (a threshold of 0 or 1 switches disclosure control off). \
                 Use at least 3, or say why in `low_threshold_reason = \"…\"` (e.g. the numbers are published by the statistical office anyway)",
                d.threshold
            ));
        }
        if !matches!(self.working_crs, 25832 | 25833) {
            return Err(format!(
                "working_crs = {}: must be 25832 (ETRS89 / UTM 32N) or 25833 (ETRS89 / UTM 33N), a metric CRS for areas and distances",
                self.working_crs
            ));
        }
        if self.levels.is_empty() {
            return Err(
                "no [[level]]: at least the finest level with a boundary source is needed".into(),
            );
        }
        unique(self.levels.iter().map(|l| l.key.as_str()), "level key")?;
        if self.levels[0].source.is_none() {
            return Err(format!(
                "level {:?} (the first, finest level) needs a `source` with boundaries",
                self.levels[0].key
            ));
        }
        let n = self.levels.len();
        for (i, l) in self.levels.iter().enumerate() {
            let key = &l.key;
            if l.parent_field.is_some() && l.parent_prefix.is_some() {
                return Err(format!(
                    "level {key:?}: set either parent_field or parent_prefix, not both"
                ));
            }
            if i + 1 < n && l.parent_field.is_none() && l.parent_prefix.is_none() {
                return Err(format!(
                    "level {key:?}: a coarser level ({:?}) follows, so parent_field or parent_prefix is needed",
                    self.levels[i + 1].key
                ));
            }
            if l.parent_prefix == Some(0) {
                return Err(format!("level {key:?}: parent_prefix must be at least 1"));
            }
            if l.source.is_none() && l.parent_field.is_some() {
                return Err(format!(
                    "level {key:?}: parent_field needs a source; for a derived level use parent_prefix"
                ));
            }
        }
        if let Some(p) = &self.points {
            if is_csv(&p.source) {
                if p.x.is_none() || p.y.is_none() {
                    return Err("points: a CSV source needs `x` and `y` column names".into());
                }
                if p.crs.is_none() {
                    return Err(
                        "points: a CSV source needs `crs` (EPSG code of x/y, e.g. 25833 or 4326)"
                            .into(),
                    );
                }
            }
            if !p.counts.is_empty() && p.year.is_none() {
                return Err("points: `counts` needs `year`".into());
            }
        }
        unique(
            self.facilities.iter().map(|f| f.category.as_str()),
            "facilities category",
        )?;
        for f in &self.facilities {
            if is_csv(&f.source) && (f.x.is_none() || f.y.is_none() || f.crs.is_none()) {
                return Err(format!(
                    "facilities {:?}: a CSV source needs `x`, `y` and `crs`",
                    f.category
                ));
            }
        }
        for (i, t) in self.tables.iter().enumerate() {
            t.validate()?;
            // Several entries of one name are one table (one file per year, say).
            if let Some(first) = self.tables[..i].iter().find(|o| o.name == t.name)
                && first.level != t.level
            {
                return Err(format!(
                    "table {:?}: every [[table]] entry of one name must have the same level ({:?} and {:?})",
                    t.name, first.level, t.level
                ));
            }
        }
        unique(
            std::iter::once(self.store.base_key.as_str())
                .chain(self.gebietsstaende.iter().map(|g| g.key.as_str())),
            "gebietsstand key (store.base_key included)",
        )?;
        for g in std::iter::once(self.store.base_key.as_str())
            .chain(self.gebietsstaende.iter().map(|g| g.key.as_str()))
        {
            if !valid_version_key(g) {
                return Err(format!(
                    "gebietsstand key {g:?}: use 1–64 characters a–z, 0–9, '_' or '-', starting with a letter or digit"
                ));
            }
        }
        for t in &self.auth.token {
            if !matches!(t.role.as_str(), "viewer" | "planner" | "admin") {
                return Err(format!(
                    "auth.token {:?}: role {:?} is not one of viewer, planner, admin",
                    t.name, t.role
                ));
            }
        }
        for t in &self.tables {
            if !self.levels.iter().any(|l| l.key == t.level) {
                return Err(format!(
                    "table {:?}: level {:?} is not a configured level key (have: {})",
                    t.name,
                    t.level,
                    self.level_keys()
                ));
            }
        }
        unique(
            self.indicators.iter().map(|i| i.id.as_str()),
            "indicator id",
        )?;
        unique(self.indices.iter().map(|i| i.id.as_str()), "index id")?;
        for ix in &self.indices {
            if !self.levels.iter().any(|l| l.key == ix.level) {
                return Err(format!(
                    "index {:?}: level {:?} is not a configured level key (have: {})",
                    ix.id,
                    ix.level,
                    self.level_keys()
                ));
            }
            for (what, ids) in [("status", &ix.status), ("dynamics", &ix.dynamics)] {
                for id in ids {
                    if !self.indicators.iter().any(|i| &i.id == id) {
                        return Err(format!(
                            "index {:?}: {what} indicator {id:?} is not a configured indicator id",
                            ix.id
                        ));
                    }
                }
            }
        }
        if let Some(b) = &self.server.basemap {
            b.validate()?;
        }
        if let Some(l) = &self.server.map_outline_level
            && !self.levels.iter().any(|x| &x.key == l)
        {
            return Err(format!(
                "server.map_outline_level {l:?} is not a configured level key (have: {})",
                self.level_keys()
            ));
        }
        for (key, v) in [
            ("server.impressum_url", &self.server.impressum_url),
            ("server.datenschutz_url", &self.server.datenschutz_url),
        ] {
            if let Some(u) = v
                && !valid_link(u)
            {
                return Err(format!(
                    "{key} {u:?}: use an http(s) URL or a path on this server (starting with /)"
                ));
            }
        }
        self.validate_report()?;
        Ok(())
    }

    fn validate_report(&self) -> Result<(), String> {
        let r = &self.report;
        for (key, c) in [
            ("report.primary_color", &r.primary_color),
            ("report.accent_color", &r.accent_color),
        ] {
            if !valid_hex_color(c) {
                return Err(format!(
                    "{key} = {c:?} is not a colour of the form \"#1f4e79\""
                ));
            }
        }
        if let Some(l) = &r.logo {
            let lower = l.to_ascii_lowercase();
            if ![".png", ".svg", ".jpg", ".jpeg"]
                .iter()
                .any(|e| lower.ends_with(e))
            {
                return Err(format!(
                    "report.logo = {l:?}: a .png, .svg or .jpg file is expected"
                ));
            }
        }
        if !(2..=7).contains(&r.classes) {
            return Err(format!(
                "report.classes = {}: 2 to 7 classes are possible",
                r.classes
            ));
        }
        let known = |id: &str| self.indicators.iter().any(|i| i.id == id);
        for (key, ids) in [
            ("report.monitoring.indicators", &r.monitoring.indicators),
            ("report.monitoring.maps", &r.monitoring.maps),
            ("report.monitoring.timeseries", &r.monitoring.timeseries),
            ("report.steckbrief.indicators", &r.steckbrief.indicators),
            ("report.steckbrief.timeseries", &r.steckbrief.timeseries),
            (
                "report.sozialraumgebiete.indicators",
                &r.sozialraumgebiete.indicators,
            ),
        ] {
            for id in ids {
                if !known(id) {
                    return Err(format!("{key}: {id:?} is not a configured indicator id"));
                }
            }
        }
        if let Some(ix) = &r.sozialraumgebiete.index
            && !self.indices.iter().any(|i| &i.id == ix)
        {
            return Err(format!(
                "report.sozialraumgebiete.index = {ix:?} is not a configured index id"
            ));
        }
        for (i, g) in r.age_groups.iter().enumerate() {
            if g.column.trim().is_empty() || g.label.trim().is_empty() {
                return Err(format!(
                    "report.age_groups[{i}]: column and label must not be empty"
                ));
            }
        }
        Ok(())
    }

    fn level_keys(&self) -> String {
        self.levels
            .iter()
            .map(|l| l.key.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The Gebietsstände store and whether it was configured: `[store] path`, else
    /// `<config name>.gpkg` beside the config file (env `KLEINRAUM_STORE` is the caller's).
    pub fn store_file(&self) -> (PathBuf, bool) {
        match &self.store.path {
            Some(p) => (PathBuf::from(p), true),
            None => {
                let stem = self
                    .config_path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "kleinraum".into());
                (self.base_dir.join(format!("{stem}.gpkg")), false)
            }
        }
    }

    /// The analysis sections, for the engine.
    pub fn analysis(&self) -> AnalysisConfig {
        AnalysisConfig {
            indicators: self.indicators.clone(),
            indices: self.indices.clone(),
            disclosure: self.disclosure.clone(),
            total_title: self.total_title.clone(),
        }
    }
}

fn valid_hex_color(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// `[report]`: the Berichtswesen template. Every key is optional; the defaults give a complete
/// report with every indicator.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// Title on the title page (default: "Sozialmonitoring <title>").
    #[serde(default)]
    pub title: Option<String>,
    /// Subtitle under it.
    #[serde(default)]
    pub subtitle: Option<String>,
    /// The office that issues the report (title page, footer).
    #[serde(default)]
    pub office: Option<String>,
    /// Author or contact (title page).
    #[serde(default)]
    pub author: Option<String>,
    /// Logo on the title page: .png, .svg or .jpg (relative to the config file).
    #[serde(default)]
    pub logo: Option<String>,
    /// Colour of headings, rules and table heads.
    #[serde(default = "default_primary_color")]
    pub primary_color: String,
    /// Colour of the area in charts (the city is drawn in grey-blue).
    #[serde(default = "default_accent_color")]
    pub accent_color: String,
    /// "Data as of" on the title page (default: 31.12. of the report year).
    #[serde(default)]
    pub data_as_of: Option<String>,
    /// Name of the Gebietsstand on the title page and under every map (default: the store's
    /// `base_name`, else the level title).
    #[serde(default)]
    pub gebietsstand: Option<String>,
    /// Source line under every map and table (default: the indicators' sources).
    #[serde(default)]
    pub source: Option<String>,
    /// Introduction (after the table of contents); paragraphs separated by blank lines.
    #[serde(default)]
    pub intro: Option<String>,
    /// Closing text (last section); paragraphs separated by blank lines.
    #[serde(default)]
    pub closing: Option<String>,
    /// Order of the rows of area tables: "value_desc" (default), "value_asc", "id", "name".
    #[serde(default)]
    pub sort: ReportSort,
    /// Classification of indicator maps: "quantile" (default, as the web map), "equal", "jenks".
    #[serde(default)]
    pub classification: ReportClassification,
    /// Number of classes of indicator maps (2–7; default 5, as the web map).
    #[serde(default = "default_report_classes")]
    pub classes: usize,
    /// Age groups of the age-structure chart: count column and label, youngest first
    /// (default: the parts of the `[[disclosure.additive]]` relation whose total is `residents`).
    #[serde(default)]
    pub age_groups: Vec<AgeGroup>,
    /// The Monitoring report.
    #[serde(default)]
    pub monitoring: MonitoringSection,
    /// The Steckbriefe (one profile per area).
    #[serde(default)]
    pub steckbrief: SteckbriefSection,
    /// The paper on the Sozialraumgebiete.
    #[serde(default)]
    pub sozialraumgebiete: SozialraumgebieteSection,
}

impl Default for ReportConfig {
    fn default() -> Self {
        Self {
            title: None,
            subtitle: None,
            office: None,
            author: None,
            logo: None,
            primary_color: default_primary_color(),
            accent_color: default_accent_color(),
            data_as_of: None,
            gebietsstand: None,
            source: None,
            intro: None,
            closing: None,
            sort: ReportSort::default(),
            classification: ReportClassification::default(),
            classes: default_report_classes(),
            age_groups: Vec::new(),
            monitoring: MonitoringSection::default(),
            steckbrief: SteckbriefSection::default(),
            sozialraumgebiete: SozialraumgebieteSection::default(),
        }
    }
}

fn default_primary_color() -> String {
    "#1f4e79".into()
}
fn default_accent_color() -> String {
    "#7b2a74".into()
}
fn default_report_classes() -> usize {
    5
}

/// Row order of area tables.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReportSort {
    /// Highest value first (rank order).
    #[default]
    ValueDesc,
    /// Lowest value first.
    ValueAsc,
    /// By area id.
    Id,
    /// By area name.
    Name,
}

/// Classification method of indicator maps.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReportClassification {
    /// Quantiles: about as many areas per class.
    #[default]
    Quantile,
    /// Equal intervals between minimum and maximum.
    Equal,
    /// Natural breaks (Jenks–Fisher).
    Jenks,
}

/// One bar of the age-structure chart.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AgeGroup {
    /// Count column (`age_below_6`).
    pub column: String,
    /// Label (`unter 6`).
    pub label: String,
}

/// `[report.monitoring]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MonitoringSection {
    /// Indicators with a table per area (default: every indicator).
    #[serde(default)]
    pub indicators: Vec<String>,
    /// Indicators with a map (default: the index's status indicators and the supply rates).
    #[serde(default)]
    pub maps: Vec<String>,
    /// Indicators with a time-series chart of the city (default: those with a map).
    #[serde(default)]
    pub timeseries: Vec<String>,
    /// Maps on A4 landscape pages (default false: portrait).
    #[serde(default)]
    pub landscape_maps: bool,
}

/// `[report.steckbrief]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SteckbriefSection {
    /// Rows of the indicator table (default: every indicator).
    #[serde(default)]
    pub indicators: Vec<String>,
    /// Indicators with a time-series chart, area vs city (default: the index's status
    /// indicators, else the first two).
    #[serde(default)]
    pub timeseries: Vec<String>,
    /// Show the age structure chart.
    #[serde(default = "yes")]
    pub age_structure: bool,
    /// Show the index decomposition.
    #[serde(default = "yes")]
    pub index: bool,
    /// Show the location map.
    #[serde(default = "yes")]
    pub map: bool,
}

impl Default for SteckbriefSection {
    fn default() -> Self {
        Self {
            indicators: Vec::new(),
            timeseries: Vec::new(),
            age_structure: true,
            index: true,
            map: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// `[report.sozialraumgebiete]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SozialraumgebieteSection {
    /// The index that flags the Sozialraumgebiete (default: the first index).
    #[serde(default)]
    pub index: Option<String>,
    /// Context indicators listed per Sozialraumgebiet (default: none beyond the index's).
    #[serde(default)]
    pub indicators: Vec<String>,
}

/// True for a usable Gebietsstand key: `^[a-z0-9][a-z0-9_-]{0,63}$`.
pub fn valid_version_key(k: &str) -> bool {
    let b = k.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
}

/// Where Gebietsstände are kept and what the configured finest level is called there.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// SQLite/GeoPackage file (relative to the config file); env `KLEINRAUM_STORE` overrides it.
    /// Without it: `<config name>.gpkg` beside the config file (`kreis.toml` → `kreis.gpkg`),
    /// and `serve` says so when it starts.
    #[serde(default)]
    pub path: Option<String>,
    /// Key of the Gebietsstand formed by the finest configured level.
    #[serde(default = "default_base_key")]
    pub base_key: String,
    /// Its display name.
    #[serde(default)]
    pub base_name: Option<String>,
    /// Its valid-from date (`YYYY-MM-DD`).
    #[serde(default)]
    pub base_valid_from: Option<String>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: None,
            base_key: default_base_key(),
            base_name: None,
            base_valid_from: None,
        }
    }
}

fn default_base_key() -> String {
    "basis".into()
}

/// A further published definition of the areas (an older one, or an alternative partition).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GebietsstandSource {
    /// Key (`lor2020`).
    pub key: String,
    /// Display name.
    pub name: String,
    /// Valid from (`YYYY-MM-DD`).
    #[serde(default)]
    pub valid_from: Option<String>,
    /// Free text shown with the version.
    #[serde(default)]
    pub note: Option<String>,
    /// Boundary file or OGR source.
    pub source: String,
    /// Layer in a multi-layer source.
    #[serde(default)]
    pub layer: Option<String>,
    /// Id field.
    pub id_field: String,
    /// Name field.
    #[serde(default)]
    pub name_field: Option<String>,
    /// The source's CRS (EPSG code, WKT or PROJ string). It overrides what the source
    /// declares (a `.prj`); required where the source declares none (and for CSV).
    #[serde(default)]
    pub crs: Option<Crs>,
    /// Shapefile encoding without `.cpg`.
    #[serde(default)]
    pub encoding: Option<String>,
    /// Features sharing an id are one area (e.g. a PLZ in two pieces) instead of duplicates.
    #[serde(default)]
    pub merge_duplicates: bool,
    /// The statistical office publishes this version's numbers itself (every year and column
    /// kleinraum shows): the differencing guard then does not compare it with other such
    /// versions (their differences are public facts). Off by default: kleinraum computes the
    /// numbers of every version from the register, and they are one publication.
    #[serde(default)]
    pub published_elsewhere: bool,
    /// Make invalid polygons valid (see the level key `repair`).
    #[serde(default)]
    pub repair: bool,
}

impl GebietsstandSource {
    /// As a level source of the given level key, for [`crate::project::load_level`].
    pub fn as_level(&self, level_key: &str) -> LevelSource {
        LevelSource {
            key: level_key.to_string(),
            title: self.name.clone(),
            source: Some(self.source.clone()),
            layer: self.layer.clone(),
            id_field: self.id_field.clone(),
            name_field: self.name_field.clone(),
            parent_field: None,
            parent_prefix: None,
            crs: self.crs.clone(),
            encoding: self.encoding.clone(),
            merge_duplicates: self.merge_duplicates,
            repair: self.repair,
        }
    }
}

/// API tokens. The secrets never stand in the config file: each names an environment variable.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Tokens.
    #[serde(default)]
    pub token: Vec<TokenConfig>,
}

/// One API token.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds it (shown in the audit log).
    pub name: String,
    /// `viewer`, `planner` or `admin`.
    pub role: String,
    /// Environment variable holding the secret; unset or empty = token disabled.
    pub token_env: String,
}

/// How the parent of an area on the next coarser level is found.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LevelSource {
    /// Machine key, the OGC API collection id (`planungsraeume`).
    pub key: String,
    /// German title.
    pub title: String,
    /// Boundary source: a file path (GeoJSON, `.geojson.gz`, Shapefile, GeoPackage, any OGR
    /// file) or an OGR connection string (`PG:dbname=…`). Optional for coarser levels, which
    /// can be derived from the parent ids of the finer level.
    #[serde(default)]
    pub source: Option<String>,
    /// Layer name inside a multi-layer source (GeoPackage, PostGIS table).
    #[serde(default)]
    pub layer: Option<String>,
    /// Field with the area id (read as text; leading zeros kept).
    pub id_field: String,
    /// Field with the area name.
    #[serde(default)]
    pub name_field: Option<String>,
    /// Field with the id of the parent area on the next level.
    #[serde(default)]
    pub parent_field: Option<String>,
    /// Alternatively: the parent id is the first N characters of the id (LOR: 6 → BZR).
    #[serde(default)]
    pub parent_prefix: Option<usize>,
    /// The source's CRS (EPSG code, WKT or PROJ string). It overrides what the source
    /// declares (a `.prj`); required where the source declares none (and for CSV).
    #[serde(default)]
    pub crs: Option<Crs>,
    /// Text encoding of a Shapefile's DBF when it has no `.cpg` (`utf-8`, `windows-1252`).
    #[serde(default)]
    pub encoding: Option<String>,
    /// Features sharing an id form one area (their polygons joined) instead of being skipped
    /// as duplicates.
    #[serde(default)]
    pub merge_duplicates: bool,
    /// Make invalid polygons valid (GEOS MakeValid through GDAL), e.g. a ring touching itself
    /// in a point as cadastre exports have them; every repaired area is listed with its area
    /// before and after.
    #[serde(default)]
    pub repair: bool,
}

/// Address points: one file with coordinates, optionally joined to count files by key.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PointSource {
    /// CSV (`.csv`, `.csv.gz`) or any point layer (GeoJSON, GeoPackage, Shapefile, OGR).
    pub source: String,
    /// Layer name in a multi-layer source.
    #[serde(default)]
    pub layer: Option<String>,
    /// Key column (joins and error messages).
    pub key: String,
    /// CSV: easting or longitude column.
    #[serde(default)]
    pub x: Option<String>,
    /// CSV: northing or latitude column.
    #[serde(default)]
    pub y: Option<String>,
    /// The source's CRS (EPSG code, WKT or PROJ string). It overrides what the source
    /// declares (a `.prj`); required where the source declares none (and for CSV).
    #[serde(default)]
    pub crs: Option<Crs>,
    /// CSV dialect, e.g. `csv = { delimiter = ";", decimal = ",", encoding = "windows-1252" }`.
    #[serde(default)]
    pub csv: CsvOptions,
    /// Count columns in this file (all integer).
    #[serde(default)]
    pub counts: Vec<String>,
    /// Year of the counts in this file.
    #[serde(default)]
    pub year: Option<i32>,
    /// Count files joined on the key (one per year, typically).
    #[serde(default)]
    pub join: Vec<CountSource>,
}

/// A table of counts per point key, for one year.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CountSource {
    /// CSV file.
    pub source: String,
    /// Key column (same values as the point key).
    pub key: String,
    /// Year of these counts.
    pub year: i32,
    /// Count columns to take; empty = every column but the key.
    #[serde(default)]
    pub counts: Vec<String>,
    /// CSV dialect, e.g. `csv = { delimiter = ";", decimal = ",", encoding = "windows-1252" }`.
    #[serde(default)]
    pub csv: CsvOptions,
}

/// CSV dialect. Everything is detected when not given: delimiter from the header line,
/// encoding from BOM / UTF-8 validity (else Windows-1252).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CsvOptions {
    /// `,` or `;` (or tab).
    #[serde(default)]
    pub delimiter: Option<String>,
    /// Decimal separator: `.` or `,`.
    #[serde(default)]
    pub decimal: Option<String>,
    /// `utf-8` or `windows-1252`.
    #[serde(default)]
    pub encoding: Option<String>,
    /// Thousands separator: `" "` (also no-break and narrow no-break space), `"."` or `","`.
    /// Spaces between groups of three digits are read without it, too.
    #[serde(default)]
    pub thousands: Option<String>,
}

/// Facilities of one category.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FacilitySource {
    /// Machine key (`kitas`), used in indicator operands (`kitas.capacity`).
    pub category: String,
    /// German title.
    pub title: String,
    /// Point layer or CSV.
    pub source: String,
    /// Layer name in a multi-layer source.
    #[serde(default)]
    pub layer: Option<String>,
    /// Id field.
    #[serde(default)]
    pub id_field: Option<String>,
    /// Name field.
    #[serde(default)]
    pub name_field: Option<String>,
    /// Capacity field (places, beds); text values like `"120"` are parsed.
    #[serde(default)]
    pub capacity_field: Option<String>,
    /// Only features whose field equals this value (e.g. `schultyp = "Grundschule"`).
    #[serde(default)]
    pub filter: BTreeMap<String, String>,
    /// CSV: x / lon column.
    #[serde(default)]
    pub x: Option<String>,
    /// CSV: y / lat column.
    #[serde(default)]
    pub y: Option<String>,
    /// The source's CRS (EPSG code, WKT or PROJ string). It overrides what the source
    /// declares (a `.prj`); required where the source declares none (and for CSV).
    #[serde(default)]
    pub crs: Option<Crs>,
    /// CSV dialect, e.g. `csv = { delimiter = ";", decimal = ",", encoding = "windows-1252" }`.
    #[serde(default)]
    pub csv: CsvOptions,
}

/// A table of values per area: one file (or several `[[table]]` entries with the same name,
/// e.g. one file per year) holding one row per area and year (long), one column per year
/// (wide), or one row per area, year and variable (a Landesamt's long export).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TableSource {
    /// Name used in operands (`mss2021.S1`).
    pub name: String,
    /// Key of the level whose areas the table describes.
    pub level: String,
    /// CSV file.
    pub source: String,
    /// Key column: the area id (or the area name with `match_by = "name"`).
    #[serde(alias = "key")]
    pub id_field: String,
    /// What the key column holds: `id` (default) or `name` (matched to the level's names,
    /// ignoring case and repeated spaces).
    #[serde(default)]
    pub match_by: MatchBy,
    /// A CSV that maps keys of the table to area ids (two columns: key, id), for keys that
    /// match nothing by themselves (`"Bad Xdorf, Stadt"` → `05774012`).
    #[serde(default)]
    pub mapping: Option<String>,
    /// Every row refers to this year.
    #[serde(default)]
    pub year: Option<i32>,
    /// Long layout: the column with the year (`2014`).
    #[serde(default)]
    pub year_field: Option<String>,
    /// Long layout: the column with the reference date (`31.12.2014`, `2014-12-31`); only rows
    /// on `stichtag` are used.
    #[serde(default)]
    pub date_field: Option<String>,
    /// With `date_field`: month and day of the rows to use (`"12-31"`, the default; half-yearly
    /// tables also have `"06-30"`).
    #[serde(default)]
    pub stichtag: Option<String>,
    /// Wide layout: the header pattern of the value columns, with `{year}` and optionally
    /// `{column}` (`"{year}-12-31"`, `"{column} 12/{year}"`).
    #[serde(default)]
    pub wide: Option<String>,
    /// One row per area, year and variable: the column naming the variable (`Altersgruppe`).
    #[serde(default)]
    pub variable_field: Option<String>,
    /// With `variable_field`: the column with the value.
    #[serde(default)]
    pub value_field: Option<String>,
    /// Columns to take: a list of names, or a table `{ new_name = "name in the file" }` that
    /// renames them (with `variable_field`: the variables; with a wide pattern: the
    /// `{column}` parts). Empty = every column that holds numbers.
    #[serde(default)]
    pub columns: ColumnsSpec,
    /// Columns (by their new names) that are counts: summed up the hierarchy and to the whole
    /// municipality, under disclosure control, split by weights onto other Gebietsstände.
    /// All others are rates or other values.
    #[serde(default, alias = "extensive")]
    pub counts: Vec<String>,
    /// Rates rolled up to coarser levels as a mean weighted by a count column
    /// (`{ S1 = "EW" }`); a rate without one shows no value there ("–" with the reason).
    #[serde(default)]
    pub weights: BTreeMap<String, String>,
    /// Further values meaning "missing" (MSS: `-9999`). The markers of the statistical
    /// offices (`.`, `-`, `–`, `x`, `/`, `*`) are always read as missing, with their meaning.
    #[serde(default)]
    pub missing: Vec<String>,
    /// CSV dialect, e.g. `csv = { delimiter = ";", decimal = ",", thousands = " ", encoding = "windows-1252" }`.
    #[serde(default)]
    pub csv: CsvOptions,
}

impl TableSource {
    /// Checks that the layout keys fit together; errors name the table and the keys.
    pub fn validate(&self) -> Result<(), String> {
        let at = format!("table {:?}", self.name);
        let given: Vec<&str> = [
            ("year", self.year.is_some()),
            ("year_field", self.year_field.is_some()),
            ("date_field", self.date_field.is_some()),
            ("wide", self.wide.is_some()),
        ]
        .into_iter()
        .filter(|(_, g)| *g)
        .map(|(k, _)| k)
        .collect();
        if given.len() != 1 {
            return Err(format!(
                "{at}: give exactly one of `year` (every row is that year), `year_field` or `date_field` (a column with the year or the date), `wide` (a column per year){}",
                if given.is_empty() {
                    String::new()
                } else {
                    format!("; found {}", given.join(" and "))
                }
            ));
        }
        if self.stichtag.is_some() && self.date_field.is_none() {
            return Err(format!("{at}: `stichtag` needs `date_field`"));
        }
        if let Some(s) = &self.stichtag {
            crate::areatable::parse_stichtag(s).map_err(|e| format!("{at}: {e}"))?;
        }
        if self.variable_field.is_some() != self.value_field.is_some() {
            return Err(format!(
                "{at}: `variable_field` and `value_field` go together (one row per area, year and variable)"
            ));
        }
        if self.variable_field.is_some() && self.wide.is_some() {
            return Err(format!(
                "{at}: `wide` (a column per year) and `variable_field` (a row per variable) exclude each other"
            ));
        }
        if let Some(w) = &self.wide
            && !w.contains("{year}")
        {
            return Err(format!(
                "{at}: wide = {w:?} needs {{year}} where the year stands in the column names"
            ));
        }
        Ok(())
    }
}

/// What the key column of a table holds.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MatchBy {
    /// Area ids.
    #[default]
    Id,
    /// Area names.
    Name,
}

/// The `columns` of a table: names as they are, or renamed (`new = "old"`), in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnsSpec(pub Vec<(String, String)>);

impl ColumnsSpec {
    /// True if no column is named (take every numeric column).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The new names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }
}

impl<'de> Deserialize<'de> for ColumnsSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ColumnsSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of column names or a table { new_name = \"name in the file\" }")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<ColumnsSpec, A::Error> {
                let mut v = Vec::new();
                while let Some(n) = a.next_element::<String>()? {
                    v.push((n.clone(), n));
                }
                Ok(ColumnsSpec(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<ColumnsSpec, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = a.next_entry::<String, String>()? {
                    v.push((k, val));
                }
                Ok(ColumnsSpec(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A population grid (or any weighted points) that weights estimates for other Gebietsstände
/// when there are no address points: the Zensus 100 m / 1 km grid.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WeightsSource {
    /// CSV with one row per cell (or a point layer).
    pub source: String,
    /// What it is, for the label of every estimate (`Zensus 2011, 1-km-Gitter`).
    pub title: String,
    /// Column with the cell centre's easting / longitude.
    #[serde(default)]
    pub x: Option<String>,
    /// Column with the cell centre's northing / latitude.
    #[serde(default)]
    pub y: Option<String>,
    /// CRS of x/y (EPSG code, WKT or PROJ string; the Zensus grid: 3035).
    #[serde(default)]
    pub crs: Option<Crs>,
    /// Column with the weight (population); empty and `missing` values count as 0.
    pub weight: String,
    /// Side of a square cell in the units of `crs`: each weight is spread evenly over its cell
    /// (in 50 m steps) instead of sitting at the centre. Without it, each row is a point.
    #[serde(default)]
    pub cell_size: Option<f64>,
    /// Values meaning "no value" (the Zensus 1 km file: `-1`).
    #[serde(default)]
    pub missing: Vec<String>,
    /// CSV dialect.
    #[serde(default)]
    pub csv: CsvOptions,
}

/// `kleinraum serve` settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port.
    #[serde(default = "default_bind")]
    pub bind: String,
    /// Allowed CORS origins; empty = CORS off.
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Optional background map of the web map (XYZ tiles or a WMS); none = no background, so
    /// an intranet installation makes no request to any other server.
    #[serde(default)]
    pub basemap: Option<BasemapConfig>,
    /// Level whose outlines and names the web map draws over the finer levels for orientation
    /// (Berlin: the Bezirke); none = the coarsest level with geometry.
    #[serde(default)]
    pub map_outline_level: Option<String>,
    /// Link to the operator's Impressum (legal notice), shown in the map's footer.
    #[serde(default)]
    pub impressum_url: Option<String>,
    /// Link to the operator's Datenschutzerklärung (privacy notice), shown in the map's footer.
    #[serde(default)]
    pub datenschutz_url: Option<String>,
    /// Default page size of `/items`.
    #[serde(default = "default_limit")]
    pub default_limit: usize,
    /// Maximum page size of `/items`.
    #[serde(default = "default_max_limit")]
    pub max_limit: usize,
    /// Public base URL behind a reverse proxy (`https://geo.kreis.de/kleinraum`): every link in
    /// every response starts with it.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Addresses or networks of reverse proxies whose `X-Forwarded-Proto/-Host/-Prefix` headers
    /// are honoured (`["127.0.0.1", "10.0.0.0/8"]`); from anyone else they are ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Open connections at most.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Open connections per client address at most (trusted proxies exempt).
    #[serde(default = "default_max_connections_per_ip")]
    pub max_connections_per_ip: usize,
    /// Seconds a client has to send a request head (also the keep-alive idle time).
    #[serde(default = "default_header_timeout")]
    pub header_timeout_s: u64,
    /// Seconds a whole request may take.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_s: u64,
    /// Computing time in seconds one costly request (filter, draft operation) may use.
    #[serde(default = "default_work_budget")]
    pub work_budget_s: u64,
    /// Costly requests computed at the same time (0 = number of cores).
    #[serde(default)]
    pub work_slots: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: default_bind(),
            cors_origins: Vec::new(),
            basemap: None,
            map_outline_level: None,
            impressum_url: None,
            datenschutz_url: None,
            default_limit: default_limit(),
            max_limit: default_max_limit(),
            public_url: None,
            trusted_proxies: Vec::new(),
            max_connections: default_max_connections(),
            max_connections_per_ip: default_max_connections_per_ip(),
            header_timeout_s: default_header_timeout(),
            request_timeout_s: default_request_timeout(),
            work_budget_s: default_work_budget(),
            work_slots: 0,
        }
    }
}

/// Kind of background map.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BasemapKind {
    /// A tile server with a `{z}/{x}/{y}` URL template (OpenStreetMap style).
    Xyz,
    /// A Web Map Service (WMS 1.1.1 or 1.3.0), e.g. the municipality's own.
    Wms,
}

/// `[server.basemap]`: the web map's optional background map.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BasemapConfig {
    /// `xyz` or `wms`.
    pub kind: BasemapKind,
    /// XYZ: URL template with `{z}`, `{x}`, `{y}` (optionally `{s}`); WMS: the service URL
    /// without request parameters.
    pub url: String,
    /// Attribution shown on the map (licence and source), e.g. "© GeoBasis-DE / LGB".
    pub attribution: String,
    /// WMS: comma-separated layer names (required for WMS).
    #[serde(default)]
    pub layers: Option<String>,
    /// WMS: image format (default `image/png`).
    #[serde(default)]
    pub format: Option<String>,
    /// WMS: styles (default empty).
    #[serde(default)]
    pub styles: Option<String>,
    /// WMS version (default 1.3.0).
    #[serde(default)]
    pub version: Option<String>,
    /// Highest zoom level the service delivers (default 19).
    #[serde(default)]
    pub max_zoom: Option<u8>,
    /// Opacity 0–1 (default 1): lighter makes the choropleth easier to read.
    #[serde(default)]
    pub opacity: Option<f64>,
    /// Name in the map's layer switch (default "Hintergrundkarte").
    #[serde(default)]
    pub title: Option<String>,
    /// Shown when the map opens (default true); false: only on request in the layer switch.
    #[serde(default)]
    pub visible: Option<bool>,
}

impl BasemapConfig {
    /// Checks the URL, the template and the WMS parameters; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let url = self.url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/')) {
            return Err(format!(
                "server.basemap.url {url:?}: use an http(s) URL or a path on this server (starting with /)"
            ));
        }
        if self.attribution.trim().is_empty() {
            return Err(
                "server.basemap.attribution: name the source and licence of the background map (it is shown on the map)".into(),
            );
        }
        match self.kind {
            BasemapKind::Xyz => {
                for p in ["{z}", "{x}", "{y}"] {
                    if !url.contains(p) {
                        return Err(format!(
                            "server.basemap.url {url:?}: an XYZ template needs {p} (e.g. https://tiles.example/{{z}}/{{x}}/{{y}}.png)"
                        ));
                    }
                }
            }
            BasemapKind::Wms => {
                if self.layers.as_deref().is_none_or(|l| l.trim().is_empty()) {
                    return Err(
                        "server.basemap.layers: a WMS needs the layer names (comma-separated)"
                            .into(),
                    );
                }
                if url.contains('?') && url.to_ascii_lowercase().contains("request=") {
                    return Err(format!(
                        "server.basemap.url {url:?}: give the service URL without REQUEST/LAYERS parameters; the map adds them"
                    ));
                }
                if let Some(v) = &self.version
                    && v != "1.1.1"
                    && v != "1.3.0"
                {
                    return Err(format!("server.basemap.version {v:?}: use 1.1.1 or 1.3.0"));
                }
            }
        }
        if let Some(o) = self.opacity
            && !(0.0..=1.0).contains(&o)
        {
            return Err(format!("server.basemap.opacity {o}: between 0 and 1"));
        }
        if let Some(z) = self.max_zoom
            && !(1..=22).contains(&z)
        {
            return Err(format!("server.basemap.max_zoom {z}: between 1 and 22"));
        }
        Ok(())
    }
}

/// True for a link the footer may show: an http(s) URL or a path on this server.
fn valid_link(u: &str) -> bool {
    let u = u.trim();
    (u.starts_with("https://") || u.starts_with("http://") || u.starts_with('/'))
        && !u.contains(char::is_whitespace)
        && !u.contains(['"', '<', '>'])
}

fn default_max_connections() -> usize {
    512
}
fn default_max_connections_per_ip() -> usize {
    64
}
fn default_header_timeout() -> u64 {
    10
}
fn default_request_timeout() -> u64 {
    30
}
fn default_work_budget() -> u64 {
    10
}

fn default_bind() -> String {
    "127.0.0.1:8080".into()
}
fn default_limit() -> usize {
    100
}
fn default_max_limit() -> usize {
    10_000
}

/// Expands `${VAR}` in a configured path and resolves it. `KLEINRAUM_SHARED_DATA` defaults to
/// `../shared/data` (relative to the working directory, or — if that does not exist — to the
/// repository root above the config file). Other relative paths resolve against `base_dir`.
/// Connection strings (`PG:…`) are returned unchanged apart from variable expansion.
pub fn resolve_path(raw: &str, base_dir: &Path) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = raw;
    let mut used_shared_default = false;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed ${{ in path {raw:?}"))?;
        let name = &after[..end];
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => out.push_str(&v),
            _ if name == "KLEINRAUM_SHARED_DATA" => {
                used_shared_default = true;
                out.push_str(&shared_data_default(base_dir));
            }
            _ => {
                return Err(format!(
                    "environment variable {name} is not set (path {raw:?})"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if is_connection_string(&out) {
        return Ok(out);
    }
    let p = Path::new(&out);
    if p.is_absolute() || used_shared_default || raw.starts_with("${") {
        Ok(out)
    } else {
        Ok(base_dir.join(p).to_string_lossy().into_owned())
    }
}

fn shared_data_default(base_dir: &Path) -> String {
    let cwd_default = Path::new("../shared/data");
    if cwd_default.is_dir() {
        return cwd_default.to_string_lossy().into_owned();
    }
    // Config files live in <repo>/data/, the shared folder beside the repo.
    for anc in base_dir.ancestors() {
        let cand = anc.join("../shared/data");
        if cand.is_dir() {
            return cand.to_string_lossy().into_owned();
        }
    }
    cwd_default.to_string_lossy().into_owned()
}

/// True for OGR connection strings that are not file paths (`PG:…`, `MySQL:…`, `WFS:…`).
pub fn is_connection_string(s: &str) -> bool {
    let head: String = s.chars().take_while(|c| *c != ':').collect();
    s.contains(':')
        && head.len() >= 2
        && head.chars().all(|c| c.is_ascii_alphabetic())
        && !s.contains(":\\")
}
