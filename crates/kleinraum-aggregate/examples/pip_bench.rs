//! The join + aggregate job of `../shared/bench` run through kleinraum's engine, with the same
//! command line and JSON line as the harness's `pip_baseline`, so `scripts/bench` can time it
//! beside GeoPandas, DuckDB and the straightforward geo+rstar loop and cross-check the
//! per-polygon results byte for byte.
//!
//! usage: pip_bench POINTS.csv POLYS.geojson [--threads T] [--runs R] [--out F] [--density D]

use geo::{Coord, LineString, MultiPolygon, Polygon};
use kleinraum_aggregate::aggregate::sum_by_area;
use kleinraum_aggregate::spatial::GridIndex;
use std::time::Instant;

struct Points {
    x: Vec<f64>,
    y: Vec<f64>,
    cols: Vec<Vec<u32>>,
}

fn load_points(path: &str) -> Points {
    let mut rdr = csv::ReaderBuilder::new()
        .from_path(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut p = Points {
        x: vec![],
        y: vec![],
        cols: vec![vec![]; 5],
    };
    let mut rec = csv::ByteRecord::new();
    let f = |b: &[u8]| -> f64 { std::str::from_utf8(b).unwrap().parse().unwrap() };
    let u = |b: &[u8]| -> u32 { std::str::from_utf8(b).unwrap().parse().unwrap() };
    // id,x,y,residents,age_0_5,age_6_17,age_65plus,sgb2
    while rdr.read_byte_record(&mut rec).unwrap() {
        p.x.push(f(&rec[1]));
        p.y.push(f(&rec[2]));
        for k in 0..5 {
            p.cols[k].push(u(&rec[3 + k]));
        }
    }
    p
}

fn ring(v: &serde_json::Value) -> LineString<f64> {
    LineString(
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| Coord {
                x: c[0].as_f64().unwrap(),
                y: c[1].as_f64().unwrap(),
            })
            .collect(),
    )
}

fn polygon(v: &serde_json::Value) -> Polygon<f64> {
    let rings = v.as_array().unwrap();
    Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect())
}

