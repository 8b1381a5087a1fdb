//! The HTTP handlers: OGC API – Features Core, CRS, queryables/filter, plus the indicator
//! catalogue, time series, index ranking and downloads.

use crate::catalog::{Catalog, Collection, CollectionKind, DownloadFormat, formula};
use crate::crs::OutputCrs;
use crate::error::ApiError;
use crate::query::{self, Format, negotiate};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::Arc;

/// Conformance classes this server implements.
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
];

/// What every handler needs from the request (an extractor: handlers take `ctx: Ctx`).
pub struct Ctx {
    /// `scheme://host[:port][/prefix]` the links are built on (see [`crate::net::base_url`]).
    pub base: String,
    /// Decoded query pairs.
    pub pairs: Vec<(String, String)>,
    /// The `Accept` header.
    pub accept: Option<String>,
    /// Request path.
    pub path: String,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let base = parts
            .extensions
            .get::<crate::net::BaseUrl>()
            .map_or_else(|| "http://localhost".to_string(), |b| b.0.clone());
        Ok(Ctx::new(base, &parts.uri, &parts.headers))
    }
}

impl Ctx {
    /// Builds the context from the base URL, the URI and the headers.
    pub fn new(base: String, uri: &Uri, headers: &HeaderMap) -> Ctx {
        let pairs = uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Ctx {
            base,
            pairs,
            accept: headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            path: uri.path().to_string(),
        }
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    /// Refuses query parameters other than `allowed` (400). The parameters of `/items` are
    /// tolerated everywhere (and ignored where they mean nothing): GDAL repeats the query of a
    /// connection URL (`OAPIF:http://host?datetime=2020`) on every request it makes, the
    /// landing page and `/api` included.
    pub fn allow(&self, allowed: &[&str]) -> Result<(), ApiError> {
        let all: Vec<&str> = allowed.iter().chain(query::ITEMS_PARAMS).copied().collect();
        query::check_params(&self.pairs, &all)
    }
    fn format(&self) -> Result<Format, ApiError> {
        negotiate(self.get("f"), self.accept.as_deref())
    }
    /// Absolute URL of `path` with query pairs.
    pub fn url(&self, path: &str, pairs: &[(&str, &str)]) -> String {
        let mut s = format!("{}{}", self.base, path);
        if !pairs.is_empty() {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                ser.append_pair(k, v);
            }
            s.push('?');
            s.push_str(&ser.finish());
        }
        s
    }
    /// This request's URL with `f` set and other parameters replaced.
    fn self_url(&self, f: &str, replace: &[(&str, String)]) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .pairs
            .iter()
            .filter(|(k, _)| k != "f" && !replace.iter().any(|(r, _)| r == k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for (k, v) in replace {
            pairs.push((k, v.as_str()));
        }
        pairs.push(("f", f));
        self.url(&self.path, &pairs)
    }
}

fn link(href: String, rel: &str, ty: &str, title: &str) -> Value {
    json!({"href": href, "rel": rel, "type": ty, "title": title})
}

fn json_response(ty: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, ty)], body).into_response()
}

fn html_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A minimal German HTML page; `base` prefixes the navigation links (reverse proxies).
fn page(ctx: &Ctx, title: &str, body: &str) -> String {
    let b = esc(&ctx.base);
    format!(
        "<!DOCTYPE html>\n<html lang=\"de\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>body{{font-family:system-ui,sans-serif;margin:1.5em;max-width:80em}}\
         table{{border-collapse:collapse;font-size:.85em}}td,th{{border:1px solid #ccc;padding:.2em .4em;text-align:left}}\
         nav a{{margin-right:1em}}</style></head><body>\
         <nav><a href=\"{b}/?f=html\">Start</a><a href=\"{b}/collections?f=html\">Datensätze</a>\
         <a href=\"{b}/map/\">Karte</a><a href=\"{b}/indicators?f=html\">Indikatoren</a></nav>\
         <h1>{t}</h1>{body}</body></html>",
        t = esc(title)
    )
}

/// For resources offered as JSON only: `f=html` (or an HTML-only `Accept`) is 406, an unknown
/// `f` is 400.
fn json_only(ctx: &Ctx, what: &str) -> Result<(), ApiError> {
    if ctx.format()? != Format::Json {
        return Err(ApiError::NotAcceptable(format!(
            "{what} is offered as JSON only (f=json)"
        )));
    }
    Ok(())
}

fn unknown_collection(id: &str) -> ApiError {
    ApiError::NotFound(format!("unknown collection '{id}'"))
}

fn find<'a>(cat: &'a Catalog, id: &str) -> Result<&'a Collection, ApiError> {
    cat.collection(id).ok_or_else(|| unknown_collection(id))
}

/// `GET /`
pub async fn landing(State(cat): State<Arc<Catalog>>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.allow(&["f"])?;
    let title = format!("kleinraum – {}", cat.settings.title);
    let description = "Kleinräumige Sozialplanung: Sozialräume mit Bevölkerungszahlen, Indikatoren, \
                       Indexklassen und Sozialraumgebieten; soziale Infrastruktur. OGC API – Features.";
    match ctx.format()? {
        Format::Json => {
            let body = json!({
                "title": title,
                "description": description,
                "links": [
                    link(ctx.url("/", &[("f", "json")]), "self", "application/json", "Diese Seite"),
                    link(ctx.url("/", &[("f", "html")]), "alternate", "text/html", "Diese Seite als HTML"),
                    link(ctx.url("/api", &[]), "service-desc", "application/vnd.oai.openapi+json;version=3.0", "API-Beschreibung (OpenAPI 3.0)"),
                    link(ctx.url("/api", &[("f", "html")]), "service-doc", "text/html", "API-Dokumentation"),
                    link(ctx.url("/conformance", &[]), "conformance", "application/json", "Konformitätsklassen"),
                    link(ctx.url("/collections", &[]), "data", "application/json", "Datensätze"),
                    link(ctx.url("/indicators", &[]), "describedby", "application/json", "Indikatorenkatalog"),
                    link(ctx.url("/map/", &[]), "related", "text/html", "Karte"),
                    link(ctx.url("/map-config", &[]), "related", "application/json", "Kartenkonfiguration"),
                ]
            });
            Ok(json_response("application/json", body.to_string()))
        }
        Format::Html => {
            let mut b = format!("<p>{}</p><ul>", esc(description));
            for (path, f, text) in [
                ("/map/", None, "Karte der Sozialräume"),
                ("/collections", Some("html"), "Datensätze (Collections)"),
                ("/indicators", Some("html"), "Indikatorenkatalog"),
                ("/api", None, "API-Beschreibung (OpenAPI 3.0, JSON)"),
                ("/conformance", Some("html"), "Konformitätsklassen"),
            ] {
                let pairs: Vec<(&str, &str)> = f.map(|f| ("f", f)).into_iter().collect();
                let _ = write!(
                    b,
                    "<li><a href=\"{}\">{text}</a></li>",
                    esc(&ctx.url(path, &pairs))
                );
            }
            b.push_str("</ul>");
            Ok(html_response(page(&ctx, &title, &b)))
        }
    }
}

