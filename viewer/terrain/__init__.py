"""Lunar terrain and textures (public API documented once the package is complete)."""
