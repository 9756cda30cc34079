"""The web app's style sheets (the 3D view and the time bar have theirs in ``static/mission_view.css``)."""

APP_CSS = """
body, .bk-root { background: #05070d; }
:root { --ce6-fg: #e8eaf0; --ce6-dim: #9aa6bd; }
.ce6-header { display: flex; align-items: baseline; gap: 18px; padding: 10px 18px 6px; color: var(--ce6-fg);
  font-family: "Noto Sans", "Noto Sans CJK SC", "DejaVu Sans", sans-serif; flex-wrap: nowrap; min-width: 0;
  overflow: hidden; white-space: nowrap; }
.ce6-title { font-size: 26px; font-weight: 600; letter-spacing: 0.01em; flex: none; white-space: nowrap; }
.ce6-sub, .ce6-note { min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.ce6-sub { font-size: 15px; color: var(--ce6-dim); flex: 0 1 auto; }
.ce6-note { font-size: 13px; color: #c9b27a; border: 1px solid #4a3f24; border-radius: 12px; padding: 2px 10px;
  flex: 0 100 auto; }
.ce6-card { color: var(--ce6-fg); font-family: "Noto Sans", "Noto Sans CJK SC", "DejaVu Sans", sans-serif; }
.ce6-card h2 { font-size: 24px; margin: 2px 0 6px; font-weight: 600; }
.ce6-card h3 { font-size: 17px; margin: 14px 0 4px; font-weight: 600; color: #f3d27a; }
.ce6-card p { font-size: 16px; line-height: 1.5; margin: 4px 0; color: #d5dae5; }
.ce6-kicker { font-size: 12px; text-transform: uppercase; letter-spacing: 0.12em; color: var(--ce6-dim); }
.ce6-badge { display: inline-block; font-size: 12px; padding: 1px 8px; border-radius: 10px; margin-left: 6px;
  vertical-align: middle; color: #fff; opacity: 0.85; font-weight: 500; letter-spacing: 0.03em; }
.ce6-src { font-size: 13px; color: var(--ce6-dim); margin: 2px 0; }
.ce6-src a { color: #8fb8e8; }
.ce6-gloss { color: #c9d2e3; }
.ce6-section { font-size: 12px; text-transform: uppercase; letter-spacing: 0.12em; color: var(--ce6-dim);
  margin: 10px 0 2px; font-family: "Noto Sans", "Noto Sans CJK SC", sans-serif; }
"""

PHASE_BTN_CSS = ".bk-btn { font-size: 13px; padding: 4px 10px; white-space: nowrap; }"
