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

__all__ = ["select_dem", "global_dem", "describe", "provenance", "credits", "cached_products"]


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


def provenance(dem=None, lang: str = "en") -> dict:
    """What the ground is, in ``lang``, with its grade: ``{label, text, grade, grade_word, colour, source}``.

    ``label`` is "LOLA 512 px/deg, 59 m" (the finest LOLA layer's resolution and pixel size) or "illustrative relief
    (not a measurement)"; ``text`` is the on-screen line ("Ground: …"); ``colour`` the grade's one colour;
    ``source`` the DEM's ``source_label`` (the language-independent key)."""
    from viewer import words
    from viewer.terrain.lola import LolaDem
    from viewer.terrain.site import SiteDem, metres_per_pixel

    dem = dem if dem is not None else select_dem()
    finest = dem.fine if isinstance(dem, SiteDem) else dem
    if isinstance(finest, LolaDem):
        ppd, metres = f"{finest.resolution:g}", f"{metres_per_pixel(finest):.0f}"
        label = words.word("terrain", "lola", lang).format(ppd=ppd, metres=metres)
    else:
        label = words.word("terrain", "illustrative", lang)
    grade = getattr(dem, "grade", "assumed")
    return {
        "label": label,
        "text": words.word("terrain", "ground", lang).format(label=label),
        "grade": grade,
        "grade_word": words.grade_word(grade, lang),
        "colour": words.grade_colour(grade),
        "source": dem.source_label,
    }


def credits() -> list[str]:
    from viewer.terrain.textures import credits as texture_credits

    return texture_credits()
