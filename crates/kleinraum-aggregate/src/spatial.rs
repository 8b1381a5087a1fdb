//! Point-in-polygon assignment: every point to exactly one area, or to none.
//!
//! # The rule (also for points exactly on a border)
//! A point belongs to a polygon when a ray from the point towards +x crosses the polygon's
//! rings an odd number of times, where an edge counts if one end lies strictly above the point's
//! y and the other does not (`(a.y > y) != (b.y > y)`) and the crossing lies strictly right of
//! the point. This is the classic crossing-number test with half-open conventions. Its
//! consequence for borders: a point exactly on a shared border belongs to the area **east** of
//! the border, and on an east–west border to the area **north** of it; a point on a vertex
//! follows the same rule as if it were moved by an infinitesimal step east-north-east. On a
//! partition without gaps and overlaps every point of the plane inside the union thus belongs
//! to exactly one area. Where areas overlap (faulty data, reported by `check`), a point in the
//! overlap goes to the area that comes first in the order given to [`GridIndex::build`]. A ring
//! with a coordinate that is not a finite number (also reported by `check`) has no inside and
//! bounds nothing: without the rule its open ends would make the answer depend on the method.
//!
//! [`locate_brute_force`] is that rule written plainly over all polygons; [`GridIndex`] gives
//! the same answer fast and is tested against it.

use geo::{Coord, MultiPolygon};

/// Marker for "outside every area" in assignment vectors.
pub const OUTSIDE: u32 = u32::MAX;

/// The crossing-number rule for one ring: toggles `inside` for each edge crossed by the ray.
#[inline]
fn ring_crossings(ring: &[Coord<f64>], x: f64, y: f64) -> bool {
    let mut inside = false;
    let n = ring.len();
    if n < 2 {
        return false;
    }
    let mut finite = true;
    let mut a = ring[n - 1];
    for &b in ring {
        finite &= b.x.is_finite() & b.y.is_finite();
        if (a.y > y) != (b.y > y) {
            let xint = a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y);
            if x < xint {
                inside = !inside;
            }
        }
        a = b;
    }
    // A ring broken by a coordinate that is not a number bounds nothing (see the module).
    inside && finite
}

/// Whether `(x, y)` belongs to `poly` under the module's rule (holes included).
pub fn contains_rule(poly: &MultiPolygon<f64>, x: f64, y: f64) -> bool {
    rings_contain(rings_of(poly), x, y)
}

/// The rule over a polygon's rings: inside when an odd number of them has the point inside.
#[inline]
fn rings_contain<'a>(rings: impl Iterator<Item = &'a [Coord<f64>]>, x: f64, y: f64) -> bool {
    rings.fold(false, |inside, r| inside != ring_crossings(r, x, y))
}

/// The reference implementation: the first polygon (in slice order) containing the point under
/// the module's rule, by testing every polygon.
pub fn locate_brute_force(polys: &[MultiPolygon<f64>], x: f64, y: f64) -> Option<u32> {
    polys
        .iter()
        .position(|p| contains_rule(p, x, y))
        .map(|i| i as u32)
}

/// Spatial index answering "which area contains this point" with the module's rule.
///
/// A uniform grid over the polygons' extent. At build time every cell learns the polygon edges
/// that touch it; a cell touched by no edge lies wholly inside one polygon (or outside all), so
/// its points need no geometric test at all. For a cell with edges, the set of polygons
/// containing the cell centre is computed exactly (by a scan of each grid row under the
/// module's rule), and a point's polygon follows from the parity of the edges crossed by the
/// segment from the centre to the point — only the few edges of that cell are looked at. Where
/// that segment test is numerically ambiguous (the point within nanometres of an edge, or the
/// segment through a vertex) the point falls back to the plain rule on the cell's candidate
/// polygons, so the answer always equals [`locate_brute_force`].
#[derive(Debug, Clone)]
pub struct GridIndex {
    /// The points of every ring, polygon after polygon, ring after ring (exterior first, then
    /// the holes, part after part): the edges below are places in it, and the plain rule of
    /// the fallback reads its rings. One array instead of a copy of the polygons
    /// (on the benchmark city 13 MB either way, but no allocation per ring).
    verts: Vec<Coord<f64>>,
    /// Ring `r` is `verts[ring_at[r]..ring_at[r + 1]]`.
    ring_at: Vec<usize>,
    /// The rings of polygon `p` are `poly_rings[p]..poly_rings[p + 1]`.
    poly_rings: Vec<usize>,
    x0: f64,
    y0: f64,
    cell: f64,
    inv_cell: f64,
    nx: usize,
    ny: usize,
    /// Per cell: a polygon index, `CELL_OUTSIDE`, or `BOUNDARY | index into bcells`.
    cells: Vec<u32>,
    bcells: Vec<BoundaryCell>,
    /// Edges of the boundary cells, grouped by cell, within a cell sorted by polygon.
    edges: Vec<Edge>,
    /// Polygons containing each boundary cell's centre, grouped by cell, ascending.
    centre_sets: Vec<u32>,
}

/// Grid cells per polygon edge of [`GridIndex::build`]: on the benchmark city (5,000 polygons,
/// 2M points) the join is as fast as with four and the build a quarter faster
/// (`pip_bench --density`).
const CELLS_PER_EDGE: f64 = 2.0;

const BOUNDARY: u32 = 1 << 31;
/// "Outside every polygon" inside the cell table (its high bit must stay clear).
const CELL_OUTSIDE: u32 = BOUNDARY - 1;

#[derive(Debug, Clone, Copy)]
struct BoundaryCell {
    edge_start: u32,
    edge_end: u32,
    set_start: u32,
    set_end: u32,
}

