"""Labels in the web app, in real Chromium, read from the page's DOM: at several moments of every preset view, no
two label boxes overlap (nor a label and the relay chain's words), no label covers its subject (the body's disc,
the vehicle's drawn size or its ring marker), every label lies inside the 3D view; one stack label while the modules
fly docked, which splits when they part (the same words as the stills, ``tests/test_scene_labels.py``).

The app is started as in ``tests/test_ui_browser.py`` (its fixtures).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_ui_browser import app_page  # noqa: F401 - a fixture (on conftest's shared server)

# (view, moments): docked cruise, the working orbit, after separation, on the surface, ascent, rendezvous, return
MOMENTS = {
    "system": ("2024-05-05T12:00:00Z", "2024-05-20T00:00:00Z", "2024-06-22T12:00:00Z", "2024-03-22T00:00:00Z"),
    "lunar": (
        "2024-05-08T02:30:00Z",
        "2024-05-20T00:00:00Z",
        "2024-05-29T22:40:00Z",
        "2024-06-02T12:00:00Z",
        "2024-06-03T23:50:00Z",
        "2024-06-06T06:40:00Z",
    ),
    "site": ("2024-06-02T12:00:00Z", "2024-06-03T23:39:00Z"),
    "return": ("2024-06-25T05:45:00Z", "2024-06-25T05:55:00Z"),
}

READ_JS = """() => {
  const ce = window.__ce6, layer = ce.labelLayer, box = layer.getBoundingClientRect();
  const rel = (r) => [r.left - box.left, r.top - box.top, r.right - box.left, r.bottom - box.top];
  const visible = (el) => el.style.display !== 'none' && el.getClientRects().length > 0;
  const labels = [...layer.querySelectorAll('.mv-label')].filter(visible).map(el => ({
    key: el.dataset.key, text: el.textContent, box: rel(el.getBoundingClientRect())}));
  const marks = [...layer.querySelectorAll('.mv-mark')].filter(visible).map(el => ({
    actor: el.dataset.actor, box: rel(el.getBoundingClientRect())}));
  const words = [...ce.relayLayer.querySelectorAll('.mv-relay-label, .mv-relay-marker > span')]
    .map(el => ({text: el.textContent, box: rel(el.getBoundingClientRect())}));
  // each label's subject: its centre and drawn radius on screen (a body's disc, a vehicle's extent)
  const raw = ce.tracks.raw, rule = raw.labels.rule, placed = (ce.labels || {}).placed || [];
  const subjects = {};
  for (const p of placed) {
    if (p.actor === 'arrow') continue;
    const d = ce.bodyDisc(p.actor);
    if (!d) continue;
    const body = p.actor === 'earth' || p.actor === 'moon';
    subjects[p.key] = {actor: p.actor, x: d.x, y: d.y, r: body ? d.r : d.r * rule.model_extent};
  }
  return {W: box.width, H: box.height, labels, marks, words, subjects};
}"""


def _overlap(a, b, tol: float = 0.5) -> bool:
    return a[0] < b[2] - tol and b[0] < a[2] - tol and a[1] < b[3] - tol and b[1] < a[3] - tol


def _distance(box, x, y) -> float:
    nx, ny = min(max(x, box[0]), box[2]), min(max(y, box[1]), box[3])
    return float(np.hypot(nx - x, ny - y))


def _check(d: dict, what: str) -> tuple[int, int]:
    """Checks one moment; returns the labels shown and the subjects they were checked against."""
    labels, W, H = d["labels"], d["W"], d["H"]
    judged = 0
    texts = [lab["text"] for lab in labels]
    assert len(set(texts)) == len(texts), f"{what}: a label twice: {texts}"
    for i, a in enumerate(labels):
        x0, y0, x1, y1 = a["box"]
        assert -0.5 <= x0 and x1 <= W + 0.5 and -0.5 <= y0 and y1 <= H + 0.5, f"{what}: {a} leaves the view"
        for b in labels[i + 1 :]:
            assert not _overlap(a["box"], b["box"]), f"{what}: labels {a} and {b} overlap"
        for w in d["words"]:
            assert not _overlap(a["box"], w["box"]), f"{what}: label {a} lies on the relay chain's words {w}"
        s = d["subjects"].get(a["key"])
        if s is not None:
            judged += 1
            assert _distance(a["box"], s["x"], s["y"]) >= s["r"] - 0.75, f"{what}: the label {a} covers its subject {s}"
            for m in d["marks"]:
                if m["actor"] == s["actor"]:
                    r = 0.5 * (m["box"][2] - m["box"][0])
                    cx, cy = 0.5 * (m["box"][0] + m["box"][2]), 0.5 * (m["box"][1] + m["box"][3])
                    assert _distance(a["box"], cx, cy) >= r - 0.75, f"{what}: the label {a} covers its ring {m}"
    return len(labels), judged


@pytest.mark.parametrize("view", list(MOMENTS))
def test_browser_labels_never_overlap_nor_cover_their_subject(app_page, view):  # noqa: F811
    from viewer.epochs import et_from_utc

    p = app_page(f"?t={MOMENTS[view][0]}&view={view}")
    t0, t1 = p.page.evaluate("() => [window.__ce6.model.t0, window.__ce6.model.t1]")
    shown = checked = judged = 0
    for utc in MOMENTS[view]:
        et = et_from_utc(utc)
        if not t0 <= et <= t1:
            continue
        p.page.evaluate("(et) => window.__ce6.setTime(et)", et)
        p.settle(300)
        n, k = _check(p.page.evaluate(READ_JS), f"{view} {utc}")
        shown, judged, checked = shown + n, judged + k, checked + 1
    assert checked >= 2, f"{view}: fewer than two moments in the view's span"
    assert shown >= checked, f"{view}: hardly any label shown ({shown} over {checked} moments)"
    assert judged >= checked, f"{view}: hardly any label's subject on screen ({judged} over {checked} moments)"
    assert p.errors == [], p.errors[:3]


def _shown(p) -> dict[str, str]:
    p.settle(300)
    return p.page.evaluate(
        "() => Object.fromEntries([...window.__ce6.labelLayer.querySelectorAll('.mv-label')]"
        ".filter(el => el.style.display !== 'none').map(el => [el.dataset.key, el.textContent]))"
    )


def test_browser_stack_label_splits_when_the_modules_part(app_page):  # noqa: F811
    from viewer.mission import load_mission

    ev = {e.id: e.et for e in load_mission().events}
    p = app_page("?t=2024-05-20T00:00:00Z&view=lunar")  # the four modules in the working orbit
    shown = _shown(p)
    assert shown.get("CHANGE6_ORBITER") == "Chang'e-6 (4 modules)", shown
    assert not {"CHANGE6_LANDER", "CHANGE6_RETURNER", "CHANGE6_ASCENDER"} & set(shown), shown
    assert not any(" + " in t for t in shown.values()), shown
    p.page.get_by_text("中文", exact=True).click()
    p.page.wait_for_function("() => window.__ce6.model.language === 'zh'", timeout=10_000)
    assert _shown(p).get("CHANGE6_ORBITER") == "嫦娥六号（4 器组合体）"
    p.page.get_by_text("English", exact=True).click()
    p.page.wait_for_function("() => window.__ce6.model.language === 'en'", timeout=10_000)
    p.page.evaluate("(et) => window.__ce6.setTime(et)", ev["separation_la_or"] + 7200)
    shown = _shown(p)
    assert shown.get("CHANGE6_ORBITER") == "Orbiter + Returner", shown
    assert shown.get("CHANGE6_LANDER") == "Lander + Ascender", shown
    assert p.errors == [], p.errors[:3]
