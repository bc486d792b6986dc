"""Benchmark: ticket classification and merge quality, and the classifier's speed (C1).

Classification: trained on data/tickets/corpus/ (what `gridguard tickets train` uses), scored
by macro-F1 over the 32 subclasses on data/tickets/heldout/, a set written separately by
another author and never trained on; also macro-F1 on a held-out fifth of the corpus itself.
The reference is the baseline DESIGN.md names, character n-gram TF-IDF with a linear model
(no words), trained and scored on the same data in the same run: ratio = ours / baseline.

Merging: the labelled sets under data/tickets/merge/ go through `gridguard tickets replay
--json`, the evaluation interface, exactly as tickets written by others would. The merge pair
model is trained on dev, test, holdout and final (each by another author; classifier.
MERGE_TRAINING), so their figures are in-sample; fresh was written last by yet another author
and is never trained on: its figure is the estimate on tickets nobody here has seen.
Precision and recall are over every pair of tickets (a pair is merged when replay puts both
in one case; it should be when they share a gold case).

Speed: the classifier alone on one ticket at a time (p50/p99 ms over the held-out texts,
after a warm-up), and in batches of 500 (tickets/s).

Run: `.venv/bin/python bench/ticket_quality.py [--quick]`. The last line is the JSON result.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
MERGE = REPO / "data" / "tickets" / "merge"


def replay_pairs(path: Path) -> dict[str, float]:
    """Replay a labelled file through `gridguard tickets replay` and score its merges."""
    from gridguard.tickets.evaluation import pair_scores

    gold: dict[str, str] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                gold[str(row["id"])] = str(row["gold_case"])
    done = subprocess.run(
        [str(REPO / ".venv" / "bin" / "gridguard"), "tickets", "replay", str(path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    predicted: dict[str, str] = {}
    for line in done.stdout.splitlines():
        row = json.loads(line)
        if "case" in row:
            predicted[str(row["id"])] = str(row["case"])
    scores = pair_scores(gold, predicted)
    scores["tickets"] = len(gold)
    scores["replayed"] = len(predicted)
    return scores


def baseline_f1(train: list[tuple[str, str]], test: list[tuple[str, str]]) -> float:
    """Char 1-3-gram TF-IDF + logistic regression, no words: the baseline to beat."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from gridguard.tickets.classifier import normalise
    from gridguard.tickets.evaluation import macro_f1

    model = Pipeline(
        [
            ("chars", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)),
            ("model", LogisticRegression(C=20.0, max_iter=3000)),
        ]
    )
    model.fit([normalise(t) for t, _ in train], [label for _, label in train])
    return macro_f1(
        [label for _, label in test], list(model.predict([normalise(t) for t, _ in test]))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the merge replays")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridguard.config.settings")
    import django

    django.setup()
    from gridguard.tickets import classifier, evaluation

    corpus = classifier.corpus_examples()
    heldout = classifier.corpus_examples("heldout")
    t0 = time.perf_counter()
    model = classifier.train(corpus)
    train_s = time.perf_counter() - t0
    predicted = [p.subclass for p in model.predict_many([t for t, _ in heldout])]
    f1 = evaluation.macro_f1([label for _, label in heldout], predicted)
    fifth = evaluation.holdout_macro_f1(corpus)
    base = baseline_f1(corpus, heldout)

    texts = [t for t, _ in heldout]
    for text in texts[:50]:
        model.predict(text)
    single: list[float] = []
    for text in texts:
        start = time.perf_counter()
        model.predict(text)
        single.append((time.perf_counter() - start) * 1000)
    single.sort()
    batch = (texts * 4)[:2000]
    start = time.perf_counter()
    for i in range(0, len(batch), 500):
        model.predict_many(batch[i : i + 500])
    batch_rate = len(batch) / (time.perf_counter() - start)

    result: dict[str, Any] = {
        "bench": "ticket_quality",
        "value": round(f1, 3),
        "unit": "macro-F1 (held-out set)",
        "reference": round(base, 3),
        "reference_name": "char n-gram TF-IDF + logistic regression baseline, same data",
        "ratio": round(f1 / base, 3) if base else None,
        "corpus_examples": len(corpus),
        "heldout_examples": len(heldout),
        "corpus_fifth_macro_f1": round(fifth, 3),
        "train_s": round(train_s, 1),
        "classify_p50_ms": round(statistics.median(single), 2),
        "p99_ms": round(single[int(len(single) * 0.99) - 1], 2),
        "classify_batch_per_s": round(batch_rate),
    }
    if not args.quick:
        for name in ("dev", "test", "holdout", "final", "fresh"):
            path = MERGE / f"{name}.jsonl"
            if path.exists():
                s = replay_pairs(path)
                result[f"merge_{name}_precision"] = round(s["precision"], 3)
                result[f"merge_{name}_recall"] = round(s["recall"], 3)
                result[f"merge_{name}_pairs"] = s["pairs"]
    result["target"] = (
        "macro-F1 >= 0.85 on unseen data; merge precision >= 0.95, recall >= 0.90; "
        "classification p99 < 5 ms"
    )
    result["command"] = "bench/ticket_quality.py" + (" --quick" if args.quick else "")
    from report import save

    save(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
