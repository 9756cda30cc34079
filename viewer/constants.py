"""Facts every layer shares: frame names, the mission vehicles' NAIF IDs, and the body radii and GM.

The mission vehicles have no NAIF-published IDs. Ours are negative and chosen in the -3,060,0xx block: NAIF
gives spacecraft IDs -1 … -999 and derives instrument IDs as ``1000 × spacecraft − n``, so no published
spacecraft or instrument ID can reach this block (it would belong to spacecraft -3060, which does not exist).
The names kernel (``kernels/change6_names.tf``) makes ``spiceypy.bods2c`` resolve them.
"""

from __future__ import annotations

J2000 = "J2000"
MOON_ME = "MOON_ME"
MOON_FALLBACK_FRAME = "IAU_MOON"
EARTH_FIXED = "ITRF93"
EARTH_FALLBACK_FRAME = "IAU_EARTH"

# name -> NAIF ID. Keep in step with the names kernel written by the trajectory build.
VEHICLES: dict[str, int] = {
    "CHANGE6_ORBITER": -3060001,
    "CHANGE6_RETURNER": -3060002,
    "CHANGE6_LANDER": -3060003,
    "CHANGE6_ASCENDER": -3060004,
    "QUEQIAO_2": -3060010,
    "CHANGE6_SITE": -3060100,
}
CHANGE6_TOPO = "CHANGE6_TOPO"
CHANGE6_TOPO_ID = VEHICLES["CHANGE6_SITE"]  # the site's topocentric frame takes the site's ID

# Body sizes and gravity, as in kernels/viewer_bodies.tpc (IAU WGCCRE 2015 radii, DE440 GM); a test checks that
# these agree with what SPICE returns from the loaded kernels. The Moon's radius is also the reference sphere of the
# LOLA products and of the landing-site elevation (LDEM label OFFSET).
MOON_RADIUS_KM = 1737.4
EARTH_EQUATORIAL_RADIUS_KM = 6378.1366
EARTH_POLAR_RADIUS_KM = 6356.7519
SUN_RADIUS_KM = 695700.0
GM_KM3_S2 = {"SUN": 132712440041.279419, "EARTH": 398600.435507, "MOON": 4902.800118}
