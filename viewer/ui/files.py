"""The save controls of the web app: a screenshot of the current view (PNG, rendered offscreen in a child
process) and the video export of the current phase, each with its download button."""

from __future__ import annotations

import html
import subprocess
import sys
import uuid

import panel as pn

from viewer.export.jobs import ServerBusy, clean_exports, exports_dir, launch, start_phase_export
from viewer.ui.components import notify
from viewer.ui.i18n import t
from viewer.ui.styles import APP_CSS


class SaveControls:
    """The screenshot and video export buttons of one session, their downloads and their polling."""

    def __init__(self, state, safe):
        self.state = state
        self._safe = safe
        self._export_job = None
        self._export_cb = None
        self._shot = None  # (Popen, path, download name) of a running offscreen screenshot
        s = state
        self.w_shot = pn.widgets.Button(
            name=t("screenshot_button", s.language), button_type="primary", sizing_mode="stretch_width"
        )
        self.w_shot.on_click(self._safe(lambda e: self._start_screenshot()))
        self.w_shot_file = pn.widgets.FileDownload(
            file=None, visible=False, sizing_mode="stretch_width", button_type="success"
        )
        self.w_export = pn.widgets.Button(
            name=t("export_phase", s.language), button_type="light", button_style="outline", sizing_mode="stretch_width"
        )
        self.w_export.on_click(self._safe(lambda e: self._start_export()))
        self.w_export_status = pn.pane.HTML(
            "", sizing_mode="stretch_width", css_classes=["ce6-card"], stylesheets=[APP_CSS]
        )
        self.w_export_file = pn.widgets.FileDownload(
            file=None, visible=False, sizing_mode="stretch_width", button_type="success"
        )

    @property
    def widgets(self) -> list:
        return [self.w_shot, self.w_shot_file, self.w_export, self.w_export_status, self.w_export_file]

    def set_language(self, lang: str) -> None:
        self.w_shot.name = t("screenshot_button", lang)
        self.w_export.name = t("export_phase", lang)

    def _start_screenshot(self) -> None:
        """Render the current view at the current time with the offscreen exporter, in a child process (the
        server keeps serving meanwhile); the download button appears when the PNG is ready."""
        s = self.state
        if self._shot is not None and self._shot[0].poll() is None:
            return
        out_dir = exports_dir()
        clean_exports(out_dir)
        name = f"change6_{s.view}_{s.utc.replace(':', '').replace('-', '')}"  # the download's name
        path = out_dir / f"{name}_{uuid.uuid4().hex[:6]}.png"  # a stored name of its own: sessions never collide
        argv = [
            sys.executable,
            "-m",
            "viewer",
            "screenshot",
            str(path),
            "--time",
            s.utc,
            *([] if s.auto_view else ["--view", s.view]),  # the story camera's still while it is on
            "--size",
            "1920x1080",
            "--lang",
            s.language,
        ]
        try:
            proc = launch(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        except ServerBusy:
            notify(t("server_busy", s.language))
            return
        self._shot = (proc, path, f"{name}.png")
        self.w_shot_file.visible = False
        self.w_shot.name = t("rendering", s.language)
        self.w_shot.disabled = True
        self._ensure_poll()

    def _ensure_poll(self) -> None:
        if self._export_cb is None:
            self._export_cb = pn.state.add_periodic_callback(self._safe(self._poll_jobs), period=700)

    def _poll_jobs(self) -> None:
        busy = self._poll_shot()
        busy = self._poll_export() or busy
        if not busy and self._export_cb is not None:
            self._export_cb.stop()
            self._export_cb = None

    def _poll_shot(self) -> bool:
        if self._shot is None:
            return False
        proc, path, name = self._shot
        if proc.poll() is None:
            return True
        lang = self.state.language
        self.w_shot.name = t("screenshot_button", lang)
        self.w_shot.disabled = False
        err = proc.stderr.read().strip().splitlines() if proc.stderr else []
        self._shot = None
        if proc.returncode == 0 and path.exists():
            self.w_shot_file.file = str(path)
            self.w_shot_file.filename = name
            self.w_shot_file.label = f"{t('download', lang)} {name}"
            self.w_shot_file.visible = True
        else:
            notify(err[-1] if err else f"the screenshot failed (status {proc.returncode})")
        return False

    def _start_export(self) -> None:
        s = self.state
        if not s.phase:
            notify(t("export_no_phase", s.language))
            return
        if self._export_job is not None and self._export_job.status().state == "running":
            notify(t("export_busy", s.language))
            return
        try:
            self._export_job = start_phase_export(s.phase, lang=s.language, view=s.view, size=(1280, 720))
        except ServerBusy:
            notify(t("server_busy", s.language))
            return
        self.w_export_file.visible = False
        self._ensure_poll()

    def _poll_export(self) -> bool:
        job = self._export_job
        if job is None:
            return False
        st = job.status()
        lang = self.state.language
        if st.state == "running":
            pct = 100 * st.fraction
            eta = f", {st.eta_s:.0f} s" if st.eta_s else ""
            self.w_export_status.object = f"<p>{html.escape(t('exporting', lang))} {pct:.0f} %{eta}</p>"
            return True
        self._export_job = None
        if st.state == "done":
            self.w_export_status.object = f"<p>{html.escape(t('export_done', lang))}</p>"
            self.w_export_file.file = str(st.path)
            self.w_export_file.filename = st.path.name
            self.w_export_file.visible = True
        else:
            self.w_export_status.object = f"<p>{html.escape(st.error or st.state)}</p>"
        return False

    def close(self) -> None:
        """Stop the periodic callback, a running export and a running screenshot."""
        if self._export_cb is not None:
            self._export_cb.stop()
            self._export_cb = None
        if self._export_job is not None and self._export_job.status().state == "running":
            self._export_job.cancel()
        if self._shot is not None and self._shot[0].poll() is None:
            self._shot[0].kill()