/// The edge from `verts[v]` to `verts[v + 1]` of polygon `poly`: 8 bytes where its
/// coordinates took 40 (on the benchmark city 1.2 million edges filed in boundary cells:
/// 10 MB instead of 48). The coordinates are read where they are stored once, consecutive
/// edges of a ring from one cache line.
#[derive(Debug, Clone, Copy)]
struct Edge {
    v: u32,
    poly: u32,
}

/// `n` values of all-zero bytes, from zeroed memory (large blocks: fresh pages, not written).
///
/// # Safety
/// All-zero bytes must be a valid `T`.
unsafe fn zeroed_vec<T>(n: usize) -> Vec<T> {
    let layout = std::alloc::Layout::array::<T>(n).expect("index arrays fit in memory");
    if layout.size() == 0 {
        return Vec::new();
    }
    // SAFETY: the layout's size is not zero; the block comes from the global allocator with the
    // layout of a `Vec<T>` of capacity `n`, and its `n` values are valid (the caller's promise).
    unsafe {
        let p = std::alloc::alloc_zeroed(layout).cast::<T>();
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Vec::from_raw_parts(p, n, n)
    }
}

/// Edges per [`Piece`]: a band of the build walks only the pieces reaching into it, so a large
/// detailed polygon (a Gemeinde from the cadastre) is not walked once per band it spans.
const PIECE: usize = 64;

/// A run of up to [`PIECE`] consecutive edges of one ring of polygon `poly` (edges
/// `start..end`: from `verts[k]` to `verts[k + 1]`), and the box of its edges.
#[derive(Clone, Copy)]
struct Piece {
    poly: u32,
    start: u32,
    end: u32,
    bbox: [f64; 4],
}

/// The rings of a polygon, in order (exterior first, then its holes, part after part).
fn rings_of(mp: &MultiPolygon<f64>) -> impl Iterator<Item = &[Coord<f64>]> {
    mp.0.iter().flat_map(|p| {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .map(|r| r.0.as_slice())
    })
}

/// The pieces of a polygon's rings (`ring_at`: where each starts in `verts`, and where the
/// last ends), in ring order, and how many edges they hold, as the index files them: edges
/// of zero length are left out (they cross no line and bound no cell), and so are rings with
/// a non-finite coordinate (they bound nothing, see the module).
fn pieces(poly: u32, verts: &[Coord<f64>], ring_at: &[usize]) -> (usize, Vec<Piece>) {
    let mut out = Vec::new();
    let mut edges = 0;
    for w in ring_at.windows(2) {
        let at = w[0];
        let c = &verts[at..w[1]];
        if !c.iter().all(|c| c.x.is_finite() && c.y.is_finite()) {
            continue;
        }
        let n = c.len().saturating_sub(1);
        let mut start = 0;
        while start < n {
            let end = (start + PIECE).min(n);
            let mut bbox = [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
            let mut k = 0;
            for w in c[start..=end].windows(2).filter(|w| w[0] != w[1]) {
                k += 1;
                bbox = [
                    bbox[0].min(w[0].x.min(w[1].x)),
                    bbox[1].min(w[0].y.min(w[1].y)),
                    bbox[2].max(w[0].x.max(w[1].x)),
                    bbox[3].max(w[0].y.max(w[1].y)),
                ];
            }
            if k > 0 {
                edges += k;
                out.push(Piece {
                    poly,
                    start: (at + start) as u32,
                    end: (at + end) as u32,
                    bbox,
                });
            }
            start = end;
        }
    }
    (edges, out)
}

/// The edges of a piece, in ring order (those of zero length left out, as [`pieces`] counts),
/// each with the place of its first point.
fn piece_edges<'a>(
    verts: &'a [Coord<f64>],
    p: &Piece,
) -> impl Iterator<Item = (u32, Coord<f64>, Coord<f64>)> + 'a {
    let start = p.start;
    verts[start as usize..=p.end as usize]
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] != w[1])
        .map(move |(k, w)| (start + k as u32, w[0], w[1]))
}

/// Where an edge (or a piece of a ring) lies in the grid (inclusive ranges): the cells it is
/// filed in (columns `i`, rows `j`) and the rows whose centre line it may cross (`r`).
#[derive(Clone, Copy)]
struct EdgeSpan {
    i0: u32,
    i1: u32,
    j0: u32,
    j1: u32,
    r0: u32,
    r1: u32,
}

/// Outcome of the segment test in one boundary cell.
enum CellAnswer {
    Found(u32),
    Ambiguous,
}

impl GridIndex {
    /// Builds the index over the polygons (working CRS, metres). The slice order is the
    /// priority where polygons overlap.
    pub fn build(polys: &[MultiPolygon<f64>]) -> Self {
        Self::from_polys(polys, CELLS_PER_EDGE)
    }

    /// [`GridIndex::build`] over polygons held elsewhere (the areas' own geometries: no copy).
    pub fn build_refs(polys: &[&MultiPolygon<f64>]) -> Self {
        Self::from_polys(polys, CELLS_PER_EDGE)
    }

    /// As [`GridIndex::build`], with the number of grid cells per polygon edge (more cells:
    /// fewer edges per cell and fewer cells needing a test, but a larger table).
    pub fn build_with_density(polys: &[MultiPolygon<f64>], cells_per_edge: f64) -> Self {
        Self::from_polys(polys, cells_per_edge)
    }