/// `GET /conformance`
pub async fn conformance(ctx: Ctx) -> Result<Response, ApiError> {
    ctx.allow(&["f"])?;
    match ctx.format()? {
        Format::Json => Ok(json_response(
            "application/json",
            json!({ "conformsTo": CONFORMANCE }).to_string(),
        )),
        Format::Html => {
            let li: String = CONFORMANCE
                .iter()
                .map(|c| format!("<li>{c}</li>"))
                .collect();
            Ok(html_response(page(
                &ctx,
                "Konformitätsklassen",
                &format!("<ul>{li}</ul>"),
            )))
        }
    }
}

fn collection_json(cat: &Catalog, c: &Collection, ctx: &Ctx) -> Result<Value, ApiError> {
    let p = format!("/collections/{}", c.id);
    let mut links = vec![
        link(
            ctx.url(&p, &[("f", "json")]),
            "self",
            "application/json",
            &c.title,
        ),
        link(
            ctx.url(&p, &[("f", "html")]),
            "alternate",
            "text/html",
            &c.title,
        ),
        link(
            ctx.url(&format!("{p}/items"), &[]),
            "items",
            "application/geo+json",
            "Features",
        ),
        link(
            ctx.url(&format!("{p}/items"), &[("f", "html")]),
            "items",
            "text/html",
            "Features (HTML)",
        ),
        link(
            ctx.url(&format!("{p}/queryables"), &[]),
            "http://www.opengis.net/def/rel/ogc/1.0/queryables",
            "application/schema+json",
            "Abfragbare Eigenschaften",
        ),
        // Part 5 (Schemas): the flat schema of the returned properties, with types, so a
        // client types its fields without guessing from the first features.
        link(
            ctx.url(&format!("{p}/schema"), &[]),
            "http://www.opengis.net/def/rel/ogc/1.0/schema",
            "application/schema+json",
            "Schema der Eigenschaften (OGC API – Features Part 5)",
        ),
        // GDAL reads field types from a GeoJSON *Feature* schema behind `describedby` (3.6
        // matches only the spelling `describedBy`); a flat Part 5 schema there would give it no
        // fields, so both spellings point to the Feature schema.
        link(
            ctx.url(&format!("{p}/feature-schema"), &[]),
            "describedby",
            "application/schema+json",
            "Schema der Features (GeoJSON)",
        ),
        link(
            ctx.url(&format!("{p}/feature-schema"), &[]),
            "describedBy",
            "application/schema+json",
            "Schema der Features (GeoJSON)",
        ),
    ];
    if c.kind == CollectionKind::Areas {
        links.push(link(
            ctx.url(&format!("{p}/missing"), &[]),
            "related",
            "application/json",
            "Fehlende Werte und ihre Gründe",
        ));
    }
    for fmt in c.downloads.keys() {
        links.push(link(
            ctx.url(&format!("{p}/download"), &[("format", fmt.key())]),
            "enclosure",
            fmt.media_type(),
            &format!("Download {} (alle Jahre)", fmt.key()),
        ));
    }
    let mut extent = serde_json::Map::new();
    let bbox = cat
        .extent(c)
        .map_err(|(c, e)| geometry_error(c, OutputCrs::Crs84, e))?;
    if let Some(b) = bbox {
        extent.insert(
            "spatial".into(),
            json!({"bbox": [b], "crs": OutputCrs::Crs84.uri()}),
        );
    }
    if let (Some(first), Some(last)) = (c.years.first(), c.years.last()) {
        extent.insert(
            "temporal".into(),
            json!({
                "interval": [[format!("{first}-01-01T00:00:00Z"), format!("{last}-12-31T23:59:59Z")]],
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
            }),
        );
    }
    let mut crs: Vec<&str> = vec![cat.storage_crs.uri()];
    crs.extend(
        OutputCrs::ALL
            .iter()
            .map(|c| c.uri())
            .filter(|u| *u != cat.storage_crs.uri()),
    );
    Ok(json!({
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "links": links,
        "extent": extent,
        "crs": crs,
        "storageCrs": cat.storage_crs.uri(),
    }))
}

/// Renders CRS84 where the extents need it (right after start, before [`Catalog::warm`] is
/// through): off the async threads, within the limit of costly work.
async fn ensure_extents(cat: &Arc<Catalog>) -> Result<(), ApiError> {
    if cat.extents_ready() {
        return Ok(());
    }
    let cat = Arc::clone(cat);
    let work = cat.settings.work.clone();
    work.run(move |_| -> Result<(), ApiError> {
        for c in &cat.collections {
            cat.extent(c)
                .map_err(|(c, e)| geometry_error(c, OutputCrs::Crs84, e))?;
        }
        Ok(())
    })
    .await
}

