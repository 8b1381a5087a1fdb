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
