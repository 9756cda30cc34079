"""``python -m viewer data prepare``: everything an offline kiosk needs, fetched in one command.

1. Plan: the site and context windows (:func:`viewer.terrain.site.plan`: the archive's index and two labels, a few
   kB) and the global LOLA product for the globe (``--product``, default LDEM_16, 33 MB), minus what is already
   cached and verified. The total is printed before anything large is downloaded.
2. Fetch, with a progress bar per file (resumable; run it again after an interruption).
3. Build the browser meshes of the site patch and the globe from the new ground, so the kiosk's first visitor does
   not wait for them.
4. Say that the machine can go offline.
"""

from __future__ import annotations

import sys

from viewer import words
from viewer.errors import DataError
from viewer.paths import cache_dir
from viewer.terrain import download, site
from viewer.terrain.lola import LolaDem


def _global_present(product: str) -> tuple[bool, int]:
    info = download.product_info(product)
    size = int(info["lines"]) * int(info["samples"]) * 2
    img = download.lola_dir() / info["img"]
    try:
        return LolaDem.open(img).path.stat().st_size == size, size
    except DataError:
        return False, size


def prepare(
    km: float | None = None,
    *,
    product: str | None = "ldem_16",
    retries: int = 3,
    progress: bool = True,
    warm: bool = True,
    stream=None,
) -> dict:
    """Fetch the site windows and the global product; build the browser meshes. Returns figures for the report."""
    stream = stream or sys.stderr
    stats: dict = {}
    km = float(km or site.archive.site_config().get("default_km", 60))
    windows = site.plan(km, stats=stats)
    todo = [(role, w) for role, w in zip(site.ROLES, windows) if not site.window_present(role, w)]
    lines = []
    for role, w in zip(site.ROLES, windows):
        state = "to fetch" if (role, w) in todo else "already here"
        what = f"{w.lines} × {w.samples} px of {w.remote.product.name}"
        lines.append(f"  {role} window {w.nbytes / 1e6:.2f} MB ({what}), {state}")
    total = sum(w.nbytes for _, w in todo)
    if product:
        present, size = _global_present(product)
        lines.append(f"  global {product.upper()} {size / 1e6:.2f} MB, {'already here' if present else 'to fetch'}")
        total += 0 if present else size
    print(f"data prepare: {total / 1e6:.2f} MB to download into {cache_dir()}:", file=stream)
    for line in lines:
        print(line, file=stream)
    notes: list[str] = []
    if todo:
        notes += site.fetch_windows(windows, km, retries=retries, progress=progress, stream=stream, stats=stats)[1]
    if product:
        notes += download.fetch(product, retries=retries, progress=progress, stream=stream)[1]
    if warm:
        _warm(stream)
    print(words.word("terrain", "offline_ready", "en").format(path=cache_dir()), file=stream)
    return {"bytes_planned": total, "notes": notes, "stats": stats}


def _warm(stream) -> None:
    from viewer.terrain import meshes
    from viewer.terrain.select import select_dem

    print("building the site and globe meshes …", file=stream)
    dem = select_dem()
    meshes.site_data("browser", dem=dem)
    meshes.globe_data("browser", dem=dem)
    print(f"meshes built from {dem.source_label}", file=stream)
