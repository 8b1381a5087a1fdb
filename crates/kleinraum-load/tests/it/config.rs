//! Config loading and validation.

use crate::common::{repo_root, write};
use kleinraum_load::ProjectConfig;

const LEVEL: &str =
    "[[level]]\nkey = \"plr\"\ntitle = \"PLR\"\nsource = \"plr.geojson\"\nid_field = \"id\"\n";

fn load(text: &str) -> Result<ProjectConfig, String> {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "c.toml", text);
    ProjectConfig::load(&p).map_err(|e| e.to_string())
}

#[test]
fn berlin_config_resolves_every_source() {
    let cfg = ProjectConfig::load(&repo_root().join("data/berlin.toml")).unwrap();
    assert_eq!(cfg.working_crs, 25833);
    assert_eq!(cfg.levels.len(), 4);
    let mut sources: Vec<&str> = cfg
        .levels
        .iter()
        .filter_map(|l| l.source.as_deref())
        .collect();
    let pts = cfg.points.as_ref().unwrap();
    sources.push(&pts.source);
    sources.extend(pts.join.iter().map(|j| j.source.as_str()));
    sources.extend(cfg.facilities.iter().map(|f| f.source.as_str()));
    sources.extend(cfg.tables.iter().map(|t| t.source.as_str()));
    assert_eq!(sources.len(), 4 + 1 + 5 + 4 + 1);
    for s in sources {
        assert!(!s.contains("${"), "{s}");
        assert!(std::path::Path::new(s).is_file(), "not a file: {s}");
    }
}

#[test]
fn relative_paths_resolve_against_the_config_directory() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "c.toml",
        format!("working_crs = 25832\n{LEVEL}"),
    );
    let cfg = ProjectConfig::load(&p).unwrap();
    assert_eq!(cfg.base_dir, dir.path());
    assert_eq!(
        cfg.levels[0].source.as_deref(),
        Some(dir.path().join("plr.geojson").to_str().unwrap())
    );
}

#[test]
fn validation_errors_name_the_key() {
    let cases = [
        (format!("working_crs = 4326\n{LEVEL}"), "working_crs = 4326"),
        (
            format!("working_crs = 25833\n{LEVEL}{LEVEL}"),
            "level key \"plr\" is used twice",
        ),
        (
            "working_crs = 25833\n[[level]]\nkey = \"a\"\ntitle = \"A\"\nid_field = \"id\"\n"
                .to_string(),
            "level \"a\" (the first, finest level) needs a `source`",
        ),
        (
            format!("working_crs = 25833\n{LEVEL}parent_field = \"p\"\nparent_prefix = 6\n"),
            "either parent_field or parent_prefix",
        ),
        (
            format!(
                "working_crs = 25833\n{LEVEL}[[level]]\nkey = \"b\"\ntitle = \"B\"\nid_field = \"id\"\n"
            ),
            "parent_field or parent_prefix is needed",
        ),
        (
            format!(
                "working_crs = 25833\n{LEVEL}[[indicator]]\nid = \"s\"\ntitle = \"S\"\nkind = \"value\"\nnumerator = \"t.x\"\n[[indicator]]\nid = \"s\"\ntitle = \"S\"\nkind = \"value\"\nnumerator = \"t.y\"\n"
            ),
            "indicator id \"s\" is used twice",
        ),
        (
            format!(
                "working_crs = 25833\n{LEVEL}[[index]]\nid = \"i\"\ntitle = \"I\"\nlevel = \"bzr\"\nstatus = []\n"
            ),
            "index \"i\": level \"bzr\" is not a configured level key",
        ),
        (
            format!(
                "working_crs = 25833\n{LEVEL}[[index]]\nid = \"i\"\ntitle = \"I\"\nlevel = \"plr\"\nstatus = [\"s9\"]\n"
            ),
            "status indicator \"s9\" is not a configured indicator id",
        ),
        (
            format!(
                "working_crs = 25833\n{LEVEL}[points]\nsource = \"p.csv\"\nkey = \"id\"\nx = \"x\"\ny = \"y\"\n"
            ),
            "points: a CSV source needs `crs`",
        ),
    ];
    for (text, want) in cases {
        let e = load(&text).unwrap_err();
        assert!(
            e.contains("c.toml") && e.contains(want),
            "want {want:?}, got: {e}"
        );
    }
}

