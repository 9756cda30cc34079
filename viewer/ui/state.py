"""AppState: everything one browser session can change, in one ``param.Parameterized``.

The state knows the mission (phases, events, launch) but nothing about Panel widgets or the 3D scene, so it is
tested without a browser. Widgets are made from these parameters (``Widget.from_param`` / ``pn.Param``); the
bounds, labels and choices live only here.

Time is ET inside (``et``); UTC strings appear only in :attr:`AppState.utc`, in the URL (``?t=...Z``) and in the
readouts.

>>> state = AppState.for_mission()                     # doctest: +SKIP
>>> state.jump("touchdown"); state.utc                 # doctest: +SKIP
'2024-06-01T22:23:16Z'
"""

from __future__ import annotations

import logging

import param

from viewer.epochs import et_from_utc, mission_elapsed, utc_from_et
from viewer.errors import InputError, LastGood, shown
from viewer.mission import load_mission
from viewer.phase_views import phase_views
from viewer.scene.views import default_view, load_views

LANGUAGES = ("en", "zh")
SPEEDS = (1, 10, 100, 1_000, 10_000, 100_000)  # simulated seconds per wall-clock second
EXAGGERATIONS = (1, 2, 5, 10)
URL_KEYS = {"t": "time", "view": "view", "lang": "language"}
WEB_EXCLUDED_VIEWS = ("follow",)  # its whole-mission metre-scale tracks are ~10 MB: over the browser budget


log = logging.getLogger("viewer.ui")
web_mission = LastGood(load_mission, log, "mission data")
"""``assets/mission.yaml`` as the web app uses it: read again when the file changes, so an edit shows on the next
page; a file broken while the server runs is logged and the last good mission stays in use."""


def web_views() -> list[str]:
    """The views the web app offers (all of ``assets/views.yaml`` but :data:`WEB_EXCLUDED_VIEWS`)."""
    return [v for v in load_views() if v not in WEB_EXCLUDED_VIEWS]


