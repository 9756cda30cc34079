"""Reading parts of remote files over HTTP: byte ranges of a large image, and whole small files (labels, indexes).

:class:`RangeReader` keeps one connection open (HTTP/1.1 keep-alive) and checks every answer before using a byte:

- the status is ``206 Partial Content``: a ``200`` means the server ignores ``Range`` and is sending the whole
  file, so the connection is closed at once, without reading the body, and a :class:`~viewer.errors.DataError`
  says so;
- the ``Content-Range`` is exactly the range asked for, and its total is the size the caller expects;
- the body is not an HTML page (``Content-Type: text/html``: an error or login page served in place of data);
- the body has exactly the bytes announced. A short read or a dropped connection raises :class:`Dropped`, which the
  caller retries (the connection is reopened).

:meth:`RangeReader.read_many` asks for many ranges in one request (``Range: bytes=a-b,c-d,…``). A server that
answers with ``multipart/byteranges`` gives them all in one round trip (each part's ``Content-Range`` checked the
same way); one that answers otherwise (``200``, or one merged range) is hung up on unread, and the caller falls back
to one range per request.

Every error is one line naming the URL and the fix. ``stats`` counts requests and body bytes received.
"""

from __future__ import annotations

import http.client
import re
from urllib.parse import urljoin, urlsplit

from viewer import __version__
from viewer.errors import DataError

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0
MAX_SMALL_BYTES = 64 << 20  # a label or an index larger than this is not what we asked for
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_REDIRECTS = (301, 302, 303, 307, 308)
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
PART_OVERHEAD = 400  # header bytes a multipart answer may add per range


class Dropped(Exception):
    """The connection dropped or the body was shorter than announced: retry the request."""


def offline_error(url: str, exc: BaseException) -> DataError:
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return DataError(
        f"cannot reach {urlsplit(url).netloc} ({reason}): offline? The viewer keeps the terrain it has; "
        "run the `python -m viewer data` command again when online",
        path=url,
    )


def _headers(extra: dict | None = None) -> dict:
    return {"User-Agent": f"change6-viewer/{__version__}", "Accept-Encoding": "identity", **(extra or {})}


def _is_html(resp) -> bool:
    return (resp.getheader("Content-Type") or "").split(";")[0].strip().lower() in (
        "text/html",
        "application/xhtml+xml",
    )


