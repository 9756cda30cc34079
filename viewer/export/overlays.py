"""Burnt-in overlays for exported frames, drawn with Pillow: UTC clock, phase title, caption with its grade
badge, and the closing credits (data sources and the "reconstructed trajectory" note). The words and the grade
colours come from assets/words.yaml (the `export` and `grades` sections, via viewer.words).

Layout keeps all text inside the title-safe area (5 % margins, EBU R 95) and scales with the frame height, so a
640×360 test clip and a 4K clip look alike.

Speed: text is rasterised once per distinct string into a small RGBA patch (cached) and blended into the frame
with numpy over the patch's box only; per frame only the clock is new. At 1080p that is about a millisecond.

Fonts: English uses DejaVu Sans, which ships inside matplotlib (found by path; matplotlib is not imported).
Chinese needs a CJK font: ``VIEWER_CJK_FONT`` (a path, optionally ``path:index`` for a .ttc), else
``fc-match 'Noto Sans CJK SC'``, else Debian's known paths; with none, ``--captions zh`` fails with one line
saying to install fonts-noto-cjk.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from viewer import words
from viewer.errors import InputError, shown

SAFE = 0.05  # title-safe margin, fraction of width and height
LANGS = ("en", "zh")

CREDIT_WORDS = ("data", "captions", "made", "tools", "sources", "sep", "grades")  # export: in assets/words.yaml


def credit_words(lang: str) -> dict[str, str]:
    """The credits' own words in ``lang`` (the ``export`` section of assets/words.yaml)."""
    return {key: words.word("export", key, lang) for key in CREDIT_WORDS}


def grade_badge(grade: str, lang: str) -> tuple[tuple[int, int, int], str]:
    """A grade badge's colour (RGB) and label: the grade's one colour and word of assets/words.yaml (English in
    capitals)."""
    colour = words.grade_colour(grade).lstrip("#")
    rgb = (int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16))
    label = words.grade_word(grade, lang)
    return rgb, label.upper() if lang == "en" else label


# Debian/Ubuntu/Fedora/Homebrew paths of Noto Sans CJK (regular, bold), with the SC face index in the .ttc.
_CJK_KNOWN = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc"),
    (
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
    ),
]
_CJK_SC_INDEX = 2  # JP, KR, SC, TC, HK in Noto's super-OTC


# ----------------------------------------------------------------------------------------------------------------
# Fonts


@dataclass(frozen=True)
class FontFile:
    path: str
    index: int = 0


def _split_index(spec: str) -> FontFile:
    path, _, idx = spec.rpartition(":")
    if path and idx.isdigit():
        return FontFile(path, int(idx))
    return FontFile(spec, 0)


def _dejavu_dir() -> Path | None:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf"
    return path if (path / "DejaVuSans.ttf").exists() else None


def _fc_match(pattern: str) -> FontFile | None:
    exe = shutil.which("fc-match")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "-f", "%{file}:%{index}", pattern], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    font = _split_index(out) if out else None
    # fc-match always answers; accept only a real CJK face
    if font and Path(font.path).exists() and "cjk" in Path(font.path).name.lower():
        return font
    return None


@cache
def font_files(lang: str) -> dict[str, FontFile]:
    """The regular, bold and mono font files for a caption language."""
    dejavu = _dejavu_dir()
    if lang == "zh":
        env = os.environ.get("VIEWER_CJK_FONT")
        if env:
            font = _split_index(env)
            if not Path(font.path).exists():
                raise InputError(
                    f"VIEWER_CJK_FONT={env} does not exist; point it at a CJK font file "
                    "(e.g. NotoSansCJK-Regular.ttc:2) or unset it"
                )
            regular = bold = font
        else:
            regular = _fc_match("Noto Sans CJK SC")
            bold = _fc_match("Noto Sans CJK SC:bold") or regular
            if regular is None:
                for reg, bld in _CJK_KNOWN:
                    if Path(reg).exists():
                        regular = FontFile(reg, _CJK_SC_INDEX)
                        bold = FontFile(bld, _CJK_SC_INDEX) if Path(bld).exists() else regular
                        break
        if regular is None:
            raise InputError(
                "--captions zh needs a Chinese font and none was found; install fonts-noto-cjk "
                "(apt-get install fonts-noto-cjk) or set VIEWER_CJK_FONT to a CJK font file"
            )
        mono = FontFile(str(dejavu / "DejaVuSansMono.ttf")) if dejavu else regular
        return {"regular": regular, "bold": bold, "mono": mono}
    if dejavu is None:
        return {}  # Pillow's built-in scalable font
    return {
        "regular": FontFile(str(dejavu / "DejaVuSans.ttf")),
        "bold": FontFile(str(dejavu / "DejaVuSans-Bold.ttf")),
        "mono": FontFile(str(dejavu / "DejaVuSansMono.ttf")),
    }


