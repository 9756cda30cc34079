"""Process-wide, read-only data of the web app: built once, shared by every session (style.md §7.3).

- :func:`mission`, :func:`relay_strip`, :func:`horizon_data`: mission facts and derived tables (JSON-able).
- :class:`SharedScene`: ONE server-side :class:`~viewer.scene.scene.MissionScene` (web meshes, a 300×300 window
  without anti-aliasing). For each (view, relief) it is serialised once for vtk.js and the result is cached; the
  per-view sample tracks are exported once and cached too. Sessions never build a scene of their own: the
  browser animates from the tracks (design rule 4), so the server scene is only a template.

Panel's serialiser is used with a fixed id root, so an actor keeps the same id in every view and the browser
finds it with ``getActors(ptr)``. Data arrays are shared between cached serialisations by content hash.

Nothing here imports Panel at module level except through :mod:`panel.pane.vtk`'s serialiser, which is part of
the UI layer.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from pathlib import Path

import numpy as np

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from viewer import paths  # noqa: E402

ID_ROOT = "ce6"
SERVER_WINDOW = (300, 300)
EARTH_SAMPLE_S = 1800.0
TEXTURE_WIDTH = {"moon": 1024, "earth": 512}  # browser textures, pixels across
# Bodies farther than FAR_RATIO radii from a view's preset camera, or hidden in it, are sent as light meshes
LOD_CELLS = {"low": 8000, "tiny": 200}
LOD_TEXTURE_WIDTH = {"low": 256, "tiny": 16}
FAR_RATIO = 60.0


@functools.cache
def furnish() -> None:
    from viewer import kernels

    kernels.furnish()


WEB_EXCLUDED_VIEWS = ("follow",)  # its whole-mission metre-scale tracks are ~10 MB: over the browser budget


@functools.cache
def tracks_cache_key() -> str:
    """Hash of what the tracks depend on: loaded kernels (name, size, mtime), assets and the scene's code."""
    from viewer import kernels

    furnish()
    h = hashlib.sha256(b"web-tracks-1")
    files = [Path(k) for k in kernels.loaded_kernels()]
    files += sorted(paths.ASSETS_DIR.glob("*.yaml"))
    files += sorted((paths.PACKAGE_DIR / "scene").glob("*.py"))
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def web_views() -> list[str]:
    """The views the web app offers (all of ``assets/views.yaml`` but :data:`WEB_EXCLUDED_VIEWS`)."""
    return [v for v in views() if v not in WEB_EXCLUDED_VIEWS]


def warm(log=print) -> None:
    """Prepare every web view (tracks and serialisation) once, before the first visitor."""
    import time

    sh = shared_scene()
    for v in [default_view()] + [v for v in web_views() if v != default_view()]:
        t0 = time.perf_counter()
        sh.tracks(v)
        sh.serialised(v)
        log(f"  view {v}: ready in {time.perf_counter() - t0:.1f} s")
    relay_strip()
    horizon_data()


@functools.cache
def mission():
    from viewer.mission import load_mission

    return load_mission()


@functools.cache
def views() -> dict:
    from viewer.scene.views import load_views

    return load_views()


@functools.cache
def default_view() -> str:
    from viewer.scene.views import default_view as dv

    return dv()


def _b64(a: np.ndarray, dtype: str) -> dict:
    from viewer.scene.tracks import _array

    return _array(np.asarray(a), dtype, "base64")


@functools.cache
def relay_strip() -> dict:
    """Per-link open windows (ET) for the timeline strip, grouped by the relay path a visitor cares about."""
    furnish()
    try:
        from viewer import links

        strip = links.timeline_strip()
    except Exception as exc:  # no mission kernels: the strip shows no windows and says why
        return {"links": [], "rows": [], "note": f"relay windows unavailable ({exc.__class__.__name__}: {exc})"[:200]}
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
    for label, group in (("Lander/ascender ↔ Queqiao-2", relay), ("Queqiao-2 ↔ ground", ground)):
        wins = links.union([[tuple(w) for w in lk["windows"]] for lk in group]) if group else []
        if wins:
            rows.append({"label": label, "windows": [list(w) for w in wins]})
    return {"links": out, "rows": rows, "note": strip.get("geometry", "")}


