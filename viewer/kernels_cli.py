"""``python -m viewer kernels path|build|report``."""

from __future__ import annotations

import json

from viewer import kernels
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
        return build.cli_build(args)
    rows = build.manoeuvre_report()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(build.format_report(rows))
    return 0