@lru_cache(maxsize=256)
def load_font(lang: str, style: str, px: int) -> ImageFont.FreeTypeFont:
    files = font_files(lang)
    if style not in files:
        return ImageFont.load_default(size=px)
    f = files[style]
    return ImageFont.truetype(f.path, size=max(6, int(px)), index=f.index)


# ----------------------------------------------------------------------------------------------------------------
# Text layout


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


_NO_LINE_START = set("，。、；：？！）》」』”’,.;:?!)")


def wrap(text: str, font: ImageFont.FreeTypeFont, max_px: int) -> list[str]:
    """Break ``text`` into lines no wider than ``max_px``: at spaces for Latin, between characters for CJK
    (never putting closing punctuation at a line start)."""
    text = " ".join(str(text).split())
    if not text:
        return []
    tokens: list[str] = []
    buf = ""
    for ch in text:  # words for Latin runs, single characters for CJK
        if _is_wide(ch) or ch in _NO_LINE_START and buf == "":
            if buf:
                tokens.append(buf)
                buf = ""
            tokens.append(ch)
        elif ch == " ":
            if buf:
                tokens.append(buf)
            tokens.append(" ")
            buf = ""
        else:
            buf += ch
    if buf:
        tokens.append(buf)
    lines: list[str] = []
    line = ""
    for tok in tokens:
        trial = line + tok
        if line and font.getlength(trial.rstrip()) > max_px and tok != " " and tok not in _NO_LINE_START:
            lines.append(line.rstrip())
            line = tok.lstrip()
        else:
            line = trial
    if line.strip():
        lines.append(line.rstrip())
    return lines


@dataclass(frozen=True)
class Patch:
    """A pre-rendered RGBA overlay element, blended at (x, y)."""

    rgb: np.ndarray  # (h, w, 3) uint16
    alpha: np.ndarray  # (h, w, 1) uint16, 0..256
    width: int
    height: int


def to_patch(img: Image.Image) -> Patch:
    arr = np.asarray(img, dtype=np.uint16)
    alpha = arr[..., 3:4]
    alpha = alpha + (alpha > 127)  # 0..256 so that >> 8 is exact at full opacity
    return Patch(arr[..., :3] * alpha, alpha, img.width, img.height)


def blend(frame: np.ndarray, patch: Patch, x: int, y: int) -> None:
    """Alpha-blend ``patch`` into ``frame`` in place at (x, y), clipped to the frame."""
    fh, fw = frame.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(fw, x + patch.width), min(fh, y + patch.height)
    if x1 <= x0 or y1 <= y0:
        return
    sub = frame[y0:y1, x0:x1]
    a = patch.alpha[y0 - y : y1 - y, x0 - x : x1 - x]
    premul = patch.rgb[y0 - y : y1 - y, x0 - x : x1 - x]
    sub[...] = ((premul + sub.astype(np.uint16) * (256 - a)) >> 8).astype(np.uint8)


