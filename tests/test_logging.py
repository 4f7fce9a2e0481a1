from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from verify.config import VerifyConfig
from verify.logging_setup import install_redaction
from verify.testing import FakeChatModel, HashEmbedder
from verify.verifier import Verifier


@pytest.fixture
def verify_log() -> Iterator[io.StringIO]:
    """Formatted output of the 'verify' logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("verify")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def test_registered_secret_is_replaced_in_formatted_records(verify_log: io.StringIO):
    install_redaction("hunter2-token-value")
    logging.getLogger("verify").warning("calling %s with key %s", "endpoint", "hunter2-token-value")
    output = verify_log.getvalue()
    assert "hunter2-token-value" not in output
    assert "WARNING verify: calling endpoint with key ***" in output


def test_openai_style_key_is_replaced_even_when_not_registered(verify_log: io.StringIO):
    install_redaction()
    logging.getLogger("verify").error("rejected key sk-abcdef0123456789XYZ for user")
    output = verify_log.getvalue()
    assert "sk-abcdef0123456789XYZ" not in output
    assert "rejected key *** for user" in output


def test_bearer_token_is_replaced(verify_log: io.StringIO):
    install_redaction()
    logging.getLogger("verify").info("header Authorization: Bearer abc.def-ghi_jkl012")
    assert "abc.def-ghi_jkl012" not in verify_log.getvalue()
    assert "Authorization: ***" in verify_log.getvalue()


def test_messages_without_secrets_are_unchanged(verify_log: io.StringIO):
    install_redaction("hunter2-token-value")
    logging.getLogger("verify").info("ingested %d documents", 64)
    assert verify_log.getvalue() == "INFO verify: ingested 64 documents\n"


def test_install_redaction_is_idempotent():
    first = install_redaction("secret-one")
    second = install_redaction("secret-two")
    assert first is second
    assert {"secret-one", "secret-two"} <= first.secrets
    assert sum(f is first for f in logging.getLogger("verify").filters) == 1


def test_verifier_registers_the_configured_api_key(verify_log: io.StringIO, tmp_path):
    key = "my-private-api-key-42"
    config = VerifyConfig(
        extractor="windows", kind_classifier=False, store_path=tmp_path / "chroma", calibration="off", api_key=key
    )
    Verifier(config, chat=FakeChatModel(), embedder=HashEmbedder())
    logging.getLogger("verify").warning("using %s", key)
    assert key not in verify_log.getvalue()
    assert "using ***" in verify_log.getvalue()