    fn from_polys<P>(polys: &[P], cells_per_edge: f64) -> Self
    where
        P: std::borrow::Borrow<MultiPolygon<f64>> + Sync,
    {
        use rayon::prelude::*;
        assert!(polys.len() < CELL_OUTSIDE as usize, "too many polygons");
        // Where each ring's points go in `verts`, and which rings are each polygon's.
        let mut ring_at = vec![0usize];
        let mut poly_rings = Vec::with_capacity(polys.len() + 1);
        poly_rings.push(0);
        for mp in polys {
            for r in rings_of(mp.borrow()) {
                ring_at.push(ring_at[ring_at.len() - 1] + r.len());
            }
            poly_rings.push(ring_at.len() - 1);
        }
        let total = ring_at[ring_at.len() - 1];
        assert!(total < u32::MAX as usize, "polygons too complex");
        // Copied polygon by polygon on all cores, each into its own stretch.
        // SAFETY: all-zero bytes are a valid `Coord<f64>`; every one is overwritten below.
        let mut verts: Vec<Coord<f64>> = unsafe { zeroed_vec(total) };
        {
            let mut rest = &mut verts[..];
            let mut stretches = Vec::with_capacity(polys.len());
            for p in 0..polys.len() {
                let n = ring_at[poly_rings[p + 1]] - ring_at[poly_rings[p]];
                let (h, t) = std::mem::take(&mut rest).split_at_mut(n);
                stretches.push(h);
                rest = t;
            }
            stretches
                .into_par_iter()
                .zip(polys.par_iter())
                .with_min_len(64)
                .for_each(|(out, mp)| {
                    let mut at = 0;
                    for r in rings_of(mp.borrow()) {
                        out[at..at + r.len()].copy_from_slice(r);
                        at += r.len();
                    }
                });
        }
        // Every pass below walks the rings (in ring order, so crossings are computed exactly
        // as `contains_rule` does) piece by piece and works out each edge's place on the fly:
        // no array of all edges and their spans (on the benchmark city 43 MB of fresh pages,
        // more time than the arithmetic it saved).
        let per_poly: Vec<(usize, Vec<Piece>)> = (0..polys.len())
            .into_par_iter()
            .map(|pi| {
                let rings = &ring_at[poly_rings[pi]..=poly_rings[pi + 1]];
                pieces(pi as u32, &verts, rings)
            })
            .collect();
        let nedges: usize = per_poly.iter().map(|e| e.0).sum();
        let all: Vec<Piece> = per_poly.into_iter().flat_map(|e| e.1).collect();
        let [minx, miny, maxx, maxy] = all.iter().fold(
            [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ],
            |[x0, y0, x1, y1], p| {
                [
                    x0.min(p.bbox[0]),
                    y0.min(p.bbox[1]),
                    x1.max(p.bbox[2]),
                    y1.max(p.bbox[3]),
                ]
            },
        );
        if nedges == 0 {
            return Self {
                verts,
                ring_at,
                poly_rings,
                x0: 0.0,
                y0: 0.0,
                cell: 1.0,
                inv_cell: 1.0,
                nx: 0,
                ny: 0,
                cells: Vec::new(),
                bcells: Vec::new(),
                edges: Vec::new(),
                centre_sets: Vec::new(),
            };
        }
        let w = (maxx - minx).max(1e-6);
        let h = (maxy - miny).max(1e-6);
        let target = (nedges as f64 * cells_per_edge).clamp(64.0, 64.0e6);
        let mut cell = (w * h / target).sqrt();
        // Keep the grid within sane dimensions for very elongated extents.
        cell = cell.max(w.max(h) / 65_536.0);
        // One empty cell of margin on every side: everything outside the grid is outside.
        let x0 = minx - cell;
        let y0 = miny - cell;
        let nx = ((w / cell).floor() as usize) + 3;
        let ny = ((h / cell).floor() as usize) + 3;
        let inv_cell = 1.0 / cell;
        let ncells = nx * ny;
        // Edges are registered in every cell their bounding box touches, widened a little so a
        // point rounded into a neighbouring cell still sees every edge near its segment.
        let pad = cell * 1e-6;
        // `as usize` saturates below zero and truncates: for these values it is
        // `floor().max(0.0)`, without a call into libm (no SSE4.1 rounding in the baseline
        // target) — several per edge.
        let cell_range = |lo: f64, hi: f64, origin: f64, n: usize| -> (u32, u32) {
            let a = (((lo - pad - origin) * inv_cell) as usize).min(n - 1);
            let b = (((hi + pad - origin) * inv_cell) as usize).min(n - 1);
            (a as u32, b as u32)
        };
        let row_of = |a: Coord<f64>, b: Coord<f64>, j: usize| -> bool {
            let cy = y0 + (j as f64 + 0.5) * cell;
            (a.y > cy) != (b.y > cy)
        };
        // Where a box lies: the cells to test (widened a little, see `pad`) and the rows whose
        // centre line it may cross. For an edge, its own box; for a piece, the box of its
        // edges (which holds every span of them).
        let span_of = |xmin: f64, ymin: f64, xmax: f64, ymax: f64| -> EdgeSpan {
            let (i0, i1) = cell_range(xmin, xmax, x0, nx);
            let (j0, j1) = cell_range(ymin, ymax, y0, ny);
            // floor(v) - 1 and ceil(w) + 1, clamped to the grid (v, w > 0: the grid has a
            // margin of one cell).
            let v = (ymin - y0) * inv_cell - 0.5;
            let w = (ymax - y0) * inv_cell - 0.5;
            let r0 = ((v as usize).saturating_sub(1)).min(ny - 1);
            let wt = w as usize;
            let r1 = (wt + usize::from((wt as f64) < w) + 1).min(ny - 1);
            EdgeSpan {
                i0,
                i1,
                j0,
                j1,
                r0: r0 as u32,
                r1: r1 as u32,
            }
        };
        let edge_span = |a: Coord<f64>, b: Coord<f64>| {
            span_of(a.x.min(b.x), a.y.min(b.y), a.x.max(b.x), a.y.max(b.y))
        };
        // The grid is built in bands of rows, one core per band: a band's cells, boundary
        // cells (numbered in cell order, so contiguous per band), edges and row crossings are
        // its own. Each band lists the pieces of rings reaching into it, in order, and walks
        // their edges in ring order, so every cell sees its edges and every row its crossings
        // in the order a single pass would give.
        let rows_per_band = ny.div_ceil((rayon::current_num_threads().max(1) * 8).min(ny));
        let nbands = ny.div_ceil(rows_per_band);
        let mut band_pieces: Vec<Vec<u32>> = vec![Vec::new(); nbands];
        for (k, p) in all.iter().enumerate() {
            let sp = span_of(p.bbox[0], p.bbox[1], p.bbox[2], p.bbox[3]);
            let (lo, hi) = (sp.j0.min(sp.r0) as usize, sp.j1.max(sp.r1) as usize);
            for list in &mut band_pieces[lo / rows_per_band..=hi / rows_per_band] {
                list.push(k as u32);
            }
        }
        let band_rows = |b: usize| (b * rows_per_band, ((b + 1) * rows_per_band).min(ny));
        // The edges of band `b`'s pieces, each with its polygon's number.
        let band_edges = |b: usize| {
            band_pieces[b].iter().flat_map(|&k| {
                let p = &all[k as usize];
                piece_edges(&verts, p).map(move |(v, a, e)| (p.poly, v, a, e))
            })
        };
        // Pass 1: edges per cell of each band.
        let band_counts: Vec<Vec<u32>> = (0..nbands)
            .into_par_iter()
            .map(|b| {
                let (r0, r1) = band_rows(b);
                let mut counts = vec![0u32; (r1 - r0) * nx];
                // `for_each`, not `for`: the nested iterators then run as plain loops.
                band_edges(b).for_each(|(_, _, a, e)| {
                    let sp = edge_span(a, e);
                    let (i0, i1) = (sp.i0 as usize, sp.i1 as usize);
                    for j in (sp.j0 as usize).max(r0)..=(sp.j1 as usize).min(r1 - 1) {
                        let row = &mut counts[(j - r0) * nx..(j - r0 + 1) * nx];
                        for c in &mut row[i0..=i1] {
                            *c += 1;
                        }
                    }
                });
                counts
            })
            .collect();
        // Where each band's boundary cells and edges start.
        let mut bcell_base = Vec::with_capacity(nbands + 1);
        let mut edge_base = Vec::with_capacity(nbands + 1);
        let (mut nb, mut ne) = (0usize, 0usize);
        for counts in &band_counts {
            bcell_base.push(nb);
            edge_base.push(ne);
            nb += counts.iter().filter(|&&c| c > 0).count();
            ne += counts.iter().map(|&c| c as usize).sum::<usize>();
        }
        assert!(
            nb < BOUNDARY as usize && ne < u32::MAX as usize,
            "polygons too complex"
        );
        // Zeroed memory, not filled: the system's fresh pages need no writing, and the bands
        // fault them in on all cores as they write them (every slot is written in pass 2: each
        // cell in its row scan, each boundary cell and edge slot as it is filed). A fill
        // (58 MB on the benchmark city) was a sequential stretch of the build.
        // A cell of 0 is no boundary cell, as `CELL_OUTSIDE` before its row is scanned.
        let mut cells = vec![0u32; ncells];
        // SAFETY: all-zero bytes are a valid `BoundaryCell` and `Edge` (integers and floats).
        let mut bcells: Vec<BoundaryCell> = unsafe { zeroed_vec(nb) };
        let mut edges: Vec<Edge> = unsafe { zeroed_vec(ne) };
        let mut band_bcells: Vec<&mut [BoundaryCell]> = Vec::with_capacity(nbands);
        let mut band_slots: Vec<&mut [Edge]> = Vec::with_capacity(nbands);
        {
            let (mut rest_b, mut rest_e) = (&mut bcells[..], &mut edges[..]);
            for b in 0..nbands {
                let next_b = bcell_base.get(b + 1).copied().unwrap_or(nb);
                let next_e = edge_base.get(b + 1).copied().unwrap_or(ne);
                let (hb, tb) = rest_b.split_at_mut(next_b - bcell_base[b]);
                let (he, te) = rest_e.split_at_mut(next_e - edge_base[b]);
                band_bcells.push(hb);
                band_slots.push(he);
                (rest_b, rest_e) = (tb, te);
            }
        }
        // Pass 2, per band: number the boundary cells, file their edges (sorted by polygon
        // within a cell), then scan each row: which polygons contain each cell centre, under
        // the exact rule. Returns the band's centre sets (offsets relative to the band).
        let band_sets: Vec<Vec<u32>> = cells
            .par_chunks_mut(rows_per_band * nx)
            .zip(band_bcells.par_iter_mut())
            .zip(band_slots.par_iter_mut())
            .zip(band_counts.into_par_iter())
            .enumerate()
            .map(|(b, (((cells, bcells), slots), counts))| {
                let (r0, r1) = band_rows(b);
                let (b0, e0) = (bcell_base[b], edge_base[b]);
                let mut k = 0usize;
                let mut at = e0 as u32;
                for (c, &n) in counts.iter().enumerate() {
                    if n > 0 {
                        cells[c] = BOUNDARY | (b0 + k) as u32;
                        bcells[k] = BoundaryCell {
                            edge_start: at,
                            edge_end: at,
                            set_start: 0,
                            set_end: 0,
                        };
                        at += n;
                        k += 1;
                    }
                }
                drop(counts);
                // Each edge of the band, once: filed in its cells, and its crossings of the
                // rows' centre lines noted (left to right after sorting).
                let mut rows: Vec<Vec<(f64, u32)>> = vec![Vec::new(); r1 - r0];
                band_edges(b).for_each(|(pi, v, a, e)| {
                    let sp = edge_span(a, e);
                    let edge = Edge { v, poly: pi };
                    for j in (sp.j0 as usize).max(r0)..=(sp.j1 as usize).min(r1 - 1) {
                        for i in sp.i0 as usize..=sp.i1 as usize {
                            let bc =
                                &mut bcells[(cells[(j - r0) * nx + i] & !BOUNDARY) as usize - b0];
                            slots[bc.edge_end as usize - e0] = edge;
                            bc.edge_end += 1;
                        }
                    }
                    for j in (sp.r0 as usize).max(r0)..=(sp.r1 as usize).min(r1 - 1) {
                        if row_of(a, e, j) {
                            let y = y0 + (j as f64 + 0.5) * cell;
                            // Same expression as `ring_crossings`, so both agree to the last bit.
                            let xint = a.x + (y - a.y) * (e.x - a.x) / (e.y - a.y);
                            rows[j - r0].push((xint, pi));
                        }
                    }
                });
                // No sort by polygon needed: the pieces are listed in polygon order, so each
                // cell received its edges in that order.
                debug_assert!(bcells.iter().all(|bc| {
                    slots[bc.edge_start as usize - e0..bc.edge_end as usize - e0]
                        .is_sorted_by_key(|e| e.poly)
                }));
                let mut sets: Vec<u32> = Vec::new();
                let mut set: Vec<u32> = Vec::new();
                for (jr, row) in rows.iter_mut().enumerate() {
                    // Ties in any order: crossings at one x toggle the set all together.
                    row.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    set.clear();
                    let mut k = 0;
                    for (i, c) in cells[jr * nx..(jr + 1) * nx].iter_mut().enumerate() {
                        let cx = x0 + (i as f64 + 0.5) * cell;
                        // The ray rule counts crossings strictly right of the point; each ring
                        // crosses a line an even number of times, so the parity of those at or
                        // left of it is the same.
                        while k < row.len() && row[k].0 <= cx {
                            let p = row[k].1;
                            if let Some(pos) = set.iter().position(|&q| q == p) {
                                set.swap_remove(pos);
                            } else {
                                set.push(p);
                            }
                            k += 1;
                        }
                        if *c & BOUNDARY != 0 {
                            let bc = &mut bcells[(*c & !BOUNDARY) as usize - b0];
                            // Relative to the band for now; shifted once all bands are done.
                            bc.set_start = sets.len() as u32;
                            let from = sets.len();
                            sets.extend_from_slice(&set);
                            sets[from..].sort_unstable();
                            bc.set_end = sets.len() as u32;
                        } else {
                            *c = set.iter().copied().min().unwrap_or(CELL_OUTSIDE);
                        }
                    }
                }
                sets
            })
            .collect();
        let mut offset = 0u32;
        for (bs, sets) in band_bcells.iter_mut().zip(&band_sets) {
            for bc in bs.iter_mut() {
                bc.set_start += offset;
                bc.set_end += offset;
            }
            offset += sets.len() as u32;
        }
        drop(band_bcells);
        drop(band_slots);
        let centre_sets: Vec<u32> = band_sets.concat();
        Self {
            verts,
            ring_at,
            poly_rings,
            x0,
            y0,
            cell,
            inv_cell,
            nx,
            ny,
            cells,
            bcells,
            edges,
            centre_sets,
        }
    }