def text_box(
    lines: Sequence[tuple[str, ImageFont.FreeTypeFont, tuple]],
    *,
    pad: int,
    gap: int,
    bg=(0, 0, 0, 150),
    width: int | None = None,
    align: str = "left",
    badge: tuple[str, tuple, ImageFont.FreeTypeFont] | None = None,
    radius: int = 0,
) -> Image.Image:
    """Render lines (text, font, rgb) on a translucent rounded box; an optional badge (label, rgb, font) heads it."""
    sizes = []
    for text, font, _ in lines:
        l, t, r, b = font.getbbox(text or " ")
        asc, desc = font.getmetrics()
        sizes.append((int(np.ceil(font.getlength(text))), asc + desc))
    badge_w = badge_h = 0
    if badge:
        label, _, bfont = badge
        asc, desc = bfont.getmetrics()
        badge_w, badge_h = int(bfont.getlength(label)) + 2 * (pad // 2 + 2), asc + desc + pad // 2
    inner_w = max([w for w, _ in sizes] + [badge_w])
    w = width if width is not None else inner_w + 2 * pad
    h = 2 * pad + sum(hh for _, hh in sizes) + gap * max(0, len(sizes) - 1) + (badge_h + gap if badge else 0)
    img = Image.new("RGBA", (int(w), int(h)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle([0, 0, w - 1, h - 1], radius=radius, fill=bg)
    y = pad
    if badge:
        label, rgb, bfont = badge
        draw.rounded_rectangle([pad, y, pad + badge_w, y + badge_h], radius=badge_h // 3, fill=tuple(rgb) + (255,))
        draw.text((pad + pad // 2 + 2, y + pad // 4), label, font=bfont, fill=(255, 255, 255, 255))
        y += badge_h + gap
    for (text, font, rgb), (tw, th) in zip(lines, sizes):
        x = pad if align == "left" else (w - tw) // 2 if align == "center" else w - pad - tw
        draw.text((x, y), text, font=font, fill=tuple(rgb) + (255,))
        y += th + gap
    return img


# ----------------------------------------------------------------------------------------------------------------
# What the overlays say


@dataclass(frozen=True)
class PhaseText:
    """The on-screen text of one mission phase in one language."""

    id: str
    start_et: float
    end_et: float
    title: str
    caption: str
    grade: str  # sourced / derived / assumed
    sources: tuple[str, ...] = ()  # readable source names (outlets)


@dataclass
class OverlayContent:
    """Everything the overlays need, already in one language (``lang`` None: no captions)."""

    lang: str | None
    phases: list[PhaseText]
    mission_name: str = ""
    note: str = ""  # the "reconstructed trajectory" sentence
    data_credits: list[str] = field(default_factory=list)
    epoch_et: float | None = None  # launch, for the T+ clock

    def phase_at(self, et: float) -> PhaseText | None:
        inside = [p for p in self.phases if p.start_et <= et < p.end_et]
        if not inside:
            return None
        return min(inside, key=lambda p: p.end_et - p.start_et)  # the most specific, as Mission.phase_at


class Overlays:
    """Burns the clock, phase title, caption (with grade badge) into frames; makes closing-credit frames."""

    def __init__(self, size: tuple[int, int], content: OverlayContent, *, clock: bool = True):
        self.width, self.height = size
        self.content = content
        self.lang = content.lang
        self.clock = clock
        font_lang = self.lang or "en"
        h = self.height
        self.margin_x = int(round(SAFE * self.width))
        self.margin_y = int(round(SAFE * h))
        self.pad = max(3, int(0.012 * h))
        self.gap = max(1, int(0.006 * h))
        self.radius = max(2, int(0.01 * h))
        self.f_title = load_font(font_lang, "bold", 0.042 * h)
        self.f_caption = load_font(font_lang, "regular", 0.032 * h)
        self.f_badge = load_font(font_lang, "bold", 0.022 * h)
        self.f_clock = load_font("en", "mono", 0.032 * h)
        self.f_small = load_font(font_lang, "regular", 0.022 * h)
        self._cache: dict = {}
        # runs on the writer thread: no SPICE there (CSPICE is not thread-safe); convert once, here
        from viewer.epochs import et_from_utc, utc_labeller

        self._utc_label = utc_labeller(
            self.content.epoch_et if self.content.epoch_et is not None else et_from_utc("2024-05-03T09:27:29Z")
        )

    # -- per frame
    def __call__(self, frame: np.ndarray, et: float, index: int = 0) -> np.ndarray:
        """Burn in, top left: the phase title and under it the clock; bottom centre: the caption with its grade
        badge. (The top right and the bottom corners stay free for the scene's own notes.)"""
        y = self.margin_y
        phase = self.content.phase_at(et) if self.lang else None
        if phase is not None:
            title = self._cached(("title", phase.id), lambda: self._title_patch(phase))
            blend(frame, title, self.margin_x, y)
            y += title.height + self.gap
        if self.clock:
            blend(frame, self._clock_patch(et), self.margin_x, y)
        if phase is not None and phase.caption:
            cap = self._cached(("caption", phase.id), lambda: self._caption_patch(phase))
            blend(frame, cap, (self.width - cap.width) // 2, self.height - self.margin_y - cap.height)
        return frame

    def _cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def _clock_patch(self, et: float) -> Patch:
        from viewer.epochs import mission_elapsed

        lines = [(self._utc_label(et), self.f_clock, (255, 255, 255))]
        if self.content.epoch_et is not None:
            lines.append((mission_elapsed(et, self.content.epoch_et), self.f_clock, (200, 200, 200)))
        return to_patch(text_box(lines, pad=self.pad, gap=self.gap, radius=self.radius))

    def _title_patch(self, phase: PhaseText) -> Patch:
        max_w = int(0.45 * self.width)
        lines = [(t, self.f_title, (255, 255, 255)) for t in wrap(phase.title, self.f_title, max_w)]
        return to_patch(text_box(lines, pad=self.pad, gap=self.gap, radius=self.radius))

    def _caption_patch(self, phase: PhaseText) -> Patch:
        max_w = int((1 - 2 * SAFE) * self.width) - 2 * self.pad
        max_w = min(max_w, int(0.75 * self.width))
        lines = [(t, self.f_caption, (255, 255, 255)) for t in wrap(phase.caption, self.f_caption, max_w)]
        badge = None
        if phase.grade in words.grades():
            rgb, label = grade_badge(phase.grade, self.lang or "en")
            badge = (label, rgb, self.f_badge)
        return to_patch(text_box(lines, pad=self.pad, gap=self.gap, badge=badge, radius=self.radius))

    # -- closing credits
    def credits_image(self, phases: Iterable[PhaseText] = ()) -> Image.Image:
        """The credits card: mission, the reconstructed-trajectory note, the captions shown (each with its grade
        badge and sources), the data products and the tools. Sized to fit the title-safe area."""
        lang = self.lang or "en"
        lab = credit_words(lang)
        phases = list(phases)
        safe_w = self.width - 2 * self.margin_x
        safe_h = self.height - 2 * self.margin_y
        scale = 1.0
        for _ in range(12):  # shrink until it fits
            img = self._credits_at(scale, lang, lab, phases, safe_w)
            if img.height <= safe_h and img.width <= safe_w:
                return img
            scale *= 0.88
        return img.crop((0, 0, min(img.width, safe_w), min(img.height, safe_h)))

    def _credits_at(self, scale: float, lang: str, lab: dict, phases: list[PhaseText], safe_w: int) -> Image.Image:
        h = self.height * scale
        f_head = load_font(lang, "bold", 0.05 * h)
        f_note = load_font(lang, "bold", 0.034 * h)
        f_sec = load_font(lang, "bold", 0.028 * h)
        f_txt = load_font(lang, "regular", 0.024 * h)
        f_badge = load_font(lang, "bold", 0.02 * h)
        width = safe_w
        rows: list[tuple[str, object]] = []  # (kind, payload)
        if self.content.mission_name:
            rows.append(("text", (self.content.mission_name, f_head, (255, 255, 255))))
        if self.content.note:
            for ln in wrap(self.content.note, f_note, width):
                rows.append(("text", (ln, f_note, (255, 210, 120))))
        if phases:
            rows.append(("space", 0.6))
            rows.append(("text", (lab["captions"], f_sec, (180, 200, 255))))
            for p in phases:
                src = f" — {lab['sources']}{lab['sep']}{', '.join(p.sources)}" if p.sources else ""
                rows.append(("badge", (p.grade, p.title + src, f_txt, f_badge)))
            rows.append(("text", (None, None, None)))
            for ln in wrap(lab["grades"], f_txt, width):
                rows.append(("text", (ln, f_txt, (190, 190, 190))))
        if self.content.data_credits:
            rows.append(("space", 0.6))
            rows.append(("text", (lab["data"], f_sec, (180, 200, 255))))
            for c in self.content.data_credits:
                for ln in wrap(c, f_txt, width):
                    rows.append(("text", (ln, f_txt, (230, 230, 230))))
        rows.append(("space", 0.6))
        rows.append(("text", (f"{lab['made']}{lab['sep']}{lab['tools']}", f_txt, (190, 190, 190))))

        line_h = int(0.038 * h)
        gap = int(0.008 * h)
        heights = []
        for kind, payload in rows:
            if kind == "space":
                heights.append(int(payload * line_h))
            elif kind == "text" and payload[0] is None:
                heights.append(gap)
            else:
                font = payload[1] if kind == "text" else payload[2]
                asc, desc = font.getmetrics()
                heights.append(asc + desc + gap)
        img = Image.new("RGBA", (width, sum(heights)), (0, 0, 0, 0))
        draw = ImageDraw.Draw(img)
        y = 0
        max_w = 0
        for (kind, payload), hh in zip(rows, heights):
            if kind == "text" and payload[0]:
                text, font, rgb = payload
                tw = font.getlength(text)
                max_w = max(max_w, tw)
                draw.text(((width - tw) / 2, y), text, font=font, fill=tuple(rgb) + (255,))
            elif kind == "badge":
                grade, text, font, bfont = payload
                rgb, label = grade_badge(grade, lang)
                bw = bfont.getlength(label) + 2 * self.pad
                tw = font.getlength(text)
                total = bw + self.pad + tw
                max_w = max(max_w, total)
                x = (width - total) / 2
                asc, desc = font.getmetrics()
                draw.rounded_rectangle(
                    [x, y + 1, x + bw, y + asc + desc - 1], radius=self.radius, fill=tuple(rgb) + (255,)
                )
                ba, bd = bfont.getmetrics()
                draw.text((x + self.pad, y + (asc + desc - ba - bd) / 2), label, font=bfont, fill=(255, 255, 255, 255))
                draw.text((x + bw + self.pad, y), text, font=font, fill=(255, 255, 255, 255))
            y += hh
        if max_w > width:  # a badge row too long: make the caller shrink
            return Image.new("RGBA", (int(max_w) + 1, img.height))
        return img

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) of the frames the overlays go into."""
        return self.width, self.height

    def card_position(self, card: Patch) -> tuple[int, int]:
        """Top left of the credits card: centred in the frame."""
        return (self.width - card.width) // 2, (self.height - card.height) // 2

    def credits_frames(
        self, last_frame: np.ndarray | None, n: int, phases: Iterable[PhaseText] = (), fade: int | None = None
    ) -> Iterator[np.ndarray]:
        """``n`` frames of closing credits over the darkened last frame (a short fade from it)."""
        if n <= 0:
            return
        card = to_patch(self.credits_image(phases))
        x, y = self.card_position(card)
        width, height = self.frame_size
        base = last_frame if last_frame is not None else np.zeros((height, width, 3), np.uint8)
        base16 = base.astype(np.uint16)
        fade = max(1, min(n // 3, 12) if fade is None else fade)
        final = None
        for i in range(n):
            if i < fade or final is None:
                k = min(1.0, (i + 1) / fade)
                dim = int(256 - 200 * k)
                frame = ((base16 * dim) >> 8).astype(np.uint8)
                if k >= 1.0:
                    blend(frame, card, x, y)
                    final = frame
                else:
                    faded = Patch(
                        card.rgb * int(256 * k) >> 8, (card.alpha * int(256 * k)) >> 8, card.width, card.height
                    )
                    blend(frame, faded, x, y)
                yield frame
            else:
                yield final


# ----------------------------------------------------------------------------------------------------------------
# From the mission data


def content_from_mission(mission, lang: str | None) -> OverlayContent:
    """Build :class:`OverlayContent` from :func:`viewer.mission.load_mission`'s :class:`~viewer.mission.Mission`.

    ``lang`` is "en", "zh" or None (no captions: only the clock and the credits, in English).
    """
    if lang is not None and lang not in LANGS:
        raise InputError(f"--captions {shown(lang)}: choose en, zh or none")
    if lang == "zh":
        font_files("zh")  # fail early, in one line, if no CJK font is installed
    text_lang = lang or "en"
    outlets = {s.id: s.outlet for s in mission.sources}
    phases = []
    for p in mission.phases:
        names: list[str] = []
        for sid in p.sources:
            name = outlets.get(sid, sid)
            if name not in names and sid != "mission-facts":
                names.append(name)
        phases.append(
            PhaseText(
                id=p.id,
                start_et=p.start_et,
                end_et=p.end_et,
                title=p.title[text_lang],
                caption=p.caption[text_lang],
                grade=p.grade,
                sources=tuple(names),
            )
        )
    credits = [f"{mission.source(cid).title} ({mission.source(cid).outlet})" for cid in mission.credits]
    credits += [g for g in (_ground_credit(text_lang),) if g]
    return OverlayContent(
        lang=lang,
        phases=phases,
        mission_name=mission.name[text_lang],
        note=mission.note[text_lang],
        data_credits=credits,
        epoch_et=mission.launch_et,
    )


def _ground_credit(lang: str) -> str:
    """What the landing site's ground is ("Ground: LOLA 512 px/deg, 59 m"), for the credits; "" if unreadable."""
    from viewer.errors import DataError
    from viewer.terrain import provenance

    try:
        return provenance(lang=lang)["text"]
    except DataError:
        return ""


def phases_between(content: OverlayContent, start_et: float, end_et: float) -> list[PhaseText]:
    """The phases whose caption appears in a clip from ``start_et`` to ``end_et`` (in order of appearance)."""
    marks = {float(start_et)}
    marks.update(t for p in content.phases for t in (p.start_et, p.end_et) if start_et < t <= end_et)
    seen: list[PhaseText] = []
    for et in sorted(marks):
        p = content.phase_at(et)
        if p is not None and p not in seen:
            seen.append(p)
    return seen


__all__ = [
    "Overlays",
    "OverlayContent",
    "PhaseText",
    "content_from_mission",
    "phases_between",
    "font_files",
    "wrap",
    "blend",
    "grade_badge",
]
