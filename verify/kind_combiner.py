"""A fitted combination of the kind step's P(checkable) with features computed in code.

The 1.5B model's P(checkable) puts almost every claim between 0.6 and 0.85, so one threshold on it
either lets most opinions through or sets aside many facts (``evals/RESULTS.md`` section 11). What
a statement of fact usually has and a judgement usually lacks is visible in code: figures and dates,
names, an attribution verb ("said", "announced"), future or modal wording. A logistic regression over
the model's log-odds and these features, fitted by ``verify eval combine`` on a development run of
the kind gold (``evals/kind_gold.jsonl``), turns them into the probability that decides the kind,
with its own threshold chosen on out-of-fold predictions of the same development run. It is stored
as plain JSON (coefficients, no pickle), tied to the model and the ``classify_claim`` prompt like
the judge's combiner, and only ever scored on items it was not fitted on.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from .calibration import find_fitted
from .figures import figures
from .names import claim_names

FEATURES = ("log_odds", "future", "figures", "names", "attribution", "words")
_FUTURE = re.compile(r"\b(will|shall|going to|expected to|likely to|could|may|might|would)\b", re.IGNORECASE)
_ATTRIBUTION = re.compile(
    r"\b(said|says|stated|announced|told|declared|according to|wrote|claimed|insisted|admitted|warned)\b",
    re.IGNORECASE,
)


def kind_features(claim: str, probability: float) -> dict[str, float]:
    """The combiner's inputs for one claim and the model's raw P(checkable)."""
    p = min(max(probability, 1e-4), 1 - 1e-4)
    return {
        "log_odds": math.log(p / (1 - p)),
        "future": float(bool(_FUTURE.search(claim))),
        "figures": float(bool(figures(claim))),
        "names": float(len(claim_names(claim))),
        "attribution": float(bool(_ATTRIBUTION.search(claim))),
        "words": float(len(claim.split())),
    }


@dataclass(frozen=True)
class KindCombiner:
    model: str
    prompt_hash: str
    coef: dict[str, float]  # on standardised features
    intercept: float
    mean: dict[str, float]
    scale: dict[str, float]
    threshold: float  # the combined P(checkable) from which a claim is a fact
    source: str
    fitted_on: str = ""

    def apply(self, claim: str, probability: float) -> float:
        feats = kind_features(claim, probability)
        z = self.intercept + sum(self.coef[f] * (feats[f] - self.mean[f]) / self.scale[f] for f in FEATURES)
        return 1 / (1 + math.exp(-z))

    def to_json(self) -> str:
        return json.dumps(
            {
                "kind": "kind-combiner",
                "model": self.model,
                "prompt_hash": self.prompt_hash,
                "features": list(FEATURES),
                "coef": {f: round(self.coef[f], 6) for f in FEATURES},
                "intercept": round(self.intercept, 6),
                "mean": {f: round(self.mean[f], 6) for f in FEATURES},
                "scale": {f: round(self.scale[f], 6) for f in FEATURES},
                "threshold": self.threshold,
                "fitted_on": self.fitted_on,
            },
            indent=2,
        )

    @classmethod
    def load(cls, path: Path) -> KindCombiner:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("kind") != "kind-combiner" or tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path}: not a kind combiner for this version's features")
        return cls(
            model=data["model"],
            prompt_hash=data["prompt_hash"],
            coef={f: float(data["coef"][f]) for f in FEATURES},
            intercept=float(data["intercept"]),
            mean={f: float(data["mean"][f]) for f in FEATURES},
            scale={f: float(data["scale"][f]) or 1.0 for f in FEATURES},
            threshold=float(data["threshold"]),
            source=str(path),
            fitted_on=data.get("fitted_on", ""),
        )


def find_kind_combiner(directory: Path, model: str, prompt_hash: str) -> KindCombiner | None:
    """The kind combiner in ``directory`` fitted for this model and kind prompt, if any."""
    return find_fitted(directory, model, prompt_hash, KindCombiner.load)


def fit_kind_combiner(
    texts: list[str],
    probabilities: list[float],
    is_fact: list[bool],
    *,
    model: str,
    prompt_hash: str,
    threshold: float,
    c: float = 0.5,
    fitted_on: str = "",
) -> KindCombiner:
    """A logistic regression of gold fact / not on the features (scikit-learn, L2 with strength 1/c)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    if len(set(is_fact)) < 2:
        raise ValueError("fitting a kind combiner needs gold facts and gold non-facts")
    x = np.array([[kind_features(t, p)[f] for f in FEATURES] for t, p in zip(texts, probabilities, strict=True)])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, np.array(is_fact, dtype=int))
    return KindCombiner(
        model=model,
        prompt_hash=prompt_hash,
        coef=dict(zip(FEATURES, map(float, lr.coef_[0]), strict=True)),
        intercept=float(lr.intercept_[0]),
        mean=dict(zip(FEATURES, map(float, mean), strict=True)),
        scale=dict(zip(FEATURES, map(float, scale), strict=True)),
        threshold=threshold,
        source="fitted",
        fitted_on=fitted_on,
    )
