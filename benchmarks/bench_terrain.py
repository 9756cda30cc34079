"""Terrain benchmark: mesh builds cold and cached, peak memory, the browser payload, and the site window fetch.
Prints medians.

Goals (issue 6): globe + site meshes ≤ 20 s cold and ≤ 1 s cached; peak RSS ≤ 2 GB even with LDEM_64 as input.
LDEM_64 is stood in for by a SPARSE 23040×11520 int16 IMG (530 MB apparent size, ~nothing on disk) with a matching
label in a temp dir. Each run is a fresh subprocess with an empty mesh cache; peak RSS is that process's ru_maxrss.

    /work/venv/bin/python benchmarks/bench_terrain.py [--runs 3] [--site-only]

The site window case serves a volume shaped like the real archive from 127.0.0.1 (tests/lola_server.py): a sparse
LDEM_512_45S_00S_180_270 tile (23040 × 46080, 2.1 GB apparent) and a sparse global LDEM_64 (530 MB), with their
labels and a volume index among 30,000 RDR rows; it fetches the default 60 km window and the 320 km context
(bytes, requests, seconds, also with 30 ms added to every answer), then times the terrain horizon (360 azimuths,
150 km) and the site patch from the result.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # this checkout's viewer/ and test helpers

CHILD = r"""
import json, resource, sys, time
from viewer.terrain import meshes, select_dem

def build():
    dem = select_dem()
    out = {}
    for name, fn in (("globe_browser", lambda: meshes.globe_data("browser", dem=dem)),
                     ("globe_export", lambda: meshes.globe_data("export", dem=dem)),
                     ("site_browser", lambda: meshes.site_data("browser", dem=dem)),
                     ("site_export", lambda: meshes.site_data("export", dem=dem)),
                     ("earth_browser", lambda: meshes.earth_data("browser"))):
        t = time.perf_counter(); m = fn(); out[name] = time.perf_counter() - t
        out[name + "_bytes"] = m.payload_bytes()
    out["source"] = dem.source_label
    return out

