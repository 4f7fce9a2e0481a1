"""The command line, on inputs that fail before any real model would be needed."""

from __future__ import annotations

from pathlib import Path

import pytest

import verify.verifier
from verify.cli import main
from verify.testing import HashEmbedder


@pytest.fixture(autouse=True)
def no_real_models(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point the store at an empty tmp path and make any attempt to load a real model visible."""
    monkeypatch.setenv("VERIFY_STORE", str(tmp_path / "no-store"))
    monkeypatch.setattr(verify.verifier, "make_embedder", lambda name: HashEmbedder())

    def refuse(self):
        raise AssertionError("the CLI tried to start the chat model")

    monkeypatch.setattr(verify.verifier.Verifier, "_build_chat", refuse)


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("verify: error: ")
    return lines[0]


def test_missing_article_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    missing = tmp_path / "missing.txt"
    assert main(["check", str(missing)]) == 2
    captured = capsys.readouterr()
    line = one_error_line(captured.err)
    assert "not found" in line
    assert str(missing) in line
    assert captured.out == ""


def test_empty_article_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    article = tmp_path / "empty.txt"
    article.write_text(" \n\n", encoding="utf-8")
    assert main(["check", str(article)]) == 2
    assert "empty" in one_error_line(capsys.readouterr().err)


def test_binary_article_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    article = tmp_path / "photo.txt"
    article.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert main(["check", str(article)]) == 2
    assert "binary" in one_error_line(capsys.readouterr().err)


def test_non_utf8_article_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    article = tmp_path / "latin1.txt"
    article.write_bytes("Déclaration de Kyiv".encode("latin-1"))
    assert main(["check", str(article)]) == 2
    assert "UTF-8" in one_error_line(capsys.readouterr().err)


def test_one_bad_article_among_good_ones_fails_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    good = tmp_path / "good.txt"
    good.write_text("Finland joined NATO in 2023.", encoding="utf-8")
    assert main(["check", str(good), str(tmp_path / "missing.txt")]) == 2
    assert "missing.txt" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "no-store").exists()


def test_check_against_a_missing_store_points_to_verify_ingest(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    article = tmp_path / "article.txt"
    article.write_text("Finland joined NATO on 4 April 2023.", encoding="utf-8")
    code = main(["check", str(article)])
    assert code != 0
    line = one_error_line(capsys.readouterr().err)
    assert "verify ingest" in line


def test_store_option_overrides_the_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    article = tmp_path / "article.txt"
    article.write_text("Finland joined NATO on 4 April 2023.", encoding="utf-8")
    elsewhere = tmp_path / "other-store"
    assert main(["check", str(article), "--store", str(elsewhere)]) != 0
    assert str(elsewhere) in one_error_line(capsys.readouterr().err)


def test_invalid_configuration_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    article = tmp_path / "article.txt"
    article.write_text("Finland joined NATO on 4 April 2023.", encoding="utf-8")
    assert main(["check", str(article), "--backend", "openai"]) == 2
    assert "model" in one_error_line(capsys.readouterr().err)


def test_ingest_of_a_folder_without_documents_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    folder = tmp_path / "empty-folder"
    folder.mkdir()
    (folder / "README.md").write_text("not evidence", encoding="utf-8")
    assert main(["ingest", str(folder)]) != 0
    assert "no supported documents" in one_error_line(capsys.readouterr().err)


def test_check_help_exits_0_and_mentions_out(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        main(["check", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--out" in out
    assert "--store" in out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