/// `GET /collections`
pub async fn collections(State(cat): State<Arc<Catalog>>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.allow(&["f"])?;
    match ctx.format()? {
        Format::Json => {
            ensure_extents(&cat).await?;
            let cols: Vec<Value> = cat
                .collections
                .iter()
                .map(|c| collection_json(&cat, c, &ctx))
                .collect::<Result<_, _>>()?;
            let body = json!({
                "links": [
                    link(ctx.url("/collections", &[("f", "json")]), "self", "application/json", "Datensätze"),
                    link(ctx.url("/collections", &[("f", "html")]), "alternate", "text/html", "Datensätze"),
                ],
                "collections": cols,
            });
            Ok(json_response("application/json", body.to_string()))
        }
        Format::Html => {
            let mut b =
                String::from("<table><tr><th>Datensatz</th><th>Art</th><th>Features</th></tr>");
            for c in &cat.collections {
                let kind = match c.kind {
                    CollectionKind::Areas => "Gebiete",
                    CollectionKind::Facilities => "Einrichtungen",
                };
                let _ = write!(
                    b,
                    "<tr><td><a href=\"{href}\">{t}</a></td><td>{kind}</td><td>{n}</td></tr>",
                    href = esc(&ctx.url(&format!("/collections/{}", c.id), &[("f", "html")])),
                    t = esc(&c.title),
                    n = c.features.len()
                );
            }
            b.push_str("</table>");
            Ok(html_response(page(&ctx, "Datensätze", &b)))
        }
    }
}

/// `GET /collections/{id}`
pub async fn collection(
    State(cat): State<Arc<Catalog>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    let c = find(&cat, &id)?;
    ctx.allow(&["f"])?;
    match ctx.format()? {
        Format::Json => {
            ensure_extents(&cat).await?;
            Ok(json_response(
                "application/json",
                collection_json(&cat, c, &ctx)?.to_string(),
            ))
        }
        Format::Html => {
            let mut b = format!("<p>{}</p><ul>", esc(&c.description));
            let _ = write!(
                b,
                "<li><a href=\"{}\">Features ansehen</a></li>",
                esc(&ctx.url(&format!("/collections/{}/items", c.id), &[("f", "html")]))
            );
            let _ = write!(
                b,
                "<li><a href=\"{}\">Abfragbare Eigenschaften</a></li>",
                esc(&ctx.url(
                    &format!("/collections/{}/queryables", c.id),
                    &[("f", "html")]
                ))
            );
            for fmt in c.downloads.keys() {
                let _ = write!(
                    b,
                    "<li><a href=\"{}\">Download {k}</a></li>",
                    esc(&ctx.url(
                        &format!("/collections/{}/download", c.id),
                        &[("format", fmt.key())]
                    )),
                    k = fmt.key()
                );
            }
            b.push_str("</ul>");
            if !c.years.is_empty() {
                let _ = write!(
                    b,
                    "<p>Jahre: {}</p>",
                    c.years
                        .iter()
                        .map(|y| y.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Ok(html_response(page(&ctx, &c.title, &b)))
        }
    }
}

/// What a feature in a response shows: CRS, a subset of properties, with or without geometry.
#[derive(Clone)]
struct Shape {
    crs: OutputCrs,
    properties: Option<Vec<usize>>,
    skip_geometry: bool,
    /// Position in [`crate::catalog::ZOOM_TIERS`] of the simplified geometry to send.
    tier: Option<usize>,
}

fn push_feature(
    out: &mut String,
    c: &Collection,
    fi: usize,
    ri: usize,
    shape: &Shape,
) -> Result<(), ApiError> {
    let f = &c.features[fi];
    out.push_str("{\"type\":\"Feature\",\"id\":");
    out.push_str(&serde_json::to_string(&f.id).unwrap_or_default());
    out.push_str(",\"geometry\":");
    if shape.skip_geometry {
        out.push_str("null");
    } else {
        out.push_str(geometry_text(c, fi, shape)?);
    }
    out.push_str(",\"properties\":");
    match &shape.properties {
        // Pre-rendered: no per-request serialisation of whole features.
        None => out.push_str(&f.rows[ri].json),
        Some(idx) => {
            let fields: Vec<crate::catalog::Field> =
                idx.iter().map(|&i| c.fields[i].clone()).collect();
            let values: Vec<Value> = idx
                .iter()
                .map(|&i| f.rows[ri].values.get(i).cloned().unwrap_or(Value::Null))
                .collect();
            out.push_str(&crate::catalog::render_properties(&fields, &values));
        }
    }
    out.push('}');
    Ok(())
}

/// The geometry text a response shows for feature `fi` (rendered now if its CRS or zoom tier
/// was never asked for: callers run off the async threads).
fn geometry_text<'c>(c: &'c Collection, fi: usize, shape: &Shape) -> Result<&'c str, ApiError> {
    c.geometry_text(fi, shape.tier, shape.crs)
        .map_err(|e| geometry_error(c, shape.crs, e))
}

/// A CRS the catalog could not render on first request: the server's fault, logged.
pub(crate) fn geometry_error(
    c: &Collection,
    crs: OutputCrs,
    e: &crate::catalog::BuildError,
) -> ApiError {
    tracing::error!(collection = %c.id, crs = crs.uri(), error = %e, "rendering a CRS failed");
    ApiError::Internal(format!(
        "the geometry of {} cannot be given in {}: {e}",
        c.id,
        crs.uri()
    ))
}

fn content_crs(resp: &mut Response, crs: OutputCrs) {
    if let Ok(v) = HeaderValue::from_str(&format!("<{}>", crs.uri())) {
        resp.headers_mut().insert("content-crs", v);
    }
}

fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => "–".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn html_rows(ctx: &Ctx, c: &Collection, sel: &[(usize, usize)], shape: &Shape) -> String {
    let all: Vec<usize> = (0..c.fields.len()).collect();
    let cols = shape.properties.as_deref().unwrap_or(&all);
    let mut b = String::from("<div style=\"overflow-x:auto\"><table><tr><th>Feature</th>");
    for &i in cols {
        let f = &c.fields[i];
        let _ = write!(b, "<th title=\"{}\">{}</th>", esc(&f.title), esc(&f.name));
    }
    b.push_str("</tr>");
    for &(fi, ri) in sel {
        let feat = &c.features[fi];
        let href = ctx.url(
            &format!("/collections/{}/items/{}", c.id, feat.id),
            &[("f", "html")],
        );
        let _ = write!(
            b,
            "<tr><td><a href=\"{}\">{}</a></td>",
            esc(&href),
            esc(&feat.id)
        );
        for &i in cols {
            let v = feat.rows[ri].values.get(i).unwrap_or(&Value::Null);
            let _ = write!(b, "<td>{}</td>", esc(&cell_text(v)));
        }
        b.push_str("</tr>");
    }
    b.push_str("</table></div>");
    b
}

/// `GET /collections/{id}/items`. Selection and rendering run as costly work (see
/// [`crate::work`]): a filter is bounded in size by the parser and in time by the deadline.
pub async fn items(
    State(cat): State<Arc<Catalog>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    find(&cat, &id)?;
    let work = cat.settings.work.clone();
    work.run(move |deadline| items_blocking(&cat, &id, &ctx, deadline))
        .await
}

fn items_blocking(
    cat: &Catalog,
    id: &str,
    ctx: &Ctx,
    deadline: std::time::Instant,
) -> Result<Response, ApiError> {
    let c = find(cat, id)?;
    let q = query::parse_items(
        c,
        &ctx.pairs,
        ctx.accept.as_deref(),
        cat.settings.default_limit,
        cat.settings.max_limit,
    )?;
    let sel = query::select(c, &q, Some(deadline))?;
    let matched = sel.len();
    let start = q.offset.min(matched);
    let end = start.saturating_add(q.limit).min(matched);
    let page_sel = &sel[start..end];
    let shape = Shape {
        crs: q.crs,
        properties: q.properties.clone(),
        skip_geometry: q.skip_geometry,
        tier: c.zoom_tier(q.zoom),
    };
    let (fmt_key, media, other_key, other_media) = match q.format {
        Format::Json => ("json", "application/geo+json", "html", "text/html"),
        Format::Html => ("html", "text/html", "json", "application/geo+json"),
    };
    let mut links = vec![
        link(ctx.self_url(fmt_key, &[]), "self", media, "Diese Seite"),
        link(
            ctx.self_url(other_key, &[]),
            "alternate",
            other_media,
            "Diese Seite in anderem Format",
        ),
        link(
            ctx.url(&format!("/collections/{}", c.id), &[]),
            "collection",
            "application/json",
            &c.title,
        ),
    ];
    if end < matched {
        links.push(link(
            ctx.self_url(
                "json",
                &[("offset", end.to_string()), ("limit", q.limit.to_string())],
            ),
            "next",
            "application/geo+json",
            "Nächste Seite",
        ));
    }
    if start > 0 {
        let prev = start.saturating_sub(q.limit);
        links.push(link(
            ctx.self_url(
                "json",
                &[("offset", prev.to_string()), ("limit", q.limit.to_string())],
            ),
            "prev",
            "application/geo+json",
            "Vorherige Seite",
        ));
    }
    let mut resp = match q.format {
        Format::Json => {
            let mut approx = 0;
            for &(fi, ri) in page_sel {
                let g = if shape.skip_geometry {
                    0
                } else {
                    geometry_text(c, fi, &shape)?.len()
                };
                approx += g + c.features[fi].rows[ri].json.len() + 64;
            }
            let mut out = String::with_capacity(approx + 1024);
            let _ = write!(
                out,
                "{{\"type\":\"FeatureCollection\",\"numberMatched\":{matched},\"numberReturned\":{},\"links\":{},\"features\":[",
                page_sel.len(),
                Value::Array(links)
            );
            for (k, &(fi, ri)) in page_sel.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                push_feature(&mut out, c, fi, ri, &shape)?;
            }
            out.push_str("]}");
            json_response("application/geo+json", out)
        }
        Format::Html => {
            let mut b = format!(
                "<p>{matched} Treffer, angezeigt {} bis {}.</p>",
                if page_sel.is_empty() { 0 } else { start + 1 },
                end
            );
            for l in &links {
                let rel = l["rel"].as_str().unwrap_or("");
                if rel == "next" || rel == "prev" {
                    let href = l["href"].as_str().unwrap_or("").replace("f=json", "f=html");
                    let _ = write!(
                        b,
                        "<a href=\"{}\">{}</a> ",
                        esc(&href),
                        if rel == "next" {
                            "Weiter →"
                        } else {
                            "← Zurück"
                        }
                    );
                }
            }
            b.push_str(&html_rows(ctx, c, page_sel, &shape));
            html_response(page(ctx, &c.title, &b))
        }
    };
    content_crs(&mut resp, q.crs);
    Ok(resp)
}

