"""Shared fixtures for the fast suite: no network, no real LLM, no real embedding model.

Every fast test runs in its own empty working directory with the configuration variables removed, so
a developer's shell or a stray ``./verify.toml`` cannot change results.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from verify.config import VerifyConfig
from verify.prompts import PromptTemplate, load_prompt
from verify.testing import FakeChatModel, HashEmbedder
from verify.verifier import Verifier

ROOT = Path(__file__).resolve().parent.parent
PROMPTS_DIR = ROOT / "prompts"
EVIDENCE_DIR = ROOT / "evidence"
EVALS_DIR = ROOT / "evals"


# Variables VerifyConfig.load reads; VERIFY_CACHE_DIR is left alone (the real-model tests may need it).
CONFIG_ENV_VARS = (
    "VERIFY_CONFIG",
    "VERIFY_BACKEND",
    "VERIFY_BASE_URL",
    "VERIFY_MODEL",
    "VERIFY_EMBEDDED_MODEL",
    "VERIFY_STORE",
    "VERIFY_CHROMA_URL",
    "VERIFY_COLLECTION",
    "VERIFY_THREADS",
    "VERIFY_CALIBRATION",
    "VERIFY_CONCURRENCY",
    "VERIFY_API_KEY",
    "OPENAI_API_KEY",
)
SLOW_MARKERS = ("real_model", "real_embeddings")


@pytest.fixture(autouse=True)
def _isolated_environment(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    if any(request.node.get_closest_marker(m) for m in SLOW_MARKERS):
        return
    for name in CONFIG_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    # the fake-model tests queue the windows extractor's answers (the sentences extractor, the default,
    # has its own tests and the real-model tests); a test's own environment may still override this
    monkeypatch.setenv("VERIFY_EXTRACTOR", "windows")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _restore_verify_logger():
    """The CLI attaches a stderr handler to the 'verify' logger on every run; undo that."""
    logger = logging.getLogger("verify")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


@pytest.fixture
def extract_prompt() -> PromptTemplate:
    return load_prompt(PROMPTS_DIR, "extract_claims")


@pytest.fixture
def judge_prompt() -> PromptTemplate:
    return load_prompt(PROMPTS_DIR, "judge_claim")


SMALL_CORPUS = {
    "finland.md": (
        "Finland joins NATO",
        "Finland became the 31st member of NATO on 4 April 2023. Foreign Minister Pekka Haavisto "
        "handed the instrument of accession to Antony Blinken in Brussels.\n\n"
        "The accession ended decades of Finnish military non-alignment.",
    ),
    "sweden.md": (
        "Sweden joins NATO",
        "Sweden became the 32nd member of NATO on 7 March 2024. The Hungarian parliament had approved "
        "the accession of Sweden on 26 February 2024 by 188 votes to 6.",
    ),
    "vilnius.md": (
        "Vilnius summit",
        "NATO leaders met in Vilnius, the capital of Lithuania, on 11 and 12 July 2023. The summit "
        "communique set no date or timetable for Ukrainian membership.",
    ),
}


def write_small_corpus(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, (title, body) in SMALL_CORPUS.items():
        (directory / name).write_text(
            f'---\ntitle: "{title}"\npublisher: "Test desk"\nurl: "https://example.org/{name}"\n'
            f'date: "2024-01-01"\nnote: "test document"\n---\n{body}\n',
            encoding="utf-8",
        )
    (directory / "README.md").write_text("# Not evidence\n\nThis file describes the folder.\n")
    return directory


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    return write_small_corpus(tmp_path / "evidence")


@pytest.fixture
def config(tmp_path: Path) -> VerifyConfig:
    return VerifyConfig(extractor="windows", kind_classifier=False, store_path=tmp_path / "chroma", calibration="off")


@pytest.fixture
def chat() -> FakeChatModel:
    return FakeChatModel()


@pytest.fixture
def verifier(config: VerifyConfig, chat: FakeChatModel) -> Verifier:
    return Verifier(config, chat=chat, embedder=HashEmbedder())
