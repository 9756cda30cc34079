"""The page a visitor gets when their page cannot be built: plain, in both languages, never a traceback.

:func:`build_page` builds one session's page into its Bokeh document. Any error on the way (a broken input file,
a missing kernel, a bug) is logged in full to the server log, and the document gets :func:`error_page` instead:

- the normal page says, in one line per language, that the viewer cannot show the page now;
- the kiosk page says "the exhibit will be back" in both languages and reloads itself every
  :data:`RETRY_S` seconds once the server answers, so an unattended exhibit recovers when the input is fixed.

The words live here, not in ``assets/words.yaml``: this page must still show when an asset file is what broke.
"""

from __future__ import annotations

import html
import logging

import panel as pn
import param
from panel.custom import JSComponent

from viewer.ui.kiosk import KIOSK_TEXT

log = logging.getLogger("viewer.ui")

RETRY_S = 15.0
TITLE = "Chang'e-6 mission viewer"
PAGE_TEXT = {
    "normal": {
        "zh": "任务查看器暂时无法显示此页面，请稍后再试。",
        "en": "The mission viewer cannot show this page right now; please try again later.",
    },
    "kiosk": KIOSK_TEXT["reconnecting_sub"],
}

PAGE_CSS = """
.ce6-down { font-family: system-ui, "Noto Sans CJK SC", sans-serif; color: #c9d2e3; padding: 24px; }
.ce6-down p { margin: 4px 0; font-size: 16px; }
.ce6-down.kiosk { text-align: center; padding-top: 30vh; }
.ce6-down.kiosk p { font-size: 34px; margin: 12px 0; }
"""


class RetryReload(JSComponent):
    """Reloads the page every ``retry_s`` seconds, but only once the server answers (never onto a browser error)."""

    retry_s = param.Number(default=RETRY_S)

    _esm = """
export function render({ model }) {
  const tick = async () => {
    try {
      const r = await fetch(window.location.href, { cache: "no-store" });
      if (r.ok) { window.location.reload(); return; }
    } catch (e) { /* the server is away: ask again later */ }
    setTimeout(tick, model.retry_s * 1000);
  };
  window.__ce6down = { retry_s: model.retry_s };
  setTimeout(tick, model.retry_s * 1000);
}
"""


def error_page(kiosk: bool) -> pn.viewable.Viewable:
    """The plain page: Chinese and English lines; the kiosk's also retries."""
    words = PAGE_TEXT["kiosk" if kiosk else "normal"]
    lines = "".join(f'<p lang="{lang}">{html.escape(words[lang])}</p>' for lang in ("zh", "en"))
    pane = pn.pane.HTML(
        f'<div class="ce6-down{" kiosk" if kiosk else ""}" role="alert">{lines}</div>',
        sizing_mode="stretch_width",
        stylesheets=[PAGE_CSS],
    )
    parts = [pane, RetryReload(retry_s=RETRY_S, height=0, margin=0)] if kiosk else [pane]
    return pn.Column(*parts, sizing_mode="stretch_both", styles={"background": "#05070d"})


def wants_kiosk() -> bool:
    """``?kiosk=1`` (or ``true``) in this session's URL."""
    args = dict(pn.state.session_args or {}) if pn.state.curdoc else {}
    value = (args.get("kiosk") or [b"0"])[0]
    return value in (b"1", b"true", "1", "true")


def build_page(make, kiosk: bool | None = None, title: str = TITLE) -> None:
    """Build ``make()`` (a viewable) into the current document; on any error, log it and serve the plain page."""
    doc = pn.state.curdoc
    doc.on_session_destroyed(forget_document)
    try:
        pn.panel(make()).server_doc(doc, title=title)
    except Exception:  # any error: the traceback goes to the server log only
        log.exception("the page could not be built; serving the plain error page")
        doc.clear()
        error_page(wants_kiosk() if kiosk is None else kiosk).server_doc(doc, title=title)


def forget_document(session_context) -> None:
    """Drop every entry of Panel's view registry (``pn.state._views``) that still holds the ended session's
    document. Panel removes a page's own root when its session ends, but not the notification area's (its
    ``_server_destroy`` only knows documents given to ``server_doc``), and that one entry keeps the whole document
    and all its models alive, one per visitor, for the life of the server."""
    doc = session_context._document
    for ref in [ref for ref, view in list(pn.state._views.items()) if view[2] is doc]:
        pn.state._views.pop(ref, None)
