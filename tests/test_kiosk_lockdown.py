"""Kiosk lock-down: what a page can block, the kiosk page blocks; the rest is Chromium policy.

- On the kiosk page (``?kiosk=1``, headless Chromium) 32 browser shortcuts (print, save, open, view source,
  downloads, developer tools, reload, zoom, find, history, address bar) come out ``defaultPrevented``, and so do
  Ctrl+wheel (zoom), a dragged-over and a dropped file; the page stays where it is. Plain keys and the PIN digits
  are left alone, and the ordinary page blocks nothing.
- ``scripts/kiosk-policy.json`` names real Chromium policies (each name is in the installed chromium binary) with
  printing, developer tools, file dialogs and downloads off and ``file://`` / ``chrome://`` blocked;
  ``scripts/kiosk.sh`` says in one line how to install it while it is not installed.
"""

from __future__ import annotations

import json
import mmap
import os
import socket
import subprocess
from pathlib import Path

from conftest import _missing
from test_ui_browser import READY_JS, REPO

KIOSK_READY_JS = "() => !!(window.__ce6kiosk && window.__ce6kiosk.ready)"
SHORTCUTS = [  # (key, code, modifiers)
    *[(c.lower(), f"Key{c}", ["ctrl"]) for c in "PSOUJHDFGLKERNT"],
    ("r", "KeyR", ["ctrl", "shift"]),
    ("I", "KeyI", ["ctrl", "shift"]),
    ("J", "KeyJ", ["ctrl", "shift"]),
    ("C", "KeyC", ["ctrl", "shift"]),
    ("Delete", "Delete", ["ctrl", "shift"]),
    ("=", "Equal", ["ctrl"]),
    ("-", "Minus", ["ctrl"]),
    ("0", "Digit0", ["ctrl"]),
    ("ArrowLeft", "ArrowLeft", ["alt"]),
    ("ArrowRight", "ArrowRight", ["alt"]),
    ("Home", "Home", ["alt"]),
    ("p", "KeyP", ["meta"]),
    *[(f"F{n}", f"F{n}", []) for n in (3, 5, 6, 7, 11, 12)],
    ("BrowserBack", "BrowserBack", []),
]
PLAIN = [("a", "KeyA", []), ("5", "Digit5", []), ("x", "KeyX", [])]  # the app itself takes arrows and Space

DISPATCH_JS = """(keys) => keys.map(([key, code, mods]) => {
  const ev = new KeyboardEvent("keydown", {key, code, bubbles: true, cancelable: true,
    ctrlKey: mods.includes("ctrl"), shiftKey: mods.includes("shift"), altKey: mods.includes("alt"),
    metaKey: mods.includes("meta")});
  document.body.dispatchEvent(ev);
  return ev.defaultPrevented;
})"""

DROP_JS = """() => {
  const dt = new DataTransfer();
  dt.items.add(new File(["<h1>elsewhere</h1>"], "dropped.html", {type: "text/html"}));
  const out = {};
  for (const type of ["dragover", "drop"]) {
    const ev = new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt, clientX: 500, clientY: 300});
    (document.elementFromPoint(500, 300) || document.body).dispatchEvent(ev);
    out[type] = ev.defaultPrevented;
  }
  const wheel = new WheelEvent("wheel", {bubbles: true, cancelable: true, ctrlKey: true, deltaY: -120});
  document.body.dispatchEvent(wheel);
  out.ctrlWheel = wheel.defaultPrevented;
  return out;
}"""


def _label(key) -> str:
    return "+".join([*key[2], key[0]])


