"""The Earth and the Moon: textured globes placed and turned from the frame, with texture filtering chosen for how
large each body looks. :class:`BodyMeshes` carries the meshes the scene places (:func:`body_meshes` loads them)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvista as pv

from viewer.scene.frame import BODY_RADIUS_KM, Frame
from viewer.scene.groups.common import Group, night_ambient
from viewer.scene.vehicles import BODY_ACTORS

# the globes are closed, outward-wound surfaces: culling their far halves saves llvmpipe (and SwiftShader) the
# triangle setup of half the mesh (lunar view at 1080p: 55 -> 35 ms a frame, measured 2026-12-02)
GLOBE = {"smooth_shading": True, "diffuse": 1.0, "culling": "back", "reset_camera": False}


@dataclass
class BodyMeshes:
    """The meshes the scene places: Moon globe (km, MOON_ME), site patch (m, ENU), Earth (km, ITRF93), textures.

    :func:`body_meshes` loads them from :mod:`viewer.terrain`; tests may pass their own.
    """

    moon: pv.PolyData
    moon_texture: np.ndarray
    terrain: pv.PolyData
    earth: pv.PolyData
    earth_texture: np.ndarray
    terrain_label: str = ""


def body_meshes(lod: str = "browser", exaggeration: float = 1.0) -> BodyMeshes:
    """Load the Moon globe, the site patch and the Earth from :mod:`viewer.terrain` (cached on disk there)."""
    from viewer.terrain import meshes, textures

    moon = meshes.globe_mesh(lod)
    terrain = meshes.site_patch(lod, exaggeration=exaggeration)
    label = str(terrain.field_data["source_label"][0]) if "source_label" in terrain.field_data else ""
    return BodyMeshes(
        moon=moon,
        moon_texture=textures.texture_image("moon"),
        terrain=terrain,
        earth=meshes.earth_mesh(lod),
        earth_texture=textures.texture_image("earth"),
        terrain_label=label,
    )


def texture(image: np.ndarray, mipmap: bool = True) -> pv.Texture:
    tex = pv.Texture(image)  # row 0 is the top (north): never flipped
    tex.interpolate = True
    tex.mipmap = mipmap
    return tex


def display_albedo(image: np.ndarray, cfg: dict) -> np.ndarray:
    """The WAC albedo stretched for display (scene.yaml ``albedo_display``): the mare median is ~64/255."""
    cfg = cfg.get("albedo_display") or {}
    if not cfg:
        return image
    top = max(float(np.percentile(image[::4, ::4, 0], float(cfg["percentile"]))), 1.0)
    x = np.clip(image.astype(np.float32) / top, 0.0, 1.0) ** float(cfg["gamma"])
    return (x * 255.0 + 0.5).astype(np.uint8)


class Bodies(Group):
    """The ``earth`` and ``moon`` actors. ``textures`` maps each textured actor to its (trilinear, bilinear)
    textures: llvmpipe's trilinear (mipmapped) sampling doubles the cost of a textured body filling a 1080p frame
    (lunar view: 224 vs 122 ms, measured 2026-11-25); it is only needed where the texture is minified, so fast
    frames use the bilinear one when the body looks large."""

    def __init__(self, plotter: pv.Plotter, meshes: BodyMeshes, cfg: dict):
        super().__init__()
        self.meshes = meshes
        earth = (texture(meshes.earth_texture, True), texture(meshes.earth_texture, False))
        albedo = display_albedo(meshes.moon_texture, cfg)
        moon = (texture(albedo, True), texture(albedo, False))
        self.textures = {"earth": earth, "moon": moon}
        night = night_ambient(cfg)  # the night sides' faint light
        look = {"earth": {"ambient": night, "specular": 0.05}, "moon": {"ambient": night, "specular": 0.0}}
        for name, mesh in (("earth", meshes.earth), ("moon", meshes.moon)):
            tex = self.textures[name][0]
            self.add(name, plotter.add_mesh(mesh.copy(), texture=tex, name=name, **look[name], **GLOBE))

    def set_meshes(self, meshes: BodyMeshes) -> None:
        """Swap the globes' meshes (same actors, same textures)."""
        self.actors["moon"].GetMapper().SetInputData(meshes.moon)
        self.actors["earth"].GetMapper().SetInputData(meshes.earth)
        self.meshes = meshes

    def update(self, f: Frame) -> None:
        for body, name in BODY_ACTORS.items():
            rec = f.bodies[body]
            self.actors[name].SetVisibility(rec.shown)
            if rec.shown:
                self.place(name, rec.rotation, rec.position, f.view.units_per_km)

    def set_anisotropy(self, on: bool, textured: dict) -> None:
        for mip, flat in textured.values():
            for tex in (mip, flat):
                tex.SetMaximumAnisotropicFiltering(4.0 if on else 1.0)

    def choose_textures(self, camera, px_per_rad: float, units_per_km: float, still: bool, others: dict) -> None:
        """Bilinear textures where a body is magnified or nearly so (the terrain patch, textured with the Moon's
        albedo: its WAC texels are ~3.5 km; the Moon or Earth wider than ~tex_width/(1.5π) pixels), trilinear
        elsewhere and in stills. ``others``: {name: actor} of the terrain, which takes the Moon's textures."""
        pos = np.asarray(camera.position, float)
        textured = {n: (self.actors[n], self.textures[n]) for n in ("earth", "moon")}
        textured.update({n: (a, self.textures["moon"]) for n, a in others.items()})
        for name, (actor, (mip, flat)) in textured.items():
            if not actor.GetVisibility():
                continue
            if still:
                tex = mip
            elif name not in self.textures:  # the terrain
                tex = flat
            else:
                m = self.matrices[name]
                centre = np.array([m.GetElement(i, 3) for i in range(3)])
                body = "EARTH" if name == "earth" else "MOON"
                radius = BODY_RADIUS_KM[body] * units_per_km
                dist = max(float(np.linalg.norm(centre - pos)), radius * 1.0001)
                diameter_px = 2.0 * np.arcsin(radius / dist) * px_per_rad
                width = (self.meshes.earth_texture if name == "earth" else self.meshes.moon_texture).shape[1]
                tex = flat if diameter_px * 1.5 * np.pi > width else mip
            if actor.GetTexture() is not tex:
                actor.SetTexture(tex)
