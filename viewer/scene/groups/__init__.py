"""The scene's actor groups: each builds its VTK actors once and moves them from a frame record.

- :mod:`.sky`: the Sun light and the stars; :mod:`.bodies`: the Earth and the Moon (meshes, textures);
- :mod:`.site`: the landing-site patch (relief, cast shadows) and the Earth-direction arrow;
- :mod:`.spacecraft`: the vehicle models; :mod:`.trails`: past and future trails;
- :mod:`.link_lines`: the relay chain (lines, names, edge markers, legend); :mod:`.labels`: labels at objects and
  the screen texts;
- :mod:`.markers`: rings around bodies and vehicles too small to see (offscreen scenes).

:mod:`.common` holds the VTK helpers they share.
"""
