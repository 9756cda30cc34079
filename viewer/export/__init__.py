"""Outputs of the mission scene: stills and videos, rendered offscreen with full VTK lighting.

- :mod:`viewer.export.screenshot`: :func:`~viewer.export.screenshot.screenshot`, one PNG at one time, written
  atomically; CLI ``python -m viewer screenshot`` (:mod:`viewer.export.cli_screenshot`).
- :mod:`viewer.export.video`: frames stepped by ET piped to ffmpeg (:mod:`viewer.export.ffmpeg`, progress in
  :mod:`viewer.export.progress`); one export job in :mod:`viewer.export.render_job`; CLI
  ``python -m viewer export video`` (:mod:`viewer.export.cli`).
- Dome masters and 360° video: the projections in :mod:`viewer.export.panorama`, the renderer in
  :mod:`viewer.export.panorama_source`, the viewing-band overlays in :mod:`viewer.export.dome_overlays`, the
  Spherical Video V2 metadata in :mod:`viewer.export.spherical`.

Importing this package loads neither VTK nor the kernels.
"""