@functools.cache
def horizon_data() -> dict:
    """The site's terrain horizon and Earth's azimuth/elevation there over the mission (ET grid), for the panel."""
    furnish()
    m = mission()
    from viewer.ui.state import mission_span

    t0, t1 = mission_span(m)
    ets = np.arange(t0, t1 + EARTH_SAMPLE_S, EARTH_SAMPLE_S)
    try:
        from viewer import ephemeris, links

        model = links.default_model()
        h = model.horizon
        # the site is fixed on the Moon: its offset from the Moon's centre in CHANGE6_TOPO is constant, so the
        # Earth's direction from the site is known for the whole mission, not only while the lander is there
        cov = links.body_coverage("CHANGE6_SITE")
        offset = ephemeris.positions("CHANGE6_SITE", [cov[0][0]], observer="MOON", frame="CHANGE6_TOPO")[0]
        ets_s = ets[:: max(1, len(ets) // 4000)]
        rel = ephemeris.positions("EARTH", ets_s, observer="MOON", frame="CHANGE6_TOPO") - offset
        az, el = links.azimuth_elevation_deg(rel)
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
    except Exception as exc:
        return {"ok": False, "note": f"horizon unavailable ({exc.__class__.__name__}: {exc})"[:200]}


@functools.cache
def stations_itrf_km() -> dict:
    """Ground stations' body-fixed (ITRF93) positions, km: the browser places relay-link ends on the Earth."""
    furnish()
    try:
        import spiceypy

        from viewer import links

        model = links.default_model()
        radii = spiceypy.bodvrd("EARTH", "RADII", 3)[1]
        return {sid: [float(x) for x in st.position_km(radii[0], radii[2])] for sid, st in model.stations.items()}
    except Exception:
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
    """The scene's browser meshes with textures reduced to the first-payload budget (design rule 7)."""
    from dataclasses import replace

    from viewer.scene.scene import body_meshes

    b = body_meshes("browser")
    return replace(
        b,
        moon_texture=_downscale(b.moon_texture, TEXTURE_WIDTH["moon"]),
        earth_texture=_downscale(b.earth_texture, TEXTURE_WIDTH["earth"]),
    )


class SharedScene:
    """One server-side scene, serialised once per (view, relief) and cached, plus each view's tracks."""

    def __init__(self):
        from viewer.scene.scene import MissionScene

        furnish()
        self._lock = threading.RLock()
        self.scene = MissionScene(default_view(), web=True, window_size=SERVER_WINDOW, bodies=web_bodies())
        self._serialised: dict[tuple, tuple] = {}
        self._tracks: dict[str, dict] = {}
        self._arrays: dict[str, bytes] = {}  # content hash -> bytes, shared by every cached serialisation
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
                path = paths.cache_dir() / "web" / f"tracks-{view}-{tracks_cache_key()}.json"
                tr = None
                if path.exists():
                    try:
                        tr = json.loads(path.read_text(encoding="utf-8"))
                    except (OSError, ValueError):
                        tr = None
                if tr is None:
                    tr = self.scene.export_tracks(view)
                    for old in path.parent.glob(f"tracks-{view}-*.json"):
                        old.unlink(missing_ok=True)
                    paths.atomic_write_text(path, json.dumps(tr))
                tr["stations_km"] = stations_itrf_km()
                tr["ptr"] = self.pointers
                tr["camera_distance"] = self.scene.view.camera.distance
                tr["units_per_km"] = self.scene.view.units_per_km
                tr["link_style"] = {k: self.scene.cfg["links"][k] for k in ("open", "blocked")}
                tr["bodies"] = [
                    {"EARTH": "earth", "MOON": "moon"}[b] for b in self.scene.view.bodies if b in ("EARTH", "MOON")
                ]
                self._tracks[view] = tr
            return self._tracks[view]

    def reference_et(self, view: str) -> float:
        """An epoch inside the view's track span (trails and links exist there), to serialise the template."""
        tr = self.tracks(view)
        if "t0" in tr:
            return 0.5 * (tr["t0"] + tr["t1"])
        from viewer.ui.state import mission_span

        return mission_span(mission())[0]

    def serialised(self, view: str, relief: float = 1.0) -> tuple[dict, dict, list]:
        """(scene, arrays, annotations) of Panel's vtk.js serialiser for ``view`` at ``relief``; cached."""
        key = (view, float(relief))
        with self._lock:
            if key not in self._serialised:
                import panel.pane.vtk.synchronizable_serializer as rws

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
            return self._serialised[key]

    # per-view level of detail of the three big bodies (the first-payload budget, design rule 7)
    def _variant(self, name: str, level: str):
        """(mesh, texture or None) of body actor ``name`` at ``level`` ("low" or "tiny"), built once."""
        import pyvista as pv

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

    def _lighten_bodies(self):
        """Swap hidden or far bodies for light meshes and textures while serialising; returns the undo."""
        import numpy as np

        sc = self.scene
        cam = np.asarray(sc.plotter.camera.position, float)
        undo = []
        for name in ("moon", "earth", "terrain"):
            actor = sc.actors.get(name)
            if actor is None:
                continue
            if not actor.GetVisibility():
                level = "tiny"
            else:
                m = actor.GetUserMatrix()
                pos = np.array([m.GetElement(i, 3) for i in range(3)]) if m is not None else np.zeros(3)
                scale = np.linalg.norm([m.GetElement(i, 0) for i in range(3)]) if m is not None else 1.0
                b = actor.GetMapper().GetInput().GetBounds()
                radius = 0.5 * max(b[1] - b[0], b[3] - b[2], b[5] - b[4]) * scale
                far = np.linalg.norm(pos - cam) / max(radius, 1e-9) > FAR_RATIO
                level = "low" if far else None
            if level is None:
                continue
            mesh, tex = self._variant(name, level)
            mapper = actor.GetMapper()
            undo.append((actor, mapper.GetInput(), actor.GetTexture()))
            mapper.SetInputData(mesh)
            actor.SetTexture(tex)

        # Panel's serialiser fails on a dataset without points (e.g. the trail of a vehicle absent from this view):
        # give those a two-point placeholder for the serialisation
        import pyvista as pv

        for name, actor in sc.actors.items():
            mapper = actor.GetMapper() if hasattr(actor, "GetMapper") else None
            data = mapper.GetInput() if mapper is not None else None
            if data is not None and data.GetNumberOfPoints() == 0:
                undo.append((actor, data, actor.GetTexture()))
                mapper.SetInputData(pv.PolyData(np.zeros((2, 3)), lines=np.array([2, 0, 1])))

        def restore():
            for actor, mesh, tex in undo:
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
