"""Where every actor of the scene is, and how it is turned, at a set of epochs: SPICE states -> render poses.

One vectorised function, :func:`poses`, serves both the live scene (one epoch per ``update``) and the browser tracks
(thousands of epochs at once), so the two can never disagree.

- **States** come only from :mod:`viewer.ephemeris` (design rule 2), relative to the Moon in J2000, and are
  differenced in float64 before anything becomes a render coordinate (floating origin, design rule 6).
- **Stacks.** Vehicles whose SPICE positions coincide (the trajectory build writes identical states for stacked
  vehicles) form one vehicle. A member is drawn at its parent's pose plus a fixed offset in the parent's body
  frame (``assets/scene.yaml`` ``stack``; grade: assumed). The stack splits and rejoins exactly when the kernels do.
- **Attitudes** (grade: assumed; none was published). Body axes as in :mod:`viewer.scene.models` (+Z = thrust):

  * coast: +Z prograde (velocity about the nearer of Moon/Earth), wings' cells (+X) turned towards the Sun;
  * powered arcs (``kernels/change6_manoeuvres.json``): +Z along the thrust acceleration, the SPICE acceleration
    (central difference of SPK velocities) minus the central body's point-mass gravity;
  * impulsive manoeuvres: +Z along the manifest's Δv for ``impulsive_window_s`` either side;
  * surface arcs: +Z up (the local radial), +X east;
  * atmosphere arcs (the returner): heat shield (−Z) into the flow, +Z = −v;
  * Queqiao-2: the dish (+X) at its link target: the free ascender, else the lander while it carries the
    ascender and is off the orbiter, else the Earth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml
from spiceypy.utils.exceptions import SpiceyError

from viewer import ephemeris, kernels, paths
from viewer.constants import VEHICLES
from viewer.errors import CoverageError, DataError, KernelError

LUNAR_SOI_KM = 66_100.0  # Laplace sphere of influence of the Moon about the Earth (a ≈ 384,400 km, mass ratio)
VEHICLE_ORDER = ("CHANGE6_ORBITER", "QUEQIAO_2", "CHANGE6_LANDER", "CHANGE6_RETURNER", "CHANGE6_ASCENDER")


@lru_cache(maxsize=2)
def scene_config(path: str | None = None) -> dict:
    """``assets/scene.yaml`` as a dict (cached)."""
    p = Path(path or paths.ASSETS_DIR / "scene.yaml")
    if not p.exists():
        raise DataError(f"{p} is missing; restore it from the repository (`git checkout assets/scene.yaml`)", path=p)
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"{p} is not valid YAML ({exc.__class__.__name__})", path=p) from None


@lru_cache(maxsize=1)
def manifest() -> dict:
    """The trajectory build's manifest (manoeuvres, arcs, events), or empty lists where it is not built yet."""
    path = paths.KERNELS_DIR / "change6_manoeuvres.json"
    if not path.exists():
        return {"manoeuvres": [], "arcs": [], "events": []}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        raise DataError(f"{path} is corrupt; rebuild it with `python -m viewer kernels build`", path=path) from None


def coverage(name: str) -> tuple[float, float] | None:
    """(start_et, end_et) of ``name``'s SPK coverage, or None where no loaded kernel covers it."""
    kernels.furnish()
    try:
        return kernels.coverage(name)
    except (KernelError, SpiceyError):  # no loaded SPK covers it, or SPICE does not know the name
        return None


def covered(name: str, ets: np.ndarray) -> np.ndarray:
    cov = coverage(name)
    if cov is None:
        return np.zeros(len(ets), bool)
    return (ets >= cov[0]) & (ets <= cov[1])


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise a × b of (N,3) arrays (either may be a single (3,) vector): ``np.cross`` costs ~20× more at N = 1,
    the size of every per-frame call."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.take(a, _ROLL1, axis=-1) * np.take(b, _ROLL2, axis=-1) - np.take(a, _ROLL2, axis=-1) * np.take(
        b, _ROLL1, axis=-1
    )


