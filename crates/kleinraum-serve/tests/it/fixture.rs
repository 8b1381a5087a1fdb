//! A hand-built publishable result: 3 Planungsräume and 2 Bezirke, 2 years, one index, one
//! facility layer; plus an assignment report with distinctive address points that must never
//! be served.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use geo::{MultiPolygon, polygon};
use http_body_util::BodyExt;
use kleinraum_aggregate::config::{
    DisclosureConfig, IndexConfig, IndicatorConfig, IndicatorKind, Polarity,
};
use kleinraum_aggregate::model::FacilityLayer;
use kleinraum_aggregate::result::*;
use kleinraum_serve::{Catalog, Settings, app};
use std::collections::BTreeMap;
use std::sync::Arc;
use tower::ServiceExt;

/// A distinctive address point: its coordinates and key must appear in no response.
pub const SECRET_X: f64 = 391_234.567_8;
pub const SECRET_Y: f64 = 5_821_987.654_3;
pub const SECRET_KEY: &str = "ADDR-SECRET-4711";

fn square(x0: f64, y0: f64, s: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![polygon![
        (x: x0, y: y0), (x: x0 + s, y: y0), (x: x0 + s, y: y0 + s), (x: x0, y: y0 + s), (x: x0, y: y0)
    ]])
}

fn idx(status: f64, class: u8, attention: bool) -> Option<IndexValue> {
    Some(IndexValue {
        status_value: Some(status),
        status_class: Some(class),
        dynamics_value: Some(0.1),
        dynamics_class: Some(2),
        group: Some(format!("{class}=")),
        attention,
        reason: None,
        status_contributions: vec![Contribution {
            indicator: "anteil_u6".into(),
            z: status,
        }],
        dynamics_contributions: vec![],
    })
}

fn area(
    id: &str,
    name: &str,
    parent: &str,
    x0: f64,
    res: [u64; 2],
    u6: [Count; 2],
    index: [Option<IndexValue>; 2],
) -> AreaResult {
    let [i0, i1] = index;
    let years = [2023, 2024]
        .iter()
        .zip([i0, i1])
        .enumerate()
        .map(|(k, (&year, ix))| AreaYear {
            year,
            counts: vec![Count::published(res[k]), u6[k]],
            indicators: vec![match u6[k].value {
                Some(v) => IndicatorValue::some(v as f64 / res[k] as f64 * 100.0),
                None => IndicatorValue::null(NullReason::Suppressed),
            }],
            indices: vec![ix],
        })
        .collect();
    AreaResult {
        id: id.into(),
        name: name.into(),
        parent: Some(parent.into()),
        geometry: Some(square(x0, 5_820_000.0, 1000.0)),
        area_m2: 1_000_000.0,
        facilities: vec![FacilityStats {
            count: 1,
            capacity: 120.0,
        }],
        years,
    }
}

pub fn result() -> AggregateResult {
    let sup = Count {
        value: None,
        flag: CountFlag::Suppressed,
    };
    let plr = LevelResult {
        key: "planungsraeume".into(),
        title: "Planungsräume".into(),
        areas: vec![
            area(
                "01100101",
                "Wedding",
                "011001",
                390_000.0,
                [1000, 1100],
                [Count::published(50), Count::published(60)],
                [None, idx(1.8, 4, true)],
            ),
            area(
                "01100102",
                "Moabit",
                "011001",
                391_000.0,
                [800, 820],
                [Count::published(40), sup],
                [None, idx(0.2, 2, false)],
            ),
            area(
                "02200203",
                "Mitte Süd",
                "022002",
                392_000.0,
                [500, 510],
                [Count::published(10), Count::published(12)],
                [None, idx(-1.2, 1, false)],
            ),
        ],
    };
    let mut bez = LevelResult {
        key: "bezirke".into(),
        title: "Bezirke".into(),
        areas: vec![
            area(
                "011001",
                "Bezirk A",
                "0",
                390_000.0,
                [1800, 1920],
                [Count::published(90), Count::published(100)],
                [None, None],
            ),
            area(
                "022002",
                "Bezirk B",
                "0",
                392_000.0,
                [500, 510],
                [Count::published(10), Count::published(12)],
                [None, None],
            ),
        ],
    };
    for a in &mut bez.areas {
        a.parent = None;
    }
    AggregateResult {
        working_epsg: 25833,
        years: vec![2023, 2024],
        count_columns: vec!["residents".into(), "age_below_6".into()],
        facility_categories: vec!["kitas".into()],
        facility_titles: vec!["Kitas".into()],
        indicators: vec![IndicatorConfig {
            id: "anteil_u6".into(),
            title: "Kinder unter 6 Jahren".into(),
            kind: IndicatorKind::Share,
            numerator: "age_below_6".into(),
            denominator: Some("residents".into()),
            years: None,
            unit: None,
            source: Some("Einwohnerregister".into()),
            description: Some("Anteil".into()),
            polarity: Polarity::Neutral,
            decimals: 1,
        }],
        indices: vec![IndexConfig {
            id: "mss".into(),
            title: "MSS".into(),
            method: Default::default(),
            level: "planungsraeume".into(),
            years: vec![2024],
            status: vec!["anteil_u6".into()],
            dynamics: vec![],
            population: "residents".into(),
            min_population: 300,
            exclude: vec![],
            status_thresholds: [-1.0, 1.0, 1.5],
            dynamics_thresholds: [-1.0, 1.0],
            attention: vec!["3*".into(), "4*".into()],
            reference: BTreeMap::new(),
            reference_spread: BTreeMap::new(),
            lenient: false,
        }],
        disclosure: DisclosureConfig::default(),
        levels: vec![plr, bez],
        report: AssignmentReport {
            points: 4,
            assigned: 3,
            outside: 1,
            outside_examples: vec![ReportedPoint {
                key: SECRET_KEY.into(),
                x: SECRET_X,
                y: SECRET_Y,
            }],
            facilities_outside: vec![],
            unmatched_table_ids: vec![],
        },
        protection: Default::default(),
    }
}

