"""Start the Chang'e-6 mission viewer web app: ``python app.py`` (or ``panel serve app.py``).

See ``python app.py --help`` for --port, --address and --kiosk.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    try:
        from viewer.ui.serve import main
    except ImportError:  # the web app is not built yet: show what the installation has
        from viewer.cli import main

        sys.exit(main(["info"]))
    sys.exit(main())
else:  # `panel serve app.py`
    from viewer.ui.serve import servable_app

    servable_app()
