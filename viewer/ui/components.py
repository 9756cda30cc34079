"""Panel components of the web app: the vtk.js scene animated in the browser, and the site-horizon panel.

- :class:`TemplateVTK`: Panel's synchronised VTK pane fed from :class:`viewer.ui.shared.SharedScene`'s cached
  serialisation, so a session costs no server render or serialisation.
- :class:`MissionView`: a ``JSComponent`` holding that pane, the time bar and the labels; its JavaScript
  (``static/mission_view.js``) moves actors, trails, link lines and the Sun light from the tracks.
- :class:`HorizonPanel`: "Earth never rises here" (``static/horizon.js``).
"""

from __future__ import annotations

import html
from pathlib import Path

import panel as pn
import param
from panel.custom import Child, JSComponent
from panel.pane.vtk.vtk import VTKRenderWindowSynchronized

STATIC = Path(__file__).resolve().parent / "static"


def static_text(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


class TemplateVTK(VTKRenderWindowSynchronized):
    """A VTK pane whose scene is the shared scene's cached serialisation for ``key`` = (view, relief)."""

    def __init__(self, shared, key: tuple[str, float], **params):
        self._shared = shared
        self._key = key
        super().__init__(shared.scene.plotter.ren_win, **params)

    @property
    def key(self) -> tuple[str, float]:
        return self._key

    def set_key(self, key: tuple[str, float]) -> None:
        """Switch to another (view, relief): a structural change, so the pane re-synchronises once."""
        if key != self._key:
            self._key = key
            self.synchronize()

    def _serialize_ren_win(self, ren_win, context, binary=False, compression=True, exclude_arrays=None):
        scene, arrays, annotations = self._shared.serialised(*self._key)
        skip = set(exclude_arrays or ())
        return scene, {k: v for k, v in arrays.items() if k not in skip}, annotations

    def get_color_mappers(self, infer=False):
        return []


class MissionView(JSComponent):
    """The 3D view and the time bar. ``et``, ``playing`` and ``speed`` are mirrored with :class:`AppState`."""

    vtk = Child()
    tracks = param.Dict(default={})
    et = param.Number(default=0.0)
    playing = param.Boolean(default=False)
    speed = param.Number(default=1000.0)
    speeds = param.List(default=[])
    t0 = param.Number(default=0.0)
    t1 = param.Number(default=1.0)
    launch_et = param.Number(default=0.0)
    et_minus_unix = param.Number(default=0.0, doc="ET - Unix UTC seconds, from viewer.epochs (no leap second in span)")
    language = param.String(default="en")
    show_links = param.Boolean(default=True)
    show_trails = param.Boolean(default=True)
    show_labels = param.Boolean(default=True)
    enlarge = param.Boolean(default=True)
    names = param.Dict(default={})
    phases = param.List(default=[])
    events = param.List(default=[])
    relay = param.Dict(default={})
    i18n = param.Dict(default={})
    site_shadows = param.Dict(default={}, doc="the site patch's horizon bytes and shading (static/site_shadows.js)")
    reconnect = param.Boolean(default=True, doc="reload the page once the server is back (static/reconnect.js)")
    story_on = param.Boolean(default=True, doc="The story camera frames the view (static/story_camera.js)")

    # one module: the story camera, following a spacecraft, the relay chain's drawing, the labels, the site's
    # shadows, the trails and the reconnect watch first, then the view that calls them
    _esm = "\n".join(
        static_text(f)
        for f in (
            "story_camera.js",
            "follow.js",
            "relay_chain.js",
            "labels.js",
            "site_shadows.js",
            "trails.js",
            "reconnect.js",
            "mission_view.js",
        )
    )
    _stylesheets = [static_text("mission_view.css")]

    def __init__(self, on_jump=None, **params):
        self._on_jump = on_jump
        super().__init__(**params)

    def _handle_msg(self, msg):
        if isinstance(msg, dict) and "jump" in msg and self._on_jump is not None:
            self._on_jump(str(msg["jump"]))


class HorizonPanel(JSComponent):
    """The horizon seen from the landing site and the Earth's direction below it, following the browser clock."""

    data = param.Dict(default={})
    et = param.Number(default=0.0)
    language = param.String(default="en")
    labels = param.Dict(default={})
    compass = param.Dict(default={}, doc="the four compass points, north first, space-separated, per language")

    _esm = static_text("horizon.js")
    _stylesheets = [
        """
:host { display: block; }
.hz-box { width: 100%; }
.hz-svg { width: 100%; height: 150px; display: block; border-radius: 6px; }
.hz-sky { fill: #050913; }
.hz-ground { fill: #3b3a37; stroke: #8a857a; stroke-width: 1; vector-effect: non-scaling-stroke; }
.hz-zero { stroke: #56B4E9; stroke-dasharray: 4 3; stroke-width: 1; vector-effect: non-scaling-stroke; }
.hz-earth { fill: #56B4E9; stroke: #fff; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.hz-tick { fill: #9aa6bd; font-size: 10px; }
.hz-read { color: #c9d2e3; font-size: 15px; margin-top: 6px; }
.hz-note { color: #9aa6bd; font-size: 14px; }
"""
    ]


NOTIFY_MAX = 300  # characters of one notification line


def notify_text(message: str) -> str:
    """The toast's HTML for ``message``: one line, at most :data:`NOTIFY_MAX` characters, HTML-escaped (the toast
    shows its message as HTML, and messages quote what visitors typed into the URL)."""
    text = " ".join(str(message).split())
    if len(text) > NOTIFY_MAX:
        text = text[: NOTIFY_MAX - 1] + "…"
    return html.escape(text)


def notify(message: str, kind: str = "warning") -> None:
    """One line to the person using the page, never a traceback."""
    if pn.state.notifications is not None:
        getattr(pn.state.notifications, kind)(notify_text(message), duration=6000)


def client_address() -> str:
    """The connecting browser's address (PIN lock-outs count per client); "local" outside a server session."""
    try:
        return str(pn.state.curdoc.session_context.request.remote_ip or "local")
    except AttributeError:
        return "local"