fn find_feature(c: &Collection, fid: &str) -> Result<usize, ApiError> {
    c.by_id.get(fid).copied().ok_or_else(|| {
        ApiError::NotFound(format!("unknown feature '{fid}' in collection '{}'", c.id))
    })
}

/// `GET /collections/{id}/items/{featureId}`: the area with the values of the default year
/// (see [`Collection::default_year`]), or of the latest year within `datetime`.
pub async fn item(
    State(cat): State<Arc<Catalog>>,
    Path((id, fid)): Path<(String, String)>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    let c = find(&cat, &id)?;
    let fi = find_feature(c, &fid)?;
    ctx.allow(&[
        "f",
        "crs",
        "datetime",
        "properties",
        "skipGeometry",
        "zoom-level",
    ])?;
    let format = ctx.format()?;
    let crs = match ctx.get("crs") {
        Some(v) => OutputCrs::parse(v)
            .ok_or_else(|| ApiError::BadRequest(format!("crs '{v}' is not supported")))?,
        None => OutputCrs::Crs84,
    };
    let (properties, skip_geometry) = query::projection(c, &ctx.pairs)?;
    let shape = Shape {
        crs,
        properties,
        skip_geometry,
        tier: c.zoom_tier(query::zoom_level(&ctx.pairs)?),
    };
    // A CRS or zoom tier nobody asked for yet is rendered for the whole collection first: off
    // the async threads, within the limit of costly work.
    if !shape.skip_geometry && !c.geometry_ready(shape.tier, crs) {
        let (cat, id, tier) = (Arc::clone(&cat), id.clone(), shape.tier);
        let work = cat.settings.work.clone();
        work.run(move |_| -> Result<(), ApiError> {
            let c = find(&cat, &id)?;
            c.geometry_text(0, tier, crs)
                .map(|_| ())
                .map_err(|e| geometry_error(c, crs, e))
        })
        .await?;
    }
    let ri = match (c.kind, ctx.get("datetime")) {
        (CollectionKind::Facilities, _) => 0,
        (CollectionKind::Areas, None) => c.default_year_index().ok_or_else(|| {
            ApiError::NotFound(format!("feature '{fid}' has no values in any year"))
        })?,
        (CollectionKind::Areas, Some(v)) => {
            let (a, b) = query::parse_datetime(v)?;
            c.years
                .iter()
                .rposition(|y| *y >= a && *y <= b)
                .ok_or_else(|| {
                    ApiError::NotFound(format!(
                        "feature '{fid}' has no values in the requested datetime"
                    ))
                })?
        }
    };
    let p = format!("/collections/{}/items/{}", c.id, fid);
    let mut resp = match format {
        Format::Json => {
            let mut links = vec![
                link(
                    ctx.self_url("json", &[]),
                    "self",
                    "application/geo+json",
                    "Dieses Feature",
                ),
                link(
                    ctx.self_url("html", &[]),
                    "alternate",
                    "text/html",
                    "Dieses Feature als HTML",
                ),
                link(
                    ctx.url(&format!("/collections/{}", c.id), &[]),
                    "collection",
                    "application/json",
                    &c.title,
                ),
            ];
            if c.kind == CollectionKind::Areas {
                links.push(link(
                    ctx.url(&format!("{p}/timeseries"), &[]),
                    "related",
                    "application/json",
                    "Zeitreihe",
                ));
            }
            let mut out = String::new();
            push_feature(&mut out, c, fi, ri, &shape)?;
            out.pop();
            let _ = write!(out, ",\"links\":{}}}", Value::Array(links));
            json_response("application/geo+json", out)
        }
        Format::Html => {
            let f = &c.features[fi];
            let all: Vec<usize> = (0..c.fields.len()).collect();
            let mut b = String::from("<table>");
            for &i in shape.properties.as_deref().unwrap_or(&all) {
                let field = &c.fields[i];
                let v = f.rows[ri].values.get(i).unwrap_or(&Value::Null);
                let _ = write!(
                    b,
                    "<tr><th title=\"{}\">{}</th><td>{}</td></tr>",
                    esc(&field.name),
                    esc(&field.title),
                    esc(&cell_text(v))
                );
            }
            b.push_str("</table>");
            html_response(page(&ctx, &format!("{} – {}", c.title, f.id), &b))
        }
    };
    content_crs(&mut resp, crs);
    Ok(resp)
}

