"""Measuring the classifier and the merging on labelled data, and replaying tickets.

Used by `gridguard tickets train` (held-out macro-F1), `gridguard tickets replay` and
bench/ticket_quality.py (macro-F1 on the separately written held-out set; precision and recall
of merge decisions on labelled pairs).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

from gridguard.core.scoping import SYSTEM
from gridguard.tickets import classifier

HOLDOUT_SEED = 20200214


def split(
    examples: Sequence[tuple[str, str]], share: float = 0.2, seed: int = HOLDOUT_SEED
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A stratified split: `share` of each subclass held out (at least one example)."""
    by_label: dict[str, list[tuple[str, str]]] = {}
    for ex in examples:
        by_label.setdefault(ex[1], []).append(ex)
    rnd = random.Random(seed)
    train: list[tuple[str, str]] = []
    test: list[tuple[str, str]] = []
    for label in sorted(by_label):
        items = by_label[label][:]
        rnd.shuffle(items)
        n = max(1, round(len(items) * share)) if len(items) > 1 else 0
        test += items[:n]
        train += items[n:]
    return train, test


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Macro-averaged F1 over the gold labels."""
    from sklearn.metrics import f1_score

    return float(f1_score(gold, predicted, average="macro", labels=sorted(set(gold))))


def holdout_macro_f1(examples: Sequence[tuple[str, str]]) -> float:
    """Train on four fifths of `examples`, return macro-F1 on the fifth held out."""
    train, test = split(examples)
    model = classifier.train(train)
    predicted = [p.subclass for p in model.predict_many([t for t, _ in test])]
    return macro_f1([label for _, label in test], predicted)


def pair_scores(gold: dict[str, str], predicted: dict[str, str]) -> dict[str, float]:
    """Precision and recall of merge decisions over every pair of tickets: a pair is merged
    when both tickets are in one case. Tickets missing from `predicted` count as unmerged."""
    ids = sorted(gold)
    tp = fp = fn = 0
    for a, b in combinations(ids, 2):
        same_gold = gold[a] == gold[b]
        pa, pb = predicted.get(a), predicted.get(b)
        same_pred = pa is not None and pa == pb
        if same_pred and same_gold:
            tp += 1
        elif same_pred:
            fp += 1
        elif same_gold:
            fn += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": precision, "recall": recall, "pairs": tp + fn, "merged_pairs": tp + fp}


def _root() -> Any:
    """The top of the territory; a bare city when the store is empty (a fresh replay store)."""
    from gridguard.territory import services as territory
    from gridguard.territory.models import Area

    top = Area.objects.filter(parent__isnull=True).order_by("path").first()
    if top is None:
        top = territory.create_area(SYSTEM, code="3101", name="上海市", kind="city", parent=None)
    return top


def replay_lines(source: Path, *, batch: int = 200) -> Iterator[dict[str, Any]]:
    """Take the tickets of a JSON-lines file in, in order, and yield for each line its id,
    subclass, confidence and case (or its errors)."""
    from gridguard.tickets.services.intake import receive_many

    root = _root()
    pending: list[tuple[Any, dict[str, Any] | None, list[dict[str, Any]]]] = []

    def flush() -> Iterator[dict[str, Any]]:
        rows = [row for _, row, _ in pending if row is not None]
        outcomes = iter(
            receive_many(SYSTEM, rows, fallback_area=root, permission="") if rows else []
        )
        for ident, row, errors in pending:
            if row is None:
                yield {"id": ident, "errors": errors}
                continue
            outcome = next(outcomes)
            if outcome.ticket is None:
                yield {"id": ident, "errors": [e.as_dict() for e in outcome.errors]}
                continue
            t = outcome.ticket
            yield {
                "id": ident,
                "subclass": t.subclass,
                "confidence": round(t.confidence, 4),
                "case": t.case.number,
            }
        pending.clear()

    with source.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("not an object")
            except ValueError:
                pending.append(
                    (
                        None,
                        None,
                        [
                            {
                                "field": None,
                                "code": "invalid",
                                "message": f"line {number} is not a JSON object",
                            }
                        ],
                    )
                )
                continue
            ident = obj.get("id")
            row = {
                "channel": obj.get("channel"),
                "channel_ref": "" if ident is None else str(ident),
                "received_at": obj.get("received_at"),
                "text": obj.get("text"),
                "place": obj.get("place"),
            }
            pending.append((ident, row, []))
            if len(pending) >= batch:
                yield from flush()
    yield from flush()
