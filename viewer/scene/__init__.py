"""The mission scene: one PyVista scene for the web app, the kiosk and the exporter (never imports Panel).

- :mod:`viewer.scene.scene`: :class:`MissionScene` builds named actors once; ``update(et)`` moves them.
- :mod:`viewer.scene.kinematics`: SPICE states -> render poses (floating origin, stacks, attitudes).
- :mod:`viewer.scene.models`: procedural spacecraft models (metres).
- :mod:`viewer.scene.views`: camera presets and render frames (``assets/views.yaml``).
- :mod:`viewer.scene.tracks`: per-actor sample tracks for the browser.

Importing this package is cheap: VTK loads only with :mod:`viewer.scene.scene`.
"""


def __getattr__(name):
    if name == "MissionScene":
        from viewer.scene.scene import MissionScene

        return MissionScene
    raise AttributeError(name)
