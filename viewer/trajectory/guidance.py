"""Powered flight near the Moon: a mass-tracking integrator and the guidance laws of the lunar operations.

Pure functions and small classes, no build context: the lunar-operations phase (``lunar_ops.py``) composes them.

- :func:`fly` integrates position, velocity and mass (classic RK4, fixed step) under a gravity callable
  ``gravity(et, r_km) -> a_km_s2`` (J2000, Moon-centred) plus the thrust a steering law asks for, clipped to
  the engine's throttle range. Mass falls as ``|F| / (Isp g0)``, so the acceleration an engine can give is
  always ``F_max / m(t)`` for the mass flown so far.
- :class:`PolyGuidance` is explicit (E-type) guidance: at each call it fits the kinematic acceleration
  ``a(τ) = c0 + c1 τ + c2 τ²`` that reaches a target position, velocity (and acceleration) at a fixed time,
  and commands ``thrust/m = a(0) − g(r)``. In the last ``freeze_s`` seconds it flies the polynomial fitted at
  the first integration step inside that window open-loop (as flight software does when the time-to-go gets
  small); the fit is taken from the step's true state, so the command stays continuous.
- :class:`LinearTangent` is the ascent steering: vertical rise, then a pitch (and yaw) law
  ``tan θ = a + b t`` in a local frame fixed at liftoff.

Units inside: km, km/s, kg, N (thrust), s. ``1 N / 1 kg = 1e-3 km/s²``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import spiceypy

from viewer.trajectory.forces import G0  # m/s², standard gravity (defines Isp)

Gravity = Callable[[float, np.ndarray], np.ndarray]
Steering = Callable[[float, np.ndarray, np.ndarray, float], np.ndarray]  # -> desired thrust acceleration km/s²


@dataclass(frozen=True)
class Engine:
    """A rocket engine: throttle range (N) and specific impulse (s)."""

    name: str
    thrust_max_n: float
    thrust_min_n: float
    isp_s: float

    @property
    def mdot_max(self) -> float:
        """Propellant flow at full thrust, kg/s."""
        return self.thrust_max_n / (self.isp_s * G0)

    def clip(self, accel_km_s2: np.ndarray, mass_kg: float) -> np.ndarray:
        """Thrust force vector (N) for a desired thrust acceleration, clipped to the throttle range."""
        force = np.asarray(accel_km_s2, dtype=float) * 1e3 * mass_kg
        mag = float(np.linalg.norm(force))
        if mag == 0.0:
            return np.zeros(3)
        lim = min(max(mag, self.thrust_min_n), self.thrust_max_n)
        return force * (lim / mag)


@dataclass
class Flight:
    """Samples of a powered (or ballistic) flight."""

    ets: np.ndarray  # (N,)
    states: np.ndarray  # (N, 6) km, km/s, J2000 Moon-centred
    mass: np.ndarray  # (N,) kg
    thrust_n: np.ndarray  # (N, 3) thrust force at each sample (N); the last row repeats the previous command

    @property
    def dv_km_s(self) -> np.ndarray:
        """Integrated thrust Δv vector (J2000) over the flight, trapezoid on the samples."""
        acc = self.thrust_n / self.mass[:, None] * 1e-3
        return np.trapezoid(acc, self.ets, axis=0)

    @property
    def dv_mag_m_s(self) -> float:
        """Integrated |thrust|/m over the flight (the Δv the engine spent), m/s."""
        acc = np.linalg.norm(self.thrust_n, axis=1) / self.mass
        return float(np.trapezoid(acc, self.ets))

    def end(self) -> tuple[np.ndarray, float]:
        return self.states[-1].copy(), float(self.mass[-1])


def fly(et0: float, state0: np.ndarray, mass0: float, et1: float, steer: Steering | None, engine: Engine | None,
        gravity: Gravity, dt: float = 0.5, stop: Callable[[float, np.ndarray], bool] | None = None) -> Flight:
    """Integrate a powered flight from ``et0`` to ``et1`` (RK4, step ≤ ``dt``; the last step ends exactly on ``et1``).

    ``steer(et, r, v, m)`` returns the desired thrust acceleration (km/s², J2000); the engine clips it to its
    throttle range. ``steer=None`` flies ballistically (no thrust, constant mass). ``stop(et, y)`` (y = r, v, m)
    ends the flight early at the first step where it returns True.
    """
    n = max(1, int(np.ceil((et1 - et0) / dt - 1e-9)))
    h = (et1 - et0) / n
    ets = et0 + h * np.arange(n + 1)
    ets[-1] = et1
    states = np.empty((n + 1, 6))
    mass = np.empty(n + 1)
    thrust = np.zeros((n + 1, 3))
    y = np.r_[np.asarray(state0, dtype=float), mass0]
    isp_g0 = engine.isp_s * G0 if engine else 1.0

    def deriv(t: float, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r, v, m = y[:3], y[3:6], y[6]
        acc = np.asarray(gravity(t, r), dtype=float)
        if steer is None:
            return np.r_[v, acc, 0.0], np.zeros(3)
        f = engine.clip(steer(t, r, v, m), m)
        return np.r_[v, acc + f / m * 1e-3, -np.linalg.norm(f) / isp_g0], f

    begin = getattr(steer, "begin_step", None)
    for i in range(n):
        t = ets[i]
        if begin is not None:
            begin(t, y[:3], y[3:6], y[6])
        k1, f1 = deriv(t, y)
        k2, _ = deriv(t + h / 2, y + h / 2 * k1)
        k3, _ = deriv(t + h / 2, y + h / 2 * k2)
        k4, _ = deriv(t + h, y + h * k3)
        states[i], mass[i], thrust[i] = y[:6], y[6], f1
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if stop is not None and i + 1 < n and stop(ets[i + 1], y):
            n = i + 1
            ets, states, mass, thrust = ets[:n + 1], states[:n + 1], mass[:n + 1], thrust[:n + 1]
            break
    states[n], mass[n] = y[:6], y[6]
    thrust[n] = deriv(ets[n], y)[1] if steer is not None else 0.0
    return Flight(ets, states, mass, thrust)


class PolyGuidance:
    """Explicit guidance to a target state at a fixed time (see the module text).

    ``r_f``, ``v_f`` (J2000 km, km/s) at ``et_f``; ``a_f`` (km/s², kinematic) optional: with it the fit is
    quadratic, without it linear (classic E-guidance).
    """

    def __init__(self, et_f: float, r_f: np.ndarray, v_f: np.ndarray, gravity: Gravity,
                 a_f: np.ndarray | None = None, freeze_s: float = 4.0):
        self.et_f = float(et_f)
        self.r_f = np.asarray(r_f, dtype=float)
        self.v_f = np.asarray(v_f, dtype=float)
        self.a_f = None if a_f is None else np.asarray(a_f, dtype=float)
        self.gravity = gravity
        self.freeze_s = freeze_s
        self._frozen: tuple[float, np.ndarray] | None = None

    def coefficients(self, et: float, r: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Rows c0, c1[, c2] of the kinematic acceleration polynomial from ``et`` to the target time."""
        tg = self.et_f - et
        dv = self.v_f - v
        dr = self.r_f - r - v * tg
        if self.a_f is None:
            c1 = 6.0 * (dv - 2.0 * dr / tg) / tg**2
            c0 = dv / tg - c1 * tg / 2.0
            return np.vstack([c0, c1])
        m = np.array([[tg, tg**2 / 2, tg**3 / 3], [tg**2 / 2, tg**3 / 6, tg**4 / 12], [1.0, tg, tg**2]])
        return np.linalg.solve(m, np.vstack([dv, dr, self.a_f]))

    def begin_step(self, et: float, r: np.ndarray, v: np.ndarray, m: float) -> None:
        """Called by :func:`fly` at each step start (true state): freeze the plan once the time-to-go is short."""
        if self._frozen is None and self.et_f - et <= self.freeze_s + 1e-9:
            self._frozen = (et, self.coefficients(et, r, v))

    def kinematic(self, et: float, r: np.ndarray, v: np.ndarray) -> np.ndarray:
        if self._frozen is None:
            if self.et_f - et > 1e-6:
                return self.coefficients(et, r, v)[0]
            self._frozen = (et, self.coefficients(et - 1e-3, r, v))
        t0, c = self._frozen
        tau = et - t0
        return sum(ci * tau**k for k, ci in enumerate(c))

    def __call__(self, et: float, r: np.ndarray, v: np.ndarray, m: float) -> np.ndarray:
        return self.kinematic(et, r, v) - self.gravity(et, r)