    /// Number of polygons indexed.
    pub fn len(&self) -> usize {
        self.poly_rings.len() - 1
    }

    /// True if no polygons are indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Grid statistics: (cells in x, cells in y, cell size in m, boundary cells, stored edges).
    pub fn stats(&self) -> (usize, usize, f64, usize, usize) {
        (
            self.nx,
            self.ny,
            self.cell,
            self.bcells.len(),
            self.edges.len(),
        )
    }

    /// The column and row of the cell holding the point.
    #[inline]
    fn cell_at(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let fx = (x - self.x0) * self.inv_cell;
        let fy = (y - self.y0) * self.inv_cell;
        // Also rejects NaN.
        if !(fx >= 0.0 && fy >= 0.0 && fx < self.nx as f64 && fy < self.ny as f64) {
            return None;
        }
        Some((fx as usize, fy as usize))
    }

    #[inline]
    fn cell_of(&self, x: f64, y: f64) -> Option<usize> {
        self.cell_at(x, y).map(|(i, j)| j * self.nx + i)
    }

    /// The centre of cell (`i`, `j`): the expression of the build, so the same to the last bit
    /// as the centre its sets were computed for. Computed, not stored: a boundary cell is then
    /// 16 bytes, and the lookups (a cache miss on the cell's record each) touch half the memory.
    #[inline]
    fn centre(&self, i: usize, j: usize) -> (f64, f64) {
        (
            self.x0 + (i as f64 + 0.5) * self.cell,
            self.y0 + (j as f64 + 0.5) * self.cell,
        )
    }

