"""DOM helpers for the kiosk's browser tests: the visible text of a page (piercing shadow roots) and the Latin words
left in it. Panel and Bokeh render in shadow DOM, which ``document.body.innerText`` does not enter."""

from __future__ import annotations

from viewer.mission import LATIN_WORD

# Every text node the visitor can see: inside shadow roots too; not in <script>/<style>/<title> (SVG tooltips) or
# <template>; not in an element that is not rendered (display/visibility/opacity/zero size). A subtree marked with
# a ``lang`` other than ``page_lang`` is skipped and reported apart: a language's own name in the language toggle
# ("English" on the Chinese page) is written in that language on purpose.
VISIBLE_TEXT_JS = """
([pageLang, rootClass]) => {
  const SKIP = new Set(["SCRIPT", "STYLE", "TITLE", "TEMPLATE", "NOSCRIPT"]);
  const texts = [], foreign = [];
  function visible(el) {
    if (!el.isConnected) return false;
    if (el.checkVisibility && !el.checkVisibility({opacityProperty: true, visibilityProperty: true})) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }
  function walk(node, out) {
    if (node.nodeType === Node.TEXT_NODE) {
      const t = node.textContent.trim();
      if (t && node.parentElement && visible(node.parentElement)) out.push(t);
      return;
    }
    if (node.nodeType !== Node.ELEMENT_NODE && node.nodeType !== Node.DOCUMENT_FRAGMENT_NODE) return;
    if (node.nodeType === Node.ELEMENT_NODE) {
      if (SKIP.has(node.tagName.toUpperCase())) return;
      const lang = node.getAttribute("lang");
      if (lang && lang !== pageLang && node !== document.documentElement) { walk2(node, foreign); return; }
      if (node.shadowRoot) walk(node.shadowRoot, out);
    }
    for (const c of node.childNodes) walk(c, out);
  }
  function walk2(node, out) {
    if (node.nodeType === Node.TEXT_NODE) { const t = node.textContent.trim(); if (t) out.push(t); return; }
    if (node.shadowRoot) walk2(node.shadowRoot, out);
    for (const c of node.childNodes) walk2(c, out);
  }
  function find(node) {  // the first element with class rootClass, inside shadow roots too
    if (node.nodeType === Node.ELEMENT_NODE && node.classList.contains(rootClass)) return node;
    if (node.shadowRoot) { const f = find(node.shadowRoot); if (f) return f; }
    for (const c of node.children || []) { const f = find(c); if (f) return f; }
    return null;
  }
  const root = rootClass ? find(document.documentElement) : document.documentElement;
  if (root) walk(root, texts);
  return {texts, foreign, found: !!root};
}
"""

# Every element a visitor can press, with its box (piercing shadow roots).
INTERACTIVE_JS = """
() => {
  const out = [];
  const SEL = "button, input, select, textarea, a[href], [role=button], [role=slider], [onclick], summary";
  function walk(root) {
    for (const el of root.querySelectorAll("*")) {
      if (el.matches(SEL)) {
        const r = el.getBoundingClientRect();
        const shown = r.width > 0 && r.height > 0 &&
          (!el.checkVisibility || el.checkVisibility({opacityProperty: true, visibilityProperty: true}));
        if (shown) out.push({tag: el.tagName.toLowerCase(), type: el.getAttribute("type") || "",
                             cls: String(el.className || "").slice(0, 60), text: (el.innerText || el.value || "").trim().slice(0, 40),
                             w: r.width, h: r.height, download: el.hasAttribute("download")});
      }
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  }
  walk(document);
  return out;
}
"""


def visible_text(page, lang: str, root_class: str | None = None) -> tuple[list[str], list[str]]:
    """(texts in the page language, texts of subtrees marked with another ``lang``), of the whole page or of the
    first element with class ``root_class``."""
    r = page.evaluate(VISIBLE_TEXT_JS, [lang, root_class])
    assert r["found"], f"no element with class {root_class!r} on the page"
    return r["texts"], r["foreign"]


def latin_words(texts: list[str], allowed) -> list[str]:
    """Latin words in ``texts`` that are not in ``allowed`` (the mission's proper names), with their text."""
    allowed = set(allowed)
    bad = []
    for text in texts:
        for word in LATIN_WORD.findall(text):
            if word not in allowed:
                bad.append(f"{word!r} in {text[:80]!r}")
    return bad


def interactive_elements(page) -> list[dict]:
    return page.evaluate(INTERACTIVE_JS)
