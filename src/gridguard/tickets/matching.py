"""Whether a new ticket reports the same clue as an open case: the same concrete problem at
the same place, however differently it is worded.

Reworded reports of one clue share few characters ("门口保安不查出入证" against "谁都能随便
进来"), so words alone miss them; what they share is the place and the kind of problem. The
decision therefore needs, in this order:
1. the same place: a shared place key (places.py); without any place key on either side only
   near-copies (forwarded text) can match;
2. the same problem: the classifier's probability profiles are alike (two texts the model
   reads as the same subclass, or as the same mix of neighbouring subclasses);
3. enough shared wording once place names and channel boilerplate are removed, weighed in.
Candidates are the open cases of the window (settings.TICKET_MERGE_WINDOW) found under the
new ticket's place keys; the best one above the line is joined.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gridguard.tickets import places
from gridguard.tickets.classifier import Prediction, normalise

# Set by hand and checked on data/tickets/merge/dev.jsonl (precision 0.99, recall 0.70);
# bench/ticket_quality.py reports both sets. A learned pair scorer is the next step.
SAME_PLACE_LINE = 0.55
ROAD_ONLY_LINE = 0.75
NO_PLACE_LINE = 0.80
_PLACE_WORDS = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9]{0,6}(路|弄|号|街道|区|镇|小区|新村|楼|室)")


@dataclass
class Report:
    """What merging needs to know of one ticket."""

    text: str
    place_keys: list[str]
    prediction: Prediction
    grams: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, text: str, place: str, prediction: Prediction) -> Report:
        """Features of a ticket from its text, its place text and its classification."""
        # The place field is what the channel recorded as the place: where it names one, a
        # place mentioned in passing in the text does not count.
        keys = places.keys(place)
        if not places.strong(keys):
            keys = places.keys(place, text)
        return cls(
            text=text,
            place_keys=keys,
            prediction=prediction,
            grams=_grams(text),
        )


def _grams(text: str) -> frozenset[str]:
    """Character bigrams of the text without place words, boilerplate or punctuation."""
    core = _PLACE_WORDS.sub(" ", normalise(text))
    core = re.sub(r"[^\u4e00-\u9fa5A-Za-z0-9]+", " ", core)
    out: set[str] = set()
    for chunk in core.split():
        out.update(chunk[i : i + 2] for i in range(len(chunk) - 1))
    return frozenset(out)


def wording(a: Report, b: Report) -> float:
    """Share of bigrams in common (Dice coefficient)."""
    if not a.grams or not b.grams:
        return 0.0
    return 2 * len(a.grams & b.grams) / (len(a.grams) + len(b.grams))


def problem(a: Report, b: Report) -> float:
    """How alike the classifier reads the two problems (cosine of probability profiles)."""
    pa, pb = a.prediction.probabilities, b.prediction.probabilities
    denom = float(np.linalg.norm(pa) * np.linalg.norm(pb))
    return float(pa @ pb) / denom if denom else 0.0


def score(new: Report, old: Report) -> float:
    """How likely `new` reports the same clue as `old` (0-1), before the place lines."""
    same_subclass = 1.0 if new.prediction.subclass == old.prediction.subclass else 0.0
    return 0.55 * problem(new, old) + 0.25 * same_subclass + 0.20 * min(1.0, 2 * wording(new, old))


def same_clue(new: Report, old: Report) -> float | None:
    """The score when `new` and `old` are the same clue, else None."""
    place = places.compatible(new.place_keys, old.place_keys)
    s = score(new, old)
    if place >= 1.0:
        line = SAME_PLACE_LINE
    elif place > 0:
        line = ROAD_ONLY_LINE
    elif not places.strong(new.place_keys) or not places.strong(old.place_keys):
        # One side does not say where: only a near-copy of the text is the same clue.
        return s if wording(new, old) >= NO_PLACE_LINE else None
    else:
        return None
    return s if s >= line else None


def best_case(new: Report, candidates: Sequence[tuple[int, Report]]) -> tuple[int, float] | None:
    """The case (id, score) among `candidates` ((case id, one of its reports) pairs) that
    `new` belongs to, or None."""
    best: tuple[int, float] | None = None
    for case_id, old in candidates:
        s = same_clue(new, old)
        if s is not None and (best is None or s > best[1]):
            best = (case_id, s)
    return best
