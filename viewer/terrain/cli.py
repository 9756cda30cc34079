"""``python -m viewer data``: terrain data.

- ``fetch --site [--site-km 60]`` reads only the window about the landing site (and a coarser context window about
  it) from the finest LOLA product of the archive, with HTTP Range requests; the app then shows the real ground
  there ("LOLA 512 px/deg, 59 m").
- ``fetch [--product ldem_16]`` downloads a whole global LOLA GDR product into the user cache (resumable, verified).
- ``prepare`` fetches everything an offline kiosk needs (site windows and a global product), says how much first,
  builds the meshes and says when the machine can go offline.
- ``status`` says which terrain and textures the app would use, and what is cached.
"""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    fetch = sub.add_parser("fetch", help="download LOLA elevation: the site window (--site) or a global product")
    fetch.add_argument("--site", action="store_true", help="only the window about the landing site (HTTP Range)")
    fetch.add_argument("--site-km", type=float, default=None, help="side of the site window in km (default 60)")
    fetch.add_argument("--refresh-index", action="store_true", help="read the archive's index again")
    fetch.add_argument(
        "--product", default=None, help="ldem_4 (2 MB), ldem_16 (33 MB, default), ldem_64 (530 MB) or ldem_128 (2.1 GB)"
    )
    fetch.add_argument("--retries", type=int, default=3, help="resume attempts after a dropped connection (default 3)")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    prep = sub.add_parser("prepare", help="fetch everything an offline kiosk needs, then say it can go offline")
    prep.add_argument("--site-km", type=float, default=None, help="side of the site window in km (default 60)")
    prep.add_argument("--product", default="ldem_16", help="global product for the globe (default ldem_16; 'none')")
    prep.add_argument("--retries", type=int, default=3, help="resume attempts after a dropped connection (default 3)")
    prep.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    sub.add_parser("status", help="terrain and textures in use, and the cache directory")


def run(args) -> int:
    from viewer.terrain import download, prepare, site
    from viewer.terrain.select import describe

    progress = not getattr(args, "no_progress", False)
    if args.action == "fetch" and args.site:
        stats: dict = {}
        paths, notes = site.fetch_site(
            args.site_km, retries=args.retries, progress=progress, refresh_index=args.refresh_index, stats=stats
        )
        for note in notes:
            print(note, file=sys.stderr)
        print(f"{stats.get('bytes', 0) / 1e6:.2f} MB in {stats.get('requests', 0)} requests", file=sys.stderr)
        for path in paths:
            print(path)
        return 0
    if args.action == "fetch":
        path, notes = download.fetch(args.product, retries=args.retries, progress=progress)
        for note in notes:
            print(note, file=sys.stderr)
        print(path)
        return 0
    if args.action == "prepare":
        product = None if str(args.product).lower() == "none" else args.product
        prepare.prepare(args.site_km, product=product, retries=args.retries, progress=progress)
        return 0
    if args.action == "status":
        for line in describe():
            print(line)
        print(f"LOLA cache: {download.lola_dir()}")
        return 0
    print("usage: python -m viewer data {fetch [--site] [--product ldem_16], prepare, status}", file=sys.stderr)
    return 2
