"""Download LOLA GDR products from the PDS Geosciences Node into the user cache (standard library HTTP only).

``fetch("ldem_16")`` downloads ``ldem_16.lbl`` and ``ldem_16.img`` into ``viewer.paths.cache_dir()/"lola"``:

- the base URL comes from ``assets/lola.yaml`` and the env ``VIEWER_LOLA_BASE_URL`` overrides it;
- the connection attempt times out after :data:`CONNECT_TIMEOUT_S` (5 s), so an offline machine learns it quickly
  and gets one line (:class:`~viewer.errors.DataError`), never a traceback;
- bytes go to ``<name>.part``; a dropped connection is resumed with an HTTP ``Range`` request from the size of the
  ``.part`` (automatically, up to ``retries`` times, and again on the next run);
- the size is checked against the label's ``FILE_RECORDS × RECORD_BYTES`` and the server's ``Content-Length``, and
  the md5 against the table in ``assets/lola.yaml`` where we know it (otherwise size only, and the caller is told);
- on a checksum mismatch the ``.part`` is deleted (its bad bytes cannot be located, so resuming it is pointless) and
  the final file is never created; a good download is renamed into place (``os.replace``, atomic).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import time
import urllib.parse
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import yaml

from viewer import __version__
from viewer.errors import DataError, InputError
from viewer.paths import ASSETS_DIR, cache_dir, write_error
from viewer.terrain.remote import offline_error

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0
CHUNK = 1 << 16
CATALOG_PATH = ASSETS_DIR / "lola.yaml"


def catalog() -> dict:
    """``assets/lola.yaml``: base URL, products (names, grid, known md5s)."""
    fix = "restore it with `git checkout assets/lola.yaml`"
    try:
        doc = yaml.safe_load(CATALOG_PATH.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataError(
            f"{CATALOG_PATH}: cannot read the LOLA product table ({exc.__class__.__name__}); {fix}", path=CATALOG_PATH
        ) from None
    products = doc.get("products") if isinstance(doc, dict) else None
    if not isinstance(products, dict) or not all(isinstance(v, dict) for v in products.values()):
        raise DataError(f"{CATALOG_PATH}: needs a `products:` mapping of product tables; {fix}", path=CATALOG_PATH)
    if not isinstance(doc.get("base_url"), str):
        raise DataError(f"{CATALOG_PATH}: needs `base_url:` (the LOLA archive's address); {fix}", path=CATALOG_PATH)
    return doc


def checked_url(url: str, variable: str) -> str:
    """``url`` if it is an http(s) address, with a trailing slash; else one line naming ``variable``."""
    parts = urllib.parse.urlparse(str(url))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        shown = str(url) if len(str(url)) <= 80 else str(url)[:77] + "..."
        raise InputError(f"{variable}={shown!r} is not an http(s) address; set it like https://host/path/ or unset it")
    return url if url.endswith("/") else url + "/"


def base_url() -> str:
    env = os.environ.get("VIEWER_LOLA_BASE_URL")
    return checked_url(env, "VIEWER_LOLA_BASE_URL") if env else checked_url(catalog()["base_url"], "base_url")


def lola_dir() -> Path:
    path = cache_dir() / "lola"
    path.mkdir(parents=True, exist_ok=True)
    return path


class _Interrupted(Exception):
    """The server closed the connection before sending everything it announced."""


class Progress:
    """A one-line progress bar on stderr, redrawn at most 5 times a second."""

    def __init__(self, name: str, total: int | None, done: int, stream, enabled: bool):
        self.name, self.total, self.done, self.stream, self.enabled = name, total, done, stream, enabled
        self.start, self.start_done, self.last = time.monotonic(), done, 0.0

    def update(self, n: int, final: bool = False) -> None:
        self.done += n
        now = time.monotonic()
        if not self.enabled or (not final and now - self.last < 0.2):
            return
        self.last = now
        rate = (self.done - self.start_done) / max(now - self.start, 1e-6) / 1e6
        if self.total:
            frac = min(1.0, self.done / self.total)
            bar = "#" * int(frac * 30)
            text = f"{self.name} {frac * 100:5.1f}% [{bar:<30}] {self.done / 1e6:.1f}/{self.total / 1e6:.1f} MB {rate:.1f} MB/s"
        else:
            text = f"{self.name} {self.done / 1e6:.1f} MB {rate:.1f} MB/s"
        self.stream.write("\r" + text + ("\n" if final else ""))
        self.stream.flush()


def _open(url: str, start: int):
    """GET ``url`` from byte ``start`` (following redirects). Returns (response, connection, final url)."""
    for _ in range(6):
        parts = urlsplit(url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname, parts.port, timeout=CONNECT_TIMEOUT_S)
        try:
            conn.connect()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise offline_error(url, exc) from None
        conn.sock.settimeout(READ_TIMEOUT_S)
        headers = {"User-Agent": f"change6-viewer/{__version__}", "Accept-Encoding": "identity"}
        if start:
            headers["Range"] = f"bytes={start}-"
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", path or "/", headers=headers)
        resp = conn.getresponse()
        if resp.status in (301, 302, 303, 307, 308) and resp.getheader("Location"):
            url = urljoin(url, resp.getheader("Location"))
            conn.close()
            continue
        return resp, conn, url
    raise DataError(f"{url}: too many redirects", path=url)


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_file(
    url: str,
    dest: Path,
    *,
    expected_size: int | None = None,
    md5: str | None = None,
    retries: int = 3,
    progress: bool = True,
    stream=None,
) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part`` with resume, size and md5 checks; returns ``dest``."""
    stream = stream or sys.stderr
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    attempts = 0
    while True:
        have = part.stat().st_size if part.exists() else 0
        if expected_size is not None and have > expected_size:
            part.unlink()
            have = 0
        if expected_size is not None and have == expected_size:
            break
        if expected_size is not None:
            _check_space(part, expected_size - have)
        try:
            _download_once(url, part, have, expected_size, progress, stream)
            break
        except (TimeoutError, _Interrupted, http.client.IncompleteRead, ConnectionError) as exc:
            attempts += 1
            got = part.stat().st_size if part.exists() else 0
            if attempts > retries:
                raise DataError(
                    f"{url}: the connection dropped at {got} bytes ({type(exc).__name__}); "
                    f"run `python -m viewer data fetch` again to resume from {part.name}",
                    path=part,
                ) from None
            stream.write(f"\n{dest.name}: connection dropped at {got} bytes; resuming (attempt {attempts + 1})\n")
    size = part.stat().st_size
    if expected_size is not None and size != expected_size:
        part.unlink()
        raise DataError(
            f"{url}: received {size} bytes, expected {expected_size}; the download was deleted, run again", path=dest
        )
    if md5:
        actual = md5_of(part)
        if actual != md5.lower():
            part.unlink()
            raise DataError(
                f"{dest.name}: md5 {actual} differs from the known {md5}; the corrupt download was deleted, run again",
                path=dest,
            )
    os.replace(part, dest)
    return dest


