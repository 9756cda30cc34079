"""Words of the web app's own interface, in English and simplified Chinese (mission words live in mission.yaml)."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "Chang'e-6", "zh": "嫦娥六号"},
    "subtitle": {"en": "Samples from the far side of the Moon, 2024", "zh": "2024年 月球背面采样返回"},
    "note_tip": {
        "en": "Positions come from a reconstruction built from published facts; each value carries a grade.",
        "zh": "位置来自依据公开资料的重建；每个数值都标有可信等级。",
    },
    "phase": {"en": "Now", "zh": "当前阶段"},
    "no_phase": {"en": "Between phases.", "zh": "阶段之间。"},
    "sourced": {"en": "sourced", "zh": "有来源"},
    "derived": {"en": "derived", "zh": "推算"},
    "assumed": {"en": "assumed", "zh": "假设"},
    "section_view": {"en": "View", "zh": "视角"},
    "section_layers": {"en": "Layers", "zh": "图层"},
    "section_relief": {"en": "Relief at the landing site", "zh": "着陆区地形起伏"},
    "section_jump": {"en": "Jump to", "zh": "跳转"},
    "section_horizon": {"en": "Earth never rises here", "zh": "这里永远看不到地球"},
    "section_files": {"en": "Save", "zh": "保存"},
    "section_sources": {"en": "Sources", "zh": "资料来源"},
    "section_cited": {"en": "Sources for this moment", "zh": "此刻的资料来源"},
    "all_sources": {"en": "All sources", "zh": "全部资料来源"},
    "jump_to_event": {"en": "Jump to an event…", "zh": "跳转到事件…"},
    "reset_camera": {"en": "Reset camera", "zh": "重置相机"},
    "screenshot": {"en": "Screenshot (PNG)", "zh": "截图（PNG）"},
    "export_phase": {"en": "Export this phase as video", "zh": "导出本阶段视频"},
    "export_no_phase": {
        "en": "No phase at this time: move the time into a phase to export it.",
        "zh": "此时不在任何阶段内：请把时间移到一个阶段中再导出。",
    },
    "export_busy": {"en": "An export is already running; wait for it to finish.", "zh": "已有导出正在进行，请稍候。"},
    "exporting": {"en": "Exporting…", "zh": "正在导出…"},
    "export_done": {"en": "Video ready.", "zh": "视频已完成。"},
    "rendering": {"en": "Rendering the screenshot…", "zh": "正在渲染截图…"},
    "download": {"en": "Download", "zh": "下载"},
    "realtime": {"en": "real time", "zh": "实时"},
    "show_links": {"en": "Relay links", "zh": "中继链路"},
    "show_trails": {"en": "Trails", "zh": "轨迹"},
    "show_labels": {"en": "Labels", "zh": "标签"},
    "enlarge_spacecraft": {"en": "Enlarge spacecraft", "zh": "放大航天器"},
    "auto_view": {"en": "Follow the story (jumps pick the view)", "zh": "跟随故事（跳转时自动选视角）"},
    "earth_el": {
        "en": "Earth: elevation {el}°, azimuth {az}° — below the horizon",
        "zh": "地球：高度 {el}°，方位 {az}°——在地平线以下",
    },
}


def t(key: str, lang: str) -> str:
    """The interface text ``key`` in ``lang`` (English where no translation exists)."""
    d = TEXT.get(key, {})
    return d.get(lang) or d.get("en") or key