_ROLL1, _ROLL2 = np.array([1, 2, 0]), np.array([2, 0, 1])


def _nan_to(x: np.ndarray, value: float = 0.0) -> np.ndarray:
    """``x`` with NaN replaced by ``value`` (SPICE states are finite or NaN where uncovered; a cheap nan_to_num)."""
    return np.where(np.isnan(x), value, x)


def frame_from_z(z: np.ndarray, hint_x: np.ndarray, fallback_x=(1.0, 0.0, 0.0)) -> np.ndarray:
    """(N,3,3) rotations whose columns are x, y, z: z given, x = ``hint_x`` made orthogonal to z."""
    z = _unit(z)
    x = hint_x - np.sum(hint_x * z, axis=-1, keepdims=True) * z
    bad = np.linalg.norm(x, axis=-1) < 1e-9
    if bad.any():
        fb = np.broadcast_to(np.asarray(fallback_x, float), x.shape).copy()
        alt = np.where(np.abs(z[..., :1]) > 0.9, [[0.0, 1.0, 0.0]], fb)
        x2 = alt - np.sum(alt * z, axis=-1, keepdims=True) * z
        x = np.where(bad[:, None], x2, x)
    x = _unit(x)
    y = _cross(z, x)
    return np.stack([x, y, z], axis=-1)


def frame_from_x(x: np.ndarray, hint_z: np.ndarray) -> np.ndarray:
    """(N,3,3) rotations with x given and z = ``hint_z`` made orthogonal to x."""
    x = _unit(x)
    z = hint_z - np.sum(hint_z * x, axis=-1, keepdims=True) * x
    bad = np.linalg.norm(z, axis=-1) < 1e-9
    if bad.any():
        z = np.where(bad[:, None], _cross(x, [0.0, 1.0, 0.0]), z)
    z = _unit(z)
    y = _cross(z, x)
    return np.stack([x, y, z], axis=-1)


def quaternions(rot: np.ndarray) -> np.ndarray:
    """(N,4) unit quaternions (w, x, y, z) of (N,3,3) rotation matrices (Shepperd's method), w ≥ 0."""
    m = rot
    n = len(m)
    q = np.empty((n, 4))
    tr = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    cands = np.stack([tr, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], axis=1)
    k = np.argmax(cands, axis=1)
    for i in range(4):
        s = k == i
        if not s.any():
            continue
        a = m[s]
        if i == 0:
            r = np.sqrt(1.0 + tr[s]) * 2
            q[s] = np.stack(
                [0.25 * r, (a[:, 2, 1] - a[:, 1, 2]) / r, (a[:, 0, 2] - a[:, 2, 0]) / r, (a[:, 1, 0] - a[:, 0, 1]) / r],
                axis=1,
            )
        elif i == 1:
            r = np.sqrt(1.0 + a[:, 0, 0] - a[:, 1, 1] - a[:, 2, 2]) * 2
            q[s] = np.stack(
                [(a[:, 2, 1] - a[:, 1, 2]) / r, 0.25 * r, (a[:, 0, 1] + a[:, 1, 0]) / r, (a[:, 0, 2] + a[:, 2, 0]) / r],
                axis=1,
            )
        elif i == 2:
            r = np.sqrt(1.0 + a[:, 1, 1] - a[:, 0, 0] - a[:, 2, 2]) * 2
            q[s] = np.stack(
                [(a[:, 0, 2] - a[:, 2, 0]) / r, (a[:, 0, 1] + a[:, 1, 0]) / r, 0.25 * r, (a[:, 1, 2] + a[:, 2, 1]) / r],
                axis=1,
            )
        else:
            r = np.sqrt(1.0 + a[:, 2, 2] - a[:, 0, 0] - a[:, 1, 1]) * 2
            q[s] = np.stack(
                [(a[:, 1, 0] - a[:, 0, 1]) / r, (a[:, 0, 2] + a[:, 2, 0]) / r, (a[:, 1, 2] + a[:, 2, 1]) / r, 0.25 * r],
                axis=1,
            )
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


