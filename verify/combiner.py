"""A fitted combination of the judge's label probabilities with features computed in code.

A 1.5B model's label probabilities are weakly informative on their own: it rarely sees a
contradiction, and it calls "supported" whatever is on topic. Code sees things the model misses:
whether the claim's figures and names are in the cited sentence, how much of the claim the cited
sentence holds, whether one of them is negated. A multinomial logistic regression over both, fitted by
``verify eval combine`` on a development run and stored as plain JSON (coefficients, no pickle),
turns them into label probabilities. It is tied to the model and judge prompt like the priors are,
and it is only ever scored on items it was not fitted on.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from .calibration import find_fitted
from .evidence import NumberedPassages, cited_evidence, overlap
from .figures import figures, missing_figures
from .models import LABELS, Label
from .names import claim_names, missing_names

FEATURES = (
    "log_p_supported",
    "log_p_disputed",
    "log_p_unverifiable",
    "cited_overlap",
    "best_overlap",
    "claim_has_figures",
    "figures_missing_in_cited",
    "figures_missing_in_shown",
    "claim_has_names",
    "names_missing_in_cited",
    "names_missing_in_shown",
    "cited_has_other_figures",
    "best_score",
    "negation_differs",
)
_NEGATION = re.compile(r"\b(?:not|no|never|none|nor|without|n't|denied|rejected|refused|failed)\b", re.IGNORECASE)


def features(
    claim: str, numbered: NumberedPassages, cited_ids: list[str], probs: dict[Label, float]
) -> dict[str, float]:
    """The combiner's inputs for one judged claim (``probs``: the model's raw label probabilities)."""
    cited_texts, titles = cited_evidence(numbered, cited_ids)
    cited = " ".join(cited_texts)
    shown = [text for _, text in numbered.sentences.values()]
    has_figures = bool(figures(claim))
    has_names = bool(claim_names(claim))
    return {
        "log_p_supported": math.log(max(probs[Label.SUPPORTED], 1e-6)),
        "log_p_disputed": math.log(max(probs[Label.DISPUTED], 1e-6)),
        "log_p_unverifiable": math.log(max(probs[Label.UNVERIFIABLE], 1e-6)),
        "cited_overlap": overlap(claim, cited),
        "best_overlap": max((overlap(claim, s) for s in shown), default=0.0),
        "claim_has_figures": float(has_figures),
        "figures_missing_in_cited": float(has_figures and bool(missing_figures(claim, [cited]))),
        "figures_missing_in_shown": float(has_figures and bool(missing_figures(claim, shown))),
        "claim_has_names": float(has_names),
        "names_missing_in_cited": float(has_names and bool(missing_names(claim, [cited, *titles]))),
        "names_missing_in_shown": float(has_names and bool(missing_names(claim, shown + titles))),
        # a figure of the claim is absent and the cited sentence states another: a near miss or a wrong date
        "cited_has_other_figures": float(
            has_figures and bool(missing_figures(claim, [cited])) and bool(figures(cited) - figures(claim))
        ),
        "best_score": max(numbered.scores.values(), default=0.0),
        "negation_differs": float(bool(_NEGATION.search(claim)) != bool(_NEGATION.search(cited))),
    }


@dataclass(frozen=True)
class Combiner:
    model: str
    prompt_hash: str
    coef: dict[Label, dict[str, float]]  # per label, per feature (on standardised features)
    intercept: dict[Label, float]
    mean: dict[str, float]
    scale: dict[str, float]
    source: str
    fitted_on: str = ""

    def apply(self, feats: dict[str, float]) -> dict[Label, float]:
        z = {f: (feats[f] - self.mean[f]) / self.scale[f] for f in FEATURES}
        scores = {lab: self.intercept[lab] + sum(self.coef[lab][f] * z[f] for f in FEATURES) for lab in LABELS}
        top = max(scores.values())
        exp = {lab: math.exp(s - top) for lab, s in scores.items()}
        total = sum(exp.values())
        return {lab: v / total for lab, v in exp.items()}

    def to_json(self) -> str:
        return json.dumps(
            {
                "kind": "combiner",
                "model": self.model,
                "prompt_hash": self.prompt_hash,
                "features": list(FEATURES),
                "coef": {lab.value: {f: round(self.coef[lab][f], 6) for f in FEATURES} for lab in LABELS},
                "intercept": {lab.value: round(self.intercept[lab], 6) for lab in LABELS},
                "mean": {f: round(self.mean[f], 6) for f in FEATURES},
                "scale": {f: round(self.scale[f], 6) for f in FEATURES},
                "fitted_on": self.fitted_on,
            },
            indent=2,
        )

    @classmethod
    def load(cls, path: Path) -> Combiner:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("kind") != "combiner" or tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path}: not a combiner for this version's features")
        return cls(
            model=data["model"],
            prompt_hash=data["prompt_hash"],
            coef={Label(k): {f: float(v[f]) for f in FEATURES} for k, v in data["coef"].items()},
            intercept={Label(k): float(v) for k, v in data["intercept"].items()},
            mean={f: float(data["mean"][f]) for f in FEATURES},
            scale={f: float(data["scale"][f]) or 1.0 for f in FEATURES},
            source=str(path),
            fitted_on=data.get("fitted_on", ""),
        )


def find_combiner(directory: Path, model: str, prompt_hash: str) -> Combiner | None:
    """The combiner file in ``directory`` fitted for this model and judge prompt, if any."""
    return find_fitted(directory, model, prompt_hash, Combiner.load)
