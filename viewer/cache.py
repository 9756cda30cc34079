"""Every disk cache of derived data: link windows, the site horizon, meshes, browser tracks, the story camera's
shots and the meta-kernel.

A cache entry lives at ``viewer.paths.cache_dir()/<kind>/<name>-<key>.<ext>``. Its key is a hash of the inputs the
caller names (numbers, settings) plus :func:`source_signature` of the files it was derived from. A signature walks
folders recursively and records each file's path relative to its root, size and modification time, so editing,
adding, removing or moving a file (into a subfolder too) gives a new key.

Writes are atomic (temp file, then rename). A damaged entry (unreadable, a NaN or infinity inside, a missing
array, or refused by the caller's check) is logged, removed and reported as missing, so the caller recomputes and
replaces it. Writing an entry removes the older entries of the same kind and name.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from viewer import paths
from viewer.errors import InputError

log = logging.getLogger(__name__)

KINDS = ("links", "meshes", "web", "meta", "director")


def source_signature(*sources: Path | str) -> list[list]:
    """[[relative path, size, mtime_ns], …] of every file under each source (a file or a folder, recursively)."""
    out: list[list] = []
    for src in sources:
        src = Path(src)
        if src.is_dir():
            files = sorted(p for p in src.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
            root = src
        else:
            files, root = [src], src.parent
        for f in files:
            try:
                st = f.stat()
            except OSError:
                out.append([str(f), None, None])
                continue
            out.append([f"{root.name}/{f.relative_to(root).as_posix()}", st.st_size, st.st_mtime_ns])
    return out


def make_key(inputs: dict, sources: Iterable[Path | str] = ()) -> str:
    """A 20-hex-digit key of ``inputs`` (JSON-serialisable; other values by ``str``) and the sources' signature."""
    blob = json.dumps({"inputs": inputs, "sources": source_signature(*sources)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def entry_path(kind: str, name: str, key: str, ext: str) -> Path:
    """Where the entry (kind, name, key) lives."""
    if kind not in KINDS:
        raise ValueError(f"unknown cache kind {kind!r}; expected one of {', '.join(KINDS)}")
    return paths.cache_dir() / kind / f"{name}-{key}.{ext}"


def _drop_older(path: Path, name: str, ext: str) -> None:
    for old in path.parent.glob(f"{name}-*.{ext}"):
        if old != path:
            old.unlink(missing_ok=True)


def _damaged(path: Path, err: Exception) -> None:
    log.warning("cache entry %s is damaged (%s); it is rebuilt", path, err)
    path.unlink(missing_ok=True)


def all_finite(value) -> bool:
    """True if every number inside ``value`` (nested lists and dicts) is finite."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(all_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(all_finite(v) for v in value)
    return False


def read_json(kind: str, name: str, key: str, validate: Callable[[object], None] | None = None):
    """The entry's JSON value, or None when it is missing or damaged.

    Damaged means unreadable, not JSON, holding a non-finite number, or refused by ``validate`` (which raises
    ``ValueError`` naming what is wrong): a poisoned entry is rebuilt, never trusted.
    """
    path = entry_path(kind, name, key, "json")
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
        if validate is not None:
            validate(value)
        return value
    except (OSError, ValueError, KeyError, TypeError) as err:
        _damaged(path, err)
        return None


def _refuse_constant(name: str):
    raise ValueError(f"{name} in a cache entry")


def _not_stored(kind: str, name: str, err: Exception) -> None:
    log.warning("warning: %s; carrying on without caching %s/%s (it is computed again next time)", err, kind, name)


def write_json(kind: str, name: str, key: str, value) -> Path | None:
    """Store a JSON value atomically; returns the entry's path, or None (one warning) when the cache folder is
    full, read-only or not a folder: the caller carries on with the value it has."""
    try:
        path = entry_path(kind, name, key, "json")
        paths.atomic_write_text(path, json.dumps(value))
        _drop_older(path, name, "json")
    except (InputError, OSError) as err:
        _not_stored(kind, name, err)
        return None
    return path


def read_arrays(kind: str, name: str, key: str, required: tuple[str, ...] = ()) -> dict[str, np.ndarray] | None:
    """The entry's arrays (an ``.npz``), or None when it is missing, damaged, lacks a ``required`` array, or holds
    a non-finite float."""
    path = entry_path(kind, name, key, "npz")
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        missing = [k for k in required if k not in arrays]
        if missing:
            raise ValueError(f"no array {missing[0]!r}")
        for k, a in arrays.items():
            if a.dtype.kind == "f" and not np.isfinite(a).all():
                raise ValueError(f"non-finite values in {k!r}")
        return arrays
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        _damaged(path, err)
        return None


def write_arrays(kind: str, name: str, key: str, arrays: dict[str, np.ndarray]) -> Path | None:
    """Store named arrays atomically as an ``.npz``; returns the entry's path, or None (one warning) when the
    cache folder cannot take it."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    try:
        path = entry_path(kind, name, key, "npz")
        paths.atomic_write_bytes(path, buf.getvalue())
        _drop_older(path, name, "npz")
    except (InputError, OSError) as err:
        _not_stored(kind, name, err)
        return None
    return path


def store_text(kind: str, name: str, key: str, text: str, ext: str = "txt") -> Path:
    """Write ``text`` unless the entry already holds it; returns the entry's path (for files other tools read)."""
    path = entry_path(kind, name, key, ext)
    try:
        if path.read_text(encoding="utf-8") == text:
            return path
    except (OSError, UnicodeDecodeError):
        pass  # missing or unreadable: written below
    paths.atomic_write_text(path, text)
    return path