    /// The polygon containing the point, if any.
    #[inline]
    pub fn locate(&self, x: f64, y: f64) -> Option<u32> {
        let (i, j) = self.cell_at(x, y)?;
        let v = self.cells[j * self.nx + i];
        if v & BOUNDARY == 0 {
            return (v != CELL_OUTSIDE).then_some(v);
        }
        let b = &self.bcells[(v & !BOUNDARY) as usize];
        match self.segment_test(b, self.centre(i, j), x, y) {
            CellAnswer::Found(p) => (p != OUTSIDE).then_some(p),
            CellAnswer::Ambiguous => self.fallback(b, x, y),
        }
    }

    /// Parity of edge crossings along the segment from the cell centre to the point.
    #[inline]
    fn segment_test(&self, b: &BoundaryCell, (cx, cy): (f64, f64), px: f64, py: f64) -> CellAnswer {
        let (sminx, smaxx) = if cx < px { (cx, px) } else { (px, cx) };
        let (sminy, smaxy) = if cy < py { (cy, py) } else { (py, cy) };
        let set = &self.centre_sets[b.set_start as usize..b.set_end as usize];
        let edges = &self.edges[b.edge_start as usize..b.edge_end as usize];
        let mut best = OUTSIDE;
        let sdx = px - cx;
        let sdy = py - cy;
        let sl = sdx.abs() + sdy.abs();
        let mut k = 0;
        // Centre-set polygons seen with an edge in this cell (the rest contain the whole cell).
        let mut seen_mask = 0u64;
        while k < edges.len() {
            let poly = edges[k].poly;
            let mut parity = false;
            while k < edges.len() && edges[k].poly == poly {
                let (a, b) = self.edge(&edges[k]);
                k += 1;
                if a.x.max(b.x) < sminx
                    || a.x.min(b.x) > smaxx
                    || a.y.max(b.y) < sminy
                    || a.y.min(b.y) > smaxy
                {
                    continue;
                }
                let ex = b.x - a.x;
                let ey = b.y - a.y;
                // L1 length, rounded up so the bound never shrinks.
                let el = (ex.abs() + ey.abs()) * 1.000_001;
                // Rounding of these products is far below this bound for metric coordinates;
                // anything closer to zero is treated as "on the line" and decided exactly.
                let eps = 1e-11 * el * (el + sl) + 1e-8 * (el + sl);
                let d1 = ex * (cy - a.y) - ey * (cx - a.x);
                let d2 = ex * (py - a.y) - ey * (px - a.x);
                if d1.abs() <= eps || d2.abs() <= eps {
                    return CellAnswer::Ambiguous;
                }
                if (d1 > 0.0) == (d2 > 0.0) {
                    // Centre and point on the same side of the edge's line: no crossing.
                    continue;
                }
                let d3 = sdx * (a.y - cy) - sdy * (a.x - cx);
                let d4 = sdx * (b.y - cy) - sdy * (b.x - cx);
                if d3.abs() <= eps || d4.abs() <= eps {
                    return CellAnswer::Ambiguous;
                }
                if (d3 > 0.0) != (d4 > 0.0) {
                    parity = !parity;
                }
            }
            let in_centre = match set.iter().position(|&q| q == poly) {
                Some(pos) => {
                    seen_mask |= 1u64 << pos.min(63);
                    true
                }
                None => false,
            };
            if (in_centre != parity) && poly < best {
                best = poly;
            }
        }
        // Polygons containing the centre without an edge in the cell contain the whole cell.
        for (pos, &p) in set.iter().enumerate() {
            let seen = if pos < 63 {
                seen_mask & (1u64 << pos) != 0
            } else {
                edges.iter().any(|e| e.poly == p)
            };
            if p < best && !seen {
                best = p;
            }
        }
        CellAnswer::Found(best)
    }

