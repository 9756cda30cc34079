"""MissionApp: the web app people meet first. One :class:`AppState` per session; widgets from its params.

The 3D scene is the shared server scene's cached vtk.js serialisation (:mod:`viewer.ui.shared`); the browser
animates it from sample tracks (:class:`viewer.ui.components.MissionView`). Python acts on real state changes
(view, relief, layers, language, phase) and learns the time throttled, for captions and the URL.

``kiosk=True`` builds the same app without file, export and settings controls, in the kiosk's layout
(:mod:`viewer.ui.kiosk`).
"""

from __future__ import annotations

import html
import logging
import time

import panel as pn
import param

from viewer import words
from viewer.epochs import et_minus_unix, utc_from_et
from viewer.errors import ViewerError
from viewer.scene import vehicles
from viewer.ui import kiosk, shared
from viewer.ui.classroom_panel import Classroom
from viewer.ui.components import HorizonPanel, MissionView, TemplateVTK, notify
from viewer.ui.files import SaveControls
from viewer.ui.i18n import TEXT, t
from viewer.ui.state import SPEEDS, AppState, web_views
from viewer.ui.story import StoryLink
from viewer.ui.styles import APP_CSS, PHASE_BTN_CSS

log = logging.getLogger("viewer.ui")


def badge(grade: str, lang: str) -> str:
    colour = words.grade_colour(grade)
    return f'<span class="ce6-badge ce6-grade-{grade}" style="background:{colour}">{html.escape(t(grade, lang))}</span>'


def ground_badge(lang: str) -> str:
    """What the landing site's ground is (a LOLA product or the illustrative relief), with its grade."""
    g = shared.ground(lang)
    if not g:
        return ""
    return (
        f'<div class="ce6-src ce6-ground">{html.escape(g["text"])}'
        f'<span class="ce6-badge" style="background:{g["colour"]}">{html.escape(g["grade_word"])}</span></div>'
    )


def source_html(src, lang: str = "en") -> str:
    """One source line: the original outlet and title (kept as the reference, marked English), its gloss in
    ``lang`` where the mission file gives one, and a link."""
    title = f'<span lang="en" class="ce6-orig">{html.escape(f"{src.outlet}, {src.title}")}</span>'
    gloss = src.gloss(lang)
    if gloss:
        title += f'<span class="ce6-gloss">（{html.escape(gloss)}）</span>'
    link = f' <a href="{html.escape(src.url)}" target="_blank" rel="noopener">↗</a>' if src.url else ""
    return f'<div class="ce6-src">{title}{link}</div>'


def _text(text) -> dict:
    return {"en": text.en, "zh": text.zh}


def _card(html_text: str) -> pn.pane.HTML:
    return pn.pane.HTML(html_text, sizing_mode="stretch_width", css_classes=["ce6-card"], stylesheets=[APP_CSS])