fn schema_properties(c: &Collection) -> serde_json::Map<String, Value> {
    let mut props = serde_json::Map::new();
    for f in &c.fields {
        props.insert(
            f.name.clone(),
            json!({"title": f.title, "type": f.ty.json_type()}),
        );
    }
    props
}

/// `GET /collections/{id}/queryables`
pub async fn queryables(
    State(cat): State<Arc<Catalog>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    let c = find(&cat, &id)?;
    ctx.allow(&["f"])?;
    match ctx.format()? {
        Format::Json => {
            let body = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": ctx.url(&format!("/collections/{}/queryables", c.id), &[]),
                "type": "object",
                "title": c.title,
                "properties": schema_properties(c),
                "additionalProperties": false,
            });
            Ok(json_response("application/schema+json", body.to_string()))
        }
        Format::Html => {
            let mut b =
                String::from("<table><tr><th>Name</th><th>Typ</th><th>Beschreibung</th></tr>");
            for f in &c.fields {
                let _ = write!(
                    b,
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&f.name),
                    f.ty.json_type(),
                    esc(&f.title)
                );
            }
            b.push_str("</table><p>Filter: <code>?filter=status_class &gt;= 3 AND year = 2020</code> (CQL2-Text).</p>");
            Ok(html_response(page(
                &ctx,
                &format!("{}: abfragbare Eigenschaften", c.title),
                &b,
            )))
        }
    }
}

/// `GET /collections/{id}/schema`: the flat schema of the features' properties
/// (OGC API – Features Part 5, "returnables"), with the feature id and the geometry roles.
pub async fn schema(
    State(cat): State<Arc<Catalog>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    let c = find(&cat, &id)?;
    ctx.allow(&["f"])?;
    json_only(&ctx, "the schema")?;
    let mut props = schema_properties(c);
    if let Some(Value::Object(idp)) = props.get_mut("id") {
        idp.insert("x-ogc-role".into(), json!("id"));
    }
    if let Some(gt) = c.geometry_type {
        let format = match gt {
            "Point" => "geometry-point",
            _ => "geometry-multipolygon",
        };
        props.insert(
            "geometry".into(),
            json!({"title": "Geometrie", "format": format, "x-ogc-role": "primary-geometry"}),
        );
    }
    let body = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": ctx.url(&format!("/collections/{}/schema", c.id), &[]),
        "title": c.title,
        "type": "object",
        "properties": props,
    });
    Ok(json_response("application/schema+json", body.to_string()))
}

/// `GET /collections/{id}/feature-schema`: a JSON Schema of a GeoJSON feature (GDAL reads
/// field types from it). `id` is not among the properties: GDAL takes it from the feature, and
/// a second one makes it warn "Field 'id' already exists".
pub async fn feature_schema(
    State(cat): State<Arc<Catalog>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    let c = find(&cat, &id)?;
    ctx.allow(&["f"])?;
    json_only(&ctx, "the schema")?;
    let mut props = schema_properties(c);
    props.remove("id");
    let geometry = match c.geometry_type {
        Some(gt) => json!({"$ref": format!("https://geojson.org/schema/{gt}.json")}),
        None => json!({"type": "null"}),
    };
    let body = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": ctx.url(&format!("/collections/{}/feature-schema", c.id), &[]),
        "title": c.title,
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string"},
            "geometry": geometry,
            "properties": {"type": "object", "properties": props},
        }
    });
    Ok(json_response("application/schema+json", body.to_string()))
}