class SlewLimited:
    """Limit how fast the thrust direction turns (the attitude control's slew rate).

    One limiter spans several phases (:meth:`wrap` each phase's guidance), so the direction stays continuous
    across phase changes. At each integration step start (:func:`fly` calls ``begin_step``) the direction for
    the step end is turned towards the guidance's wish by at most ``rate × step``; within the step the direction
    moves along the great circle between the two, so the thrust vector is continuous in time.
    """

    def __init__(self, rate_deg_s: float, step_s: float):
        self.max_turn = math.radians(rate_deg_s) * step_s
        self.step = step_s
        self._seg: tuple[float, np.ndarray, np.ndarray] | None = None

    def direction(self, et: float) -> np.ndarray:
        t0, d0, d1 = self._seg
        return _slerp(d0, d1, min(max((et - t0) / self.step, 0.0), 1.0))

    def wrap(self, guide: Steering) -> Steering:
        limiter = self

        class Limited:
            def begin_step(self, et, r, v, m):
                if hasattr(guide, "begin_step"):
                    guide.begin_step(et, r, v, m)
                want = np.asarray(guide(et, r, v, m), dtype=float)
                want = want / float(np.linalg.norm(want))
                d0 = want if limiter._seg is None else limiter.direction(et)
                ang = math.acos(min(1.0, max(-1.0, float(d0 @ want))))
                d1 = want if ang <= limiter.max_turn else _slerp(d0, want, limiter.max_turn / ang)
                limiter._seg = (et, d0, d1)

            def __call__(self, et, r, v, m):
                a = np.asarray(guide(et, r, v, m), dtype=float)
                return limiter.direction(et) * float(np.linalg.norm(a))

        return Limited()


