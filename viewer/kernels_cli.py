"""``python -m viewer kernels path|build|report``."""

from __future__ import annotations

import json
from pathlib import Path

from viewer import kernels, paths
from viewer.trajectory import build


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("path", help="print the absolute path of the meta-kernel (load it with spiceypy.furnsh)")
    b = sub.add_parser("build", help="rebuild the mission SPKs and frames kernel reproducibly")
    b.add_argument("--out", default=None, help="output directory (default: the repository's kernels/)")
    r = sub.add_parser("report", help="print every manoeuvre: time (UTC), Δv (m/s), engine, grade")
    r.add_argument("--json", action="store_true", help="print the same list as JSON")


def run(args) -> int:
    if args.action == "path":
        print(kernels.meta_kernel_path())
        return 0
    if args.action == "build":
        return run_build(Path(args.out) if args.out else None)
    rows = build.manoeuvre_report()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(build.format_report(rows))
    return 0


def run_build(out: Path | None) -> int:
    """Build the kernels into ``out`` (default kernels/) and print what was written and how long each phase took.

    A :class:`~viewer.errors.ViewerError` reaches ``viewer.cli``, which prints it as one line (exit 2).
    """
    summary = build.build(out)
    for name in summary["files"]:
        print(f"wrote {name}")
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in summary["phases_s"].items())
    print(f"{summary['arcs']} arcs, {summary['manoeuvres']} manoeuvres; {phases}; total {summary['total_s']:.1f} s")
    if (out is None or out.resolve() == paths.KERNELS_DIR.resolve()) and kernels._loaded is not None:
        kernels.reload()  # this process had loaded the old kernel set: load the new one
    return 0
