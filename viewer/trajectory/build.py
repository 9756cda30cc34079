"""The trajectory build: BuildContext shared by the phases, the build run, and the manoeuvre report.

Build order: queqiao2 -> outbound -> lunar_ops -> earth_return, each a module of this package with
``build_phase(ctx)``. Then :mod:`viewer.trajectory.kernel_files` writes the names/frames kernel, one SPK per vehicle
and a manifest (``change6_manoeuvres.json``: manoeuvres, arcs, events) atomically into the output directory.
Nothing here prints; ``python -m viewer kernels build`` (:mod:`viewer.kernels_cli`) reports the summary.
Everything is deterministic: the same inputs on the same platform (manifest `platform`: CPU SIMD features, numpy,
scipy, spiceypy) give the same states, bit for bit. Every solver converges to the integrators' noise floor
(:func:`viewer.trajectory.engine.settled`), so last-bit differences (another CPU) move burns by well under 0.5 s
and states by under 100 m (tests/test_trajectory_reproducible.py perturbs every starting guess by 1e-12).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
import spiceypy
import yaml

import viewer
from viewer import paths
from viewer.constants import VEHICLES
from viewer.epochs import et_from_utc, utc_from_et
from viewer.errors import DataError
from viewer.trajectory import forces, kernel_files
from viewer.trajectory.engine import Arc, Manoeuvre
from viewer.trajectory.kernel_files import MANIFEST, SPK_FILES

__all__ = ["MANIFEST", "SPK_FILES", "BuildContext", "build", "format_report", "load_config", "load_manifest",
           "manoeuvre_report", "run_phases"]

PHASES = ["queqiao2", "outbound", "lunar_ops", "earth_return"]
GRADES = {"sourced", "derived", "assumed"}
LOI_SEQUENCE = ("LOI", "node change", "circularisation")  # capture burn .. 200 km working orbit
CONFIG_DIR = paths.ASSETS_DIR / "trajectory"


# ---------------------------------------------------------------------------------------------- config


def load_config(directory: Path | None = None, source_ids: set[str] | None = None
                ) -> tuple[dict[str, dict], dict[str, str]]:
    """Parse every ``*.yaml`` in assets/trajectory: (config keyed by file stem, sha256 of each file). Every graded
    value's ``source`` ids must be among ``source_ids`` (default: the ``sources:`` of assets/mission.yaml)."""
    directory = Path(directory or CONFIG_DIR)
    if source_ids is None:
        from viewer.mission.loader import load_mission

        source_ids = {s.id for s in load_mission().sources}
    config, hashes = {}, {}
    for path in sorted(directory.glob("*.yaml")):
        raw = path.read_bytes()
        hashes[path.name] = hashlib.sha256(raw).hexdigest()
        try:
            data = yaml.safe_load(raw) or {}
        except yaml.YAMLError as exc:
            raise DataError(f"{path} is not valid YAML ({exc.__class__.__name__}); fix its syntax", path=path) from None
        if not isinstance(data, dict):
            raise DataError(f"{path} must hold a mapping of named values", path=path)
        _check_graded(data, path, "", source_ids)
        config[path.stem] = data
    return config, hashes


def _check_graded(node, path, prefix, source_ids):
    if isinstance(node, dict) and "value" in node:
        if node.get("grade") not in GRADES:
            raise DataError(f"{path}: {prefix or 'entry'} has grade {node.get('grade')!r}; use sourced, derived or "
                            "assumed", path=path)
        if not node.get("reason"):
            raise DataError(f"{path}: {prefix} has no reason; every chosen value needs one", path=path)
        sources = node.get("source", [])
        if not isinstance(sources, list):
            raise DataError(f"{path}: {prefix}.source must be a list of source ids like [R2, R23]", path=path)
        unknown = [str(x) for x in sources if str(x) not in source_ids]
        if unknown:
            raise DataError(f"{path}: {prefix} cites {', '.join(unknown)}, not in the sources of assets/mission.yaml; "
                            "add the source there or cite one that is", path=path)
        return
    if isinstance(node, dict):
        for k, v in node.items():
            _check_graded(v, path, f"{prefix}.{k}" if prefix else str(k), source_ids)