def test_the_kiosk_page_blocks_browser_shortcuts_and_a_dropped_file(browser, server):
    page = browser.new_page(viewport={"width": 1024, "height": 576})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(server + "?kiosk=1")
        page.wait_for_function(KIOSK_READY_JS, timeout=180_000)
        url = server + "?"
        page.evaluate("() => { window.__stay = 1; }")
        prevented = page.evaluate(DISPATCH_JS, SHORTCUTS)
        open_keys = [_label(k) for k, p in zip(SHORTCUTS, prevented) if not p]
        assert open_keys == [], f"the kiosk page lets these browser shortcuts through: {open_keys}"
        assert page.evaluate(DISPATCH_JS, PLAIN) == [False] * len(PLAIN), "plain keys and PIN digits must work"
        assert page.evaluate(DROP_JS) == {"dragover": True, "drop": True, "ctrlWheel": True}
        for key in ("F5", "Control+r", "Control+Shift+r", "Alt+ArrowLeft"):  # real key presses: no reload
            page.keyboard.press(key)
        page.wait_for_timeout(1500)
        # the kiosk keeps its view and time in the URL (replaceState); a reload or a navigation loses the marker
        assert page.url.startswith(url) and page.evaluate("() => window.__stay") == 1, "the kiosk navigated away"
        assert errors == []
    finally:
        page.close()


def test_the_ordinary_page_keeps_the_browser_shortcuts(browser, server):
    page = browser.new_page(viewport={"width": 1024, "height": 576})
    try:
        page.goto(server)
        page.wait_for_function(READY_JS, timeout=180_000)
        assert page.evaluate(DISPATCH_JS, SHORTCUTS[:3]) == [False] * 3
    finally:
        page.close()


def _chromium_binary() -> Path:
    for path in (Path("/usr/lib/chromium/chromium"), Path("/usr/lib/chromium-browser/chromium-browser")):
        if path.exists():
            return path
    _missing("Debian's chromium binary (/usr/lib/chromium/chromium) is not installed")


def test_the_kiosk_policy_file_turns_off_what_a_page_cannot():
    policy = json.loads((REPO / "scripts" / "kiosk-policy.json").read_text())
    assert policy["PrintingEnabled"] is False
    assert policy["DeveloperToolsAvailability"] == 2  # developer tools disallowed
    assert policy["AllowFileSelectionDialogs"] is False
    assert policy["DownloadRestrictions"] == 3  # every download blocked
    assert {"file://*", "chrome://*"} <= set(policy["URLBlocklist"])
    with open(_chromium_binary(), "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as blob:
        unknown = [name for name in policy if blob.find(name.encode()) < 0]
    assert unknown == [], f"not Chromium policies (not in the installed chromium): {unknown}"


def _stub_env(tmp_path) -> dict:
    """kiosk.sh's environment with a python that passes every check and a server that stops at once (the script
    ends before it opens Chromium), and a chromium and curl that do nothing."""
    stub = tmp_path / "python"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("chromium", "curl"):
        (bin_dir / name).write_text("#!/bin/sh\nexit 1\n")
        (bin_dir / name).chmod(0o755)
    policies = tmp_path / "managed"
    return dict(os.environ, PYTHON=str(stub), KIOSK_POLICY_DIR=str(policies), PATH=f"{bin_dir}:{os.environ['PATH']}")


def test_kiosk_sh_stops_with_one_line_when_its_port_is_in_use(tmp_path):
    env = _stub_env(tmp_path)
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        run = subprocess.run(
            ["bash", str(REPO / "scripts" / "kiosk.sh"), str(port)], env=env, capture_output=True, text=True, timeout=60
        )
    assert run.returncode == 1
    assert f"kiosk.sh: port {port} is in use; stop what runs there or start kiosk.sh with another PORT" in run.stderr


def test_kiosk_sh_says_how_to_install_the_policies(tmp_path):
    env = _stub_env(tmp_path)
    policies = tmp_path / "managed"
    run = subprocess.run(["bash", str(REPO / "scripts" / "kiosk.sh")], env=env, capture_output=True, text=True)
    lines = [ln for ln in run.stderr.splitlines() if "policies" in ln]
    assert len(lines) == 1 and f"scripts/kiosk-policy.json {policies}/change6-kiosk.json" in lines[0], run.stderr
    policies.mkdir()
    (policies / "change6-kiosk.json").write_bytes((REPO / "scripts" / "kiosk-policy.json").read_bytes())
    run = subprocess.run(["bash", str(REPO / "scripts" / "kiosk.sh")], env=env, capture_output=True, text=True)
    assert "policies" not in run.stderr, run.stderr
