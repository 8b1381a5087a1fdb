"""Runs kleinraum's join+aggregate beside the peers of ../shared/bench on the same files, in the
same session, alternating tools per size, and prints the ratios against the targets.

Reuses the shared harness (run_bench.timed_run: /usr/bin/time -v, quiet-machine gate, one JSON
line per process in results/results.jsonl) and its byte-exact per-polygon cross-check.
"""
import argparse
import json
import os
import statistics
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench-dir", required=True)
    ap.add_argument("--sizes", required=True)
    ap.add_argument("--tools", required=True)
    ap.add_argument("--kleinraum", required=True)
    ap.add_argument("--no-wait", action="store_true")
    ap.add_argument("--summarise-since", help="only re-print the summary of rows in results.jsonl since this timestamp")
    a = ap.parse_args()
    sys.path.insert(0, a.bench_dir)
    os.chdir(a.bench_dir)
    import run_bench as rb  # the shared harness

    if a.no_wait:
        rb.wait_quiet = lambda *args, **kw: 0
    os.makedirs(rb.RES, exist_ok=True)
    os.makedirs(os.path.dirname(rb.OUT), exist_ok=True)
    tools = a.tools.split(",")
    summary = []
    if a.summarise_since:
        by_tag = {}
        for line in open(rb.OUT):
            r = json.loads(line)
            if r.get("label") and r.get("ts", "") >= a.summarise_since:
                by_tag.setdefault(f"n{r['n']}_m{r['m']}", {})[r["label"]] = r
        summary = [(tag, rows, None) for tag, rows in by_tag.items()]
    for size in ([] if a.summarise_since else a.sizes.split(",")):
        n, m = map(int, size.split("x"))
        pc, pp = f"data/points_n{n}.csv", f"data/points_n{n}.parquet"
        gj, gk = f"data/polys_m{m}.geojson", f"data/polys_m{m}.gpkg"
        tag = f"n{n}_m{m}"
        rows, outs = {}, []
        runs = "5" if n <= 2_000_000 else "3"
        # Alternate: kleinraum, peer, kleinraum, peer … so drift hits both alike.
        plan = []
        if "kleinraum" in tools:
            plan += [("kleinraum t2", [a.kleinraum, pc, gj, "--threads", "2", "--runs", runs]),
                     ("kleinraum t1", [a.kleinraum, pc, gj, "--threads", "1", "--runs", runs]),
                     ("kleinraum t2, points as loaded", [a.kleinraum, pc, gj, "--threads", "2", "--runs", runs, "--as-loaded"])]
        if "rust" in tools:
            plan += [("geo+rstar t2", [rb.RUSTBIN, pc, gj, "--threads", "2", "--runs", runs])]
        if "geopandas" in tools:
            plan += [("geopandas", [rb.PY, "bench_geopandas.py", "--points", pp, "--polys", gk, "--runs", "3"])]
        if "duckdb" in tools:
            plan += [("duckdb t2", [rb.PY, "bench_duckdb.py", "--points", pp, "--polys", gk, "--threads", "2", "--runs", "3"])]
        for i, (name, cmd) in enumerate(plan):
            out = f"{rb.RES}/cmp_{name.split()[0].replace('+', '')}_{i}_{tag}.csv"
            r = rb.timed_run(cmd + ["--out", out], n=n, m=m, label=name)
            rows[name] = r
            outs.append(out)
        ref = open(outs[0]).read() if outs else ""
        agree = all(open(o).read() == ref for o in outs[1:])
        summary.append((tag, rows, agree))

    print_summary(summary)


def join_time(r):
    """Join + aggregate seconds as each tool reports it (GeoPandas: warm, i.e. its point tree
    cached like kleinraum's point order; DuckDB: the query)."""
    for key in ("join_s", "join_warm_s", "query_s"):
        if key in r:
            return r[key]
    raise KeyError(f"no join time in {sorted(r)}")


def print_summary(summary):
    print("\n== join + aggregate (median of runs, data loaded); peak RSS of the process")
    for tag, rows, agree in summary:
        if agree is not None:
            print(f"\n{tag}: per-polygon results of all tools identical: {agree}")
        else:
            print(f"\n{tag}:")
        for name, r in rows.items():
            extra = ""
            if "index_build_s" in r and name.startswith("kleinraum"):
                extra = f"  (+ index build {r['index_build_s']*1000:.0f} ms; one-time point sort {r.get('point_sort_s', 0)*1000:.0f} ms)"
            if "join_cold_s" in r:
                extra = f"  (cold, building its point tree: {r['join_cold_s']*1000:.0f} ms)"
            print(f"  {name:34s} {join_time(r)*1000:10.1f} ms  {r['maxrss_kb']/1024:8.0f} MB{extra}")
        k = rows.get("kleinraum t2")
        if k:
            for peer in ("geo+rstar t2", "geopandas", "duckdb t2"):
                if peer in rows:
                    print(f"  ratio {peer:>14s} / kleinraum t2: {join_time(rows[peer]) / join_time(k):8.1f}x"
                          f"   (with kleinraum's index build: {join_time(rows[peer]) / (join_time(k) + k['index_build_s']):6.1f}x)")
            if "lb_groupby_s" in rows.get("geo+rstar t2", {}):
                lb = rows["geo+rstar t2"]["lb_groupby_s"]
                print(f"  kleinraum t2 / group-by bound ({lb*1000:.1f} ms, 1 thread): {k['join_s'] / lb:.1f}x")
    print("\nTargets (2M x 5000, 2 cores): <= 50 ms, >= 50x GeoPandas, >= 20x geo+rstar, "
          "within ~5x of the group-by bound; 20M points in <= 2 GB RSS.")


if __name__ == "__main__":
    main()
