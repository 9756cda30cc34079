"""``python -m viewer <command>``: the command-line front door.

Each command lives in its own module, imported only when that command runs, so ``python -m viewer info`` does not
start VTK or Panel. A module defines ``add_arguments(parser)`` and ``run(args) -> int``.

Any :class:`~viewer.errors.ViewerError` is printed as one line on stderr (exit 2); no traceback reaches a user.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from viewer import __version__
from viewer.errors import ViewerError, shown

COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("viewer.info", "print versions, kernels with their coverage, terrain and textures in use"),
    "kernels": (
        "viewer.kernels_cli",
        "kernel set: `path` (meta-kernel), `build` (mission SPKs), `report` (manoeuvres)",
    ),
    "data": (
        "viewer.terrain.cli",
        "terrain data: `fetch --site` (the landing-site window), `fetch --product ldem_16`, `prepare` (offline kiosk), "
        "`status`",
    ),
    "links": ("viewer.links.cli", "relay line of sight: `report [--json]` prints link windows"),
    "screenshot": ("viewer.export.cli_screenshot", "render one offscreen PNG of the mission scene"),
    "export": ("viewer.export.cli", "export `video` (MP4 or PNG sequence) from the mission scene"),
}


def _top_parser() -> argparse.ArgumentParser:
    lines = "\n".join(f"  {name:<11} {help_}" for name, (_, help_) in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="python -m viewer",
        description="Chang'e-6 mission viewer",
        epilog=f"commands:\n{lines}\n\nRun `python -m viewer COMMAND --help` for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("command", nargs="?", choices=sorted(COMMANDS), metavar="COMMAND")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    top = _top_parser()
    if not argv or argv[0] not in COMMANDS:
        if argv and not argv[0].startswith("-"):
            print(f"error: unknown command {shown(argv[0])}; choose one of: {', '.join(COMMANDS)}", file=sys.stderr)
            return 2
        top.parse_args(argv)
        top.print_help()
        return 0 if not argv else 2
    name, rest = argv[0], argv[1:]
    module_name, help_ = COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
        parser = argparse.ArgumentParser(prog=f"python -m viewer {name}", description=help_)
        module.add_arguments(parser)
        args = parser.parse_args(rest)
        return int(module.run(args) or 0)
    except ViewerError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader closed the pipe (`... | head`): stop quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's exit flush must not fail again
        return 141
