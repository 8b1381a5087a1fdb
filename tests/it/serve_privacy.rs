//! Privacy end to end: no response of `kleinraum serve` contains an address-level coordinate,
//! key, street or count.
//!
//! A tiny project is written to a tempdir: three 1 km squares (two parent districts), four
//! address points in each square plus one outside every square, two years of counts and one
//! public facility layer. Every planted per-address value is distinctive and provably differs
//! from every publishable area total (asserted below), because a point alone in an area would
//! make its count the area total, which *is* publishable. The real binary is started and
//! crawled: every link it hands out (JSON `href`s, HTML `href`/`src`), every collection and
//! item in every CRS and format, queryables, schema, time series, index rankings, downloads,
//! the web map and its assets, and a list of bad requests. Each response (headers and body) is
//! searched for the planted strings and, number by number, for any value within rounding
//! distance of a planted coordinate (working CRS, EPSG:25832, CRS84 and EPSG:4326) or equal
//! to a planted count.

use kleinraum_load::crs::Reprojector;
use std::collections::{BTreeSet, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{Resp, Server, fresh_store};

const WORKING: u32 = 25833;
const YEARS: [i32; 2] = [2023, 2024];
const COUNT_COLS: [&str; 4] = ["residents", "age_below_6", "age_above_65", "foreigners"];
/// Lower-left corners of the three areas (1 km squares, working CRS) and their parents.
const AREAS: [(&str, &str, f64, f64); 3] = [
    ("A01", "P1", 400_000.0, 5_800_000.0),
    ("A02", "P1", 401_000.0, 5_800_000.0),
    ("A03", "P2", 400_000.0, 5_801_000.0),
];
/// Offsets of the address points inside each square: ≥ 150 m from every edge and from the
/// centre, so no vertex, bbox or centroid of an area is within rounding distance of a point.
const OFFSETS: [(f64, f64); 4] = [
    (213.4567, 287.1234),
    (742.3141, 231.5926),
    (268.2718, 771.8281),
    (811.1618, 688.0339),
];

/// One planted address: key, working-CRS coordinate, counts per year (`[year][column]`).
struct Addr {
    key: String,
    street: String,
    x: f64,
    y: f64,
    area: Option<usize>,
    counts: [[u64; 4]; 2],
}

fn addresses() -> Vec<Addr> {
    let mut out = Vec::new();
    let mut i = 0u64;
    for (ai, &(_, _, ox, oy)) in AREAS.iter().enumerate() {
        for (pi, &(dx, dy)) in OFFSETS.iter().enumerate() {
            // Per-area fractional tweak keeps every coordinate string unique.
            let tweak = ai as f64 * 3.0103 + pi as f64 * 0.0007;
            out.push(Addr {
                key: format!("ZQADR{:04}", 7301 + i),
                street: format!("Zzgeheimgasse {}", 11 + i),
                x: ox + dx + tweak,
                y: oy + dy + tweak,
                area: Some(ai),
                counts: counts(i),
            });
            i += 1;
        }
    }
    // Outside every area: the engine reports it to the operator only.
    out.push(Addr {
        key: "ZQADR9911".into(),
        street: "Zzgeheimgasse 99".into(),
        x: 399_123.432_1,
        y: 5_799_377.876_5,
        area: None,
        counts: counts(i),
    });
    out
}

/// Distinctive 4-digit counts (no token collision with years, small ids or flags).
fn counts(i: u64) -> [[u64; 4]; 2] {
    let mut c = [[0; 4]; 2];
    for (k, row) in c.iter_mut().enumerate() {
        let k = k as u64;
        *row = [
            5011 + 317 * i + 41 * k,
            1013 + 139 * i + 23 * k,
            2027 + 171 * i + 37 * k,
            3049 + 83 * i + 19 * k,
        ];
    }
    c
}

fn write_project(dir: &Path, addrs: &[Addr]) -> PathBuf {
    let square = |x0: f64, y0: f64| {
        format!(
            "[[[{x0},{y0}],[{},{y0}],[{},{}],[{x0},{}],[{x0},{y0}]]]",
            x0 + 1000.0,
            x0 + 1000.0,
            y0 + 1000.0,
            y0 + 1000.0
        )
    };
    let feats: Vec<String> = AREAS
        .iter()
        .map(|&(id, parent, x0, y0)| {
            format!(
                r#"{{"type":"Feature","properties":{{"id":"{id}","name":"Gebiet {id}","parent":"{parent}"}},"geometry":{{"type":"Polygon","coordinates":{}}}}}"#,
                square(x0, y0)
            )
        })
        .collect();
    let crs = r#""crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::25833"}}"#;
    std::fs::write(
        dir.join("gebiete.geojson"),
        format!(
            r#"{{"type":"FeatureCollection",{crs},"features":[{}]}}"#,
            feats.join(",")
        ),
    )
    .unwrap();
    let parents = [
        ("P1", "Bezirk Eins", 400_000.0, 5_800_000.0, 402_000.0),
        ("P2", "Bezirk Zwei", 400_000.0, 5_801_000.0, 401_000.0),
    ];
    let pfeats: Vec<String> = parents
        .iter()
        .map(|&(id, name, x0, y0, x1)| {
            format!(
                r#"{{"type":"Feature","properties":{{"id":"{id}","name":"{name}"}},"geometry":{{"type":"Polygon","coordinates":[[[{x0},{y0}],[{x1},{y0}],[{x1},{}],[{x0},{}],[{x0},{y0}]]]}}}}"#,
                y0 + 1000.0,
                y0 + 1000.0
            )
        })
        .collect();
    std::fs::write(
        dir.join("bezirke.geojson"),
        format!(
            r#"{{"type":"FeatureCollection",{crs},"features":[{}]}}"#,
            pfeats.join(",")
        ),
    )
    .unwrap();
    // Public facilities: their coordinates may be served (they are not address data).
    std::fs::write(
        dir.join("kitas.geojson"),
        format!(
            r#"{{"type":"FeatureCollection",{crs},"features":[
{{"type":"Feature","properties":{{"nr":"K1","name":"Kita Eins","plaetze":64}},"geometry":{{"type":"Point","coordinates":[400600.5,5800400.5]}}}},
{{"type":"Feature","properties":{{"nr":"K2","name":"Kita Zwei","plaetze":48}},"geometry":{{"type":"Point","coordinates":[401400.5,5800600.5]}}}}]}}"#
        ),
    )
    .unwrap();
    let mut pts = String::from("addr_id,strasse,x,y\n");
    for a in addrs {
        pts.push_str(&format!("{},{},{:.4},{:.4}\n", a.key, a.street, a.x, a.y));
    }
    std::fs::write(dir.join("adressen.csv"), pts).unwrap();
    for (k, year) in YEARS.iter().enumerate() {
        let mut s = format!("addr_id,{}\n", COUNT_COLS.join(","));
        for a in addrs {
            let v: Vec<String> = a.counts[k].iter().map(u64::to_string).collect();
            s.push_str(&format!("{},{}\n", a.key, v.join(",")));
        }
        std::fs::write(dir.join(format!("bestand_{year}.csv")), s).unwrap();
    }
    let config = format!(
        r#"title = "Datenschutzprobe"
working_crs = {WORKING}

[[level]]
key = "gebiete"
title = "Gebiete"
source = "gebiete.geojson"
id_field = "id"
name_field = "name"
parent_field = "parent"

[[level]]
key = "bezirke"
title = "Bezirke"
source = "bezirke.geojson"
id_field = "id"
name_field = "name"

[points]
source = "adressen.csv"
key = "addr_id"
x = "x"
y = "y"
crs = {WORKING}

[[points.join]]
source = "bestand_2023.csv"
key = "addr_id"
year = 2023

[[points.join]]
source = "bestand_2024.csv"
key = "addr_id"
year = 2024

[[facilities]]
category = "kitas"
title = "Kitas"
source = "kitas.geojson"
id_field = "nr"
name_field = "name"
capacity_field = "plaetze"

[[indicator]]
id = "anteil_u6"
title = "Kinder unter 6 Jahren"
kind = "share"
numerator = "age_below_6"
denominator = "residents"
polarity = "neutral"

[[indicator]]
id = "anteil_auslaender"
title = "Ausländer:innen"
kind = "share"
numerator = "foreigners"
denominator = "residents"

[[indicator]]
id = "kita_versorgung"
title = "Kita-Plätze je 100 Kinder unter 6"
kind = "supply_rate"
numerator = "kitas.capacity"
denominator = "age_below_6"
polarity = "higher_is_better"

[[index]]
id = "probe"
title = "Probeindex"
level = "gebiete"
years = [2023, 2024]
status = ["anteil_auslaender"]
dynamics = []
population = "residents"
min_population = 1
status_thresholds = [-1.0, 1.0, 1.5]
dynamics_thresholds = [-1.0, 1.0]

[disclosure]
threshold = 3
"#
    );
    let path = dir.join("probe.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// Starts `kleinraum serve CONFIG` on its own Gebietsstände store (no test writes into
/// `data/`); the web map is found in the repository (the tempdir has none).
fn start(config: &Path) -> Server {
    let store = fresh_store().display().to_string();
    Server::start(
        &config.display().to_string(),
        &[("KLEINRAUM_STORE", store.as_str())],
        Duration::from_secs(120),
    )
}

/// `GET` without asking for compression (the checks read the bodies as sent).
fn get(addr: &str, target: &str, accept: Option<&str>) -> Resp {
    let accept = accept.map(|a| format!("Accept: {a}"));
    crate::common::get(
        addr,
        target,
        accept
            .as_slice()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
    )
}

/// Numbers in a text, as (token, value): maximal `-?digits(.digits)?` runs not glued to letters
/// (so hashes and CSS units like `37px` are skipped).
fn numbers(text: &str) -> Vec<(&str, f64)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit()
            && (i == 0
                || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.' || b[i - 1] == b'_'))
        {
            let start = if i > 0 && b[i - 1] == b'-' { i - 1 } else { i };
            let mut j = i;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let int_end = j;
            if j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
                j += 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
            }
            let glued = j < b.len() && (b[j].is_ascii_alphabetic() || b[j] == b'_');
            if !glued {
                let tok = &text[start..j];
                if let Ok(v) = tok.parse::<f64>() {
                    out.push((tok, v));
                }
            }
            // Decimal comma (the Excel CSV): also read `12,5` as 12.5, but go on after the
            // integer, so the JSON array `[5011,5012]` still yields 5011 and 5012.
            if j == int_end && j + 1 < b.len() && b[j] == b',' && b[j + 1].is_ascii_digit() {
                let mut k = j + 1;
                while k < b.len() && b[k].is_ascii_digit() {
                    k += 1;
                }
                let tok = &text[start..k];
                if let Ok(v) = tok.replace(',', ".").parse::<f64>() {
                    out.push((tok, v));
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// What must never be served.
struct Secrets {
    /// Exact strings: keys, streets, coordinate prefixes.
    strings: Vec<String>,
    /// (value, tolerance, what): coordinates in every output CRS.
    coords: Vec<(f64, f64, String)>,
    /// Per-address counts.
    counts: HashSet<u64>,
}

fn secrets(addrs: &[Addr]) -> Secrets {
    let to32 = Reprojector::new(WORKING, 25832).expect("reprojector 25832");
    let to4326 = Reprojector::new(WORKING, 4326).expect("reprojector 4326");
    let mut strings = Vec::new();
    let mut coords = Vec::new();
    let mut counts = HashSet::new();
    for a in addrs {
        strings.push(a.key.clone());
        strings.push(a.street.clone());
        let (x32, y32) = to32.transform(a.x, a.y).unwrap();
        let (lon, lat) = to4326.transform(a.x, a.y).unwrap();
        for (v, what) in [
            (a.x, "x EPSG:25833"),
            (a.y, "y EPSG:25833"),
            (x32, "x EPSG:25832"),
            (y32, "y EPSG:25832"),
        ] {
            // Metres to 1 decimal (truncated and rounded): any finer output starts with one.
            strings.push(format!("{:.1}", (v * 10.0).trunc() / 10.0));
            strings.push(format!("{v:.1}"));
            coords.push((v, 0.5, format!("{} {what}", a.key)));
        }
        for (v, what) in [(lon, "longitude"), (lat, "latitude")] {
            strings.push(format!("{:.5}", (v * 1e5).trunc() / 1e5));
            strings.push(format!("{v:.5}"));
            // 5e-5° ≈ 3.5–5.5 m: a coordinate rounded to 4 decimals still counts as a leak.
            coords.push((v, 5e-5, format!("{} {what}", a.key)));
        }
        for row in &a.counts {
            counts.extend(row.iter().copied());
        }
    }
    Secrets {
        strings,
        coords,
        counts,
    }
}

/// Every publishable count total: per area, per parent, per year, per column. The planted
/// per-address counts must differ from all of them, or a leak could not be told apart.
fn publishable_totals(addrs: &[Addr]) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    for k in 0..YEARS.len() {
        for c in 0..COUNT_COLS.len() {
            let area = |ai: usize| -> u64 {
                addrs
                    .iter()
                    .filter(|a| a.area == Some(ai))
                    .map(|a| a.counts[k][c])
                    .sum()
            };
            let (a1, a2, a3) = (area(0), area(1), area(2));
            out.extend([a1, a2, a3, a1 + a2, a1 + a2 + a3]);
        }
    }
    out
}

fn check(url: &str, r: &Resp, s: &Secrets, static_asset: bool) -> Vec<String> {
    let mut bad = Vec::new();
    let body = String::from_utf8_lossy(&r.body);
    for needle in &s.strings {
        if r.header_lines().contains(needle.as_str()) {
            bad.push(format!("{url}: header contains {needle:?}"));
        }
        if body.contains(needle.as_str()) {
            bad.push(format!("{url}: body contains {needle:?}"));
        }
    }
    // Static files of the web map hold many numeric constants of their own and no data:
    // strings only.
    if !static_asset {
        let ctx = |tok: &str, text: &str| -> String {
            // Where a token sits, for the failure message.
            let p = text.as_ptr() as usize;
            let t = tok.as_ptr() as usize;
            if t < p || t > p + text.len() {
                return String::new();
            }
            let i = t - p;
            let a = text[..i].char_indices().rev().nth(40).map_or(0, |(k, _)| k);
            let b = text[i..]
                .char_indices()
                .nth(40 + tok.len())
                .map_or(text.len(), |(k, _)| i + k);
            format!(" in …{}…", &text[a..b])
        };
        // The body length is the one number in the headers that is not content.
        let headers: String = r
            .header_lines()
            .lines()
            .filter(|l| !l.to_ascii_lowercase().starts_with("content-length:"))
            .collect::<Vec<_>>()
            .join("\n");
        for (tok, v, src) in numbers(&body)
            .into_iter()
            .map(|(t, v)| (t, v, &body[..]))
            .chain(
                numbers(&headers)
                    .into_iter()
                    .map(|(t, v)| (t, v, &headers[..])),
            )
        {
            for (c, tol, what) in &s.coords {
                if (v - c).abs() < *tol {
                    bad.push(format!(
                        "{url}: number {tok} is the coordinate {what} ({c}){}",
                        ctx(tok, src)
                    ));
                }
            }
            if v.fract() == 0.0 && v > 0.0 && s.counts.contains(&(v as u64)) {
                bad.push(format!(
                    "{url}: number {tok} is a per-address count{}",
                    ctx(tok, src)
                ));
            }
        }
    }
    bad
}

/// Links in a response: JSON `href` values, HTML `href`/`src` attributes; same server only,
/// resolved against `from`.
fn links(from: &str, r: &Resp, addr: &str) -> Vec<String> {
    let body = String::from_utf8_lossy(&r.body);
    let ty = r.header("content-type").unwrap_or("");
    let mut raw = Vec::new();
    if ty.contains("json") {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) {
            collect_hrefs(&v, &mut raw);
        }
    } else if ty.contains("html") {
        for attr in ["href=\"", "src=\""] {
            let mut rest = &body[..];
            while let Some(i) = rest.find(attr) {
                rest = &rest[i + attr.len()..];
                if let Some(end) = rest.find('"') {
                    raw.push(rest[..end].replace("&amp;", "&"));
                }
            }
        }
    }
    let origin = format!("http://{addr}");
    let dir = &from[..from.split('?').next().unwrap().rfind('/').unwrap() + 1];
    raw.into_iter()
        .filter_map(|h| {
            let h = h.split('#').next().unwrap().to_string();
            if h.is_empty() || h.contains('{') {
                None
            } else if let Some(p) = h.strip_prefix(&origin) {
                Some(if p.is_empty() {
                    "/".into()
                } else {
                    p.to_string()
                })
            } else if h.starts_with("//")
                || h.contains("://")
                || h.starts_with("data:")
                || h.starts_with("mailto:")
            {
                None
            } else if h.starts_with('/') {
                Some(h)
            } else {
                Some(format!("{dir}{}", h.trim_start_matches("./")))
            }
        })
        .collect()
}

fn collect_hrefs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("href", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => collect_hrefs(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_hrefs(x, out)),
        _ => {}
    }
}

fn json(r: &Resp, url: &str) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{url}: not JSON ({e})"))
}