fn load_polys(path: &str) -> (Vec<i64>, Vec<MultiPolygon<f64>>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let gj: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut ids = vec![];
    let mut polys = vec![];
    for f in gj["features"].as_array().unwrap() {
        ids.push(f["properties"]["id"].as_i64().unwrap());
        let g = &f["geometry"];
        let mp = match g["type"].as_str().unwrap() {
            "Polygon" => MultiPolygon(vec![polygon(&g["coordinates"])]),
            "MultiPolygon" => MultiPolygon(
                g["coordinates"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(polygon)
                    .collect(),
            ),
            t => panic!("unexpected geometry {t}"),
        };
        polys.push(mp);
    }
    (ids, polys)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |k: &str, d: &str| {
        args.iter()
            .position(|a| a == k)
            .map(|i| args[i + 1].clone())
            .unwrap_or(d.into())
    };
    let threads: usize = opt("--threads", "2").parse().unwrap();
    let runs: usize = opt("--runs", "5").parse().unwrap();
    let density: f64 = opt("--density", "2.0").parse().unwrap();
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .unwrap();
    let t = Instant::now();
    let pts = load_points(&args[1]);
    let t_lp = t.elapsed().as_secs_f64();
    let mut pts = pts;
    // Address points are loaded once and put in Morton order (kleinraum's loader does this);
    // `--as-loaded` keeps the file's random order to show what that buys.
    let mut t_sort = 0.0;
    if !args.iter().any(|a| a == "--as-loaded") {
        let t = Instant::now();
        let perm = kleinraum_aggregate::spatial::morton_order(&pts.x, &pts.y);
        let ap = |v: &Vec<f64>| perm.iter().map(|&i| v[i as usize]).collect::<Vec<f64>>();
        pts.x = ap(&pts.x);
        pts.y = ap(&pts.y);
        for c in pts.cols.iter_mut() {
            *c = perm.iter().map(|&i| c[i as usize]).collect();
        }
        t_sort = t.elapsed().as_secs_f64();
    }
    let t = Instant::now();
    let (ids, polys) = load_polys(&args[2]);
    let t_lg = t.elapsed().as_secs_f64();
    // The point count is summed as a column of ones, like every other column.
    let ones = vec![1u32; pts.x.len()];
    let cols: Vec<&[u32]> = std::iter::once(ones.as_slice())
        .chain(pts.cols.iter().map(|c| c.as_slice()))
        .collect();

    let (mut t_index, mut t_assign, mut t_sum, mut t_total) = (vec![], vec![], vec![], vec![]);
    let mut sums: Vec<u64> = vec![];
    let mut stats = (0, 0, 0.0, 0, 0);
    for _ in 0..runs {
        let t0 = Instant::now();
        let idx = GridIndex::build_with_density(&polys, density);
        let t1 = Instant::now();
        let assignment = idx.assign(&pts.x, &pts.y);
        let t2 = Instant::now();
        let s = sum_by_area(&assignment, polys.len(), &cols);
        let t3 = Instant::now();
        t_index.push((t1 - t0).as_secs_f64());
        t_assign.push((t2 - t1).as_secs_f64());
        t_sum.push((t3 - t2).as_secs_f64());
        t_total.push((t3 - t1).as_secs_f64());
        sums = s;
        stats = idx.stats();
    }
    if args.iter().any(|a| a == "--profile") {
        let idx = GridIndex::build_with_density(&polys, density);
        let (bp, ed, fb) = idx.profile(&pts.x, &pts.y);
        eprintln!(
            "boundary points {bp} ({:.1} %), edges per boundary point {:.1}, fallbacks {fb}",
            100.0 * bp as f64 / pts.x.len() as f64,
            ed as f64 / bp.max(1) as f64
        );
    }
    if let Some(out) = args.iter().position(|a| a == "--out").map(|i| &args[i + 1]) {
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| ids[i]);
        let mut s = String::from("poly_id,n,residents,age_0_5,age_6_17,age_65plus,sgb2\n");
        for i in order {
            if sums[i * 6] > 0 {
                s += &format!("{}", ids[i]);
                for k in 0..6 {
                    s += &format!(",{}", sums[i * 6 + k]);
                }
                s.push('\n');
            }
        }
        std::fs::write(out, s).unwrap();
    }
    let n = pts.x.len() as f64;
    let join = median(t_total.clone());
    println!(
        "{{\"tool\": \"kleinraum\", \"points\": \"{}\", \"polys\": \"{}\", \"threads\": {}, \"load_points_s\": {:.3}, \"load_polys_s\": {:.3}, \"point_sort_s\": {:.3}, \"join_s\": {:.5}, \"runs_s\": {:?}, \"index_build_s\": {:.4}, \"assign_s\": {:.5}, \"aggregate_s\": {:.5}, \"points_per_s\": {:.0}, \"matched\": {}, \"residents\": {}, \"grid\": [{}, {}], \"cell_m\": {:.1}, \"boundary_cells\": {}, \"cell_edges\": {}, \"peak_rss_kb\": {}}}",
        args[1].rsplit('/').next().unwrap(),
        args[2].rsplit('/').next().unwrap(),
        threads,
        t_lp,
        t_lg,
        t_sort,
        join,
        t_total
            .iter()
            .map(|v| (v * 1e4).round() / 1e4)
            .collect::<Vec<_>>(),
        median(t_index),
        median(t_assign),
        median(t_sum),
        n / join,
        (0..polys.len()).map(|i| sums[i * 6]).sum::<u64>(),
        (0..polys.len()).map(|i| sums[i * 6 + 1]).sum::<u64>(),
        stats.0,
        stats.1,
        stats.2,
        stats.3,
        stats.4,
        peak_rss_kb()
    );
}
