"""Lunar terrain and textures: DEMs, the illustrative default relief, textures and meshes.

Choosing the DEM (``viewer.terrain.select``)
    ``select_dem()`` returns the DEM in use, in this order: the file named by env ``VIEWER_DEM``
    (``/path/to/LDEM_x.IMG``, its ``.LBL`` beside it); else the finest LOLA product cached by
    ``python -m viewer data fetch`` in ``viewer.paths.cache_dir()/"lola"``; else the offline
    :class:`~viewer.terrain.synthetic.IllustrativeRelief`. Every DEM has ``.source_label`` ("LOLA LDEM_16" or
    "illustrative relief") for the UI and ``info``, and ``.identity()`` (cache key).
    ``describe()`` returns the ``info`` lines; ``credits()`` the credit strings.

DEM interface (``LolaDem`` and ``IllustrativeRelief``)
    Heights in metres above the Moon's reference sphere (``viewer.constants.MOON_RADIUS_KM``, the LOLA label's
    ``OFFSET``); planetocentric latitude and east longitude in degrees
    (any longitude, wrapped), body-fixed frame MOON_ME (LOLA's "mean Earth/polar axis of DE421").

    - ``height_m(lat, lon)``: bilinear (LOLA) or exact (illustrative), vectorised, float32.
    - ``window(lat_min, lat_max, lon_min, lon_max) -> (lats desc, lons asc, heights[lat, lon])``.
    - ``resampled(n_lat, n_lon) -> (lats, lons, heights)``: global pixel-centred grid.
    - ``minimum_m``, ``maximum_m``; LOLA also ``product`` ("LDEM_4"), ``label`` (nested dict), ``path``.
    ``LolaDem.open(path)`` reads any LOLA GDR simple-cylindrical PDS3 product through a memory map.

Meshes (``viewer.terrain.meshes``; cached on disk through ``viewer.cache``)
    - ``globe_mesh(lod="browser"|"export", exaggeration=1.0)``: Moon, km, MOON_ME (+x at lon 0°, +z north),
      radius ``MOON_RADIUS_KM`` + height × exaggeration; 53,360 triangles (browser) or 516,960 (export).
    - ``site_patch(lod, exaggeration, size_km=300)``: metres, ENU about the site's surface point (x east, y north,
      z up; the site is the origin, so a lander stands at z ≈ 0); 28,800 or 320,000 triangles.
    - ``earth_mesh(lod)``: Earth ellipsoid (``viewer.constants`` radii), km, ITRF93; 9,024 or 128,880 triangles.
    All are ``pyvista.PolyData`` with texture coordinates (u = lon/360, v = (lat+90)/180), point data
    ``height_m`` and ``Normals``, and field data (``frame``, ``units``, ``source_label``, ``texture``).
    ``globe_data``/``site_data``/``earth_data`` return the raw arrays (:class:`~viewer.terrain.meshes.MeshData`,
    with ``payload_bytes()``).

Textures (``viewer.terrain.textures``)
    ``texture_image("moon"|"earth")`` → (H, W, 3) uint8, row 0 north, column 0 = lon 0° (pass it unflipped to
    ``pyvista.Texture``); ``texture_path``, ``jpeg_bytes``, ``uv_of``, ``sample``. A missing or corrupt texture
    raises a one-line :class:`~viewer.errors.DataError` naming the file.

Downloads (``viewer.terrain.download``): ``fetch(product)``; CLI ``python -m viewer data fetch [--product ldem_16]``.
"""

from __future__ import annotations

from viewer.terrain.select import cached_products, credits, describe, global_dem, provenance, select_dem

__all__ = ["select_dem", "global_dem", "describe", "provenance", "credits", "cached_products"]