def _slerp(a: np.ndarray, b: np.ndarray, s: float) -> np.ndarray:
    ang = math.acos(min(1.0, max(-1.0, float(a @ b))))
    if ang < 1e-12:
        return b.copy()
    return (math.sin((1 - s) * ang) * a + math.sin(s * ang) * b) / math.sin(ang)


# ---------------------------------------------------------------------------------------------- geometry


def lonlat_radius_to_me(lon_deg: float, lat_deg: float, radius_km: float) -> np.ndarray:
    """A MOON_ME position from planetocentric longitude (east), latitude and radius."""
    return np.asarray(spiceypy.latrec(radius_km, np.radians(lon_deg), np.radians(lat_deg)))


def enu_basis(site_me: np.ndarray) -> np.ndarray:
    """Rows east, north, up (unit vectors, MOON_ME) at a surface point."""
    up = site_me / np.linalg.norm(site_me)
    east = np.cross([0.0, 0.0, 1.0], up)
    east /= np.linalg.norm(east)
    north = np.cross(up, east)
    return np.vstack([east, north, up])


def me_to_j2000(et: float, pos_me: np.ndarray, vel_me: np.ndarray | None = None) -> np.ndarray:
    """Inertial (J2000, Moon-centred) state of a point given in MOON_ME (velocity relative to the surface)."""
    xf = np.asarray(spiceypy.sxform("MOON_ME", "J2000", float(et)))
    return xf @ np.r_[pos_me, np.zeros(3) if vel_me is None else vel_me]


def j2000_to_me(et: float, state: np.ndarray) -> np.ndarray:
    """MOON_ME state (velocity relative to the surface) of an inertial Moon-centred J2000 state."""
    xf = np.asarray(spiceypy.sxform("J2000", "MOON_ME", float(et)))
    return xf @ np.asarray(state, dtype=float)
