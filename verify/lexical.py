"""A small in-memory BM25 (Okapi) index over passages, for the lexical half of hybrid retrieval."""

from __future__ import annotations

import math
import re
from collections import Counter

_TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "she",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "which",
        "who",
        "will",
        "with",
        "would",
        "you",
        "not",
        "no",
        "than",
        "then",
        "there",
        "these",
        "those",
        "also",
        "into",
        "over",
        "after",
        "before",
        "about",
        "said",
        "says",
    ]
)


def tokenize(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


class BM25Index:
    def __init__(self, ids: list[str], texts: list[str], *, k1: float = 1.5, b: float = 0.75) -> None:
        self.ids = ids
        self._k1, self._b = k1, b
        self._docs = [Counter(tokenize(t)) for t in texts]
        self._lengths = [sum(d.values()) for d in self._docs]
        self._avg = (sum(self._lengths) / len(self._lengths)) if self._lengths else 0.0
        df: Counter[str] = Counter()
        for doc in self._docs:
            df.update(doc.keys())
        n = len(self._docs)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        terms = set(tokenize(query))
        scores: list[tuple[str, float]] = []
        for pid, doc, length in zip(self.ids, self._docs, self._lengths, strict=True):
            score = 0.0
            for term in terms:
                tf = doc.get(term)
                if not tf:
                    continue
                norm = tf + self._k1 * (1 - self._b + self._b * length / (self._avg or 1.0))
                score += self._idf[term] * tf * (self._k1 + 1) / norm
            if score > 0:
                scores.append((pid, score))
        scores.sort(key=lambda s: s[1], reverse=True)
        return scores[:n]
