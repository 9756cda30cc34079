"""Relay-link benchmark: the window search over the whole mission, link_states for 10,000 epochs, the horizon,
the relay chain sampled over the mission. Prints medians.

Goals: window search over the whole mission (every link, each vehicle's full SPK coverage) ≤ 10 s;
``link_states`` for 10,000 epochs well under 1 s. The search runs without the disk cache; a cached load is timed
too. Needs the mission kernels (``python -m viewer kernels build``).

    PYTHONPATH=. python benchmarks/bench_links.py [--runs 3]

(``PYTHONPATH=.`` makes the script import this checkout's ``viewer``, not an installed one.) Dated figures are in
``docs/links.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    from viewer import kernels, links, paths
    from viewer.links.horizon import compute_horizon
    from viewer.mission import landing_site, load_mission
    from viewer.terrain import select_dem

    if not sorted(paths.KERNELS_DIR.glob("change6_*.bsp")):
        print("mission kernels are not built; run `python -m viewer kernels build` first", file=sys.stderr)
        return 2
    kernels.furnish()
    mission = load_mission()
    stations = links.mission_stations(mission)
    dem = select_dem()
    lat, lon = landing_site()

    t_h = []
    for _ in range(args.runs):
        t = time.perf_counter()
        horizon = compute_horizon(dem, lat, lon)
        t_h.append(time.perf_counter() - t)

    t_search, model = [], None
    for _ in range(args.runs):
        t = time.perf_counter()
        model = links.RelayModel(stations, horizon, cache=False)
        model.all_windows()
        t_search.append(time.perf_counter() - t)

    cached = links.RelayModel(stations, horizon)
    cached.all_windows()  # writes the cache if needed
    t_cached = []
    for _ in range(args.runs):
        t = time.perf_counter()
        again = links.RelayModel(stations, horizon)
        again.all_windows()
        t_cached.append(time.perf_counter() - t)

    span = [c for lid in model.links for c in model.coverage(lid)]
    ets = np.linspace(min(a for a, _ in span), max(b for _, b in span), 10_000)
    t_states = []
    for _ in range(max(args.runs, 5)):
        t = time.perf_counter()
        model.link_states(ets)
        t_states.append(time.perf_counter() - t)
    t_vis = []
    for _ in range(args.runs):
        t = time.perf_counter()
        for lid in model.links:
            model.visibility(lid, ets)
        t_vis.append(time.perf_counter() - t)

    from viewer.links.chain import chain_samples, source_windows

    sources = source_windows(mission)
    chain_ets = np.arange(ets[0], ets[-1], 600.0)
    t_chain = []
    for _ in range(args.runs):
        t = time.perf_counter()
        chain_samples(chain_ets, model, sources)
        t_chain.append(time.perf_counter() - t)

    n_windows = sum(len(model.windows(l)) for l in model.links)
    print(f"links: {len(model.links)} ({n_windows} windows); grid {model.step_s:g} s, edges to {model.tolerance_s:g} s")
    print(
        f"horizon profile from {horizon.source} (360 azimuths × {int(horizon.max_range_km / horizon.step_km)} steps): "
        f"median {statistics.median(t_h):.3f} s"
    )
    print(
        f"window search, whole mission, no cache: median {statistics.median(t_search):.2f} s "
        f"(runs: {', '.join(f'{x:.2f}' for x in t_search)}) [goal ≤ 10 s]"
    )
    print(f"windows from the disk cache (new model): median {statistics.median(t_cached) * 1000:.1f} ms")
    print(
        f"link_states, 10,000 epochs, {len(model.links)} links: median {statistics.median(t_states) * 1000:.2f} ms "
        "[goal well under 1 s]"
    )
    print(f"visibility from geometry, 10,000 epochs, every link: median {statistics.median(t_vis):.2f} s")
    print(
        f"relay chain samples, whole span at 600 s ({len(chain_ets)} epochs): "
        f"median {statistics.median(t_chain) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
