"""Loading the mission file: :func:`load_mission` reads and checks ``assets/mission.yaml`` once per file version,
and :func:`landing_site` gives the landing site from it."""

from __future__ import annotations

import functools
from pathlib import Path

from viewer import paths
from viewer.errors import DataError
from viewer.mission.records import Mission
from viewer.mission.sections import MissionReader


def default_path() -> Path:
    return Path(paths.ASSETS_DIR) / "mission.yaml"


def load_mission(path: str | Path | None = None) -> Mission:
    """Load and check ``mission.yaml`` (default: ``assets/mission.yaml``); cached per file and modification time."""
    p = Path(path) if path is not None else default_path()
    try:
        p = p.resolve()
        st = p.stat()
    except OSError as exc:
        raise DataError(f"{p}: cannot read the mission file ({exc.strerror or exc}); check the path", path=p) from None
    return _load_cached(str(p), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int, size: int) -> Mission:
    return MissionReader(Path(path)).mission()


def landing_site() -> tuple[float, float]:
    """The landing site (planetocentric latitude, east longitude in [0, 360), deg) from ``assets/mission.yaml``."""
    site = load_mission().site("landing_site")
    return site.lat_deg, site.lon_east_deg % 360.0