def _code_version() -> str:
    h = hashlib.sha256()
    for p in sorted(Path(__file__).parent.glob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return f"change6-viewer {viewer.__version__}, trajectory sources sha256 {h.hexdigest()[:16]}"


# ---------------------------------------------------------------------------------------------- context


class BuildContext:
    """What the phases share: the configuration, and the arcs, manoeuvres and events added so far."""

    def __init__(self, config: dict[str, dict] | None = None, hashes: dict[str, str] | None = None):
        if config is None:
            config, hashes = load_config()
        self.config = config
        self.hashes = hashes or {}
        self.arcs: dict[str, list[Arc]] = {}
        self.manoeuvres: list[Manoeuvre] = []
        self.events: list[dict] = []
        self.timings: dict[str, float] = {}
        forces.ensure_generic_kernels()

    # -- values
    def entry(self, section: str, key: str) -> dict:
        node = self.config.get(section)
        if node is None:
            raise DataError(f"assets/trajectory/{section}.yaml is missing; restore it from the repository")
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise DataError(f"assets/trajectory/{section}.yaml has no entry {key!r}; add it with value, unit, "
                                "grade and reason")
            node = node[part]
        if not isinstance(node, dict) or "value" not in node:
            raise DataError(f"assets/trajectory/{section}.yaml: {key!r} is not a graded value (value/unit/grade)")
        return node

    def value(self, section: str, key: str):
        """The ``value`` of a graded entry (``key`` may be dotted for nested groups)."""
        return self.entry(section, key)["value"]

    def et(self, section: str, key: str) -> float:
        """A graded UTC time as ET."""
        return et_from_utc(str(self.value(section, key)))

    # -- site
    @property
    def site_me_km(self) -> np.ndarray:
        """The landing site in MOON_ME (km), from outbound.yaml's site entries."""
        lat = math.radians(float(self.value("outbound", "site.lat_deg")))
        lon = math.radians(float(self.value("outbound", "site.lon_deg")))
        r = float(self.value("outbound", "site.reference_radius_km")) + float(self.value("outbound",
                                                                                           "site.elevation_km"))
        return np.array(spiceypy.latrec(r, lon, lat))

    # -- arcs
    def add_arc(self, vehicles: list[str], arc: Arc) -> None:
        """Append ``arc`` to each vehicle (stacked vehicles share the same object, so identical states).

        The arc must start where the vehicle's previous arc ended (same ET, position within 1 m)."""
        if isinstance(vehicles, str):
            vehicles = [vehicles]
        for v in vehicles:
            if v not in VEHICLES:
                raise ValueError(f"unknown vehicle {v!r}; use one of {sorted(VEHICLES)}")
            prev = self.arcs.get(v)
            if prev:
                last = prev[-1]
                if abs(last.end_et - arc.start_et) > 1e-6:
                    raise ValueError(f"{v}: arc {arc.label!r} starts at {utc_from_et(arc.start_et, 3)} but the "
                                     f"previous arc {last.label!r} ends at {utc_from_et(last.end_et, 3)}")
                a = _convert(last.states[-1], last.end_et, last.center, last.frame, arc.center, arc.frame)
                gap = float(np.linalg.norm(a[:3] - arc.states[0, :3]))
                if gap > 1e-3:
                    raise ValueError(f"{v}: arc {arc.label!r} starts {gap * 1000:.1f} m away from the end of "
                                     f"{last.label!r}; start it from ctx.state({v!r}, et)")
        for v in vehicles:
            self.arcs.setdefault(v, []).append(arc)

    def add_manoeuvre(self, m: Manoeuvre) -> None:
        if m.grade not in GRADES:
            raise ValueError(f"manoeuvre {m.name}: grade {m.grade!r} is not sourced/derived/assumed")
        self.manoeuvres.append(m)

    def add_event(self, id: str, et: float, vehicle: str, note: str) -> None:
        self.events.append({"id": id, "et": float(et), "utc": utc_from_et(et, 3), "vehicle": vehicle, "note": note})

    def last_et(self, vehicle: str) -> float:
        if not self.arcs.get(vehicle):
            raise ValueError(f"{vehicle} has no arcs yet")
        return self.arcs[vehicle][-1].end_et

    def arc_at(self, vehicle: str, et: float) -> Arc:
        arcs = self.arcs.get(vehicle) or []
        for arc in reversed(arcs):
            if arc.start_et - 1e-6 <= et <= arc.end_et + 1e-6:
                return arc
        if not arcs:
            raise ValueError(f"{vehicle} has no arcs yet")
        raise ValueError(f"{vehicle}: no arc covers {utc_from_et(et, 3)} (covered "
                         f"{utc_from_et(arcs[0].start_et)} .. {utc_from_et(arcs[-1].end_et)})")

    def state(self, vehicle: str, et: float, center: str = "MOON", frame: str = "J2000") -> np.ndarray:
        """State of ``vehicle`` at ``et`` from the arcs added so far (the end state if ``et`` is the last ET)."""
        arc = self.arc_at(vehicle, et)
        s = arc.states[-1].copy() if abs(et - arc.end_et) <= 1e-6 else arc.state_at(et)
        return _convert(s, et, arc.center, arc.frame, center, frame)


def _convert(state, et, center0, frame0, center1, frame1) -> np.ndarray:
    """Re-express a state from (center0, frame0) to (center1, frame1) through SPICE."""
    s = np.asarray(state, dtype=float)
    if frame0 != "J2000":
        s = np.asarray(spiceypy.sxform(frame0, "J2000", float(et))) @ s
    if center0 != center1:
        s = s + np.asarray(spiceypy.spkezr(center0, float(et), "J2000", "NONE", center1)[0])
    if frame1 != "J2000":
        s = np.asarray(spiceypy.sxform("J2000", frame1, float(et))) @ s
    return s


# ---------------------------------------------------------------------------------------------- build


def run_phases(ctx: BuildContext, allow_missing: bool = False, phases: list[str] | None = None) -> None:
    for name in phases or PHASES:
        module_name = f"viewer.trajectory.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name or not allow_missing:
                raise
            warnings.warn(f"trajectory phase {name} is not written yet; skipped", stacklevel=2)
            continue
        t0 = time.perf_counter()
        module.build_phase(ctx)
        ctx.timings[name] = time.perf_counter() - t0


def build(out_dir: Path | None = None, allow_missing: bool = False, phases: list[str] | None = None) -> dict:
    """Run every phase and write the kernels into ``out_dir`` (default ``kernels/``); return a summary."""
    out_dir = Path(out_dir or paths.KERNELS_DIR)
    t0 = time.perf_counter()
    ctx = BuildContext()
    run_phases(ctx, allow_missing=allow_missing, phases=phases)
    t1 = time.perf_counter()
    written = kernel_files.write_all(ctx, out_dir, _code_version())
    return {"out_dir": str(out_dir), "files": written, "phases_s": ctx.timings, "write_s": time.perf_counter() - t1,
            "total_s": time.perf_counter() - t0, "manoeuvres": len(ctx.manoeuvres),
            "arcs": sum(len(v) for v in ctx.arcs.values())}


# ---------------------------------------------------------------------------------------------- report


def load_manifest(directory: Path | None = None) -> dict:
    path = Path(directory or paths.KERNELS_DIR) / MANIFEST
    if not path.exists():
        raise DataError(f"{path} is missing; rebuild it with `python -m viewer kernels build`", path=path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        raise DataError(f"{path} is corrupt; rebuild it with `python -m viewer kernels build`", path=path) from None


def manoeuvre_report(directory: Path | None = None) -> list[dict]:
    """Every manoeuvre of the built kernels: name, vehicle, UTC, duration, Δv (m/s), engine, grade, reason."""
    rows = load_manifest(directory)["manoeuvres"]
    return [{k: r[k] for k in ("name", "vehicle", "utc", "duration_s", "dv_m_s", "dv_km_s", "engine", "grade",
                               "reason")} for r in rows]


def format_report(rows: list[dict]) -> str:
    head = f"{'UTC':<24} {'manoeuvre':<30} {'vehicle':<18} {'dv m/s':>9} {'dur s':>7}  {'engine':<26} grade"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['utc']:<24} {r['name']:<30} {r['vehicle']:<18} {r['dv_m_s']:>9.2f} "
                     f"{r['duration_s']:>7.0f}  {r['engine']:<26} {r['grade']}")
    total = sum(r["dv_m_s"] for r in rows)
    lines.append(f"{len(rows)} manoeuvres, total {total:.1f} m/s")
    insertion = [r for r in rows if r["name"] in LOI_SEQUENCE]
    if insertion:
        lines.append(f"Chang'e-6 lunar-orbit insertion total ({' + '.join(r['name'] for r in insertion)}): "
                     f"{sum(r['dv_m_s'] for r in insertion):.1f} m/s")
    return "\n".join(lines)
