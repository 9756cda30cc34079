"""One video export of the mission scene, from checked inputs to the finished file.

:class:`JobSpec` holds every choice, checked before anything heavy starts (each mistake is one line).
:func:`run` builds the offscreen :class:`~viewer.scene.MissionScene` through :class:`SceneSource` (the adapter
that turns the scene into the pipeline's ``render_frame(et)`` frame source, with the camera paths of
:mod:`viewer.export.camera_paths`), burns in the overlays and hands the frames to :func:`viewer.export.video.export`.
With ``--projection fisheye|equirect`` the source is :class:`~viewer.export.panorama_source.PanoramaSource` (a dome
master or a 360° frame of the same scene and camera plan), the overlays sit in the viewing band
(:mod:`viewer.export.dome_overlays`) and a 360° MP4 gets its spherical metadata (:mod:`viewer.export.spherical`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from viewer.epochs import et_from_utc
from viewer.errors import InputError, shown
from viewer.export import camera_paths as cp
from viewer.export.ffmpeg import ffmpeg_command
from viewer.export.panorama import Projection, make_projection, parse_panorama_size
from viewer.export.progress import Progress
from viewer.export.spherical import add_equirect_metadata
from viewer.export.video import (
    DEFAULT_CRF,
    DEFAULT_PRESET,
    MAX_LONG_SIDE,
    MAX_SHORT_SIDE,
    ExportResult,
    check_fps,
    export,
    frame_ets,
    parse_size,
    prepare_target,
)

DEFAULT_SIZE = "1920x1080"


@dataclass(frozen=True)
class JobSpec:
    start_et: float
    end_et: float
    size: tuple[int, int]
    fps: float = 30.0
    speed: float | None = None
    duration: float | None = None
    phase: str | None = None
    view: str | None = None
    camera: str = "story"
    captions: str | None = "en"  # en / zh / None
    credits_s: float = 4.0
    aa: bool = False
    detail: str = "auto"
    output: Path | None = None
    kind: str = "mp4"  # mp4 / png
    crf: int = DEFAULT_CRF
    preset: str = DEFAULT_PRESET
    force: bool = False
    projection: Projection = field(default_factory=Projection)

    def ets(self) -> np.ndarray:
        return frame_ets(self.start_et, self.end_et, self.fps, speed=self.speed, duration=self.duration)

    def credit_frames(self) -> int:
        if self.projection.panoramic and self.captions is None:
            return 0  # a clean dome or 360° master: nothing burnt in
        return int(round(self.credits_s * self.fps))

    @classmethod
    def from_args(cls, args) -> JobSpec:
        """Check the CLI's arguments in order of cost; the first mistake raises a one-line InputError."""
        projection = make_projection(args.projection, fov=args.fov, tilt=args.dome_tilt)
        if projection.panoramic:
            size = parse_panorama_size(args.size, projection)
        else:
            size = parse_size(args.size or DEFAULT_SIZE)
        fps = check_fps(args.fps)
        if bool(args.output) == bool(args.png_dir):
            raise InputError("give an output .mp4 file or --png-dir DIR (exactly one)")
        kind = "png" if args.png_dir else "mp4"
        output = prepare_target(Path(args.png_dir or args.output), force=args.force, is_dir=kind == "png")
        if not (0 <= args.credits <= 60):
            raise InputError(f"--credits {args.credits:g} is out of range; choose 0 … 60 seconds")
        cp.parse_spec(args.camera)
        from viewer.export.scene_source import mesh_lod

        mesh_lod(args.detail, size)
        captions = None if args.captions == "none" else args.captions
        if captions == "zh":
            from viewer.export.overlays import font_files

            font_files("zh")
        if args.view is not None:
            from viewer.scene.views import get_view

            get_view(args.view)
        from viewer.mission import load_mission

        start, end, phase = resolve_range(load_mission(), phase=args.phase, from_utc=args.from_utc, to_utc=args.to_utc)
        if phase is None and not args.phase:  # a free range must lie inside the mission kernels
            from viewer.export.screenshot import check_time

            check_time(start)
            check_time(end)
        spec = cls(
            start_et=start,
            end_et=end,
            size=size,
            fps=fps,
            speed=args.speed,
            duration=args.duration,
            phase=phase,
            view=args.view,
            camera=args.camera,
            captions=captions,
            credits_s=args.credits,
            aa=args.aa,
            detail=args.detail,
            output=output,
            kind=kind,
            crf=args.crf,
            preset=args.preset,
            force=args.force,
            projection=projection,
        )
        spec.ets()  # checks --speed/--duration
        ffmpeg_command(size, fps, "x.mp4", kind=kind, crf=args.crf, preset=args.preset)  # checks crf/preset
        return spec


