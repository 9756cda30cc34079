"""Which DEM the app uses, and the ``info`` lines that say so.

``select_dem()`` returns, in this order: the file named by env ``VIEWER_DEM`` (``/path/to/LDEM_x.IMG``, its
``.LBL`` beside it); else, when ``python -m viewer data fetch --site`` has cached the window about the mission
file's site, the :class:`~viewer.terrain.site.SiteDem` (that window, and the context window, over the global DEM
below); else the finest LOLA product cached by ``python -m viewer data fetch`` in ``viewer.paths.cache_dir()/"lola"``;
else the offline :class:`~viewer.terrain.synthetic.IllustrativeRelief`. ``global_dem()`` is the same without the
site windows (the globe's ground). Every DEM has a ``grade``: LOLA products are ``sourced`` (measured), the
illustrative relief ``assumed``.
"""

from __future__ import annotations

import os
from pathlib import Path

from viewer.errors import DataError
from viewer.paths import cache_dir

__all__ = ["select_dem", "global_dem", "describe", "credits", "cached_products"]


def cached_products() -> list[Path]:
    """LOLA images in the cache with a label beside them, finest first (unverified)."""
    lola = cache_dir() / "lola"
    if not lola.is_dir():
        return []
    found = []
    for path in lola.iterdir():
        if path.suffix.lower() == ".img" and path.stem.lower().startswith("ldem_"):
            try:
                ppd = float(path.stem.split("_")[1])
            except (IndexError, ValueError):
                continue
            found.append((ppd, path))
    return [p for _, p in sorted(found, reverse=True)]


def select_dem():
    """The DEM in use: ``VIEWER_DEM``, else the site windows over the global DEM, else :func:`global_dem`."""
    from viewer.terrain.site import open_site

    base = global_dem()
    if os.environ.get("VIEWER_DEM"):
        return base
    return open_site(base) or base


def global_dem():
    """``VIEWER_DEM``, else the finest cached global LOLA product that opens, else the illustrative relief."""
    from viewer.terrain.lola import LolaDem
    from viewer.terrain.synthetic import IllustrativeRelief

    env = os.environ.get("VIEWER_DEM")
    if env:
        try:
            return LolaDem.open(env)
        except DataError as exc:
            raise DataError(f"VIEWER_DEM={env}: {exc.one_line()}", path=env) from None
    for path in cached_products():
        try:
            return LolaDem.open(path)
        except DataError:
            continue  # an incomplete or damaged cache entry; the next one (or the default) is used
    return IllustrativeRelief()


def describe() -> list[str]:
    """Lines for ``python -m viewer info``: the terrain and the textures in use."""
    from viewer.terrain import textures
    from viewer.terrain.lola import LolaDem
    from viewer.terrain.site import SiteDem

    try:
        dem = select_dem()
        if isinstance(dem, SiteDem):
            line = f"terrain: {dem.describe()}"
        elif isinstance(dem, LolaDem):
            origin = " (VIEWER_DEM)" if os.environ.get("VIEWER_DEM") else ""
            line = f"terrain: {dem.source_label} ({dem.path}){origin}"
        else:
            line = f"terrain: {dem.source_label} (no LOLA file; run `python -m viewer data fetch --site`)"
        line += f" [{dem.grade}]"
    except DataError as exc:
        line = f"terrain: unavailable: {exc.one_line()}"
    return [line] + textures.describe()


def credits() -> list[str]:
    from viewer.terrain.textures import credits as texture_credits

    return texture_credits()
