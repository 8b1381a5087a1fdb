//! ESRI Shapefile reader in pure Rust: `.shp` + `.shx` + `.dbf`, optional `.prj` and `.cpg`.
//!
//! The three binary files are parsed here with bounds-checked reads (no external parser), so a
//! truncated or corrupt file yields a [`LoadError`] naming the file and record instead of a panic
//! or an allocation of a bogus size. DBF text is decoded with the code page from the `.cpg`, else
//! the configured `encoding`, else by detection (valid UTF-8 → UTF-8, otherwise Windows-1252,
//! the code page German municipal GIS exports use). The `.prj` WKT is identified as an EPSG code
//! (see [`epsg_from_wkt`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use encoding_rs::Encoding;
use geo::coordinate_position::CoordPos;
use geo::{
    Coord, CoordinatePosition, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon,
};

use crate::error::LoadError;
use crate::features::{PropValue, RawFeature, RawLayer};

/// Reads a shapefile into a [`RawLayer`].
///
/// `path` is the `.shp`; `.shx` and `.dbf` must lie beside it (any letter case of the
/// extension). `encoding` is the configured DBF code page (a label such as `UTF-8`, `1252`,
/// `ISO-8859-1`); a `.cpg` file takes precedence over it. Without a `.prj` the layer's `epsg` is
/// `None` (the caller decides whether the config supplies one).
///
/// Records flagged as deleted in the DBF are skipped together with their shape, as GDAL does.
pub fn read(path: &Path, encoding: Option<&str>) -> Result<RawLayer, LoadError> {
    let shx_path = required_sibling(path, "shx")?;
    let dbf_path = required_sibling(path, "dbf")?;

    let shp = read_bytes(path)?;
    let shx = read_bytes(&shx_path)?;
    let dbf = read_bytes(&dbf_path)?;

    let index = parse_shx(&shx_path, &shx)?;
    let table = parse_dbf_header(&dbf_path, &dbf)?;
    if index.len() != table.n_records {
        return Err(format_err(
            path,
            format!(
                "{} shapes in {} but {} records in {}; the files do not belong together",
                index.len(),
                file_name(&shx_path),
                table.n_records,
                file_name(&dbf_path)
            ),
        ));
    }
    check_shp_header(path, &shp)?;

    let text_encoding = resolve_encoding(path, &dbf, &table, encoding)?;
    let fields: Vec<String> = table
        .fields
        .iter()
        .map(|f| text_encoding.decode_lossy(&f.name_bytes))
        .collect();

    let mut features = Vec::with_capacity(index.len());
    for (i, &(offset, len)) in index.iter().enumerate() {
        let record = &dbf[table.record_start(i)..table.record_start(i) + table.record_len];
        if record[0] == b'*' {
            continue;
        }
        let feature_no = i + 1;
        let geometry = read_shape(path, &shp, feature_no, offset, len)?;
        let mut props = BTreeMap::new();
        for (field, name) in table.fields.iter().zip(&fields) {
            let raw = &record[field.offset..field.offset + field.len];
            let value =
                decode_value(field, raw, text_encoding).map_err(|message| LoadError::Feature {
                    path: dbf_path.clone(),
                    feature: feature_no.to_string(),
                    field: name.clone(),
                    message,
                })?;
            props.insert(name.clone(), value);
        }
        features.push(RawFeature { geometry, props });
    }

    // A .prj that maps to no EPSG code (a city's own UTM variant) is kept as the WKT it is:
    // PROJ transforms from it, and the area-of-use check catches a wrong one.
    let (epsg, wkt) = match optional_sibling(path, "prj") {
        Some(prj_path) => {
            let bytes = read_bytes(&prj_path)?;
            // Some Windows tools write a UTF-8 byte order mark.
            let wkt =
                String::from_utf8_lossy(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes))
                    .trim()
                    .to_string();
            if wkt.is_empty() {
                (None, None)
            } else {
                match epsg_from_wkt(&wkt) {
                    Some(code) => (Some(code), None),
                    None => (None, Some(wkt)),
                }
            }
        }
        None => (None, None),
    };

    Ok(RawLayer {
        source: path.display().to_string(),
        epsg,
        wkt,
        fields,
        features,
    })
}

// ---------------------------------------------------------------------------------------------
// Files

