"""The story camera: shots written as data (``assets/director.yaml``), framed by rules, sampled over the mission.

- :mod:`viewer.director.shots`: the shots and when each holds;
- :mod:`viewer.director.framing`: where the camera stands for a framing (pure numpy);
- :mod:`viewer.director.track`: the camera sampled from SPICE states, for the browser, stills and videos.
"""
