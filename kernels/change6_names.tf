KPL/FK

Chang'e-6 viewer: names of the reconstructed vehicles, the landing site and its topocentric frame
===================================================================================================

   Written by `python -m viewer kernels build` (change6-viewer 0.1.0, trajectory sources sha256 7a6ac0564141c724).
   No NAIF IDs were published for these spacecraft. The IDs are the project's own (viewer/constants.py):
   negative, in the -3,060,0xx block, which no NAIF spacecraft or instrument ID can reach.

   Bodies
   ------
      CHANGE6_ORBITER   -3060001   orbiter (launch .. after the Earth-return avoidance burn)
      CHANGE6_RETURNER  -3060002   re-entry capsule (launch .. 2024-06-25 12:00 UTC, at rest after touchdown)
      CHANGE6_LANDER    -3060003   lander (launch .. stays at the site)
      CHANGE6_ASCENDER  -3060004   ascender (launch .. lunar impact)
      QUEQIAO_2         -3060010   relay satellite (launch 2024-03-20 ..)
      CHANGE6_SITE      -3060100   landing site, a fixed point on the Moon (SPK change6_site.bsp)

   Landing site: -41.6385 deg latitude, 206.0148 deg east longitude in MOON_ME
   (sourced: LROC measured landing site (41.6385 S)), radius 1732.144 km.

   Frame CHANGE6_TOPO (ID -3060100): topocentric frame at CHANGE6_SITE, fixed in MOON_ME.
      +X  local east  (direction of increasing longitude, tangent to the reference sphere)
      +Y  local north (towards the Moon's north pole, tangent to the sphere)
      +Z  local up    (radial, away from the Moon's centre)
   The matrix below rotates vectors from CHANGE6_TOPO to MOON_ME; its columns are the east, north and up
   unit vectors expressed in MOON_ME (listed column by column, as SPICE reads TKFRAME matrices).

\begindata

   NAIF_BODY_NAME += ( 'CHANGE6_ORBITER' 'CHANGE6_RETURNER' 'CHANGE6_LANDER' 'CHANGE6_ASCENDER' 'QUEQIAO_2' 'CHANGE6_SITE' )
   NAIF_BODY_CODE += ( -3060001 -3060002 -3060003 -3060004 -3060010 -3060100 )

   FRAME_CHANGE6_TOPO            = -3060100
   FRAME_-3060100_NAME     = 'CHANGE6_TOPO'
   FRAME_-3060100_CLASS    = 4
   FRAME_-3060100_CLASS_ID = -3060100
   FRAME_-3060100_CENTER   = -3060100

   TKFRAME_-3060100_RELATIVE = 'MOON_ME'
   TKFRAME_-3060100_SPEC     = 'MATRIX'
   TKFRAME_-3060100_MATRIX   = (
          0.43860329850968649 -0.89868078122124262  0.00000000000000000
         -0.59710916565783734 -0.29142055232559783  0.74735179532108242
         -0.67163069526624852 -0.32779096257496282 -0.66442854697127141 )

\begintext
