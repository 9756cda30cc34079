"""Trajectory engine: arcs, manoeuvres, propagation of the force model, finite burns and targeting helpers.

An :class:`Arc` is a piece of one trajectory between two events (a coast, a finite burn, a surface stay): its
states are integrated by :func:`propagate` (scipy DOP853 on :mod:`viewer.trajectory.forces`) and sampled at
the integrator's own steps, which crowd where the dynamics are fast (periapses, burns). The build writes each
arc as one SPK type-13 segment, so a velocity jump between arcs (an impulsive burn) never leaks into the
interpolation. A :class:`Manoeuvre` is the record of a burn for the report.

Targeting, one interface for every phase: :func:`newton` (square problems: Gauss-Newton on fixed forward-difference
steps, step halving or Levenberg-Marquardt damping, bounds, a move limit) and :func:`solve` (damped least squares,
scipy's trust region, bounded evaluations). Both start from :func:`start` (a test can perturb every starting guess)
and converge to the integrators' noise floor (:func:`settled`), so last-bit differences between CPUs do not move
the solution; both raise :class:`TargetingError` (one line) instead of hanging or returning a miss silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import spiceypy
from scipy.integrate import solve_ivp
from scipy.optimize import least_squares

from viewer.errors import ViewerError
from viewer.trajectory import forces

RTOL = 1e-10  # measured: < 1 mm/day drift against rtol 1e-13 in low lunar orbit
ATOL_KM = 1e-9  # position tolerance; velocities get ATOL_KM / 1000 s


class TargetingError(ViewerError):
    """A targeting problem did not converge within its bounds."""


# ---------------------------------------------------------------------------------------------- solver starts

GUESS_PERTURBATION = 0.0  # relative perturbation of every solver's starting guess (the reproducibility test sets it)


def start(x0, scale: float = 1.0) -> np.ndarray:
    """A solver's starting guess: as given, or, with :data:`GUESS_PERTURBATION` set, each entry times (1 ± eps)
    and each zero entry ± eps × ``scale`` (signs alternating), so a test can show that the converged solution does
    not depend on where the solver started."""
    x = np.array(x0, dtype=float)
    eps = GUESS_PERTURBATION
    if eps == 0.0:
        return x
    signs = np.where(np.arange(x.size) % 2 == 0, eps, -eps).reshape(x.shape)
    return x * (1.0 + signs) + np.where(x == 0.0, signs * scale, 0.0)


def settled(norm_f: float, prev_norm: float | None, tol: float) -> bool:
    """Whether an iterative solver may stop: its residual is a million times below ``tol``, or below ``tol`` and
    no longer converging (the last step cut it by less than half: the integrator's noise floor). Stopping at the
    first iterate under ``tol`` would leave the solution anywhere inside the tolerance, and a last-bit difference
    on another CPU could then stop it one step earlier or later."""
    if norm_f < 1e-6 * tol:
        return True
    return norm_f < tol and prev_norm is not None and norm_f > 0.5 * prev_norm


@dataclass
class Arc:
    """One continuous piece of trajectory: strictly increasing ``ets`` and (N, 6) ``states`` (km, km/s)."""

    label: str
    ets: np.ndarray
    states: np.ndarray
    center: str = "MOON"
    frame: str = "J2000"
    kind: str = "coast"  # coast | powered | surface | atmosphere
    interp: Callable | None = field(default=None, repr=False, compare=False)  # et -> state (exact dense output)
    dv_km_s: np.ndarray | None = field(default=None, repr=False, compare=False)  # integrated thrust Δv (powered)

    def __post_init__(self):
        self.ets = np.ascontiguousarray(np.asarray(self.ets, dtype=float))
        self.states = np.ascontiguousarray(np.asarray(self.states, dtype=float).reshape(-1, 6))
        if len(self.ets) != len(self.states):
            raise ValueError(f"arc {self.label}: {len(self.ets)} epochs but {len(self.states)} states")
        if len(self.ets) < 2 or np.any(np.diff(self.ets) <= 0):
            raise ValueError(f"arc {self.label}: epochs must be at least two and strictly increasing")

    @property
    def start_et(self) -> float:
        return float(self.ets[0])

    @property
    def end_et(self) -> float:
        return float(self.ets[-1])

    def state_at(self, et: float) -> np.ndarray:
        """State at ``et`` inside the arc (dense output where available, else cubic Hermite between samples)."""
        et = float(et)
        if et < self.ets[0] - 1e-6 or et > self.ets[-1] + 1e-6:
            raise ValueError(f"arc {self.label}: et {et} outside [{self.ets[0]}, {self.ets[-1]}]")
        if et <= self.ets[0]:
            return self.states[0].copy()
        if et >= self.ets[-1]:
            return self.states[-1].copy()
        if self.interp is not None:
            return np.asarray(self.interp(et), dtype=float)[:6].copy()
        i = int(np.searchsorted(self.ets, et)) - 1
        return _hermite(self.ets[i], self.states[i], self.ets[i + 1], self.states[i + 1], et)

    def sub(self, et0: float, et1: float, label: str | None = None) -> "Arc":
        """The part of this arc between et0 and et1 (both ends exact states)."""
        mask = (self.ets > et0 + 1e-3) & (self.ets < et1 - 1e-3)
        ets = np.concatenate([[et0], self.ets[mask], [et1]])
        sts = np.vstack([self.state_at(et0)[None], self.states[mask], self.state_at(et1)[None]])
        return Arc(label or self.label, ets, sts, self.center, self.frame, self.kind, self.interp, self.dv_km_s)


def _hermite(t0, s0, t1, s1, t):
    h = t1 - t0
    u = (t - t0) / h
    p0, v0, p1, v1 = s0[:3], s0[3:] * h, s1[:3], s1[3:] * h
    h00, h10, h01, h11 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u, -2 * u**3 + 3 * u**2, u**3 - u**2
    d00, d10, d01, d11 = 6 * u**2 - 6 * u, 3 * u**2 - 4 * u + 1, -6 * u**2 + 6 * u, 3 * u**2 - 2 * u
    pos = h00 * p0 + h10 * v0 + h01 * p1 + h11 * v1
    vel = (d00 * p0 + d10 * v0 + d01 * p1 + d11 * v1) / h
    return np.concatenate([pos, vel])


@dataclass(frozen=True)
class Manoeuvre:
    """A named burn: start time, Δv (J2000, km/s; integrated thrust for finite burns), engine and grade."""

    name: str
    vehicle: str
    et: float
    duration_s: float
    dv_km_s: tuple[float, float, float]
    engine: str
    grade: str
    reason: str

    @property
    def dv_m_s(self) -> float:
        return 1000.0 * math.sqrt(sum(c * c for c in self.dv_km_s))


# ---------------------------------------------------------------------------------------------- propagation


def _rhs(fm: forces.ForceModel, thrust):
    accel = fm.accel

    def f(t, y):
        ax, ay, az = accel(t, y[0], y[1], y[2])
        if thrust is None:
            return [y[3], y[4], y[5], ax, ay, az]
        tx, ty, tz = thrust(t, y[:6])
        return [y[3], y[4], y[5], ax + tx, ay + ty, az + tz, tx, ty, tz]

    return f


def propagate(state0, et0: float, et1: float, *, center: str = "MOON", max_step_s: float | None = None,
              thrust: Callable | None = None, label: str = "", kind: str | None = None,
              rtol: float = RTOL) -> Arc:
    """Integrate the force model from (``et0``, ``state0``) to ``et1`` (backwards if et1 < et0).

    ``thrust(et, state) -> (ax, ay, az)`` km/s^2 in J2000 adds a finite burn; the arc's ``dv_km_s`` is then its
    integrated Δv. Samples are the integrator's steps (plus both ends), ordered by increasing ET.
    """
    y0 = np.asarray(state0, dtype=float).reshape(6)
    if thrust is not None:
        y0 = np.concatenate([y0, np.zeros(3)])
    n = len(y0)
    atol = np.full(n, ATOL_KM)
    atol[3:] = ATOL_KM * 1e-3
    fm = forces.model(center)
    opts = {}
    if max_step_s:
        opts["max_step"] = float(max_step_s)
    sol = solve_ivp(_rhs(fm, thrust), (float(et0), float(et1)), y0, method="DOP853", rtol=rtol, atol=atol,
                    dense_output=True, **opts)
    if sol.status != 0:
        raise TargetingError(f"integration of arc {label or '?'} failed: {sol.message}")
    ts, ys = sol.t, sol.y.T
    if et1 < et0:
        ts, ys = ts[::-1], ys[::-1]
    interp = sol.sol
    arc = Arc(label, ts.copy(), ys[:, :6].copy(), center, "J2000",
              kind or ("powered" if thrust is not None else "coast"), interp=interp)
    if thrust is not None:
        end = ys[-1] if et1 >= et0 else ys[0]
        start = ys[0] if et1 >= et0 else ys[-1]
        arc.dv_km_s = (end[6:] - start[6:]).copy()
    return arc


def change_center(arc: Arc, new_center: str) -> Arc:
    """The same arc expressed relative to ``new_center`` (J2000), through DE440."""
    if new_center == arc.center:
        return arc
    if arc.frame != "J2000":
        raise ValueError(f"arc {arc.label}: change_center needs a J2000 arc, not {arc.frame}")
    forces.ensure_generic_kernels()
    offs, _ = spiceypy.spkezr(arc.center, arc.ets, "J2000", "NONE", new_center)
    offs = np.asarray(offs).reshape(len(arc.ets), 6)
    old = arc.interp

    def interp(et, _old=old, _c=arc.center):
        base = spiceypy.spkezr(_c, float(et), "J2000", "NONE", new_center)[0]
        return np.asarray(_old(et))[:6] + np.asarray(base)

    return Arc(arc.label, arc.ets.copy(), arc.states + offs, new_center, "J2000", arc.kind,
               interp if old is not None else None, arc.dv_km_s)


# ---------------------------------------------------------------------------------------------- finite burns


def constant_thrust(thrust_n: float, mass0_kg: float, isp_s: float, et0: float,
                    direction: Callable[[float, np.ndarray], np.ndarray]) -> Callable:
    """Thrust acceleration (km/s^2) of a constant-thrust engine with mass flow; ``direction(et, state)`` is
    called for the unit thrust direction (J2000)."""
    mdot = thrust_n / (isp_s * forces.G0)

    def accel(et, state):
        m = mass0_kg - mdot * abs(et - et0)
        a = thrust_n / m / 1000.0
        d = direction(et, state)
        return a * d[0], a * d[1], a * d[2]

    return accel


def antivelocity(et, state):
    v = state[3:6]
    return -v / math.sqrt(v[0] ** 2 + v[1] ** 2 + v[2] ** 2)


def along_velocity(et, state):
    v = state[3:6]
    return v / math.sqrt(v[0] ** 2 + v[1] ** 2 + v[2] ** 2)


def impulse(state, dv) -> np.ndarray:
    """State after an impulsive Δv (km/s, J2000)."""
    s = np.array(state, dtype=float).copy()
    s[3:6] += np.asarray(dv, dtype=float)
    return s


# ---------------------------------------------------------------------------------------------- orbit helpers


def elements(state, mu: float) -> dict:
    """Osculating conic elements of a state (km, km/s) for ``mu``: a, e, i, raan, argp, nu (rad), rp, ra (km
    from the centre), period (s; inf for open orbits)."""
    r = np.asarray(state[:3], dtype=float)
    v = np.asarray(state[3:6], dtype=float)
    el = spiceypy.oscltx(np.concatenate([r, v]), 0.0, mu)
    rp, e, inc, raan, argp, m0 = el[:6]
    nu, a, period = el[8], el[9], el[10]
    ra = a * (1 + e) if e < 1 else math.inf
    return {"rp": rp, "e": e, "i": inc, "raan": raan, "argp": argp, "M": m0, "nu": nu, "a": a, "ra": ra,
            "period": period if e < 1 else math.inf}


def state_from_elements(rp: float, e: float, inc: float, raan: float, argp: float, m0: float, mu: float,
                        et: float = 0.0) -> np.ndarray:
    """State (km, km/s) of the conic with periapsis radius ``rp`` ... mean anomaly ``m0`` at ``et`` (J2000 axes
    unless the caller rotates it)."""
    return np.asarray(spiceypy.conics([rp, e, inc, raan, argp, m0, et, mu], et), dtype=float)


class FiniteDifference:
    """Residual with a forward-difference Jacobian of fixed absolute ``steps`` (the integrators' noise makes
    scipy's default relative steps useless); remembers the last evaluation."""

    def __init__(self, f, steps):
        self.f = f
        self.steps = np.asarray(steps, dtype=float)
        self._x = None
        self._fx = None

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        if self._x is None or not np.array_equal(x, self._x):
            self._x, self._fx = x.copy(), np.asarray(self.f(x), dtype=float)
        return self._fx

    def jac(self, x):
        fx = self(x)
        out = np.empty((len(fx), len(x)))
        for j, h in enumerate(self.steps):
            xp = np.asarray(x, dtype=float).copy()
            xp[j] += h
            out[:, j] = (np.asarray(self.f(xp)) - fx) / h
        return out


def solve(residual: Callable[[np.ndarray], np.ndarray], x0, *, what: str, x_scale=1.0, bounds=(-np.inf, np.inf),
          max_nfev: int = 60, tol: float | None = None, diff_step=None, steps=None, xtol: float = 1e-12,
          ftol: float = 1e-12) -> np.ndarray:
    """Damped least squares (scipy's trust region, bounded evaluations) for over- or under-determined targeting;
    ``steps``: fixed forward-difference steps for the Jacobian (:class:`FiniteDifference`). Starts from
    :func:`start`. Raise :class:`TargetingError` naming ``what`` if the residual norm stays above ``tol`` (default:
    no check beyond convergence)."""
    fun, jac = residual, "2-point"
    if steps is not None:
        fd = FiniteDifference(residual, steps)
        fun, jac = fd, fd.jac
    x0 = start(x0, 1e-9)
    if bounds != (-np.inf, np.inf):
        x0 = np.clip(x0, bounds[0], bounds[1])
    try:
        res = least_squares(fun, x0, jac=jac, x_scale=x_scale, bounds=bounds, max_nfev=max_nfev, method="trf",
                            diff_step=diff_step, xtol=xtol, ftol=ftol, gtol=1e-12)
    except (ValueError, FloatingPointError) as exc:
        raise TargetingError(f"targeting {what} failed: {exc}") from None
    norm = float(np.linalg.norm(res.fun))
    if tol is not None and not norm <= tol:
        raise TargetingError(f"targeting {what} did not converge in {res.nfev} evaluations "
                             f"(residual {norm:.3g} > {tol:.3g}); check its assumptions in assets/trajectory/")
    return res.x


def newton(residual, x0, *, what: str, step=1e-6, tol: float = 1e-7, max_iter: int = 12, max_move: float = np.inf,
           lower=None, upper=None, damped: bool = False, where: str = "assets/trajectory/") -> np.ndarray:
    """The build's Newton for square (or nearly square) targeting: Gauss-Newton with forward differences of fixed
    ``step`` (one per unknown, or one for all), each step halved until the residual falls, or with ``damped``
    Levenberg-Marquardt (keeps steps sane when some unknowns barely move the residuals); moves at most
    ``max_move`` per iteration and stays within ``lower``/``upper``. Starts from :func:`start`, converges past
    ``tol`` (max |f|) to the noise floor (:func:`settled`) and returns the best iterate; raises
    :class:`TargetingError` naming ``what`` and ``where`` if it does not converge. Deterministic."""
    n = len(np.atleast_1d(x0))
    steps = np.broadcast_to(np.asarray(step, dtype=float), (n,))
    lower = np.full(n, -np.inf) if lower is None else np.asarray(lower, dtype=float)
    upper = np.full(n, np.inf) if upper is None else np.asarray(upper, dtype=float)
    x = np.clip(start(x0), lower, upper)
    fx = np.asarray(residual(x), dtype=float)
    lam, prev = 1e-3, None
    best = (float(np.max(np.abs(fx))), x)
    for _ in range(max_iter):
        norm = float(np.max(np.abs(fx)))
        if settled(norm, prev, tol):
            return best[1]
        prev = norm
        jac = np.empty((len(fx), n))
        for j, h in enumerate(steps):
            xp = x.copy()
            xp[j] += h if x[j] + h <= upper[j] else -h
            jac[:, j] = (np.asarray(residual(xp)) - fx) / (xp[j] - x[j])
        if damped:
            jtj, jtf = jac.T @ jac, jac.T @ fx
            diag = np.diag(np.diag(jtj)) + 1e-12 * np.eye(n)
        else:
            dx = np.linalg.lstsq(jac, -fx, rcond=None)[0]
        scale = 1.0
        for _try in range(10):
            stp = np.linalg.solve(jtj + lam * diag, -jtf) if damped else scale * dx
            size = float(np.max(np.abs(stp)))
            if size > max_move:
                stp = stp * (max_move / size)
            xn = np.clip(x + stp, lower, upper)
            fn = np.asarray(residual(xn), dtype=float)
            if np.linalg.norm(fn) < np.linalg.norm(fx):
                lam = max(lam / 10.0, 1e-9)
                break
            lam *= 10.0
            scale *= 0.5
        x, fx = xn, fn
        if float(np.max(np.abs(fx))) < best[0]:
            best = (float(np.max(np.abs(fx))), x)
    if best[0] < tol:
        return best[1]
    raise TargetingError(f"targeting {what} did not converge (residual {best[0]:.3g}); check {where}")
