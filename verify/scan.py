"""The ingest scan: reference documents may be planted or scraped from hostile pages, so every
passage is checked for text that looks written for a language model rather than a reader. A flag
never removes a passage (it stays usable as evidence); it is stored in the passage's metadata,
counted in the ingest summary and shown beside a citation of that passage in reports.

Flags: ``instruction`` (phrases that address the model: "ignore previous instructions", "you are
now", "system prompt"), ``role-marker`` (chat-template markers and "system:" lines),
``invisible-controls`` (zero-width and bidirectional control characters; removed from the text that
is embedded and shown, the stored original keeps them), ``base64`` (a long run of base64), ``other-
script`` (many letters in another script than the document's), and at document level
``hidden-html`` (elements hidden by style or attribute, and comments: their text is not ingested).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from .fences import INVISIBLE, clean_invisible

_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,40}\b(?:previous|prior|above|earlier|all|any)\b"
    r"[^.\n]{0,20}\b(?:instructions?|prompts?|rules|context|directions)\b"
    r"|\byou are now\b|\bnew instructions\b|\bsystem prompt\b|\bas an ai (?:language )?model\b"
    r"|\b(?:label|mark|rate|classify) (?:this|the|every|all) (?:claims?|statements?) (?:as )?(?:supported|true)\b",
    re.IGNORECASE,
)
_ROLE = re.compile(
    r"<\|(?:im_start|im_end|system|user|assistant|endoftext)\|>|\[/?INST\]|<</?SYS>>|^\s*#{2,3}\s*(?:instruction|system)\b"
    r"|^\s*(?:system|assistant)\s*:",
    re.IGNORECASE | re.MULTILINE,
)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{80,}={0,2}")
OTHER_SCRIPT_MIN = 12  # letters in a script other than the document's before a passage is flagged

FLAGS = ("instruction", "role-marker", "invisible-controls", "base64", "other-script", "hidden-html")


def script_of(char: str) -> str | None:
    """The script of a letter, from its Unicode name (LATIN, CYRILLIC, ARABIC, ...)."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else None


def main_script(text: str) -> str | None:
    counts = Counter(s for c in text if (s := script_of(c)))
    return counts.most_common(1)[0][0] if counts else None


def scan_passage(text: str, document_script: str | None) -> list[str]:
    """The flags of one passage's original text."""
    flags = []
    if _INSTRUCTION.search(text):
        flags.append("instruction")
    if _ROLE.search(text):
        flags.append("role-marker")
    if INVISIBLE.search(text):
        flags.append("invisible-controls")
    if _BASE64.search(text):
        flags.append("base64")
    if document_script is not None:
        other = sum(1 for c in text if (s := script_of(c)) and s != document_script)
        if other >= OTHER_SCRIPT_MIN:
            flags.append("other-script")
    return flags


def shown_text(text: str) -> str:
    """What is embedded and shown: the text without zero-width and bidirectional controls."""
    return clean_invisible(text)
