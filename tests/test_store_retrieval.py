from __future__ import annotations

import threading
from pathlib import Path

import pytest

from verify.chunking import chunk_document, passage_id
from verify.config import VerifyConfig
from verify.documents import SourceDocument, load_document
from verify.errors import CollectionMissingError, EmbeddingMismatchError
from verify.lexical import LexicalIndex, tokenize
from verify.models import EvidencePassage
from verify.retrieval import HybridRetriever
from verify.store import EvidenceStore
from verify.testing import FakeChatModel, HashEmbedder
from verify.verifier import Verifier


class OtherEmbedder(HashEmbedder):
    name = "another-embedder"


def passage(pid: str, text: str, doc_id: str = "doc") -> EvidencePassage:
    return EvidencePassage(id=pid, doc_id=doc_id, text=text, title=f"Title {pid}", url=f"https://x.test/{pid}")


FILLER = [
    passage("p-finland", "Finland became the 31st member of NATO on 4 April 2023 in Brussels."),
    passage("p-sweden", "Sweden became the 32nd member of NATO on 7 March 2024 after a Hungarian vote."),
    passage("p-vilnius", "The Vilnius summit in July 2023 set no timetable for Ukrainian membership."),
    passage("p-grain", "Russia left the Black Sea Grain Initiative on 17 July 2023."),
    passage("p-shells", "The European Union planned to deliver one million artillery shells to Ukraine."),
    passage("p-budapest", "The Budapest Memorandum of 1994 gave security assurances to Ukraine."),
    passage("p-kosovo", "UN Security Council resolution 1244 was adopted in June 1999 on Kosovo."),
]


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    store = EvidenceStore(HashEmbedder(), path=tmp_path / "chroma", create=True)
    store.add(FILLER)
    return store


def retriever_for(store: EvidenceStore, top_k: int = 3, jaccard: float = 0.8) -> HybridRetriever:
    return HybridRetriever(
        store, top_k=top_k, dense_candidates=20, lexical_candidates=20, near_duplicate_jaccard=jaccard
    )


# ----- ingest through the Verifier ---------------------------------------------------------------


def test_ingesting_the_same_folder_twice_adds_nothing_the_second_time(tmp_path: Path, small_corpus: Path):
    verifier = Verifier(
        VerifyConfig(extractor="windows", kind_classifier=False, store_path=tmp_path / "chroma", calibration="off"),
        chat=FakeChatModel(),
        embedder=HashEmbedder(),
    )
    first = verifier.ingest([small_corpus])
    second = verifier.ingest([small_corpus])
    assert first.documents == 3  # README.md is skipped
    assert first.passages >= 3
    assert first.added == first.passages
    assert (second.added, second.skipped_existing) == (0, first.passages)
    assert verifier.store().count() == first.passages


def test_reingest_with_a_fresh_verifier_on_the_same_store_adds_nothing(tmp_path: Path, small_corpus: Path):
    config = VerifyConfig(extractor="windows", kind_classifier=False, store_path=tmp_path / "chroma", calibration="off")
    first = Verifier(config, chat=FakeChatModel(), embedder=HashEmbedder()).ingest([small_corpus])
    again = Verifier(config, chat=FakeChatModel(), embedder=HashEmbedder()).ingest([small_corpus])
    assert first.added > 0
    assert again.added == 0


def test_ingested_passages_keep_their_document_metadata(verifier: Verifier, small_corpus: Path):
    verifier.ingest([small_corpus])
    passages = verifier.store().all_passages()
    finland = [p for p in passages if p.doc_id == "finland"]
    assert finland
    assert finland[0].title == "Finland joins NATO"
    assert finland[0].url == "https://example.org/finland.md"
    assert finland[0].source_path == str(small_corpus / "finland.md")
    doc_text = load_document(small_corpus / "finland.md").text
    assert all(p.text in doc_text for p in finland)


# ----- passage ids -------------------------------------------------------------------------------


def test_passage_ids_are_content_hashes(tmp_path: Path, small_corpus: Path):
    stores = []
    for name in ("one", "two"):
        v = Verifier(
            VerifyConfig(extractor="windows", kind_classifier=False, store_path=tmp_path / name, calibration="off"),
            chat=FakeChatModel(),
            embedder=HashEmbedder(),
        )
        v.ingest([small_corpus])
        stores.append({p.id: p.text for p in v.store().all_passages()})
    assert stores[0] == stores[1]