pub fn kitas() -> FacilityLayer {
    FacilityLayer {
        category: "kitas".into(),
        title: "Kitas".into(),
        x: vec![390_500.0, 392_500.0],
        y: vec![5_820_500.0, 5_820_500.0],
        ids: vec!["K1".into(), "K2".into()],
        names: vec!["Kita Sonnenschein".into(), "Kita Regenbogen".into()],
        capacity: vec![Some(120.0), None],
        attributes: vec![
            BTreeMap::from([("traeger".into(), "Bezirk".into())]),
            BTreeMap::new(),
        ],
    }
}

/// A fake but deterministic reprojection: degrees near Berlin for 4326, shifted metres for UTM.
pub fn fake_reproject(epsg: u32, x: f64, y: f64) -> Result<(f64, f64), String> {
    match epsg {
        4326 => Ok((
            13.0 + (x - 380_000.0) / 68_000.0,
            52.0 + (y - 5_800_000.0) / 111_000.0,
        )),
        25832 => Ok((x + 400_000.0, y + 1_000.0)),
        other => Err(format!("EPSG:{other} not offered")),
    }
}

pub fn settings() -> Settings {
    Settings {
        default_limit: 2,
        max_limit: 2,
        ..Settings::default()
    }
}

pub fn catalog() -> Arc<Catalog> {
    let rp = fake_reproject;
    Arc::new(
        Catalog::build(settings(), &result(), &[kitas()], Arc::new(rp)).expect("catalog builds"),
    )
}

/// The fixture catalog with a reprojection into `epsg` that fails with `message` (the others
/// as in [`catalog`]). It builds: nothing is reprojected at build.
pub fn catalog_failing_into(epsg: u32, message: &'static str) -> Arc<Catalog> {
    let rp = move |to: u32, x: f64, y: f64| {
        if to == epsg {
            Err(message.to_string())
        } else {
            fake_reproject(to, x, y)
        }
    };
    Arc::new(
        Catalog::build(settings(), &result(), &[kitas()], Arc::new(rp)).expect("catalog builds"),
    )
}

/// A response, read whole: the status, the headers, the body as sent (`bytes`) and as text
/// (`body`, lossy UTF-8).
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn header(&self, n: &str) -> &str {
        self.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// One request through `router`, in-process. A `token` is sent as `Authorization: Bearer`, a
/// JSON `body` as `application/json`; `headers` are added as given.
pub async fn request(
    router: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<serde_json::Value>,
) -> Resp {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let resp = router
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes,
    }
}

/// [`request`] with a token and a JSON body, no further headers.
pub async fn call(
    router: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> Resp {
    request(router, method, uri, token, &[], body).await
}

/// [`call`], asserting the status `want`; a mismatch names the request, both statuses and the
/// response body.
pub async fn expect(
    router: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
    want: u16,
) -> Resp {
    let sent = body.as_ref().map(|v| format!(" {v}")).unwrap_or_default();
    let r = call(router, method, uri, token, body).await;
    assert_eq!(
        r.status.as_u16(),
        want,
        "{method} {uri}{sent}: expected {want}, got {}: {}",
        r.status,
        r.body
    );
    r
}

pub async fn get_with(cat: &Arc<Catalog>, uri: &str, headers: &[(&str, &str)]) -> Resp {
    request(&app(cat.clone()), "GET", uri, None, headers, None).await
}

pub async fn get(cat: &Arc<Catalog>, uri: &str) -> Resp {
    get_with(cat, uri, &[]).await
}
