"""Shared test fixtures.

Tests that need ``../shared`` (the real LOLA DEM) or Debian's Chromium skip with a stated reason where those are
missing, as on a user's machine. ``.ci/run`` sets ``VIEWER_REQUIRE_ALL=1``: there a missing prerequisite fails the
test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")

REQUIRE_ALL = os.environ.get("VIEWER_REQUIRE_ALL") == "1"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing(reason: str):
    if REQUIRE_ALL:
        pytest.fail(f"VIEWER_REQUIRE_ALL=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared``; skips (or fails under VIEWER_REQUIRE_ALL=1) where it is absent."""
    from viewer.paths import shared_dir as find

    path = find()
    if path is None:
        _missing("../shared is not beside the repository (it holds the real LOLA LDEM_4 used by this test)")
    return path


@pytest.fixture(scope="session")
def ldem4_path(shared_dir) -> Path:
    path = shared_dir / "data" / "lola" / "LDEM_4.IMG"
    if not path.exists():
        _missing(f"{path} is missing")
    return path


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path to Debian's chromium with python playwright importable; skips (or fails) where missing."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        _missing("Debian's chromium is not installed (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("python playwright is not installed (pip install playwright; never `playwright install`)")
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


@pytest.fixture(scope="module")
def browser(chromium_path):
    """Debian's chromium through playwright, one per test module (the browser tests' pages share it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def kernels_loaded():
    """Furnish the whole kernel set once for the session."""
    from viewer import kernels

    kernels.furnish()
    yield


@pytest.fixture(scope="session")
def mission_kernels():
    """Skips (or fails under VIEWER_REQUIRE_ALL=1) where the mission kernels are not built."""
    from viewer import kernels

    if not kernels.mission_kernels():
        _missing("the mission kernels are not built (python -m viewer kernels build)")


@pytest.fixture(scope="session")
def server(mission_kernels):
    """One ``python app.py`` for every browser test module that needs the app as shipped (its URL)."""
    from app_server import serve_app

    with serve_app() as url:
        yield url
