"""Fixed documents served by `/json`, `/html` and `/encoding/utf8` (our own text)."""

from __future__ import annotations

from typing import Any

__all__ = ["HTML_PAGE", "SAMPLE_JSON", "UTF8_TEXT"]

# The same top-level shape as httpbin's /json (a `slideshow` object), with our own content.
SAMPLE_JSON: dict[str, Any] = {
    "slideshow": {
        "author": "The zephyr maintainers",
        "date": "2026-01-01",
        "title": "Testing an HTTP client offline",
        "slides": [
            {"title": "Why a local server", "type": "all"},
            {
                "title": "What it covers",
                "type": "all",
                "items": [
                    "Every httpbin endpoint a client test needs",
                    "HTTP/1.1 and HTTP/2, plain and over TLS",
                ],
            },
        ],
    }
}

HTML_PAGE = """<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <title>zephyr test server</title>
  </head>
  <body>
    <h1>The weather report</h1>
    <p>
      A west wind, light and steady, carried the smell of rain across the harbour. The
      boats rocked at their moorings; a gull argued with another about a fish that neither
      of them had caught. By noon the clouds had gone, and the wind with them.
    </p>
  </body>
</html>
"""

# Text in many scripts, so that a client's decoding can be checked against known characters.
UTF8_TEXT = """<h1>UTF-8 encoded sample text</h1>
<pre>
Latin:        Zéphyr, façade, naïve, Ærøskøbing, Ñandú, Größe
Greek:        Ζέφυρος, ο δυτικός άνεμος
Cyrillic:     Зефир — западный ветер
Hebrew:       רוח מערבית
Arabic:       ريح غربية
Devanagari:   पश्चिमी हवा
Chinese:      西风轻轻吹
Japanese:     そよ風が吹く
Korean:       서풍이 분다
Thai:         ลมตะวันตก
Mathematics:  ∀x ∈ ℝ: ⌈x⌉ ≥ x, ∑ 1/n² = π²/6
Symbols:      ← ↑ → ↓ ★ ☂ ☃ ♫ €
Emoji:        🌬️ 🌊 🚀
</pre>
"""  # noqa: RUF001 -- look-alike letters are the point of a multi-script sample
