//! The OpenAPI 3.0 description (`/api`), generated from the catalog: only what works on this
//! server (downloads a collection offers, the index ranking where an index exists), every
//! parameter as strict as the handlers, and a response schema for every JSON answer — so that
//! generic clients (GDAL, QGIS, OWSLib) and contract testers (schemathesis) can rely on it.
//!
//! Client quirks it serves: GDAL 3.6 sends a CQL filter only when an items path lists
//! `filter-lang` with `cql-text` in its enum; QGIS 3.22 reads the page size from
//! `components.parameters.limit.schema.{default,maximum}` (that literal place). The `limit`
//! parameter of the operations has no `maximum`: larger values are clamped, not refused (as
//! OGC API – Features Core recommends), and a schema maximum would promise a 400.

use crate::api::Ctx;
use crate::catalog::{Catalog, CollectionKind, FieldType};
use crate::crs::OutputCrs;
use crate::error::ApiError;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

fn param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema, "style": "form", "explode": false})
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string"}})
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Responses: 200 with the given media types (each `(media, schema name or None)`), every
/// error as a problem document.
fn responses(description: &str, media: &[(&str, Option<&str>)]) -> Value {
    let mut content = serde_json::Map::new();
    for (m, schema) in media {
        content.insert(
            (*m).to_string(),
            match schema {
                Some("binary") => json!({"schema": {"type": "string", "format": "binary"}}),
                Some(s) => json!({"schema": schema_ref(s)}),
                None => json!({"schema": {"type": "string"}}),
            },
        );
    }
    json!({
        "200": {"description": description, "content": content},
        "304": {"description": "Nicht geändert (If-None-Match)"},
        "default": {"description": "Fehler (400 ungültiger Parameter, 404 nicht gefunden, 406 Format nicht angeboten, 414 URL zu lang, 503 ausgelastet)",
                    "content": {"application/problem+json": {"schema": schema_ref("Problem")}}},
    })
}

/// The `Content-Crs` header of feature responses (Part 2).
fn content_crs_header() -> Value {
    json!({"Content-Crs": {"description": "CRS der Koordinaten, als URI in spitzen Klammern", "schema": {"type": "string"}}})
}

/// A year, an RFC 3339 date or date-time, or an interval of those with `/` and open ends `..`.
fn datetime_schema() -> Value {
    let instant = r"(\d{4}(-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|30)(T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))?)?)";
    json!({
        "type": "string",
        "pattern": format!("^({instant}|{instant}?/{instant}?|{instant}?/\\.\\.|\\.\\./{instant}?)$"),
    })
}

/// `zoom-level` (OGC API – Features Part 7, draft): simplified geometry for a map at that zoom.
fn zoom_param() -> Value {
    param(
        "zoom-level",
        &format!(
            "Zoomstufe (WebMercatorQuad) der Kartendarstellung: Gebietsgeometrien werden für sie \
             vereinfacht (Abweichung höchstens ein halbes Pixel, gemeinsame Grenzen bleiben \
             gemeinsam); vorberechnet für {:?}, darüber die volle Geometrie. Ohne Wirkung bei Punkten.",
            crate::catalog::ZOOM_TIERS
        ),
        json!({"type": "integer", "minimum": 0, "maximum": crate::query::MAX_ZOOM_LEVEL}),
    )
}

fn get_op(summary: &str, params: Vec<Value>, responses: Value) -> Value {
    json!({"get": {"summary": summary, "parameters": params, "responses": responses}})
}

