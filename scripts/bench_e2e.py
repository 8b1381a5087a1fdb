"""End to end from files, the same job in every tool: read the points CSV and the polygons
GeoJSON of ../shared/bench's synthetic city, join, sum the 5 counts per polygon, write a CSV.

Each tool runs as its own process under /usr/bin/time -v (wall time and peak RSS of the whole
process, interpreter start-up included: that is what a user waits for), alternating tools per
size, and the per-polygon sums are cross-checked. kleinraum runs `kleinraum aggregate` with a
config written here (no disclosure control: the peers publish every count), its per-stage
timings (`--timings`) are kept.

    python scripts/bench_e2e.py --bench-dir /tmp/kleinraum-bench --kleinraum target/release/kleinraum \
        --sizes 200000x500,2000000x5000 --tools kleinraum,duckdb,geopandas --runs 3
    python scripts/bench_e2e.py job duckdb --points P.csv --polys M.geojson --out F   # one job
"""
import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import time

ATTRS = ["residents", "age_0_5", "age_6_17", "age_65plus", "sgb2"]


def job_duckdb(points, polys, out, threads):
    import duckdb
    import glob
    import duckdb_extension_spatial as d

    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    path = glob.glob(os.path.join(os.path.dirname(d.__file__), "extensions", "*", "spatial.duckdb_extension"))[0]
    con.execute(f"LOAD '{path}'")
    t0 = time.perf_counter()
    con.execute(f"CREATE TABLE pts AS SELECT {', '.join(ATTRS)}, ST_Point(x, y) AS geom FROM read_csv('{points}')")
    t1 = time.perf_counter()
    con.execute(f"CREATE TABLE polys AS SELECT id, geom FROM ST_Read('{polys}')")
    t2 = time.perf_counter()
    sums = ", ".join(f"sum(t.{c})::BIGINT AS {c}" for c in ATTRS)
    con.execute(f"COPY (SELECT p.id AS poly_id, count(*) AS n, {sums} FROM polys p JOIN pts t"
                f" ON ST_Contains(p.geom, t.geom) GROUP BY p.id ORDER BY p.id) TO '{out}' (HEADER, DELIMITER ',')")
    t3 = time.perf_counter()
    return dict(load_points_s=t1 - t0, load_polys_s=t2 - t1, join_write_s=t3 - t2)


def job_geopandas(points, polys, out):
    import geopandas as gpd
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_csv(points, engine="pyarrow")
    pts = gpd.GeoDataFrame(df[ATTRS], geometry=gpd.points_from_xy(df["x"], df["y"]), crs="EPSG:25833")
    t1 = time.perf_counter()
    pg = gpd.read_file(polys)[["id", "geometry"]]
    t2 = time.perf_counter()
    j = gpd.sjoin(pts, pg, predicate="within", how="inner")
    g = j.groupby("id").agg(n=("residents", "size"), **{c: (c, "sum") for c in ATTRS}).reset_index()
    g = g.rename(columns={"id": "poly_id"}).sort_values("poly_id")
    g.to_csv(out, index=False)
    t3 = time.perf_counter()
    return dict(load_points_s=t1 - t0, load_polys_s=t2 - t1, join_write_s=t3 - t2)


CONFIG = """title = "Synthetic city (bench)"
working_crs = 25833
[[level]]
key = "polys"
title = "Polygons"
source = "{polys}"
id_field = "id"
[points]
source = "{points}"
key = "id"
x = "x"
y = "y"
crs = 25833
counts = ["residents", "age_0_5", "age_6_17", "age_65plus", "sgb2"]
year = 2024
[disclosure]
threshold = 0
low_threshold_reason = "synthetic benchmark data: every tool publishes every count"
"""


def kleinraum_config(bench_dir, points, polys):
    path = os.path.join(bench_dir, "results", f"kleinraum_{os.path.basename(points)}_{os.path.basename(polys)}.toml")
    with open(path, "w") as f:
        f.write(CONFIG.format(points=os.path.abspath(points), polys=os.path.abspath(polys)))
    return path


def kleinraum_sums(path):
    """kleinraum's CSV (one row per area and year, the counts by name) as poly_id -> sums."""
    out = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        r = csv.DictReader(f, delimiter=";" if ";" in f.readline() else ",")
        f.seek(0)
        r = csv.DictReader(f, delimiter=r.reader.dialect.delimiter)
        for row in r:
            if row.get("level", "polys") != "polys":
                continue  # the roll-up to the whole city
            out[int(row["id"])] = tuple(int(float(row[c] or 0)) for c in ATTRS)
    return out


