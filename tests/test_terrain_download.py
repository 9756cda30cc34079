"""The LOLA downloader against a local HTTP server on 127.0.0.1 that serves ../shared's LDEM_4 with Range support."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
import time

import pytest
from lola_server import QuietHTTPServer

from viewer.errors import DataError
from viewer.terrain import download

LDEM4_MD5 = "4d0326edc348186b44c2452a4494e599"


class _Server:
    """Serves ``files`` (name → bytes); can drop the first image transfer midway or serve a corrupted image."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.requests: list[tuple[str, str | None]] = []
        self.drop_first_at: int | None = None
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.lstrip("/")
                rng = self.headers.get("Range")
                owner.requests.append((name, rng))
                body = owner.files.get(name)
                if body is None:
                    self.send_error(404)
                    return
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                self.send_response(206 if rng else 200)
                if rng:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(body) - start))
                self.send_header("Connection", "close")
                self.end_headers()
                payload = body[start:]
                if owner.drop_first_at is not None and name.endswith(".img"):
                    cut, owner.drop_first_at = owner.drop_first_at, None
                    self.wfile.write(payload[:cut])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(payload)

        self.httpd = QuietHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def ldem4_bytes(ldem4_path):
    return {"ldem_4.img": ldem4_path.read_bytes(), "ldem_4.lbl": ldem4_path.with_suffix(".LBL").read_bytes()}


@pytest.fixture()
def server(ldem4_bytes, monkeypatch, tmp_path):
    srv = _Server(dict(ldem4_bytes))
    monkeypatch.setenv("VIEWER_LOLA_BASE_URL", srv.url)
    monkeypatch.setenv("VIEWER_CACHE_DIR", str(tmp_path / "cache"))
    yield srv
    srv.close()


def test_fetch_success_verifies_and_places_files(server, tmp_path, capsys):
    img, notes = download.fetch("ldem_4", progress=True)
    assert img == tmp_path / "cache" / "lola" / "ldem_4.img"
    assert hashlib.md5(img.read_bytes()).hexdigest() == LDEM4_MD5
    assert (img.parent / "ldem_4.lbl").exists()
    assert not list(img.parent.glob("*.part"))
    assert any("md5" in note and "verified" in note for note in notes)
    assert "100.0%" in capsys.readouterr().err  # the progress bar went to stderr
    # a second fetch finds the verified file and downloads nothing
    before = len(server.requests)
    download.fetch("ldem_4", progress=False)
    assert len(server.requests) == before


def test_fetch_resumes_after_dropped_connection(server, tmp_path):
    server.drop_first_at = 700_000
    img, _ = download.fetch("ldem_4", progress=False)
    img_requests = [r for r in server.requests if r[0] == "ldem_4.img"]
    assert img_requests[0][1] is None
    assert img_requests[1][1] == "bytes=700000-"  # resumed from the .part's size, not restarted
    assert hashlib.md5(img.read_bytes()).hexdigest() == LDEM4_MD5


def test_interrupted_fetch_without_retries_leaves_part_and_next_run_resumes(server, tmp_path):
    server.drop_first_at = 1_000_000
    with pytest.raises(DataError) as err:
        download.fetch("ldem_4", retries=0, progress=False)
    assert "\n" not in str(err.value) and "resume" in str(err.value)
    lola = tmp_path / "cache" / "lola"
    assert (lola / "ldem_4.img.part").stat().st_size == 1_000_000
    assert not (lola / "ldem_4.img").exists()
    download.fetch("ldem_4", progress=False)
    assert server.requests[-1] == ("ldem_4.img", "bytes=1000000-")
    assert hashlib.md5((lola / "ldem_4.img").read_bytes()).hexdigest() == LDEM4_MD5


def test_checksum_mismatch_is_an_error_and_leaves_no_file(server, tmp_path):
    corrupt = bytearray(server.files["ldem_4.img"])
    corrupt[123_456] ^= 0xFF
    server.files["ldem_4.img"] = bytes(corrupt)
    with pytest.raises(DataError) as err:
        download.fetch("ldem_4", progress=False)
    assert "md5" in str(err.value) and "\n" not in str(err.value)
    lola = tmp_path / "cache" / "lola"
    assert not (lola / "ldem_4.img").exists()
    assert not (lola / "ldem_4.img.part").exists()


def test_size_disagreeing_with_label_is_rejected(server, tmp_path):
    server.files["ldem_4.img"] = server.files["ldem_4.img"][:-2880]
    with pytest.raises(DataError, match="label says"):
        download.fetch("ldem_4", progress=False)
    assert not (tmp_path / "cache" / "lola" / "ldem_4.img").exists()


def test_offline_is_one_quick_line(monkeypatch, tmp_path, capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("VIEWER_LOLA_BASE_URL", f"http://127.0.0.1:{port}/")
    monkeypatch.setenv("VIEWER_CACHE_DIR", str(tmp_path / "cache"))
    from viewer.cli import main

    t0 = time.monotonic()
    assert main(["data", "fetch", "--product", "ldem_4"]) == 2
    assert time.monotonic() - t0 < download.CONNECT_TIMEOUT_S + 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot reach 127.0.0.1") and "Traceback" not in err[0]


def test_cli_fetch_and_status(server, tmp_path, capsys):
    from viewer.cli import main

    assert main(["data", "fetch", "--product", "ldem_4", "--no-progress"]) == 0
    out = capsys.readouterr()
    assert out.out.strip().endswith("ldem_4.img")
    assert main(["data", "status"]) == 0
    assert "terrain: LOLA LDEM_4" in capsys.readouterr().out
    assert main(["data", "fetch", "--product", "ldem_999"]) == 2
