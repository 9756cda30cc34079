"""``python -m viewer data``: terrain data.

- ``fetch [--product ldem_16]`` downloads a LOLA GDR product into the user cache (resumable, verified); the app then
  uses the finest cached product instead of the illustrative relief.
- ``status`` says which terrain and textures the app would use, and what is cached.
"""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    fetch = sub.add_parser("fetch", help="download a LOLA GDR product (label + image) from the PDS Geosciences Node")
    fetch.add_argument(
        "--product", default=None, help="ldem_4 (2 MB), ldem_16 (33 MB, default), ldem_64 (530 MB) or ldem_128 (2.1 GB)"
    )
    fetch.add_argument("--retries", type=int, default=3, help="resume attempts after a dropped connection (default 3)")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    sub.add_parser("status", help="terrain and textures in use, and the cache directory")


def run(args) -> int:
    from viewer.terrain import download
    from viewer.terrain.select import describe

    if args.action == "fetch":
        path, notes = download.fetch(args.product, retries=args.retries, progress=not args.no_progress)
        for note in notes:
            print(note, file=sys.stderr)
        print(path)
        return 0
    if args.action == "status":
        for line in describe():
            print(line)
        print(f"LOLA cache: {download.lola_dir()}")
        return 0
    print("usage: python -m viewer data {fetch [--product ldem_16], status}", file=sys.stderr)
    return 2