#[test]
fn basemap_outline_level_and_footer_links() {
    // Off by default: no background map, no links.
    let cfg = load(&format!("working_crs = 25833\n{LEVEL}")).unwrap();
    assert!(cfg.server.basemap.is_none());
    assert!(cfg.server.impressum_url.is_none());
    // An XYZ and a WMS background, an outline level and both links.
    let ok = [
        "[server.basemap]\nkind = \"xyz\"\nurl = \"https://tiles.example/{z}/{x}/{y}.png\"\nattribution = \"© Stadt\"\n",
        "[server.basemap]\nkind = \"wms\"\nurl = \"https://geo.kreis.example/wms\"\nlayers = \"stadtplan\"\nattribution = \"© Kreis\"\nversion = \"1.1.1\"\nopacity = 0.6\n",
    ];
    for b in ok {
        let cfg = load(&format!(
            "working_crs = 25833\n{LEVEL}[server]\nmap_outline_level = \"plr\"\nimpressum_url = \"https://www.stadt.example/impressum\"\ndatenschutz_url = \"/datenschutz.html\"\n{b}"
        ))
        .unwrap();
        assert!(cfg.server.basemap.is_some());
        assert_eq!(cfg.server.map_outline_level.as_deref(), Some("plr"));
        assert_eq!(
            cfg.server.datenschutz_url.as_deref(),
            Some("/datenschutz.html")
        );
    }
    let bad = [
        (
            "[server.basemap]\nkind = \"xyz\"\nurl = \"https://tiles.example/{z}/{x}.png\"\nattribution = \"©\"\n",
            "needs {y}",
        ),
        (
            "[server.basemap]\nkind = \"xyz\"\nurl = \"ftp://tiles.example/{z}/{x}/{y}.png\"\nattribution = \"©\"\n",
            "server.basemap.url",
        ),
        (
            "[server.basemap]\nkind = \"xyz\"\nurl = \"https://t.example/{z}/{x}/{y}.png\"\nattribution = \" \"\n",
            "server.basemap.attribution",
        ),
        (
            "[server.basemap]\nkind = \"wms\"\nurl = \"https://geo.example/wms\"\nattribution = \"©\"\n",
            "server.basemap.layers",
        ),
        (
            "[server.basemap]\nkind = \"wms\"\nurl = \"https://geo.example/wms?REQUEST=GetMap\"\nlayers = \"a\"\nattribution = \"©\"\n",
            "without REQUEST",
        ),
        (
            "[server.basemap]\nkind = \"wms\"\nurl = \"https://geo.example/wms\"\nlayers = \"a\"\nattribution = \"©\"\nopacity = 2.0\n",
            "server.basemap.opacity",
        ),
        (
            "[server.basemap]\nkind = \"tms\"\nurl = \"https://geo.example/\"\nattribution = \"©\"\n",
            "unknown variant",
        ),
        (
            "[server]\nmap_outline_level = \"bezirke\"\n",
            "server.map_outline_level \"bezirke\"",
        ),
        (
            "[server]\nimpressum_url = \"javascript:alert(1)\"\n",
            "server.impressum_url",
        ),
        (
            "[server]\ntile_url = \"https://t.example/{z}/{x}/{y}.png\"\n",
            "tile_url",
        ),
    ];
    for (b, want) in bad {
        let e = load(&format!("working_crs = 25833\n{LEVEL}{b}")).unwrap_err();
        assert!(e.contains(want), "{b}: {e}");
    }
}

