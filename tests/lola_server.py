"""A local HTTP/1.1 server on 127.0.0.1 that answers Range requests, for the LOLA window tests.

It serves files from disk (``routes``: URL path → file, so ``../shared``'s LDEM_4 is served in place, never copied)
or from memory, keeps connections open, and can misbehave on purpose:

- ``ignore_range``: answer 200 with the whole file, as a server without Range support does (sent in small chunks,
  so ``sent`` shows how much went out before the client hung up);
- ``multirange``: answer a request for several ranges with ``multipart/byteranges`` (default), or, when False,
  with 200 and the whole file, as servers without multi-range support do;
- ``drop``: {request number of a path: bytes}: send that many body bytes of that answer, then cut the connection;
- ``short``: announce the full length but send half of the body and close;
- ``html``: answer this path with an HTML error page (status 206 for a Range request, 200 otherwise);
- ``shift_range``: answer a Range request with the bytes one further (and say so in ``Content-Range``);
- ``total``: {path: size}: the file size announced in ``Content-Range``;
- ``delay_s``: a wait before every answer (a benchmark's stand-in for the network's round trip).

``log`` records (path, Range header) of every request and ``sent`` the body bytes sent per path. Request loops are
bounded by the tests; the server stops in :meth:`close`.
"""

from __future__ import annotations

import http.server
import re
import socket
import threading
import time
from pathlib import Path

_SPAN = re.compile(r"^(\d+)-(\d*)$")
BOUNDARY = b"3d6b6a416f9b5b0a"


def _spans(header: str | None) -> list[tuple[int, int]] | None:
    """[(start, stop)] of a ``Range: bytes=a-b,c-d`` header (stop exclusive, open ends to a large number)."""
    if not header or not header.startswith("bytes="):
        return None
    out = []
    for part in header[6:].split(","):
        m = _SPAN.match(part.strip())
        if m is None:
            return None
        out.append((int(m.group(1)), int(m.group(2)) + 1 if m.group(2) else 1 << 62))
    return out


HTML_PAGE = b"<!DOCTYPE html><html><body><h1>Service temporarily unavailable</h1></body></html>"


class QuietHTTPServer(http.server.ThreadingHTTPServer):
    """A threaded test server that stays silent when a client hangs up midway (a timeout or a dropped transfer).

    The default prints a traceback to stderr from its worker thread, which lands in whatever test captures
    stderr at that moment.
    """

    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


class RangeServer:
    def __init__(self, routes: dict[str, Path | bytes] | None = None):
        self.routes: dict[str, Path | bytes] = dict(routes or {})
        self.log: list[tuple[str, str | None]] = []
        self.sent: dict[str, int] = {}
        self.ignore_range = False
        self.drop: dict[tuple[str, int], int] = {}
        self.short: set[str] = set()
        self.html: set[str] = set()
        self.shift_range: set[str] = set()
        self.total: dict[str, int] = {}
        self.multirange = True  # answer several ranges as multipart/byteranges (as Apache does); else 200
        self.delay_s = 0.0  # wait before each answer (a benchmark's stand-in for network latency)
        self.lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms delayed-ACK stall per answer)

            def log_message(self, *args):
                pass

            def do_GET(self):
                owner._answer(self)

        self.httpd = QuietHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    # ------------------------------------------------------------------------------------------- helpers
    def requests_for(self, path: str) -> list[str | None]:
        return [rng for p, rng in self.log if p == path]

    def _size(self, path: str) -> int | None:
        src = self.routes.get(path)
        if src is None:
            return None
        return len(src) if isinstance(src, bytes) else Path(src).stat().st_size

    def _slice(self, path: str, start: int, stop: int) -> bytes:
        """Bytes [start, stop) of a route; files are read in place (a sparse 2 GB tile costs nothing)."""
        src = self.routes[path]
        if isinstance(src, bytes):
            return src[start:stop]
        with open(src, "rb") as fh:
            fh.seek(start)
            return fh.read(stop - start)

    def _count(self, path: str, n: int) -> None:
        with self.lock:
            self.sent[path] = self.sent.get(path, 0) + n

    # ------------------------------------------------------------------------------------------- answers
    def _answer(self, h) -> None:
        path = h.path.lstrip("/")
        rng = h.headers.get("Range")
        with self.lock:
            self.log.append((path, rng))
            number = sum(1 for p, _ in self.log if p == path)
        if self.delay_s:
            time.sleep(self.delay_s)
        size = self._size(path)
        if size is None:
            h.send_error(404)
            return
        if path in self.html:
            h.send_response(206 if rng else 200)
            h.send_header("Content-Type", "text/html; charset=utf-8")
            h.send_header("Content-Length", str(len(HTML_PAGE)))
            h.end_headers()
            h.wfile.write(HTML_PAGE)
            return
        spans = _spans(rng)
        if self.ignore_range or not spans or (len(spans) > 1 and not self.multirange):
            self._whole(h, path, size)
            return
        if any(a >= size for a, _ in spans):
            h.send_response(416)
            h.send_header("Content-Range", f"bytes */{size}")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        shift = 1 if path in self.shift_range else 0
        spans = [(a + shift, min(b + shift, size)) for a, b in ((a, min(b, size)) for a, b in spans)]
        total = self.total.get(path, size)
        h.send_response(206)
        if len(spans) == 1:
            (a, b), payload = spans[0], self._slice(path, *spans[0])
            h.send_header("Content-Type", "application/octet-stream")
            h.send_header("Content-Range", f"bytes {a}-{b - 1}/{total}")
        else:
            payload = (
                b"".join(
                    b"--"
                    + BOUNDARY
                    + b"\r\nContent-Type: application/octet-stream\r\n"
                    + f"Content-Range: bytes {a}-{b - 1}/{total}\r\n\r\n".encode()
                    + self._slice(path, a, b)
                    + b"\r\n"
                    for a, b in spans
                )
                + b"--"
                + BOUNDARY
                + b"--\r\n"
            )
            h.send_header("Content-Type", f"multipart/byteranges; boundary={BOUNDARY.decode()}")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        cut = self.drop.get((path, number))
        if cut is None and path in self.short:
            cut = len(payload) // 2
        if cut is not None:
            h.wfile.write(payload[:cut])
            h.wfile.flush()
            self._count(path, cut)
            h.connection.shutdown(socket.SHUT_RDWR)
            h.close_connection = True
            return
        h.wfile.write(payload)
        self._count(path, len(payload))

    def _whole(self, h, path: str, size: int) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(size))
        h.end_headers()
        try:
            for i in range(0, size, 16384):
                h.wfile.write(self._slice(path, i, min(size, i + 16384)))
                self._count(path, min(16384, size - i))
                time.sleep(0.0005)
        except OSError:
            h.close_connection = True  # the client hung up: stop sending

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
