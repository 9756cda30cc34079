"""Process-wide, read-only data of the web app: built once, shared by every session.

- :func:`mission`, :func:`relay_strip`, :func:`horizon_data`: mission facts and derived tables (JSON-able).
- :class:`SharedScene`: ONE server-side :class:`~viewer.scene.scene.MissionScene` (web meshes, a 300×300 window
  without anti-aliasing). For each (view, relief) it is serialised once for vtk.js and the result is cached; the
  per-view sample tracks are exported once and cached too. Sessions never build a scene of their own: the
  browser animates from the tracks, so the server scene is only a template. Tracks are cached on disk through
  :mod:`viewer.cache` (keyed over the loaded kernels, ``assets/`` and ``viewer/scene/``).

Panel's serialiser is used with a fixed id root, so an actor keeps the same id in every view and the browser
finds it with ``getActors(ptr)``. Data arrays are shared between cached serialisations by content hash.

Of Panel, only :mod:`panel.pane.vtk`'s serialiser is used here.
"""

from __future__ import annotations

import base64
import ctypes
import functools
import gc
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import replace

import numpy as np

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import panel.pane.vtk.synchronizable_serializer as rws  # noqa: E402
import pyvista as pv  # noqa: E402
from spiceypy.utils.exceptions import SpiceyError  # noqa: E402

from viewer import cache, constants, ephemeris, kernels, links, paths, words  # noqa: E402
from viewer.errors import ViewerError  # noqa: E402
from viewer.mission import load_mission  # noqa: E402
from viewer.scene import shadows  # noqa: E402
from viewer.scene import tracks as tracks_format  # noqa: E402
from viewer.scene.groups.common import night_ambient  # noqa: E402
from viewer.scene.scene import MissionScene, body_meshes  # noqa: E402
from viewer.scene.views import default_view as _default_view  # noqa: E402
from viewer.scene.views import load_views  # noqa: E402
from viewer.terrain import select as terrain  # noqa: E402
from viewer.ui import follow_track, story  # noqa: E402
from viewer.ui.state import EXAGGERATIONS, mission_span, web_views  # noqa: E402

log = logging.getLogger("viewer.ui")

ID_ROOT = "ce6"
SERVER_WINDOW = (300, 300)
EARTH_SAMPLE_S = 1800.0
TEXTURE_WIDTH = {"moon": 1024, "earth": 512}  # browser textures, pixels across
# Bodies farther than FAR_RATIO radii from a view's preset camera, or hidden in it, are sent as light meshes
LOD_CELLS = {"low": 8000, "tiny": 200}
LOD_TEXTURE_WIDTH = {"low": 256, "tiny": 16}
FAR_RATIO = 60.0
LOD_BODIES = ("moon", "earth", "terrain")
TRACKS_FORMAT = "web-tracks-3"  # bump when the cached part of the tracks changes shape
BODY_STEP_S = 3600.0  # the Earth, the Moon and the Sun outside a view's vehicle span: one sample an hour
BODY_ACTORS = {"EARTH": "earth", "MOON": "moon"}
# What a data problem raises while the relay and horizon tables are built: the app then shows why, not a traceback
DATA_ERRORS = (ViewerError, SpiceyError, OSError)


@functools.cache
def furnish() -> None:
    kernels.furnish()


TRACK_SOURCES = ("scene", "links", "director")  # the packages whose code shapes the tracks


def check_tracks(tr) -> None:
    """Raise ValueError unless ``tr`` looks like a view's exported tracks (a poisoned cache entry is rebuilt)."""
    if not isinstance(tr, dict) or not isinstance(tr.get("actors"), dict) or not tr["actors"]:
        raise ValueError("tracks without actors")
    if not cache.all_finite([tr.get("t0", 0.0), tr.get("t1", 0.0)]):
        raise ValueError("tracks with a non-finite time span")


@functools.cache
def tracks_cache_key(view: str) -> str:
    """Cache key of a view's tracks: the loaded kernels, the assets and the packages of TRACK_SOURCES (recursively)."""
    furnish()
    sources = [*kernels.loaded_kernels(), paths.ASSETS_DIR, *(paths.PACKAGE_DIR / p for p in TRACK_SOURCES)]
    return cache.make_key({"format": TRACKS_FORMAT, "view": view}, sources)