def _download_once(url, part: Path, have: int, expected_size, progress, stream) -> None:
    resp, conn, url = _open(url, have)
    try:
        if resp.status == 416 and have:  # our .part is already complete or the server cannot resume it
            part.unlink()
            raise _Interrupted("range not satisfiable")
        if resp.status == 200:
            have, mode = 0, "wb"
        elif resp.status == 206 and have:
            content_range = resp.getheader("Content-Range", "")
            if not content_range.startswith(f"bytes {have}-"):
                raise DataError(f"{url}: server answered Range {have}- with {content_range!r}", path=url)
            mode = "ab"
        else:
            raise DataError(f"{url}: HTTP {resp.status} {resp.reason}", path=url)
        length = resp.getheader("Content-Length")
        remaining = int(length) if length is not None else None
        if expected_size is not None and remaining is not None and have + remaining != expected_size:
            raise DataError(
                f"{url}: the server announces {have + remaining} bytes but the label says {expected_size}; "
                "server and label disagree, nothing was kept",
                path=url,
            )
        bar = Progress(
            part.name[: -len(".part")],
            expected_size or (have + remaining if remaining else None),
            have,
            stream,
            progress,
        )
        received = 0
        try:
            fh = open(part, mode)
        except OSError as exc:
            raise _write_failed(part, exc) from None
        with fh:
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                try:
                    fh.write(chunk)
                except OSError as exc:  # a full disk: what arrived stays in the .part for the next run
                    raise _write_failed(part, exc) from None
                received += len(chunk)
                bar.update(len(chunk))
        if remaining is not None and received < remaining:
            raise _Interrupted(f"{received} of {remaining} bytes")
        bar.update(0, final=True)
    finally:
        conn.close()


