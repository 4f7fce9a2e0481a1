"""Evidence as the judge sees it: the sentences of the retrieved passages that bear on the claim.

Four 600-character chunks cost ~700 prompt tokens per claim and bury the one sentence that decides
it. ``select_evidence`` keeps the few sentences most similar to the claim (embedding cosine plus the
share of the claim's content words they hold), adds the sentence before a selected one when the
selected one leans on it ("He said ...", "The vote ..."), and shows them under a compact header per
passage. Sentence ids (``2.3`` = passage 2, sentence 3) keep the passage's own numbering, so a
citation maps back to verbatim passage text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .fences import data_line
from .lexical import tokenize
from .models import EvidencePassage
from .sentences import split_sentences

# texts -> one similarity to the claim per text (cosine of unit vectors); ``None`` = lexical only
Similarity = Callable[[str, list[str]], list[float]]

_LEANS_BACK = re.compile(
    r"^(?:he|she|it|they|this|that|these|those|his|her|its|their|there|the (?:vote|deal|move|decision|"
    r"agreement|summit|meeting|statement|figure|total|same)|both|such|then|also|however|but)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class NumberedPassages:
    """Passages as shown to the judge: each shown sentence with an id like ``2.3``."""

    passages: list[EvidencePassage]
    sentences: dict[str, tuple[int, str]]  # sentence id -> (passage number, sentence text), shown ones
    text: str
    ranked: list[str] = field(default_factory=list)  # the selected sentence ids, most similar to the claim first
    scores: dict[str, float] = field(default_factory=dict)  # sentence id -> similarity to the claim (overlap + cosine)


def _header(p: EvidencePassage) -> str:
    """One compact line per source document: its title and date (the date matters for claims about
    when something happened)."""
    return (p.title or p.doc_id) + (f" ({p.date})" if p.date else "")


def overlap(claim: str, sentence: str) -> float:
    """Share of the claim's content words that the sentence holds."""
    want = set(tokenize(claim))
    return len(want & set(tokenize(sentence))) / len(want) if want else 0.0


def select_evidence(
    claim: str,
    passages: list[EvidencePassage],
    *,
    max_sentences: int = 0,
    similarity: Similarity | None = None,
) -> NumberedPassages:
    """The sentences of ``passages`` to show for ``claim``: all of them when ``max_sentences`` is 0
    or the passages hold no more than that, else the best ``max_sentences`` (plus the sentence each
    leans on), in passage order."""
    split = [[s.text for s in split_sentences(p.text)] for p in passages]
    flat, seen = [], set()
    for pi, sents in enumerate(split):
        for si, text in enumerate(sents):
            if text not in seen:  # overlapping chunks repeat sentences: show each once
                seen.add(text)
                flat.append((pi, si))
    texts = [split[pi][si] for pi, si in flat]
    scores = [overlap(claim, t) for t in texts] if claim else [0.0] * len(texts)
    if similarity is not None and claim and texts:
        scores = [a + b for a, b in zip(scores, similarity(claim, texts), strict=True)]
    order = sorted(range(len(flat)), key=lambda i: (-scores[i], i))
    ranked = [f"{flat[i][0] + 1}.{flat[i][1] + 1}" for i in order]
    by_id = {f"{pi + 1}.{si + 1}": score for (pi, si), score in zip(flat, scores, strict=True)}
    keep: set[tuple[int, int]] = set(flat)
    if max_sentences and len(flat) > max_sentences:
        ranked = ranked[:max_sentences]
        keep = {flat[i] for i in order[:max_sentences]}
        shown_once = set(flat)
        for pi, si in list(keep):
            if si > 0 and _LEANS_BACK.match(split[pi][si]) and (pi, si - 1) in shown_once:
                keep.add((pi, si - 1))
    # one block per source document, in the order documents were retrieved
    blocks: dict[str, list[str]] = {}
    heads: dict[str, str] = {}
    sentences: dict[str, tuple[int, str]] = {}
    for pi, p in enumerate(passages):
        for si, text in enumerate(split[pi]):
            if (pi, si) not in keep:
                continue
            sid = f"{pi + 1}.{si + 1}"
            sentences[sid] = (pi + 1, text)
            heads.setdefault(p.doc_id, data_line(_header(p)))
            blocks.setdefault(p.doc_id, []).append(f"({sid}) {data_line(text)}")
    text = "\n\n".join(heads[doc] + "\n" + " ".join(body) for doc, body in blocks.items())
    return NumberedPassages(passages, sentences, text, ranked, {sid: by_id[sid] for sid in sentences if sid in by_id})


def number_passages(passages: list[EvidencePassage]) -> NumberedPassages:
    """Every sentence of every passage, numbered."""
    return select_evidence("", passages)


def context_of(numbered: NumberedPassages, sentence_id: str) -> str:
    """A cited sentence with the sentence before it when it leans on it, for the code checks."""
    number, text = numbered.sentences[sentence_id]
    if _LEANS_BACK.match(text):
        s_no = sentence_id.split(".")[1]
        sents = split_sentences(numbered.passages[number - 1].text)
        if int(s_no) >= 2:
            return sents[int(s_no) - 2].text + " " + text
    return text


def cited_evidence(numbered: NumberedPassages, sentence_ids: list[str]) -> tuple[list[str], list[str]]:
    """What the code checks read for a set of cited sentence ids: each shown one with the sentence it
    leans on, and the titles of their passages."""
    good = [sid for sid in sentence_ids if sid in numbered.sentences]
    texts = [context_of(numbered, sid) for sid in good]
    titles = [t for sid in good if (t := numbered.passages[numbered.sentences[sid][0] - 1].title)]
    return texts, titles
