//! The OpenAPI 3.0 description (`/api`), generated from the catalog.

use crate::api::Ctx;
use crate::catalog::{Catalog, CollectionKind};
use crate::crs::OutputCrs;
use crate::error::ApiError;
use axum::extract::State;
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

fn param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema, "style": "form", "explode": false})
}

fn ok(description: &str, media: &[&str]) -> Value {
    let mut content = serde_json::Map::new();
    for m in media {
        content.insert((*m).to_string(), json!({}));
    }
    json!({
        "200": {"description": description, "content": content},
        "400": {"description": "Ungültiger Parameter", "content": {"application/problem+json": {}}},
        "404": {"description": "Nicht gefunden", "content": {"application/problem+json": {}}},
    })
}

/// Builds the OpenAPI document.
pub fn document(cat: &Catalog, base: &str) -> Value {
    let crs_enum: Vec<&str> = OutputCrs::ALL.iter().map(|c| c.uri()).collect();
    let f = param(
        "f",
        "Format",
        json!({"type": "string", "enum": ["json", "html"]}),
    );
    let mut paths = serde_json::Map::new();
    let get = |summary: &str, params: Vec<Value>, responses: Value| json!({"get": {"summary": summary, "parameters": params, "responses": responses}});
    paths.insert(
        "/".into(),
        get(
            "Startseite",
            vec![f.clone()],
            ok("Startseite", &["application/json", "text/html"]),
        ),
    );
    paths.insert(
        "/api".into(),
        get(
            "Diese API-Beschreibung",
            vec![],
            ok(
                "OpenAPI 3.0",
                &["application/vnd.oai.openapi+json;version=3.0"],
            ),
        ),
    );
    paths.insert(
        "/conformance".into(),
        get(
            "Konformitätsklassen",
            vec![f.clone()],
            ok("Konformität", &["application/json", "text/html"]),
        ),
    );
    paths.insert(
        "/collections".into(),
        get(
            "Datensätze",
            vec![f.clone()],
            ok("Datensätze", &["application/json", "text/html"]),
        ),
    );
    paths.insert(
        "/indicators".into(),
        get(
            "Indikatorenkatalog",
            vec![f.clone()],
            ok("Indikatoren", &["application/json", "text/html"]),
        ),
    );
    for c in &cat.collections {
        let p = format!("/collections/{}", c.id);
        paths.insert(
            p.clone(),
            get(
                &c.title,
                vec![f.clone()],
                ok("Metadaten", &["application/json", "text/html"]),
            ),
        );
        let mut params = vec![
            f.clone(),
            param(
                "limit",
                "Seitengröße (größere Werte werden auf das Maximum gekürzt)",
                json!({"type": "integer", "minimum": 1, "maximum": cat.settings.max_limit, "default": cat.settings.default_limit}),
            ),
            param(
                "offset",
                "Anzahl zu überspringender Features",
                json!({"type": "integer", "minimum": 0, "default": 0}),
            ),
            param(
                "bbox",
                "minx,miny,maxx,maxy in bbox-crs",
                json!({"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}),
            ),
            param(
                "bbox-crs",
                "CRS der bbox",
                json!({"type": "string", "format": "uri", "enum": crs_enum}),
            ),
            param(
                "crs",
                "Ausgabe-CRS",
                json!({"type": "string", "format": "uri", "enum": crs_enum}),
            ),
            param(
                "filter",
                "CQL2-Text, z. B. status_class >= 3 AND year = 2020",
                json!({"type": "string"}),
            ),
            param(
                "filter-lang",
                "Filtersprache",
                json!({"type": "string", "enum": ["cql2-text"]}),
            ),
        ];
        if c.kind == CollectionKind::Areas {
            params.push(param(
                "datetime",
                "Jahr oder Intervall (Standard: jüngstes Jahr)",
                json!({"type": "string"}),
            ));
        }
        for field in &c.fields {
            params.push(param(
                &field.name,
                &field.title,
                json!({"type": field.ty.json_type()}),
            ));
        }
        paths.insert(
            format!("{p}/items"),
            get(
                &format!("{}: Features", c.title),
                params,
                ok("Features", &["application/geo+json", "text/html"]),
            ),
        );
        paths.insert(
            format!("{p}/items/{{featureId}}"),
            json!({"get": {"summary": format!("{}: ein Feature", c.title), "parameters": [
                f, {"name": "featureId", "in": "path", "required": true, "schema": {"type": "string"}},
                param("crs", "Ausgabe-CRS", json!({"type": "string", "format": "uri", "enum": crs_enum})),
            ], "responses": ok("Feature", &["application/geo+json", "text/html"])}}),
        );
        paths.insert(
            format!("{p}/queryables"),
            get(
                "Abfragbare Eigenschaften",
                vec![],
                ok("JSON Schema", &["application/schema+json"]),
            ),
        );
        paths.insert(
            format!("{p}/download"),
            get(
                "Download",
                vec![param(
                    "format",
                    "Format",
                    json!({"type": "string", "enum": ["geojson", "csv", "csv-excel", "gpkg"]}),
                )],
                ok(
                    "Datei",
                    &[
                        "application/geo+json",
                        "text/csv",
                        "application/geopackage+sqlite3",
                    ],
                ),
            ),
        );
        if c.kind == CollectionKind::Areas {
            paths.insert(
                format!("{p}/items/{{featureId}}/timeseries"),
                json!({"get": {"summary": "Zeitreihe eines Gebiets", "parameters": [{"name": "featureId", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": ok("Zeitreihe", &["application/json"])}}),
            );
            paths.insert(
                format!("{p}/index"),
                get(
                    "Gebiete nach Index sortiert",
                    vec![
                        param("index", "Index-Id", json!({"type": "string"})),
                        param("year", "Jahr", json!({"type": "integer"})),
                    ],
                    ok("Rangliste", &["application/json"]),
                ),
            );
        }
    }
    json!({
        "openapi": "3.0.2",
        "info": {"title": format!("kleinraum – {}", cat.settings.title), "version": env!("CARGO_PKG_VERSION"), "description": "OGC API – Features für kleinräumige Sozialplanung"},
        "servers": [{"url": base}],
        "paths": paths,
    })
}

/// `GET /api`
pub async fn api(
    State(cat): State<Arc<Catalog>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ctx = Ctx::new(&uri, &headers);
    let doc = document(&cat, &ctx.base);
    let html = uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "f=html"));
    if html {
        let mut b = String::from(
            "<!DOCTYPE html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>API</title></head><body><h1>API-Pfade</h1><ul>",
        );
        if let Some(paths) = doc["paths"].as_object() {
            for (p, v) in paths {
                b.push_str(&format!(
                    "<li><code>GET {}</code> – {}</li>",
                    p.replace('<', "&lt;"),
                    v["get"]["summary"]
                        .as_str()
                        .unwrap_or("")
                        .replace('<', "&lt;")
                ));
            }
        }
        b.push_str("</ul><p><a href=\"/api\">OpenAPI-Dokument (JSON)</a></p></body></html>");
        return Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], b).into_response());
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/vnd.oai.openapi+json;version=3.0",
        )],
        doc.to_string(),
    )
        .into_response())
}
