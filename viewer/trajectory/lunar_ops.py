"""Lunar operations of Chang'e-6 (issue 4): separation, orbit lowering, powered descent, surface stay, ascent,
rendezvous and docking, and the ascender's disposal.

Entry point :func:`build_phase` (called by :mod:`viewer.trajectory.build` after the outbound phase). Every number
comes from ``assets/trajectory/lunar_ops.yaml`` (graded values); the physics is:

- coasts: :func:`viewer.trajectory.engine.propagate` on the shared force model (DE440 point masses + J2);
- powered flight (descent, ascent): :func:`viewer.trajectory.guidance.fly`, the same gravity plus a thrust
  vector from a guidance law, clipped to the engine's throttle range, with the mass flowing out at the engine's
  specific impulse;
- orbital burns (lowering, phasing, approach, deorbit): impulsive, solved by differential correction with the
  full force model.

Frames: every flight arc is J2000 relative to the Moon; the lander's (and the stacked ascender's) stay at the site
is written in MOON_ME with zero velocity, so its speed relative to the surface is exactly zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from viewer.epochs import et_from_utc, utc_from_et
from viewer.trajectory import engine, forces
from viewer.trajectory.engine import Arc, Manoeuvre, TargetingError
from viewer.trajectory.guidance import (G0, Engine, Flight, PolyGuidance, SlewLimited, enu_basis, fly, j2000_to_me,
                                        me_to_j2000)

SECTION = "lunar_ops"
ORB, RET, LAN, ASC = "CHANGE6_ORBITER", "CHANGE6_RETURNER", "CHANGE6_LANDER", "CHANGE6_ASCENDER"
LANDER_ENGINE = "lander 7500 N variable"
ASCENDER_ENGINE = "ascender 3000 N"
ORBITER_RCS = "orbiter 150 N thrusters"


def build_phase(ctx) -> None:
    """Add the lunar-operation arcs, manoeuvres and events to the build context."""
    LunarOps(ctx).run()


# ---------------------------------------------------------------------------------------------- small helpers


def unit(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, dtype=float) / float(np.linalg.norm(v))


def rotate(u: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues rotation of ``u`` about the unit ``axis`` by ``angle`` (rad)."""
    c, s = math.cos(angle), math.sin(angle)
    return u * c + np.cross(axis, u) * s + axis * float(axis @ u) * (1.0 - c)


def moon_gravity():
    """``gravity(et, r)`` of the shared force model (Moon-centred J2000), as the powered-flight integrator wants."""
    fm = forces.model("MOON")

    def g(et: float, r: np.ndarray) -> np.ndarray:
        return np.array(fm.accel(et, float(r[0]), float(r[1]), float(r[2])))

    return g


def rocket_mass(m0: float, dv_m_s: float, isp_s: float) -> float:
    """Mass after spending ``dv_m_s`` with an engine of specific impulse ``isp_s``."""
    return m0 * math.exp(-dv_m_s / (isp_s * G0))


def apsis_dv(state: np.ndarray, r_other: float, mu: float) -> np.ndarray:
    """Δv (km/s) that makes the current point an apsis of a conic whose other apsis radius is ``r_other``: the
    velocity becomes horizontal with the vis-viva speed of that ellipse."""
    r = float(np.linalg.norm(state[:3]))
    up = unit(state[:3])
    radial = up * float(up @ state[3:])
    v_new = math.sqrt(mu * 2.0 * r_other / (r * (r + r_other)))
    return unit(state[3:] - radial) * v_new - (state[3:] - radial)


def phase_angle(r_ref: np.ndarray, r: np.ndarray, h_ref: np.ndarray) -> float:
    """Angle (rad, -π..π) from ``r_ref`` to ``r`` about the angular momentum ``h_ref`` (positive = ahead)."""
    n = unit(h_ref)
    a, b = unit(r_ref - n * (n @ r_ref)), unit(r - n * (n @ r))
    return math.atan2(float(n @ np.cross(a, b)), float(a @ b))


def newton3(residual, x0: np.ndarray, *, what: str, step: float = 1e-6, tol: float = 1e-7,
            max_iter: int = 12, max_move: float = np.inf) -> np.ndarray:
    """:func:`viewer.trajectory.engine.newton` with the lunar-operations hint in its error."""
    return engine.newton(residual, x0, what=what, step=step, tol=tol, max_iter=max_iter, max_move=max_move,
                         where="assets/trajectory/lunar_ops.yaml")


@dataclass
class Frame:
    """Descent/ascent geometry at the site: MOON_ME unit vectors downrange, crossrange, up."""

    site_me: np.ndarray
    down: np.ndarray
    cross: np.ndarray
    up: np.ndarray

    def point(self, down_m: float = 0.0, cross_m: float = 0.0, up_m: float = 0.0) -> np.ndarray:
        return self.site_me + (self.down * down_m + self.cross * cross_m + self.up * up_m) / 1e3

    def vector(self, down: float = 0.0, cross: float = 0.0, up: float = 0.0) -> np.ndarray:
        """A MOON_ME vector from m/s (or m/s²) components, in km/s (km/s²)."""
        return (self.down * down + self.cross * cross + self.up * up) / 1e3


