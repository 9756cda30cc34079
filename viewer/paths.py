"""Where things are: the repository's assets and kernels, the user cache, and ``../shared`` for tests and demos."""

from __future__ import annotations

import os
from pathlib import Path

from viewer.errors import InputError

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
ASSETS_DIR = Path(os.environ.get("VIEWER_ASSETS_DIR", REPO_DIR / "assets"))
KERNELS_DIR = Path(os.environ.get("VIEWER_KERNELS_DIR", REPO_DIR / "kernels"))


def cache_dir() -> Path:
    """The user cache directory (``VIEWER_CACHE_DIR`` overrides it); created on demand."""
    env = os.environ.get("VIEWER_CACHE_DIR")
    if env:
        path = Path(env)
    else:
        import platformdirs

        path = Path(platformdirs.user_cache_dir("change6-viewer", appauthor=False))
    fix = "point VIEWER_CACHE_DIR at a writable folder, or free some space"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"cache folder {path} is a file, not a folder; remove it or {fix}") from None
    except OSError as exc:
        raise InputError(f"cache folder {path} cannot be created ({exc.strerror}); {fix}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(f"cache folder {path} is not writable; {fix}")
    return path


def shared_dir() -> Path | None:
    """``../shared`` beside the repository (``VIEWER_SHARED_DIR`` overrides it), or None where it is absent."""
    env = os.environ.get("VIEWER_SHARED_DIR")
    path = Path(env) if env else REPO_DIR.parent / "shared"
    return path if (path / "docs").is_dir() or (path / "data").is_dir() else None


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same directory and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