    /// The plain rule on the cell's candidate polygons (those with an edge in the cell or
    /// containing its centre: any polygon containing the point is one of them).
    #[cold]
    fn fallback(&self, b: &BoundaryCell, x: f64, y: f64) -> Option<u32> {
        let mut cands: Vec<u32> = self.edges[b.edge_start as usize..b.edge_end as usize]
            .iter()
            .map(|e| e.poly)
            .chain(
                self.centre_sets[b.set_start as usize..b.set_end as usize]
                    .iter()
                    .copied(),
            )
            .collect();
        cands.sort_unstable();
        cands.dedup();
        cands.into_iter().find(|&p| self.contains(p, x, y))
    }

    /// Diagnostics for tuning: (points in boundary cells, edges in their cells, fallbacks).
    #[doc(hidden)]
    pub fn profile(&self, xs: &[f64], ys: &[f64]) -> (usize, usize, usize) {
        let (mut bp, mut ed, mut fb) = (0, 0, 0);
        for (&x, &y) in xs.iter().zip(ys) {
            if let Some((i, j)) = self.cell_at(x, y) {
                let v = self.cells[j * self.nx + i];
                if v & BOUNDARY != 0 {
                    let b = &self.bcells[(v & !BOUNDARY) as usize];
                    bp += 1;
                    ed += (b.edge_end - b.edge_start) as usize;
                    let centre = self.centre(i, j);
                    if matches!(self.segment_test(b, centre, x, y), CellAnswer::Ambiguous) {
                        fb += 1;
                    }
                }
            }
        }
        (bp, ed, fb)
    }

    /// Assigns every point; [`OUTSIDE`] for points in no polygon. Runs on all cores.
    pub fn assign(&self, xs: &[f64], ys: &[f64]) -> Vec<u32> {
        use rayon::prelude::*;
        assert_eq!(xs.len(), ys.len());
        // Collected in place on all cores: the output's fresh pages are faulted in there too,
        // not by a fill on one core first.
        xs.par_iter()
            .zip(ys)
            .with_min_len(1 << 14)
            .map(|(&x, &y)| self.locate(x, y).unwrap_or(OUTSIDE))
            .collect()
    }

