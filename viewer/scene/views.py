"""Camera presets and render frames of the mission scene's views, read from ``assets/views.yaml``.

A :class:`View` says where the floating origin is (``center``, a NAIF name, or the followed spacecraft), in which
frame positions are taken (``J2000`` or ``CHANGE6_TOPO``) and in which unit they are rendered (``km`` or ``m``).
The scene asks SPICE for every position relative to ``center`` in ``frame`` in float64 and converts to render
units only afterwards, so nothing jitters at the scale of the view (design rule 6).

>>> views = load_views()
>>> views["site"].unit, views["site"].frame, views["site"].units_per_km
('m', 'CHANGE6_TOPO', 1000.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from viewer import paths
from viewer.errors import DataError, InputError, shown

UNITS_PER_KM = {"km": 1.0, "m": 1000.0}


@dataclass(frozen=True)
class Camera:
    """A camera preset: the camera sits at ``focus + distance·direction`` (in ``basis`` axes)."""

    focus: str
    basis: str
    direction: tuple[float, float, float]
    distance: float
    view_up: tuple[float, float, float]
    view_angle_deg: float


@dataclass(frozen=True)
class View:
    """One view of the scene (see ``assets/views.yaml`` for the meaning of each field)."""

    name: str
    title: dict
    center: str
    frame: str
    unit: str
    spacecraft_scale: float
    camera: Camera
    trail_past_s: float
    trail_future_s: float
    trail_tolerance_px: float
    tracks_start: str | None
    tracks_end: str | None
    tolerance_px: float
    dense_step_s: float
    scale_km: float | None
    window_s: float | None
    max_step_s: float
    bodies: tuple[str, ...]
    follow: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def units_per_km(self) -> float:
        """Render units per km: 1 for km views, 1000 for metre views."""
        return UNITS_PER_KM[self.unit]

    @property
    def units_per_m(self) -> float:
        return self.units_per_km / 1000.0

    def __repr__(self) -> str:
        return f"<View {self.name!r} centre {self.center} frame {self.frame} unit {self.unit}>"


def _vec(value, where: str) -> tuple[float, float, float]:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        out = ()
    if len(out) != 3:
        raise DataError(f"{where} must be a list of 3 numbers, not {value!r}")
    return out  # type: ignore[return-value]


def _parse(name: str, node: dict, path: Path) -> View:
    where = f"{path}: views.{name}"
    try:
        cam = node["camera"]
        unit = node["unit"]
        if unit not in UNITS_PER_KM:
            raise DataError(f"{where}.unit must be km or m, not {unit!r}", path=path)
        camera = Camera(
            focus=str(cam.get("focus", "origin")),
            basis=str(cam.get("basis", "frame")),
            direction=_vec(cam["direction"], f"{where}.camera.direction"),
            distance=float(cam["distance"]),
            view_up=_vec(cam.get("view_up", [0, 0, 1]), f"{where}.camera.view_up"),
            view_angle_deg=float(cam.get("view_angle_deg", 30.0)),
        )
        trail = node.get("trail", {})
        tracks = node.get("tracks", {})
        return View(
            name=name,
            title=dict(node.get("title", {"en": name})),
            center=str(node["center"]),
            frame=str(node["frame"]),
            unit=unit,
            spacecraft_scale=float(node.get("spacecraft_scale", 1.0)),
            camera=camera,
            trail_past_s=float(trail.get("past_s", 3600.0)),
            trail_future_s=float(trail.get("future_s", 0.0)),
            trail_tolerance_px=float(trail.get("tolerance_px", 0.5)),
            tracks_start=tracks.get("start"),
            tracks_end=tracks.get("end"),
            tolerance_px=float(tracks.get("tolerance_px", 1.0)),
            dense_step_s=float(tracks.get("dense_step_s", 4.0)),
            scale_km=float(tracks["scale_km"]) if tracks.get("scale_km") else None,
            window_s=float(tracks["window_s"]) if tracks.get("window_s") else None,
            max_step_s=float(tracks.get("max_step_s", 3600.0)),
            bodies=tuple(node.get("bodies", ())),
            follow=node.get("follow"),
        )
    except KeyError as exc:
        raise DataError(f"{where} lacks the key {exc.args[0]!r}", path=path) from None
    except (TypeError, ValueError) as exc:
        raise DataError(f"{where} is malformed ({exc})", path=path) from None


@lru_cache(maxsize=4)
def _load(path: Path) -> tuple[dict[str, View], str]:
    if not path.exists():
        raise DataError(
            f"{path} is missing; restore it from the repository (`git checkout assets/views.yaml`)", path=path
        )
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise DataError(
            f"{path} is not UTF-8 text; save it as UTF-8 or restore it (`git checkout assets/views.yaml`)", path=path
        ) from None
    except yaml.YAMLError as exc:
        raise DataError(f"{path} is not valid YAML ({exc.__class__.__name__})", path=path) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("views"), dict):
        raise DataError(f"{path} has no `views:` mapping", path=path)
    views = {name: _parse(name, node, path) for name, node in doc["views"].items()}
    default = str(doc.get("default", next(iter(views))))
    return views, default


def load_views(path: Path | None = None) -> dict[str, View]:
    """Return every view preset by name, from ``assets/views.yaml`` (or ``path``)."""
    return dict(_load(Path(path or paths.ASSETS_DIR / "views.yaml"))[0])


def default_view(path: Path | None = None) -> str:
    return _load(Path(path or paths.ASSETS_DIR / "views.yaml"))[1]


def get_view(name: str, path: Path | None = None) -> View:
    """Return the view called ``name``; an unknown name is an :class:`InputError` listing the choices."""
    views = load_views(path)
    if name not in views:
        raise InputError(f"unknown view {shown(name)}; choose one of: {', '.join(views)}")
    return views[name]
