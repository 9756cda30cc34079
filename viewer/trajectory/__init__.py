"""Reconstructed trajectories of Chang'e-6 and Queqiao-2.

No public ephemeris exists for either spacecraft. :mod:`viewer.trajectory.build` integrates a force model
(:mod:`.forces`) through the assumed and published events (``assets/trajectory/*.yaml``), solves for the burns
(:mod:`.engine`), and writes SPK type-13 kernels plus a names/frames kernel into ``kernels/``
(``python -m viewer kernels build``).
"""
