"""Start the Chang'e-6 mission viewer web app: ``python app.py`` (or ``panel serve app.py``).

See ``python app.py --help`` for --port, --address and --kiosk.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    try:
        from viewer.ui.serve import main
    except ModuleNotFoundError as exc:  # a package the web app needs is not installed: say so and what is there
        if (exc.name or "").split(".")[0] not in {"panel", "bokeh", "tornado", "pyvista", "vtk", "vtkmodules"}:
            raise
        from viewer.cli import main

        main(["info"])
        sys.exit(f"error: the web app needs {exc.name!r}, which is not installed; run the README's run command")
    sys.exit(main())
else:  # `panel serve app.py`
    from viewer.ui.serve import servable_app

    servable_app()