class AppState(param.Parameterized):
    """One session's state. Build it with :meth:`for_mission` (bounds and choices come from the mission data)."""

    et = param.Number(
        default=0.0,
        bounds=(0.0, 1.0),
        label="Time",
        doc="Current epoch, ET (TDB seconds past J2000). The browser animates it; the server learns it throttled.",
    )
    playing = param.Boolean(default=False, label="Play", doc="Playback running in the browser")
    speed = param.Selector(
        objects=list(SPEEDS),
        default=1_000,
        label="Speed",
        doc="Simulated seconds per wall-clock second (×1 is real time)",
    )
    view = param.Selector(objects=["system"], default="system", label="View", doc="Camera preset (assets/views.yaml)")
    language = param.Selector(objects=list(LANGUAGES), default="en", label="Language")
    phase = param.Selector(objects=[""], default="", label="Phase", doc="The phase at `et` (kept in sync)")
    show_links = param.Boolean(default=True, label="Relay links")
    show_trails = param.Boolean(default=True, label="Trails")
    show_labels = param.Boolean(default=True, label="Labels")
    terrain_exaggeration = param.Selector(
        objects=list(EXAGGERATIONS), default=1, label="Relief ×", doc="Vertical exaggeration of the landing-site relief"
    )
    enlarge_spacecraft = param.Boolean(
        default=True, label="Enlarge spacecraft", doc="Draw spacecraft at the view's enlargement (off: true size)"
    )
    auto_view = param.Boolean(
        default=True, label="Follow the story", doc="Jumping to a phase or event also picks the view that shows it best"
    )
    kiosk = param.Boolean(default=False, precedence=-1, doc="Kiosk mode: a layout without file/export/settings")
    jumps = param.Integer(
        default=0, precedence=-1, doc="Counts jumps (go): the app puts the camera back on the view's preset then"
    )

    def __init__(self, mission, views: list[str] | None = None, default_view: str | None = None, **params):
        self._mission = mission
        t0, t1 = mission_span(mission)
        self.param.et.bounds = (t0, t1)
        if views:
            self.param.view.objects = list(views)
            self.param.view.default = default_view or views[0]
        self.param.phase.objects = [""] + [p.id for p in mission.phases]
        params.setdefault("et", mission.launch_et if t0 <= mission.launch_et <= t1 else t0)
        params.setdefault("view", default_view or (views[0] if views else "system"))
        super().__init__(**params)
        self._sync_phase()

    @classmethod
    def for_mission(cls, **params) -> AppState:
        """The state for ``assets/mission.yaml`` and ``assets/views.yaml``."""
        return cls(web_mission(), views=web_views(), default_view=default_view(), **params)

    # ------------------------------------------------------------------------------------------ time
    @property
    def mission(self):
        return self._mission

    @property
    def utc(self) -> str:
        """The current time as UTC ISO with ``Z`` (whole seconds)."""
        return utc_from_et(self.et)

    @property
    def mission_time(self) -> str:
        """Mission elapsed time from launch: ``T+29d 12:56:31`` (``T-`` before launch)."""
        return mission_elapsed(self.et, self._mission.launch_et)

    @property
    def step_s(self) -> float:
        """One step (arrow key) is one wall-clock second of playback at the current speed."""
        return float(self.speed)

    def set_time(self, et: float) -> None:
        """Set ``et``, clamped to the mission's span."""
        lo, hi = self.param.et.bounds
        self.et = min(max(float(et), lo), hi)

    def step(self, n: int = 1) -> None:
        self.set_time(self.et + n * self.step_s)

    def go(self, et: float, view: str | None = None, **params) -> None:
        """Jump to ``et`` (clamped) and, if given, ``view``, in one batch: watchers see the new view and the new
        time together, so the camera and the light are placed for the time the view opens at."""
        lo, hi = self.param.et.bounds
        updates = dict(params, et=min(max(float(et), lo), hi), jumps=self.jumps + 1)
        if view is not None and view != self.view:
            updates["view"] = view
        self.param.update(**updates)

    def jump(self, item_id: str) -> None:
        """Go to the start of a phase or to an event (and to its view, when :attr:`auto_view`)."""
        try:
            item = self._mission.item(item_id)
        except KeyError:
            raise InputError(f"no phase or event called {shown(item_id)}; pick one from the timeline") from None
        et = getattr(item, "start_et", None)
        et = item.et if et is None else et
        view = None
        if self.auto_view:
            phase = self._mission.phase_at(et) if not hasattr(item, "start_et") else item
            view = phase_views().get(phase.id) if phase is not None else None
            view = view if view in self.param.view.objects else None
        self.go(et, view)

    @param.depends("et", watch=True)
    def _sync_phase(self) -> None:
        p = self._mission.phase_at(self.et)
        pid = p.id if p is not None else ""
        if pid != self.phase:
            self.phase = pid

    # ------------------------------------------------------------------------------------------ words
    def current_items(self) -> tuple:
        """(phase, latest event) at ``et``: the phase containing it, and the last event in that phase so far."""
        m = self._mission
        phase = m.phase_at(self.et)
        start = phase.start_et if phase is not None else self.param.et.bounds[0]
        events = m.events_between(start, self.et)
        return phase, (events[-1] if events else None)

    def caption(self) -> dict:
        """Words for the caption panel at ``et`` in the current language (title, caption, grade, sources)."""
        lang = self.language
        phase, event = self.current_items()
        out = {"phase": None, "event": None}
        for key, item in (("phase", phase), ("event", event)):
            if item is not None:
                out[key] = {
                    "id": item.id,
                    "title": item.title[lang],
                    "caption": item.caption[lang],
                    "grade": item.grade,
                    "grade_note": item.note(lang),
                    "sources": [self._mission.source(s) for s in item.sources],
                }
        return out

    # ------------------------------------------------------------------------------------------ URL
    def to_query(self) -> dict[str, str]:
        """The shareable part of the state: ``{"t": UTC, "view": name, "lang": en|zh}``."""
        return {"t": self.utc, "view": self.view, "lang": self.language}

    def apply_query(self, query: dict) -> list[str]:
        """Apply ``t``, ``view`` and ``lang`` from a URL query (values may be lists). Returns one-line problems.

        A bad value is skipped with a message that names it and the fix; the rest is still applied.
        """
        problems = []

        def first(v):
            if isinstance(v, (list, tuple)):
                v = v[0] if v else ""
            return v.decode() if isinstance(v, bytes) else str(v)

        updates = {}
        if "view" in query:
            v = first(query["view"])
            if v in self.param.view.objects:
                updates["view"] = v
            else:
                problems.append(f"view {shown(v)} is unknown; choose one of {', '.join(self.param.view.objects)}")
        if "lang" in query:
            v = first(query["lang"])
            if v in LANGUAGES:
                updates["language"] = v
            else:
                problems.append(f"language {shown(v)} is unknown; choose en or zh")
        if "t" in query:
            v = first(query["t"])
            try:
                et = et_from_utc(v)
            except InputError as exc:
                problems.append(str(exc))
            else:
                lo, hi = self.param.et.bounds
                if lo <= et <= hi:
                    updates["et"] = et
                else:
                    problems.append(f"time {v} is outside the mission ({utc_from_et(lo)} to {utc_from_et(hi)})")
        if updates:
            self.param.update(**updates)
        return problems


def mission_span(mission) -> tuple[float, float]:
    """(first phase start, last phase end), ET: the range of the time slider (:attr:`Mission.span`)."""
    return mission.span
