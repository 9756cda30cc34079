"""The return: lunar-orbit wait, trans-Earth injection in two burns, coast with one correction, capsule separation,
the skip re-entry of the returner and its touchdown; the orbiter's avoidance burn and fly-by.

Design (backwards from the entry interface, as the mission designers would):

1. The entry interface is fixed by the sources: first crossing of 120 km at 05:41 UTC on 25 June. The assumed
   flight-path angle and range to go (``return.yaml``) and the landing target define what the coast must deliver:
   that crossing time, that flight-path angle, a ground-track plane through the target (as it stands at touchdown)
   and the target that far downrange.
2. The orbiter-returner waits in the ~200 km lunar orbit it was handed (lunar operations phase) until TEI-1, an
   along-track burn that raises apolune (CE-5 pattern); TEI-2 follows a few revolutions later near perilune.
   TEI-1's time (hence where in the orbit both burns fall) and TEI-2's Δv vector are solved with scipy in two
   stages: first on the Earth-centred osculating conic (robust far from the solution), then on the exact
   120 km crossing of the full force model.
3. TEI-2 is executed slightly short (assumed execution error); the one trajectory correction retargets the
   design entry point, then the configured interface itself (time, flight-path angle, cross-track).
4. At separation (05:20) the returner coasts on; the orbiter makes its avoidance burn (perigee out of the
   atmosphere, apogee past the Earth's sphere of influence) and flies on under the full force model to 1 July.
5. The returner's entry (:mod:`viewer.trajectory.entry`): the bank profile is solved so the capsule lands at
   the target at the touchdown time; then it stays at the touchdown point (constant in ITRF93).

Everything numeric that was chosen lives in ``assets/trajectory/return.yaml``; the solvers start from fixed
guesses, so the build is deterministic.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import spiceypy
from scipy.optimize import brentq, minimize_scalar

from viewer.constants import MOON_RADIUS_KM
from viewer.epochs import et_from_utc, utc_from_et
from viewer.trajectory import entry as entry_model
from viewer.trajectory import engine, forces
from viewer.trajectory.engine import Arc, Manoeuvre, TargetingError, elements, impulse, propagate

ORBITER = "CHANGE6_ORBITER"
RETURNER = "CHANGE6_RETURNER"
STACK = [ORBITER, RETURNER]
SECTION = "return"


# ---------------------------------------------------------------------------------------------- configuration


class Config:
    """The graded values of ``return.yaml``, read through the build context (:meth:`BuildContext.entry`, the one way
    every phase reads its configuration), with typed shorthands and the capsule and bank records built from them."""

    def __init__(self, ctx):
        self.ctx = ctx

    def entry(self, key: str) -> dict:
        return self.ctx.entry(SECTION, key)

    def f(self, key: str) -> float:
        return float(self.entry(key)["value"])

    def et(self, key: str) -> float:
        return et_from_utc(str(self.entry(key)["value"]))

    def s(self, key: str) -> str:
        return str(self.entry(key)["value"])

    def grade(self, key: str) -> str:
        return str(self.entry(key)["grade"])

    def capsule(self) -> entry_model.Capsule:
        return entry_model.Capsule(
            mass_kg=self.f("capsule.mass_kg"), beta_kg_m2=self.f("capsule.ballistic_coefficient_kg_m2"),
            lift_to_drag=self.f("capsule.lift_to_drag"), chute_alt_km=self.f("capsule.chute_altitude_km"),
            drogue_cda_m2=self.f("capsule.drogue_cda_m2"), drogue_s=self.f("capsule.drogue_s"),
            main_cda_m2=self.f("capsule.main_cda_m2"), main_inflation_s=self.f("capsule.main_inflation_s"),
            ground_km=self.f("entry.ground_height_km"),
            lift_fade_km_s=(self.f("capsule.lift_fade_low_km_s"), self.f("capsule.lift_fade_high_km_s")))

    def bank_guess(self) -> entry_model.BankProfile:
        s1 = self.f("bank.sigma1_deg")
        return entry_model.BankProfile((s1, -s1, self.f("bank.sigma2_deg"), self.f("bank.sigma3_deg")),
                                       self.f("bank.switch_speed_km_s"))


# ---------------------------------------------------------------------------------------------- geometry helpers


@dataclass(frozen=True)
class EntryTarget:
    """What the coast must deliver at the entry interface."""

    et: float  # crossing time
    altitude_km: float
    gamma_deg: float  # inertial flight-path angle
    range_deg: float  # great-circle angle to the target (inertial, target at touchdown)
    target_j2000: np.ndarray  # unit vector of the target at the touchdown time (J2000)
    frame: entry_model.EarthFrame

    @classmethod
    def from_config(cls, cfg: Config) -> "EntryTarget":
        et = cfg.et("entry.interface_time")
        frame = entry_model.EarthFrame(et)
        td = cfg.et("entry.touchdown_time")
        fixed = frame.surface_point(cfg.f("entry.target_lat_deg"), cfg.f("entry.target_lon_deg"),
                                    cfg.f("entry.ground_height_km"))
        tgt = frame.to_inertial(td, fixed)
        return cls(et, cfg.f("entry.interface_altitude_km"), cfg.f("entry.flight_path_angle_deg"),
                   cfg.f("entry.range_to_go_deg"), tgt / np.linalg.norm(tgt), frame)

    def track(self, r, v) -> tuple[float, float]:
        """(cross-track km, downrange deg) of the target relative to the inertial plane of (r, v)."""
        h = np.cross(r, v)
        h = h / np.linalg.norm(h)
        rh = np.asarray(r) / np.linalg.norm(r)
        ct = math.asin(float(np.clip(h @ self.target_j2000, -1, 1))) * self.frame.a
        dr = math.degrees(math.atan2(float(np.cross(rh, self.target_j2000) @ h), float(rh @ self.target_j2000)))
        return ct, dr


def earth_state(state_moon, et: float) -> np.ndarray:
    """A Moon-centred J2000 state re-expressed relative to the Earth."""
    return np.asarray(state_moon, dtype=float) + np.asarray(spiceypy.spkezr("MOON", float(et), "J2000", "NONE",
                                                                              "EARTH")[0])


def moon_state(state_earth, et: float) -> np.ndarray:
    return np.asarray(state_earth, dtype=float) - np.asarray(spiceypy.spkezr("MOON", float(et), "J2000", "NONE",
                                                                               "EARTH")[0])


def local_frame(state) -> np.ndarray:
    """Columns: along-track (velocity), orbit normal, radial-ish (completes the triad) unit vectors."""
    r, v = np.asarray(state[:3]), np.asarray(state[3:6])
    t = v / np.linalg.norm(v)
    n = np.cross(r, v)
    n = n / np.linalg.norm(n)
    return np.column_stack([t, n, np.cross(t, n)])


def conic_crossing(state_e, et: float, target: EntryTarget) -> tuple[float, np.ndarray, float]:
    """Two-body (Earth) inbound crossing of the entry-interface radius from an Earth-centred state.

    Returns (et, state, r_miss): where the conic does not reach the interface radius it gives the perigee and
    ``r_miss`` = perigee radius minus interface radius (> 0)."""
    mu = forces.gm("EARTH")
    r = np.asarray(state_e[:3])
    v = np.asarray(state_e[3:6])
    el = elements(state_e, mu)
    lat0 = math.asin(r[2] / np.linalg.norm(r))  # J2000 latitude ~ geocentric latitude (pole tilt < 0.5 deg)
    r_if = _ellipsoid_radius(target.frame, lat0) + target.altitude_km
    e, rp = el["e"], el["rp"]
    p = rp * (1 + e)
    c = (p / r_if - 1.0) / e
    miss = 0.0
    if c >= 1.0:
        nu = 0.0
        miss = rp - r_if
    else:
        nu = -math.acos(max(-1.0, c))
    # time from the state to true anomaly nu (elliptic or hyperbolic)
    t_from_peri = _time_since_periapsis(nu, e, rp, mu)
    t_now = _time_since_periapsis(el["nu"] if el["nu"] <= math.pi else el["nu"] - 2 * math.pi, e, rp, mu)
    dt = t_from_peri - t_now
    if e < 1.0 and dt < 0:
        dt += el["period"]
    out = spiceypy.prop2b(mu, np.concatenate([r, v]), dt)
    return et + dt, np.asarray(out), miss


def _ellipsoid_radius(frame: entry_model.EarthFrame, lat: float) -> float:
    a, b = frame.a, frame.b
    c, s = math.cos(lat), math.sin(lat)
    return math.sqrt(((a * a * c) ** 2 + (b * b * s) ** 2) / ((a * c) ** 2 + (b * s) ** 2))


def _time_since_periapsis(nu: float, e: float, rp: float, mu: float) -> float:
    if e < 1.0:
        a = rp / (1 - e)
        ea = 2 * math.atan(math.sqrt((1 - e) / (1 + e)) * math.tan(nu / 2))
        return (ea - e * math.sin(ea)) * math.sqrt(a ** 3 / mu)
    a = rp / (e - 1)
    ha = 2 * math.atanh(math.sqrt((e - 1) / (e + 1)) * math.tan(nu / 2))
    return (e * math.sinh(ha) - ha) * math.sqrt(a ** 3 / mu)


def find_crossing(arc: Arc, frame: entry_model.EarthFrame, level_km: float) -> tuple[float, np.ndarray]:
    """First downward crossing of geodetic height ``level_km`` on an Earth-centred arc (dense output)."""
    def h(t):
        s = arc.state_at(t)
        return frame.altitude(t, s[0], s[1], s[2]) - level_km

    hs = [frame.altitude(t, *s[:3]) - level_km for t, s in zip(arc.ets, arc.states)]
    for i in range(1, len(hs)):
        if hs[i - 1] > 0 >= hs[i]:
            t = brentq(h, arc.ets[i - 1], arc.ets[i], xtol=1e-6, rtol=1e-14)
            return t, arc.state_at(t)
    raise TargetingError(f"arc {arc.label} does not descend through {level_km} km")


def lowest_point(arc: Arc, frame: entry_model.EarthFrame) -> tuple[float, np.ndarray, float]:
    """(et, state, geodetic height km) of the lowest point of an Earth-centred arc (dense output)."""
    hs = np.array([frame.altitude(t, *s[:3]) for t, s in zip(arc.ets, arc.states)])
    i = int(np.argmin(hs))
    lo, hi = arc.ets[max(i - 1, 0)], arc.ets[min(i + 1, len(hs) - 1)]

    def h(t):
        s = arc.state_at(t)
        return frame.altitude(t, s[0], s[1], s[2])

    t = float(minimize_scalar(h, bounds=(lo, hi), method="bounded", options={"xatol": 1e-3}).x)
    return t, arc.state_at(t), h(t)


# ---------------------------------------------------------------------------------------------- TEI design


@dataclass
class TeiSolution:
    t1: float
    dv1: np.ndarray
    t2: float
    x2: np.ndarray  # TEI-2 epoch shift (s) and local Δv (along, normal, radial) km/s
    dv2: np.ndarray  # J2000 km/s
    crossing_et: float
    crossing_state: np.ndarray  # Earth-centred J2000
    nfev: int = 0
    revolution_shifts: int = 0


class TeiDesigner:
    """TEI-1 (along-track, fixed apolune) and TEI-2 (Δv vector) from the waiting orbit to the entry target.

    Stage A solves one virtual burn straight from the waiting orbit (epoch and Δv vector) on the Earth-centred
    osculating conic (entry time, flight-path angle, cross-track; no radial Δv), hopping whole revolutions of the
    waiting orbit toward the assumed range to go (a soft target: the entry's bank profile absorbs the rest).
    Stage B puts TEI-1 a whole number of waiting revolutions earlier at the same point of the orbit, with the
    apolune snapped so ``n_rev`` raised-orbit periods span the same time, and solves TEI-2's epoch shift and Δv
    first on the conic, then on the exact 120 km crossing of the full force model."""

    HARD = 3  # time, flight-path angle, cross-track are hard targets; the range to go is soft

    def __init__(self, wait: Arc, cfg: Config, target: EntryTarget):
        self.wait = wait
        self.cfg = cfg
        self.target = target
        self.mu = forces.gm("MOON")
        self.n_rev = int(cfg.f("tei.tei1_lead_revolutions"))
        self.r_apo = MOON_RADIUS_KM + cfg.f("tei.tei1_apolune_altitude_km")
        self.t2_nominal = cfg.et("tei.tei2_time")
        self.window_s = cfg.f("tei.tei2_search_h") * 3600.0
        self.t_mid = cfg.et("tei.tcm_time")
        s = wait.state_at(self.t2_nominal)
        self.r_wait = float(np.linalg.norm(s[:3]))
        self.wait_period = 2 * math.pi * math.sqrt(self.r_wait ** 3 / self.mu)
        self.nfev = 0

    # -- pieces
    def _residual(self, s_c, t_c, exact: bool):
        if exact:
            _, gam, _ = entry_model.flight_angles(self.target.frame, t_c, s_c)
        else:
            gam = math.degrees(math.asin(float(s_c[:3] @ s_c[3:6]) / np.linalg.norm(s_c[:3])
                                         / np.linalg.norm(s_c[3:6])))
        ct, dr = self.target.track(s_c[:3], s_c[3:6])
        return np.array([(t_c - self.target.et) / 1.0, (gam - self.target.gamma_deg) / 0.01, ct / 1.0,
                         (dr - self.target.range_deg) / (0.5 if exact else 1.0)])

    def coast(self, s_after: np.ndarray, t: float) -> Arc:
        self.nfev += 1
        return propagate(s_after, t, self.t_mid, center="MOON", label="trans_earth_coast")

    def residual_at_interface(self, s_c, t_c) -> np.ndarray:
        """Time (s), flight-path angle (0.01 deg) and cross-track (km) misses of a crossing of the interface."""
        return self._residual(s_c, t_c, exact=True)[:3]

    def residual_conic(self, coast: Arc):
        se = earth_state(coast.states[-1], coast.end_et)
        t_c, s_c, miss = conic_crossing(se, coast.end_et, self.target)
        res = self._residual(s_c, t_c, exact=False)
        res[1] += miss * 10.0  # an orbit whose perigee is above the interface: push the perigee down
        return res

    def to_entry(self, coast: Arc) -> Arc:
        s = earth_state(coast.states[-1], coast.end_et)
        return propagate(s, coast.end_et, self.target.et + 900.0, center="EARTH", label="trans_earth_coast_2")

    def residual_exact(self, coast: Arc):
        near = self.to_entry(coast)
        try:
            t_c, s_c = find_crossing(near, self.target.frame, self.target.altitude_km)
            return self._residual(s_c, t_c, exact=True)
        except TargetingError:
            # no crossing: residuals at the lowest point, with its height above the interface pushing down
            t_p, s_p, h_p = lowest_point(near, self.target.frame)
            res = self._residual(s_p, t_p, exact=True)
            res[1] += (h_p - self.target.altitude_km) * 10.0
            return res

    # -- stage A: a virtual single burn from the waiting orbit
    def single(self, x):
        t2 = self.t2_nominal + x[0]
        s = self.wait.state_at(t2)
        return t2, s, local_frame(s) @ np.asarray(x[1:4])

    def residual_a(self, x):
        """Hard targets on the conic plus a horizontal burn (no radial Δv: the cheap departure point)."""
        t2, s, dv = self.single(x)
        res = self.residual_conic(self.coast(impulse(s, dv), t2))
        return res, x[3] / 1e-3

    def stage_a(self) -> tuple[np.ndarray, int]:
        v_c = math.sqrt(self.mu / self.r_wait)
        v_inf = self.cfg.f("tei.vinf_guess_km_s")
        dv = math.sqrt(v_inf ** 2 + 2 * self.mu / self.r_wait) - v_c
        best, x0 = math.inf, None
        for k in range(12):  # where in one revolution
            x = np.array([(k / 12.0 - 0.5) * self.wait_period, dv, 0.0, 0.0])
            n = float(np.linalg.norm(self.residual_a(x)[0][:self.HARD] / [60.0, 10.0, 50.0]))
            if n < best:
                best, x0 = n, x
        x = self._lsq_a(x0)
        shifts = 0
        for _ in range(8):  # hop whole revolutions toward the assumed range to go, inside the window
            err = self.residual_a(x)[0][3]
            if abs(err) < 0.5:
                break
            cand = x.copy()
            cand[0] += (-1 if err > 0 else 1) * self.wait_period
            if abs(cand[0]) > self.window_s:
                break
            cand = self._lsq_a(cand)
            if abs(self.residual_a(cand)[0][3]) >= abs(err):
                break
            x, shifts = cand, shifts + 1
        return x, shifts

    def _lsq_a(self, x0):
        def f(x):
            res, radial = self.residual_a(x)
            return np.array([res[0], res[1], res[2], radial])

        return engine.solve(f, x0, what="the TEI departure point", steps=[1.0, 1e-6, 1e-6, 1e-6],
                            x_scale=np.array([60.0, 1e-3, 1e-3, 1e-3]), max_nfev=40, xtol=1e-10, ftol=1e-10)

    # -- stage B: TEI-1 then TEI-2
    def raised_orbit(self, t1: float):
        """TEI-1 at ``t1``: state before it, its Δv (J2000), the raised-orbit arc to ~TEI-2 (+15 min margin)."""
        s = self.wait.state_at(t1)
        r = float(np.linalg.norm(s[:3]))
        v = float(np.linalg.norm(s[3:6]))
        vp = math.sqrt(2 * self.mu * self.r_apo / (r * (r + self.r_apo)))
        dv1 = s[3:6] / v * (vp - v)
        el = elements(impulse(s, dv1), self.mu)
        t2 = t1 + self.n_rev * el["period"]
        ell = propagate(impulse(s, dv1), t1, t2 + 900.0, center="MOON", label="tei1_orbit")
        return s, dv1, ell, t2

    def after_tei2(self, x, error: float = 0.0):
        """TEI-2 at ``t2_ref + x[0]`` on the raised orbit with local Δv ``x[1:4]``: (t2, state, Δv, coast)."""
        t2 = self.t2_ref + float(np.clip(x[0], -850.0, 850.0))
        s2 = self.ell.state_at(t2)
        dv2 = local_frame(s2) @ np.asarray(x[1:4]) * (1.0 + error)
        return t2, s2, dv2, self.coast(impulse(s2, dv2), t2)

    def stage_b(self, xa) -> np.ndarray:
        """TEI-1 a whole number of waiting-orbit revolutions before the stage-A burn (so at the same point of the
        orbit), with the raised orbit's apolune snapped so that ``n_rev`` of its periods equal that many waiting
        revolutions: TEI-2 then falls at the stage-A burn point and epoch. Then TEI-2's epoch shift and Δv are
        solved on the exact crossing (burn horizontal)."""
        t2a, s_a, dv_a = self.single(xa)
        r = float(np.linalg.norm(s_a[:3]))
        p_circ = 2 * math.pi * math.sqrt(r ** 3 / self.mu)
        p_ell = 2 * math.pi * math.sqrt((0.5 * (r + self.r_apo)) ** 3 / self.mu)
        k = round(self.n_rev * p_ell / p_circ)
        p_ell = k * p_circ / self.n_rev
        self.r_apo = 2 * (self.mu * (p_ell / (2 * math.pi)) ** 2) ** (1 / 3) - r
        self.t1 = t2a - k * p_circ
        self.k_wait = k
        t1 = self.t1
        self.s1, self.dv1, self.ell, self.t2_ref = self.raised_orbit(t1)
        # the raised orbit drifts (lunar J2, Earth's tide) a little: burn where it passes closest to the stage-A point
        t_near = minimize_scalar(lambda t: float(np.linalg.norm(self.ell.state_at(t)[:3] - s_a[:3])),
                                 bounds=(self.t2_ref - 850.0, self.t2_ref + 850.0), method="bounded",
                                 options={"xatol": 0.01}).x
        s2 = self.ell.state_at(t_near)
        v_hyp = s_a[3:6] + dv_a
        x0 = np.concatenate([[t_near - self.t2_ref], local_frame(s2).T @ (v_hyp - s2[3:6])])
        x0[3] = 0.0

        def f_conic(x):
            res = self.residual_conic(self.after_tei2(x)[3])
            return np.array([res[0], res[1], res[2], x[3] / 1e-4])

        def f(x):
            res = self.residual_exact(self.after_tei2(x)[3])
            return np.array([res[0], res[1], res[2], x[3] / 1e-4])

        steps = np.array([1.0, 1e-6, 1e-6, 1e-6])
        lo, hi = [-850.0, -1.0, -1.0, -1.0], [850.0, 1.0, 1.0, 1.0]
        x1 = engine.solve(f_conic, x0, what="TEI-2 (conic)", steps=steps, bounds=(lo, hi),
                          x_scale=np.array([60.0, 1e-3, 1e-3, 1e-3]), max_nfev=30, xtol=1e-10, ftol=1e-10)
        return engine.newton(f, x1, what="TEI-2", step=steps, tol=0.05, lower=lo, upper=hi,
                             where="tei.* in assets/trajectory/return.yaml")

    def solve(self) -> TeiSolution:
        xa, shifts = self.stage_a()
        xb = self.stage_b(xa)
        t2, _s2, dv2, coast = self.after_tei2(xb)
        res = self.residual_exact(coast)
        if abs(res[0]) > 1.0 or abs(res[1]) > 1.0 or abs(res[2]) > 1.0:
            raise TargetingError(f"TEI targeting missed the entry interface (time {res[0]:+.1f} s, flight-path angle "
                                 f"{res[1] * 0.01:+.3f} deg, cross-track {res[2]:+.1f} km); check tei.* and entry.* "
                                 "in assets/trajectory/return.yaml")
        near = self.to_entry(coast)
        t_c, s_c = find_crossing(near, self.target.frame, self.target.altitude_km)
        return TeiSolution(self.t1, self.dv1, t2, np.asarray(xb), dv2, t_c, s_c, self.nfev, shifts)


# ---------------------------------------------------------------------------------------------- whole plan


@dataclass
class ReturnPlan:
    """Arcs (with the vehicles that fly them), manoeuvres and events of the return, plus figures for the report."""

    arcs: list[tuple[list[str], Arc]] = field(default_factory=list)
    manoeuvres: list[Manoeuvre] = field(default_factory=list)
    events: list[tuple[str, float, str, str]] = field(default_factory=list)
    info: dict = field(default_factory=dict)


def _avoidance_dv(state_e, mu: float, perigee_r: float, apogee_r: float) -> np.ndarray:
    """In the orbit plane: the Δv that puts the two-body orbit at ``perigee_r`` × ``apogee_r``, keeping the sign of
    the radial velocity. Fixing the energy as well as the perigee keeps the orbiter's flyby from amplifying
    metre-level differences at the burn into a drift along its escape."""
    r, v = np.asarray(state_e[:3]), np.asarray(state_e[3:6])
    rn = float(np.linalg.norm(r))
    rh = r / rn
    hz = v - (v @ rh) * rh
    hz = hz / np.linalg.norm(hz)
    energy = -mu / (perigee_r + apogee_r)
    v_h = math.sqrt(2.0 * perigee_r * perigee_r * energy + 2.0 * mu * perigee_r) / rn
    v2 = 2.0 * (energy + mu / rn)
    if v2 < v_h * v_h:
        raise TargetingError(f"no avoidance burn reaches a {perigee_r:.0f} x {apogee_r:.0f} km orbit from "
                             f"{rn:.0f} km; check separation.avoidance_* in assets/trajectory/return.yaml")
    v_r = math.copysign(math.sqrt(v2 - v_h * v_h), float(v @ rh))
    return v_r * rh + v_h * hz - v


def _orbiter_avoidance(plan, cfg, target, s_sep, sep_et, engc):
    """The orbiter after separation: its avoidance burn (perigee raised clear of the atmosphere), then onwards;
    adds the arcs and the burn to ``plan`` and returns its Δv."""
    t_av = sep_et + cfg.f("separation.avoidance_delay_s")
    orb1 = propagate(s_sep, sep_et, t_av, center="EARTH", label="orbiter_after_separation")
    mu_e = forces.gm("EARTH")
    dv_av = _avoidance_dv(orb1.states[-1], mu_e, target.frame.a + cfg.f("separation.avoidance_perigee_altitude_km"),
                          target.frame.a + cfg.f("separation.avoidance_apogee_altitude_km"))
    orb2 = propagate(impulse(orb1.states[-1], dv_av), t_av, cfg.et("separation.orbiter_end"), center="EARTH",
                     label="orbiter_flyby")
    plan.arcs += [([ORBITER], orb1), ([ORBITER], orb2)]
    plan.manoeuvres.append(Manoeuvre("avoidance manoeuvre", ORBITER, t_av, 0.0, tuple(float(c) for c in dv_av),
                                     engc.split(" ")[0] + " thrusters", "assumed",
                                     "Puts the orbiter on a %.0f x %.0f km orbit after separation (values and time not "
                                     "published)." % (cfg.f("separation.avoidance_perigee_altitude_km"),
                                                      cfg.f("separation.avoidance_apogee_altitude_km"))))

    return dv_av


def _fly_entry(plan, cfg, target, s_cross, t_cross):
    """The returner's skip entry from the interface (bank profile solved for the landing point and time), its
    landing and stay; adds the arcs to ``plan`` and returns (capsule, bank profile, flight)."""
    capsule = cfg.capsule()
    td_target = cfg.et("entry.touchdown_time")
    prof, flight = entry_model.solve_bank(s_cross, t_cross, capsule, cfg.bank_guess(), cfg.f("entry.target_lat_deg"),
                                          cfg.f("entry.target_lon_deg"), td_target)
    if "second_entry" not in flight.events:
        raise TargetingError(f"the solved entry does not skip back above {target.altitude_km:.0f} km (apex "
                             f"{flight.apex_km:.1f} km); make entry.flight_path_angle_deg shallower in "
                             "assets/trajectory/return.yaml")
    names = {"hypersonic": "entry_skip", "parachute": "parachute_descent"}
    for name, ets, sts in flight.phases:
        plan.arcs.append(([RETURNER], Arc(names[name], ets, sts, "EARTH", "J2000", kind="atmosphere")))
    td = flight.touchdown_et
    stroke, landed = landing_arcs(flight.final_state, td, cfg.f("capsule.landing_stroke_s"),
                                  max(cfg.et("entry.surface_end"), td + 3600.0))
    plan.arcs += [([RETURNER], stroke), ([RETURNER], landed)]

    return capsule, prof, flight


def _record_events(plan, target, sep_et, s_sep, t_cross, s_cross, flight, capsule):
    """The return's events (separation, entry interface, skip, chutes, touchdown) into ``plan``; returns the
    figures: separation and interface places, the interface speed and angles, the touchdown place."""
    fr = target.frame
    lat_s, lon_s, h_s = fr.geodetic(sep_et, s_sep[:3])
    v_if, g_if, psi_if = entry_model.flight_angles(fr, t_cross, s_cross)
    lat_if, lon_if, _ = fr.geodetic(t_cross, s_cross[:3])
    lat_td, lon_td, _ = flight.touchdown_geodetic()
    ev = plan.events
    ev.append(("separation", sep_et, ORBITER, f"orbiter-returner separation at {h_s:.0f} km above "
                                              f"{lat_s:.1f} N {lon_s:.1f} E"))
    ev.append(("entry_interface", t_cross, RETURNER, f"first entry at 120 km, {v_if:.2f} km/s inertial, "
                                                     f"flight-path angle {g_if:.2f} deg, {lat_if:.1f} N {lon_if:.1f} E"))
    descr = {"skip_out": "climbs back above 120 km", "skip_apex": "apex of the skip (%.0f km)" % flight.apex_km,
             "second_entry": "second entry at 120 km", "parachute": "drogue opens at %.0f km" % capsule.chute_alt_km,
             "main_chute": "main canopy opens", "touchdown": f"touchdown at {lat_td:.3f} N {lon_td:.3f} E"}
    for key, note in descr.items():
        if key in flight.events:
            ev.append((key, flight.events[key], RETURNER, note))
    return lat_s, lon_s, h_s, v_if, g_if, psi_if, lat_if, lon_if, lat_td, lon_td


def design_return(state0, et0: float, cfg: Config) -> ReturnPlan:
    """Plan the whole return from the orbiter-returner state (Moon-centred J2000) at ``et0`` after undocking."""
    forces.ensure_generic_kernels()
    plan, clock, timings = ReturnPlan(), [time.perf_counter()], {}

    def lap(name):
        now = time.perf_counter()
        timings[name] = now - clock[0]
        clock[0] = now

    target = EntryTarget.from_config(cfg)
    # the waiting orbit, long enough for TEI-1 anywhere in the search window
    wait_end = cfg.et("tei.tei2_time") + cfg.f("tei.tei2_search_h") * 3600.0
    wait_full = propagate(state0, et0, wait_end, center="MOON", label="lunar_orbit_wait", rtol=1e-10)
    lap("wait")
    tei = TeiDesigner(wait_full, cfg, target)
    sol = tei.solve()
    lap("tei")

    # executed trajectory: TEI-2 a little short, then the correction retargets the design crossing point
    err = cfg.f("tei.tei2_execution_error")
    t2, _s2, dv2_exec, coast = tei.after_tei2(sol.x2, error=err)
    t1, dv1, ell = sol.t1, sol.dv1, tei.ell.sub(sol.t1, t2, "tei1_orbit")
    t_tcm = tei.t_mid
    s_tcm = earth_state(coast.states[-1], t_tcm)
    goal = sol.crossing_state[:3]

    def miss(dv):
        a = propagate(impulse(s_tcm, dv * 1e-3), t_tcm, sol.crossing_et, center="EARTH")
        return (a.states[-1][:3] - goal)

    x_tcm = engine.newton(miss, np.zeros(3), what="the return trajectory correction", step=1e-3, tol=0.05,
                          where="tei.* in assets/trajectory/return.yaml")  # m/s

    def entry_miss(dv):
        a = propagate(impulse(s_tcm, dv * 1e-3), t_tcm, sol.crossing_et + 60.0, center="EARTH")
        t_c, s_c = find_crossing(a, target.frame, target.altitude_km)
        return tei.residual_at_interface(s_c, t_c) * np.array([1e3, 1e2, 1e3])  # ms, 1e-4 deg, m

    # then onto the configured interface itself (time, flight-path angle, cross-track), not the design's own
    # crossing: that carries the TEI design's noise floor, metres that the skip entry would amplify
    x_tcm = engine.newton(entry_miss, x_tcm, what="the return trajectory correction (interface)", step=1e-3,
                          tol=0.5, where="tei.* in assets/trajectory/return.yaml")
    dv_tcm = x_tcm * 1e-3
    lap("tcm")
    # separation where the coast descends through the sourced altitude (time follows; to the millisecond)
    to_if = propagate(impulse(s_tcm, dv_tcm), t_tcm, sol.crossing_et + 60.0, center="EARTH")
    sep_et = round(find_crossing(to_if, target.frame, cfg.f("separation.altitude_km"))[0], 3)
    post = propagate(impulse(s_tcm, dv_tcm), t_tcm, sep_et, center="EARTH", label="trans_earth_coast_2")
    s_sep = post.states[-1]
    approach = propagate(s_sep, sep_et, sol.crossing_et + 900.0, center="EARTH", label="returner_approach")
    t_cross, s_cross = find_crossing(approach, target.frame, target.altitude_km)
    approach = approach.sub(sep_et, t_cross)

    wait = wait_full.sub(et0, t1, "lunar_orbit_wait")
    plan.arcs += [(STACK, wait), (STACK, ell), (STACK, coast), (STACK, post), ([RETURNER], approach)]

    eng1, eng2, engc = cfg.s("tei.engine_tei1"), cfg.s("tei.engine_tei2"), cfg.s("tei.engine_tcm")
    plan.manoeuvres += [
        Manoeuvre("TEI-1 (apolune raise)", ORBITER, t1, 0.0, tuple(float(c) for c in dv1), eng1, "assumed",
                  "Along-track raise to a 200 x %.0f km orbit %d revolutions before TEI-2 (CE-5 pattern); time solved "
                  "so both burns fall where the departure needs them." % (cfg.f("tei.tei1_apolune_altitude_km"),
                                                                        tei.n_rev)),
        Manoeuvre("TEI-2 (trans-Earth injection)", ORBITER, t2, 0.0, tuple(float(c) for c in dv2_exec), eng2,
                  "assumed", "Solved (time and Δv vector) to reach the entry interface at 05:41 UTC on 25 June; "
                  "executed %.1f %% off its design." % (100 * err)),
        Manoeuvre("TCM (return correction)", ORBITER, t_tcm, 0.0, tuple(float(c) for c in dv_tcm), engc, "assumed",
                  "Retargets the design entry point after the TEI-2 execution error."),
    ]

    dv_av = _orbiter_avoidance(plan, cfg, target, s_sep, sep_et, engc)

    lap("coasts")
    capsule, prof, flight = _fly_entry(plan, cfg, target, s_cross, t_cross)
    lap("entry")
    lat_s, lon_s, h_s, v_if, g_if, psi_if, lat_if, lon_if, lat_td, lon_td = _record_events(
        plan, target, sep_et, s_sep, t_cross, s_cross, flight, capsule)
    second = flight.events.get("second_entry")
    v2 = None
    if second is not None:
        v2 = float(np.linalg.norm(_state_in(flight, second)[3:6]))
    plan.info = {
        "tei": sol, "tcm_dv_m_s": float(np.linalg.norm(dv_tcm) * 1e3), "bank": prof, "flight": flight,
        "separation": (lat_s, lon_s, h_s), "interface": (t_cross, v_if, g_if, psi_if, lat_if, lon_if),
        "touchdown": (flight.touchdown_et, lat_td, lon_td), "timings": timings, "second_entry_speed": v2,
        "avoidance_dv_m_s": float(np.linalg.norm(dv_av) * 1e3),
    }
    return plan


def landing_arcs(state_j2000, et_td: float, stroke_s: float, et_end: float) -> tuple[Arc, Arc]:
    """The capsule's stop at touchdown and its stay: both in ITRF93 about the Earth.

    At first ground contact the capsule still sinks at its parachute speed; it comes to rest over ``stroke_s``
    (uniform deceleration: crushable base and soil), then stays put. Expressing both arcs in ITRF93 keeps
    position and velocity continuous through SPICE's own frame transformation."""
    fixed = np.asarray(spiceypy.sxform("J2000", "ITRF93", float(et_td))) @ np.asarray(state_j2000, dtype=float)
    p0, u0 = fixed[:3], fixed[3:6]
    taus = np.linspace(0.0, stroke_s, 9)
    sts = np.array([np.concatenate([p0 + u0 * (t - t * t / (2 * stroke_s)), u0 * (1 - t / stroke_s)]) for t in taus])
    stroke = Arc("landing_stroke", et_td + taus, sts, "EARTH", "ITRF93", kind="surface")
    rest = np.concatenate([sts[-1][:3], np.zeros(3)])
    t0 = et_td + stroke_s
    ets = np.linspace(t0, et_end, 4)
    return stroke, Arc("landed", ets, np.tile(rest, (len(ets), 1)), "EARTH", "ITRF93", kind="surface")


def _state_in(flight: entry_model.EntryResult, et: float) -> np.ndarray:
    for _name, ets, sts in flight.phases:
        if ets[0] <= et <= ets[-1]:
            i = int(np.clip(np.searchsorted(ets, et), 1, len(ets) - 1))
            f = (et - ets[i - 1]) / (ets[i] - ets[i - 1])
            return sts[i - 1] + f * (sts[i] - sts[i - 1])
    raise ValueError(f"{utc_from_et(et)} is outside the flight")


def build_phase(ctx) -> None:
    """Add the return to the build: arcs of the orbiter and the returner, the burns and the derived events."""
    cfg = Config(ctx)
    et0 = ctx.last_et(ORBITER)
    state0 = ctx.state(ORBITER, et0, center="MOON")
    plan = design_return(state0, et0, cfg)
    for vehicles, arc in plan.arcs:
        ctx.add_arc(vehicles, arc)
    for m in plan.manoeuvres:
        ctx.add_manoeuvre(m)
    for id_, et, vehicle, note in plan.events:
        ctx.add_event(id_, et, vehicle, note)
