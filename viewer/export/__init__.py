"""Outputs of the mission scene: stills and videos, rendered offscreen with full VTK lighting.

- :mod:`viewer.export.screenshot`: :func:`~viewer.export.screenshot.screenshot`, one PNG at one time, written
  atomically; CLI ``python -m viewer screenshot`` (:mod:`viewer.export.cli_screenshot`).
- :mod:`viewer.export.video`: frames stepped by ET piped to ffmpeg; CLI ``python -m viewer export video``.

Importing this package loads neither VTK nor the kernels.
"""
