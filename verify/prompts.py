"""Prompt files: ``prompts/<name>.md`` with ``## system`` and ``## user`` sections.

The user section is a ``str.format`` template. The fixed instructions live in the system section so
that they form the same prefix on every call (the server's prompt cache reuses them). Each prompt is
versioned by the sha256 of its file; the hash travels with every report.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

_SECTION = re.compile(r"^## (system|user)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    system: str
    user: str
    sha256: str

    @property
    def version(self) -> str:
        return self.sha256[:12]

    def render(self, **values: str) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.user.format(**values)},
        ]

    @property
    def fields(self) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(self.user) if f}


def load_prompt(prompts_dir: Path, name: str) -> PromptTemplate:
    path = prompts_dir / f"{name}.md"
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"prompt file not found: {path}") from exc
    text = raw.decode("utf-8")
    parts = _SECTION.split(text)
    sections = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    if set(sections) != {"system", "user"}:
        raise ConfigError(f"prompt file {path} needs exactly a '## system' and a '## user' section")
    return PromptTemplate(name, sections["system"], sections["user"], hashlib.sha256(raw).hexdigest())
