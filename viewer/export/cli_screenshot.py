"""``python -m viewer screenshot``: one offscreen PNG of the mission scene.

Example::

    python -m viewer screenshot --time 2024-06-01T22:23:16Z --view site --size 1920x1080 out.png
    python -m viewer screenshot --time 2024-06-01T22:23:16Z --view site --projection fisheye --size 2048x2048 dome.png

A bad size, an unknown view, a time outside the kernels or an unwritable output is one line on stderr (exit 2).
"""

from __future__ import annotations

import argparse
import sys

from viewer.export.cli import add_projection_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output", help="PNG file to write (atomically)")
    parser.add_argument("--time", required=True, metavar="UTC", help="UTC time, e.g. 2024-06-01T22:23:16Z")
    parser.add_argument(
        "--view",
        default=None,
        metavar="NAME",
        help="view preset from assets/views.yaml (default: the story camera's view and framing at that moment)",
    )
    parser.add_argument(
        "--size",
        default=None,
        metavar="WxH",
        help="even sides up to 3840x2160 (default 1920x1080; fisheye 2048x2048, square; equirect 4096x2048, 2:1)",
    )
    parser.add_argument("--follow", default=None, metavar="VEHICLE", help="NAIF name for the follow view")
    parser.add_argument(
        "--quality",
        default="still",
        choices=["still", "fast"],
        help="still: anti-aliasing and terrain shadows (default); fast: neither",
    )
    parser.add_argument("--lang", default="en", choices=["en", "zh"], help="label language")
    parser.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    add_projection_arguments(parser)


def run(args) -> int:
    from viewer.epochs import et_from_utc
    from viewer.export.panorama import make_projection, parse_panorama_size
    from viewer.export.screenshot import parse_size, screenshot
    from viewer.scene.views import get_view

    projection = make_projection(args.projection, fov=args.fov, tilt=args.dome_tilt)
    if projection.panoramic:
        size = parse_panorama_size(args.size, projection)
    else:
        size = parse_size(args.size or "1920x1080")
    view = args.view or ("follow" if args.follow else None)
    if view is not None:
        get_view(view)
    et = et_from_utc(args.time)
    path = screenshot(
        args.output,
        et,
        view=view,
        size=size,
        follow=args.follow,
        quality=args.quality,
        language=args.lang,
        projection=projection,
        force=args.force,
    )
    print(f"wrote {path} ({size[0]}x{size[1]} {projection.kind}, view {view or 'story'}, {args.time})", file=sys.stdout)
    return 0
