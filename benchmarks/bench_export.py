"""Export throughput of the real mission scene at 720p, 1080p and 4K (one run; prints medians and totals).

For each scene and size, over the same ETs (anti-aliasing off, mesh detail "auto"):

- render-only: the scene's frames rendered and read back, no overlays, nothing encoded (the floor);
- encode-only: the same frames, kept in RAM, piped to ffmpeg (libx264, the exporter's default preset, CRF 20, yuv420p);
- pipeline: ``viewer.export.video.export`` - rendering overlapped with encoding through the writer thread;
- open_movie: pyvista's ``Plotter.open_movie`` + ``write_frame`` loop with the same encoder settings (imageio's
  quality 6 is CRF 20; the same preset; macro_block_size 8 so nothing is rescaled), no overlays;
- pipeline with the overlays burnt in on the main thread instead of the writer thread;
- pipeline with ``-threads 1`` for x264, to see whether giving ffmpeg both cores helps.

Dome and 360° (``--panorama``): the real export job (``viewer.export.render_job.run``: scene, auto camera,
captions in the viewing band, ffmpeg, and for 360° the spherical metadata) of the landing (powered descent), 10 s
at 30 frames/s: a 2048² fisheye dome master and a 4096 × 2048 equirectangular clip; frames/s, render ms a frame
(inside the panoramic pass), file size. ``--runs 2`` gives the median of two runs.

Usage: ``python benchmarks/bench_export.py [--sizes 1280x720,1920x1080,3840x2160] [--frames 60]``,
``python benchmarks/bench_export.py --panorama [--runs 2] [--seconds 10]``. Record the figures in docs/export.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np  # noqa: E402

from viewer import kernels  # noqa: E402
from viewer.export import camera_paths as cp  # noqa: E402
from viewer.export.ffmpeg import DEFAULT_PRESET, probe  # noqa: E402
from viewer.export.overlays import Overlays, content_from_mission  # noqa: E402
from viewer.export.scene_source import SceneSource  # noqa: E402
from viewer.export.video import FfmpegSink, export, frame_ets  # noqa: E402
from viewer.mission import load_mission  # noqa: E402

# name: (phase, view, camera, speed in mission s per video s)
SCENES = {
    "lunar": ("lunar_orbit", "lunar", "follow:CHANGE6_ORBITER", 600.0),  # Moon globe, orbiter, trails, Earth
    "site": ("powered_descent", "site", "follow:CHANGE6_LANDER", 30.0),  # site terrain patch, lander
    "ref": ("lunar_orbit", None, None, 600.0),  # ReferenceSource: a plain textured globe, for the pipeline alone
}
FPS = 30


class ReferenceSource:
    """A reference scene (the 99k-triangle textured LOLA Moon globe, a moving spacecraft cube and a turning camera,
    no AA) as a frame source: separates the pipeline's cost from the mission scene's."""

    def __init__(self, size, ets):
        import pyvista as pv

        from viewer.terrain import meshes, textures

        pv.global_theme.multi_samples = 0
        self.size = size
        self.scene = None
        self.p = pv.Plotter(off_screen=True, window_size=list(size))
        self.p.add_mesh(
            meshes.globe_mesh("browser"), texture=pv.Texture(textures.texture_image("moon")), smooth_shading=True
        )
        self.craft = self.p.add_mesh(pv.Cube(x_length=150, y_length=150, z_length=150), color="red")
        self.p.camera.position = (0, -9000, 3000)
        self.p.camera.focal_point = (0, 0, 0)
        self.et0 = float(ets[0])

    def render_frame(self, et):
        a = (et - self.et0) / 7200.0 * 2 * np.pi
        self.craft.position = (2000 * np.cos(a), 2000 * np.sin(a), 0)
        self.p.camera.azimuth = np.degrees(a) / 10
        self.p.render()
        return self.p.screenshot(return_img=True)[..., :3]

    def close(self):
        self.p.close()


def make_source(size, ets, view, camera, speed):
    if view is None:
        return ReferenceSource(size, ets)
    seg = [cp.Segment(float(ets[0]), float(ets[-1]) + 1, view, camera)]
    return SceneSource(size, seg, ets=ets, speed=speed)


def bench_size(scene: str, size, n_frames: int, tmp: Path) -> dict:
    mission = load_mission()
    phase_id, view, camera, speed = SCENES[scene]
    phase = mission.item(phase_id)
    ets = frame_ets(phase.start_et, phase.end_et, FPS, speed=speed)[:n_frames]
    overlays = Overlays(size, content_from_mission(mission, "en"))
    out: dict = {"scene": scene, "size": f"{size[0]}x{size[1]}", "frames": len(ets), "load": os.getloadavg()[0]}

    src = make_source(size, ets, view, camera, speed)
    t0 = time.perf_counter()
    src.render_frame(float(ets[0]))
    out["first_frame_s"] = time.perf_counter() - t0

    # render-only: the scene's frames, read back, nothing else (keep them, with overlays, for encode-only)
    frames, per = [], []
    for i, et in enumerate(ets):
        a = time.perf_counter()
        frame = src.render_frame(float(et))
        per.append(time.perf_counter() - a)
        frames.append(overlays(np.array(frame), float(et), i))
    out["render_s"] = sum(per)
    out["render_ms_median"] = 1000 * statistics.median(per)

    # encode-only
    target = tmp / f"enc_{out['size']}.mp4"
    t0 = time.perf_counter()
    with FfmpegSink(target, size, FPS, force=True) as sink:
        for f in frames:
            sink.write(f)
        sink.commit()
    out["encode_s"] = time.perf_counter() - t0
    del frames

    # pipeline (overlays in the writer thread, x264 threads auto), then the variants
    for label, threads, in_writer in (
        ("pipeline", None, True),
        ("pipeline_overlay_main", None, False),
        ("pipeline_x264_1thread", 1, True),
    ):
        target = tmp / f"{label}_{out['size']}.mp4"
        res = export(
            src, ets, target, fps=FPS, overlay=overlays, force=True, threads=threads, overlay_in_writer=in_writer
        )
        out[f"{label}_s"] = res.seconds
        out[f"{label}_blocked_s"] = res.sink.blocked_s
        out[f"{label}_drain_s"] = res.sink.drain_s
        if label == "pipeline":
            info = probe(target)
            assert info["frames"] == len(ets) and info["size"] == tuple(size), info

    # plain open_movie / write_frame (the same frames: the source draws, write_frame renders and encodes)
    target = tmp / f"movie_{out['size']}.mp4"
    plotter = src.scene.plotter if src.scene is not None else src.p
    t0 = time.perf_counter()
    plotter.open_movie(
        str(target), framerate=FPS, quality=6, macro_block_size=8, ffmpeg_params=["-preset", DEFAULT_PRESET]
    )
    for et in ets:
        if src.scene is not None:
            src.scene.update(float(et))
            src.scene.reset_camera()
            src._apply(src._path.pose(float(et), src._base_pose()))
        else:
            src.render_frame(float(et))
        plotter.write_frame()
    plotter.mwriter.close()
    out["open_movie_s"] = time.perf_counter() - t0
    src.close()
    return out


def ab(scene: str, size, n_frames: int, reps: int, tmp: Path) -> dict:
    """Interleaved A/B/C runs (default pipeline, overlays on the main thread, x264 -threads 1), so that the
    machine's drifting load hits each variant alike; returns the median fps of each."""
    mission = load_mission()
    phase_id, view, camera, speed = SCENES[scene]
    phase = mission.item(phase_id)
    ets = frame_ets(phase.start_et, phase.end_et, FPS, speed=speed)[:n_frames]
    overlays = Overlays(size, content_from_mission(mission, "en"))
    src = make_source(size, ets, view, camera, speed)
    src.render_frame(float(ets[0]))
    variants = {"default": (None, True), "overlays_main": (None, False), "x264_1thread": (1, True)}
    fps: dict[str, list[float]] = {k: [] for k in variants}
    render: list[float] = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for et in ets:
            src.render_frame(float(et))
        render.append(len(ets) / (time.perf_counter() - t0))
        for name, (threads, in_writer) in variants.items():
            res = export(
                src,
                ets,
                tmp / f"ab_{name}.mp4",
                fps=FPS,
                overlay=overlays,
                force=True,
                threads=threads,
                overlay_in_writer=in_writer,
            )
            fps[name].append(res.fps)
    src.close()
    out = {k: statistics.median(v) for k, v in fps.items()}
    out["render_only"] = statistics.median(render)
    return out


