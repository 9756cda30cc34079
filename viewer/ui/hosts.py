"""The Host allowlist of ``python app.py``: every HTTP request and the websocket handshake must name this server.

A browser sends the name it used in ``Host``. A page on a foreign name that resolves to this machine (DNS
rebinding: ``evil.example`` pointed at 127.0.0.1) carries ``Host: evil.example:PORT`` and, for the websocket, a
matching ``Origin``, which Tornado's own origin check lets through. :func:`install` answers such requests with 403
before any handler runs. Allowed: ``127.0.0.1:PORT``, ``localhost:PORT`` (``[::1]:PORT`` on an IPv6 loopback) and
every ``--allow-origin`` entry (an entry without a port means port 80).
"""

from __future__ import annotations

import logging

from tornado.web import RequestHandler

from viewer.errors import shown

log = logging.getLogger("viewer.ui")


def normalise(host: str) -> str:
    """``host`` in lower case with its port (80 where it has none)."""
    h = host.strip().lower()
    if h.startswith("["):
        return h if "]:" in h else f"{h}:80"
    return h if ":" in h else f"{h}:80"


def allowed_hosts(address: str, port: int, allow_origin: list[str]) -> frozenset[str]:
    """The Host values this server answers to."""
    names = [f"127.0.0.1:{port}", f"localhost:{port}"]
    if ":" in address:
        names.append(f"[{address}]:{port}")
    return frozenset(normalise(h) for h in [*names, *allow_origin])


def from_origins(origins) -> frozenset[str]:
    """The Host values for ``panel serve``'s websocket origins (``localhost:PORT`` also allows ``127.0.0.1:PORT``)."""
    names = {normalise(o) for o in origins}
    names |= {"127.0.0.1:" + n.split(":", 1)[1] for n in names if n.startswith("localhost:")}
    return frozenset(names)


def refusal(hint: str) -> str:
    """The one line a foreign Host gets."""
    return f"403: this server does not answer to that Host name; open {hint}\n"


class ForbiddenHost(RequestHandler):
    """403 with one line for a request whose Host is not on the list (any method, the websocket too)."""

    def initialize(self, hint: str) -> None:
        self.hint = hint

    def prepare(self) -> None:
        self.set_status(403)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(refusal(self.hint))


def install(app, hosts: frozenset[str], hint: str) -> None:
    """Put the Host check in front of every route of the Tornado application ``app``."""
    find = app.find_handler
    refused: set[str] = set()

    def find_handler(request, **kwargs):
        host = request.headers.get("Host", "")
        if normalise(host) in hosts:
            return find(request, **kwargs)
        if len(refused) < 100 and host not in refused:  # one log line per foreign name
            refused.add(host)
            log.warning("refused a request for Host %s (not on the allowlist)", shown(host))
        return app.get_handler_delegate(request, ForbiddenHost, {"hint": hint})

    app.find_handler = find_handler
