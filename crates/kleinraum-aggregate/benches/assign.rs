//! Criterion benchmarks of the hot path on generated data: index build, point assignment
//! (Morton-ordered points, as the loader stores them) and the per-area sums.
//! The comparison with GeoPandas / DuckDB / geo+rstar on the shared synthetic city is
//! `scripts/bench`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kleinraum_aggregate::aggregate::sum_by_area;
use kleinraum_aggregate::spatial::{GridIndex, morton_order};
use kleinraum_testdata::synthetic::{Rng, random_partition};
use std::hint::black_box;

/// Clustered points over the lattice extent (a dense centre and a uniform background).
fn points(n: usize, lattice: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = Rng(seed);
    let size = lattice as f64 * 100.0;
    let (mut xs, mut ys) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let (x, y) = if rng.unit() < 0.6 {
            // Box-Muller around the centre.
            let r = (-2.0 * rng.unit().max(1e-12).ln()).sqrt() * size / 6.0;
            let a = rng.unit() * std::f64::consts::TAU;
            (size / 2.0 + r * a.cos(), size / 2.0 + r * a.sin())
        } else {
            (rng.unit() * size, rng.unit() * size)
        };
        xs.push(500_000.0 + x.clamp(0.0, size));
        ys.push(5_800_000.0 + y.clamp(0.0, size));
    }
    let perm = morton_order(&xs, &ys);
    (
        perm.iter().map(|&i| xs[i as usize]).collect(),
        perm.iter().map(|&i| ys[i as usize]).collect(),
    )
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("assign");
    g.sample_size(10);
    for (lattice, n) in [(22usize, 200_000usize), (70, 200_000)] {
        let polys = random_partition(3, lattice, 12);
        let (xs, ys) = points(n, lattice, 11);
        let label = format!("{}areas_{}pts", polys.len(), n);
        g.bench_function(BenchmarkId::new("build", &label), |b| {
            b.iter(|| GridIndex::build(black_box(&polys)))
        });
        let idx = GridIndex::build(&polys);
        g.bench_function(BenchmarkId::new("assign", &label), |b| {
            b.iter(|| idx.assign(black_box(&xs), black_box(&ys)))
        });
        let asg = idx.assign(&xs, &ys);
        let cols: Vec<Vec<u32>> = (0..6)
            .map(|k| (0..n).map(|i| ((i * 7 + k) % 13) as u32).collect())
            .collect();
        let refs: Vec<&[u32]> = cols.iter().map(|c| c.as_slice()).collect();
        g.bench_function(BenchmarkId::new("sum_6_columns", &label), |b| {
            b.iter(|| sum_by_area(black_box(&asg), polys.len(), black_box(&refs)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