@dataclass
class Stage:
    """One powered phase: a flight, its arc label and manoeuvre text."""

    label: str
    flight: Flight
    engine: str
    reason: str
    grade: str = "derived"


# ---------------------------------------------------------------------------------------------- the phase


class LunarOps:
    """Builds the lunar operations step by step (see the module text); each step adds its arcs to ``ctx``."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.g = moon_gravity()
        self.mu = forces.gm("MOON")
        self.site_me = np.asarray(ctx.site_me_km, dtype=float)
        self.r_ref = float(ctx.value("outbound", "site.reference_radius_km"))
        # the guidance never commands more than lander_command_limit of the engine's 7,500 N
        self.lander_engine = Engine(LANDER_ENGINE,
                                    self.v("engines.lander_thrust_max_n") * self.v("engines.lander_command_limit"),
                                    self.v("engines.lander_thrust_min_n"), self.v("engines.lander_isp_s"))
        # the rapid attitude adjustment is flown throttled (its guidance demand saturates the engine)
        self.turn_engine = Engine(LANDER_ENGINE, self.v("engines.lander_thrust_max_n")
                                  * self.v("descent.attitude_adjustment.throttle"),
                                  self.v("engines.lander_thrust_min_n"), self.v("engines.lander_isp_s"))
        f_asc = self.v("engines.ascender_thrust_n")
        self.ascender_engine = Engine(ASCENDER_ENGINE, f_asc, f_asc, self.v("engines.ascender_isp_s"))
        self.t = {k: self.et(f"times.{k}") for k in (
            "separation_utc", "lowering1_earliest_utc", "powered_descent_start_utc", "touchdown_utc", "liftoff_utc",
            "phasing2_utc", "short_range_start_utc", "approach2_utc", "final_approach_utc", "docking_utc",
            "sample_transfer_utc", "undocking_utc", "deorbit_utc", "lander_end_utc")}
        self.la_mass = self.v("masses.stack_at_separation_kg")
        self.asc_mass = self.v("masses.ascender_liftoff_kg")
        self.or_mass = self.v("engines.orbiter_mass_kg")

    # -- config access
    def v(self, key: str) -> float:
        return float(self.ctx.value(SECTION, key))

    def et(self, key: str) -> float:
        return et_from_utc(str(self.ctx.value(SECTION, key)))

    def entry(self, key: str) -> dict:
        return self.ctx.entry(SECTION, key)

    # -- bookkeeping
    def add_coast(self, vehicles, state, et0, et1, label) -> Arc:
        arc = engine.propagate(state, et0, et1, label=label, kind="coast")
        self.ctx.add_arc(vehicles, arc)
        return arc

    def impulse(self, name, vehicle, et, dv_km_s, engine_name, reason, grade="derived", isp=None, mass=None):
        self.ctx.add_manoeuvre(Manoeuvre(name, vehicle, float(et), 0.0, tuple(float(c) for c in dv_km_s),
                                         engine_name, grade, reason))
        if isp and mass:
            return rocket_mass(mass, 1e3 * float(np.linalg.norm(dv_km_s)), isp)
        return mass

    def add_stage(self, vehicles, st: Stage) -> None:
        f = st.flight
        arc = Arc(st.label, f.ets, f.states, "MOON", "J2000", "powered", dv_km_s=f.dv_km_s)
        self.ctx.add_arc(vehicles, arc)
        if np.any(np.linalg.norm(f.thrust_n[:-1], axis=1) > 0):
            self.ctx.add_manoeuvre(Manoeuvre(st.label, vehicles[0], float(f.ets[0]), float(f.ets[-1] - f.ets[0]),
                                             tuple(float(c) for c in f.dv_km_s), st.engine, st.grade, st.reason))

    def run(self) -> None:
        self.separate()
        self.lower_orbit()
        self.descend()
        self.surface()
        self.ascend()
        self.rendezvous()
        self.dispose()

    # ------------------------------------------------------------------------------------------ separation
    def separate(self) -> None:
        et = self.t["separation_utc"]
        s = self.ctx.state(ORB, et)
        self.stack_state = s
        dv = unit(s[:3]) * self.v("separation.dv_m_s") / 1e3
        self.la_state = engine.impulse(s, dv)
        self.impulse("LA separation", LAN, et, dv, "separation mechanism", self.entry("separation.dv_m_s")["reason"],
                     grade="assumed")
        self.ctx.add_event("la_separation", et, LAN, "lander-ascender separates from the orbiter-returner "
                           "(time assumed: CNSA gives only the date)")
        # the orbiter-returner coasts until the short-range approach; the ascent and phasing need its orbit
        self.or_arc = self.add_coast([ORB, RET], s, et, self.t["short_range_start_utc"], "waiting orbit (OR)")

    # ------------------------------------------------------------------------------------------ lowering
    def descent_frame(self, n_orbit: np.ndarray) -> tuple[Frame, np.ndarray, np.ndarray]:
        """Site geometry for a descent in the plane through the site (at touchdown) closest to ``n_orbit``.

        Returns the frame, the inertial plane normal, and the inertial descent-start direction."""
        et_td = self.t["touchdown_utc"]
        s = unit(me_to_j2000(et_td, self.site_me)[:3])
        n = unit(n_orbit - s * (n_orbit @ s))
        ang = self.v("descent.pdi_downrange_km") / self.r_ref
        u_pdi = rotate(s, n, -ang)
        down_i = np.cross(n, s)
        down_me = j2000_to_me(et_td, np.r_[down_i, 0, 0, 0])[:3]
        e, nn, up = enu_basis(self.site_me)
        down = unit(down_me - up * (down_me @ up))
        return Frame(self.site_me, down, np.cross(up, down), up), n, u_pdi

    def lower_orbit(self) -> None:
        et_sep, et_pdi = self.t["separation_utc"], self.t["powered_descent_start_utc"]
        r_pdi = self.r_ref + self.v("lowering.perilune_height_km")
        # burn 1 lowers the perilune to the descent height at a point opposite the descent start; of the
        # passes through that point after lowering1_earliest_utc, take the one whose lowered orbit (period P_L)
        # comes back to the descent start closest to the descent time (burn 2 trims the rest)
        t_min = self.t["lowering1_earliest_utc"]
        probe = engine.propagate(self.la_state, et_sep, t_min + 36 * 3600.0, label="LA coast after separation")
        _, n_plane, u_pdi = self.descent_frame(unit(np.cross(self.la_state[:3], self.la_state[3:])))
        u_apo = -u_pdi

        def angle(et):
            st = probe.state_at(et)
            return phase_angle(u_apo, st[:3], np.cross(st[:3], st[3:]))

        grid = np.arange(t_min, probe.end_et - 60.0, 60.0)
        vals = np.array([angle(t) for t in grid])
        crossings = [brentq(angle, grid[i], grid[i + 1], xtol=1e-3) for i in range(len(grid) - 1)
                     if vals[i] < 0 <= vals[i + 1] and vals[i + 1] - vals[i] < 1.0]
        p_w = float(np.mean(np.diff(crossings)))
        r_w = float(np.linalg.norm(probe.state_at(crossings[0])[:3]))
        a_w = engine.elements(probe.state_at(crossings[0]), self.mu)["a"]
        p_l = p_w * math.sqrt(((r_w + r_pdi) / 2 / a_w) ** 3)

        def mismatch(c):
            k = round((et_pdi - c - p_l / 2) / p_l)
            return et_pdi - (c + p_l / 2 + k * p_l)

        et_b1 = min(crossings, key=lambda c: abs(mismatch(c)))
        self.ctx.add_arc([LAN, ASC], probe.sub(et_sep, et_b1, "LA coast after separation"))
        s1 = self.ctx.state(LAN, et_b1)
        r1 = float(np.linalg.norm(s1[:3]))
        dv1 = apsis_dv(s1, r_pdi, self.mu)
        isp = self.v("engines.lander_isp_s")
        reason1 = (f"first orbit lowering (CE-5 pattern): perilune to ~{r_pdi - self.r_ref:.0f} km opposite the "
                   "descent start; time assumed")
        self.la_mass = self.impulse("LA orbit lowering 1", LAN, et_b1, dv1, LANDER_ENGINE, reason1, "assumed",
                                    isp, self.la_mass)
        s1b = engine.impulse(s1, dv1)
        # burn 2: ~1.25 orbits before the descent; solve Δv and its time so that the LA is at the descent start
        # point at the descent time with zero radial velocity
        period = 2 * math.pi * math.sqrt(((r1 + r_pdi) / 2) ** 3 / self.mu)
        et_b2_nom = et_pdi - self.v("lowering.revs_before_descent") * period
        arc_b = engine.propagate(s1b, et_b1, et_pdi - 1200.0, label="LA lowered orbit")
        n_b = unit(np.cross(arc_b.state_at(et_b2_nom)[:3], arc_b.state_at(et_b2_nom)[3:]))
        frame, n_plane, u_pdi = self.descent_frame(n_b)
        target = u_pdi * r_pdi

        def shoot(x):
            et_b2 = min(max(et_b2_nom + x[3] * 600.0, et_b1 + 600.0), et_pdi - 1200.0)
            st = engine.impulse(arc_b.state_at(et_b2), x[:3] * 1e-3)
            end = engine.propagate(st, et_b2, et_pdi).states[-1]
            return end, et_b2, st

        def resid(x):
            end = shoot(x)[0]
            return np.r_[end[:3] - target, 1e3 * (unit(end[:3]) @ end[3:])]

        x3 = newton3(lambda x: resid(np.r_[x, 0.0])[:3], np.zeros(3), what="LA orbit lowering 2", step=1e-4,
                     tol=1e-6)
        x = newton3(resid, np.r_[x3, 0.0], what="LA orbit lowering 2", step=1e-4, tol=1e-6, max_move=4.0,
                    max_iter=20)
        end, et_b2, st_b2 = shoot(x)
        self.ctx.add_arc([LAN, ASC], arc_b.sub(et_b1, et_b2, "LA lowered orbit"))
        dv2 = x[:3] * 1e-3
        reason2 = ("second orbit lowering (trim), solved so that the descent starts at the planned point, "
                   f"{self.v('lowering.perilune_height_km'):.0f} km up, at the sourced time")
        self.la_mass = self.impulse("LA orbit lowering 2", LAN, et_b2, dv2, LANDER_ENGINE, reason2, "derived",
                                    isp, self.la_mass)
        self.add_coast([LAN, ASC], st_b2, et_b2, et_pdi, "LA descent orbit")
        self.frame = frame
        self.ctx.add_event("la_lowering_1", et_b1, LAN, f"orbit lowering 1, {np.linalg.norm(dv1) * 1e3:.1f} m/s")
        self.ctx.add_event("la_lowering_2", et_b2, LAN, f"orbit lowering 2, {np.linalg.norm(dv2) * 1e3:.1f} m/s")

    # ------------------------------------------------------------------------------------------ descent
    def descent_targets(self, et_brake_end: float):
        """[(label, et_end, r, v, a)] of the powered-descent phases (MOON_ME targets), given the braking end."""
        fr = self.frame
        d = "descent."
        out = []
        ends = {"main_braking": et_brake_end,
                "attitude_adjustment": et_brake_end + self.v(d + "attitude_adjustment.duration_s")}
        for key, label in (("main_braking", "main braking"), ("attitude_adjustment", "rapid attitude adjustment")):
            et = ends[key]
            pos = fr.point(self.v(d + key + ".downrange_m"), 0.0, self.v(d + key + ".height_m"))
            vel = fr.vector(self.v(d + key + ".v_downrange_m_s"), 0.0, self.v(d + key + ".v_up_m_s"))
            acc = fr.vector(self.v(d + key + ".a_downrange_m_s2")) if key == "main_braking" else np.zeros(3)
            out.append((label, et, pos, vel, acc))
        h = d + "hover."
        hover = fr.point(0.0, 0.0, self.v(h + "height_m")) + (
            enu_basis(self.site_me).T @ np.r_[self.v(h + "offset_east_m"), self.v(h + "offset_north_m"), 0.0]) / 1e3
        et_h0 = et_from_utc(str(self.ctx.value(SECTION, h + "start_utc")))
        et_h1 = et_from_utc(str(self.ctx.value(SECTION, h + "end_utc")))
        out.append(("approach", et_h0, hover, np.zeros(3), np.zeros(3)))
        out.append(("hover and obstacle scan", et_h1, hover, np.zeros(3), np.zeros(3)))
        sd = d + "slow_descent."
        v_slow, h_cut, h_slow = self.v(sd + "speed_m_s"), self.v(sd + "cutoff_height_m"), self.v(sd + "start_height_m")
        g_loc = float(np.linalg.norm(self.g(self.t["touchdown_utc"],
                                            me_to_j2000(self.t["touchdown_utc"], self.site_me)[:3]))) * 1e3
        t_ff = (-v_slow + math.sqrt(v_slow**2 + 2 * g_loc * h_cut)) / g_loc
        et_cut = self.t["touchdown_utc"] - t_ff
        et_slow = et_cut - (h_slow - h_cut) / v_slow
        out.append(("obstacle avoidance", et_slow, fr.point(0, 0, h_slow), fr.vector(up=-v_slow), np.zeros(3)))
        out.append(("slow vertical descent", et_cut, fr.point(0, 0, h_cut), fr.vector(up=-v_slow), np.zeros(3)))
        return out

    def braking_peak(self, state0: np.ndarray, mass0: float, et_end: float) -> float:
        """Largest thrust the braking guidance asks for (before clipping, outside its final open-loop seconds),
        as a fraction of the engine's maximum, for a braking that ends at ``et_end``."""
        label, _, pos_me, vel_me, acc_me = self.descent_targets(et_end)[0]
        tgt = me_to_j2000(et_end, pos_me, vel_me)
        guide = PolyGuidance(et_end, tgt[:3], tgt[3:], self.g, a_f=me_to_j2000(et_end, acc_me)[:3], freeze_s=4.0)
        peak = [0.0]

        class Recorder:
            begin_step = staticmethod(guide.begin_step)

            def __call__(self, et, r, v, m):
                a = guide(et, r, v, m)
                if et < et_end - guide.freeze_s and float(np.linalg.norm(a)) * 1e3 * m > peak[0]:
                    peak[0] = float(np.linalg.norm(a)) * 1e3 * m
                    self.peak_et = et
                return a

        rec = Recorder()
        fly(self.t["powered_descent_start_utc"], state0, mass0, et_end, rec, self.lander_engine, self.g,
            dt=2.0 * self.v("descent.time_step_s"))
        self.peak_at = getattr(rec, "peak_et", 0.0) - self.t["powered_descent_start_utc"]
        return peak[0] / self.lander_engine.thrust_max_n

    def braking_end(self, state0: np.ndarray, mass0: float) -> float:
        """The earliest braking end (bisection, 1 ms) in the allowed window whose guidance keeps the margin."""
        mb = "descent.main_braking."
        lo, hi = self.et(mb + "earliest_end_utc"), self.et(mb + "latest_end_utc")
        margin = self.v(mb + "throttle_margin")
        if self.braking_peak(state0, mass0, lo) <= margin:
            return lo
        if self.braking_peak(state0, mass0, hi) > margin:
            raise TargetingError("main braking needs more than the 7,500 N engine even at its latest end; check "
                                 "descent.pdi_downrange_km and the masses in assets/trajectory/lunar_ops.yaml")
        while hi - lo > 1e-3:
            mid = 0.5 * (lo + hi)
            if self.braking_peak(state0, mass0, mid) <= margin:
                hi = mid
            else:
                lo = mid
        return hi

    def fly_descent(self, state0: np.ndarray, mass0: float) -> list[Stage]:
        et = self.t["powered_descent_start_utc"]
        dt = self.v("descent.time_step_s")
        stages = []
        state, mass = state0, mass0
        et_brake_end = self.braking_end(state0, mass0)
        slew = SlewLimited(self.v("descent.slew_rate_deg_s"), dt)
        reasons = {
            "main braking": "7,500 N engine near full thrust kills most of the ~1.7 km/s orbital speed "
                            "(E-guidance to the end-of-braking state; phase times assumed)",
            "rapid attitude adjustment": "thrust turned from braking to near vertical within seconds",
            "approach": "guided approach to the hover point ~100 m above the surface",
            "hover and obstacle scan": "hover at ~100 m (sourced) for the laser obstacle scan",
            "obstacle avoidance": "sideways move to the chosen spot while descending to ~30 m",
            "slow vertical descent": "constant-speed vertical descent to engine cut ~2 m above the surface",
        }
        for label, et_end, pos_me, vel_me, acc_me in self.descent_targets(et_brake_end):
            tgt = me_to_j2000(et_end, pos_me, vel_me)
            acc = me_to_j2000(et_end, acc_me)[:3]
            guide = PolyGuidance(et_end, tgt[:3], tgt[3:], self.g, a_f=acc, freeze_s=4.0)
            eng = self.turn_engine if label == "rapid attitude adjustment" else self.lander_engine
            f = fly(et, state, mass, et_end, slew.wrap(guide), eng, self.g, dt=dt)
            stages.append(Stage(f"powered descent: {label}", f, LANDER_ENGINE, reasons[label]))
            state, mass, et = *f.end(), float(f.ets[-1])
        f = fly(et, state, mass, self.t["touchdown_utc"], None, None, self.g, dt=min(dt, 0.25))
        stages.append(Stage("free fall to touchdown", f, "", ""))
        return stages

    def descend(self) -> None:
        et0 = self.t["powered_descent_start_utc"]
        s0 = self.ctx.state(LAN, et0)
        stages = self.fly_descent(s0, self.la_mass)
        for st in stages:
            self.add_stage([LAN, ASC], st)
            self.ctx.add_event("descent_" + st.label.split(": ")[-1].replace(" ", "_"), st.flight.ets[0], LAN,
                               f"{st.label} starts")
        self.descent_stages = stages
        self.la_mass = float(stages[-1].flight.mass[-1])
        # touchdown: the legs stop the fall (a velocity jump, recorded so the continuity checks can name it)
        et_td = self.t["touchdown_utc"]
        end = stages[-1].flight.states[-1]
        rest = me_to_j2000(et_td, self.site_me)
        self.ctx.add_manoeuvre(Manoeuvre("touchdown (leg contact)", LAN, et_td, 0.0,
                                         tuple(float(c) for c in rest[3:] - end[3:]), "landing-leg buffers", "derived",
                                         "free fall from the engine cut ends on the leg buffers; not a burn"))
        self.ctx.add_event("touchdown", et_td, LAN, "touchdown at the LROC site (sourced time)")

    # ------------------------------------------------------------------------------------------ surface
    def surface_arc(self, et0: float, et1: float, label: str) -> Arc:
        ets = np.linspace(et0, et1, 9)
        states = np.tile(np.r_[self.site_me, 0.0, 0.0, 0.0], (len(ets), 1))
        return Arc(label, ets, states, "MOON", "MOON_ME", "surface")

    def surface(self) -> None:
        et_td, et_lo = self.t["touchdown_utc"], self.t["liftoff_utc"]
        self.ctx.add_arc([LAN, ASC], self.surface_arc(et_td, et_lo, "on the surface (ascender on the lander)"))
        self.ctx.add_arc([LAN], self.surface_arc(et_lo, self.t["lander_end_utc"], "lander at the site"))

    # ------------------------------------------------------------------------------------------ ascent
    def ascent_geometry(self):
        et_lo = self.t["liftoff_utc"]
        s0 = me_to_j2000(et_lo, self.site_me)
        st_or = self.or_arc.state_at(et_lo)
        n_or = unit(np.cross(st_or[:3], st_or[3:]))
        up = unit(s0[:3])
        n = unit(n_or - up * (n_or @ up))
        return s0, up, unit(np.cross(n, up)), n

    def ascent_steer(self, params, et_lo, up0, down0):
        a, b = params[0], params[1]
        t_v, t_p = self.v("ascent.vertical_rise_s"), self.v("ascent.pitchover_s")
        f = self.ascender_engine.thrust_max_n

        def steer(et, r, v, m):
            t = et - et_lo
            vert = unit(r)
            if t < t_v:
                d = vert
            else:
                th = math.atan(a - b * (t - t_v))
                lt = math.cos(th) * down0 + math.sin(th) * up0
                s = min(1.0, (t - t_v) / t_p)
                s = s * s * (3 - 2 * s)
                d = unit((1 - s) * vert + s * lt)
            return d * f / m * 1e-3

        return steer

    def fly_ascent(self, params, dt):
        et_lo = self.t["liftoff_utc"]
        s0, up0, down0, n = self.ascent_geometry()
        steer = self.ascent_steer(params, et_lo, up0, down0)
        t_v, t_p = self.v("ascent.vertical_rise_s"), self.v("ascent.pitchover_s")
        marks = [et_lo, et_lo + t_v, et_lo + t_v + t_p, et_lo + float(params[2])]
        flights = []
        state, mass = s0, self.asc_mass
        for e0, e1 in zip(marks[:-1], marks[1:]):
            f = fly(e0, state, mass, e1, steer, self.ascender_engine, self.g, dt=dt)
            flights.append(f)
            state, mass = f.end()
        return flights

    def ascend(self) -> None:
        rp = self.r_ref + self.v("ascent.perilune_height_km")
        ra = self.r_ref + self.v("ascent.apolune_height_km")
        vp = math.sqrt(self.mu * (2 / rp - 2 / (rp + ra)))

        def resid(x):
            end = self.fly_ascent(x, 1.0)[-1].states[-1]
            r = float(np.linalg.norm(end[:3]))
            return np.array([r - rp, 1e2 * (unit(end[:3]) @ end[3:]), 1e2 * (np.linalg.norm(end[3:]) - vp)])

        x = newton3(resid, np.array([1.2, 1.2 / 330.0, 330.0]), what="ascent insertion", step=1e-5, tol=1e-6)
        flights = self.fly_ascent(x, self.v("ascent.time_step_s"))
        labels = [("ascent: vertical rise", "vertical rise off the lander (time assumed)"),
                  ("ascent: pitch-over", "pitch-over towards the orbiter's plane"),
                  ("ascent: orbit insertion", f"linear-tangent steering into the placeholder ~"
                   f"{self.v('ascent.perilune_height_km'):.0f} x {self.v('ascent.apolune_height_km'):.0f} km orbit")]
        for f, (label, reason) in zip(flights, labels):
            self.add_stage([ASC], Stage(label, f, ASCENDER_ENGINE, reason))
        self.asc_mass = float(flights[-1].mass[-1])
        self.et_insertion = float(flights[-1].ets[-1])
        self.ctx.add_event("liftoff", self.t["liftoff_utc"], ASC, "ascender liftoff from the lander (sourced time)")
        self.ctx.add_event("ascent_insertion", self.et_insertion, ASC,
                           f"engine cut-off, insertion after {self.et_insertion - self.t['liftoff_utc']:.0f} s")

    # ------------------------------------------------------------------------------------------ rendezvous
    def rendezvous(self) -> None:
        ctx, mu = self.ctx, self.mu
        isp_a, isp_o = self.v("engines.ascender_isp_s"), self.v("engines.orbiter_isp_s")
        et_ins, et_p2, et_sra = self.et_insertion, self.t["phasing2_utc"], self.t["short_range_start_utc"]
        s_ins = ctx.state(ASC, et_ins)
        or_st = self.or_arc.state_at(et_sra)
        r_or = float(np.linalg.norm(or_st[:3]))
        # OR mean motion measured on its own arc (includes the J2 and third-body secular effects)
        h_or = np.cross(or_st[:3], or_st[3:])
        ts = np.linspace(et_ins, et_sra, 400)
        ang = np.unwrap([phase_angle(self.or_arc.state_at(ts[0])[:3], self.or_arc.state_at(t)[:3], h_or)
                         for t in ts])
        n_or = (ang[-1] - ang[0]) / (ts[-1] - ts[0])
        a_or = engine.elements(or_st, mu)["a"]
        corr = n_or / math.sqrt(mu / a_or**3)  # measured / Keplerian, applied to the ascender's orbits too
        # phasing 1 at the first apolune after insertion: raise the perilune so that the drift until the
        # short-range approach leaves the ascender ~50 km ahead of the orbiter
        el = engine.elements(s_ins, mu)
        t_apo = ((math.pi - el["M"]) % (2 * math.pi)) / math.sqrt(mu / el["a"] ** 3)
        et_p1 = et_ins + t_apo
        arc0 = self.add_coast([ASC], s_ins, et_ins, et_p1, "ascender insertion orbit")
        s1 = arc0.states[-1]
        r_a1 = float(np.linalg.norm(s1[:3]))
        a2 = a_or + self.v("rendezvous.above_km")
        n2 = corr * math.sqrt(mu / a2**3)
        phi1 = phase_angle(self.or_arc.state_at(et_p1)[:3], s1[:3], h_or)
        phi_goal = self.v("rendezvous.ahead_km") / r_or
        need = phi_goal - phi1 - (n2 - n_or) * (et_sra - et_p2)  # to gain between phasing 1 and 2
        lo_rate = corr * math.sqrt(mu / ((r_a1 + r_a1) / 2) ** 3) - n_or
        hi_rate = corr * math.sqrt(mu / ((r_a1 + self.r_ref + 15.0) / 2) ** 3) - n_or
        dur = et_p2 - et_p1
        k = math.ceil((lo_rate * dur - need) / (2 * math.pi))
        rate = (need + 2 * math.pi * k) / dur
        if not lo_rate <= rate <= hi_rate:
            raise TargetingError("ascender phasing: no perilune between 15 km and the apolune gives the drift "
                                 "needed; move times.phasing2_utc in assets/trajectory/lunar_ops.yaml")
        a1 = (mu * corr**2 / (rate + n_or) ** 2) ** (1 / 3)
        rp1 = 2 * a1 - r_a1
        dv1 = apsis_dv(s1, rp1, mu)
        self.asc_mass = self.impulse("ascender phasing 1", ASC, et_p1, dv1, ASCENDER_ENGINE,
                                     f"raise perilune to {rp1 - self.r_ref:.0f} km for the drift towards the orbiter",
                                     "derived", isp_a, self.asc_mass)
        s1b = engine.impulse(s1, dv1)
        # phasing 2 at the first apolune after phasing2_utc
        el1 = engine.elements(s1b, mu)
        n1 = math.sqrt(mu / el1["a"] ** 3)
        t_to_apo = ((math.pi - el1["M"]) % (2 * math.pi)) / n1
        period1 = 2 * math.pi / n1
        et_p2 = et_p1 + t_to_apo + math.ceil((et_p2 - et_p1 - t_to_apo) / period1) * period1
        arc1 = self.add_coast([ASC], s1b, et_p1, et_p2, "ascender phasing orbit")
        s2 = arc1.states[-1]
        r2 = float(np.linalg.norm(s2[:3]))
        v2 = math.sqrt(mu * (2 / r2 - 1 / a2))
        dv2 = unit(s2[3:]) * (v2 - float(np.linalg.norm(s2[3:])))
        self.asc_mass = self.impulse("ascender phasing 2", ASC, et_p2, dv2, ASCENDER_ENGINE,
                                     "at apolune: semi-major axis to ~10 km above the orbiter's (time assumed)",
                                     "derived", isp_a,
                                     self.asc_mass)
        s2b = engine.impulse(s2, dv2)
        et_p3, et_p4, asc_arc = self._phasing_34(s2b, et_p2, et_sra, or_st, h_or, r_or, n_or, isp_a)
        for i, e in enumerate((et_p1, et_p2, et_p3, et_p4), 1):
            ctx.add_event(f"ascender_phasing_{i}", e, ASC, f"ascender orbit adjustment {i} of 4")
        self._approach_and_dock(or_st, asc_arc, et_sra, isp_o)

    def _phasing_34(self, s2b, et_p2, et_sra, or_st, h_or, r_or, n_or, isp_a):
        """Ascender phasing 3 and 4, solved together so that the ascender starts the short-range approach ~50 km
        ahead of and ~10 km above the orbiter; returns their epochs and the ascender's arc to the docking."""
        ctx = self.ctx
        period = 2 * math.pi / n_or
        et_p3 = et_sra - self.v("rendezvous.phasing3_revs_before") * period
        et_p4 = et_sra - self.v("rendezvous.phasing4_revs_before") * period
        arc2 = engine.propagate(s2b, et_p2, et_p3, label="ascender drift orbit")
        ctx.add_arc([ASC], arc2)
        s3 = arc2.states[-1]
        # target at the start of the short-range approach: the orbiter's state rotated ahead and raised
        h_hat = unit(h_or)
        ahead = self.v("rendezvous.ahead_km") / r_or
        rr = rotate(or_st[:3], h_hat, ahead)
        vv = rotate(or_st[3:], h_hat, ahead)
        scale = (r_or + self.v("rendezvous.above_km")) / r_or
        target = np.r_[rr * scale, vv / math.sqrt(scale)]

        def shoot(x):
            a = engine.propagate(engine.impulse(s3, x[:3] * 1e-3), et_p3, et_p4)
            b = engine.propagate(engine.impulse(a.states[-1], x[3:] * 1e-3), et_p4, et_sra)
            return a, b

        def resid(x):
            end = shoot(x)[1].states[-1]
            return np.r_[end[:3] - target[:3], 1e3 * (end[3:] - target[3:])]

        x = newton3(resid, np.zeros(6), what="ascender phasing 3/4", step=1e-4, tol=1e-6, max_move=20.0, max_iter=30)
        a, b = shoot(x)
        self.asc_mass = self.impulse("ascender phasing 3", ASC, et_p3, x[:3] * 1e-3, ASCENDER_ENGINE,
                                     "plane and height adjustment, solved with phasing 4 for the approach start point",
                                     "derived", isp_a, self.asc_mass)
        ctx.add_arc([ASC], a)
        self.asc_mass = self.impulse("ascender phasing 4", ASC, et_p4, x[3:] * 1e-3, ASCENDER_ENGINE,
                                     "final adjustment: ~50 km ahead of and ~10 km above the orbiter (sourced)",
                                     "derived", isp_a, self.asc_mass)
        et_dock = self.t["docking_utc"]
        asc_arc = engine.propagate(b.states[0], et_p4, et_dock, label="ascender awaiting the orbiter")
        ctx.add_arc([ASC], asc_arc)
        return et_p3, et_p4, asc_arc

    def _approach_and_dock(self, or_st, asc_arc, et_sra, isp_o) -> None:
        """The orbiter's short-range approach (three burns, each solved to reach a point behind the ascender) and
        the capture at the sourced docking time."""
        ctx = self.ctx
        et_dock = self.t["docking_utc"]
        # orbiter short-range approach: three burns, each solved to reach a point behind the ascender
        legs = [(et_sra, self.t["approach2_utc"], self.v("rendezvous.approach1_behind_km"), "approach 1"),
                (self.t["approach2_utc"], self.t["final_approach_utc"], self.v("rendezvous.approach2_behind_km"),
                 "approach 2"),
                (self.t["final_approach_utc"], et_dock, 0.0, "final approach")]
        st = or_st
        for e0, e1, behind, name in legs:
            sa = asc_arc.state_at(e1)
            aim = sa[:3] - unit(sa[3:]) * behind

            def miss(x, st=st, e0=e0, e1=e1, aim=aim):
                return engine.propagate(engine.impulse(st, x * 1e-3), e0, e1).states[-1][:3] - aim

            x = newton3(miss, np.zeros(3), what=f"orbiter {name}", step=1e-4, tol=1e-7)
            self.or_mass = self.impulse(f"orbiter {name}", ORB, e0, x * 1e-3, ORBITER_RCS,
                                        f"short-range approach: {behind * 1e3:.0f} m behind the ascender at "
                                        f"{utc_from_et(e1)}" if behind else "closing on the ascender for capture",
                                        "derived", isp_o, self.or_mass)
            st = engine.impulse(st, x * 1e-3)
            arc = self.add_coast([ORB, RET], st, e0, e1, f"orbiter {name}")
            st = arc.states[-1]
        ctx.add_event("short_range_approach", et_sra, ORB, "orbiter starts its short-range approach")
        # capture: the ascender joins the orbiter's state (the claws absorb the small relative velocity)
        sa = asc_arc.states[-1]
        self.dock_rel = (float(np.linalg.norm(sa[:3] - st[:3])) * 1e3, float(np.linalg.norm(sa[3:] - st[3:])) * 1e3)
        self.ctx.add_manoeuvre(Manoeuvre("docking capture", ASC, et_dock, 0.0,
                                         tuple(float(c) for c in st[3:] - sa[3:]), "capture (holding claws)",
                                         "derived", "the orbiter's claws capture the ascender; not a burn"))
        self.ctx.add_event("docking", et_dock, ORB, f"docking (sourced); closing speed {self.dock_rel[1]:.2f} m/s")
        self.ctx.add_event("sample_transfer", self.t["sample_transfer_utc"], RET,
                           "sample container in the returner (sourced)")
        self.stack_arc = self.add_coast([ORB, RET, ASC], st, et_dock, self.t["undocking_utc"],
                                        "orbiter-returner with the docked ascender")

    # ------------------------------------------------------------------------------------------ disposal
    def dispose(self) -> None:
        et_u, et_d = self.t["undocking_utc"], self.t["deorbit_utc"]
        s = self.stack_arc.states[-1]
        dv = unit(s[:3]) * self.v("disposal.undocking_dv_m_s") / 1e3
        self.impulse("ascender undocking", ASC, et_u, dv, "separation mechanism",
                     self.entry("disposal.undocking_dv_m_s")["reason"], "assumed")
        self.ctx.add_event("undocking", et_u, ASC, "ascender released (time assumed)")
        arc = self.add_coast([ASC], engine.impulse(s, dv), et_u, et_d, "ascender after release")
        s = arc.states[-1]
        dv = apsis_dv(s, self.v("disposal.deorbit_perilune_radius_km"), self.mu)
        self.asc_mass = self.impulse("ascender deorbit", ASC, et_d, dv, ASCENDER_ENGINE,
                                     self.entry("times.deorbit_utc")["reason"], "assumed",
                                     self.v("engines.ascender_isp_s"), self.asc_mass)
        fall = engine.propagate(engine.impulse(s, dv), et_d, et_d + 3600.0 * 2, label="ascender deorbit")
        r_imp = self.v("disposal.impact_radius_km")
        rad = np.linalg.norm(fall.states[:, :3], axis=1)
        k = int(np.argmax(rad < r_imp))
        if k == 0:
            raise TargetingError("ascender deorbit: no impact within 2 h; lower disposal.deorbit_perilune_radius_km")
        et_imp = brentq(lambda t: np.linalg.norm(fall.state_at(t)[:3]) - r_imp, fall.ets[k - 1], fall.ets[k],
                        xtol=1e-4)
        self.ctx.add_arc([ASC], fall.sub(et_d, et_imp, "ascender deorbit to impact"))
        me = j2000_to_me(et_imp, fall.state_at(et_imp))
        lat = math.degrees(math.asin(me[2] / np.linalg.norm(me[:3])))
        lon = math.degrees(math.atan2(me[1], me[0])) % 360
        self.ctx.add_event("ascender_impact", et_imp, ASC,
                           f"controlled impact (date, time and point assumed; the real point is unknown), "
                           f"model point {lat:.1f} deg, {lon:.1f} deg E on the reference sphere")