/// The keys a section accepts, from serde's own "unknown field" message (so the list cannot
/// drift from the structs).
fn accepted_keys(section_toml: &str) -> Vec<String> {
    let e = match toml::from_str::<kleinraum_load::ProjectConfig>(section_toml) {
        Ok(_) => panic!("zz_unknown was accepted in {section_toml}"),
        Err(e) => e.to_string(),
    };
    let start = e
        .find("expected one of ")
        .or_else(|| e.find("expected "))
        .unwrap_or_else(|| panic!("no key list in: {e}"));
    e[start..]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn demo_toml_documents_every_key_that_exists() {
    let demo = std::fs::read_to_string(crate::common::repo_root().join("data/demo.toml")).unwrap();
    let base = "working_crs = 25832\n[[level]]\nkey = \"a\"\ntitle = \"A\"\nsource = \"a.geojson\"\nid_field = \"id\"\n";
    let sections = [
        ("top level", "zz_unknown = 1\n".to_string() + base),
        ("[[level]]", base.to_string() + "zz_unknown = 1\n"),
        (
            "[points]",
            format!("{base}[points]\nsource = \"p.csv\"\nkey = \"k\"\nzz_unknown = 1\n"),
        ),
        (
            "[[points.join]]",
            format!(
                "{base}[points]\nsource = \"p.csv\"\nkey = \"k\"\n[[points.join]]\nsource = \"j.csv\"\nkey = \"k\"\nyear = 2024\nzz_unknown = 1\n"
            ),
        ),
        (
            "csv",
            format!(
                "{base}[points]\nsource = \"p.csv\"\nkey = \"k\"\ncsv = {{ zz_unknown = 1 }}\n"
            ),
        ),
        (
            "[[facilities]]",
            format!(
                "{base}[[facilities]]\ncategory = \"k\"\ntitle = \"K\"\nsource = \"k.geojson\"\nzz_unknown = 1\n"
            ),
        ),
        (
            "[[table]]",
            format!(
                "{base}[[table]]\nname = \"t\"\nlevel = \"a\"\nsource = \"t.csv\"\nid_field = \"id\"\nyear = 2024\nzz_unknown = 1\n"
            ),
        ),
        (
            "[weights]",
            format!(
                "{base}[weights]\nsource = \"w.csv\"\ntitle = \"W\"\nweight = \"ew\"\nzz_unknown = 1\n"
            ),
        ),
        (
            "[[indicator]]",
            format!(
                "{base}[[indicator]]\nid = \"i\"\ntitle = \"I\"\nkind = \"value\"\nnumerator = \"x\"\nzz_unknown = 1\n"
            ),
        ),
        (
            "[[index]]",
            format!(
                "{base}[[index]]\nid = \"i\"\ntitle = \"I\"\nlevel = \"a\"\nstatus = []\nzz_unknown = 1\n"
            ),
        ),
        (
            "[disclosure]",
            format!("{base}[disclosure]\nzz_unknown = 1\n"),
        ),
        (
            "[[disclosure.additive]]",
            format!("{base}[[disclosure.additive]]\ntotal = \"t\"\nparts = []\nzz_unknown = 1\n"),
        ),
        (
            "[[disclosure.bound]]",
            format!("{base}[[disclosure.bound]]\npart = \"p\"\nwhole = \"w\"\nzz_unknown = 1\n"),
        ),
        ("[server]", format!("{base}[server]\nzz_unknown = 1\n")),
        ("[store]", format!("{base}[store]\nzz_unknown = 1\n")),
        (
            "[[gebietsstand]]",
            format!(
                "{base}[[gebietsstand]]\nkey = \"g\"\nname = \"G\"\nsource = \"g.geojson\"\nid_field = \"id\"\nzz_unknown = 1\n"
            ),
        ),
        (
            "[[auth.token]]",
            format!(
                "{base}[[auth.token]]\nname = \"n\"\nrole = \"planner\"\ntoken_env = \"E\"\nzz_unknown = 1\n"
            ),
        ),
    ];
    let mut missing = Vec::new();
    for (section, text) in &sections {
        let keys = accepted_keys(text);
        assert!(!keys.is_empty(), "{section}");
        for k in keys {
            // `key = …` (also commented out), or a section header `[[key]]` / `[key]`.
            let documented = demo.lines().any(|l| {
                let l = l.trim_start_matches(['#', ' ']);
                l.starts_with(&format!("{k} ="))
                    || l.starts_with(&format!("{k}="))
                    || l.contains(&format!("[[{k}]]"))
                    || l.contains(&format!("[{k}]"))
                    || l.contains(&format!("[[{k}."))
                    || l.contains(&format!(".{k}]]"))
                    || l.contains(&format!(".{k}]"))
                    || l.contains(&format!("{{ {k} ="))
                    || l.contains(&format!(", {k} ="))
            });
            if !documented {
                missing.push(format!("{section}: {k}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "data/demo.toml does not explain: {missing:?}"
    );
}

/// Every place a config names a layer source, and `repair`, decide whether loading it needs
/// GDAL (the `kleinraum` program hands such configs to `kleinraum-gdal`).
#[test]
fn needs_gdal_sees_every_source_and_repair() {
    let berlin = std::fs::read_to_string(repo_root().join("data/berlin.toml")).unwrap();
    let demo = std::fs::read_to_string(repo_root().join("data/demo.toml")).unwrap();
    let needs = |text: &str| {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "c.toml", text);
        ProjectConfig::load(&p)
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .needs_gdal()
    };
    let swap = |text: &str, from: &str, to: &str| {
        assert!(text.contains(from), "the config no longer has {from}");
        text.replacen(from, to, 1)
    };
    assert!(!needs(&berlin));
    assert!(!needs(&demo));
    let cases = [
        // A level, the address points, a facility layer, a configured Gebietsstand.
        swap(&berlin, "plr_2021_epsg25833.geojson.gz", "plr.gpkg"),
        swap(&berlin, "addresses.csv.gz", "adressen.gpkg"),
        swap(&berlin, "kitas_2022-12_epsg25833.geojson", "kitas.fgb"),
        swap(&berlin, "plr_2021_epsg25833.geojson.gz", "PG:dbname=lor"),
        swap(
            &berlin,
            "id_field = \"PLR_ID\"",
            "id_field = \"PLR_ID\"\nrepair = true",
        ),
        swap(&demo, "demo/stadtteile.geojson", "demo/stadtteile.gpkg"),
        swap(
            &demo,
            "[[gebietsstand]]\n",
            "[[gebietsstand]]\nrepair = true\n",
        ),
    ];
    for (i, text) in cases.iter().enumerate() {
        assert!(needs(text), "case {i}");
    }
}