class RangeReader:
    """Byte ranges of one remote file over a kept-open connection. ``size`` is the file's size on the server."""

    def __init__(self, url: str, *, stats: dict | None = None):
        self.url = url
        self.stats = stats if stats is not None else {}
        self.stats.setdefault("requests", 0)
        self.stats.setdefault("bytes", 0)
        self._conn = None

    # ------------------------------------------------------------------------------------------ connection
    def _connect(self):
        parts = urlsplit(self.url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname, parts.port, timeout=CONNECT_TIMEOUT_S)
        try:
            conn.connect()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise offline_error(self.url, exc) from None
        conn.sock.settimeout(READ_TIMEOUT_S)
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _request(self, start: int, stop: int, more: list[tuple[int, int]] = ()):
        """Send ``GET`` for bytes [start, stop) (and the ``more`` ranges) and return the response (redirects followed,
        new URL kept)."""
        spec = ",".join(f"{a}-{b - 1}" for a, b in [(start, stop), *more])
        for _ in range(6):
            if self._conn is None:
                self._conn = self._connect()
            parts = urlsplit(self.url)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            try:
                self._conn.request("GET", path, headers=_headers({"Range": f"bytes={spec}"}))
                resp = self._conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise Dropped(f"{type(exc).__name__}: {exc}") from None
            self.stats["requests"] += 1
            if resp.status in _REDIRECTS and resp.getheader("Location"):
                resp.read()
                self.close()
                self.url = urljoin(self.url, resp.getheader("Location"))
                continue
            return resp
        raise DataError(f"{self.url}: too many redirects", path=self.url)

    # ---------------------------------------------------------------------------------------------- reads
    def read(self, start: int, stop: int, *, total: int | None = None) -> bytes:
        """Bytes [start, stop) of the file; ``total``, when given, is the file size the answer must announce."""
        resp = self._request(start, stop)
        try:
            self._check(resp, start, stop, total)
            try:
                body = resp.read(stop - start)
            except (OSError, http.client.HTTPException) as exc:
                raise Dropped(f"{type(exc).__name__}: {exc}") from None
            self.stats["bytes"] += len(body)
            if len(body) != stop - start:
                raise Dropped(f"short read: {len(body)} of {stop - start} bytes")
            if resp.will_close:
                self.close()
            return body
        except BaseException:
            self.close()  # never reuse a connection whose answer was not read to its end
            raise

    def read_many(self, ranges: list[tuple[int, int]], *, total: int | None = None) -> list[bytes] | None:
        """The bytes of every [start, stop) in ``ranges`` from one ``multipart/byteranges`` answer, in order; None
        when the server does not answer that way (the connection is closed without reading the body)."""
        if len(ranges) == 1:
            return [self.read(*ranges[0], total=total)]
        resp = self._request(*ranges[0], list(ranges[1:]))
        try:
            ctype = resp.getheader("Content-Type") or ""
            multipart = resp.status == 206 and ctype.lower().startswith("multipart/byteranges")
            if resp.status in (200, 206) and not multipart:
                self.close()
                return None
            boundary = _BOUNDARY.search(ctype) if multipart else None
            if boundary is None:
                self._check(resp, *ranges[0], total)  # raises the one-line error of this status
                raise DataError(f"{self.url}: multipart answer without a boundary; check the server", path=self.url)
            want = sum(b - a for a, b in ranges)
            length = resp.getheader("Content-Length")
            if length is not None and int(length) > want + PART_OVERHEAD * len(ranges) + 1024:
                self.close()
                return None
            try:
                body = resp.read(int(length)) if length is not None else resp.read()
            except (OSError, http.client.HTTPException) as exc:
                raise Dropped(f"{type(exc).__name__}: {exc}") from None
            self.stats["bytes"] += len(body)
            if length is not None and len(body) != int(length):
                raise Dropped(f"short read: {len(body)} of {length} bytes")
            parts = self._parts(body, boundary.group(1).encode(), total)
            if resp.will_close:
                self.close()
        except BaseException:
            self.close()
            raise
        missing = [f"{a}-{b - 1}" for a, b in ranges if (a, b) not in parts]
        if missing:
            raise DataError(
                f"{self.url}: asked for bytes {', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}, the "
                "multipart answer does not hold them; nothing from it was kept",
                path=self.url,
            )
        return [parts[r] for r in ranges]

    def _parts(self, body: bytes, boundary: bytes, total: int | None) -> dict[tuple[int, int], bytes]:
        """{(start, stop): bytes} of a multipart/byteranges body, read by the lengths each part announces."""
        out: dict[tuple[int, int], bytes] = {}
        pos = 0
        while True:
            pos = body.find(b"--" + boundary, pos)
            if pos < 0:
                raise Dropped("multipart answer ends before its closing boundary")
            pos += len(boundary) + 2
            if body[pos : pos + 2] == b"--":
                return out
            end = body.find(b"\r\n\r\n", pos)
            if end < 0:
                raise Dropped("multipart part without its headers' end")
            headers = body[pos:end].decode("latin-1").split("\r\n")
            value = next((h.split(":", 1)[1] for h in headers if h.lower().startswith("content-range:")), "")
            m = _CONTENT_RANGE.match(value.strip())
            if m is None:
                raise DataError(f"{self.url}: a multipart part has Content-Range {value.strip()!r}", path=self.url)
            a, b = int(m.group(1)), int(m.group(2)) + 1
            if total is not None and m.group(3) != "*" and int(m.group(3)) != total:
                raise DataError(
                    f"{self.url}: the server's file has {m.group(3)} bytes but its label says {total}; the label "
                    "does not describe this file (a newer product version?). Fetch again to read the current label",
                    path=self.url,
                )
            data = body[end + 4 : end + 4 + (b - a)]
            if len(data) != b - a:
                raise Dropped(f"short part: {len(data)} of {b - a} bytes")
            out[(a, b)] = data
            pos = end + 4 + (b - a)

    def size(self) -> int:
        """The file's size, from the ``Content-Range`` of a one-byte request (which also proves Range support)."""
        resp = self._request(0, 1)
        try:
            total = self._check(resp, 0, 1, None)
            resp.read(1)
            self.stats["bytes"] += 1
        except BaseException:
            self.close()
            raise
        if resp.will_close:
            self.close()
        if total is None:
            raise DataError(f"{self.url}: the server does not say the file's size (Content-Range …/*)", path=self.url)
        return total

    def _check(self, resp, start: int, stop: int, total: int | None) -> int | None:
        url = self.url
        if resp.status == 200:
            raise DataError(
                f"{url}: the server ignores HTTP Range requests (it answered 200 with the whole file), so a window "
                "cannot be read from it; nothing was downloaded. Use an archive server that supports Range",
                path=url,
            )
        if resp.status == 416:
            raise DataError(
                f"{url}: bytes {start}-{stop - 1} lie beyond the end of the file (HTTP 416); the file is shorter "
                "than its label says: the label does not describe it",
                path=url,
            )
        if resp.status != 206:
            raise DataError(f"{url}: HTTP {resp.status} {resp.reason}; check the archive address", path=url)
        if _is_html(resp):
            raise DataError(
                f"{url}: the server sent an HTML page instead of data (an error page?); check the archive address",
                path=url,
            )
        m = _CONTENT_RANGE.match((resp.getheader("Content-Range") or "").strip())
        if not m or (int(m.group(1)), int(m.group(2))) != (start, stop - 1):
            raise DataError(
                f"{url}: asked for bytes {start}-{stop - 1}, the server answered Content-Range "
                f"{resp.getheader('Content-Range')!r}; nothing from this answer was kept",
                path=url,
            )
        size = None if m.group(3) == "*" else int(m.group(3))
        if total is not None and size is not None and size != total:
            raise DataError(
                f"{url}: the server's file has {size} bytes but its label says {total}; the label does not describe "
                "this file (a newer product version?). Fetch again to read the current label",
                path=url,
            )
        return size