PANORAMAS = {  # name: (projection, size)
    "dome": ("fisheye", (2048, 2048)),
    "360": ("equirect", (4096, 2048)),
}


def bench_panorama(name: str, seconds: float, tmp: Path) -> dict:
    """One real export job of the landing as a dome master or a 360° clip; wall-clock figures."""
    from viewer.export import render_job
    from viewer.export.panorama import make_projection

    kind, size = PANORAMAS[name]
    phase = load_mission().item("powered_descent")
    target = tmp / f"{name}.mp4"
    spec = render_job.JobSpec(
        phase.start_et,
        phase.end_et,
        size,
        fps=FPS,
        duration=seconds,
        phase=phase.id,
        credits_s=0.0,
        output=target,
        force=True,
        projection=make_projection(kind),
    )
    load = os.getloadavg()[0]
    res = render_job.run(spec, progress_fmt="none")
    info = probe(target)
    assert info["frames"] == res.frames and info["size"] == size, info
    return {
        "name": name,
        "size": f"{size[0]}x{size[1]}",
        "frames": res.frames,
        "fps": res.fps,
        "render_ms": 1000 * res.render_s / res.frames,
        "mb": target.stat().st_size / 1e6,
        "load": load,
    }


def panorama_main(runs: int, seconds: float) -> int:
    rows: dict[str, list[dict]] = {name: [] for name in PANORAMAS}
    with tempfile.TemporaryDirectory(prefix="bench_export_") as d:
        for _ in range(runs):
            for name in PANORAMAS:
                r = bench_panorama(name, seconds, Path(d))
                rows[name].append(r)
                print(r, file=sys.stderr, flush=True)
    print(f"machine: {os.cpu_count()} CPUs; medians of {runs} run(s); the landing, {seconds:g} s at {FPS} frames/s")
    print(f"{'clip':>6} {'size':>10} {'frames':>6} {'frames/s':>9} {'render ms':>10} {'MB':>6} {'load':>5}")
    for name, rs in rows.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("fps", "render_ms", "mb", "load")}
        print(
            f"{name:>6} {rs[0]['size']:>10} {rs[0]['frames']:>6} {med['fps']:>9.2f} {med['render_ms']:>10.0f} "
            f"{med['mb']:>6.1f} {med['load']:>5.1f}   runs: " + ", ".join(f"{r['fps']:.2f}" for r in rs)
        )
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1280x720,1920x1080,3840x2160")
    ap.add_argument("--frames", type=int, default=60, help="frames per size (4K uses a third)")
    ap.add_argument("--scenes", default="ref,lunar,site", help=f"some of {', '.join(SCENES)}")
    ap.add_argument("--ab", type=int, metavar="REPS", help="only the interleaved A/B/C comparison, REPS rounds")
    ap.add_argument("--panorama", action="store_true", help="only the dome master and 360° clips of the landing")
    ap.add_argument("--runs", type=int, default=1, help="--panorama: runs (the table shows medians)")
    ap.add_argument("--seconds", type=float, default=10.0, help="--panorama: clip length (default 10 s)")
    args = ap.parse_args(argv)
    kernels.furnish()
    if args.panorama:
        return panorama_main(args.runs, args.seconds)
    if args.ab:
        print(f"interleaved, {args.ab} rounds, median frames/s; load {os.getloadavg()[0]:.1f}")
        with tempfile.TemporaryDirectory(prefix="bench_export_") as d:
            for scene in args.scenes.split(","):
                for s in args.sizes.split(","):
                    w, h = (int(v) for v in s.split("x"))
                    r = ab(scene, (w, h), args.frames, args.ab, Path(d))
                    print(f"{scene:>6} {s:>10} " + "  ".join(f"{k} {v:.2f}" for k, v in r.items()), flush=True)
        print(f"load at the end {os.getloadavg()[0]:.1f}")
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_export_") as d:
        for scene in args.scenes.split(","):
            for s in args.sizes.split(","):
                w, h = (int(v) for v in s.split("x"))
                n = args.frames if w * h <= 1920 * 1080 else max(10, args.frames // 3)
                r = bench_size(scene, (w, h), n, Path(d))
                rows.append(r)
                print(r, file=sys.stderr)
    print(
        f"machine: {os.cpu_count()} CPUs; fps = frames / wall seconds; ratio = pipeline / render-only; "
        "load = 1-min load average at the start of the row"
    )
    print(
        f"{'scene':>6} {'size':>10} {'frames':>6} {'render-only':>12} {'encode-only':>12} {'pipeline':>10} "
        f"{'ratio':>6} {'ovl main':>9} {'x264 1 thr':>11} {'open_movie':>11} {'ms/frame':>9} {'load':>5}"
    )
    for r in rows:
        n = r["frames"]
        print(
            f"{r['scene']:>6} {r['size']:>10} {n:>6} {n / r['render_s']:>10.1f}/s {n / r['encode_s']:>10.1f}/s "
            f"{n / r['pipeline_s']:>8.1f}/s {r['pipeline_s'] / r['render_s']:>6.2f} "
            f"{n / r['pipeline_overlay_main_s']:>7.1f}/s {n / r['pipeline_x264_1thread_s']:>9.1f}/s "
            f"{n / r['open_movie_s']:>9.1f}/s "
            f"{r['render_ms_median']:>9.1f} {r['load']:>5.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
