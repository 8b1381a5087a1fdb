//! GeoPackage geometry blobs for (Multi)Polygons: the `GP` header with an XY envelope, then ISO
//! WKB. Written little-endian; read in either byte order, with any envelope type, so that blobs
//! rewritten by GDAL or QGIS still load.

use geo_types::{Coord, LineString, MultiPolygon, Polygon};

/// WKB geometry type codes (ISO, 2D).
const WKB_POLYGON: u32 = 3;
const WKB_MULTIPOLYGON: u32 = 6;

/// Encodes `mp` as a GeoPackage geometry blob: magic `GP`, version 0, flags (little-endian,
/// envelope type 1 = [minx, maxx, miny, maxy]), `srs_id`, envelope, ISO WKB MultiPolygon.
/// The caller has checked that the geometry is non-empty and finite.
pub fn encode_gpkg(mp: &MultiPolygon<f64>, srs_id: i32) -> Vec<u8> {
    let n_coords: usize =
        mp.0.iter()
            .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
            .sum();
    let n_rings: usize = mp.0.iter().map(|p| 1 + p.interiors().len()).sum();
    let mut out = Vec::with_capacity(8 + 32 + 9 + mp.0.len() * 9 + n_rings * 4 + n_coords * 16);
    out.extend_from_slice(b"GP");
    out.push(0); // version 0 = GeoPackage 1.x
    // bit 0: little-endian header; bits 1-3: envelope type 1; bit 4 (empty) and bit 5
    // (extended) clear.
    out.push(0b0000_0011);
    out.extend_from_slice(&srs_id.to_le_bytes());
    let (min, max) = bounds(mp);
    for v in [min[0], max[0], min[1], max[1]] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.push(1); // WKB little-endian
    out.extend_from_slice(&WKB_MULTIPOLYGON.to_le_bytes());
    out.extend_from_slice(&(mp.0.len() as u32).to_le_bytes());
    for poly in &mp.0 {
        out.push(1);
        out.extend_from_slice(&WKB_POLYGON.to_le_bytes());
        out.extend_from_slice(&((1 + poly.interiors().len()) as u32).to_le_bytes());
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            out.extend_from_slice(&(ring.0.len() as u32).to_le_bytes());
            for c in &ring.0 {
                out.extend_from_slice(&c.x.to_le_bytes());
                out.extend_from_slice(&c.y.to_le_bytes());
            }
        }
    }
    out
}

/// Bounding box `([minx, miny], [maxx, maxy])` of all coordinates (infinite if empty).
pub fn bounds(mp: &MultiPolygon<f64>) -> ([f64; 2], [f64; 2]) {
    let mut min = [f64::INFINITY; 2];
    let mut max = [f64::NEG_INFINITY; 2];
    for poly in &mp.0 {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            for c in &ring.0 {
                min[0] = min[0].min(c.x);
                min[1] = min[1].min(c.y);
                max[0] = max[0].max(c.x);
                max[1] = max[1].max(c.y);
            }
        }
    }
    (min, max)
}

/// Decodes a GeoPackage geometry blob holding a Polygon or MultiPolygon (2D) into a
/// MultiPolygon. The error text says what is wrong and at which byte.
pub fn decode_gpkg(blob: &[u8]) -> Result<MultiPolygon<f64>, String> {
    if blob.len() < 8 || &blob[0..2] != b"GP" {
        return Err("not a GeoPackage geometry blob (magic 'GP' missing)".into());
    }
    let version = blob[2];
    if version != 0 {
        return Err(format!("unsupported GeoPackage blob version {version}"));
    }
    let flags = blob[3];
    if flags & 0b0010_0000 != 0 {
        return Err("extended GeoPackage geometry blobs are not supported".into());
    }
    let envelope_len = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        e => return Err(format!("invalid envelope type {e} in the blob header")),
    };
    let wkb_start = 8 + envelope_len;
    if blob.len() < wkb_start {
        return Err(format!(
            "blob of {} bytes is shorter than its header ({wkb_start} bytes)",
            blob.len()
        ));
    }
    if flags & 0b0001_0000 != 0 {
        return Err("empty geometry".into());
    }
    let mut r = Reader {
        buf: &blob[wkb_start..],
        pos: 0,
        offset: wkb_start,
    };
    let (le, ty) = r.geometry_header()?;
    let mp = match ty {
        WKB_POLYGON => MultiPolygon(vec![r.polygon_body(le)?]),
        WKB_MULTIPOLYGON => {
            let n = r.u32(le)?;
            let mut polys = Vec::with_capacity((n as usize).min(r.remaining() / 9));
            for _ in 0..n {
                let (ple, pty) = r.geometry_header()?;
                if pty != WKB_POLYGON {
                    return Err(format!(
                        "MultiPolygon member of WKB type {pty} at byte {} (expected Polygon)",
                        r.offset + r.pos - 4
                    ));
                }
                polys.push(r.polygon_body(ple)?);
            }
            MultiPolygon(polys)
        }
        other => {
            return Err(format!(
                "WKB geometry type {other} is not a 2D Polygon or MultiPolygon"
            ));
        }
    };
    if r.remaining() != 0 {
        return Err(format!(
            "{} trailing bytes after the geometry",
            r.remaining()
        ));
    }
    Ok(mp)
}

