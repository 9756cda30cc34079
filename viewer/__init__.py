"""Chang'e-6 mission viewer: reconstructed SPICE trajectories, lunar far-side terrain, web app, kiosk and export.

Importing :mod:`viewer` is cheap: it loads no kernels, no VTK and no Panel.
"""

__version__ = "0.1.0"