def test_same_text_same_id_and_different_text_or_document_different_id():
    assert passage_id("finland", "Finland joined NATO.") == passage_id("finland", "Finland joined NATO.")
    assert passage_id("finland", "Finland joined NATO.") != passage_id("finland", "Sweden joined NATO.")
    assert passage_id("finland", "Finland joined NATO.") != passage_id("sweden", "Finland joined NATO.")


def test_chunking_is_deterministic_and_chunks_are_substrings():
    text = " ".join(f"Sentence {i} talks about NATO enlargement and the year {1990 + i}." for i in range(60))
    doc = SourceDocument(doc_id="long", text=text, path="long.txt", meta={"title": "Long"})
    first = chunk_document(doc, chunk_size=300, chunk_overlap=50)
    second = chunk_document(doc, chunk_size=300, chunk_overlap=50)
    assert len(first) > 5
    assert [p.id for p in first] == [p.id for p in second]
    assert len({p.id for p in first}) == len(first)
    assert all(p.text in text and len(p.text) <= 300 for p in first)
    assert all(p.title == "Long" for p in first)


# ----- store errors ------------------------------------------------------------------------------


def test_reopening_with_another_embedding_model_is_refused(store: EvidenceStore, tmp_path: Path):
    with pytest.raises(EmbeddingMismatchError):
        EvidenceStore(OtherEmbedder(), path=tmp_path / "chroma")
    with pytest.raises(EmbeddingMismatchError):
        EvidenceStore(OtherEmbedder(), path=tmp_path / "chroma", create=True)