/// Cursor over WKB bytes; `offset` is the position of `buf` in the whole blob (for messages).
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    offset: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let end = self.pos + N;
        let bytes = self.buf.get(self.pos..end).ok_or_else(|| {
            format!(
                "WKB truncated at byte {} (blob has {} bytes)",
                self.offset + self.pos,
                self.offset + self.buf.len()
            )
        })?;
        self.pos = end;
        Ok(bytes.try_into().expect("slice of length N"))
    }

    fn u32(&mut self, le: bool) -> Result<u32, String> {
        let b = self.take::<4>()?;
        Ok(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn f64(&mut self, le: bool) -> Result<f64, String> {
        let b = self.take::<8>()?;
        Ok(if le {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }

    /// Byte order and geometry type of the next WKB geometry.
    fn geometry_header(&mut self) -> Result<(bool, u32), String> {
        let at = self.offset + self.pos;
        let le = match self.take::<1>()?[0] {
            0 => false,
            1 => true,
            b => return Err(format!("invalid WKB byte order {b} at byte {at}")),
        };
        Ok((le, self.u32(le)?))
    }

    fn polygon_body(&mut self, le: bool) -> Result<Polygon<f64>, String> {
        let n_rings = self.u32(le)?;
        if n_rings == 0 {
            return Err("polygon without rings".into());
        }
        let mut rings = Vec::with_capacity((n_rings as usize).min(self.remaining() / 4));
        for _ in 0..n_rings {
            let n = self.u32(le)? as usize;
            // Cap the allocation by what the blob can hold: a corrupt count must not abort.
            let mut coords = Vec::with_capacity(n.min(self.remaining() / 16));
            for _ in 0..n {
                let x = self.f64(le)?;
                let y = self.f64(le)?;
                coords.push(Coord { x, y });
            }
            rings.push(LineString(coords));
        }
        let exterior = rings.remove(0);
        Ok(Polygon::new(exterior, rings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, s: f64) -> LineString<f64> {
        LineString::from(vec![
            (x0, y0),
            (x0 + s, y0),
            (x0 + s, y0 + s),
            (x0, y0 + s),
            (x0, y0),
        ])
    }

    #[test]
    fn round_trip_and_header() {
        let mp = MultiPolygon(vec![
            Polygon::new(
                square(0.1, 0.2, 10.0),
                vec![square(1.0, 1.0, 1.0), square(5.0, 5.0, 2.5)],
            ),
            Polygon::new(square(-20.0, 3.0, 1.0 / 3.0), vec![]),
        ]);
        let blob = encode_gpkg(&mp, 25833);
        assert_eq!(&blob[0..4], &[b'G', b'P', 0, 0b11]);
        assert_eq!(i32::from_le_bytes(blob[4..8].try_into().unwrap()), 25833);
        let env: Vec<f64> = (0..4)
            .map(|i| f64::from_le_bytes(blob[8 + i * 8..16 + i * 8].try_into().unwrap()))
            .collect();
        assert_eq!(env, vec![-20.0, 10.1, 0.2, 10.2]);
        assert_eq!(blob[40], 1);
        assert_eq!(u32::from_le_bytes(blob[41..45].try_into().unwrap()), 6);
        assert_eq!(decode_gpkg(&blob).unwrap(), mp);
    }

    #[test]
    fn reads_big_endian_polygon_without_envelope() {
        let mut blob = b"GP\0\0".to_vec(); // flags 0: big-endian header, no envelope
        blob.extend_from_slice(&4326i32.to_be_bytes());
        blob.push(0);
        blob.extend_from_slice(&WKB_POLYGON.to_be_bytes());
        blob.extend_from_slice(&1u32.to_be_bytes());
        blob.extend_from_slice(&4u32.to_be_bytes());
        for (x, y) in [(0.0f64, 0.0f64), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0)] {
            blob.extend_from_slice(&x.to_be_bytes());
            blob.extend_from_slice(&y.to_be_bytes());
        }
        let mp = decode_gpkg(&blob).unwrap();
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].exterior().0.len(), 4);
        assert_eq!(mp.0[0].exterior().0[1], Coord { x: 1.0, y: 0.0 });
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        let mp = MultiPolygon(vec![Polygon::new(square(0.0, 0.0, 1.0), vec![])]);
        let blob = encode_gpkg(&mp, 1);
        for cut in 0..blob.len() {
            assert!(decode_gpkg(&blob[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = blob.clone();
        bad[45] = 0xff; // polygon count → huge
        assert!(decode_gpkg(&bad).unwrap_err().contains("truncated"));
        let mut point = blob.clone();
        point[41] = 1;
        assert!(decode_gpkg(&point).unwrap_err().contains("type 1"));
        assert!(decode_gpkg(b"XX\0\0\0\0\0\0").is_err());
    }
}
