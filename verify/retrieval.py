"""Hybrid retrieval: dense (Chroma) and lexical (BM25, the store's persistent index) candidates
fused by reciprocal rank, then near-duplicate passages (overlapping chunks, reprinted text) removed.
Nothing is held in memory per passage: lexical hits are read from Chroma by id."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .config import VerifyConfig
from .lexical import negations, tokenize
from .models import EvidencePassage
from .store import EvidenceStore

RRF_K = 60


@dataclass(frozen=True)
class Retrieved:
    passage: EvidencePassage
    score: float
    dense_rank: int | None
    lexical_rank: int | None


def jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


class HybridRetriever:
    def __init__(
        self,
        store: EvidenceStore,
        *,
        top_k: int,
        dense_candidates: int,
        lexical_candidates: int,
        near_duplicate_jaccard: float,
    ) -> None:
        self.store = store
        self.top_k = top_k
        self.dense_candidates = dense_candidates
        self.lexical_candidates = lexical_candidates
        self.near_duplicate_jaccard = near_duplicate_jaccard
        # the lexical side of each retrieval runs here, beside the dense search in the caller's thread
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="verify-lexical")
        store.lexical  # noqa: B018 -- opened (and brought up to date) now, not at the first claim
        store.warm_up()  # Chroma's vector index loads in the background meanwhile

    @classmethod
    def from_config(cls, store: EvidenceStore, config: VerifyConfig) -> HybridRetriever:
        return cls(
            store,
            top_k=config.top_k,
            dense_candidates=config.dense_candidates,
            lexical_candidates=config.lexical_candidates,
            near_duplicate_jaccard=config.near_duplicate_jaccard,
        )

    def _lexical_hits(self, query: str) -> tuple[list[tuple[str, float]], list[EvidencePassage]]:
        """The lexical candidates and their passages (read from Chroma by id; a hit that is also a
        dense candidate is read twice rather than waiting for the dense search)."""
        hits = self.store.lexical_search(query, self.lexical_candidates)
        return hits, self.store.get([pid for pid, _ in hits])

    def retrieve(self, query: str, *, vector: list[float] | None = None) -> list[Retrieved]:
        """The top passages for ``query`` (``vector``: its embedding, when the caller has it)."""
        self.store.refresh_lexical()
        # the lexical side (its search, then its hits read from Chroma) runs beside the dense search
        lexical_side = self._pool.submit(self._lexical_hits, query)
        dense = self.store.dense_search(query, self.dense_candidates, vector=vector)
        lexical, lexical_passages = lexical_side.result()
        by_id = {p.id: p for p in lexical_passages}
        by_id.update({p.id: p for p, _ in dense})
        lexical = [(pid, score) for pid, score in lexical if pid in by_id]  # gone from Chroma meanwhile
        fused: dict[str, float] = {}
        dense_rank: dict[str, int] = {}
        lexical_rank: dict[str, int] = {}
        for rank, (passage, _) in enumerate(dense, 1):
            dense_rank[passage.id] = rank
            fused[passage.id] = fused.get(passage.id, 0.0) + 1.0 / (RRF_K + rank)
        for rank, (pid, _) in enumerate(lexical, 1):
            lexical_rank[pid] = rank
            fused[pid] = fused.get(pid, 0.0) + 1.0 / (RRF_K + rank)
        ordered = sorted(fused.items(), key=lambda kv: kv[1], reverse=True)
        chosen: list[Retrieved] = []
        token_sets: list[tuple[set[str], frozenset[str]]] = []
        for pid, score in ordered:
            passage = by_id[pid]
            tokens, negated = set(tokenize(passage.text)), negations(passage.text)
            # near-duplicates share their words and their negations: "sent no troops" is other evidence
            if any(
                jaccard(tokens, seen) >= self.near_duplicate_jaccard and negated == seen_negated
                for seen, seen_negated in token_sets
            ):
                continue
            token_sets.append((tokens, negated))
            chosen.append(Retrieved(passage, score, dense_rank.get(pid), lexical_rank.get(pid)))
            if len(chosen) == self.top_k:
                break
        return chosen
