"""Time at the edges, errors, and the command line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from viewer import epochs
from viewer.errors import CoverageError, InputError


@pytest.mark.parametrize("utc", ["2024-05-03T09:27:29Z", "2024-06-01T22:23:16Z", "2024-06-25T06:07:00Z"])
def test_round_trip(utc):
    assert epochs.utc_from_et(epochs.et_from_utc(utc)) == utc


def test_et_is_tdb():
    # 2024: TAI-UTC = 37 s, TT = TAI + 32.184 s, TDB-TT within 2 ms
    et = epochs.et_from_utc("2024-01-01T00:00:00Z")
    days = (np.datetime64("2024-01-01T00:00:00") - np.datetime64("2000-01-01T12:00:00")) / np.timedelta64(1, "s")
    assert abs(et - (days + 69.184)) < 0.002


@pytest.mark.parametrize("bad", ["yesterday", "2024-13-01T00:00:00Z", "", "2024-06-01T25:00:00Z"])
def test_bad_time_is_one_line(bad):
    with pytest.raises(InputError) as info:
        epochs.et_from_utc(bad)
    assert "\n" not in str(info.value) and repr(bad) in str(info.value)


def test_mission_elapsed():
    t0 = epochs.et_from_utc("2024-05-03T09:27:29Z")
    assert epochs.mission_elapsed(epochs.et_from_utc("2024-06-01T22:23:16Z"), t0) == "T+29d 12:55:47"


def test_coverage_error_carries_interval(kernels_loaded):
    from viewer import ephemeris, kernels

    start, end = kernels.coverage("MOON")
    with pytest.raises(CoverageError) as info:
        ephemeris.positions("MOON", [end + 86400.0], observer="EARTH")
    err = info.value
    assert err.start_et == start and err.end_et == end and err.requested_et == end + 86400.0
    assert err.start_utc in str(err) and err.requested_utc in str(err) and "\n" not in str(err)


def test_info_prints_versions_and_coverage():
    res = subprocess.run([sys.executable, "-m", "viewer", "info"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "spiceypy" in out and "de440.bsp" in out and "MOON_PA_DE421" in out
    assert "Moon frame: MOON_ME" in out
    assert "terrain" in out


def test_unknown_command_is_one_line():
    res = subprocess.run([sys.executable, "-m", "viewer", "launch-rocket"], capture_output=True, text=True)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1


def test_epochs_work_in_a_fresh_process_without_furnish():
    code = "from viewer import epochs; print(epochs.utc_from_et(epochs.et_from_utc('2024-05-03T09:27:29Z')))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "2024-05-03T09:27:29Z"


def test_spice_free_labeller_matches_spice_over_the_mission():
    ref = epochs.et_from_utc("2024-05-03T09:27:29Z")
    label = epochs.utc_labeller(ref)
    for et in np.linspace(epochs.et_from_utc("2024-03-20T00:00:00Z"), epochs.et_from_utc("2024-07-01T00:00:00Z"), 997):
        assert label(et) == epochs.utc_label(et)