def test_missing_store_path_raises_collection_missing(tmp_path: Path):
    with pytest.raises(CollectionMissingError, match="verify ingest"):
        EvidenceStore(HashEmbedder(), path=tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()


def test_missing_collection_in_an_existing_store_raises_collection_missing(store: EvidenceStore, tmp_path: Path):
    with pytest.raises(CollectionMissingError):
        EvidenceStore(HashEmbedder(), path=tmp_path / "chroma", collection="not-there")


def test_empty_collection_fails_require_passages(tmp_path: Path):
    store = EvidenceStore(HashEmbedder(), path=tmp_path / "chroma", create=True)
    assert store.count() == 0
    with pytest.raises(CollectionMissingError, match="empty"):
        store.require_passages()


def test_a_collection_written_around_the_lexical_index_is_not_taken_for_empty(tmp_path: Path):
    store = EvidenceStore(HashEmbedder(), path=tmp_path / "chroma", create=True)
    p = FILLER[0]
    store._collection.add(ids=[p.id], documents=[p.text], embeddings=HashEmbedder().embed([p.text]))
    assert store.lexical.count() == 0  # no revision change: the routine check does not see the write
    store.require_passages()  # Chroma's own count decides when the lexical index holds nothing


def test_building_a_retriever_loads_the_vector_index_once_in_the_background(store: EvidenceStore):
    assert store._warm_up is None
    retriever = retriever_for(store)
    started = store._warm_up
    assert started is not None and started.ident is not None
    assert store.warm_up() is started  # once per store
    started.join(timeout=60)
    assert not started.is_alive()
    assert retriever.retrieve("Finland joined NATO on 4 April 2023")[0].passage.id == "p-finland"


class NarrowEmbedder(HashEmbedder):
    dimension = 7  # not the collection's: every dense query fails


def test_a_failed_warm_up_is_logged_and_the_first_query_reports_the_error(
    store: EvidenceStore, caplog: pytest.LogCaptureFixture
):
    store.embedder = NarrowEmbedder()
    with caplog.at_level("DEBUG", logger="verify"):
        store.warm_up().join(timeout=60)
    assert "warming the vector index" in caplog.text
    with pytest.raises(Exception, match=r"(?i)dimension"):
        store.dense_search("Finland", 3)


def test_store_round_trips_passages(store: EvidenceStore):
    assert store.count() == len(FILLER)
    by_id = {p.id: p for p in store.all_passages()}
    assert set(by_id) == {p.id for p in FILLER}
    assert by_id["p-kosovo"] == FILLER[-1]


def test_adding_known_passages_again_is_skipped(store: EvidenceStore):
    extra = passage("p-new", "A new passage about the Minsk agreements of 2015.")
    assert store.add([*FILLER[:2], extra]) == (1, 2)
    assert store.count() == len(FILLER) + 1


def test_dense_search_ranks_the_same_text_first(store: EvidenceStore):
    hits = store.dense_search(FILLER[3].text, 3)
    assert hits[0][0].id == "p-grain"
    assert hits[0][1] == pytest.approx(1.0, abs=1e-4)
    assert len(hits) == 3


# ----- hybrid retrieval --------------------------------------------------------------------------


def test_retriever_returns_top_k_distinct_passages(store: EvidenceStore):
    results = retriever_for(store, top_k=3).retrieve("When did Finland join NATO?")
    assert len(results) == 3
    assert len({r.passage.id for r in results}) == 3
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_passage_matching_query_words_lexically_ranks_in(store: EvidenceStore):
    results = retriever_for(store, top_k=2).retrieve("security resolution 1244 on Kosovo")
    kosovo = next(r for r in results if r.passage.id == "p-kosovo")
    assert kosovo.lexical_rank == 1
    assert results[0].passage.id == "p-kosovo"


def test_the_lexical_side_runs_beside_the_dense_search_and_its_error_reaches_the_caller(
    store: EvidenceStore, monkeypatch: pytest.MonkeyPatch
):
    retriever = retriever_for(store, top_k=2)
    caller = threading.get_ident()
    threads: list[int] = []
    search = store.lexical_search

    def recorded(query: str, n: int) -> list[tuple[str, float]]:
        threads.append(threading.get_ident())
        return search(query, n)

    monkeypatch.setattr(store, "lexical_search", recorded)
    assert retriever.retrieve("security resolution 1244 on Kosovo")[0].passage.id == "p-kosovo"
    assert threads and caller not in threads

    def failing(query: str, n: int) -> list[tuple[str, float]]:
        raise OSError("lexical index unreadable")

    monkeypatch.setattr(store, "lexical_search", failing)
    with pytest.raises(OSError, match="lexical index unreadable"):
        retriever.retrieve("Finland")


def test_near_duplicate_passages_are_removed(store: EvidenceStore):
    store.add([passage("p-finland-copy", "Finland became the 31st member of NATO on 4 April 2023 in Brussels!")])
    results = retriever_for(store, top_k=4).retrieve("Finland 31st member of NATO April 2023")
    ids = [r.passage.id for r in results]
    assert len(ids) == 4
    assert len({"p-finland", "p-finland-copy"} & set(ids)) == 1


def test_distinct_passages_are_kept_when_below_the_jaccard_threshold(store: EvidenceStore):
    results = retriever_for(store, top_k=7, jaccard=0.99).retrieve("NATO member")
    assert len(results) == 7


# ----- BM25 --------------------------------------------------------------------------------------


def lexical_index(ids: list[str], texts: list[str]) -> LexicalIndex:
    index = LexicalIndex()
    index.add((pid, "doc", text) for pid, text in zip(ids, texts, strict=True))
    index.commit("r1")
    return index


def test_bm25_ranks_the_document_with_the_rare_term_first():
    texts = [
        "NATO leaders met in Vilnius and discussed NATO defence spending and NATO plans.",
        "Foreign Minister Pekka Haavisto handed over the instrument for NATO.",
        "NATO allies agreed on NATO plans for NATO air defence.",
    ]
    index = lexical_index(["a", "b", "c"], texts)
    results = index.search("Haavisto NATO", 3)
    assert results[0][0] == "b"
    assert len(results) == 3


def test_bm25_returns_only_matching_documents_up_to_n():
    index = lexical_index(["a", "b", "c"], ["grain deal", "grain exports fell", "artillery shells"])
    assert [pid for pid, _ in index.search("grain", 5)] in (["a", "b"], ["b", "a"])
    assert len(index.search("grain", 1)) == 1
    assert index.search("submarine", 5) == []
    assert index.search("the of and", 5) == []


def test_tokenize_drops_stopwords_and_keeps_numbers_whole():
    assert tokenize("The vote was 182 to 6, and spending rose 2.5% to 1,000 euros.") == [
        "vote",
        "182",
        "6",
        "spending",
        "rose",
        "2.5",
        "1,000",
        "euros",
    ]


def test_a_negated_copy_of_a_passage_is_not_removed_as_a_near_duplicate(store: EvidenceStore):
    store.add([passage("p-finland-not", "Finland was not the 31st member of NATO on 4 April 2023 in Brussels.")])
    results = retriever_for(store, top_k=4).retrieve("Finland 31st member of NATO April 2023")
    assert {"p-finland", "p-finland-not"} <= {r.passage.id for r in results}