def resolve_range(
    mission, *, phase: str | None, from_utc: str | None, to_utc: str | None
) -> tuple[float, float, str | None]:
    """(start_et, end_et, phase id or None) from a phase or chapter id or a UTC range (--phase or --from/--to)."""
    if phase and (from_utc or to_utc):
        raise InputError("give either --phase or --from/--to, not both")
    if phase:
        ids = [p.id for p in mission.phases]
        chapters = [c.id for c in mission.chapters]
        if phase in chapters and phase not in ids:  # a chapter runs to the next chapter's start
            i = chapters.index(phase)
            end = mission.chapters[i + 1].start_et if i + 1 < len(chapters) else max(p.end_et for p in mission.phases)
            return mission.chapters[i].start_et, end, None
        if phase not in ids:
            raise InputError(
                f"unknown phase {shown(phase)}; choose one of: {', '.join(ids)} (or a chapter: {', '.join(chapters)})"
            )
        item = mission.item(phase)
        return item.start_et, item.end_et, item.id
    if not (from_utc and to_utc):
        raise InputError("give a time range: --phase ID, or both --from UTC and --to UTC")
    t0, t1 = et_from_utc(from_utc), et_from_utc(to_utc)
    if t1 <= t0:
        raise InputError(f"--to {to_utc} is not after --from {from_utc}")
    return t0, t1, None


def segments_for(spec: JobSpec, mission) -> list[cp.Segment]:
    bounds = [t for p in mission.phases for t in (p.start_et, p.end_et)]
    return cp.plan(
        spec.start_et, spec.end_et, view=spec.view, camera=spec.camera, phase_at=mission.phase_at, phase_bounds=bounds
    )


def make_source(spec: JobSpec, mission, ets: np.ndarray):
    """The frame source of ``spec``: the mission scene, flat or through the panoramic projection."""
    kwargs = dict(
        ets=ets,
        aa=spec.aa,
        detail=spec.detail,
        lang=spec.captions or "en",
        speed=(spec.end_et - spec.start_et) / max(1e-9, len(ets) / spec.fps),
    )
    if spec.projection.panoramic:
        from viewer.export.panorama_source import PanoramaSource

        return PanoramaSource(spec.size, segments_for(spec, mission), spec.projection, **kwargs)
    from viewer.export.scene_source import SceneSource

    return SceneSource(spec.size, segments_for(spec, mission), **kwargs)


def make_overlays(spec: JobSpec, content, source=None):
    """Title, clock and caption for the frame: flat, or in a dome's or headset's viewing band (None: a clean
    panoramic master, nothing burnt in)."""
    if not spec.projection.panoramic:
        from viewer.export.overlays import Overlays

        return Overlays(spec.size, content)
    if spec.captions is None:
        return None
    from viewer.export.dome_overlays import DomeOverlays

    return DomeOverlays(
        spec.size,
        content,
        spec.projection,
        notes=getattr(source, "notes_at", None),
        labels=getattr(source, "labels_at", None),
    )


def run(spec: JobSpec, *, progress_fmt: str = "auto", source=None) -> ExportResult:
    """Render and encode the clip of ``spec``; returns the result (path, frames, timings)."""
    from viewer.export.overlays import content_from_mission, phases_between
    from viewer.mission import load_mission

    mission = load_mission()
    ets = spec.ets()
    content = content_from_mission(mission, spec.captions)
    if source is None:
        source = make_source(spec, mission, ets)
    overlays = make_overlays(spec, content, source)
    n_credits = spec.credit_frames()
    last_raw: dict[str, np.ndarray] = {}

    def overlay(frame: np.ndarray, et: float, i: int) -> np.ndarray:
        if i == len(ets) - 1 and n_credits:
            last_raw["frame"] = frame.copy()  # credits go over the clean last picture
        return overlays(frame, et, i) if overlays is not None else frame

    def tail():
        shown = phases_between(content, spec.start_et, float(ets[-1])) if spec.captions else []
        return overlays.credits_frames(last_raw.get("frame"), n_credits, shown) if n_credits else iter(())

    progress = Progress(
        len(ets) + n_credits, fmt=progress_fmt, label=os.path.basename(str(spec.output)) if spec.output else "export"
    )
    try:
        return export(
            source,
            ets,
            spec.output,
            fps=spec.fps,
            kind=spec.kind,
            overlay=overlay,
            tail=tail,
            force=spec.force,
            crf=spec.crf,
            preset=spec.preset,
            progress=progress,
            max_size=spec.size if spec.projection.panoramic else (MAX_LONG_SIDE, MAX_SHORT_SIDE),
            finish=add_equirect_metadata if spec.projection.kind == "equirect" and spec.kind == "mp4" else None,
        )
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