@lru_cache(maxsize=4)
def _gm(body: str) -> float:
    import spiceypy

    kernels.furnish()
    return float(spiceypy.bodvrd(body, "GM", 1)[1][0])


def rotations(from_frame: str, to_frame: str, ets, max_step_s: float | None = None) -> np.ndarray:
    """(N,3,3) rotations from ``from_frame`` to ``to_frame`` at ``ets`` (any order). Long arrays use SPICE at knots
    ``max_step_s`` apart and slerp between them: the frames here turn steadily about a nearly fixed axis, so slerp
    is exact to far below a pixel."""
    ets = np.atleast_1d(np.asarray(ets, dtype=np.float64))
    if from_frame == to_frame:
        return np.broadcast_to(np.eye(3), (len(ets), 3, 3)).copy()
    lo, hi = (float(ets.min()), float(ets.max())) if len(ets) else (0.0, 0.0)
    if max_step_s is None or len(ets) < 64 or hi - lo < 2 * max_step_s:
        return ephemeris.rotation(from_frame, to_frame, ets)
    from scipy.spatial.transform import Rotation, Slerp

    n = int(np.ceil((hi - lo) / max_step_s))
    knots = np.linspace(lo, hi, n + 1)
    rk = ephemeris.rotation(from_frame, to_frame, knots)
    return Slerp(knots, Rotation.from_matrix(rk))(np.clip(ets, lo, hi)).as_matrix()


@dataclass
class Poses:
    """Render poses at ``ets`` for one view: positions in render units relative to the view's origin."""

    ets: np.ndarray
    units_per_km: float
    positions: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (N,3) render units
    velocities: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (N,3) render units / s
    rotations: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (N,3,3) body -> view frame
    visible: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (N,) bool
    stacked_on: dict[str, np.ndarray] = field(default_factory=dict)  # vehicle -> (N,) parent name or ""
    offsets_m: dict[str, np.ndarray] = field(default_factory=dict)  # vehicle -> (N,3) stack offset, body frame
    sun_dir: np.ndarray | None = None  # (N,3) unit vector, view frame
    earth_dir: np.ndarray | None = None  # (N,3) unit vector from the origin to the Earth, view frame
    relative_km: dict[str, np.ndarray] = field(default_factory=dict)  # SPICE position rel. origin, view frame, km


