"""``python -m viewer links report [--json]``: relay link windows (UTC) and end-to-end relay availability.

The text report lists, in this order: the model and its inputs (terrain horizon, stations and masks); the Earth's
elevation at the site over 1–4 June (always negative); end-to-end relay availability during the powered descent,
the surface operations and the ascent; whether the orbiter and the ascender in flight are seen directly from a
station or only through Queqiao-2; then every link's windows in UTC. ``--json`` prints the same data as JSON;
``--lang zh`` prints the text in Chinese.
"""

from __future__ import annotations

import json
import sys

from viewer.links.project import default_model
from viewer.links.report import build_report, format_report
from viewer.mission import load_mission
from viewer.words import LANGUAGES


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=["report"], help="`report`: print the link windows and relay availability")
    parser.add_argument("--json", action="store_true", help="print the same data as JSON")
    parser.add_argument(
        "--mask",
        type=float,
        default=None,
        metavar="DEG",
        help="station elevation mask in degrees for every station (default: each station's own, 5°)",
    )
    parser.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the text report (default en)")
    parser.add_argument(
        "--link",
        action="append",
        default=None,
        metavar="ID",
        help="list only this link's windows (repeatable); the summaries are always printed",
    )


def run(args) -> int:
    model = default_model(args.mask)
    rep = build_report(model, load_mission(), args.link)
    if args.json:
        json.dump(rep, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(format_report(rep, args.lang))
    return 0