def get_small(url: str, *, what: str = "file", stats: dict | None = None) -> bytes:
    """A whole small file (a label, an index label): status 200, not HTML, complete. Redirects are followed."""
    stats = stats if stats is not None else {}
    for _ in range(6):
        parts = urlsplit(url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname, parts.port, timeout=CONNECT_TIMEOUT_S)
        try:
            try:
                conn.connect()
            except (OSError, http.client.HTTPException) as exc:
                raise offline_error(url, exc) from None
            conn.sock.settimeout(READ_TIMEOUT_S)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            try:
                conn.request("GET", path, headers=_headers())
                resp = conn.getresponse()
                stats["requests"] = stats.get("requests", 0) + 1
                if resp.status in _REDIRECTS and resp.getheader("Location"):
                    url = urljoin(url, resp.getheader("Location"))
                    continue
                if resp.status != 200:
                    raise DataError(f"{url}: HTTP {resp.status} {resp.reason}; check the archive address", path=url)
                if _is_html(resp):
                    raise DataError(
                        f"{url}: the server sent an HTML page, not the {what}; check the archive address", path=url
                    )
                length = resp.getheader("Content-Length")
                if length is not None and int(length) > MAX_SMALL_BYTES:
                    raise DataError(f"{url}: {int(length)} bytes is too large for a {what}", path=url)
                body = resp.read(MAX_SMALL_BYTES + 1)
            except (OSError, http.client.HTTPException) as exc:
                raise DataError(
                    f"{url}: the connection dropped while reading the {what} ({type(exc).__name__}); run again",
                    path=url,
                ) from None
            stats["bytes"] = stats.get("bytes", 0) + len(body)
            if length is not None and len(body) != int(length):
                raise DataError(
                    f"{url}: received {len(body)} of {length} bytes of the {what}; the connection dropped, run again",
                    path=url,
                )
            if body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
                raise DataError(
                    f"{url}: the server sent an HTML page, not the {what}; check the archive address", path=url
                )
            return body
        finally:
            conn.close()
    raise DataError(f"{url}: too many redirects", path=url)
