"""The evidence store as a store of documents: ids from relative paths, re-ingest replaces a changed
document in both indexes, --prune, resumable ingest, the persistent lexical index, `verify store`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_small_corpus

import verify.verifier
from verify.cli import main
from verify.config import VerifyConfig
from verify.documents import iter_documents
from verify.errors import InputError
from verify.ingest import Ingester
from verify.lexical import STATE_FILE, LexicalIndex
from verify.store import EvidenceStore
from verify.testing import HashEmbedder
from verify.verifier import Verifier

OLD = "The referendum on the bridge was held on 3 May 2021 and the zanzibarite proposal passed narrowly."
NEW = "The referendum on the bridge was held on 9 June 2022 and the quokkalith proposal failed."


def make_verifier(tmp_path: Path) -> Verifier:
    config = VerifyConfig(
        extractor="windows", store_path=tmp_path / "chroma", calibration="off", cache_dir=tmp_path / "cache"
    )
    return Verifier(config, embedder=HashEmbedder())


def write(path: Path, body: str, **front: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    head = "".join(f"{k}: {json.dumps(v)}\n" for k, v in front.items())
    path.write_text(f"---\n{head}---\n{body}\n" if front else body + "\n", encoding="utf-8")
    return path


def retrievable(store: EvidenceStore, text: str) -> set[str]:
    """Passage texts either index returns for ``text``."""
    dense = {p.text for p, _ in store.dense_search(text, 50)}
    lexical = {p.text for p in store.get([pid for pid, _ in store.lexical_search(text, 50)])}
    return dense | lexical


def test_an_edited_document_replaces_its_passages_in_both_indexes(tmp_path: Path):
    corpus = write_small_corpus(tmp_path / "evidence")
    doc = write(corpus / "bridge.md", OLD, title="Bridge vote")
    verifier = make_verifier(tmp_path)
    first = verifier.ingest([corpus])
    store = verifier.store()
    assert OLD in retrievable(store, OLD)
    old_ids = set(store.passage_states(["bridge"])["bridge"])

    write(doc, NEW, title="Bridge vote")
    again = verifier.ingest([corpus])
    assert (again.replaced, again.unchanged, again.added, again.removed) == (1, first.documents - 1, 1, 1)
    assert store.get(sorted(old_ids)) == []
    assert store.lexical_search("zanzibarite", 5) == []
    assert all("zanzibarite" not in text for text in retrievable(store, OLD))
    assert NEW in retrievable(store, NEW)
    assert store.count() == first.passages  # one passage out, one in
    assert store.lexical.count() == store.count()
    # a fresh process reads the same, from the persisted lexical index
    reopened = make_verifier(tmp_path).store()
    assert reopened.lexical_search("zanzibarite", 5) == []
    assert [p.text for p in reopened.get([reopened.lexical_search("quokkalith", 1)[0][0]])] == [NEW]


def test_a_metadata_change_updates_the_stored_passages_without_new_ones(tmp_path: Path):
    corpus = tmp_path / "evidence"
    write(corpus / "bridge.md", OLD, title="Bridge vote")
    verifier = make_verifier(tmp_path)
    verifier.ingest([corpus])
    write(corpus / "bridge.md", OLD, title="Bridge vote (corrected)")
    stats = verifier.ingest([corpus])
    assert (stats.replaced, stats.added, stats.removed) == (1, 0, 0)
    assert [p.title for p in verifier.store().all_passages()] == ["Bridge vote (corrected)"]


def test_reingesting_unchanged_documents_writes_nothing(tmp_path: Path, small_corpus: Path):
    verifier = make_verifier(tmp_path)
    verifier.ingest([small_corpus])
    revision = verifier.store().revision()
    stats = verifier.ingest([small_corpus])
    assert stats.unchanged == stats.documents == 3 and stats.added == 0
    assert verifier.store().revision() == revision


def test_a_deleted_file_is_removed_by_prune_only(tmp_path: Path, small_corpus: Path):
    other = write(tmp_path / "elsewhere" / "kept.md", NEW)
    verifier = make_verifier(tmp_path)
    verifier.ingest([small_corpus, other.parent])
    (small_corpus / "sweden.md").unlink()
    kept = verifier.ingest([small_corpus])
    assert "sweden" in {d.doc_id for d in verifier.store().documents()}
    assert kept.pruned == 0
    pruned = verifier.ingest([small_corpus], prune=True)
    assert pruned.pruned == 1 and pruned.removed >= 1
    store = verifier.store()
    assert {d.doc_id for d in store.documents()} == {"finland", "vilnius", "kept"}  # another folder's stay
    assert store.lexical_search("Hungarian parliament", 5) == []
    assert all("Hungarian" not in p.text for p, _ in store.dense_search("Hungarian parliament Sweden", 50))


def test_two_files_with_one_name_in_different_folders_are_two_documents(tmp_path: Path):
    corpus = tmp_path / "evidence"
    write(corpus / "2023" / "x.md", OLD)
    write(corpus / "2024" / "x.md", NEW)
    write(corpus / "Top Story.md", "A top story about the Vilnius summit of July 2023.")
    verifier = make_verifier(tmp_path)
    stats = verifier.ingest([corpus])
    assert stats.documents == 3
    docs = {d.doc_id: d for d in verifier.store().documents()}
    assert set(docs) == {"2023/x", "2024/x", "top-story"}
    assert docs["2023/x"].source_root == str(corpus.resolve())
    assert docs["2024/x"].source_path == str(corpus / "2024" / "x.md")
    assert docs["2023/x"].ingested_at and docs["2023/x"].doc_hash


def test_a_front_matter_id_names_the_document_and_a_clash_is_an_error(tmp_path: Path):
    corpus = tmp_path / "evidence"
    write(corpus / "a.md", OLD, id="bridge-vote-2021", title="Bridge")
    verifier = make_verifier(tmp_path)
    verifier.ingest([corpus])
    assert [d.doc_id for d in verifier.store().documents()] == ["bridge-vote-2021"]
    write(corpus / "b.md", NEW, id="bridge-vote-2021")
    with pytest.raises(InputError, match="both document 'bridge-vote-2021'"):
        verifier.ingest([corpus])


def test_an_ingest_cut_short_is_finished_by_running_it_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    corpus = tmp_path / "evidence"
    for i in range(12):
        write(corpus / f"doc{i:02d}.md", f"Document {i} reports that {OLD} Figure {i * 17}.")
    clean = Verifier(
        VerifyConfig(
            extractor="windows", store_path=tmp_path / "clean", calibration="off", cache_dir=tmp_path / "cache"
        ),
        embedder=HashEmbedder(),
    )
    clean.ingest([corpus])
    verifier = make_verifier(tmp_path)
    store = verifier.store(create=True)
    writes = {"n": 0}
    original = store.write

    def failing_write(**kwargs):
        writes["n"] += 1
        if writes["n"] == 3:
            raise KeyboardInterrupt  # the process is stopped half-way
        return original(**kwargs)

    monkeypatch.setattr(store, "write", failing_write)
    with pytest.raises(KeyboardInterrupt):
        Ingester(store, chunk_size=600, chunk_overlap=100, batch_passages=4).run(iter_documents([corpus]))
    assert 0 < store.count() < 12
    monkeypatch.setattr(store, "write", original)
    resumed = verifier.ingest([corpus])
    assert resumed.unchanged > 0 and resumed.added == 12 - resumed.unchanged
    assert sorted(store.ids()) == sorted(clean.store().ids())
    assert store.lexical.count() == 12


def test_the_lexical_index_is_loaded_not_rebuilt_and_a_stale_one_is_brought_up_to_date(tmp_path: Path):
    corpus = write_small_corpus(tmp_path / "evidence")
    make_verifier(tmp_path).ingest([corpus])
    store = make_verifier(tmp_path).store()
    state = json.loads((store.lexical_path / STATE_FILE).read_text())
    assert state["revision"] == store.revision()
    assert store.refresh_lexical(force=True) is False  # up to date: nothing to do
    # the index loses a passage behind the store's back (a write cut short, a copied directory)
    victim = store.lexical_search("Haavisto", 1)[0][0]
    stale = LexicalIndex(store.lexical_path)
    stale.delete([victim])
    stale.commit("some-other-revision")
    fresh = make_verifier(tmp_path).store()
    assert fresh.lexical_search("Haavisto", 1)[0][0] == victim
    assert fresh.lexical.revision == fresh.revision()


def test_a_write_around_the_store_is_caught_by_a_forced_refresh_which_compares_counts(tmp_path: Path):
    corpus = write_small_corpus(tmp_path / "evidence")
    make_verifier(tmp_path).ingest([corpus])
    store = make_verifier(tmp_path).store(create=True)
    assert store.lexical.count() == store.count()
    vector = HashEmbedder().embed(["Zyxwv passage"])[0]
    store._collection.add(  # a raw Chroma write: the revision is not changed
        ids=["raw-1"],
        documents=["Zyxwv quorbles were counted in Tallinn."],
        embeddings=[vector],
        metadatas=[{"doc_id": "raw"}],
    )
    store.release()
    fresh = make_verifier(tmp_path).store()  # opening runs the routine check, which trusts the revision
    assert not fresh.lexical_search("Zyxwv quorbles", 1)
    assert fresh.refresh_lexical(force=True) is True
    assert fresh.lexical_search("Zyxwv quorbles", 1)[0][0] == "raw-1"


def test_a_store_from_before_the_lexical_index_gets_one_on_first_use(tmp_path: Path, small_corpus: Path):
    import shutil

    verifier = make_verifier(tmp_path)
    verifier.ingest([small_corpus])
    count = verifier.store().count()
    shutil.rmtree(verifier.store().lexical_path)
    store = make_verifier(tmp_path).store()
    assert store.lexical.count() == count
    assert store.lexical_search("Haavisto", 1)


# ----- verify store list|show|delete ------------------------------------------------------------


@pytest.fixture
def hash_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The CLI on a store ingested with hash embeddings (the embedding model named in the config)."""
    monkeypatch.setattr(verify.verifier, "make_embedder", lambda name: NamedHash())
    monkeypatch.setenv("VERIFY_STORE", str(tmp_path / "chroma"))
    monkeypatch.setenv("VERIFY_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


class NamedHash(HashEmbedder):
    name = "all-MiniLM-L6-v2"


def test_store_commands_list_show_and_delete_documents(hash_cli: Path, capsys: pytest.CaptureFixture[str]):
    corpus = write_small_corpus(hash_cli / "evidence")
    write(corpus / "sub" / "finland.md", OLD, title="Another Finland")
    assert main(["ingest", str(corpus)]) == 0
    capsys.readouterr()
    assert main(["store", "list"]) == 0
    out = capsys.readouterr().out
    assert "4 documents" in out and "all-MiniLM-L6-v2" in out and "up to date" in out
    assert "sub/finland\t1 passages" in out
    assert main(["store", "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["doc_id"] for r in rows} == {"finland", "sub/finland", "sweden", "vilnius"}
    assert main(["store", "show", "sub/finland"]) == 0
    out = capsys.readouterr().out
    assert "title: Another Finland" in out and "zanzibarite" in out
    assert main(["store", "delete", "sub/finland", "sweden"]) == 0
    assert "deleted 2 documents" in capsys.readouterr().out
    assert main(["store", "show", "sweden"]) == 2
    assert "no document 'sweden'" in capsys.readouterr().err
    assert main(["store", "delete", "nope"]) == 2
    store = EvidenceStore(NamedHash(), path=hash_cli / "chroma")
    assert {d.doc_id for d in store.documents()} == {"finland", "vilnius"}
    assert store.lexical_search("zanzibarite Hungarian", 5) == []


def test_ingest_prune_on_the_command_line(hash_cli: Path, capsys: pytest.CaptureFixture[str]):
    corpus = write_small_corpus(hash_cli / "evidence")
    assert main(["ingest", str(corpus)]) == 0
    (corpus / "vilnius.md").unlink()
    assert main(["ingest", str(corpus), "--prune"]) == 0
    assert "1 pruned" in capsys.readouterr().out
    store = EvidenceStore(NamedHash(), path=hash_cli / "chroma")
    assert {d.doc_id for d in store.documents()} == {"finland", "sweden"}


def test_files_of_one_name_and_two_types_in_a_folder_keep_their_suffix_in_the_id(tmp_path: Path):
    corpus = tmp_path / "evidence"
    write(corpus / "grain.md", OLD)
    (corpus / "grain.html").write_text(f"<html><body><p>{NEW}</p></body></html>", encoding="utf-8")
    write(corpus / "other.md", "The Vilnius summit of July 2023 set no timetable.")
    verifier = make_verifier(tmp_path)
    verifier.ingest([corpus])
    assert {d.doc_id for d in verifier.store().documents()} == {"grain-md", "grain-html", "other"}


def test_a_store_from_before_documents_is_upgraded_by_reingest_without_embedding_again(
    tmp_path: Path, small_corpus: Path
):
    verifier = make_verifier(tmp_path)
    store = verifier.store(create=True)
    old = [p for path in sorted(small_corpus.glob("[!R]*.md")) for p in verifier.passages_of(path)]
    store.add(old)  # as the earlier version stored them: no hash, folder or ingest time
    stats = verifier.ingest([small_corpus])
    assert (stats.added, stats.replaced, stats.removed) == (0, 3, 0)
    assert all(d.doc_hash and d.source_root and d.ingested_at for d in store.documents())
    assert verifier.ingest([small_corpus]).unchanged == 3