def warm(log=print) -> None:
    """Prepare every web view (tracks and serialisation) once, before the first visitor."""
    sh = shared_scene()
    for v in [default_view()] + [v for v in web_views() if v != default_view()]:
        t0 = time.perf_counter()
        sh.tracks(v)
        sh.serialised(v)
        log(f"  view {v}: ready in {time.perf_counter() - t0:.1f} s")
    relay_strip()
    horizon_data()
    follow_track.warm()  # the first "follow a spacecraft" click answers in tens of milliseconds


@functools.cache
def mission():
    return load_mission()


@functools.cache
def views() -> dict:
    return load_views()


@functools.cache
def default_view() -> str:
    return _default_view()


def _b64(a: np.ndarray, dtype: str) -> dict:
    """An array in the tracks' base64 form: ``{"dtype", "shape", "b64"}`` (little-endian bytes)."""
    a = np.ascontiguousarray(a, dtype=np.dtype(dtype).newbyteorder("<"))
    return {"dtype": dtype, "shape": list(a.shape), "b64": base64.b64encode(a.tobytes()).decode("ascii")}


def _unb64(item: dict) -> np.ndarray:
    a = np.frombuffer(base64.b64decode(item["b64"]), dtype=np.dtype(item["dtype"]).newbyteorder("<"))
    return a.reshape(item["shape"])


def quaternions(rot: np.ndarray) -> np.ndarray:
    """(N,4) unit quaternions (w, x, y, z), w ≥ 0, of (N,3,3) rotation matrices (the tracks' convention)."""
    w = 0.5 * np.sqrt(np.clip(1.0 + rot[:, 0, 0] + rot[:, 1, 1] + rot[:, 2, 2], 0.0, None))
    x = 0.5 * np.sqrt(np.clip(1.0 + rot[:, 0, 0] - rot[:, 1, 1] - rot[:, 2, 2], 0.0, None))
    y = 0.5 * np.sqrt(np.clip(1.0 - rot[:, 0, 0] + rot[:, 1, 1] - rot[:, 2, 2], 0.0, None))
    z = 0.5 * np.sqrt(np.clip(1.0 - rot[:, 0, 0] - rot[:, 1, 1] + rot[:, 2, 2], 0.0, None))
    x = np.copysign(x, rot[:, 2, 1] - rot[:, 1, 2])
    y = np.copysign(y, rot[:, 0, 2] - rot[:, 2, 0])
    z = np.copysign(z, rot[:, 1, 0] - rot[:, 0, 1])
    q = np.stack([w, x, y, z], axis=1)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _merge_track(track: dict, ets: np.ndarray, columns: dict[str, tuple[np.ndarray, str]]) -> None:
    """Add samples at ``ets`` (outside the track's span) to a track's arrays, keeping ``t`` increasing."""
    t_old = _unb64(track["t"])
    t = np.concatenate([t_old, ets])
    order = np.argsort(t, kind="stable")
    track["t"] = _b64(t[order], "float64")
    for key, (extra, dtype) in columns.items():
        old = _unb64(track[key]) if key in track else np.zeros((len(t_old),) + extra.shape[1:], dtype)
        track[key] = _b64(np.concatenate([old.astype(dtype), extra.astype(dtype)])[order], dtype)


def _unavailable(what: str, exc: Exception) -> str:
    """Log why a table is missing and return the one line the app shows instead."""
    log.warning("%s unavailable: %s: %s", what, exc.__class__.__name__, exc)
    return f"{what} unavailable ({exc.__class__.__name__}: {exc})"[:200]


@functools.cache
def relay_strip() -> dict:
    """Per-link open windows (ET) for the timeline strip, grouped by the relay path a visitor cares about."""
    furnish()
    try:
        strip = links.timeline_strip()
    except DATA_ERRORS as exc:  # no mission kernels: the strip shows no windows and says why
        return {"links": [], "rows": [], "note": _unavailable("relay windows", exc)}
    out = []
    for link in strip["links"]:
        out.append(
            {
                "id": link["id"],
                "label": link.get("label", link["id"]),
                "kind": link.get("kind", ""),
                "a": link.get("a"),
                "b": link.get("b"),
                "windows": [[w["et0"], w["et1"]] for w in link["windows"]],
            }
        )
    # two rows for the strip: the surface vehicle <-> Queqiao-2, and Queqiao-2 <-> any ground station
    relay = [lk for lk in out if lk["kind"] == "surface"]
    ground = [lk for lk in out if lk["kind"] == "station" and "QUEQIAO" in f"{lk['a']}{lk['b']}".upper()]
    rows = []
    for key, group in (("relay_row_surface", relay), ("relay_row_ground", ground)):
        wins = links.union([[tuple(w) for w in lk["windows"]] for lk in group]) if group else []
        if wins:
            label = {lang: words.word("ui", key, lang) for lang in words.LANGUAGES}
            rows.append({"label": label, "windows": [list(w) for w in wins]})
    return {"links": out, "rows": rows, "note": strip.get("geometry", "")}