fn series(c: &Collection, fi: usize, name: &str) -> Vec<Value> {
    let i = c.field(name);
    c.features[fi]
        .rows
        .iter()
        .map(|r| {
            i.and_then(|i| r.values.get(i).cloned())
                .unwrap_or(Value::Null)
        })
        .collect()
}

/// `GET /collections/{id}/items/{featureId}/timeseries`: every year's counts, indicators and
/// index values of one area (for the map's charts).
pub async fn timeseries(
    State(cat): State<Arc<Catalog>>,
    Path((id, fid)): Path<(String, String)>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    let c = find(&cat, &id)?;
    ctx.allow(&["f"])?;
    json_only(&ctx, "time series")?;
    if c.kind != CollectionKind::Areas {
        return Err(ApiError::NotFound(format!(
            "collection '{id}' holds facilities; time series exist for areas only"
        )));
    }
    let fi = find_feature(c, &fid)?;
    let r = &cat.result;
    let first = &c.features[fi].rows[0].values;
    let mut counts = serde_json::Map::new();
    let mut flags = serde_json::Map::new();
    for col in &r.count_columns {
        counts.insert(col.clone(), Value::Array(series(c, fi, col)));
        flags.insert(
            col.clone(),
            Value::Array(series(c, fi, &format!("{col}_flag"))),
        );
    }
    let mut indicators = serde_json::Map::new();
    for ind in &r.indicators {
        indicators.insert(ind.id.clone(), Value::Array(series(c, fi, &ind.id)));
    }
    // Why a value is missing ("–" in the map): per indicator and year, null where there is a
    // value (denominator 0, suppressed, a rate without a weight on a coarser level, …).
    let mut reasons = serde_json::Map::new();
    if let Some(area) = c
        .level
        .and_then(|l| r.levels.get(l))
        .and_then(|l| l.areas.iter().find(|a| a.id == c.features[fi].id))
    {
        for (i, ind) in r.indicators.iter().enumerate() {
            let v: Vec<Value> = area
                .years
                .iter()
                .map(|y| {
                    y.indicators
                        .get(i)
                        .and_then(|v| v.reason)
                        .and_then(|reason| serde_json::to_value(reason).ok())
                        .unwrap_or(Value::Null)
                })
                .collect();
            reasons.insert(ind.id.clone(), Value::Array(v));
        }
    }
    let mut indices = serde_json::Map::new();
    for idx in r.indices.iter().filter(|i| i.level == c.id) {
        let mut m = serde_json::Map::new();
        for part in kleinraum_aggregate::result::INDEX_FIELDS {
            m.insert(
                part.into(),
                Value::Array(series(c, fi, &format!("{}_{part}", idx.id))),
            );
        }
        indices.insert(idx.id.clone(), Value::Object(m));
    }
    let mut facilities = serde_json::Map::new();
    for cat_key in &r.facility_categories {
        let get = |n: String| {
            c.field(&n)
                .and_then(|i| first.get(i).cloned())
                .unwrap_or(Value::Null)
        };
        facilities.insert(
            cat_key.clone(),
            json!({"count": get(format!("{cat_key}_count")), "capacity": get(format!("{cat_key}_capacity"))}),
        );
    }
    let body = json!({
        "collection": c.id,
        "id": c.features[fi].id,
        "name": first.first().and_then(|_| c.field("name").and_then(|i| first.get(i).cloned())),
        "years": c.years,
        "counts": counts,
        "count_flags": flags,
        "indicators": indicators,
        "indicator_reasons": reasons,
        "indices": indices,
        "facilities": facilities,
    });
    Ok(json_response("application/json", body.to_string()))
}

/// `GET /collections/{id}/index?index=ID&year=YYYY`: the areas ranked by status index (most
/// disadvantaged first), with classes, group, the Sozialraumgebiet flag and the per-indicator
/// z-values that explain the class.
pub async fn index_ranking(
    State(cat): State<Arc<Catalog>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    let c = find(&cat, &id)?;
    ctx.allow(&["f", "index", "year"])?;
    json_only(&ctx, "the index ranking")?;
    let r = &cat.result;
    let level = c.level.and_then(|l| r.levels.get(l)).ok_or_else(|| {
        ApiError::NotFound(format!(
            "collection '{id}' holds facilities; it has no index"
        ))
    })?;
    let available: Vec<(usize, &kleinraum_aggregate::IndexConfig)> = r
        .indices
        .iter()
        .enumerate()
        .filter(|(_, i)| i.level == id)
        .collect();
    let (ii, idx) = match ctx.get("index") {
        Some(want) => *available
            .iter()
            .find(|(_, i)| i.id == want)
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "index '{want}' is not computed for collection '{id}'; available: {}",
                    available
                        .iter()
                        .map(|(_, i)| i.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
        None => *available.first().ok_or_else(|| {
            let levels: Vec<&str> = r.indices.iter().map(|i| i.level.as_str()).collect();
            ApiError::BadRequest(format!(
                "collection '{id}' has no index; indices are computed for: {}",
                levels.join(", ")
            ))
        })?,
    };
    let has_values = |yi: usize| {
        level.areas.iter().any(|a| {
            a.years
                .get(yi)
                .and_then(|y| y.indices.get(ii))
                .and_then(|v| v.as_ref())
                .is_some_and(|v| v.status_value.is_some())
        })
    };
    let yi = match ctx.get("year") {
        Some(y) => {
            let y: i32 = y.parse().map_err(|_| {
                ApiError::BadRequest(format!("year value should be an integer, got '{y}'"))
            })?;
            r.year_index(y).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "year {y} is not in the data (years: {:?})",
                    r.years
                ))
            })?
        }
        None => (0..r.years.len())
            .rev()
            .find(|&yi| has_values(yi))
            .ok_or_else(|| {
                ApiError::NotFound(format!("index '{}' has no values in any year", idx.id))
            })?,
    };
    let mut rows: Vec<(Option<f64>, Value)> = level
        .areas
        .iter()
        .map(|a| {
            let v = a
                .years
                .get(yi)
                .and_then(|y| y.indices.get(ii))
                .and_then(|v| v.clone());
            let sv = v.as_ref().and_then(|v| v.status_value);
            (
                sv,
                json!({
                    "id": a.id,
                    "name": a.name,
                    "status_value": sv,
                    "status_class": v.as_ref().and_then(|v| v.status_class),
                    "dynamics_value": v.as_ref().and_then(|v| v.dynamics_value),
                    "dynamics_class": v.as_ref().and_then(|v| v.dynamics_class),
                    "group": v.as_ref().and_then(|v| v.group.clone()),
                    "attention": v.as_ref().map(|v| v.attention),
                    "reason": v.as_ref().and_then(|v| v.reason),
                    "status_contributions": v.as_ref().map(|v| v.status_contributions.clone()),
                    "dynamics_contributions": v.as_ref().map(|v| v.dynamics_contributions.clone()),
                }),
            )
        })
        .collect();
    rows.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let areas: Vec<Value> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (sv, mut v))| {
            v["rank"] = if sv.is_some() {
                json!(i + 1)
            } else {
                Value::Null
            };
            v
        })
        .collect();
    let body = json!({
        "collection": id,
        "index": idx.id,
        "title": idx.title,
        "year": r.years[yi],
        "attention_count": areas.iter().filter(|a| a["attention"] == json!(true)).count(),
        "areas": areas,
    });
    Ok(json_response("application/json", body.to_string()))
}

