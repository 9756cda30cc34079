"""The mission scene: one PyVista scene for the web app, the kiosk and the exporter (never imports Panel).

- :mod:`viewer.scene.frame`: the frame model, ``et`` -> plain records (poses, trails, links, labels, Sun); no VTK.
- :mod:`viewer.scene.groups`: the actor groups that draw a frame (bodies, site, spacecraft, trails, links, labels).
- :mod:`viewer.scene.camera`: the view presets' cameras; :mod:`viewer.scene.texts`: the screen texts.
- :mod:`viewer.scene.scene`: :class:`MissionScene`, the facade composing them (:func:`build_scene`).
- :mod:`viewer.scene.kinematics`: SPICE states -> render poses (floating origin, stacks, attitudes).
- :mod:`viewer.scene.sampling`: adaptive sample epochs and trails; :mod:`viewer.scene.tracks`: the browser tracks.
- :mod:`viewer.scene.vehicles`: the vehicles' names and colours; :mod:`viewer.scene.models`: their models (metres).
- :mod:`viewer.scene.views`: camera presets and render frames (``assets/views.yaml``).

Importing this package is cheap: VTK loads only with :mod:`viewer.scene.scene` and :mod:`viewer.scene.groups`.
"""


def __getattr__(name):
    if name == "MissionScene":
        from viewer.scene.scene import MissionScene

        return MissionScene
    raise AttributeError(name)