    /// As [`GridIndex::assign`], visiting the points in `order` (a permutation of their
    /// indices, e.g. [`morton_order`]): neighbouring lookups keep the cell table and the
    /// edges in cache, without moving every column of the points into that order. `order` is
    /// taken in pieces: a piece's coordinates are gathered into a small buffer of the core (a
    /// tight loop the CPU overlaps many cache misses in; a gather inside the lookup loop waits
    /// for each one), located, and the results stored at the points' own places. The buffers
    /// are reused piece after piece: no column-sized copy of the points is made (its fresh
    /// pages cost more than the gather).
    pub fn assign_in_order(&self, xs: &[f64], ys: &[f64], order: &[u32]) -> Vec<u32> {
        use rayon::prelude::*;
        use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
        const PIECE: usize = 1 << 13;
        assert_eq!(xs.len(), ys.len());
        assert_eq!(order.len(), xs.len());
        // Each place is stored once (`order` is a permutation), by whichever core visits it; a
        // relaxed store is a plain store, and `into_inner` turns the vector into `u32`s in place.
        let out: Vec<AtomicU32> = (0..xs.len())
            .into_par_iter()
            .with_min_len(1 << 14)
            .map(|_| AtomicU32::new(OUTSIDE))
            .collect();
        order.par_chunks(PIECE).for_each_init(
            || Vec::with_capacity(PIECE),
            |at: &mut Vec<(f64, f64)>, piece| {
                at.clear();
                at.extend(piece.iter().map(|&i| (xs[i as usize], ys[i as usize])));
                for (&i, &(x, y)) in piece.iter().zip(at.iter()) {
                    out[i as usize].store(self.locate(x, y).unwrap_or(OUTSIDE), Relaxed);
                }
            },
        );
        out.into_iter().map(AtomicU32::into_inner).collect()
    }

    /// Whether the point lies within `tolerance` metres of any polygon boundary (for the
    /// "points on a border" count of `check`).
    ///
    /// # Units
    /// `tolerance` in metres (working CRS units).
    pub fn near_boundary(&self, x: f64, y: f64, tolerance: f64) -> bool {
        let p = Coord { x, y };
        // Cells overlapping the tolerance square hold every edge that close to the point.
        let lo = self.cell_of(x - tolerance, y - tolerance);
        let hi = self.cell_of(x + tolerance, y + tolerance);
        let (Some(lo), Some(hi)) = (lo, hi) else {
            // Near or beyond the grid margin: no edge is there unless the tolerance is huge.
            return self.near_boundary_slow(p, tolerance);
        };
        let (i0, j0) = (lo % self.nx, lo / self.nx);
        let (i1, j1) = (hi % self.nx, hi / self.nx);
        for j in j0..=j1 {
            for i in i0..=i1 {
                let v = self.cells[j * self.nx + i];
                if v & BOUNDARY == 0 {
                    continue;
                }
                let b = &self.bcells[(v & !BOUNDARY) as usize];
                for e in &self.edges[b.edge_start as usize..b.edge_end as usize] {
                    let (a, bb) = self.edge(e);
                    if segment_distance(p, a, bb) <= tolerance {
                        return true;
                    }
                }
            }
        }
        false
    }

    fn near_boundary_slow(&self, p: Coord<f64>, tolerance: f64) -> bool {
        self.ring_at.windows(2).any(|r| {
            self.verts[r[0]..r[1]]
                .windows(2)
                .any(|s| segment_distance(p, s[0], s[1]) <= tolerance)
        })
    }

    /// The two ends of an edge.
    #[inline]
    fn edge(&self, e: &Edge) -> (Coord<f64>, Coord<f64>) {
        let v = e.v as usize;
        (self.verts[v], self.verts[v + 1])
    }

    /// [`contains_rule`] for polygon `p`, on its rings as stored here.
    fn contains(&self, p: u32, x: f64, y: f64) -> bool {
        let rings = self.poly_rings[p as usize]..self.poly_rings[p as usize + 1];
        let rings = rings.map(|r| &self.verts[self.ring_at[r]..self.ring_at[r + 1]]);
        rings_contain(rings, x, y)
    }
}

/// A permutation that puts points in Morton (Z-curve) order over their bounding box.
///
/// Point order does not matter for aggregation, but lookups in the grid are many times faster
/// when neighbouring points follow each other (the cell table and the edges of one area stay
/// in cache). Address points are loaded once and outlive many boundary definitions, so the
/// loader sorts them once with this order. Non-finite coordinates sort last.
pub fn morton_order(xs: &[f64], ys: &[f64]) -> Vec<u32> {
    use rayon::prelude::*;
    let key = MortonKey::new(xs, ys);
    // Key in the high half, point index in the low half: the sort moves both at once and reads
    // sequentially.
    let mut packed: Vec<u64> = xs
        .par_iter()
        .zip(ys)
        .enumerate()
        .map(|(i, (&x, &y))| (u64::from(key.of(x, y)) << 32) | i as u64)
        .collect();
    // LSD radix sort on two 16-bit digits of the key: linear time, stable, on all cores.
    let mut tmp = vec![0u64; packed.len()];
    for shift in [32u32, 48] {
        let src = &packed;
        counting_pass(
            src.len(),
            1 << 16,
            |i| (src[i] >> shift) as u16,
            |i| src[i],
            &mut tmp,
        );
        std::mem::swap(&mut packed, &mut tmp);
    }
    packed.into_par_iter().map(|v| v as u32).collect()
}