/// `GET /indicators`: the indicator and index catalogue.
pub async fn indicators(State(cat): State<Arc<Catalog>>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.allow(&["f"])?;
    let r = &cat.result;
    // Years in which some area of a level has a value: the map offers only those.
    let indicator_years = |ii: usize| -> serde_json::Map<String, Value> {
        r.levels
            .iter()
            .map(|l| {
                let years: Vec<i32> = r
                    .years
                    .iter()
                    .enumerate()
                    .filter(|(yi, _)| {
                        l.areas.iter().any(|a| {
                            a.years
                                .get(*yi)
                                .and_then(|y| y.indicators.get(ii))
                                .is_some_and(|v| v.value.is_some())
                        })
                    })
                    .map(|(_, y)| *y)
                    .collect();
                (l.key.clone(), json!(years))
            })
            .collect()
    };
    let index_years = |ii: usize, level: &str| -> Vec<i32> {
        let Some(l) = r.levels.iter().find(|l| l.key == level) else {
            return Vec::new();
        };
        r.years
            .iter()
            .enumerate()
            .filter(|(yi, _)| {
                l.areas.iter().any(|a| {
                    a.years
                        .get(*yi)
                        .and_then(|y| y.indices.get(ii))
                        .and_then(|v| v.as_ref())
                        .is_some_and(|v| v.status_value.is_some())
                })
            })
            .map(|(_, y)| *y)
            .collect()
    };
    let inds: Vec<Value> = r
        .indicators
        .iter()
        .enumerate()
        .map(|(ii, i)| {
            json!({
                "id": i.id, "title": i.title, "unit": i.unit_label(), "kind": i.kind,
                "formula": formula(i), "numerator": i.numerator, "denominator": i.denominator,
                "years": i.years, "source": i.source, "polarity": i.polarity,
                "description": i.description, "decimals": i.decimals,
                "data_years": indicator_years(ii),
            })
        })
        .collect();
    let idxs: Vec<Value> = r
        .indices
        .iter()
        .enumerate()
        .map(|(ii, i)| {
            json!({
                "id": i.id, "title": i.title, "level": i.level, "method": i.method,
                "years": i.years, "status": i.status, "dynamics": i.dynamics,
                "min_population": i.min_population, "status_thresholds": i.status_thresholds,
                "dynamics_thresholds": i.dynamics_thresholds, "attention": i.attention,
                "data_years": index_years(ii, &i.level),
            })
        })
        .collect();
    match ctx.format()? {
        Format::Json => Ok(json_response(
            "application/json",
            json!({
                "indicators": inds,
                "indices": idxs,
                "years": r.years,
                "count_columns": r.count_columns,
                "disclosure_threshold": r.disclosure.threshold,
            })
            .to_string(),
        )),
        Format::Html => {
            let mut b = String::from(
                "<table><tr><th>Id</th><th>Titel</th><th>Einheit</th><th>Formel</th><th>Quelle</th><th>Beschreibung</th></tr>",
            );
            for i in &r.indicators {
                let _ = write!(
                    b,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&i.id),
                    esc(&i.title),
                    esc(&i.unit_label()),
                    esc(&formula(i)),
                    esc(i.source.as_deref().unwrap_or("")),
                    esc(i.description.as_deref().unwrap_or(""))
                );
            }
            b.push_str("</table>");
            Ok(html_response(page(&ctx, "Indikatorenkatalog", &b)))
        }
    }
}

fn reason_name(r: Option<kleinraum_aggregate::result::NullReason>) -> String {
    r.and_then(|r| serde_json::to_value(r).ok())
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "no_data".into())
}

