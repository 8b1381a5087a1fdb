// Plane geometry on lon/lat positions: the one point-in-polygon test, the rings it takes from
// GeoJSON geometries and Leaflet polygons, a label point inside a polygon, and vertex helpers.

const L = window.L;

/** Even-odd test of the point (x, y) against `rings` (arrays of [x, y]; all rings of all polygons together). */
export function pointInRings(x, y, rings) {
  let inside = false;
  for (const ring of rings)
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
  return inside;
}

/** Rings of a GeoJSON Polygon or MultiPolygon as arrays of [lng, lat]; none for other types. */
export function geometryRings(geom) {
  const polys = geom.type === 'Polygon' ? [geom.coordinates] : geom.type === 'MultiPolygon' ? geom.coordinates : [];
  return polys.flat(1);
}

/** Rings of a Leaflet polygon layer as arrays of [lng, lat]. */
export function layerRings(l) {
  const rings = [];
  const walk = (a) => (a.length && a[0].lat !== undefined ? rings.push(a.map((p) => [p.lng, p.lat])) : a.forEach(walk));
  walk(l.getLatLngs());
  return rings;
}

/**
 * A point inside polygon layer `l` (its label point): the middle of the widest inside run on a
 * few horizontal lines through its bounding box; the box's centre if there is none.
 */
export function interiorPoint(l, rings = layerRings(l)) {
  const b = l.getBounds();
  const N = 60;
  let best = null;
  for (const t of [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8]) {
    const lat = b.getSouth() + (b.getNorth() - b.getSouth()) * t;
    let run = 0;
    let start = null;
    for (let i = 0; i <= N; i++) {
      const lng = b.getWest() + ((b.getEast() - b.getWest()) * i) / N;
      if (pointInRings(lng, lat, rings)) {
        if (start === null) start = lng;
        run++;
        if (!best || run > best.run) best = { run, ll: L.latLng(lat, (start + lng) / 2) };
      } else {
        start = null;
        run = 0;
      }
    }
    if (best && best.run > 6) break;
  }
  return best ? best.ll : b.getCenter();
}

/** Same vertex: identical coordinates (shared borders come from the same source coordinates). */
export const sameVertex = (a, b) => Math.abs(a.lat - b.lat) < 1e-12 && Math.abs(a.lng - b.lng) < 1e-12;

/** Replaces every vertex equal to `from` in a nested LatLng array; returns the number replaced. */
export function replaceVertex(latlngs, from, to) {
  let n = 0;
  for (let i = 0; i < latlngs.length; i++) {
    const x = latlngs[i];
    if (Array.isArray(x)) n += replaceVertex(x, from, to);
    else if (sameVertex(x, from)) {
      latlngs[i] = L.latLng(to.lat, to.lng);
      n++;
    }
  }
  return n;
}
