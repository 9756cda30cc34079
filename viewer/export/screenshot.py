"""One offscreen still of the mission scene: ``screenshot(path, et, view=...)`` -> PNG, written atomically.

Full VTK lighting from the true Sun direction (the scene light) and cast shadows on the terrain patch in the site
view (:mod:`viewer.scene.shadows`) at every quality; ``quality="still"`` (the default for stills) adds anti-aliasing
(SSAA) and the fine meshes, ``quality="fast"`` leaves both off.

>>> from viewer.epochs import et_from_utc
>>> screenshot("site.png", et_from_utc("2024-06-01T22:23:16Z"), view="site", size=(1920, 1080))  # doctest: +SKIP
PosixPath('site.png')
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

from viewer.epochs import coverage_error
from viewer.errors import InputError, KernelError, shown

MAX_W, MAX_H = 3840, 2160
MIN_SIDE = 16
_SIZE = re.compile(r"^\s*(\d+)\s*[x×X]\s*(\d+)\s*$")


def parse_size(text: str) -> tuple[int, int]:
    """``"1920x1080"`` -> ``(1920, 1080)``: even sides, 16 px … 3840×2160 (either orientation)."""
    m = _SIZE.match(str(text))
    if not m:
        raise InputError(f"size {shown(text)} is not WIDTHxHEIGHT; write it like 1920x1080")
    return check_still_size((int(m.group(1)), int(m.group(2))))


def check_still_size(size) -> tuple[int, int]:
    """Check a (width, height) for a still; odd sides are refused (video frames and most displays want even)."""
    w, h = int(size[0]), int(size[1])
    if min(w, h) < MIN_SIDE:
        raise InputError(f"size {w}x{h} is too small; both sides must be at least {MIN_SIDE} px")
    if max(w, h) > MAX_W or min(w, h) > MAX_H:
        raise InputError(f"size {w}x{h} is larger than {MAX_W}x{MAX_H}; choose a smaller size")
    if w % 2 or h % 2:
        raise InputError(f"size {w}x{h} has an odd side; use even sides, e.g. {w + w % 2}x{h + h % 2}")
    return w, h


def mission_coverage() -> tuple[float, float]:
    """(start_et, end_et) covered by the mission kernels (the union over the vehicles)."""
    from viewer.scene.kinematics import VEHICLE_ORDER, coverage

    spans = [c for c in (coverage(v) for v in VEHICLE_ORDER) if c]
    if not spans:
        from viewer.kernels import NO_MISSION_KERNELS

        raise KernelError(f"no mission kernel is loaded; {NO_MISSION_KERNELS}")
    return min(s[0] for s in spans), max(s[1] for s in spans)


def check_time(et: float) -> float:
    """Raise :class:`CoverageError` (one line, with the covered interval) for a time outside the mission kernels."""
    start, end = mission_coverage()
    if not (start <= float(et) <= end):
        raise coverage_error("the mission kernels", float(et), start, end)
    return float(et)


def png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image[..., :3])).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def screenshot(
    path,
    et: float,
    *,
    view: str | None = "system",
    size: tuple[int, int] = (1920, 1080),
    follow: str | None = None,
    quality: str = "still",
    language: str = "en",
    scene=None,
    projection=None,
    force: bool = False,
) -> Path:
    """Render the scene at ``et`` in ``view`` and write a PNG to ``path`` atomically; return the path.

    ``view=None`` takes the story camera (:mod:`viewer.director`): the shot's view and the director's camera at
    ``et``, the same as a video frame of that moment. A ``scene`` (a :class:`~viewer.scene.scene.MissionScene`)
    can be passed to render several stills without rebuilding it; its window size must then equal ``size``. A
    panoramic ``projection`` (:class:`~viewer.export.panorama.Projection`, fisheye or equirect) renders a dome
    master or a 360° still. An existing ``path`` is kept unless ``force``.
    """
    from viewer import paths
    from viewer.scene.views import get_view

    panoramic = projection is not None and projection.panoramic
    if panoramic:
        from viewer.export.panorama import check_panorama_size

        size = check_panorama_size(projection, size)
    else:
        size = check_still_size(size)
    et = check_time(et)
    story = None
    if view is None:
        from viewer.director.track import camera_track

        story = camera_track(et, et)
        view = story.shot_at(et).view
    get_view(view)
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InputError(f"output {path} must end in .png")
    if path.parent and not path.parent.exists():
        raise InputError(f"output directory {path.parent} does not exist; create it first")
    if path.is_dir():
        raise InputError(f"output {path} is a directory; choose a file name ending in .png")
    if (path.exists() or path.is_symlink()) and not force:
        raise InputError(f"{path} already exists; pass --force to overwrite it")
    paths.remove_stale_temps(path)
    paths.check_writable(path, need_bytes=size[0] * size[1] * 3)  # before rendering: a PNG is at most raw RGB
    if panoramic:
        from viewer.export.panorama_source import panorama_still

        image = panorama_still(
            et, view, size, projection, follow=follow, aa=quality == "still", language=language, story=story is not None
        )
        paths.atomic_write_bytes(path, png_bytes(image))
        return path
    own = scene is None
    if own:
        from viewer.scene.scene import MissionScene

        scene = MissionScene(view, follow=follow, window_size=size, quality=quality, language=language)
    try:
        if tuple(scene.size) != tuple(size):
            raise InputError(f"the scene renders {scene.size[0]}x{scene.size[1]}, not {size[0]}x{size[1]}")
        scene.set_quality(quality)
        if language != scene.language:
            scene.set_language(language)
        scene.set_view(view, follow=follow, et=et)
        if story is not None:
            _apply_story(scene, story, et)
        image = scene.screenshot()
    finally:
        if own:
            scene.close()
    paths.atomic_write_bytes(path, png_bytes(image))
    return path


def _apply_story(scene, story, et: float) -> None:
    """Put the scene's camera where the director's track says at ``et`` (the subject's drawn position added); the
    view's own camera where the subject is absent."""
    from viewer.export import camera_paths as cp
    from viewer.export.scene_source import apply_pose, scene_pose, vehicle_positions

    apply_pose(scene, cp.Story(story, lambda name: vehicle_positions(scene, name)).pose(et, scene_pose(scene)))
