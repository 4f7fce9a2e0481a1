from __future__ import annotations

import json
from pathlib import Path

import pytest

from verify.config import VerifyConfig
from verify.errors import ConfigError


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_or_environment():
    config = VerifyConfig.load()
    assert config.backend == "embedded"
    assert config.model is None
    assert config.model_name == config.embedded_model
    assert config.store_path == Path(".verify/chroma")
    assert config.api_key is None


def test_toml_file_overrides_defaults(tmp_path: Path):
    path = write_toml(tmp_path / "v.toml", 'collection = "from-toml"\ntop_k = 7\nstore_path = "/data/chroma"\n')
    config = VerifyConfig.load(path)
    assert (config.collection, config.top_k, config.store_path) == ("from-toml", 7, Path("/data/chroma"))


def test_precedence_toml_then_environment_then_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = write_toml(
        tmp_path / "v.toml",
        'backend = "openai"\nmodel = "toml-model"\ncollection = "toml-coll"\ntop_k = 7\n',
    )
    monkeypatch.setenv("VERIFY_MODEL", "env-model")
    monkeypatch.setenv("VERIFY_COLLECTION", "env-coll")
    config = VerifyConfig.load(path, model="override-model", collection=None)
    assert config.model == "override-model"  # override beats environment and file
    assert config.collection == "env-coll"  # environment beats file; a None override is ignored
    assert config.top_k == 7  # file beats default
    assert config.backend == "openai"


def test_environment_values_are_converted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("VERIFY_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("VERIFY_CONCURRENCY", "3")
    monkeypatch.setenv("VERIFY_THREADS", "4")
    config = VerifyConfig.load()
    assert config.store_path == tmp_path / "store"
    assert (config.concurrency, config.n_threads) == (3, 4)


def test_config_file_from_verify_config_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = write_toml(tmp_path / "elsewhere.toml", 'collection = "via-env"\n')
    monkeypatch.setenv("VERIFY_CONFIG", str(path))
    assert VerifyConfig.load().collection == "via-env"


def test_local_verify_toml_is_picked_up(tmp_path: Path):
    write_toml(tmp_path / "verify.toml", 'collection = "local"\n')  # tmp_path is the working directory
    assert VerifyConfig.load().collection == "local"


def test_base_url_implies_the_openai_backend(monkeypatch: pytest.MonkeyPatch):
    config = VerifyConfig.load(base_url="http://localhost:11434/v1", model="llama3")
    assert config.backend == "openai"
    monkeypatch.setenv("VERIFY_BASE_URL", "http://localhost:8000/v1")
    monkeypatch.setenv("VERIFY_MODEL", "served")
    assert VerifyConfig.load().backend == "openai"


def test_openai_backend_without_a_model_is_a_config_error():
    with pytest.raises(ConfigError, match="model"):
        VerifyConfig.load(backend="openai")
    with pytest.raises(ConfigError, match="model"):
        VerifyConfig.load(base_url="http://localhost:11434/v1")


@pytest.mark.parametrize(
    ("toml", "field"),
    [("top_k = 0\n", "top_k"), ('backend = "gpt"\n', "backend"), ("no_such_option = 1\n", "no_such_option")],
)
def test_invalid_values_are_config_errors_naming_the_field(tmp_path: Path, toml: str, field: str):
    with pytest.raises(ConfigError, match=field):
        VerifyConfig.load(write_toml(tmp_path / "v.toml", toml))


def test_missing_or_unparsable_config_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        VerifyConfig.load(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="cannot parse"):
        VerifyConfig.load(write_toml(tmp_path / "bad.toml", "top_k = = 3\n"))


def test_config_is_immutable():
    config = VerifyConfig.load()
    with pytest.raises(ValueError):
        config.top_k = 9  # type: ignore[misc]


def test_api_key_comes_from_openai_variable_and_redacted_hides_it(monkeypatch: pytest.MonkeyPatch):
    secret = "sk-test-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    config = VerifyConfig.load(base_url="https://api.example.com/v1", model="m")
    assert config.api_key is not None
    assert config.api_key.get_secret_value() == secret
    redacted = config.redacted()
    assert redacted["api_key"] == "***"
    assert secret not in json.dumps(redacted)
    assert secret not in repr(config)
    assert redacted["model"] == "m"


def test_verify_api_key_wins_over_openai_api_key(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-key-000000")
    monkeypatch.setenv("VERIFY_API_KEY", "sk-verify-key-111111")
    assert VerifyConfig.load().api_key.get_secret_value() == "sk-verify-key-111111"


def test_redacted_without_key_is_none():
    assert VerifyConfig.load().redacted()["api_key"] is None
