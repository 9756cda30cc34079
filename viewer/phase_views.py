"""The view and camera path per mission phase, from ``assets/phase_views.yaml`` (read by the web app and the exporter)."""

from __future__ import annotations

from functools import cache

import yaml

from viewer import paths
from viewer.errors import InputError

PHASE_VIEWS_FILE = "phase_views.yaml"


@cache
def _table() -> tuple[dict[str, tuple[str, str]], tuple[str, str]]:
    path = paths.ASSETS_DIR / PHASE_VIEWS_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        default = (str(data["default"]["view"]), str(data["default"]["camera"]))
        table = {str(k): (str(v["view"]), str(v["camera"])) for k, v in data["phases"].items()}
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as err:
        raise InputError(f"{path}: cannot read the phase views ({err}); restore it from the repository") from err
    return table, default


def phase_camera() -> dict[str, tuple[str, str]]:
    """Phase id -> (view, camera spec)."""
    return dict(_table()[0])


def camera_for(phase_id: str | None) -> tuple[str, str]:
    """(view, camera spec) for a phase id; the default pair for an unknown or missing phase."""
    table, default = _table()
    return table.get(phase_id or "", default)


def phase_views() -> dict[str, str]:
    """Phase id -> the view that shows it best."""
    return {phase: view for phase, (view, _camera) in _table()[0].items()}