@functools.cache
def horizon_data() -> dict:
    """The site's terrain horizon and Earth's azimuth/elevation there over the mission (ET grid), for the panel."""
    furnish()
    t0, t1 = mission_span(mission())
    ets = np.arange(t0, t1 + EARTH_SAMPLE_S, EARTH_SAMPLE_S)
    try:
        model = links.default_model()
        h = model.horizon
        # the site is fixed on the Moon: its offset from the Moon's centre in CHANGE6_TOPO is constant, so the
        # Earth's direction from the site is known for the whole mission, not only while the lander is there
        cov = links.body_coverage("CHANGE6_SITE")
        offset = ephemeris.positions("CHANGE6_SITE", [cov[0][0]], observer="MOON", frame="CHANGE6_TOPO")[0]
        ets_s = ets[:: max(1, len(ets) // 4000)]
        rel = ephemeris.positions("EARTH", ets_s, observer="MOON", frame="CHANGE6_TOPO") - offset
        az, el = links.azimuth_elevation_deg(rel)
    except (*DATA_ERRORS, IndexError) as exc:  # IndexError: no kernel covers the site
        return {"ok": False, "note": _unavailable("horizon", exc)}
    return {
        "ok": True,
        "source": str(h.source),
        "az": [round(float(a), 2) for a in h.azimuths_deg],
        "el": [round(float(e), 3) for e in h.elevations_deg],
        "t": _b64(ets_s, "float64"),
        "earth_az": _b64(az, "float32"),
        "earth_el": _b64(el, "float32"),
        "max_el": round(float(np.max(el)), 2),
    }


@functools.cache
def stations_itrf_km() -> dict:
    """Ground stations' body-fixed (ITRF93) positions, km: the browser places relay-link ends on the Earth."""
    furnish()
    try:
        model = links.default_model()
        return {sid: [float(x) for x in xyz] for sid, xyz in model.station_xyz_km.items()}
    except DATA_ERRORS as exc:
        _unavailable("station positions (link ends at the Earth)", exc)
        return {}


def _downscale(img: np.ndarray, width: int) -> np.ndarray:
    """Box-filter an (H, W, C) texture down to ``width`` columns (whole factors only; the web budget)."""
    f = max(1, img.shape[1] // width)
    if f == 1:
        return img
    h, w = (img.shape[0] // f) * f, (img.shape[1] // f) * f
    a = img[:h, :w].reshape(h // f, f, w // f, f, -1).mean(axis=(1, 3))
    return np.ascontiguousarray(a.round().astype(img.dtype))


def web_bodies():
    """The scene's browser meshes with textures reduced to the first-payload budget."""
    b = body_meshes("browser")
    return replace(
        b,
        moon_texture=_downscale(b.moon_texture, TEXTURE_WIDTH["moon"]),
        earth_texture=_downscale(b.earth_texture, TEXTURE_WIDTH["earth"]),
    )


EXTRA_RELIEFS = 2  # serialisations at a relief other than 1 kept in memory (each holds its terrain's arrays)


def trim_heap() -> None:
    """Give freed heap memory back to the system (glibc ``malloc_trim``; nothing elsewhere)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class SharedScene:
    """One server-side scene, serialised once per (view, relief) and cached, plus each view's tracks."""

    def __init__(self):
        furnish()
        self._lock = threading.RLock()
        self.scene = MissionScene(default_view(), web=True, window_size=SERVER_WINDOW, bodies=web_bodies())
        # (view, relief) -> serialisation: every view at relief 1 (what warm() prepares) stays, other reliefs
        # are kept for the EXTRA_RELIEFS last used (least recently used out), so memory stays bounded
        self._serialised: OrderedDict[tuple, tuple] = OrderedDict()
        self._tracks: dict[str, dict] = {}
        self._site_horizon: OrderedDict[float, dict | None] = OrderedDict()  # relief -> encoded horizon bytes
        self._arrays: dict[str, bytes] = {}  # content hash -> bytes, shared by the cached serialisations
        self._variants: dict[tuple, tuple] = {}

    @property
    def pointers(self) -> dict[str, str]:
        """Actor name -> VTK pointer string (``actor.__this__``), for vtk.js ``getActors(ptr)``."""
        return {name: a.__this__ for name, a in self.scene.actors.items() if hasattr(a, "__this__")}

    def tracks(self, view: str) -> dict:
        """The view's sample tracks (plus what the browser needs to place link ends and labels); cached in memory
        and on disk (keyed by the kernels, the assets and the scene code, so a change rebuilds them)."""
        with self._lock:
            if view not in self._tracks:
                key = tracks_cache_key(view)
                tr = cache.read_json("web", f"tracks-{view}", key, validate=check_tracks)
                if tr is None:
                    tr = self.scene.export_tracks(view)
                    self._bodies_over_mission(view, tr)
                    cache.write_json("web", f"tracks-{view}", key, tr)
                tr["stations_km"] = stations_itrf_km()
                # --- story camera: the director's samples shown in this view (viewer.ui.story)
                tr["story"] = story.browser_track(view)
                # --- end story camera
                tr["follow"] = follow_track.browser_info(view)  # where the browser fetches a followed vehicle's track
                tr["ptr"] = self.pointers
                spec = load_views()[view]  # this view's, whichever view the shared scene holds now
                tr["units_per_km"] = spec.units_per_km
                tr["link_style"] = {k: self.scene.cfg["links"][k] for k in ("open", "blocked")}
                tr["body_radii_km"] = {"moon": constants.MOON_RADIUS_KM, "earth": constants.EARTH_EQUATORIAL_RADIUS_KM}
                tr["model_radius"] = self._model_radii()
                tr["texture_width"] = self._texture_widths(view, _reference_et(tr))
                tr["lighting"] = {
                    "sun_intensity": float(self.scene.cfg.get("sun_intensity", 1.0)),
                    "night_ambient": night_ambient(self.scene.cfg),
                }
                tr["bodies"] = [{"EARTH": "earth", "MOON": "moon"}[b] for b in spec.bodies if b in ("EARTH", "MOON")]
                self._tracks[view] = tr
            return self._tracks[view]

    def site_shadows(self, view: str, relief: float = 1.0) -> dict:
        """How the browser shades the site patch (``static/site_shadows.js``) in a view that shows it, at
        ``relief``: the horizon bytes and their encoding, the shadow fill and the site view's exposure (as the
        stills have them); empty elsewhere."""
        if "TERRAIN" not in load_views()[view].bodies or not self.scene.cfg.get("shadows", True):
            return {}
        key = float(relief)
        with self._lock:
            if key not in self._site_horizon:
                if self.scene.terrain_exaggeration != key:
                    self.scene.set_terrain_exaggeration(key)
                horizon = self.scene.site.horizon()
                self._site_horizon[key] = None if horizon is None else tracks_format.encode(horizon, "uint8")
                while len(self._site_horizon) > len(EXAGGERATIONS):
                    self._site_horizon.popitem(last=False)
            self._site_horizon.move_to_end(key)
            if self._site_horizon[key] is None:
                return {}
            return {
                "horizon": self._site_horizon[key],
                "azimuths": shadows.HORIZON_AZIMUTHS,
                "min_deg": shadows.HORIZON_MIN_DEG,
                "step_deg": shadows.HORIZON_STEP_DEG,
                "sun_radius_deg": shadows.SUN_RADIUS_DEG,
                "fill": float(self.scene.cfg["shadow_fill"]),
                "exposure": self.scene.cfg.get("site_exposure") or None,
            }

    def _model_radii(self) -> dict[str, float]:
        """Vehicle actor -> half the diagonal of its model's bounds (model units): the browser's size of a vehicle
        on screen, to decide when it needs a minimum-size marker."""
        out = {}
        for name in self.scene.cfg["vehicles"].values():
            actor = self.scene.actors.get(name["actor"])
            mapper = actor.GetMapper() if actor is not None and hasattr(actor, "GetMapper") else None
            if mapper is None or mapper.GetInput() is None:
                continue
            b = mapper.GetInput().GetBounds()
            out[name["actor"]] = 0.5 * float(np.linalg.norm([b[1] - b[0], b[3] - b[2], b[5] - b[4]]))
        return out

    def _bodies_over_mission(self, view: str, tr: dict) -> None:
        """Extend the Earth's, the Moon's and the Sun's tracks from the vehicles' span to the whole mission, so
        each body of the view is drawn and lit at every time the slider reaches."""
        if "t0" not in tr or "moon" not in tr.get("actors", {}):
            return
        lo, hi = mission_span(mission())
        before = np.arange(lo, tr["t0"], BODY_STEP_S)
        after = np.append(np.arange(tr["t1"] + BODY_STEP_S, hi, BODY_STEP_S), hi) if hi > tr["t1"] else []
        ets = np.concatenate([before, after])
        if not len(ets):
            return
        if self.scene.view.name != view:
            self.scene.set_view(view)
        poses = self.scene.poses(ets)
        for body, name in BODY_ACTORS.items():
            q = np.round(quaternions(poses.rotations[body]) * 32767)
            columns = {
                "p": (np.nan_to_num(poses.positions[body]), "float32"),
                "v": (np.nan_to_num(poses.velocities[body]), "float32"),
                "q": (q, "int16"),
                "vis": (poses.visible[body], "uint8"),
            }
            _merge_track(tr["actors"][name], ets, columns)
        if tr.get("sun", {}).get("t"):
            _merge_track(tr["sun"], ets, {"d": (poses.sun_dir, "float32")})

    def reference_et(self, view: str) -> float:
        """An epoch inside the view's track span (trails and links exist there), to serialise the template."""
        return _reference_et(self.tracks(view))

    def serialised(self, view: str, relief: float = 1.0) -> tuple[dict, dict, list]:
        """(scene, arrays, annotations) of Panel's vtk.js serialiser for ``view`` at ``relief``; cached."""
        key = (view, float(relief))
        with self._lock:
            if key not in self._serialised:
                rws.initializeSerializers()
                sc = self.scene
                et = self.reference_et(view)
                if sc.terrain_exaggeration != float(relief):
                    sc.set_terrain_exaggeration(float(relief))
                for layer in ("links", "trails", "labels"):
                    sc.layers[layer] = True
                sc.set_view(view, et=et)
                restore = self._lighten_bodies()
                ren_win = sc.plotter.ren_win
                context = rws.SynchronizationContext(id_root=ID_ROOT)
                ren_win.OffScreenRenderingOn()
                ren_win.Modified()
                ren_win.Render()
                scene = rws.serializeInstance(None, ren_win, context.getReferenceId(ren_win), context, 0)
                scene["properties"]["numberOfLayers"] = 2
                _trim_unused_colour_maps(scene)
                arrays = {}
                for name in context.dataArrayCache:
                    data = context.getCachedDataArray(name, binary=True, compression=False)
                    arrays[name] = self._arrays.setdefault(name, data)
                restore()
                self._serialised[key] = (scene, arrays, context.getAnnotations())
                self._evict_serialised()
            self._serialised.move_to_end(key)
            return self._serialised[key]

    def _evict_serialised(self) -> None:
        """Drop the least recently used serialisations at a relief other than 1 beyond EXTRA_RELIEFS, and the
        arrays no kept serialisation refers to; hand the freed memory back to the system."""
        extra = [k for k in self._serialised if k[1] != 1.0]
        if len(extra) <= EXTRA_RELIEFS:
            return
        for k in extra[: len(extra) - EXTRA_RELIEFS]:
            del self._serialised[k]
        live = {name for _, arrays, _ in self._serialised.values() for name in arrays}
        for name in [n for n in self._arrays if n not in live]:
            del self._arrays[name]
        trim_heap()

    # per-view level of detail of the three big bodies (the first-payload budget)
    def _variant(self, name: str, level: str):
        """(mesh, texture or None) of body actor ``name`` at ``level`` ("low" or "tiny"), built once."""
        key = (name, level)
        if key not in self._variants:
            b = self.scene.bodies
            mesh = {"moon": b.moon, "earth": b.earth, "terrain": b.terrain}[name]
            img = {"moon": b.moon_texture, "earth": b.earth_texture, "terrain": b.moon_texture}[name]
            keep = LOD_CELLS[level]
            reduction = max(0.0, 1.0 - keep / max(mesh.n_cells, 1))
            low = mesh.decimate(reduction, enable_all_attribute_error=True) if reduction > 0 else mesh.copy()
            tex = pv.Texture(_downscale(img, LOD_TEXTURE_WIDTH[level]))
            self._variants[key] = (low, tex)
        return self._variants[key]

    def _body_level(self, actor, cam: np.ndarray) -> str | None:
        """The level of detail a body actor needs now: "tiny" hidden, "low" far from the camera, None in full."""
        if not actor.GetVisibility():
            return "tiny"
        m = actor.GetUserMatrix()
        pos = np.array([m.GetElement(i, 3) for i in range(3)]) if m is not None else np.zeros(3)
        scale = np.linalg.norm([m.GetElement(i, 0) for i in range(3)]) if m is not None else 1.0
        b = actor.GetMapper().GetInput().GetBounds()
        radius = 0.5 * max(b[1] - b[0], b[3] - b[2], b[5] - b[4]) * scale
        return "low" if np.linalg.norm(pos - cam) / max(radius, 1e-9) > FAR_RATIO else None

    def _body_levels(self) -> dict[str, str | None]:
        """Body actor -> its level of detail in the scene's current view and camera."""
        cam = np.asarray(self.scene.plotter.camera.position, float)
        return {
            name: self._body_level(self.scene.actors[name], cam) for name in LOD_BODIES if name in self.scene.actors
        }

    def _texture_widths(self, view: str, et: float) -> dict[str, int]:
        """Body actor -> the width of the texture its serialisation for ``view`` carries. The browser's
        synchroniser adds each texture an actor is given and never removes one, so after a few view switches an
        actor holds several; the browser puts this one first (the one vtk.js draws)."""
        self.scene.set_view(view, et=et)
        out = {}
        for name, level in self._body_levels().items():
            texture = self.scene.actors[name].GetTexture() if level is None else self._variant(name, level)[1]
            if texture is not None and texture.GetInput() is not None:
                out[name] = int(texture.GetInput().GetDimensions()[0])
        return out

    def _lighten_bodies(self):
        """Swap hidden or far bodies for light meshes and textures while serialising; returns the undo."""
        sc = self.scene
        undo = []
        for name, level in self._body_levels().items():
            if level is None:
                continue
            actor = sc.actors[name]
            mesh, tex = self._variant(name, level)
            mapper = actor.GetMapper()
            undo.append((actor, mapper.GetInput(), actor.GetTexture()))
            mapper.SetInputData(mesh)
            actor.SetTexture(tex)

        # Panel's serialiser fails on a dataset without points (e.g. the trail of a vehicle absent from this view):
        # give those a two-point placeholder for the serialisation
        for actor in sc.actors.values():
            mapper = actor.GetMapper() if hasattr(actor, "GetMapper") else None
            data = mapper.GetInput() if mapper is not None else None
            if data is not None and data.GetNumberOfPoints() == 0:
                undo.append((actor, data, actor.GetTexture()))
                mapper.SetInputData(pv.PolyData(np.zeros((2, 3)), lines=np.array([2, 0, 1])))

        def restore():
            for actor, mesh, tex in reversed(undo):
                actor.GetMapper().SetInputData(mesh)
                actor.SetTexture(tex)

        return restore

    def camera(self, view: str, et: float | None = None) -> dict:
        """The view's preset camera at ``et`` as vtk.js camera properties (position, focalPoint, viewUp, viewAngle)."""
        with self._lock:
            tr = self.tracks(view)
            et = self.reference_et(view) if et is None else min(max(float(et), tr.get("t0", et)), tr.get("t1", et))
            self.scene.set_view(view, et=et)
            cam = self.scene.plotter.camera
            return {
                "position": list(cam.position),
                "focalPoint": list(cam.focal_point),
                "viewUp": list(cam.up),
                "viewAngle": float(cam.view_angle),
            }


def _reference_et(tr: dict) -> float:
    return 0.5 * (tr["t0"] + tr["t1"]) if "t0" in tr else mission_span(mission())[0]


def _trim_unused_colour_maps(node) -> None:
    """Drop all but two nodes of colour maps that no scalars use (about 23 kB of JSON per actor)."""
    if isinstance(node, dict):
        props = node.get("properties", {})
        if str(node.get("type", "")).endswith("Mapper") and not props.get("scalarVisibility", 1):
            for dep in node.get("dependencies", []):
                nodes = dep.get("properties", {}).get("nodes")
                if (
                    str(dep.get("type", "")) == "vtkColorTransferFunction"
                    and isinstance(nodes, list)
                    and len(nodes) > 2
                ):
                    dep["properties"]["nodes"] = [nodes[0], nodes[-1]]
        for dep in node.get("dependencies", []):
            _trim_unused_colour_maps(dep)


@functools.cache
def shared_scene() -> SharedScene:
    return SharedScene()


@functools.cache
def ground(lang: str) -> dict:
    """The site's ground (viewer.terrain.provenance) in ``lang``; {} where the terrain cannot be read."""
    try:
        return terrain.provenance(lang=lang)
    except DATA_ERRORS as exc:
        _unavailable("the terrain's source", exc)
        return {}
