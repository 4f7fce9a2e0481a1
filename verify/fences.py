"""Untrusted text as data in a prompt.

Article sentences and evidence enter a prompt only inside a marked block (``<article>``,
``<evidence>``, ``<claim>``). Each item of a block is one line that starts with our own label
(``TARGET 5:``, ``(2.3)``, a document header), so a line break inside a sentence cannot fake one:
whitespace is collapsed to single spaces. Angle brackets in the text become look-alike
characters, so no text can open or close a block, and a sentence id written inside a sentence is
bracketed differently from the ids we place. Zero-width and bidirectional control characters are
removed. The markers are fixed strings (not per call), so the instructions before them stay a
byte-identical prefix for the server's prompt cache.
"""

from __future__ import annotations

import re

# zero-width characters, bidi embeddings/overrides/isolates, the BOM and soft hyphen
INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_ANGLE = str.maketrans({"<": "\u2039", ">": "\u203a"})
_FAKE_ID = re.compile(r"\((\d+\.\d+)\)")


def clean_invisible(text: str) -> str:
    """The text without zero-width and bidirectional control characters."""
    return INVISIBLE.sub("", text)


def data_line(text: str) -> str:
    """One item of untrusted text, safe to place on one line of a data block."""
    text = " ".join(clean_invisible(text).split())
    return _FAKE_ID.sub(r"[\1]", text.translate(_ANGLE))


def block(name: str, body: str) -> str:
    """``body`` (already made of :func:`data_line` items) inside ``<name>`` ... ``</name>``."""
    return f"<{name}>\n{body}\n</{name}>"