/// Reusable schemas of the JSON answers.
fn components(cat: &Catalog) -> Value {
    let link = json!({
        "type": "object", "required": ["href", "rel"],
        "properties": {"href": {"type": "string"}, "rel": {"type": "string"},
                       "type": {"type": "string"}, "title": {"type": "string"}}
    });
    let links = json!({"type": "array", "items": schema_ref("Link")});
    let nullable_num = json!({"type": "number", "nullable": true});
    let nullable_int = json!({"type": "integer", "nullable": true});
    let nullable_str = json!({"type": "string", "nullable": true});
    let geometry = json!({
        "type": "object", "nullable": true, "required": ["type", "coordinates"],
        "properties": {"type": {"type": "string", "enum": ["Point", "MultiPolygon"]},
                       "coordinates": {"type": "array"}}
    });
    let feature = json!({
        "type": "object", "required": ["type", "id", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string"},
            "geometry": geometry.clone(),
            "properties": {"type": "object"},
            "links": links,
        }
    });
    let index_row = json!({
        "type": "object", "required": ["id", "name", "rank"],
        "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "rank": nullable_int,
            "status_value": nullable_num, "status_class": nullable_int,
            "dynamics_value": nullable_num, "dynamics_class": nullable_int,
            "group": nullable_str, "attention": {"type": "boolean", "nullable": true},
            "reason": nullable_str,
            "status_contributions": {"type": "array", "nullable": true},
            "dynamics_contributions": {"type": "array", "nullable": true},
        }
    });
    json!({
        "parameters": {
            // QGIS 3.22 reads its page size from exactly here.
            "limit": {"name": "limit", "in": "query", "required": false, "style": "form", "explode": false,
                      "schema": {"type": "integer", "minimum": 1, "maximum": cat.settings.max_limit, "default": cat.settings.default_limit}},
        },
        "schemas": {
            "Link": link,
            "Problem": {
                "type": "object", "required": ["status", "title"],
                "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                               "status": {"type": "integer"}, "detail": {"type": "string"},
                               "code": {"type": "string"}, "description": {"type": "string"}}
            },
            "Landing": {"type": "object", "required": ["links"],
                        "properties": {"title": {"type": "string"}, "description": {"type": "string"}, "links": links}},
            "Conformance": {"type": "object", "required": ["conformsTo"],
                            "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}}},
            "Collection": {
                "type": "object", "required": ["id", "links"],
                "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                               "description": {"type": "string"}, "itemType": {"type": "string"},
                               "links": links, "extent": {"type": "object"},
                               "crs": {"type": "array", "items": {"type": "string"}},
                               "storageCrs": {"type": "string"}}
            },
            "Collections": {"type": "object", "required": ["links", "collections"],
                            "properties": {"links": links, "collections": {"type": "array", "items": schema_ref("Collection")}}},
            "Feature": feature,
            "FeatureCollection": {
                "type": "object", "required": ["type", "features"],
                "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                               "numberMatched": {"type": "integer", "minimum": 0},
                               "numberReturned": {"type": "integer", "minimum": 0},
                               "links": links,
                               "features": {"type": "array", "items": schema_ref("Feature")}}
            },
            "Download": {
                "type": "object", "required": ["type", "features"],
                "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                               "name": {"type": "string"},
                               "features": {"type": "array", "items": {
                                   "type": "object", "required": ["type", "id", "geometry", "properties"],
                                   "properties": {"type": {"type": "string", "enum": ["Feature"]},
                                                  "id": {"type": "integer", "description": "Zeilennummer (GDAL nimmt sie als FID)"},
                                                  "geometry": geometry.clone(),
                                                  "properties": {"type": "object"}}}}}
            },
            "JsonSchema": {"type": "object", "required": ["type"],
                           "properties": {"type": {"type": "string"}, "properties": {"type": "object"}, "title": {"type": "string"}}},
            "TimeSeries": {
                "type": "object", "required": ["collection", "id", "years", "counts", "indicators"],
                "properties": {"collection": {"type": "string"}, "id": {"type": "string"}, "name": nullable_str,
                               "years": {"type": "array", "items": {"type": "integer"}},
                               "counts": {"type": "object"}, "count_flags": {"type": "object"},
                               "indicators": {"type": "object"}, "indices": {"type": "object"},
                               "facilities": {"type": "object"}}
            },
            "IndexRanking": {
                "type": "object", "required": ["collection", "index", "year", "areas"],
                "properties": {"collection": {"type": "string"}, "index": {"type": "string"},
                               "title": {"type": "string"}, "year": {"type": "integer"},
                               "attention_count": {"type": "integer"},
                               "areas": {"type": "array", "items": index_row}}
            },
            "Missing": {
                "type": "object", "required": ["collection", "year", "indicators", "indices"],
                "properties": {"collection": {"type": "string"}, "year": {"type": "integer"},
                               "areas": {"type": "integer"},
                               "indicators": {"type": "object", "additionalProperties": schema_ref("MissingValues")},
                               "indices": {"type": "object", "additionalProperties": schema_ref("MissingValues")}}
            },
            "MissingValues": {
                "type": "object", "required": ["with_value", "missing"],
                "properties": {"with_value": {"type": "integer", "minimum": 0},
                               "missing": {"type": "object", "description": "Grund (suppressed, denominator_zero, no_data, below_min_population, excluded, source_missing, not_additive, incomplete, too_few_areas) → Gebiets-IDs",
                                           "additionalProperties": {"type": "array", "items": {"type": "string"}}}}
            },
            "MapConfig": {
                "type": "object", "required": ["title", "zoom_tiers"],
                "properties": {"title": {"type": "string"}, "outline_level": nullable_str.clone(),
                               "basemap": {"type": "object", "nullable": true,
                                           "properties": {"kind": {"type": "string", "enum": ["xyz", "wms"]},
                                                          "url": {"type": "string"}, "attribution": {"type": "string"},
                                                          "layers": nullable_str.clone(), "format": {"type": "string"},
                                                          "styles": {"type": "string"}, "version": {"type": "string"},
                                                          "max_zoom": {"type": "integer"}, "opacity": {"type": "number"},
                                                          "title": {"type": "string"}, "visible": {"type": "boolean"}}},
                               "impressum_url": nullable_str.clone(), "datenschutz_url": nullable_str.clone(),
                               "zoom_tiers": {"type": "array", "items": {"type": "integer"}},
                               "reports": {"type": "boolean", "description": "ob der Server Berichte (/reports) erstellt"},
                               "links": links.clone()}
            },
            "Indicators": {
                "type": "object", "required": ["indicators", "indices", "years"],
                "properties": {"indicators": {"type": "array", "items": {"type": "object"}},
                               "indices": {"type": "array", "items": {"type": "object"}},
                               "years": {"type": "array", "items": {"type": "integer"}},
                               "count_columns": {"type": "array", "items": {"type": "string"}},
                               "disclosure_threshold": {"type": "integer"}}
            },
        }
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
    let json_html =
        |schema: &'static str| vec![("application/json", Some(schema)), ("text/html", None)];
    let mut paths = serde_json::Map::new();
    paths.insert(
        "/".into(),
        get_op(
            "Startseite",
            vec![f.clone()],
            responses("Startseite", &json_html("Landing")),
        ),
    );
    paths.insert(
        "/api".into(),
        get_op(
            "Diese API-Beschreibung",
            vec![param(
                "f",
                "Format",
                json!({"type": "string", "enum": ["json", "html"]}),
            )],
            responses(
                "OpenAPI 3.0",
                &[
                    (
                        "application/vnd.oai.openapi+json;version=3.0",
                        Some("JsonSchema"),
                    ),
                    ("text/html", None),
                ],
            ),
        ),
    );
    paths.insert(
        "/conformance".into(),
        get_op(
            "Konformitätsklassen",
            vec![f.clone()],
            responses("Konformität", &json_html("Conformance")),
        ),
    );
    paths.insert(
        "/collections".into(),
        get_op(
            "Datensätze",
            vec![f.clone()],
            responses("Datensätze", &json_html("Collections")),
        ),
    );
    paths.insert(
        "/map-config".into(),
        get_op(
            "Kartenkonfiguration (Übersichtsebene, Hintergrundkarte, Impressum und Datenschutz)",
            vec![param(
                "f",
                "Format",
                json!({"type": "string", "enum": ["json"]}),
            )],
            responses(
                "Kartenkonfiguration",
                &[("application/json", Some("MapConfig"))],
            ),
        ),
    );
    paths.insert(
        "/indicators".into(),
        get_op(
            "Indikatorenkatalog",
            vec![f.clone()],
            responses("Indikatoren", &json_html("Indicators")),
        ),
    );
    for (path, op) in crate::reports::openapi_paths(cat) {
        paths.insert(path, op);
    }
    let fid = path_param("featureId", "Gebiets- oder Einrichtungs-ID");
    for c in &cat.collections {
        let p = format!("/collections/{}", c.id);
        paths.insert(
            p.clone(),
            get_op(
                &c.title,
                vec![f.clone()],
                responses("Metadaten", &json_html("Collection")),
            ),
        );
        let names: Vec<&str> = c.fields.iter().map(|f| f.name.as_str()).collect();
        let mut params = vec![
            f.clone(),
            param(
                "limit",
                &format!(
                    "Seitengröße (Standard {}; Werte über {} werden auf {} gekürzt)",
                    cat.settings.default_limit, cat.settings.max_limit, cat.settings.max_limit
                ),
                json!({"type": "integer", "minimum": 1}),
            ),
            param(
                "offset",
                "Anzahl zu überspringender Features",
                json!({"type": "integer", "minimum": 0, "default": 0}),
            ),
            param(
                "bbox",
                "minx,miny,maxx,maxy (oder mit Höhen 6 Werte) in bbox-crs; Süd nicht nördlich von Nord \
                 (west > ost nur in Längengraden: über die Datumsgrenze)",
                json!({"oneOf": [
                    {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
                    {"type": "array", "minItems": 6, "maxItems": 6, "items": {"type": "number"}},
                ]}),
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
                json!({"type": "string", "minLength": 1, "maxLength": crate::cql::MAX_FILTER_CHARS}),
            ),
            // GDAL 3.6 recognises only the older name `cql-text`; both mean CQL2-text here.
            param(
                "filter-lang",
                "Filtersprache (cql-text ist der ältere Name von cql2-text)",
                json!({"type": "string", "enum": ["cql2-text", "cql-text"], "default": "cql2-text"}),
            ),
            param(
                "filter-crs",
                "CRS von Geometrien im Filter (ohne Wirkung: der Filter kennt keine räumlichen Bedingungen)",
                json!({"type": "string", "format": "uri", "enum": crs_enum}),
            ),
            param(
                "sortby",
                "Sortierung: Eigenschaften mit + (aufsteigend, Standard) oder - (absteigend), durch Komma getrennt",
                json!({"type": "array", "items": {"type": "string", "pattern": format!("^[+-]?({})$", names.join("|"))}, "minItems": 1, "maxItems": 8}),
            ),
            param(
                "properties",
                "Nur diese Eigenschaften ausgeben (durch Komma getrennt)",
                json!({"type": "array", "items": {"type": "string", "enum": names}, "minItems": 1}),
            ),
            param(
                "skipGeometry",
                "true: Features ohne Geometrie",
                json!({"type": "boolean", "default": false}),
            ),
            zoom_param(),
        ];
        if c.kind == CollectionKind::Areas {
            params.push(param(
                "datetime",
                "Jahr (2024), Datum oder Zeitpunkt nach RFC 3339, oder Intervall mit / (offene Enden ..); \
                 ohne Angabe: das jüngste Jahr mit Indexwerten",
                datetime_schema(),
            ));
        }
        for field in &c.fields {
            // Equality filters: the values of a property (GDAL sends `name=value`).
            if names.contains(&field.name.as_str())
                && !crate::query::ITEMS_PARAMS.contains(&field.name.as_str())
            {
                params.push(param(
                    &field.name,
                    &field.title,
                    json!({"type": match field.ty {
                        FieldType::Integer | FieldType::Number => "number",
                        other => other.json_type(),
                    }}),
                ));
            }
        }
        let mut items_resp = responses(
            "Features",
            &[
                ("application/geo+json", Some("FeatureCollection")),
                ("text/html", None),
            ],
        );
        let escaped = |path: &str| path.replace('~', "~0").replace('/', "~1");
        let mut links = serde_json::Map::new();
        links.insert(
            "Feature".into(),
            json!({"operationRef": format!("#/paths/{}/get", escaped(&format!("{p}/items/{{featureId}}"))),
                   "parameters": {"featureId": "$response.body#/features/0/id"}}),
        );
        if c.kind == CollectionKind::Areas {
            links.insert(
                "Zeitreihe".into(),
                json!({"operationRef": format!("#/paths/{}/get", escaped(&format!("{p}/items/{{featureId}}/timeseries"))),
                       "parameters": {"featureId": "$response.body#/features/0/id"}}),
            );
        }
        items_resp["200"]["links"] = Value::Object(links);
        items_resp["200"]["headers"] = content_crs_header();
        paths.insert(
            format!("{p}/items"),
            get_op(&format!("{}: Features", c.title), params, items_resp),
        );
        let mut item_params = vec![
            f.clone(),
            fid.clone(),
            param(
                "crs",
                "Ausgabe-CRS",
                json!({"type": "string", "format": "uri", "enum": crs_enum}),
            ),
            param(
                "properties",
                "Nur diese Eigenschaften ausgeben",
                json!({"type": "array", "items": {"type": "string", "enum": names}, "minItems": 1}),
            ),
            param(
                "skipGeometry",
                "true: ohne Geometrie",
                json!({"type": "boolean", "default": false}),
            ),
            zoom_param(),
        ];
        if c.kind == CollectionKind::Areas {
            item_params.push(param(
                "datetime",
                "Jahr oder Intervall (Standard: das jüngste Jahr mit Indexwerten)",
                datetime_schema(),
            ));
        }
        let mut item_resp = responses(
            "Feature",
            &[
                ("application/geo+json", Some("Feature")),
                ("text/html", None),
            ],
        );
        item_resp["200"]["headers"] = content_crs_header();
        paths.insert(
            format!("{p}/items/{{featureId}}"),
            get_op(&format!("{}: ein Feature", c.title), item_params, item_resp),
        );
        paths.insert(
            format!("{p}/queryables"),
            get_op(
                "Abfragbare Eigenschaften",
                vec![f.clone()],
                responses(
                    "JSON Schema",
                    &[
                        ("application/schema+json", Some("JsonSchema")),
                        ("text/html", None),
                    ],
                ),
            ),
        );
        for (path, summary) in [
            ("schema", "Schema der Eigenschaften (Part 5)"),
            ("feature-schema", "Schema der Features (GeoJSON)"),
        ] {
            paths.insert(
                format!("{p}/{path}"),
                get_op(
                    summary,
                    vec![param(
                        "f",
                        "Format",
                        json!({"type": "string", "enum": ["json"]}),
                    )],
                    responses(
                        "JSON Schema",
                        &[("application/schema+json", Some("JsonSchema"))],
                    ),
                ),
            );
        }
        let formats: Vec<&str> = c.downloads.keys().map(|k| k.key()).collect();
        let media: Vec<(&str, Option<&str>)> = {
            let mut m: Vec<(&str, Option<&str>)> = c
                .downloads
                .keys()
                .map(|k| {
                    let schema = match k {
                        crate::catalog::DownloadFormat::GeoJson => Some("Download"),
                        crate::catalog::DownloadFormat::Gpkg => Some("binary"),
                        _ => None,
                    };
                    (k.media_type(), schema)
                })
                .collect();
            m.dedup_by_key(|x| x.0);
            m
        };
        paths.insert(
            format!("{p}/download"),
            get_op(
                "Download (alle Jahre)",
                vec![param(
                    "format",
                    "Format",
                    json!({"type": "string", "enum": formats, "default": "geojson"}),
                )],
                responses("Datei", &media),
            ),
        );
        if c.kind == CollectionKind::Areas {
            paths.insert(
                format!("{p}/items/{{featureId}}/timeseries"),
                get_op(
                    "Zeitreihe eines Gebiets",
                    vec![
                        fid.clone(),
                        param("f", "Format", json!({"type": "string", "enum": ["json"]})),
                    ],
                    responses("Zeitreihe", &[("application/json", Some("TimeSeries"))]),
                ),
            );
            paths.insert(
                format!("{p}/missing"),
                get_op(
                    "Fehlende Werte eines Jahres und ihre Gründe",
                    vec![
                        param(
                            "year",
                            "Jahr (Standard: das Standardjahr der Ebene)",
                            json!({"type": "integer", "enum": cat.result.years}),
                        ),
                        param("f", "Format", json!({"type": "string", "enum": ["json"]})),
                    ],
                    responses("Fehlende Werte", &[("application/json", Some("Missing"))]),
                ),
            );
            let indices: Vec<&str> = cat
                .result
                .indices
                .iter()
                .filter(|i| i.level == c.id)
                .map(|i| i.id.as_str())
                .collect();
            if !indices.is_empty() {
                paths.insert(
                    format!("{p}/index"),
                    get_op(
                        "Gebiete nach Index sortiert",
                        vec![
                            param(
                                "index",
                                "Index-Id",
                                json!({"type": "string", "enum": indices}),
                            ),
                            param(
                                "year",
                                "Jahr (Standard: das jüngste mit Indexwerten)",
                                json!({"type": "integer", "enum": cat.result.years}),
                            ),
                            param("f", "Format", json!({"type": "string", "enum": ["json"]})),
                        ],
                        responses("Rangliste", &[("application/json", Some("IndexRanking"))]),
                    ),
                );
            }
        }
    }
    json!({
        "openapi": "3.0.2",
        "info": {"title": format!("kleinraum – {}", cat.settings.title), "version": env!("CARGO_PKG_VERSION"), "description": "OGC API – Features für kleinräumige Sozialplanung"},
        "servers": [{"url": base}],
        "paths": paths,
        "components": components(cat),
    })
}

/// `GET /api`
pub async fn api(State(cat): State<Arc<Catalog>>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.allow(&[])?;
    let doc = document(&cat, &ctx.base);
    let html = match ctx
        .pairs
        .iter()
        .find(|(k, _)| k == "f")
        .map(|(_, v)| v.as_str())
    {
        None | Some("json") => false,
        Some("html") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "unsupported format f={other}; use f=json or f=html"
            )));
        }
    };
    if html {
        let mut b = String::from(
            "<!DOCTYPE html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>API</title></head><body><h1>API-Pfade</h1><ul>",
        );
        if let Some(paths) = doc["paths"].as_object() {
            for (p, v) in paths {
                b.push_str(&format!(
                    "<li><code>GET {}</code> – {}</li>",
                    p.replace('&', "&amp;").replace('<', "&lt;"),
                    v["get"]["summary"]
                        .as_str()
                        .unwrap_or("")
                        .replace('&', "&amp;")
                        .replace('<', "&lt;")
                ));
            }
        }
        b.push_str(&format!(
            "</ul><p><a href=\"{}/api\">OpenAPI-Dokument (JSON)</a></p></body></html>",
            ctx.base.replace('&', "&amp;").replace('"', "&quot;")
        ));
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
