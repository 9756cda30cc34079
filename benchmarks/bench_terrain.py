"""Terrain benchmark: mesh builds cold and cached, peak memory, and the browser payload. Prints medians.

Goals (issue 6): globe + site meshes ≤ 20 s cold and ≤ 1 s cached; peak RSS ≤ 2 GB even with LDEM_64 as input.
LDEM_64 is stood in for by a SPARSE 23040×11520 int16 IMG (530 MB apparent size, ~nothing on disk) with a matching
label in a temp dir. Each run is a fresh subprocess with an empty mesh cache; peak RSS is that process's ru_maxrss.

    /work/venv/bin/python benchmarks/bench_terrain.py [--runs 3]
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
sys.path.insert(0, str(REPO / "tests"))

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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
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