t0 = time.perf_counter(); cold = build(); cold_s = time.perf_counter() - t0
t0 = time.perf_counter(); cached = build(); cached_s = time.perf_counter() - t0
print(json.dumps({"cold_s": cold_s, "cached_s": cached_s, "cold": cold, "cached": cached,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_case(name: str, dem_path: str | None, runs: int) -> dict:
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, VIEWER_CACHE_DIR=cache)
            env.pop("VIEWER_DEM", None)
            if dem_path:
                env["VIEWER_DEM"] = dem_path
            out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=600)
            if out.returncode:
                raise SystemExit(f"{name}: child failed:\n{out.stderr}")
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = lambda key: statistics.median(r[key] for r in results)  # noqa: E731
    parts = {
        k: statistics.median(r["cold"][k] for r in results)
        for k in results[0]["cold"]
        if not k.endswith("_bytes") and k != "source"
    }
    print(
        f"{name:<22} source={results[0]['cold']['source']!r:<24} cold {med('cold_s'):6.2f} s   cached "
        f"{med('cached_s'):5.3f} s   peak RSS {med('peak_rss_mb'):6.0f} MB   (median of {runs})"
    )
    print("    cold parts (s): " + ", ".join(f"{k} {v:.2f}" for k, v in parts.items()))
    return results[0]


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


def _fine_alone(site, stats: dict) -> float:
    """Seconds to fetch the 60 km site window again on its own (its labels read again; the index is cached)."""
    import time

    for ext in ("img", "lbl"):
        (site.site_dir() / f"fine.{ext}").unlink()
    stats.clear()
    t = time.perf_counter()
    site.fetch_windows(site.plan(60, stats=stats)[:1], 60, progress=False, stats=stats)
    seconds = time.perf_counter() - t
    site.fetch_site(60, progress=False)  # the context window again (a fetch of the site window alone drops it)
    return seconds


def site_case(runs: int) -> None:
    import numpy as np
    from lola_server import RangeServer
    from lola_synthetic import GDR_DIR, index, label

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        dn = np.array([-18000, 21000])
        tile = "LDEM_512_45S_00S_180_270"
        routes = {
            f"{GDR_DIR}{tile.lower()}.lbl": label(tile, 23040, 46080, 512, 0.0, 180.0, dn),
            f"{GDR_DIR}{tile.lower()}.img": _sparse(tmp / "tile.img", 23040 * 46080 * 2),
            f"{GDR_DIR}ldem_64.lbl": label("LDEM_64", 11520, 23040, 64, 90.0, 0.0, dn),
            f"{GDR_DIR}ldem_64.img": _sparse(tmp / "ldem_64.img", 11520 * 23040 * 2),
        }
        specs = [f"DATA/LOLA_GDR/CYLINDRICAL/IMG/{n}.LBL" for n in (tile, "LDEM_64")]
        routes["index/rdrindex.lbl"], routes["index/rdrindex.tab"] = index(specs)
        srv = RangeServer(routes)
        os.environ["VIEWER_LOLA_VOLUME_URL"] = srv.url
        os.environ.pop("VIEWER_DEM", None)
        import time

        from viewer.terrain import site

        for delay in (0.0, 0.03):
            srv.delay_s = delay
            times, index_times, stats, idx, fine_times, fine_stats = [], [], {}, {}, [], {}
            for _ in range(runs):
                os.environ["VIEWER_CACHE_DIR"] = str(tmp / f"cache-{len(times)}-{delay}")
                stats, idx = {}, {}
                t = time.perf_counter()
                site.archive.products(stats=idx)  # the archive's index, read once per cache
                index_times.append(time.perf_counter() - t)
                t = time.perf_counter()
                site.fetch_site(60, progress=False, stats=stats)
                times.append(time.perf_counter() - t)
                fine_times.append(_fine_alone(site, fine_stats))
            print(
                f"site windows (60 km + 320 km context, {delay * 1000:.0f} ms per answer): "
                f"{stats['bytes'] / 1e6:.2f} MB in {stats['requests']} requests, "
                f"{statistics.median(times):.2f} s; the index before them (once): {idx['bytes'] / 1e6:.2f} MB in "
                f"{idx['requests']} requests, {statistics.median(index_times):.2f} s (medians of {runs})"
            )
            print(
                f"    the 60 km site window alone, its labels included: {fine_stats['bytes'] / 1e6:.2f} MB in "
                f"{fine_stats['requests']} requests, {statistics.median(fine_times):.2f} s (median of {runs})"
            )
            for role in site.ROLES:
                dem = site.LolaDem.open(site.site_dir() / f"{role}.img")
                print(
                    f"    {role}: {dem.grid.lines} × {dem.grid.samples} px = {dem.path.stat().st_size / 1e6:.2f} MB, "
                    f"{site.resolution_label(dem)}"
                )
        srv.close()
        from viewer.links.horizon import compute_horizon
        from viewer.mission import landing_site
        from viewer.terrain import meshes, select_dem

        dem = select_dem()
        lat, lon = landing_site()
        t = time.perf_counter()
        compute_horizon(dem, lat, lon)
        print(f"terrain horizon from {dem.source_label} (360 az, 150 km): {time.perf_counter() - t:.2f} s")
        for lod in ("browser", "export"):
            t = time.perf_counter()
            m = meshes.site_data(lod, dem=dem, use_cache=False)
            print(
                f"site patch {lod}: {len(m.faces):,} triangles, {m.payload_bytes() / 1e6:.2f} MB, "
                f"built in {time.perf_counter() - t:.2f} s from {m.meta['source_label']}"
            )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--site-only", action="store_true", help="only the site window case")
    args = parser.parse_args()
    if args.site_only:
        site_case(args.runs)
        return 0
    from test_terrain_lola import make_sparse_ldem64

    from viewer.paths import shared_dir
    from viewer.terrain import textures

    first = run_case("illustrative relief", None, args.runs)
    shared = shared_dir()
    ldem4 = shared / "data" / "lola" / "LDEM_4.IMG" if shared else None
    if ldem4 and ldem4.exists():
        run_case("LOLA LDEM_4", str(ldem4), args.runs)
    else:
        print("LOLA LDEM_4: skipped (../shared absent)")
    with tempfile.TemporaryDirectory() as tmp:
        img = make_sparse_ldem64(Path(tmp))
        print(
            f"sparse LDEM_64 stand-in: {img.stat().st_size / 1e6:.0f} MB apparent, "
            f"{os.stat(img).st_blocks * 512 / 1e6:.2f} MB on disk"
        )
        run_case("LDEM_64 (sparse)", str(img), args.runs)

    site_case(args.runs)
    moon_jpg, earth_jpg = len(textures.jpeg_bytes("moon")), len(textures.jpeg_bytes("earth"))
    c = first["cold"]
    geometry = c["globe_browser_bytes"] + c["site_browser_bytes"] + c["earth_browser_bytes"]
    print("browser first payload (float32 points + int32 faces + float32 tcoords; JPEG textures):")
    print(
        f"    globe {c['globe_browser_bytes'] / 1e6:.2f} MB, site {c['site_browser_bytes'] / 1e6:.2f} MB, "
        f"earth {c['earth_browser_bytes'] / 1e6:.2f} MB, Moon.jpg {moon_jpg / 1e6:.2f} MB, Earth.jpg "
        f"{earth_jpg / 1e6:.2f} MB -> total {(geometry + moon_jpg + earth_jpg) / 1e6:.2f} MB (budget 5 MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