def _write_failed(part: Path, exc: OSError) -> DataError:
    line = str(write_error(part, exc))
    return DataError(f"{line}; then run `python -m viewer data fetch` again to resume", path=part)


def _check_space(part: Path, need: int) -> None:
    """One line before downloading when the folder has fewer than ``need`` bytes free."""
    try:
        st = os.statvfs(part.parent)
    except OSError:
        return
    free = st.f_bavail * st.f_frsize
    if free < need:
        raise DataError(
            f"{part.parent} has {free / 1e6:.1f} MB free but {part.name[: -len('.part')]} needs {need / 1e6:.1f} MB "
            "more; free some space or point VIEWER_CACHE_DIR at a bigger disk, then run again",
            path=part,
        )


def product_info(product: str) -> dict:
    key = product.lower()
    products = catalog()["products"]
    if key not in products:
        raise InputError(f"unknown LOLA product {product!r}; choose one of: {', '.join(products)}")
    return products[key]


def fetch(
    product: str | None = None, dest_dir: Path | None = None, *, retries: int = 3, progress: bool = True, stream=None
) -> tuple[Path, list[str]]:
    """Download one LOLA product (label, then image). Returns (image path, notes for the user)."""
    from viewer.terrain.lola import LolaDem, find_key, parse_label

    stream = stream or sys.stderr
    cat = catalog()
    product = (product or cat.get("default_product", "ldem_16")).lower()
    info = product_info(product)
    dest_dir = Path(dest_dir) if dest_dir else lola_dir()
    known = info.get("md5") or {}
    notes = []
    img, lbl = dest_dir / info["img"], dest_dir / info["lbl"]
    if not (lbl.exists() and (not known.get("lbl") or md5_of(lbl) == known["lbl"])):
        fetch_file(base_url() + info["lbl"], lbl, md5=known.get("lbl"), retries=retries, progress=False, stream=stream)
    label = parse_label(lbl.read_text(encoding="latin-1"), path=lbl)
    records, record_bytes = find_key(label, "FILE_RECORDS"), find_key(label, "RECORD_BYTES")
    if records is None or record_bytes is None:
        raise DataError(f"{lbl}: label lacks FILE_RECORDS/RECORD_BYTES; cannot verify the image size", path=lbl)
    expected = int(records) * int(record_bytes)
    if expected != info["lines"] * info["samples"] * 2:
        raise DataError(
            f"{lbl}: the label's size {expected} B disagrees with {product}'s grid in {CATALOG_PATH.name}", path=lbl
        )
    present = img.exists() and img.stat().st_size == expected and (not known.get("img") or md5_of(img) == known["img"])
    if present:
        notes.append(f"{img.name} is already present and verified")
    else:
        fetch_file(
            base_url() + info["img"],
            img,
            expected_size=expected,
            md5=known.get("img"),
            retries=retries,
            progress=progress,
            stream=stream,
        )
    if known.get("img"):
        notes.append(f"{img.name}: size {expected} B and md5 {known['img']} verified")
    else:
        notes.append(
            f"{img.name}: size {expected} B verified (label and server); no known md5 for {product}, "
            "so the checksum was not verified"
        )
    LolaDem.open(img)  # the reader accepts it
    return img, notes
