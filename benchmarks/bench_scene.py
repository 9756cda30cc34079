"""Benchmark of the mission scene: offscreen frames per view (AA off and on), browser tracks, ``update(et)``.

Run: ``python benchmarks/bench_scene.py [--size 1920x1080] [--frames 10]``. Prints medians; asserts nothing.
Targets (issue 7): AA off ≥ 15 fps at 1080p; sampling every track of a view ≤ 1 s; ``update(et)`` ≤ 5 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

VIEWS = ("system", "lunar", "site", "return", "follow")
# a representative time per view (mission event id, offset s); the first one the kernels cover is used
WHEN = {
    "system": [("loi", -86400.0)],
    "lunar": [("loi", 3600.0)],
    "site": [("touchdown", 600.0), ("descent_start", 300.0), ("loi", 0.0)],
    "return": [("entry_interface", 0.0), ("launch", 3600.0)],
    "follow": [("loi", 3600.0)],
}


def _median_ms(fn, n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000.0)
    return statistics.median(times)


def _stepper(fn, et: float, step_s: float):
    """A call of ``fn`` at ``et``, ``et + step_s``, … (one step further each call)."""
    k = iter(range(10**6))
    return lambda: fn(et + step_s * next(k))


def _when(view: str, events: dict) -> float | None:
    from viewer.scene.kinematics import coverage

    cov = coverage("CHANGE6_ORBITER")
    for ev, off in WHEN[view]:
        et = events[ev] + off
        if cov and cov[0] <= et <= cov[1]:
            return et
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--views", default=",".join(VIEWS), help="some of " + ", ".join(VIEWS))
    args = parser.parse_args()
    views = [v for v in args.views.split(",") if v]
    w, h = (int(x) for x in args.size.split("x"))

    from viewer import kernels
    from viewer.mission import load_mission
    from viewer.scene.scene import MissionScene

    kernels.furnish()
    events = {e.id: e.et for e in load_mission().events}
    t = time.perf_counter()
    scene = MissionScene("system", window_size=(w, h))
    print(f"scene build (export meshes, {w}x{h}): {time.perf_counter() - t:.2f} s")
    print(f"\n{'view':<8} {'AA off ms':>10} {'fps':>6} {'AA on ms':>10} {'fps':>6} {'update ms':>10}")
    for view in views:
        et = _when(view, events)
        if et is None:
            print(f"{view:<8} (the kernels cover no representative time)")
            continue
        scene.set_quality("fast")
        scene.set_view(view, et=et)
        scene.screenshot()  # first frame: shader compilation
        off = _median_ms(_stepper(scene.render_frame, et, 60.0), args.frames)
        upd = _median_ms(_stepper(scene.update, et, 1.0), 200)
        scene.set_quality("still")
        scene.set_view(view, et=et)
        scene.screenshot()
        on = _median_ms(_stepper(scene.render_frame, et, 60.0), max(3, args.frames // 3))
        print(f"{view:<8} {off:>10.1f} {1000 / off:>6.1f} {on:>10.1f} {1000 / on:>6.1f} {upd:>10.2f}")
    scene.close()

    import json

    web = MissionScene("system", web=True, window_size=(640, 360))
    print(f"\n{'view':<8} {'tracks s':>9} {'JSON KB':>8}  (web scene; trails cached)")
    for view in views:
        et = _when(view, events)
        web.set_view(view, et=et)
        web.export_tracks()  # warms the trail polylines, which the scene builds once per view anyway
        ms = _median_ms(web.export_tracks, 3)
        size = len(json.dumps(web.export_tracks())) / 1024
        print(f"{view:<8} {ms / 1000:>9.2f} {size:>8.0f}")
    tris = sum(
        a.GetMapper().GetInput().GetNumberOfCells()
        for n, a in web.actors.items()
        if hasattr(a, "GetMapper") and a.GetMapper() and not n.startswith(("trail", "link:", "stars"))
    )
    print(f"\nweb scene meshes: {tris:,} cells")
    web.close()


if __name__ == "__main__":
    main()
