"""`python -m viewer kernels build --out DIR` reproduces the committed kernels (same states, same manoeuvres)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import spiceypy

from viewer import paths
from viewer.trajectory.build import MANIFEST, SPK_FILES

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("kernels_loaded")]


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    out = tmp_path_factory.mktemp("kernels")
    proc = subprocess.run([sys.executable, "-m", "viewer", "kernels", "build", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out


def test_rebuild_reproduces_committed_states(rebuilt):
    committed = json.loads((paths.KERNELS_DIR / MANIFEST).read_text())
    fresh = json.loads((rebuilt / MANIFEST).read_text())
    assert [(m["name"], m["utc"], m["dv_m_s"]) for m in fresh["manoeuvres"]] == \
        [(m["name"], m["utc"], m["dv_m_s"]) for m in committed["manoeuvres"]]
    assert fresh["inputs"] == committed["inputs"]
    for vehicle, fname in SPK_FILES.items():
        if not (paths.KERNELS_DIR / fname).exists():
            continue
        arcs = [a for a in committed["arcs"] if vehicle in a["vehicles"]] or committed["arcs"]
        ets = np.concatenate([np.linspace(a["start_et"], a["end_et"], 7) for a in arcs])
        before = np.asarray(spiceypy.spkezr(vehicle, ets, "J2000", "NONE", "MOON")[0])
        spiceypy.furnsh(str(rebuilt / fname))  # loaded last, so it takes precedence
        try:
            after = np.asarray(spiceypy.spkezr(vehicle, ets, "J2000", "NONE", "MOON")[0])
        finally:
            spiceypy.unload(str(rebuilt / fname))
        assert np.abs(after[:, :3] - before[:, :3]).max() < 1e-6, f"{vehicle}: rebuilt positions differ"
        assert np.abs(after[:, 3:] - before[:, 3:]).max() < 1e-9, f"{vehicle}: rebuilt velocities differ"