/// Bits of the Morton key [`coarse_morton_order`] sorts by: a 64 × 64 grid. One of its cells
/// covers 1/4096 of the city, whose share of the polygon index (8 KB of 32 MB on the benchmark
/// city) stays in cache while its points are joined, as with 256 × 256; the 4,096 bins of the
/// counting pass stay in cache too, where 65,536 did not (2M points: 22 → 19 ms, the join the
/// same; 20M: 151 → 142 ms).
const COARSE_BITS: u32 = 12;

/// [`morton_order`] to the first 12 bits of the key (`COARSE_BITS`): points grouped by cell of a
/// 64 × 64 grid over their bounding box, cells in Morton order, points within one in input
/// order.
/// For a single join this gives the lookups nearly all of the full order's locality (a cell
/// holds few polygons' edges) at the cost of one counting pass over the point indices, where
/// the full order sorts twice and moves 16-byte records.
pub fn coarse_morton_order(xs: &[f64], ys: &[f64]) -> Vec<u32> {
    use rayon::prelude::*;
    let key = MortonKey::new(xs, ys);
    let cells: Vec<u16> = xs
        .par_iter()
        .zip(ys)
        .with_min_len(1 << 14)
        .map(|(&x, &y)| (key.of(x, y) >> (32 - COARSE_BITS)) as u16)
        .collect();
    let mut order = vec![0u32; cells.len()];
    counting_pass(
        cells.len(),
        1 << COARSE_BITS,
        |i| cells[i],
        |i| i as u32,
        &mut order,
    );
    order
}

/// The Morton key of a point over the points' bounding box (a 65,536 × 65,536 grid);
/// `u32::MAX` for non-finite coordinates.
struct MortonKey {
    minx: f64,
    miny: f64,
    scale: f64,
}

impl MortonKey {
    fn new(xs: &[f64], ys: &[f64]) -> Self {
        assert_eq!(xs.len(), ys.len());
        assert!(xs.len() < u32::MAX as usize, "too many points");
        let (mut minx, mut miny, mut maxx, mut maxy) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for (&x, &y) in xs.iter().zip(ys) {
            if x.is_finite() && y.is_finite() {
                minx = minx.min(x);
                maxx = maxx.max(x);
                miny = miny.min(y);
                maxy = maxy.max(y);
            }
        }
        let span = (maxx - minx).max(maxy - miny).max(1e-9);
        MortonKey {
            minx,
            miny,
            scale: 65_535.0 / span,
        }
    }

    #[inline]
    fn of(&self, x: f64, y: f64) -> u32 {
        if !(x.is_finite() && y.is_finite()) {
            return u32::MAX;
        }
        let spread = |v: u32| -> u32 {
            let mut v = v & 0xFFFF;
            v = (v | (v << 8)) & 0x00FF_00FF;
            v = (v | (v << 4)) & 0x0F0F_0F0F;
            v = (v | (v << 2)) & 0x3333_3333;
            (v | (v << 1)) & 0x5555_5555
        };
        let qx = ((x - self.minx) * self.scale) as u32;
        let qy = ((y - self.miny) * self.scale) as u32;
        spread(qx) | (spread(qy) << 1)
    }
}

/// One stable counting-sort pass of items `0..n` into `dst` by their 16-bit `digit`, writing
/// `value(i)` for item `i`, in parallel: each stretch of items counts its digits, then writes
/// its values into the places the counts reserve for it (disjoint for every stretch).
fn counting_pass<T: Copy + Send + Sync>(
    n: usize,
    bins: usize,
    digit: impl Fn(usize) -> u16 + Sync,
    value: impl Fn(usize) -> T + Sync,
    dst: &mut [T],
) {
    use rayon::prelude::*;
    assert_eq!(n, dst.len());
    let stretch = (n / (4 * rayon::current_num_threads().max(1))).max(1 << 16);
    let ranges: Vec<std::ops::Range<usize>> = (0..n.div_ceil(stretch))
        .map(|k| k * stretch..((k + 1) * stretch).min(n))
        .collect();
    let hists: Vec<Vec<usize>> = ranges
        .par_iter()
        .map(|r| {
            let mut h = vec![0usize; bins];
            for i in r.clone() {
                h[usize::from(digit(i))] += 1;
            }
            h
        })
        .collect();
    // Start of each (stretch, digit) in `dst`: digits in order, stretches in order within one.
    let mut starts: Vec<Vec<usize>> = vec![vec![0; bins]; hists.len()];
    let mut at = 0usize;
    for d in 0..bins {
        for (s, h) in hists.iter().enumerate() {
            starts[s][d] = at;
            at += h[d];
        }
    }
    struct Out<T>(*mut T);
    // SAFETY: every stretch writes only the positions `starts` reserves for it, which are
    // disjoint across stretches and within `dst`.
    unsafe impl<T: Send> Sync for Out<T> {}
    let out = Out(dst.as_mut_ptr());
    ranges
        .into_par_iter()
        .zip(starts.into_par_iter())
        .for_each(|(r, mut pos)| {
            let out = &out;
            for i in r {
                let d = usize::from(digit(i));
                // SAFETY: pos[d] < dst.len() and owned by this stretch alone (see above).
                unsafe { *out.0.add(pos[d]) = value(i) };
                pos[d] += 1;
            }
        });
}

/// Distance from `p` to the segment `a`–`b`.
///
/// # Units
/// Those of the coordinates (metres in the working CRS).
pub fn segment_distance(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let d = b - a;
    let len2 = d.x * d.x + d.y * d.y;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p.x - a.x) * d.x + (p.y - a.y) * d.y) / len2).clamp(0.0, 1.0)
    };
    let q = Coord {
        x: a.x + t * d.x,
        y: a.y + t * d.y,
    };
    ((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt()
}
