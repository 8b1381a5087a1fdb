//! Deterministic synthetic partitions for tests and benchmarks (no I/O, no external data).

use geo::{Coord, LineString, MultiPolygon, Polygon};

/// Small deterministic generator (xorshift64*), so failures reproduce.
pub struct Rng(pub u64);
impl Rng {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// In `0..n` (`n > 0`; the modulo bias is irrelevant for tests).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
}

/// A closed axis-parallel rectangle ring.
pub fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<Coord<f64>> {
    vec![
        Coord { x: x0, y: y0 },
        Coord { x: x1, y: y0 },
        Coord { x: x1, y: y1 },
        Coord { x: x0, y: y1 },
        Coord { x: x0, y: y0 },
    ]
}

/// A one-part multipolygon.
pub fn mp(exterior: Vec<Coord<f64>>, holes: Vec<Vec<Coord<f64>>>) -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(
        LineString(exterior),
        holes.into_iter().map(LineString).collect(),
    )])
}

/// A gap-free partition of a jittered lattice with wiggly shared edges (both neighbours get
/// the identical vertex sequence), one enclave (polygon with a hole, filled by another
/// polygon), one multipolygon, and overlapping polygons at both ends of the priority order.
pub fn random_partition(seed: u64, n: usize, wiggle: usize) -> Vec<MultiPolygon<f64>> {
    let mut rng = Rng(seed.max(1));
    let s = 100.0;
    let mut lattice = vec![vec![Coord { x: 0.0, y: 0.0 }; n + 1]; n + 1];
    for (j, row) in lattice.iter_mut().enumerate() {
        for (i, c) in row.iter_mut().enumerate() {
            let jit = |r: &mut Rng, k: usize| {
                if k == 0 || k == n {
                    0.0
                } else {
                    (r.unit() - 0.5) * 0.6 * s
                }
            };
            *c = Coord {
                x: 500_000.0 + i as f64 * s + jit(&mut rng, i),
                y: 5_800_000.0 + j as f64 * s + jit(&mut rng, j),
            };
        }
    }
    // Shared edge between two lattice vertices, keyed canonically.
    type EdgeKey = ((usize, usize), (usize, usize));
    let mut edge_cache: std::collections::HashMap<EdgeKey, Vec<Coord<f64>>> = Default::default();
    let mut edge = |a: (usize, usize), b: (usize, usize), rng: &mut Rng| -> Vec<Coord<f64>> {
        let (k, rev) = if a <= b {
            ((a, b), false)
        } else {
            ((b, a), true)
        };
        let pts = edge_cache
            .entry(k)
            .or_insert_with(|| {
                let p = lattice[k.0.1][k.0.0];
                let q = lattice[k.1.1][k.1.0];
                let border = (k.0.0 == k.1.0 && (k.0.0 == 0 || k.0.0 == n))
                    || (k.0.1 == k.1.1 && (k.0.1 == 0 || k.0.1 == n));
                let mut v = vec![p];
                for t in 1..wiggle {
                    let f = t as f64 / wiggle as f64;
                    let off = if border {
                        0.0
                    } else {
                        (rng.unit() - 0.5) * 0.2 * s
                    };
                    // Millimetre rounding, as in real data.
                    let x = ((p.x + (q.x - p.x) * f + off) * 1000.0).round() / 1000.0;
                    let y = ((p.y + (q.y - p.y) * f - off) * 1000.0).round() / 1000.0;
                    v.push(Coord { x, y });
                }
                v.push(q);
                v
            })
            .clone();
        if rev {
            pts.into_iter().rev().collect()
        } else {
            pts
        }
    };
    let mut polys = Vec::new();
    for j in 0..n {
        for i in 0..n {
            let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1), (i, j)];
            let mut ring: Vec<Coord<f64>> = Vec::new();
            for w in corners.windows(2) {
                let e = edge(w[0], w[1], &mut rng);
                if ring.is_empty() {
                    ring.extend(e);
                } else {
                    ring.extend(e.into_iter().skip(1));
                }
            }
            polys.push(mp(ring, vec![]));
        }
    }
    // Enclave: cut a hole into cell 0 and fill it with a new polygon.
    let c = polys[0].0[0].exterior().0.clone();
    let cx = c.iter().map(|p| p.x).sum::<f64>() / c.len() as f64;
    let cy = c.iter().map(|p| p.y).sum::<f64>() / c.len() as f64;
    let hole = square(cx - 10.0, cy - 10.0, cx + 10.0, cy + 10.0);
    polys[0] = mp(c, vec![hole.iter().rev().copied().collect()]);
    polys.push(mp(hole, vec![]));
    // Multipolygon: the last lattice cell together with a detached island far away.
    let last = n * n - 1;
    let mut parts = polys[last].0.clone();
    parts.push(Polygon::new(
        LineString(square(400_000.0, 5_700_000.0, 400_050.0, 5_700_050.0)),
        vec![],
    ));
    polys[last] = MultiPolygon(parts);
    // Overlaps: one with top priority, one with the lowest.
    let o = lattice[n / 2][n / 2];
    polys.insert(
        0,
        mp(
            square(o.x - 30.0, o.y - 30.0, o.x + 30.0, o.y + 30.0),
            vec![],
        ),
    );
    polys.push(mp(square(o.x, o.y - 80.0, o.x + 150.0, o.y), vec![]));
    polys
}
