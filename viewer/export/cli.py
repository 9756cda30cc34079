"""``python -m viewer export video``: an MP4 (H.264) or a lossless PNG sequence of the mission scene, flat, as a
fisheye dome master or as a 360° equirectangular video.

Examples::

    python -m viewer export video --phase powered_descent --duration 30 --size 1920x1080 --captions zh landing.mp4
    python -m viewer export video --from 2024-06-03T23:38:10Z --to 2024-06-03T23:44:10Z --speed 12 \\
        --view site --camera follow:CHANGE6_ASCENDER --png-dir ascent_frames/
    python -m viewer export video --phase powered_descent --projection fisheye --size 2048x2048 landing_dome.mp4
    python -m viewer export video --phase powered_descent --projection equirect --size 4096x2048 landing_360.mp4

Every input is checked before the scene is built, and each mistake is one line (exit 2). Ctrl-C or SIGTERM
stops the export and leaves no file behind (exit 130).
"""

from __future__ import annotations

import argparse
import sys

from viewer.errors import InputError, shown
from viewer.export.video import DEFAULT_PRESET


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="what", metavar="WHAT")
    sub.required = True
    v = sub.add_parser(
        "video",
        help="render a clip (MP4, or a PNG sequence with --png-dir)",
        description="Render a clip of the mission scene, stepped by mission time (ET).",
    )
    when = v.add_argument_group("time range (one of --phase or --from/--to)")
    when.add_argument(
        "--phase",
        metavar="ID",
        help="a mission phase id, e.g. powered_descent, or a chapter id, e.g. landing (see assets/mission.yaml)",
    )
    when.add_argument("--from", dest="from_utc", metavar="UTC", help="start, e.g. 2024-06-01T22:09:00Z")
    when.add_argument("--to", dest="to_utc", metavar="UTC", help="end, e.g. 2024-06-01T22:23:16Z")
    pace = v.add_argument_group("pace")
    pace.add_argument("--speed", type=float, metavar="S", help="mission seconds per video second")
    pace.add_argument("--duration", type=float, metavar="S", help="video seconds for the range (default 10)")
    pace.add_argument("--fps", type=float, default=30.0, help="frames per second (default 30)")
    look = v.add_argument_group("picture")
    look.add_argument(
        "--size",
        default=None,
        metavar="WxH",
        help="frame size, even (default 1920x1080; fisheye 2048x2048, square; equirect 4096x2048, 2:1)",
    )
    look.add_argument("--view", metavar="NAME", help="camera view from assets/views.yaml (default: per phase)")
    look.add_argument(
        "--camera",
        default="story",
        metavar="PATH",
        help="story (the director's camera), auto (a view per phase), preset, orbit[:TURNS] or follow[:VEHICLE]"
        " (default story; with --view, the view's preset)",
    )
    look.add_argument("--captions", default="en", choices=["en", "zh", "none"], help="caption language (default en)")
    look.add_argument(
        "--credits",
        type=float,
        default=4.0,
        metavar="S",
        help="seconds of closing credits (sources, reconstructed-trajectory note); 0 for none",
    )
    look.add_argument(
        "--aa",
        action="store_true",
        help="anti-aliasing and shadows (the scene's still quality): smoother edges, 3-4x slower",
    )
    look.add_argument(
        "--detail",
        default="auto",
        choices=["auto", "light", "full"],
        help="mesh detail: light (fast) or full; auto = light up to 1080 lines (default)",
    )
    add_projection_arguments(look)
    enc = v.add_argument_group("encoding")
    enc.add_argument("output", nargs="?", help="output .mp4 file")
    enc.add_argument("--png-dir", metavar="DIR", help="write a lossless PNG sequence into DIR instead of an MP4")
    enc.add_argument("--crf", type=int, default=20, help="H.264 constant quality, 0-51, lower is better (default 20)")
    enc.add_argument(
        "--preset",
        default=DEFAULT_PRESET,
        help=f"x264 preset (default {DEFAULT_PRESET}; veryfast: smaller files, slower)",
    )
    enc.add_argument("--force", action="store_true", help="overwrite an existing output")
    enc.add_argument(
        "--progress",
        default="auto",
        choices=["auto", "bar", "lines", "json", "none"],
        help="progress on stderr (default: a bar on a terminal, lines otherwise)",
    )


def add_projection_arguments(group) -> None:
    """--projection, --fov and --dome-tilt (for ``export video`` and ``screenshot``)."""
    group.add_argument(
        "--projection",
        default="perspective",
        choices=["perspective", "fisheye", "equirect"],
        help="perspective (default); fisheye: a dome master (square, black outside the circle); "
        "equirect: 360x180 degrees, 2:1, with spherical video metadata",
    )
    group.add_argument(
        "--fov", type=float, default=None, metavar="DEG", help="fisheye aperture, 90-220 degrees (default 180)"
    )
    group.add_argument(
        "--dome-tilt",
        type=float,
        default=None,
        metavar="DEG",
        help="fisheye: the dome's centre this many degrees above where the camera looks (tilted domes; default 0)",
    )


def run(args) -> int:
    if args.what != "video":  # pragma: no cover - argparse enforces the choice
        raise InputError(f"unknown export {shown(args.what)}; choose video")
    from viewer.export import render_job  # numpy and the export pipeline: not needed for --help
    from viewer.export.video import sigterm_as_interrupt

    with sigterm_as_interrupt():
        job = render_job.JobSpec.from_args(args)
        result = render_job.run(job, progress_fmt=args.progress)
    print(
        f"wrote {result.path} ({result.frames} frames, {result.seconds:.1f} s, {result.fps:.1f} frames/s)",
        file=sys.stderr,
    )
    return 0
