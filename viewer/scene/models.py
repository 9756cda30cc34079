"""Procedural spacecraft models, in metres, built from PyVista primitives.

Every model is one triangulated :class:`pyvista.PolyData` with a per-point ``rgb`` (uint8) array, so one actor
draws one vehicle with its own colours and the web payload stays small (each model is a few thousand triangles).

Body frame, the same for every vehicle (the scene's attitude rules rely on it):

- ``+Z`` is the thrust axis: the main engine's nozzle sits at the ``-Z`` end and pushes the vehicle towards
  ``+Z``. For the lander and the ascender ``+Z`` is also "up" when they stand on the surface.
- Solar wings extend along ``±Y``; their cells face ``+X``.
- Queqiao-2's 4.2 m umbrella dish looks along ``+X`` (its boresight).
- The returner's heat shield is its ``-Z`` face.

Dimensions are judged from public photographs of Chang'e-5/6 and Queqiao-2 and are **assumed** (no published
dimensions exist, mission-facts §2), except the dish diameter (4.2 m, sourced: [R32], [R29]).

>>> mesh = orbiter()
>>> mesh.n_cells < 5000 and "rgb" in mesh.point_data
True
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pyvista as pv

# Material colours (rendering choices, not mission facts).
GOLD = (205, 160, 60)  # multi-layer insulation
SILVER = (190, 190, 195)
WHITE = (225, 225, 220)
DARK = (60, 60, 65)
CELL = (30, 50, 110)  # solar cells
SHIELD = (95, 65, 45)  # ablative heat shield
RED = (200, 20, 30)
YELLOW = (255, 222, 0)

DISH_DIAMETER_M = 4.2  # Queqiao-2 umbrella antenna, sourced [R32], [R29]


def _paint(mesh: pv.DataSet, rgb) -> pv.PolyData:
    poly = (
        mesh.extract_surface(algorithm=None).triangulate() if not isinstance(mesh, pv.PolyData) else mesh.triangulate()
    )
    poly = poly.copy()
    poly.point_data.clear()
    poly.cell_data.clear()
    poly.point_data["rgb"] = np.tile(np.asarray(rgb, dtype=np.uint8), (poly.n_points, 1))
    return poly


def _join(parts: list[pv.PolyData]) -> pv.PolyData:
    out = parts[0].merge(parts[1:], merge_points=False) if len(parts) > 1 else parts[0]
    out = out.extract_surface(algorithm=None) if not isinstance(out, pv.PolyData) else out
    out = out.compute_normals(split_vertices=True, auto_orient_normals=False, consistent_normals=False)
    return out


def _box(center, size, rgb) -> pv.PolyData:
    sx, sy, sz = size
    cx, cy, cz = center
    return _paint(pv.Box(bounds=(cx - sx / 2, cx + sx / 2, cy - sy / 2, cy + sy / 2, cz - sz / 2, cz + sz / 2)), rgb)


def _cyl(center, direction, radius, height, rgb, res=16, capping=True) -> pv.PolyData:
    return _paint(
        pv.Cylinder(center=center, direction=direction, radius=radius, height=height, resolution=res, capping=capping),
        rgb,
    )


def _cone(center, direction, height, radius, rgb, res=16) -> pv.PolyData:
    return _paint(pv.Cone(center=center, direction=direction, height=height, radius=radius, resolution=res), rgb)


def _nozzle(z_top: float, length: float, r_throat: float, r_exit: float, rgb=DARK, res=20) -> pv.PolyData:
    """A bell nozzle hanging below ``z_top`` along -Z (open surface of revolution)."""
    t = np.linspace(0.0, 1.0, 6)
    z = z_top - length * t
    r = r_throat + (r_exit - r_throat) * np.sqrt(t)
    theta = np.linspace(0, 2 * np.pi, res + 1)
    R, TH = np.meshgrid(r, theta, indexing="ij")
    Z = np.repeat(z[:, None], len(theta), axis=1)
    grid = pv.StructuredGrid(R * np.cos(TH), R * np.sin(TH), Z)
    return _paint(grid, rgb)


def _strut(a, b, radius, rgb, res=8) -> pv.PolyData:
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = b - a
    return _cyl((a + b) / 2, d, radius, float(np.linalg.norm(d)), rgb, res=res, capping=False)


def _wing(
    y0: float, sign: int, n_panels: int, panel_w: float, panel_h: float, z: float, x: float = 0.0, gap: float = 0.08
) -> list[pv.PolyData]:
    """A solar wing along ``sign·Y`` from ``y0``: a yoke rod and ``n_panels`` cell panels facing ±X."""
    parts = [_strut((x, sign * y0, z), (x, sign * (y0 + 0.6), z), 0.03, SILVER)]
    y = y0 + 0.6
    for _ in range(n_panels):
        yc = sign * (y + panel_w / 2)
        parts.append(_box((x, yc, z), (0.04, panel_w, panel_h), CELL))
        y += panel_w + gap
    return parts


def _prism(radius: float, z0: float, z1: float, n: int, rgb) -> pv.PolyData:
    """A closed n-gon prism about Z between z0 and z1 (the octagonal decks of the lander)."""
    return _paint(
        pv.Cylinder(
            center=(0, 0, (z0 + z1) / 2), direction=(0, 0, 1), radius=radius, height=z1 - z0, resolution=n, capping=True
        ),
        rgb,
    )


@cache
def orbiter() -> pv.PolyData:
    """The orbiter: a gold bus with the 3,000 N engine below and two three-panel solar wings (span ≈ 11 m)."""
    parts = [
        _prism(1.35, 0.0, 1.8, 8, GOLD),
        _box((0, 0, 1.85), (1.6, 1.6, 0.1), SILVER),  # upper deck (adapter ring for the lander, docking mechanism)
        _nozzle(0.0, 0.6, 0.12, 0.35),
        _cyl((0.9, 0.9, 1.95), (0, 0, 1), 0.06, 0.3, WHITE, res=8),  # antenna mast
        _cone((0.9, 0.9, 2.2), (0, 0, -1), 0.15, 0.25, WHITE, res=12),
    ]
    parts += _wing(1.3, +1, 3, 1.45, 1.5, 0.9)
    parts += _wing(1.3, -1, 3, 1.45, 1.5, 0.9)
    return _join(parts)


@cache
def returner() -> pv.PolyData:
    """The re-entry capsule: a heat-shield base (``-Z``) and a blunted conical afterbody (⌀ ≈ 1.25 m)."""
    r0, h = 0.625, 1.0
    theta = np.linspace(0, 2 * np.pi, 33)
    # heat shield: a shallow spherical cap below z=0
    rr = np.linspace(0, r0, 6)
    R, TH = np.meshgrid(rr, theta, indexing="ij")
    Z = -0.15 * (1 - (R / r0) ** 2)
    shield = _paint(pv.StructuredGrid(R * np.cos(TH), R * np.sin(TH), Z), SHIELD)
    # afterbody: frustum r0 -> 0.3 over h
    zz = np.linspace(0, h, 5)
    rb = r0 + (0.3 - r0) * zz / h
    R2, TH2 = np.meshgrid(rb, theta, indexing="ij")
    Z2 = np.repeat(zz[:, None], len(theta), axis=1)
    body = _paint(pv.StructuredGrid(R2 * np.cos(TH2), R2 * np.sin(TH2), Z2), WHITE)
    top = _cyl((0, 0, h + 0.06), (0, 0, 1), 0.3, 0.12, SILVER, res=24)
    return _join([shield, body, top])


@cache
def lander() -> pv.PolyData:
    """The lander: octagonal gold body, four legs with footpads, the drill mast, the sampling arm with its scoop,
    two solar panels, the panoramic-camera mast and the flag. Footpads at ``z = 0``."""
    body_z0, body_z1 = 1.0, 1.75
    parts = [
        _prism(1.3, body_z0, body_z1, 8, GOLD),
        _box((0, 0, body_z1 + 0.03), (1.6, 1.6, 0.06), SILVER),  # top deck, the ascender's launch platform
        _nozzle(body_z0, 0.45, 0.12, 0.38),  # 7,500 N variable-thrust engine
    ]
    for k in range(4):  # four legs at 45°, 135°, ...
        ang = np.pi / 4 + k * np.pi / 2
        u = np.array([np.cos(ang), np.sin(ang), 0.0])
        hip = u * 1.1 + [0, 0, body_z0 + 0.2]
        foot = u * 2.3 + [0, 0, 0.12]
        knee_a = u * 1.2 + [0, 0, body_z0 - 0.05]
        parts.append(_strut(hip, foot, 0.07, SILVER))
        parts.append(_strut(knee_a, foot + [0, 0, 0.15], 0.04, SILVER))
        parts.append(_cyl(foot - [0, 0, 0.06], (0, 0, 1), 0.3, 0.08, SILVER, res=16))  # footpad
    # drill: vertical mast on the -X side reaching down to the surface
    parts.append(_box((-1.45, 0.0, 1.35), (0.25, 0.25, 2.3), SILVER))
    parts.append(_cyl((-1.45, 0.0, 0.15), (0, 0, 1), 0.06, 0.3, DARK, res=10))  # drill rod
    # sampling arm: shoulder on the +X side, two segments and a scoop
    shoulder = np.array([1.15, 0.5, body_z1])
    elbow = shoulder + [0.9, 0.3, 0.7]
    wrist = elbow + [1.0, 0.1, -1.2]
    parts += [
        _strut(shoulder, elbow, 0.07, WHITE),
        _strut(elbow, wrist, 0.06, WHITE),
        _box(wrist + [0.1, 0, -0.1], (0.3, 0.25, 0.2), SILVER),
    ]
    # solar panels on ±Y and the camera mast
    parts += [_box((0, 1.75, 1.55), (1.0, 0.7, 0.04), CELL), _box((0, -1.75, 1.55), (1.0, 0.7, 0.04), CELL)]
    parts += [
        _strut((0.8, -0.8, body_z1), (0.8, -0.8, body_z1 + 1.0), 0.04, WHITE),
        _box((0.8, -0.8, body_z1 + 1.05), (0.18, 0.28, 0.12), DARK),
    ]
    # flag (300 × 200 mm, on a mast; sourced [R24])
    parts += [
        _strut((-0.9, 0.9, body_z1), (-0.9, 0.9, body_z1 + 0.9), 0.015, WHITE),
        _box((-0.9, 1.05, body_z1 + 0.8), (0.01, 0.3, 0.2), RED),
        _box((-0.895, 0.96, body_z1 + 0.85), (0.01, 0.05, 0.05), YELLOW),
    ]
    return _join(parts)


@cache
def ascender() -> pv.PolyData:
    """The ascender: a compact bus with the 3,000 N engine at ``-Z``, two small wings and the docking frame on top."""
    parts = [
        _box((0, 0, 0.55), (1.2, 1.2, 0.9), GOLD),
        _nozzle(0.1, 0.3, 0.08, 0.22),
        _box((0, 0, 1.05), (0.7, 0.7, 0.1), SILVER),  # docking / capture frame
        _cyl((0, 0, 1.2), (0, 0, 1), 0.2, 0.2, WHITE, res=16),  # sample container
    ]
    parts += _wing(0.6, +1, 1, 0.9, 0.7, 0.55, gap=0.0)
    parts += _wing(0.6, -1, 1, 0.9, 0.7, 0.55, gap=0.0)
    return _join(parts)


@cache
def umbrella_dish(diameter_m: float = DISH_DIAMETER_M, ribs: int = 16, focal_ratio: float = 0.35) -> pv.PolyData:
    """A ribbed umbrella paraboloid of ``diameter_m`` looking along ``+Z`` with its vertex at the origin."""
    radius = diameter_m / 2
    f = focal_ratio * diameter_m
    theta = np.linspace(0, 2 * np.pi, ribs * 4 + 1)
    r = np.linspace(0.08, 1.0, 8)
    R, TH = np.meshgrid(r, theta, indexing="ij")
    # umbrella scallops: the mesh sags between ribs
    scallop = 1.0 - 0.04 * np.abs(np.sin(ribs * TH / 2)) * R
    RR = radius * R * scallop
    Z = RR**2 / (4 * f)
    dish = _paint(pv.StructuredGrid(RR * np.cos(TH), RR * np.sin(TH), Z), WHITE)
    rib_angles = 2 * np.pi * np.arange(ribs) / ribs
    rib_on = np.isclose(np.mod(TH * ribs / (2 * np.pi), 1.0), 0.0, atol=1e-6).ravel(order="F")
    rgb = dish.point_data["rgb"]
    if rgb.shape[0] == rib_on.shape[0]:
        rgb[rib_on] = np.array(SILVER, np.uint8)
    parts = [dish]
    for a in rib_angles[:: max(1, ribs // 4)]:  # four visible support struts to the feed
        rim = np.array([radius * np.cos(a), radius * np.sin(a), radius**2 / (4 * f)])
        parts.append(_strut(rim * 0.98, (0, 0, f), 0.02, SILVER, res=6))
    parts.append(_cyl((0, 0, f), (0, 0, 1), 0.12, 0.25, DARK, res=12))  # feed
    return _join(parts)


@cache
def queqiao2() -> pv.PolyData:
    """Queqiao-2: a CAST-2000-class bus, two solar wings and the 4.2 m umbrella dish looking along ``+X``."""
    dish = umbrella_dish().copy()
    # dish vertex at the bus's +X face, boresight +X: rotate +Z onto +X, then shift
    dish = dish.rotate_y(90, inplace=False).translate((1.0, 0.0, 0.9), inplace=False)
    parts = [
        _box((0, 0, 0.9), (1.6, 1.6, 1.8), GOLD),
        _cyl((0.95, 0, 0.9), (1, 0, 0), 0.12, 0.3, SILVER, res=12),  # dish boom
        _nozzle(0.0, 0.25, 0.05, 0.15),
        dish,
    ]
    parts += _wing(0.8, +1, 2, 1.3, 1.2, 0.9, x=-0.3)
    parts += _wing(0.8, -1, 2, 1.3, 1.2, 0.9, x=-0.3)
    return _join(parts)


MODELS = {
    "CHANGE6_ORBITER": orbiter,
    "CHANGE6_RETURNER": returner,
    "CHANGE6_LANDER": lander,
    "CHANGE6_ASCENDER": ascender,
    "QUEQIAO_2": queqiao2,
}


def model(vehicle: str) -> pv.PolyData:
    """Return a copy of ``vehicle``'s model (NAIF name, e.g. ``CHANGE6_LANDER``), metres, body frame above."""
    try:
        return MODELS[vehicle]().copy()
    except KeyError:
        raise KeyError(f"no model for {vehicle!r}; choose one of {', '.join(MODELS)}") from None