/// `GET /collections/{id}/missing?year=YYYY`: for one year, which areas have no value of each
/// indicator and index, grouped by the reason (`suppressed`, `denominator_zero`, `no_data`,
/// `below_min_population`, `excluded`), so a map can tell "kept secret" from "not computed"
/// from "no data this year". Areas with a value are only counted.
pub async fn missing(
    State(cat): State<Arc<Catalog>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    let c = find(&cat, &id)?;
    ctx.allow(&["f", "year"])?;
    json_only(&ctx, "the reasons for missing values")?;
    let r = &cat.result;
    let level = c.level.and_then(|l| r.levels.get(l)).ok_or_else(|| {
        ApiError::NotFound(format!(
            "collection '{id}' holds facilities; missing values exist for areas only"
        ))
    })?;
    let yi = match ctx.get("year") {
        Some(y) => {
            let y: i32 = y.parse().map_err(|_| {
                ApiError::BadRequest(format!("year value should be an integer, got '{y}'"))
            })?;
            r.year_index(y).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "year {y} is not in the data (years: {:?})",
                    r.years
                ))
            })?
        }
        None => c
            .default_year_index()
            .ok_or_else(|| ApiError::NotFound(format!("collection '{id}' has no years")))?,
    };
    let group = |reasons: Vec<(String, &str)>| -> Value {
        let mut by: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
        let mut with_value = 0usize;
        for (reason, area) in reasons {
            if reason.is_empty() {
                with_value += 1;
            } else {
                by.entry(reason).or_default().push(area);
            }
        }
        json!({"with_value": with_value, "missing": by})
    };
    let mut indicators = serde_json::Map::new();
    for (ii, ind) in r.indicators.iter().enumerate() {
        let rs = level
            .areas
            .iter()
            .map(|a| {
                let v = a.years.get(yi).and_then(|y| y.indicators.get(ii));
                let reason = match v {
                    Some(v) if v.value.is_some() => String::new(),
                    Some(v) => reason_name(v.reason),
                    None => reason_name(None),
                };
                (reason, a.id.as_str())
            })
            .collect();
        indicators.insert(ind.id.clone(), group(rs));
    }
    let mut indices = serde_json::Map::new();
    for (ii, idx) in r.indices.iter().enumerate().filter(|(_, i)| i.level == id) {
        let rs = level
            .areas
            .iter()
            .map(|a| {
                let v = a
                    .years
                    .get(yi)
                    .and_then(|y| y.indices.get(ii))
                    .and_then(|v| v.as_ref());
                let reason = match v {
                    Some(v) if v.status_value.is_some() => String::new(),
                    Some(v) => reason_name(v.reason),
                    None => reason_name(None),
                };
                (reason, a.id.as_str())
            })
            .collect();
        indices.insert(idx.id.clone(), group(rs));
    }
    let body = json!({
        "collection": id,
        "year": r.years[yi],
        "areas": level.areas.len(),
        "indicators": indicators,
        "indices": indices,
    });
    Ok(json_response("application/json", body.to_string()))
}

/// `GET /map-config`: what the web map takes from the config: the level drawn as outlines
/// with names for orientation, the optional background map, the footer links, and the zoom
/// levels with simplified geometry.
pub async fn map_config(State(cat): State<Arc<Catalog>>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.allow(&["f"])?;
    json_only(&ctx, "the map configuration")?;
    let m = &cat.settings.map;
    let outline = m.outline_level.clone().or_else(|| {
        // The coarsest level with geometry, unless that is the only (finest) one.
        let with_geom: Vec<&Collection> = cat
            .collections
            .iter()
            .filter(|c| c.kind == CollectionKind::Areas && c.geometry_type.is_some())
            .collect();
        (with_geom.len() > 1).then(|| with_geom[with_geom.len() - 1].id.clone())
    });
    let basemap = m.basemap.as_ref().map(|b| {
        json!({
            "kind": match b.kind {
                kleinraum_load::config::BasemapKind::Xyz => "xyz",
                kleinraum_load::config::BasemapKind::Wms => "wms",
            },
            "url": b.url,
            "attribution": b.attribution,
            "layers": b.layers,
            "format": b.format.clone().unwrap_or_else(|| "image/png".into()),
            "styles": b.styles.clone().unwrap_or_default(),
            "version": b.version.clone().unwrap_or_else(|| "1.3.0".into()),
            "max_zoom": b.max_zoom.unwrap_or(19),
            "opacity": b.opacity.unwrap_or(1.0),
            "title": b.title.clone().unwrap_or_else(|| "Hintergrundkarte".into()),
            "visible": b.visible.unwrap_or(true),
        })
    });
    let body = json!({
        "title": cat.settings.title,
        "outline_level": outline,
        "basemap": basemap,
        "impressum_url": m.impressum_url,
        "datenschutz_url": m.datenschutz_url,
        "zoom_tiers": crate::catalog::ZOOM_TIERS,
        // The map offers the Berichte (PDF/Word) only when the server makes them.
        "reports": cat.reports.is_some(),
        "links": [
            link(ctx.url("/map-config", &[]), "self", "application/json", "Kartenkonfiguration"),
            link(ctx.url("/map/", &[]), "related", "text/html", "Karte"),
        ],
    });
    Ok(json_response("application/json", body.to_string()))
}

/// `GET /collections/{id}/download?format=geojson|csv|csv-excel|gpkg`: the whole collection,
/// every year.
pub async fn download(
    State(cat): State<Arc<Catalog>>,
    Path(id): Path<String>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    let c = find(&cat, &id)?;
    ctx.allow(&["format"])?;
    let f = ctx.get("format").unwrap_or("geojson");
    let fmt = DownloadFormat::parse(f).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "format '{f}' is not offered; use geojson, csv, csv-excel or gpkg"
        ))
    })?;
    // Rendered on the first request (tens of ms to a second for a whole level): off the
    // async workers.
    let bytes = {
        let cat = cat.clone();
        let id = id.clone();
        tokio::task::spawn_blocking(move || cat.collection(&id).and_then(|c| c.download(fmt)))
            .await
            .ok()
            .flatten()
    };
    let bytes = bytes.ok_or_else(|| {
        ApiError::NotImplemented(format!(
            "{} download is not available for '{}': this server was built without a GeoPackage writer",
            fmt.key(),
            id
        ))
    })?;
    let disposition = format!("attachment; filename=\"{}.{}\"", c.id, fmt.extension());
    let mut resp = (StatusCode::OK, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(fmt.media_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// Fallback for unknown paths.
pub async fn not_found(uri: Uri) -> Response {
    ApiError::NotFound(format!("no resource at '{}'", uri.path())).into_response()
}