fn read_bytes(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn format_err(path: &Path, message: String) -> LoadError {
    LoadError::Format {
        path: path.to_path_buf(),
        message,
    }
}

/// The sibling file with extension `ext`, trying lower then upper case (`.dbf` / `.DBF`), since
/// shapefiles copied from Windows often carry upper-case extensions.
fn optional_sibling(shp: &Path, ext: &str) -> Option<PathBuf> {
    [ext.to_ascii_lowercase(), ext.to_ascii_uppercase()]
        .into_iter()
        .map(|e| shp.with_extension(e))
        .find(|p| p.is_file())
}

fn required_sibling(shp: &Path, ext: &str) -> Result<PathBuf, LoadError> {
    optional_sibling(shp, ext).ok_or_else(|| {
        let missing = shp.with_extension(ext);
        LoadError::Format {
            path: missing.clone(),
            message: format!(
                "missing: a shapefile needs {} next to {} (.shp, .shx and .dbf belong together)",
                file_name(&missing),
                file_name(shp)
            ),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// .shx / .shp

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    b.get(at..at + 4)
        .map(|s| i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn le_i32(b: &[u8], at: usize) -> Option<i32> {
    b.get(at..at + 4)
        .map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn le_f64(b: &[u8], at: usize) -> Option<f64> {
    b.get(at..at + 8).map(|s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        f64::from_le_bytes(a)
    })
}

/// (byte offset of the record header in the .shp, content length in bytes) per shape.
fn parse_shx(path: &Path, shx: &[u8]) -> Result<Vec<(usize, usize)>, LoadError> {
    if shx.len() < 100 || be_i32(shx, 0) != Some(9994) {
        return Err(format_err(
            path,
            "not a shapefile index (header missing or wrong file code)".into(),
        ));
    }
    let body = &shx[100..];
    if !body.len().is_multiple_of(8) {
        return Err(format_err(
            path,
            format!(
                "truncated: {} bytes after the header is not a whole number of 8-byte entries",
                body.len()
            ),
        ));
    }
    body.chunks_exact(8)
        .enumerate()
        .map(|(i, e)| {
            let offset = i32::from_be_bytes([e[0], e[1], e[2], e[3]]);
            let len = i32::from_be_bytes([e[4], e[5], e[6], e[7]]);
            if offset < 50 || len < 0 {
                return Err(format_err(
                    path,
                    format!(
                        "index entry {}: invalid offset {offset} / length {len}",
                        i + 1
                    ),
                ));
            }
            // Offsets and lengths are counted in 16-bit words.
            Ok((offset as usize * 2, len as usize * 2))
        })
        .collect()
}

fn check_shp_header(path: &Path, shp: &[u8]) -> Result<(), LoadError> {
    if shp.len() < 100 || be_i32(shp, 0) != Some(9994) {
        return Err(format_err(
            path,
            "not a shapefile (header missing or wrong file code)".into(),
        ));
    }
    Ok(())
}

/// Reads shape number `feature_no` (1-based) whose record header starts at byte `offset`.
fn read_shape(
    path: &Path,
    shp: &[u8],
    feature_no: usize,
    offset: usize,
    len: usize,
) -> Result<Option<Geometry<f64>>, LoadError> {
    let err = |message: String| LoadError::Feature {
        path: path.to_path_buf(),
        feature: feature_no.to_string(),
        field: "geometry".into(),
        message,
    };
    let start = offset + 8;
    let content = shp.get(start..start + len).ok_or_else(|| {
        err(format!(
            "record at byte {offset} with {len} bytes runs past the end of the file ({} bytes); the .shp is truncated",
            shp.len()
        ))
    })?;
    parse_shape(content).map_err(err)
}

/// Parses one record's content (shape type + geometry, little-endian). Z and M values are
/// ignored: kleinraum works in 2D.
fn parse_shape(c: &[u8]) -> Result<Option<Geometry<f64>>, String> {
    let short = || format!("record content too short ({} bytes)", c.len());
    let shape_type = le_i32(c, 0).ok_or_else(short)?;
    match shape_type {
        0 => Ok(None),
        // Point, PointZ, PointM
        1 | 11 | 21 => {
            let x = le_f64(c, 4).ok_or_else(short)?;
            let y = le_f64(c, 12).ok_or_else(short)?;
            Ok(Some(Geometry::Point(Point::new(x, y))))
        }
        // MultiPoint, MultiPointZ, MultiPointM
        8 | 18 | 28 => {
            let n = count(c, 36, "points")?;
            let pts = read_points(c, 40, n)?;
            Ok(Some(Geometry::MultiPoint(MultiPoint::from(
                pts.into_iter().map(Point::from).collect::<Vec<_>>(),
            ))))
        }
        // PolyLine (3, 13, 23) and Polygon (5, 15, 25)
        3 | 13 | 23 | 5 | 15 | 25 => {
            let n_parts = count(c, 36, "parts")?;
            let n_points = count(c, 40, "points")?;
            let parts_at = 44;
            let points_at = parts_at + 4 * n_parts;
            let pts = read_points(c, points_at, n_points)?;
            let mut starts = Vec::with_capacity(n_parts);
            for p in 0..n_parts {
                let s = le_i32(c, parts_at + 4 * p).ok_or_else(short)?;
                if s < 0
                    || s as usize > n_points
                    || starts.last().is_some_and(|&l| (s as usize) < l)
                {
                    return Err(format!("part {p} starts at invalid point index {s}"));
                }
                starts.push(s as usize);
            }
            let parts: Vec<Vec<Coord<f64>>> = starts
                .iter()
                .enumerate()
                .map(|(p, &s)| {
                    let e = starts.get(p + 1).copied().unwrap_or(n_points);
                    pts[s..e].to_vec()
                })
                .collect();
            if parts.is_empty() {
                return Ok(None);
            }
            if matches!(shape_type, 3 | 13 | 23) {
                let mut lines: Vec<LineString<f64>> =
                    parts.into_iter().map(LineString::from).collect();
                return Ok(Some(if lines.len() == 1 {
                    Geometry::LineString(lines.remove(0))
                } else {
                    Geometry::MultiLineString(MultiLineString::new(lines))
                }));
            }
            Ok(Some(assemble_polygons(parts)))
        }
        31 => Err("MultiPatch shapes are not supported".into()),
        other => Err(format!("unknown shape type {other}")),
    }
}

/// A non-negative count at `at`, sanity-limited by the record size so a corrupt count cannot
/// trigger a huge allocation.
fn count(c: &[u8], at: usize, what: &str) -> Result<usize, String> {
    let n = le_i32(c, at).ok_or_else(|| format!("record content too short ({} bytes)", c.len()))?;
    if n < 0 || n as usize > c.len() {
        return Err(format!("invalid number of {what}: {n}"));
    }
    Ok(n as usize)
}

fn read_points(c: &[u8], at: usize, n: usize) -> Result<Vec<Coord<f64>>, String> {
    let end = at + 16 * n;
    if c.len() < end {
        return Err(format!(
            "record declares {n} points but holds only {} bytes",
            c.len()
        ));
    }
    Ok((0..n)
        .map(|i| {
            let p = at + 16 * i;
            // In bounds: checked above.
            Coord {
                x: le_f64(c, p).unwrap_or(f64::NAN),
                y: le_f64(c, p + 8).unwrap_or(f64::NAN),
            }
        })
        .collect())
}

/// A ring's vertices.
type Ring = Vec<Coord<f64>>;
/// (min x, min y, max x, max y).
type Bbox = (f64, f64, f64, f64);
/// An outer ring and its holes.
type RingGroup = (Ring, Vec<Ring>);

/// Twice the signed area of a ring (shoelace); negative = clockwise with y pointing up.
fn signed_area2(ring: &[Coord<f64>]) -> f64 {
    ring.windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum()
}

fn bbox(ring: &[Coord<f64>]) -> Bbox {
    ring.iter().fold(
        (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ),
        |(a, b, c, d), p| (a.min(p.x), b.min(p.y), c.max(p.x), d.max(p.y)),
    )
}

/// Groups shapefile rings into polygons: clockwise rings are outer rings, counter-clockwise
/// rings are holes, and each hole goes to the smallest outer ring that contains it. A hole
/// that lies in no outer ring (a writer that got the orientation wrong) becomes an outer ring
/// of its own, so no area is dropped; likewise if there is no clockwise ring at all.
#[doc(hidden)] // public for tests/it/units
pub fn assemble_polygons(rings: Vec<Ring>) -> Geometry<f64> {
    let (outers, holes): (Vec<_>, Vec<_>) = rings.into_iter().partition(|r| signed_area2(r) <= 0.0);
    if outers.is_empty() {
        return finish_polygons(holes.into_iter().map(|r| (r, Vec::new())).collect());
    }
    let outer_polys: Vec<(Polygon<f64>, Bbox, f64)> = outers
        .iter()
        .map(|r| {
            (
                Polygon::new(LineString::from(r.clone()), Vec::new()),
                bbox(r),
                signed_area2(r).abs(),
            )
        })
        .collect();
    let mut groups: Vec<RingGroup> = outers.into_iter().map(|r| (r, Vec::new())).collect();
    let mut orphans = Vec::new();
    for hole in holes {
        let hb = bbox(&hole);
        let owner = outer_polys
            .iter()
            .enumerate()
            .filter(|(_, (_, ob, _))| ob.0 <= hb.0 && ob.1 <= hb.1 && ob.2 >= hb.2 && ob.3 >= hb.3)
            .filter(|(_, (poly, _, _))| ring_inside(poly, &hole))
            .min_by(|a, b| a.1.2.total_cmp(&b.1.2))
            .map(|(i, _)| i);
        match owner {
            Some(i) => groups[i].1.push(hole),
            None => orphans.push(hole),
        }
    }
    groups.extend(orphans.into_iter().map(|r| (r, Vec::new())));
    finish_polygons(groups)
}

/// Whether `ring` lies inside `outer`: decided by the first vertex not on the outer boundary
/// (holes may touch their outer ring at a vertex).
fn ring_inside(outer: &Polygon<f64>, ring: &[Coord<f64>]) -> bool {
    for c in ring {
        match outer.coordinate_position(c) {
            CoordPos::Inside => return true,
            CoordPos::Outside => return false,
            CoordPos::OnBoundary => {}
        }
    }
    true
}

fn finish_polygons(groups: Vec<RingGroup>) -> Geometry<f64> {
    let mut polys: Vec<Polygon<f64>> = groups
        .into_iter()
        .map(|(outer, holes)| {
            Polygon::new(
                LineString::from(outer),
                holes.into_iter().map(LineString::from).collect(),
            )
        })
        .collect();
    if polys.len() == 1 {
        Geometry::Polygon(polys.remove(0))
    } else {
        Geometry::MultiPolygon(MultiPolygon::new(polys))
    }
}

// ---------------------------------------------------------------------------------------------
// .dbf

#[doc(hidden)] // public for tests/it/units
pub struct DbfField {
    pub name_bytes: Vec<u8>,
    pub kind: u8,
    pub offset: usize,
    pub len: usize,
    pub decimals: u8,
}

struct DbfTable {
    n_records: usize,
    header_len: usize,
    record_len: usize,
    fields: Vec<DbfField>,
}

impl DbfTable {
    fn record_start(&self, i: usize) -> usize {
        self.header_len + i * self.record_len
    }
}

/// Parses the DBF header and field descriptors and checks that every record is present.
fn parse_dbf_header(path: &Path, dbf: &[u8]) -> Result<DbfTable, LoadError> {
    if dbf.len() < 33 {
        return Err(format_err(
            path,
            "not a dBase file (header truncated)".into(),
        ));
    }
    if dbf[0] & 0x07 == 4 {
        return Err(format_err(
            path,
            "dBase level 7 tables are not supported (shapefiles use dBase III)".into(),
        ));
    }
    let n_records = u32::from_le_bytes([dbf[4], dbf[5], dbf[6], dbf[7]]) as usize;
    let header_len = u16::from_le_bytes([dbf[8], dbf[9]]) as usize;
    let record_len = u16::from_le_bytes([dbf[10], dbf[11]]) as usize;
    if header_len < 33 || header_len > dbf.len() || record_len == 0 {
        return Err(format_err(
            path,
            format!("invalid header (header length {header_len}, record length {record_len})"),
        ));
    }
    let mut fields = Vec::new();
    let mut offset = 1; // byte 0 of each record is the deletion flag
    let mut at = 32;
    while at + 32 <= header_len && dbf[at] != 0x0D {
        let d = &dbf[at..at + 32];
        let name_end = d[..11].iter().position(|&b| b == 0).unwrap_or(11);
        let field = DbfField {
            name_bytes: d[..name_end].to_vec(),
            kind: d[11].to_ascii_uppercase(),
            offset,
            len: d[16] as usize,
            decimals: d[17],
        };
        let name = String::from_utf8_lossy(&field.name_bytes).into_owned();
        match field.kind {
            b'C' | b'N' | b'F' | b'D' | b'L' => {}
            b'I' if field.len == 4 => {}
            b'O' if field.len == 8 => {}
            other => {
                return Err(format_err(
                    path,
                    format!(
                        "field {name:?} has dBase type '{}' (length {}), which kleinraum cannot read",
                        other as char, field.len
                    ),
                ));
            }
        }
        offset += field.len;
        fields.push(field);
        at += 32;
    }
    if offset > record_len {
        return Err(format_err(
            path,
            format!("field widths add up to {offset} bytes but records are {record_len} bytes"),
        ));
    }
    let needed = header_len + n_records * record_len;
    if dbf.len() < needed {
        let complete = (dbf.len() - header_len) / record_len;
        return Err(format_err(
            path,
            format!(
                "truncated: the header announces {n_records} records but only {complete} are complete"
            ),
        ));
    }
    Ok(DbfTable {
        n_records,
        header_len,
        record_len,
        fields,
    })
}

#[derive(Clone, Copy)]
#[doc(hidden)] // public for tests/it/units
pub enum TextEncoding {
    /// UTF-8 as declared by the `.cpg` or the config: invalid bytes are an error.
    Utf8Declared,
    /// UTF-8 by detection (every text value is valid UTF-8).
    Utf8Detected,
    /// A single-byte code page.
    Other(&'static Encoding),
}

impl TextEncoding {
    fn decode_lossy(self, bytes: &[u8]) -> String {
        match self {
            TextEncoding::Utf8Declared | TextEncoding::Utf8Detected => {
                String::from_utf8_lossy(bytes).into_owned()
            }
            TextEncoding::Other(enc) => enc.decode_without_bom_handling(bytes).0.into_owned(),
        }
    }
}

/// Maps a code page label as found in `.cpg` files or configs (`UTF-8`, `1252`, `CP1252`,
/// `ANSI 1252`, `ISO-8859-1`, `LATIN1`, `88591` …) to an encoding.
#[doc(hidden)] // public for tests/it/units
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().trim_start_matches('\u{feff}').trim();
    let up = l.to_ascii_uppercase();
    let compact: String = up.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if compact == "UTF8" {
        return Some(encoding_rs::UTF_8);
    }
    // Bare Windows code page numbers, as ESRI writes them: "1252", "CP1252", "ANSI 1252".
    let digits = compact
        .strip_prefix("CP")
        .or_else(|| compact.strip_prefix("ANSI"))
        .or_else(|| compact.strip_prefix("WINDOWS"))
        .unwrap_or(&compact);
    if digits.len() == 4 && digits.starts_with("125") && digits.chars().all(|c| c.is_ascii_digit())
    {
        return Encoding::for_label(format!("windows-{digits}").as_bytes());
    }
    if let Some(part) = compact
        .strip_prefix("ISO8859")
        .or_else(|| compact.strip_prefix("8859"))
        && !part.is_empty()
        && part.chars().all(|c| c.is_ascii_digit())
    {
        return Encoding::for_label(format!("iso-8859-{part}").as_bytes());
    }
    Encoding::for_label(l.as_bytes())
}

fn resolve_encoding(
    shp: &Path,
    dbf: &[u8],
    table: &DbfTable,
    configured: Option<&str>,
) -> Result<TextEncoding, LoadError> {
    let from = |enc: &'static Encoding| {
        if enc == encoding_rs::UTF_8 {
            TextEncoding::Utf8Declared
        } else {
            TextEncoding::Other(enc)
        }
    };
    if let Some(cpg_path) = optional_sibling(shp, "cpg") {
        let label = String::from_utf8_lossy(&read_bytes(&cpg_path)?).into_owned();
        return encoding_for_label(&label).map(from).ok_or_else(|| {
            format_err(
                &cpg_path,
                format!(
                    "unknown code page {:?}; use e.g. UTF-8 or 1252",
                    label.trim()
                ),
            )
        });
    }
    if let Some(label) = configured {
        return encoding_for_label(label).map(from).ok_or_else(|| {
            format_err(
                shp,
                format!("unknown encoding {label:?} configured; use e.g. UTF-8 or windows-1252"),
            )
        });
    }
    // Detection: UTF-8 if every text value and field name is valid UTF-8. Single-byte text
    // with umlauts is almost never valid UTF-8 by accident (ü = 0xFC is not a valid lead byte
    // followed by ASCII), so this is reliable for German data.
    let names_ok = table
        .fields
        .iter()
        .all(|f| std::str::from_utf8(&f.name_bytes).is_ok());
    let values_ok = (0..table.n_records).all(|i| {
        let rec = &dbf[table.record_start(i)..table.record_start(i) + table.record_len];
        table
            .fields
            .iter()
            .filter(|f| f.kind == b'C')
            .all(|f| utf8_prefix(&rec[f.offset..f.offset + f.len]).is_some())
    });
    Ok(if names_ok && values_ok {
        TextEncoding::Utf8Detected
    } else {
        TextEncoding::Other(encoding_rs::WINDOWS_1252)
    })
}

/// Valid UTF-8, tolerating a multi-byte character cut off at the end (writers truncate to the
/// field width byte-wise); `None` if there is an invalid sequence elsewhere.
fn utf8_prefix(bytes: &[u8]) -> Option<&str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Some(s),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&bytes[..e.valid_up_to()]).ok(),
        Err(_) => None,
    }
}

fn trim_field(raw: &[u8]) -> &[u8] {
    let is_pad = |b: &u8| *b == b' ' || *b == 0;
    let start = raw.iter().position(|b| !is_pad(b)).unwrap_or(raw.len());
    let end = raw
        .iter()
        .rposition(|b| !is_pad(b))
        .map_or(start, |e| e + 1);
    &raw[start..end]
}

/// Decodes one DBF value; the error message names the offending value.
#[doc(hidden)] // public for tests/it/units
pub fn decode_value(field: &DbfField, raw: &[u8], enc: TextEncoding) -> Result<PropValue, String> {
    match field.kind {
        b'C' => {
            let text = match enc {
                TextEncoding::Utf8Declared | TextEncoding::Utf8Detected => utf8_prefix(raw)
                    .ok_or_else(|| {
                        format!(
                            "value {:?} is not valid UTF-8 although the .cpg or the config says \
                             UTF-8; fix the .cpg or set `encoding` (e.g. \"windows-1252\")",
                            String::from_utf8_lossy(trim_field(raw))
                        )
                    })?
                    .to_owned(),
                TextEncoding::Other(e) => e.decode_without_bom_handling(raw).0.into_owned(),
            };
            let t = text.trim_matches(|c: char| c == ' ' || c == '\0');
            Ok(if t.is_empty() {
                PropValue::Null
            } else {
                PropValue::Text(t.to_owned())
            })
        }
        b'N' | b'F' => {
            let t = String::from_utf8_lossy(trim_field(raw));
            let t = t.as_ref();
            // Empty and "*****" (dBase overflow marker, which GDAL also reads as null) are null.
            if t.is_empty() || t.chars().all(|c| c == '*') {
                return Ok(PropValue::Null);
            }
            if field.decimals == 0
                && let Ok(i) = t.parse::<i64>()
            {
                return Ok(PropValue::Int(i));
            }
            t.parse::<f64>()
                .or_else(|_| t.replace(',', ".").parse::<f64>())
                .map(PropValue::Float)
                .map_err(|_| format!("value {t:?} is not a number"))
        }
        b'D' => {
            let t = std::str::from_utf8(trim_field(raw)).unwrap_or("?");
            if t.is_empty() || t.chars().all(|c| c == '0') {
                Ok(PropValue::Null)
            } else if t.len() == 8 && t.chars().all(|c| c.is_ascii_digit()) {
                Ok(PropValue::Text(format!(
                    "{}-{}-{}",
                    &t[..4],
                    &t[4..6],
                    &t[6..]
                )))
            } else {
                Err(format!(
                    "value {:?} is not a dBase date (YYYYMMDD)",
                    String::from_utf8_lossy(raw)
                ))
            }
        }
        b'L' => match trim_field(raw).first() {
            None | Some(b'?') => Ok(PropValue::Null),
            Some(b'T' | b't' | b'Y' | b'y') => Ok(PropValue::Bool(true)),
            Some(b'F' | b'f' | b'N' | b'n') => Ok(PropValue::Bool(false)),
            Some(_) => Err(format!(
                "value {:?} is not a dBase logical (T/F/Y/N/?)",
                String::from_utf8_lossy(raw)
            )),
        },
        b'I' => Ok(PropValue::Int(i64::from(le_i32(raw, 0).unwrap_or(0)))),
        b'O' => Ok(PropValue::Float(le_f64(raw, 0).unwrap_or(f64::NAN))),
        // Other types are rejected in parse_dbf_header.
        other => Err(format!("unsupported dBase type '{}'", other as char)),
    }
}

// ---------------------------------------------------------------------------------------------
// .prj → EPSG

/// Identifies a WKT coordinate reference system (ESRI `.prj` flavour, OGC WKT1 or WKT2) as an
/// EPSG code.
///
/// In order: an explicit EPSG authority on the root node; PROJ's `proj_identify` (accepted at
/// ≥ 70 % confidence, which covers ESRI names such as `ETRS_1989_UTM_Zone_33N`); finally name
/// matching for the CRSs German municipalities use (ETRS89/UTM 32N/33N, DHDN Gauss-Krüger
/// zones 2–5, WGS 84).
pub fn epsg_from_wkt(wkt: &str) -> Option<u32> {
    root_authority(wkt)
        .or_else(|| proj_identify(wkt))
        .or_else(|| epsg_from_name(wkt))
}

/// The first quoted string of the WKT, i.e. the root node's name.
fn wkt_name(wkt: &str) -> Option<String> {
    let start = wkt.find('"')? + 1;
    let len = wkt[start..].find('"')?;
    Some(wkt[start..start + len].to_owned())
}

/// `AUTHORITY["EPSG","25833"]` (WKT1) or `ID["EPSG",25833]` (WKT2) directly in the root node.
#[doc(hidden)] // public for tests/it/units
pub fn root_authority(wkt: &str) -> Option<u32> {
    let bytes = wkt.as_bytes();
    let mut depth = 0usize;
    let mut in_quotes = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => in_quotes = !in_quotes,
            b'[' | b'(' if !in_quotes => depth += 1,
            b']' | b')' if !in_quotes => depth = depth.saturating_sub(1),
            _ if !in_quotes && depth == 1 => {
                let rest = &wkt[i..];
                let up = rest.get(..10).unwrap_or(rest).to_ascii_uppercase();
                let body_at = if up.starts_with("AUTHORITY[") {
                    Some(10)
                } else if up.starts_with("ID[") && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
                {
                    Some(3)
                } else {
                    None
                };
                if let Some(b) = body_at {
                    let body = &rest[b..rest.find(']')?];
                    let mut parts = body.split(',').map(|p| p.trim().trim_matches('"'));
                    if parts.next()?.eq_ignore_ascii_case("EPSG") {
                        return parts.next()?.parse().ok();
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Without PROJ: no identification beyond the authority codes and names in the WKT.
#[cfg(not(feature = "proj"))]
fn proj_identify(_wkt: &str) -> Option<u32> {
    None
}

/// Asks PROJ to identify the CRS against the EPSG database.
#[cfg(feature = "proj")]
fn proj_identify(wkt: &str) -> Option<u32> {
    crate::proj::identify_epsg(wkt)
}

/// Last resort: the root name of the CRSs common in German municipal data.
#[doc(hidden)] // public for tests/it/units
pub fn epsg_from_name(wkt: &str) -> Option<u32> {
    let name: String = wkt_name(wkt)?
        .to_ascii_uppercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let is_geog = wkt.trim_start().to_ascii_uppercase().starts_with("GEOGCS");
    if name.contains("ETRS") && name.contains("UTM") {
        if name.contains("ZONE32N") || name.ends_with("32N") {
            return Some(25832);
        }
        if name.contains("ZONE33N") || name.ends_with("33N") {
            return Some(25833);
        }
    }
    if name.contains("DHDN") || name.contains("GAUSS") || name.contains("GK") {
        for (zone, code) in [(2, 31466), (3, 31467), (4, 31468), (5, 31469)] {
            if name.ends_with(&format!("ZONE{zone}")) || name.ends_with(&format!("GKZONE{zone}")) {
                return Some(code);
            }
        }
    }
    if is_geog && (name == "GCSWGS1984" || name == "WGS84" || name == "WGS1984") {
        return Some(4326);
    }
    None
}
