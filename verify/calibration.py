"""Label probabilities from the judge's logprobs, and bias correction.

Small models put most of their probability on one label whatever the evidence. Dividing each label's
probability by the model's mean probability for that label on a calibration set (a "prior") removes
that bias. Priors are fitted by ``verify eval calibrate`` and stored as JSON, tied to the model name
and the judge prompt's hash; a file for another model or prompt version is not applied.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .llm import TokenLogprob, value_of_token
from .models import LABELS, Label

T = TypeVar("T")

_VALUE_START = re.compile(r'"label"\s*:\s*"')


def label_position(logprobs: list[TokenLogprob]) -> TokenLogprob | None:
    """The token where the model started writing the label value.

    Token texts do not always add up to the message text (whitespace and byte-level pieces), so the
    position is found by scanning tokens: after the token that spells the ``label`` key, the first
    token that is not punctuation or whitespace.
    """
    seen_key = False
    for item in logprobs:
        piece = item.token.strip().strip('":{, \n').lower()
        if not seen_key:
            seen_key = piece.endswith("label")
            if seen_key and value_of_token(item.token.split("label", 1)[1], LABELS) is not None:
                return None  # key and value fused in one token: no clean position
            continue
        if piece:
            return item
    return None


def label_probabilities(text: str, logprobs: list[TokenLogprob] | None) -> dict[Label, float] | None:
    """Probability of each label at the position where the model wrote the label value."""
    if not logprobs or not _VALUE_START.search(text):
        return None
    token = label_position(logprobs)
    if token is None:
        return None
    return label_distribution(token)


def label_distribution(token: TokenLogprob) -> dict[Label, float] | None:
    """Probability of each label at one token that starts writing a label (None if it does not)."""
    if value_of_token(token.token, LABELS) is None:
        return None
    alternatives = token.top or ((token.token, token.logprob),)
    mass: dict[Label, float] = dict.fromkeys(LABELS, 0.0)
    for tok, logprob in alternatives:
        label = value_of_token(tok, LABELS)
        if label is not None:
            mass[label] += math.exp(logprob)
    floor = math.exp(min(lp for _, lp in alternatives)) / 2
    for label in LABELS:
        if mass[label] == 0.0:
            mass[label] = floor
    total = sum(mass.values())
    return {label: value / total for label, value in mass.items()}


@dataclass(frozen=True)
class Calibration:
    model: str
    prompt_hash: str
    priors: dict[Label, float]
    source: str
    fitted_on: str = ""

    def apply(self, probs: dict[Label, float]) -> dict[Label, float]:
        scaled = {label: probs[label] / max(self.priors[label], 1e-6) for label in LABELS}
        total = sum(scaled.values())
        return {label: value / total for label, value in scaled.items()}

    def to_json(self) -> str:
        return json.dumps(
            {
                "model": self.model,
                "prompt_hash": self.prompt_hash,
                "priors": {label.value: round(p, 6) for label, p in self.priors.items()},
                "fitted_on": self.fitted_on,
            },
            indent=2,
        )

    @classmethod
    def load(cls, path: Path) -> Calibration:
        data = json.loads(path.read_text(encoding="utf-8"))
        priors = {Label(k): float(v) for k, v in data["priors"].items()}
        if set(priors) != set(LABELS) or min(priors.values()) <= 0:
            raise ValueError(f"{path}: priors must give a positive value for each of {[x.value for x in LABELS]}")
        if len(str(data["prompt_hash"])) < 8:
            raise ValueError(f"{path}: prompt_hash must hold at least 8 hex digits")
        return cls(
            model=data["model"],
            prompt_hash=data["prompt_hash"],
            priors=priors,
            source=str(path),
            fitted_on=data.get("fitted_on", ""),
        )

    @classmethod
    def fit(cls, probs: list[dict[Label, float]], *, model: str, prompt_hash: str, fitted_on: str) -> Calibration:
        if not probs:
            raise ValueError("no label probabilities to fit on")
        priors = {label: sum(p[label] for p in probs) / len(probs) for label in LABELS}
        return cls(model=model, prompt_hash=prompt_hash, priors=priors, source="fitted", fitted_on=fitted_on)


def find_fitted(directory: Path, model: str, prompt_hash: str, load: Callable[[Path], T]) -> T | None:
    """The first JSON file in ``directory`` that ``load`` accepts and that was fitted for this model
    and judge prompt (files of another kind or version are skipped)."""
    if not directory.is_dir():
        return None
    for path in sorted(directory.glob("*.json")):
        try:
            fitted = load(path)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        if fitted.model == model and prompt_hash.startswith(fitted.prompt_hash):  # type: ignore[attr-defined]
            return fitted
    return None


def find_calibration(directory: Path, model: str, prompt_hash: str) -> Calibration | None:
    """The calibration file in ``directory`` fitted for this model and judge prompt, if any."""
    return find_fitted(directory, model, prompt_hash, Calibration.load)
