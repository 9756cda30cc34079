"""``python app.py``: serve the mission viewer on 127.0.0.1 (offline: every file comes from this server).

Binding to another address needs ``--allow-remote`` and at least one ``--allow-origin HOST:PORT`` (the websocket
origin allowlist), so the app is never opened to a network by accident.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import socket
import sys

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import panel as pn  # noqa: E402
from panel.io import resources  # noqa: E402

from viewer.errors import ViewerError, shown  # noqa: E402
from viewer.ui import app as app_mod  # noqa: E402
from viewer.ui import fallback, follow_track, hosts, kiosk, shared  # noqa: E402

DEFAULT_PORT = 5006
MAX_MESSAGE_BYTES = 1024 * 1024  # a client message: the page only sends small patches and events
LOOPBACK = ("127.0.0.1", "localhost", "::1")
_configured = False


def configure() -> None:
    """Panel settings shared by ``python app.py`` and ``panel serve app.py``: local resources, notifications."""
    global _configured
    if _configured:
        return
    resources.set_resource_mode("server")  # bokeh, panel and vtk.js from this server, never a CDN
    pn.extension(
        "vtk",
        notifications=True,
        design="native",
        theme="dark",
        sizing_mode="stretch_width",
        disconnect_notification="Connection to the viewer was lost; reload the page.",
    )
    pn.config.throttled = False
    _configured = True


def _is_loopback(address: str) -> bool:
    if address in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python app.py", description="Serve the Chang'e-6 mission viewer.")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT}; 0 picks one)")
    p.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--allow-remote", action="store_true", help="required to bind an address other than the loopback")
    p.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="a browser origin allowed to connect (repeatable; required with --allow-remote)",
    )
    p.add_argument("--kiosk", action="store_true", help="kiosk mode: no file, export or settings controls")
    p.add_argument("--show", action="store_true", help="open the page in a browser")
    p.add_argument("--no-warm", action="store_true", help="do not prepare the scene before the first visitor")
    return p


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


PORT_IN_USE = 3  # exit status: scripts/kiosk.sh stops instead of starting the server again


class PortInUse(ViewerError):
    """The TCP port is taken by another process."""


def hold_port(address: str, port: int) -> socket.socket:
    """Bind ``address:port`` (as the server will, with SO_REUSEADDR) and keep it until the server takes over; a
    port in use or not allowed is :class:`PortInUse`, one line naming the port and what to do."""
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(
            f"port {port} on {address} cannot be used ({exc.strerror}; another viewer may be running there); "
            "stop that one or choose another port with --port N"
        ) from None
    return sock


def check_args(args) -> list[str]:
    """Websocket origins to allow, or raise SystemExit with one line when the binding is not allowed."""
    if not (0 <= args.port <= 65535):
        raise SystemExit(f"error: --port {args.port} is not a TCP port; choose 1024-65535 (or 0 for any free one)")
    if _is_loopback(args.address):
        origins = [f"{h}:{args.port}" for h in ("127.0.0.1", "localhost")]
        return origins + list(args.allow_origin)
    if not args.allow_remote:
        raise SystemExit(
            f"error: --address {args.address} would open the viewer to the network; "
            "add --allow-remote and --allow-origin HOST:PORT if you mean it"
        )
    if not args.allow_origin:
        raise SystemExit(
            "error: --allow-remote needs at least one --allow-origin HOST:PORT "
            "(the address browsers use to reach this server)"
        )
    return list(args.allow_origin)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    origins = check_args(args)
    if args.port == 0:
        args.port = free_port(args.address)
        origins = check_args(args)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        held = hold_port(args.address, args.port)  # a port in use is one line now, not after the warm-up
        from viewer.kernels import require_mission_kernels

        require_mission_kernels()
        configure()
        if args.kiosk:  # check assets/kiosk.yaml before serving; only this server runs operator actions
            kiosk.prepare(operator=True)
        if not args.no_warm:
            print("preparing the scene (once per server)…", flush=True)
            shared.warm(lambda msg: print(msg, flush=True))

        def factory():  # any error while building the page gives the plain bilingual page
            fallback.build_page(lambda: app_mod.create_app(kiosk=True if args.kiosk else None), args.kiosk or None)

        port = args.port
        held.close()
        server = pn.serve(
            {"/": factory},
            port=port,
            address=args.address,
            websocket_origin=origins,
            show=args.show,
            start=False,
            title="Chang'e-6 mission viewer",
            verbose=False,
            websocket_max_message_size=MAX_MESSAGE_BYTES,
            extra_patterns=follow_track.routes(),  # GET /vehicle_track: a followed vehicle's fine track
            # gzip for HTTP (the page and its 5.6 MB of scripts, vtk.js 2.6 MB of them, go out as
            # ~1.5 MB); the websocket stays uncompressed (its deflate broke the view-switch message)
            compress_response=True,
            # a page's session waits 15 s (Bokeh's default) for the page's websocket, which a slow link, a
            # proxy or a busy server can delay by seconds; with 5 s such a page came up empty
            check_unused_sessions_milliseconds=5000,
            unused_session_lifetime_milliseconds=15000,
        )
        actual = server.port
        host = args.address if ":" not in args.address else f"[{args.address}]"
        hosts.install(server._tornado, hosts.allowed_hosts(args.address, actual, args.allow_origin), url_hint(args))
        print(f"Chang'e-6 mission viewer: http://{host}:{actual}/  (Ctrl+C stops it)", flush=True)
        server.start()  # also starts the periodic jobs, e.g. dropping closed sessions
        server.io_loop.start()
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return PORT_IN_USE
    except ViewerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


def url_hint(args) -> str:
    """Where a browser should open this server (for the 403 line)."""
    if args.allow_origin:
        return f"http://{args.allow_origin[0]}/"
    return f"http://127.0.0.1:{args.port}/"


def servable_app():
    """For ``panel serve app.py``: the app in the session's document (assets are served by the local server); an
    error while building it gives the plain bilingual page. The server gets ``python app.py``'s Host allowlist,
    websocket cap and gzip at its first session; a page asked for under a foreign Host before that gets the 403
    line instead of the app."""
    configure()
    names, hint = harden_panel_serve()
    request = pn.state.curdoc.session_context.request if pn.state.curdoc.session_context else None
    host = request.headers.get("Host", "") if request is not None else ""
    if request is not None and hosts.normalise(host) not in names:
        hosts.log.warning("refused a page for Host %s (not on the allowlist)", shown(host))
        pn.pane.Str(hosts.refusal(hint)).servable()
        return
    fallback.build_page(app_mod.create_app)


_hardened: tuple[frozenset[str], str] | None = None


def harden_panel_serve() -> tuple[frozenset[str], str]:
    """Give the running ``panel serve`` Tornado application what :func:`main` gives its own: the Host allowlist
    (its ``--allow-websocket-origin`` names, ``127.0.0.1`` beside ``localhost``), the 1 MB websocket message cap
    and gzip. Returns (the Host names, where a browser should go)."""
    global _hardened
    if _hardened is not None:
        return _hardened
    import gc

    from bokeh.server.tornado import BokehTornado
    from tornado.web import GZipContentEncoding

    names, hint = frozenset(), "http://127.0.0.1:5006/"
    for app in [o for o in gc.get_objects() if isinstance(o, BokehTornado)]:  # the server of this process
        app.settings["websocket_max_message_size"] = MAX_MESSAGE_BYTES
        if GZipContentEncoding not in app.transforms:
            app.transforms.append(GZipContentEncoding)
        origins = sorted(app.websocket_origins)
        names = names | hosts.from_origins(origins)
        hint = f"http://{origins[0]}/" if origins else hint
        hosts.install(app, hosts.from_origins(origins), hint)
    allowed = ", ".join(sorted(names))
    print(f"panel serve: Host allowlist {allowed}, websocket messages up to {MAX_MESSAGE_BYTES} bytes, gzip on")
    _hardened = (names, hint)
    return _hardened
