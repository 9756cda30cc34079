"""Where things are: the repository's assets and kernels, the user cache, and ``../shared`` for tests and demos."""

from __future__ import annotations

import errno
import os
import re
import shutil
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


_WRITE_REASONS = {
    errno.ENOSPC: ("the disk is full", "free some space or choose another folder"),
    errno.EDQUOT: ("the disk quota is used up", "free some space or choose another folder"),
    errno.EROFS: ("the folder is read-only", "choose a writable folder"),
    errno.EACCES: ("permission denied", "choose a writable folder"),
    errno.EPERM: ("permission denied", "choose a writable folder"),
    errno.EISDIR: ("it is a directory", "choose a file name"),
}


def write_error(path: Path, exc: OSError) -> InputError:
    """One line for an OS error while writing ``path``: the path, the reason and what to do."""
    reason, fix = _WRITE_REASONS.get(exc.errno, (exc.strerror or str(exc), "choose another folder"))
    return InputError(f"cannot write {path} ({reason}); {fix}")


def check_writable(path: Path, need_bytes: int = 0) -> None:
    """Raise :class:`InputError` (one line) unless a file ``path`` can be written: not a directory, its folder
    takes a new file (a probe file is created and removed) and has ``need_bytes`` free. For checks before work."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"output {path} is a directory; choose a file name inside it")
    probe = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(probe, "xb"):
            pass
        probe.unlink()
        st = os.statvfs(path.parent)
    except OSError as exc:
        raise write_error(path, exc) from None
    free = st.f_bavail * st.f_frsize
    if need_bytes and free < need_bytes:
        raise InputError(
            f"cannot write {path} (the disk is full: {free / 1e6:.1f} MB free, about {need_bytes / 1e6:.1f} MB "
            "needed); free some space or choose another folder"
        )


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same directory and a rename; an OS error (a full
    disk, a read-only folder, a directory in the way) is an :class:`InputError` naming the path."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        try:
            tmp.unlink()
        except OSError:
            pass


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temps(target: Path) -> list[Path]:
    """Remove the temps of ``target`` (``.NAME.PID.tmp`` from :func:`atomic_write_bytes`, ``.NAME.PID.part…`` from
    an export) whose process ``PID`` is gone, e.g. killed with SIGKILL; returns what it removed."""
    target = Path(target)
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(\d+)\.(tmp|part.*)$")
    removed = []
    try:
        siblings = list(target.parent.iterdir())
    except OSError:
        return removed
    for p in siblings:
        m = pattern.match(p.name)
        if m is None or _process_alive(int(m.group(1))):
            continue
        try:
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        except OSError:
            continue
        removed.append(p)
    return removed


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where that is unavailable."""
    import ctypes
    import errno

    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def replace_dir(target: Path, fill) -> Path:
    """Rebuild the folder ``target`` all at once: ``fill(tmp)`` writes into ``.NAME.PID.tmp`` beside it (a copy of
    ``target`` to start with, so files ``fill`` does not write stay), then the two folders swap in one rename and
    the old set is removed. If ``fill`` fails or is interrupted, ``target`` is untouched and the temp is removed;
    a temp left by a killed process is removed on the next call. Returns the temp path ``fill`` wrote into."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        if target.is_dir():
            shutil.copytree(target, tmp, symlinks=True)
        else:
            tmp.mkdir()
        fill(tmp)
        if not target.exists():
            os.rename(tmp, target)
        elif not _exchange(tmp, target):  # elsewhere: two renames, the old set moved aside for an instant
            old = target.with_name(f".{target.name}.{os.getpid()}.old.tmp")
            os.rename(target, old)
            os.rename(tmp, target)
            os.rename(old, tmp)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return tmp