#[test]
fn no_response_contains_address_level_data() {
    let dir = tempfile::tempdir().unwrap();
    let addrs = addresses();
    let config = write_project(dir.path(), &addrs);

    // The test is only meaningful if a planted count cannot coincide with a published total.
    let totals = publishable_totals(&addrs);
    let sec = secrets(&addrs);
    for c in &sec.counts {
        assert!(
            !totals.contains(c),
            "test setup: per-address count {c} equals a publishable total"
        );
    }

    let srv = start(&config);
    let a = srv.addr.clone();

    // Explicit targets: every collection × CRS × format, every item, and the side endpoints.
    let mut seeds: Vec<(String, Option<&str>)> = [
        "/",
        "/?f=json",
        "/?f=html",
        "/api",
        "/api?f=json",
        "/api?f=html",
        "/conformance",
        "/conformance?f=html",
        "/collections",
        "/collections?f=html",
        "/indicators",
        "/indicators?f=html",
        "/map/",
        // Gebietsstände (the config's level is the base version "basis").
        "/auth",
        "/gebietsstaende",
        "/gebietsstaende/basis/areas",
        "/gebietsstaende/basis/vergleich/basis",
        "/gebietsstaende/basis/vergleich/basis?f=csv",
        "/gebietsstaende/basis/crosswalk/basis",
        "/gebietsstaende/nix/areas",
        "/gebietsstaende/basis/areas?year=1999",
        "/entwurf",
        "/audit",
    ]
    .iter()
    .map(|s| (s.to_string(), None))
    .collect();
    for accept in [
        "text/html",
        "application/json",
        "application/geo+json",
        "*/*",
    ] {
        seeds.push(("/".into(), Some(accept)));
        seeds.push(("/collections".into(), Some(accept)));
    }

    let r = get(&a, "/collections?f=json", None);
    assert_eq!(r.status, 200);
    let cols = json(&r, "/collections");
    let ids: Vec<String> = cols["collections"]
        .as_array()
        .expect("collections array")
        .iter()
        .map(|c| c["id"].as_str().expect("collection id").to_string())
        .collect();
    // Exactly the levels (with the engine's whole-town level) and the facility layer: no
    // collection for the address points.
    let got: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(
        got,
        BTreeSet::from([
            "gebiete",
            "bezirke",
            kleinraum_aggregate::aggregate::TOTAL_LEVEL_KEY,
            "kitas"
        ]),
        "collections served"
    );
    for id in &ids {
        let l = id.to_lowercase();
        assert!(
            !["point", "punkt", "adress", "address"]
                .iter()
                .any(|w| l.contains(w)),
            "collection {id} looks like address points"
        );
    }

    let crs_list = [
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "http://www.opengis.net/def/crs/EPSG/0/4326",
        "http://www.opengis.net/def/crs/EPSG/0/25832",
        "http://www.opengis.net/def/crs/EPSG/0/25833",
    ];
    let mut area_fids: Vec<(String, String)> = Vec::new();
    for id in &ids {
        let p = format!("/collections/{id}");
        for q in ["", "?f=json", "?f=html"] {
            seeds.push((format!("{p}{q}"), None));
        }
        for sub in ["queryables", "queryables?f=html", "schema", "index"] {
            seeds.push((format!("{p}/{sub}"), None));
        }
        for f in ["geojson", "csv", "csv-excel", "gpkg"] {
            seeds.push((format!("{p}/download?format={f}"), None));
        }
        for crs in crs_list {
            for f in ["json", "html"] {
                seeds.push((format!("{p}/items?limit=1000&crs={crs}&f={f}"), None));
            }
            seeds.push((
                format!("{p}/items?bbox=399000,5799000,403000,5803000&bbox-crs={crs}&crs={crs}"),
                None,
            ));
        }
        for y in YEARS {
            seeds.push((format!("{p}/items?datetime={y}&limit=1000"), None));
            seeds.push((format!("{p}/items?year={y}&f=html"), None));
            seeds.push((format!("{p}/items?filter=year%20%3D%20{y}"), None));
        }
        seeds.push((format!("{p}/items?limit=1"), None));
        seeds.push((format!("{p}/items?datetime=2000/2100&limit=1000"), None));
        seeds.push((format!("{p}/items?f=json"), Some("application/geo+json")));
        let r = get(
            &a,
            &format!("{p}/items?limit=1000&datetime=2000/2100"),
            None,
        );
        assert_eq!(r.status, 200, "{p}/items");
        let items = json(&r, &p);
        let feats = items["features"].as_array().expect("features");
        assert!(!feats.is_empty(), "{p}/items is empty");
        let fids: BTreeSet<String> = feats
            .iter()
            .map(|f| match &f["id"] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        for fid in fids {
            let fp = format!("{p}/items/{fid}");
            for crs in crs_list {
                seeds.push((format!("{fp}?crs={crs}"), None));
                seeds.push((format!("{fp}?crs={crs}&f=html"), None));
            }
            for y in YEARS {
                seeds.push((format!("{fp}?datetime={y}"), None));
            }
            seeds.push((format!("{fp}/timeseries"), None));
            if id != "kitas" {
                area_fids.push((id.clone(), fid));
            }
        }
        for y in YEARS {
            seeds.push((format!("{p}/index?index=probe&year={y}"), None));
        }
        seeds.push((format!("{p}/index?index=probe"), None));
    }
    assert_eq!(
        area_fids.len(),
        6,
        "3 areas + 2 districts + the whole town: {area_fids:?}"
    );

    // Bad requests: every error message must stay free of address data too.
    for bad in [
        "/collections/adressen",
        "/collections/points",
        "/collections/adressen/items",
        "/collections/gebiete/items/XX99",
        "/collections/gebiete/items/XX99/timeseries",
        "/collections/gebiete/items?limit=-1",
        "/collections/gebiete/items?limit=abc",
        "/collections/gebiete/items?limit=99999999",
        "/collections/gebiete/items?offset=-5",
        "/collections/gebiete/items?offset=100",
        "/collections/gebiete/items?bbox=1,2,3",
        "/collections/gebiete/items?bbox=a,b,c,d",
        "/collections/gebiete/items?bbox=399000,5799000,399500,5799500&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/25833",
        "/collections/gebiete/items?crs=EPSG:3857",
        "/collections/gebiete/items?datetime=1999",
        "/collections/gebiete/items?datetime=nonsense",
        "/collections/gebiete/items?filter=residents%20%3E",
        "/collections/gebiete/items?filter=addr_id%20%3D%20%27x%27",
        "/collections/gebiete/items?filter-lang=cql2-json&filter=x",
        "/collections/gebiete/items?addr_id=1",
        "/collections/gebiete/items?residents=5",
        "/collections/gebiete/items?f=xml",
        "/collections/gebiete/items/A01?crs=EPSG:1",
        "/collections/gebiete/items/A01?unknown=1",
        "/collections/gebiete/items/A01?datetime=1999",
        "/collections/gebiete/index?index=nix",
        "/collections/gebiete/index?index=probe&year=1999",
        "/collections/gebiete/index?year=abc",
        "/collections/kitas/index",
        "/collections/gebiete/download?format=shp",
        "/collections/gebiete/queryables?f=xml",
        "/nothing/here",
        "/map/missing.js",
        "/api?f=yaml",
    ] {
        seeds.push((bad.to_string(), None));
    }

    // Crawl: seeds first, then every link handed out.
    let mut queue: VecDeque<(String, Option<&str>)> = seeds.into_iter().collect();
    let mut seen: HashSet<(String, Option<&str>)> = HashSet::new();
    let mut leaks = Vec::new();
    let mut server_errors = Vec::new();
    let mut visited = 0usize;
    let mut map_assets = 0usize;
    let mut all_bodies = String::new();
    // Canary: a public kita checked exactly like an address. Its hits prove that the crawl and
    // the checks would see a served location in every CRS.
    let canary = secrets(&[Addr {
        key: "Kita Eins".into(),
        street: "Kita Eins".into(),
        x: 400_600.5,
        y: 5_800_400.5,
        area: Some(0),
        counts: [[0; 4]; 2],
    }]);
    let mut canary_hits = Vec::new();
    while let Some((url, accept)) = queue.pop_front() {
        if !seen.insert((url.clone(), accept)) {
            continue;
        }
        assert!(visited < 5000, "crawl does not terminate (5000 requests)");
        visited += 1;
        let r = get(&a, &url, accept);
        let ty = r.header("content-type").unwrap_or("").to_string();
        let static_asset = url.starts_with("/map/")
            && !ty.contains("html")
            && !ty.contains("json")
            && r.status == 200;
        if url.starts_with("/map/") && r.status == 200 {
            map_assets += 1;
        }
        // 501: GeoPackage download not built in; every other 5xx is a bug.
        if r.status >= 500 && r.status != 501 {
            server_errors.push(format!("{url}: {}", r.status));
        }
        leaks.extend(check(&url, &r, &sec, static_asset));
        canary_hits.extend(check(&url, &r, &canary, static_asset));
        if r.status == 200 && !static_asset {
            all_bodies.push_str(&String::from_utf8_lossy(&r.body));
        }
        if r.status == 200 {
            for l in links(&url, &r, &a) {
                queue.push_back((l, None));
            }
        }
    }
    // Reports: their text (not their compressed bytes) is checked like every other answer,
    // and it must show the publishable totals (positive control below).
    for path in [
        "/reports/monitoring",
        "/reports/monitoring?format=docx",
        "/reports/steckbrief",
        "/reports/steckbrief?format=docx",
        "/reports/steckbrief?level=bezirke",
        "/reports/sozialraumgebiete?format=docx",
        "/reports/karte?indicator=anteil_u6",
    ] {
        for y in YEARS {
            let url = format!(
                "{path}{}year={y}",
                if path.contains('?') { '&' } else { '?' }
            );
            let r = get(&a, &url, None);
            if r.status != 200 {
                server_errors.push(format!(
                    "{url}: {} {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                ));
                continue;
            }
            let text = if url.contains("docx") {
                crate::common::docx_text(&r.body).0
            } else {
                crate::common::pdf_text(&r.body)
            };
            let as_text = Resp {
                status: 200,
                headers: Vec::new(),
                body: text.into_bytes(),
            };
            leaks.extend(check(&url, &as_text, &sec, false));
            visited += 1;
        }
    }
    drop(srv);

    assert!(
        leaks.is_empty(),
        "address-level data served:\n{}",
        leaks.join("\n")
    );
    assert!(
        server_errors.is_empty(),
        "5xx responses:\n{}",
        server_errors.join("\n")
    );
    eprintln!("crawled {visited} responses ({map_assets} of the web map)");
    assert!(visited > 200, "crawl too small: {visited} requests");
    for what in [
        "body contains \"Kita Eins\"",
        "x EPSG:25833",
        "y EPSG:25833",
        "x EPSG:25832",
        "y EPSG:25832",
        "longitude",
        "latitude",
    ] {
        assert!(
            canary_hits.iter().any(|h| h.contains(what)),
            "the checks never saw the public kita's {what}: they would miss a leak"
        );
    }
    assert!(
        map_assets >= 2,
        "web map and its assets not crawled ({map_assets})"
    );

    // Positive control: the crawl did see the publishable data the secrets are checked
    // against: every area total, and the area corners in the working CRS.
    let served: HashSet<u64> = numbers(&all_bodies)
        .into_iter()
        .filter(|(_, v)| v.fract() == 0.0 && *v > 0.0)
        .map(|(_, v)| v as u64)
        .collect();
    let missing: Vec<u64> = totals
        .iter()
        .copied()
        .filter(|t| !served.contains(t))
        .collect();
    assert!(
        missing.is_empty(),
        "publishable totals never served (is the crawl blind?): {missing:?}"
    );
    assert!(
        all_bodies.contains("401000"),
        "working-CRS geometry never served"
    );
}

#[test]
fn number_scanner_finds_coordinates_and_skips_glued_tokens() {
    let n: Vec<f64> = numbers("[401213.46,5800287.12] 37px a7777 -13.25 \"5011\" [5011,5012]")
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(
        n,
        vec![
            401213.46, 5800287.12, -13.25, 5011.0, 5011.0, 5011.5012, 5012.0
        ]
    );
    // Excel CSV: decimal comma.
    let n: Vec<f64> = numbers("A01;13,2034567;52,4")
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(n, vec![13.0, 13.2034567, 2034567.0, 52.0, 52.4, 4.0]);
}
