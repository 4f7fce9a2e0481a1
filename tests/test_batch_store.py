"""The evidence store under a batch: one writing process per persistent directory, and a Chroma
server (``chroma run``, started here on 127.0.0.1) shared by clients."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from batch_support import batch_config, run, write_jsonl
from conftest import write_small_corpus

from verify.config import VerifyConfig
from verify.errors import StoreError
from verify.retrieval import HybridRetriever
from verify.store import WRITER_LOCK, EvidenceStore
from verify.testing import HashEmbedder
from verify.testing_server import FakeOpenAIServer
from verify.verifier import Verifier


def test_a_second_process_writing_to_one_chroma_directory_gets_a_clear_error(tmp_path: Path):
    store = tmp_path / "chroma"
    store.mkdir()
    # another writer: a process holding the store's writer lock as verify does (without importing it, for speed)
    hold = (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
        "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, str(os.getpid()).encode()); print('locked', flush=True); "
        "time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold, str(store / WRITER_LOCK)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        verifier = Verifier(
            VerifyConfig(extractor="windows", store_path=store, calibration="off"), embedder=HashEmbedder()
        )
        with pytest.raises(StoreError, match=rf"being written by another process \(pid {holder.pid}\)"):
            verifier.ingest([write_small_corpus(tmp_path / "evidence")])
    finally:
        holder.kill()
        holder.wait()
    verifier = Verifier(VerifyConfig(extractor="windows", store_path=store, calibration="off"), embedder=HashEmbedder())
    assert verifier.ingest([tmp_path / "evidence"]).added > 0  # the lock went with the process


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path):
    exe = shutil.which("chroma") or shutil.which("chroma", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the chroma command is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "run", "--path", str(tmp_path / "chroma-server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
            break
        except OSError:
            assert proc.poll() is None, "chroma run exited"
            assert time.monotonic() < deadline, "chroma run did not come up"
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_batch_against_a_chroma_server_and_a_second_client_sees_the_passages(tmp_path: Path, chroma_server: str):
    corpus = write_small_corpus(tmp_path / "evidence")
    config = VerifyConfig(
        extractor="windows", chroma_url=chroma_server, calibration="off", cache_dir=tmp_path / "cache-1"
    )
    ingest = Verifier(config, embedder=HashEmbedder())
    stats = ingest.ingest([corpus])
    assert stats.added > 0
    other = EvidenceStore(HashEmbedder(), url=chroma_server, cache_dir=tmp_path / "cache-2")
    assert other.count() == stats.passages
    assert {p.doc_id for p in other.all_passages()} == {p.doc_id for p in ingest.store().all_passages()}
    with FakeOpenAIServer() as server:
        config = batch_config(server.url, tmp_path, chroma_url=chroma_server)
        outcome = run(config, [str(write_jsonl(tmp_path / "a.jsonl", 4))], tmp_path / "run")
    assert outcome.summary.articles.complete == 4
    assert outcome.summary.checkable == 8 and sum(outcome.summary.verdicts.values()) == 8


def test_a_second_client_of_a_chroma_server_finds_the_first_clients_passages_lexically(
    tmp_path: Path, chroma_server: str, monkeypatch: pytest.MonkeyPatch
):
    """Each client keeps its own lexical index (under its cache directory); a client whose index
    does not match the server's revision brings it up to date, also while it stays open."""
    corpus = write_small_corpus(tmp_path / "evidence")
    first = Verifier(
        VerifyConfig(extractor="windows", chroma_url=chroma_server, calibration="off", cache_dir=tmp_path / "cache-1"),
        embedder=HashEmbedder(),
    )
    first.ingest([corpus])
    second = EvidenceStore(HashEmbedder(), url=chroma_server, cache_dir=tmp_path / "cache-2")
    assert second.lexical_path.is_relative_to(tmp_path / "cache-2")
    hit = second.lexical_search("Haavisto", 3)
    assert [p.doc_id for p in second.get([pid for pid, _ in hit])] == ["finland"]
    retriever = HybridRetriever(second, top_k=2, dense_candidates=5, lexical_candidates=5, near_duplicate_jaccard=0.8)
    assert retriever.retrieve("Pekka Haavisto instrument of accession")[0].passage.doc_id == "finland"

    # the first client changes a document and adds one; the open second client sees both
    (corpus / "finland.md").write_text("Finland joined NATO. The quokkalith treaty was signed.\n", encoding="utf-8")
    (corpus / "norway.md").write_text("Norway was a founding member of NATO in 1949.\n", encoding="utf-8")
    stats = first.ingest([corpus])
    assert (stats.replaced, stats.added) == (1, 2)
    monkeypatch.setattr("verify.store.FRESHNESS_SECONDS", 0.0)
    found = retriever.retrieve("quokkalith treaty Norway founding member")
    assert {r.passage.doc_id for r in found} == {"finland", "norway"}
    assert second.lexical_search("Haavisto", 3) == []
    assert second.lexical.count() == second.count() == first.store().count()