class Kinematics:
    """SPICE-driven poses for one view (``center`` body, ``frame``, unit) and an optional followed vehicle."""

    def __init__(self, view, follow: str | None = None, center: str | None = None):
        self.view = view
        self.follow = follow
        self.center = center or view.center
        self.frame = view.frame
        self.cfg = scene_config()
        man = manifest()
        self.arcs = man.get("arcs", [])
        self.manoeuvres = man.get("manoeuvres", [])
        self.events = man.get("events", [])
        self.stack_tol_km = float(self.cfg["stack"]["tolerance_m"]) / 1000.0
        self.parents = {
            v: [(p["parent"], np.asarray(p["offset_m"], float)) for p in lst]
            for v, lst in self.cfg["stack"]["parents"].items()
        }
        att = self.cfg["attitude"]
        self.impulse_window_s = float(att["impulsive_window_s"])
        self.vehicles = [v for v in VEHICLE_ORDER if v in VEHICLES]
        # arcs and manoeuvres as arrays per vehicle, built once (update(et) asks for them on every frame)
        self._arc_spans: dict[tuple[str, str], np.ndarray] = {}
        for a in self.arcs:
            for v in a.get("vehicles", ()):
                self._arc_spans.setdefault((v, a.get("kind")), []).append((a["start_et"], a["end_et"]))
        self._arc_spans = {k: np.asarray(v, float).reshape(-1, 2) for k, v in self._arc_spans.items()}
        self._impulses: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for m in self.manoeuvres:
            dv = np.asarray(m.get("dv_km_s", (0, 0, 0)), float)
            if not np.linalg.norm(dv) > 0:
                continue
            dur = float(m.get("duration_s", 0.0))
            w = self.impulse_window_s if dur == 0 else 0.0
            spans, dirs = self._impulses.setdefault(m.get("vehicle"), ([], []))
            spans.append((m["et"] - w, m["et"] + dur + w))
            dirs.append(dv / np.linalg.norm(dv))
        self._impulses = {
            v: (np.asarray(s, float).reshape(-1, 2), np.asarray(d, float).reshape(-1, 3))
            for v, (s, d) in self._impulses.items()
        }

    # ---------------------------------------------------------------------------------------------- arcs
    def _arc_mask(self, vehicle: str, kind: str, ets: np.ndarray) -> np.ndarray:
        spans = self._arc_spans.get((vehicle, kind))
        if spans is None:
            return np.zeros(len(ets), bool)
        return ((ets[:, None] >= spans[:, 0]) & (ets[:, None] <= spans[:, 1])).any(axis=1)

    def _impulse_dirs(self, vehicle: str, ets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Epochs inside a manoeuvre of ``vehicle`` and its Δv direction there (the last manoeuvre listed wins)."""
        dirs = np.zeros((len(ets), 3))
        if vehicle not in self._impulses:
            return np.zeros(len(ets), bool), dirs
        spans, unit = self._impulses[vehicle]
        inside = (ets[:, None] >= spans[:, 0]) & (ets[:, None] <= spans[:, 1])  # (N, M)
        mask = inside.any(axis=1)
        last = len(spans) - 1 - np.argmax(inside[:, ::-1], axis=1)
        dirs[mask] = unit[last[mask]]
        return mask, dirs

    # ---------------------------------------------------------------------------------------------- states
    def states_moon(self, name: str, ets: np.ndarray) -> np.ndarray:
        """(N,6) J2000 states relative to the Moon (km, km/s); NaN where not covered."""
        out = np.full((len(ets), 6), np.nan)
        if name == "MOON":
            out[:] = 0.0
            return out
        ok = covered(name, ets) if name in VEHICLES else np.ones(len(ets), bool)
        if ok.any():
            try:
                out[ok] = ephemeris.states(name, ets[ok], observer="MOON", frame="J2000")
            except (CoverageError, SpiceyError):  # a gap inside the widest coverage: one by one, NaN where uncovered
                for i in np.flatnonzero(ok):
                    try:
                        out[i] = ephemeris.states(name, ets[i : i + 1], observer="MOON", frame="J2000")[0]
                    except (CoverageError, SpiceyError):
                        continue
        return out

    def choose_center(self, et: float) -> str:
        """For the follow view: the nearer of Moon and Earth to the followed vehicle at ``et``."""
        if self.view.center != "AUTO":
            return self.view.center
        s = self.states_moon(self.follow or "CHANGE6_ORBITER", np.array([et]))[0]
        if not np.isfinite(s[0]):
            return "MOON"
        return "MOON" if np.linalg.norm(s[:3]) < LUNAR_SOI_KM else "EARTH"

    # ---------------------------------------------------------------------------------------------- poses
    def poses(self, ets, scale: float | None = None, need: tuple[str, ...] | None = None) -> Poses:
        """Poses of every vehicle and body at ``ets`` in this view's render units (see module docstring)."""
        ets = np.array(np.atleast_1d(ets), dtype=float)  # a writable copy (SPICE's vector calls need one)
        n = len(ets)
        k = self.view.units_per_km
        scale = self.view.spacecraft_scale if scale is None else scale
        m_to_units = k / 1000.0 * scale
        earth = self.states_moon("EARTH", ets)
        sun = self.states_moon("SUN", ets)
        center = self.center if self.center != "AUTO" else "MOON"
        c_state = (
            self.states_moon(center, ets)
            if center not in ("MOON", "EARTH")
            else (np.zeros((n, 6)) if center == "MOON" else earth)
        )
        to_view = rotations("J2000", self.frame, ets, max_step_s=3600.0)
        # vehicles: states relative to the Moon, J2000
        st = {v: self.states_moon(v, ets) for v in self.vehicles}
        vis = {v: np.isfinite(st[v][:, 0]) for v in self.vehicles}
        origin = c_state.copy()
        if self.follow:
            origin = np.where(vis[self.follow][:, None], st[self.follow], c_state)
        out = Poses(ets=ets, units_per_km=k)
        moon_me = rotations("MOON_ME", "J2000", ets, max_step_s=3600.0)
        sun_dir = _unit(sun[:, :3])
        # attitudes (body -> J2000)
        rot_j = {}
        for v in self.vehicles:
            rot_j[v] = self._attitude(v, ets, st, earth, sun_dir, moon_me, vis)
        # stacks
        parent_of = {v: np.full(n, "", dtype=object) for v in self.vehicles}
        offset_of = {v: np.zeros((n, 3)) for v in self.vehicles}
        for v in self.vehicles:
            for parent, off in self.parents.get(v, []):
                if parent not in st:
                    continue
                d = np.linalg.norm(st[v][:, :3] - st[parent][:, :3], axis=1)
                s = (parent_of[v] == "") & vis[v] & vis[parent] & (d < self.stack_tol_km)
                parent_of[v][s] = parent
                offset_of[v][s] = off
        # place: roots first, then members in VEHICLE_ORDER (parents precede children)
        pos_u, vel_u, rot_v = {}, {}, {}
        for v in self.vehicles:
            rel = st[v][:, :3] - origin[:, :3]
            rel_v = st[v][:, 3:] - origin[:, 3:]
            p = np.einsum("nij,nj->ni", to_view, rel) * k
            vv = np.einsum("nij,nj->ni", to_view, rel_v) * k
            r = np.einsum("nij,njk->nik", to_view, rot_j[v])
            out.relative_km[v] = p / k
            for parent in {p_ for p_ in parent_of[v] if p_}:
                s = parent_of[v] == parent
                r[s] = rot_v[parent][s]
                p[s] = pos_u[parent][s] + np.einsum("nij,nj->ni", rot_v[parent][s], offset_of[v][s]) * m_to_units
                vv[s] = vel_u[parent][s]
            pos_u[v], vel_u[v], rot_v[v] = p, vv, r
            out.positions[v] = p
            out.velocities[v] = vv
            out.rotations[v] = r
            out.visible[v] = vis[v]
            out.stacked_on[v] = parent_of[v]
            out.offsets_m[v] = offset_of[v]
        # bodies
        itrf = rotations("ITRF93", "J2000", ets, max_step_s=900.0)  # 3.75° of Earth rotation between knots
        for body, state, rot in (("EARTH", earth, itrf), ("MOON", np.zeros((n, 6)), moon_me)):
            rel = state[:, :3] - origin[:, :3]
            out.relative_km[body] = np.einsum("nij,nj->ni", to_view, rel)
            out.positions[body] = out.relative_km[body] * k
            out.velocities[body] = np.einsum("nij,nj->ni", to_view, state[:, 3:] - origin[:, 3:]) * k
            out.rotations[body] = np.einsum("nij,njk->nik", to_view, rot)
            out.visible[body] = np.ones(n, bool)
        out.sun_dir = _unit(np.einsum("nij,nj->ni", to_view, sun[:, :3] - origin[:, :3]))
        out.earth_dir = _unit(out.relative_km["EARTH"])
        return out

    # ---------------------------------------------------------------------------------------------- attitude
    def _attitude(self, v, ets, st, earth, sun_dir, moon_me, vis) -> np.ndarray:
        s = st[v]
        r_moon = s[:, :3]
        near_moon = np.linalg.norm(_nan_to(r_moon, 1e9), axis=1) < LUNAR_SOI_KM
        r = np.where(near_moon[:, None], r_moon, r_moon - earth[:, :3])
        vel = np.where(near_moon[:, None], s[:, 3:], s[:, 3:] - earth[:, 3:])
        r, vel = _nan_to(r), _nan_to(vel)
        if v == "QUEQIAO_2":
            target = earth[:, :3] - r_moon
            for cand in ("CHANGE6_ASCENDER", "CHANGE6_LANDER"):
                if cand not in st:
                    continue
                free = self._free_far_side(cand, st, vis)
                target = np.where(free[:, None], st[cand][:, :3] - r_moon, target)
            return frame_from_x(_nan_to(target, 1.0), _nan_to(sun_dir))
        z = vel.copy()
        # surface: +Z up, +X east
        surf = self._arc_mask(v, "surface", ets)
        if surf.any():
            up = _unit(r[surf])
            pole = np.where(near_moon[surf][:, None], moon_me[surf][:, :, 2], [[0.0, 0.0, 1.0]])
            east = _cross(pole, up)
            return_rot = frame_from_z(up, east)
        # atmosphere: heat shield first
        atm = self._arc_mask(v, "atmosphere", ets)
        z = np.where(atm[:, None], -vel, z)
        # impulsive and finite manoeuvres from the manifest
        imp, dirs = self._impulse_dirs(v, ets)
        z = np.where(imp[:, None], dirs, z)
        # powered arcs: thrust acceleration from SPICE
        pw = self._arc_mask(v, "powered", ets)
        if pw.any():
            z[pw] = self._thrust_dirs(v, ets[pw], near_moon[pw], fallback=z[pw])
        rot = frame_from_z(np.where(np.linalg.norm(z, axis=1)[:, None] > 0, z, [[0.0, 0.0, 1.0]]), _nan_to(sun_dir))
        if surf.any():
            rot[surf] = return_rot
        return rot

    def _free_far_side(self, cand: str, st, vis) -> np.ndarray:
        """``cand`` is a relay target: covered, off the orbiter, and (for the lander) still carrying the ascender."""
        free = vis[cand].copy()
        if "CHANGE6_ORBITER" in st:
            d = np.linalg.norm(_nan_to(st[cand][:, :3] - st["CHANGE6_ORBITER"][:, :3], 1e9), axis=1)
            free &= d > self.stack_tol_km
        if cand == "CHANGE6_LANDER" and "CHANGE6_ASCENDER" in st:
            d = np.linalg.norm(_nan_to(st[cand][:, :3] - st["CHANGE6_ASCENDER"][:, :3], 1e9), axis=1)
            free &= d < self.stack_tol_km
        if cand == "CHANGE6_ASCENDER" and "CHANGE6_LANDER" in st:
            d = np.linalg.norm(_nan_to(st[cand][:, :3] - st["CHANGE6_LANDER"][:, :3], 1e9), axis=1)
            free &= d > self.stack_tol_km
        return free

    def _thrust_dirs(self, v, ets, near_moon, fallback) -> np.ndarray:
        h = 0.5
        sp = self.states_moon(v, ets + h)
        sm = self.states_moon(v, ets - h)
        s0 = self.states_moon(v, ets)
        acc = (sp[:, 3:] - sm[:, 3:]) / (2 * h)
        out = fallback.copy()
        for body, sel in (("MOON", near_moon), ("EARTH", ~near_moon)):
            if not sel.any():
                continue
            r = s0[sel, :3]
            if body == "EARTH":
                r = r - self.states_moon("EARTH", ets[sel])[:, :3]
            g = -_gm(body) * r / np.linalg.norm(r, axis=1, keepdims=True) ** 3
            thrust = acc[sel] - g
            ok = np.linalg.norm(thrust, axis=1) > 1e-7  # 0.1 mm/s²: below this the engine is effectively off
            o = out[sel]
            o[ok] = thrust[ok]
            out[sel] = o
        return np.nan_to_num(out)