def peer_sums(path):
    out = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            out[int(row["poly_id"])] = tuple(int(row[c]) for c in ATTRS)
    return out


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time -v: (wall s, peak RSS MB, stdout, stderr)."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return wall, rss, p.stdout, p.stderr


def serve_start(kleinraum, config, store, runs):
    """`kleinraum serve CONFIG`: seconds until the first answered /conformance, RSS then; seconds
    until /collections answers (the map's first request that needs the geometry: the extents
    in CRS84, rendered after the server listens); seconds until /gebietsstaende answers too
    (computed after it listens), RSS then; and the peak RSS of the process (/usr/bin/time -v)
    after it is stopped."""
    import signal
    import socket
    import urllib.request

    out = []
    for _ in range(runs):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = dict(os.environ, KLEINRAUM_STORE=store, RUST_LOG="warn")
        t = time.perf_counter()
        p = subprocess.Popen(["/usr/bin/time", "-v", kleinraum, "serve", config, "--bind", f"127.0.0.1:{port}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        ready = None
        while p.poll() is None and time.perf_counter() - t < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/conformance", timeout=5) as r:
                    if r.status == 200:
                        ready = time.perf_counter() - t
                        break
            except OSError:
                time.sleep(0.01)
        child = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()

        def rss_now():
            if not child:
                return 0.0
            for line in open(f"/proc/{child[0]}/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
            return 0.0

        rss = rss_now()
        cols = None
        if ready is not None and p.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/collections?f=json", timeout=30) as r:
                    if r.status == 200 and json.load(r).get("collections"):
                        cols = time.perf_counter() - t
            except OSError:
                pass
        full = None
        while ready is not None and p.poll() is None and time.perf_counter() - t < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/gebietsstaende", timeout=30) as r:
                    if r.status == 200:
                        full = time.perf_counter() - t
                        break
            except OSError:  # 503 while they are computed
                time.sleep(0.01)
        rss_full = rss_now()
        if child:
            os.kill(int(child[0]), signal.SIGTERM)
        _, err = p.communicate(timeout=60)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
        out.append((ready, rss, cols, full, rss_full, int(m.group(1)) / 1024 if m else 0.0))
    return out


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        ap = argparse.ArgumentParser()
        ap.add_argument("serve")
        ap.add_argument("--kleinraum", required=True)
        ap.add_argument("--config", required=True)
        ap.add_argument("--store", required=True)
        ap.add_argument("--runs", type=int, default=3)
        ap.add_argument("--kleinraum-before", help="a second binary (e.g. main's), run alternately")
        a = ap.parse_args()
        bins = [("kleinraum", a.kleinraum)] + ([("before", a.kleinraum_before)] if a.kleinraum_before else [])
        # Alternate the binaries run by run so drift on the shared machine hits both alike.
        res = {name: [] for name, _ in bins}
        for _ in range(a.runs):
            for name, path in bins:
                res[name] += serve_start(path, a.config, a.store, 1)
        for name, _ in bins:
            for k, (ready, rss, cols, full, rss_full, peak) in enumerate(res[name]):
                tag = f"{name} run {k + 1}" if len(bins) > 1 else f"run {k + 1}"
                if not ready:
                    print(f"  {tag}: not ready within 120 s")
                    continue
                print(f"  {tag}: first /conformance answered after {ready:.3f} s, RSS then {rss:.0f} MB; "
                      + (f"/collections after {cols:.3f} s; " if cols else "/collections not answered; ")
                      + (f"/gebietsstaende after {full:.3f} s, RSS then {rss_full:.0f} MB; " if full else "/gebietsstaende not answered; ")
                      + f"peak RSS {peak:.0f} MB")
            ok = [r for r in res[name] if r[0]]
            if ok:
                print(f"  {name}: median first /conformance {statistics.median(r[0] for r in ok):.3f} s, "
                      f"median RSS then {statistics.median(r[1] for r in ok):.0f} MB")
        return
    if len(sys.argv) > 1 and sys.argv[1] == "job":
        ap = argparse.ArgumentParser()
        ap.add_argument("job")
        ap.add_argument("tool", choices=["duckdb", "geopandas"])
        ap.add_argument("--points", required=True)
        ap.add_argument("--polys", required=True)
        ap.add_argument("--out", required=True)
        ap.add_argument("--threads", type=int, default=2)
        a = ap.parse_args()
        r = job_duckdb(a.points, a.polys, a.out, a.threads) if a.tool == "duckdb" else job_geopandas(a.points, a.polys, a.out)
        print(json.dumps({k: round(v, 3) for k, v in r.items()}))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench-dir", required=True)
    ap.add_argument("--kleinraum", required=True)
    ap.add_argument("--sizes", default="200000x500,2000000x5000,20000000x5000")
    ap.add_argument("--tools", default="kleinraum,duckdb,geopandas")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--kleinraum-before", help="a second binary (e.g. main's), run alternately")
    a = ap.parse_args()
    tools = a.tools.split(",")
    os.makedirs(os.path.join(a.bench_dir, "results"), exist_ok=True)
    me = os.path.abspath(__file__)
    print("\n== End to end from files (CSV points + GeoJSON polygons -> per-polygon CSV), wall and peak RSS per process")
    for size in a.sizes.split(","):
        n, m = map(int, size.split("x"))
        points = os.path.join(a.bench_dir, "data", f"points_n{n}.csv")
        polys = os.path.join(a.bench_dir, "data", f"polys_m{m}.geojson")
        res = os.path.join(a.bench_dir, "results")
        cfg = kleinraum_config(a.bench_dir, points, polys)
        plan = []
        if "kleinraum" in tools:
            out = os.path.join(res, f"e2e_kleinraum_n{n}_m{m}.csv")
            plan.append(("kleinraum aggregate", [a.kleinraum, "aggregate", cfg, "--out", out, "--timings"], out))
            if a.kleinraum_before:
                out = os.path.join(res, f"e2e_kleinraum_before_n{n}_m{m}.csv")
                plan.append(("kleinraum before", [a.kleinraum_before, "aggregate", cfg, "--out", out], out))
        if "duckdb" in tools:
            out = os.path.join(res, f"e2e_duckdb_n{n}_m{m}.csv")
            plan.append(("duckdb t2", [a.python, me, "job", "duckdb", "--points", points, "--polys", polys, "--out", out], out))
        if "geopandas" in tools:
            out = os.path.join(res, f"e2e_geopandas_n{n}_m{m}.csv")
            plan.append(("geopandas", [a.python, me, "job", "geopandas", "--points", points, "--polys", polys, "--out", out], out))
        runs = {name: [] for name, _, _ in plan}
        detail = {}
        # Alternate tools run by run so drift on the shared machine hits all alike.
        for r in range(a.runs if n < 20_000_000 else max(1, a.runs - 1)):
            for name, cmd, _ in plan:
                if name == "geopandas" and n >= 20_000_000 and r > 0:
                    continue  # 9+ GB and minutes per run: once is enough
                wall, rss, so, se = timed(cmd)
                runs[name].append((wall, rss))
                detail[name] = (so + se) if name.startswith("kleinraum") else so
        print(f"\nN={n:,} points, M={m:,} polygons")
        sums = {}
        for name, _, out in plan:
            sums[name] = kleinraum_sums(out) if name.startswith("kleinraum") else peer_sums(out)
        ref_name = plan[0][0]
        # Polygons without points: a row of zeros in kleinraum's table, no row in the peers'.
        zero = (0,) * len(ATTRS)
        agree = {name: all(sums[name].get(k, zero) == sums[ref_name].get(k, zero)
                           for k in set(sums[name]) | set(sums[ref_name])) for name in sums}
        base = None
        for name, _, _ in plan:
            walls = [w for w, _ in runs[name]]
            med = statistics.median(walls)
            base = base or med
            print(f"  {name:22s} wall {med:8.3f} s (runs {', '.join(f'{w:.3f}' for w in walls)})"
                  f"  peak RSS {max(r for _, r in runs[name]):7.0f} MB  x{med / base:5.1f}"
                  f"  sums identical to {ref_name}: {agree[name]}")
        k = detail.get("kleinraum aggregate", "")
        for line in k.splitlines():
            if line.startswith(("  stage", "    load", "timing")):
                print("    " + line.strip())
        for name in plan:
            if not name[0].startswith("kleinraum") and name[0] in detail:
                print(f"    {name[0]} phases: {detail[name[0]].strip()}")


if __name__ == "__main__":
    main()
