"""The ffmpeg that imageio-ffmpeg ships: the encode command, and what a finished file holds (``probe``).

``ffmpeg_command`` reads raw rgb24 frames on stdin and writes H.264 (libx264, yuv420p, constant quality,
``+faststart``) or a lossless PNG sequence. ``probe`` reads back codec, size, frame rate and frame count.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from viewer.errors import InputError, ViewerError, shown

DEFAULT_CRF = 20
# superfast, not veryfast: on 2 cores x264 shares the CPU with llvmpipe, and the lunar view at 720p went from 29.8
# to 32.0 frames/s (90 frames, 2026-12-02) for ~1.8x the bytes at the same CRF (20 MB for 30 s of 720p);
# `--preset veryfast` makes the smaller file
DEFAULT_PRESET = "superfast"
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


class ExportError(ViewerError):
    """The encoder failed or the output cannot be written."""


def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError:  # pragma: no cover - a declared dependency
        raise ExportError("imageio-ffmpeg is not installed; install it with `pip install imageio-ffmpeg`") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_command(
    size: tuple[int, int],
    fps: float,
    target: str,
    *,
    kind: str = "mp4",
    crf: int = DEFAULT_CRF,
    preset: str = DEFAULT_PRESET,
    threads: int | None = None,
) -> list[str]:
    """The ffmpeg command that reads raw rgb24 frames on stdin and writes ``target``.

    ``kind="mp4"``: H.264 (libx264), yuv420p, constant quality ``crf``, ``+faststart``.
    ``kind="png"``: a lossless RGB PNG sequence; ``target`` is a printf pattern such as ``dir/frame_%06d.png``.
    """
    w, h = size
    cmd = [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{w}x{h}",
        "-framerate",
        f"{fps:g}",
        "-i",
        "-",
        "-an",
    ]
    if kind == "mp4":
        if preset not in X264_PRESETS:
            raise InputError(f"--preset {shown(preset)} is not an x264 preset; choose one of {', '.join(X264_PRESETS)}")
        if not 0 <= int(crf) <= 51:
            raise InputError(f"--crf {crf} is out of range; choose 0 (lossless) … 51 (worst), 18–23 is typical")
        cmd += [
            "-c:v",
            "libx264",
            "-preset",
            preset,
            "-crf",
            str(int(crf)),
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
        ]
        if threads:
            cmd += ["-threads", str(int(threads))]
        cmd += ["-f", "mp4", target]
    elif kind == "png":
        cmd += ["-c:v", "png", "-pix_fmt", "rgb24", "-start_number", "0", "-f", "image2", target]
    else:  # pragma: no cover - programming error
        raise ValueError(kind)
    return cmd


def probe(path: Path) -> dict:
    """Codec, pixel format, size, fps, frame count and duration of a video, from ffmpeg itself.

    Parses ``ffmpeg -i`` and counts frames by decoding (``imageio_ffmpeg.count_frames_and_secs``).
    """
    import imageio_ffmpeg

    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    m = re.search(r"Video: (\w+)(?: \([^)]*\))*, (\w+)(?:\([^)]*\))?, (\d+)x(\d+)", out)
    if not m:
        raise ExportError(f"{path}: ffmpeg finds no video stream ({out.strip().splitlines()[-1:]})")
    fps = re.search(r"([\d.]+) fps", out)
    frames, secs = imageio_ffmpeg.count_frames_and_secs(str(path))
    return {
        "codec": m.group(1),
        "pix_fmt": m.group(2),
        "size": (int(m.group(3)), int(m.group(4))),
        "fps": float(fps.group(1)) if fps else None,
        "frames": int(frames),
        "seconds": float(secs),
        "faststart": _moov_before_mdat(path),
    }


def _moov_before_mdat(path: Path) -> bool:
    """True if the MP4's ``moov`` atom precedes ``mdat`` (what ``+faststart`` does)."""
    with open(path, "rb") as fh:
        data = fh.read(1 << 16)
    moov, mdat = data.find(b"moov"), data.find(b"mdat")
    return moov != -1 and (mdat == -1 or moov < mdat)
