"""Logging through ``logging.getLogger("verify")`` with secrets redacted from every record."""

from __future__ import annotations

import logging
import re

_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9_\-.]{8,})")


class RedactingFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return _KEY_PATTERN.sub("***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_redaction(secret: str | None = None) -> RedactingFilter:
    """Attach (once) the redacting filter to the verify logger and register a secret with it."""
    logger = logging.getLogger("verify")
    found = next((f for f in logger.filters if isinstance(f, RedactingFilter)), None)
    if found is None:
        found = RedactingFilter()
        logger.addFilter(found)
    if secret and len(secret) >= 4:
        found.secrets.add(secret)
    return found