class MissionApp(pn.viewable.Viewer):
    """The Chang'e-6 mission viewer for one browser session."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, *, kiosk: bool = False, query: dict | None = None, **params):
        shared.furnish()
        state = params.pop("state", None) or AppState.for_mission(kiosk=kiosk)
        super().__init__(state=state, **params)
        self._shared = shared.shared_scene()
        self._mission = state.mission
        self._closed = False
        self._shown_items: tuple = ()
        problems = state.apply_query(query or {})
        self.story = StoryLink(state, query or {})  # story camera: ?t= alone opens it, ?view= a preset
        self.classroom = Classroom(state, query or {})  # ?follow=CODE joins a class; "Lead a class" opens one
        self._build()
        for p in problems:
            pn.state.onload(lambda p=p: notify(p)) if pn.state.curdoc else log.warning(p)

    # ------------------------------------------------------------------------------------------ build
    def _build(self) -> None:
        s = self.state
        self.vtk = TemplateVTK(
            self._shared,
            (s.view, float(s.terrain_exaggeration)),
            sizing_mode="stretch_both",
            orientation_widget=False,
            enable_keybindings=False,
            camera=self._shared.camera(s.view, s.et),
        )
        self.view3d = self.story.bind(self._make_view3d())
        self.horizon = HorizonPanel(
            data=shared.horizon_data(),
            et=s.et,
            language=s.language,
            labels=TEXT["earth_el"],
            compass=TEXT["compass_points"],
            sizing_mode="stretch_width",
            height=190,
        )
        self._make_controls()
        self.files = SaveControls(s, self._safe)
        self._make_panes()
        # state <-> browser clock; the rest of the state -> scene
        self.view3d.param.watch(self._safe(self._from_client), ["et", "playing", "speed"])
        s.param.watch(self._safe(self._to_client), ["et", "playing", "speed"])
        s.param.watch(self._safe(self._on_view), ["view", "terrain_exaggeration", "jumps"])
        s.param.watch(self._safe(self._on_layers), ["show_links", "show_trails", "show_labels", "enlarge_spacecraft"])
        s.param.watch(self._safe(self._on_language), ["language"])
        s.param.watch(self._safe(self._on_words), ["et", "phase", "language"])
        s.param.watch(self._safe(self._on_url), ["et", "view", "language"])
        self._on_language()
        self._on_words()
        self._layout = kiosk.build_layout(self) if s.kiosk else self._make_layout()

    def _actor_names(self) -> dict:
        """Actor name -> {en, zh, colour}: the labels the browser draws (names from assets/scene.yaml)."""
        cfg = self._shared.scene.cfg
        shown = vehicles.display_names(cfg)
        rows = [(n, v["actor"], v["colour"]) for n, v in cfg["vehicles"].items()]
        rows += [(n, v["actor"], "#c9d2e3") for n, v in cfg["bodies"].items()]
        return {actor: {**shown.get(naif, {"en": naif}), "colour": colour} for naif, actor, colour in rows}

    def _make_view3d(self) -> MissionView:
        s = self.state
        m = self._mission
        lo, hi = s.param.et.bounds
        return MissionView(
            on_jump=self._safe(self.jump),
            vtk=self.vtk,
            tracks=self._shared.tracks(s.view),
            site_shadows=self._shared.site_shadows(s.view, float(s.terrain_exaggeration)),
            et=s.et,
            playing=s.playing,
            speed=float(s.speed),
            speeds=list(SPEEDS),
            t0=lo,
            t1=hi,
            launch_et=m.launch_et,
            et_minus_unix=et_minus_unix(lo, hi),
            language=s.language,
            names=self._actor_names(),
            phases=[
                {"id": p.id, "start": p.start_et, "end": p.end_et, "parent": p.parent, "title": _text(p.title)}
                for p in m.phases
            ],
            events=[{"id": e.id, "et": e.et, "title": _text(e.title)} for e in m.events],
            relay={"rows": shared.relay_strip()["rows"]},
            i18n=TEXT,
            show_links=s.show_links,
            show_trails=s.show_trails,
            show_labels=s.show_labels,
            enlarge=s.enlarge_spacecraft,
            reconnect=not s.kiosk,  # the kiosk has its own watchdog (kiosk.js)
            sizing_mode="stretch_both",
            min_height=480,
        )

    def _make_controls(self) -> None:
        """The view, language, layer, relief and jump controls, made from the state's parameters."""
        s = self.state
        self.w_view = pn.widgets.RadioButtonGroup.from_param(
            s.param.view,
            options=self._view_options(),
            button_type="primary",
            button_style="outline",
            orientation="vertical",
            sizing_mode="stretch_width",
        )
        self.w_lang = pn.widgets.RadioButtonGroup.from_param(
            s.param.language,
            options={"English": "en", "中文": "zh"},
            button_type="primary",
            button_style="outline",
            width=150,
        )
        self.w_layers = pn.Param(
            s,
            parameters=["show_links", "show_trails", "show_labels", "enlarge_spacecraft", "auto_view"],
            show_name=False,
            default_layout=pn.Column,
            sizing_mode="stretch_width",
        )
        self.w_relief = pn.widgets.RadioButtonGroup.from_param(
            s.param.terrain_exaggeration, button_type="primary", button_style="outline", sizing_mode="stretch_width"
        )
        self.w_phase = pn.widgets.Select(name="", options=self._jump_options(), sizing_mode="stretch_width")
        self.w_phase.param.watch(self._safe(lambda e: e.new and self.jump(e.new)), "value")
        self.w_reset = pn.widgets.Button(
            name=t("reset_camera", s.language), button_type="light", button_style="outline"
        )
        self.w_reset.on_click(self._safe(lambda e: self._reset_camera()))
        self.phase_buttons = pn.FlexBox(*self._phase_buttons(), sizing_mode="stretch_width")

    def _make_panes(self) -> None:
        """The header, caption, sources, bibliography and section titles (filled by the language and time)."""
        s = self.state
        self.header = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[APP_CSS])
        self.caption = _card("")
        self.sources = _card("")
        self.bibliography = pn.Card(
            pn.pane.HTML(self._bibliography(), sizing_mode="stretch_width", stylesheets=[APP_CSS]),
            title=t("all_sources", s.language),
            collapsed=True,
            sizing_mode="stretch_width",
        )
        self.labels = {
            k: pn.pane.HTML("", margin=(10, 10, 0, 10), stylesheets=[APP_CSS])
            for k in ("view", "layers", "relief", "jump", "horizon", "files", "sources")
        }

    def _make_layout(self):
        L = self.labels
        side = [
            self.caption,
            self.sources,
            L["jump"],
            self.phase_buttons,
            self.w_phase,
            L["view"],
            self.w_view,
            self.w_reset,
            L["layers"],
            self.w_layers,
            L["relief"],
            self.w_relief,
            L["horizon"],
            self.horizon,
            L["files"],
            *self.files.widgets,
            self.classroom.panel,
            L["sources"],
            self.bibliography,
        ]
        sidebar = pn.Column(
            *side,
            css_classes=["ce6-side"],
            width=400,
            scroll=True,
            sizing_mode="stretch_height",
            styles={"background": "#0a0e17", "border-left": "1px solid #1d2433"},
        )
        top = pn.Row(
            self.header,
            pn.Spacer(),
            self.w_lang,
            sizing_mode="stretch_width",
            styles={"background": "#070a12", "border-bottom": "1px solid #1d2433"},
        )
        body = pn.Row(self.view3d, sidebar, sizing_mode="stretch_both")
        return pn.Column(top, body, sizing_mode="stretch_both", styles={"background": "#05070d"}, stylesheets=[APP_CSS])

    def __panel__(self):
        return self._layout

    # ------------------------------------------------------------------------------------------ helpers
    def _safe(self, fn, default=None):
        """Wrap a callback: a ViewerError or any bug becomes one notification line, never a traceback."""

        def wrapped(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except ViewerError as exc:
                notify(str(exc))
            except Exception as exc:  # a bug: log it in full for us, one line for the visitor
                log.exception("callback %s failed", getattr(fn, "__name__", fn))
                notify(f"Something went wrong ({exc.__class__.__name__}); the view keeps running.", "error")
            return default

        return wrapped

    def _view_options(self) -> dict:
        lang = self.state.language
        return {shared.views()[k].title.get(lang, k): k for k in web_views()}

    def _jump_options(self) -> dict:
        lang = self.state.language
        opts = {t("jump_to_event", lang): ""}
        for e in self._mission.events:
            opts[f"{utc_from_et(e.et)[:16].replace('T', ' ')}  {e.title[lang]}"] = e.id
        return opts

    def _phase_buttons(self) -> list:
        lang = self.state.language
        out = []
        for p in self._mission.phases:
            if p.parent:
                continue
            b = pn.widgets.Button(
                name=p.title[lang],
                button_type="default",
                button_style="outline",
                css_classes=["ce6-phase-btn", f"ce6-phase-{p.id}"],
                margin=(2, 3),
                sizing_mode=None,
                width=None,
                stylesheets=[PHASE_BTN_CSS],
            )
            b.on_click(self._safe(lambda e, pid=p.id: self.jump(pid)))
            out.append(b)
        return out

    # ------------------------------------------------------------------------------------------ actions
    def jump(self, item_id: str) -> None:
        if not self.story.jump(item_id):  # the story camera takes the jump while it is on
            self.state.jump(item_id)
        self.w_phase.value = ""

    def _reset_camera(self) -> None:
        self.vtk.camera = self._shared.camera(self.state.view, self.state.et)

    def _from_client(self, *events) -> None:
        s = self.state
        for e in events:
            if e.name == "et" and abs(e.new - s.et) > 1e-6:
                self.story.set_time(e.new)  # with the story on, the story's view changes with the time
            elif e.name == "playing" and e.new != s.playing:
                s.playing = e.new
            elif e.name == "speed" and e.new != s.speed:
                s.speed = min(SPEEDS, key=lambda v: abs(v - e.new))

    def _to_client(self, *events) -> None:
        v = self.view3d
        for e in events:
            if e.name == "et" and abs(e.new - v.et) > 1e-6:
                v.et = e.new
            elif e.name == "playing" and e.new != v.playing:
                v.playing = e.new
            elif e.name == "speed" and float(e.new) != v.speed:
                v.speed = float(e.new)

    def _on_view(self, *events) -> None:
        """A new view or relief re-synchronises the scene; a new view or a jump puts the camera on the preset for
        the current time (a jump sets view and time in one batch, so both are new here)."""
        s = self.state
        names = {e.name for e in events}
        if names & {"view", "terrain_exaggeration"}:
            self.view3d.param.update(
                tracks=self._shared.tracks(s.view),
                site_shadows=self._shared.site_shadows(s.view, float(s.terrain_exaggeration)),
            )
            self.vtk.set_key((s.view, float(s.terrain_exaggeration)))
        if names & {"view", "jumps"}:
            self._reset_camera()

    def _on_layers(self, *events) -> None:
        s = self.state
        self.view3d.param.update(
            show_links=s.show_links, show_trails=s.show_trails, show_labels=s.show_labels, enlarge=s.enlarge_spacecraft
        )

    def _on_language(self, *events) -> None:
        s = self.state
        lang = s.language
        m = self._mission
        self.view3d.language = lang
        self.horizon.language = lang
        note = html.escape(m.note[lang])
        self.header.object = (
            f'<div class="ce6-header"><span class="ce6-title">{html.escape(t("title", lang))}</span>'
            f'<span class="ce6-sub">{html.escape(t("subtitle", lang))}</span>'
            f'<span class="ce6-note" title="{html.escape(t("note_tip", lang))}">{note}</span></div>'
        )
        for key, pane in self.labels.items():
            pane.object = f'<div class="ce6-section">{html.escape(t("section_" + key, lang))}</div>'
        self.labels["relief"].object += ground_badge(lang)
        for b, p in zip(self.phase_buttons.objects, [p for p in m.phases if not p.parent]):
            b.name = p.title[lang]
        self.w_phase.options = self._jump_options()
        self.w_view.options = self._view_options()
        self.w_reset.name = t("reset_camera", lang)
        self.files.set_language(lang)
        self.bibliography.title = t("all_sources", lang)
        self.bibliography.objects[0].object = self._bibliography()
        for name, w in zip(self.w_layers._widgets.keys(), self.w_layers._widgets.values()):
            if name in TEXT:
                w.name = t(name, lang)
        self._shown_items = ()
        self._on_words()

    def _on_words(self, *events) -> None:
        s = self.state
        lang = s.language
        phase, event = s.current_items()
        key = (phase.id if phase else None, event.id if event else None, lang)
        if key == self._shown_items:
            return
        self._shown_items = key
        parts = []
        if phase is not None:
            parts.append(
                f'<div class="ce6-kicker">{html.escape(t("phase", lang))}</div>'
                f'<h2 class="ce6-phase-title">{html.escape(phase.title[lang])}{badge(phase.grade, lang)}</h2>'
                f'<p class="ce6-caption">{html.escape(phase.caption[lang])}</p>'
            )
        if event is not None:
            parts.append(
                f'<h3 class="ce6-event-title">{html.escape(event.title[lang])}{badge(event.grade, lang)}</h3>'
                f'<p class="ce6-caption">{html.escape(event.caption[lang])}</p>'
            )
        if not parts:
            parts.append(f"<p>{html.escape(t('no_phase', lang))}</p>")
        self.caption.object = "".join(parts)
        srcs = []
        for item in (phase, event):
            if item is None:
                continue
            note = item.note(lang)
            note = f'<div class="ce6-src ce6-grade-note"><i>{html.escape(note)}</i></div>' if note else ""
            srcs.append(note + "".join(source_html(self._mission.source(x), lang) for x in item.sources))
        self.sources.object = (
            f'<div class="ce6-section" style="margin:0">{html.escape(t("section_cited", lang))}</div>' + "".join(srcs)
        )

    def _on_url(self, *events) -> None:
        if pn.state.location is None or self._closed:
            return
        pn.state.location.search = self.story.query()  # no view= while the story camera is on

    def _bibliography(self) -> str:
        return "".join(source_html(src, self.state.language) for src in self._mission.sources)

    def close(self) -> None:
        """Stop this session's periodic callback and any running export (called when the session ends)."""
        self._closed = True
        self.classroom.close()
        self.files.close()


def create_app(kiosk: bool | None = None) -> MissionApp:
    """One session's app, with the URL's ``t``, ``view``, ``lang`` (and ``kiosk``) applied."""
    args = dict(pn.state.session_args or {}) if pn.state.curdoc else {}
    query = {k: v for k, v in args.items() if k in ("t", "view", "lang", "follow")}
    if kiosk is None:
        kiosk = (args.get("kiosk", [b"0"])[0] in (b"1", b"true", "1")) if "kiosk" in args else False
    t0 = time.perf_counter()
    app = MissionApp(kiosk=kiosk, query=query)
    log.info("session app built in %.2f s", time.perf_counter() - t0)

    def _cleanup(session_context, app=app, log=log):
        try:
            app.close()
            log.info("session closed")
        except Exception as exc:  # noqa: BLE001 - globals may be gone; never raise from teardown
            log.warning("session cleanup: %s", exc)

    if pn.state.curdoc:
        pn.state.on_session_destroyed(_cleanup)
    return app
