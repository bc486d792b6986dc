"""The ticket classifier: which of the 32 subclasses a ticket's text belongs to, and how sure.

Character n-grams (1-3) carry the signal in short Chinese complaints and survive typos,
missing punctuation and words no dictionary knows (随申码, 阿拉); they feed one logistic
regression, whose probability is the confidence: below the triage line an operator decides.
It trains in seconds on the team's corpus (`data/tickets/corpus/`) plus every operator
correction, so `gridguard tickets train` is run whenever corrections
have piled up, and a missing model file is trained on first use. Nothing is downloaded.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from django.conf import settings

from gridguard.tickets import taxonomy

log = logging.getLogger(__name__)

DATA_DIR = Path(settings.REPO_DIR) / "data" / "tickets"
MODEL_VERSION = 3
# The labelled merge sets the pair model learns from (data/tickets/merge/); `fresh` is kept
# out: it measures merging on tickets the model never saw (bench/ticket_quality.py).
MERGE_TRAINING = ("dev", "test", "holdout", "final")

# The phrases every channel wraps around what was actually said; they say nothing about
# the subclass, and without them the channel's style does not leak into the decision.
_BOILERPLATE = re.compile(
    r"(市民|居民|网友|群众)?(来电|来信|来件|留言|网上)(反映|反应|称|表示|诉求|咨询|投诉|举报)?[:：,，]?"
    r"|来电人(称|表示|反映)?[:：,，]?|(12345|12319|12320)(热线)?(转来|转办|工单)?[:：,，]?"
    r"|要求(相关部门|有关部门|职能部门)?(尽快)?(核实|核查|处理|调查|查处|答复|解决)+[。.]?"
    r"|(请|望|希望)(相关部门|有关部门)(尽快)?(核实|处理|答复|解决)+[。.]?"
)
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The text the classifier reads: full-width folded, lower case, boilerplate removed."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = _BOILERPLATE.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


@dataclass
class Prediction:
    subclass: str
    confidence: float
    # Probability of every subclass, in `Classifier.labels` order (used to compare tickets).
    probabilities: np.ndarray = field(repr=False)


@dataclass
class Classifier:
    """A trained model with what it was trained on."""

    pipeline: Any
    labels: list[str]
    trained_at: str
    examples: int
    corrections: int
    version: int = MODEL_VERSION
    corpus: str = ""
    # The merge pair model (matching.PAIR_FEATURES): logistic regression weights and bias.
    merge_weights: list[float] = field(default_factory=list)
    merge_bias: float = 0.0

    def merge_probabilities(self, features: np.ndarray) -> np.ndarray:
        """For rows of pair features, the probability that the two reports are one clue."""
        weights = np.asarray(self.merge_weights, dtype=float)
        return 1.0 / (1.0 + np.exp(-(features @ weights + self.merge_bias)))

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        """Predictions for many texts at once (vectorised: the fast path for batches)."""
        if not texts:
            return []
        probs = self.pipeline.predict_proba([normalise(t) for t in texts])
        best = probs.argmax(axis=1)
        return [
            Prediction(self.labels[i], float(row[i]), row)
            for i, row in zip(best, probs, strict=True)
        ]

    def predict(self, text: str) -> Prediction:
        """The prediction for one text."""
        return self.predict_many([text])[0]

    def __getstate__(self) -> dict[str, Any]:
        # The rarity table is rebuilt from the pipeline; it is not saved with the model.
        return {k: v for k, v in self.__dict__.items() if k != "_rarity"}

    def rarity(self, gram: str) -> float:
        """How much a character n-gram says about which thing a ticket is about: its inverse
        document frequency in the training texts; 0 for the n-grams in most of them, the
        highest for those never seen (names: 益寿堂, 顺通)."""
        table = self.__dict__.get("_rarity")
        if table is None:
            vectorizer = self.pipeline.named_steps["chars"]
            idf = vectorizer.idf_
            table = (
                {gram: float(idf[column]) for gram, column in vectorizer.vocabulary_.items()},
                set(getattr(vectorizer, "stop_words_", ())),
                float(idf.max()),
            )
            self.__dict__["_rarity"] = table
        weights, common, unseen = table
        if gram in common:
            return 0.0
        return float(weights.get(gram, unseen))


def build_pipeline() -> Any:
    """The untrained pipeline: character 1-3-grams, one logistic regression.

    Measured on the held-out set (bench/ticket_quality.py): adding jieba words did not raise
    macro-F1 (0.942 with words, 0.946 without) and doubled the time per ticket, so the model
    reads characters only; `char_wb` pads each run of text, which helps short tips."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, max_df=0.5
                ),
            ),
            ("model", LogisticRegression(C=20.0, max_iter=3000)),
        ]
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The objects of a JSON-lines file (blank lines skipped)."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def corpus_examples(part: str = "corpus") -> list[tuple[str, str]]:
    """(text, subclass) pairs of the team's corpus (`part`: "corpus" or "heldout")."""
    known = taxonomy.subclasses()
    pairs: list[tuple[str, str]] = []
    for path in sorted((DATA_DIR / part).glob("S*.jsonl")):
        for row in read_jsonl(path):
            if row.get("subclass") in known and str(row.get("text") or "").strip():
                pairs.append((str(row["text"]), str(row["subclass"])))
    return pairs


def corpus_fingerprint() -> str:
    """Names, sizes and times of the corpus files: a model trained on another corpus is stale."""
    import hashlib

    h = hashlib.sha256()
    merge = [DATA_DIR / "merge" / f"{name}.jsonl" for name in MERGE_TRAINING]
    for path in [*sorted((DATA_DIR / "corpus").glob("S*.jsonl")), *merge]:
        st = path.stat()
        h.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


def correction_examples() -> list[tuple[str, str]]:
    """(text, subclass) pairs from operators' corrections, the latest per ticket."""
    from gridguard.tickets.models import Correction

    latest: dict[int, tuple[str, str]] = {}
    for ticket_id, text, corrected in Correction.objects.order_by("corrected_at", "pk").values_list(
        "ticket_id", "text", "corrected"
    ):
        latest[ticket_id] = (text, corrected)
    return list(latest.values())


def train(
    examples: Iterable[tuple[str, str]], *, corrections: Sequence[tuple[str, str]] = ()
) -> Classifier:
    """A classifier trained on `examples` plus `corrections` (each correction counts twice:
    it is what the model got wrong in real use)."""
    from django.utils import timezone

    examples = list(examples)
    pairs = examples + list(corrections) * 2
    if len({label for _, label in pairs}) < 2:
        raise ValueError("training needs examples of at least two subclasses")
    pipeline = build_pipeline()
    pipeline.fit([normalise(t) for t, _ in pairs], [label for _, label in pairs])
    model = Classifier(
        pipeline=pipeline,
        labels=[str(c) for c in pipeline.classes_],
        trained_at=timezone.now().isoformat(),
        examples=len(examples),
        corrections=len(corrections),
        corpus=corpus_fingerprint(),
    )
    train_merging(model)
    return model


def train_merging(model: Classifier) -> None:
    """Fit the merge pair model on the labelled merge sets, read through `model` (the pair
    features include its probabilities and word rarities, so the two are trained together)."""
    import datetime as dt

    from sklearn.linear_model import LogisticRegression

    from gridguard.tickets import matching

    features, labels = [], []
    for name in MERGE_TRAINING:
        rows = read_jsonl(DATA_DIR / "merge" / f"{name}.jsonl")
        predictions = model.predict_many([str(r["text"]) for r in rows])
        reports = [
            matching.Report.of(
                str(r["text"]),
                str(r.get("place") or ""),
                prediction,
                model,
                received_at=dt.datetime.fromisoformat(str(r["received_at"])),
                channel=str(r["channel"]),
            )
            for r, prediction in zip(rows, predictions, strict=True)
        ]
        x, y = matching.training_pairs(reports, [str(r["gold_case"]) for r in rows], model)
        features.append(x)
        labels.append(y)
    fitted = LogisticRegression(C=1.0, max_iter=2000).fit(
        np.vstack(features), np.concatenate(labels)
    )
    model.merge_weights = [float(w) for w in fitted.coef_[0]]
    model.merge_bias = float(fitted.intercept_[0])


def model_path() -> Path:
    """Where the trained model is kept (under the var directory, never in the repository)."""
    return Path(settings.VAR_DIR) / "models" / "tickets-classifier.joblib"


def save(classifier: Classifier, path: Path | None = None) -> Path:
    """Write the model atomically (a reader never sees half a file)."""
    target = path or model_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    # Own temporary name per process: two workers training at once must not share one.
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    joblib.dump(classifier, tmp)
    tmp.replace(target)
    return target


_lock = threading.Lock()
_loaded: Classifier | None = None


def current() -> Classifier:
    """The process's classifier: loaded from the model file, or trained from the corpus (and
    saved) when there is none or it is from an older version of this module."""
    global _loaded
    if _loaded is not None:
        return _loaded
    with _lock:
        if _loaded is None:
            _loaded = _load_or_train()
    return _loaded


def _load_or_train() -> Classifier:
    path = model_path()
    if path.exists():
        try:
            # Our own file, written by `save` under the var directory.
            loaded = joblib.load(path)
            if (
                isinstance(loaded, Classifier)
                and loaded.version == MODEL_VERSION
                and loaded.corpus == corpus_fingerprint()
            ):
                return loaded
        except Exception:  # a truncated or foreign file is retrained, not trusted
            log.warning("ticket classifier at %s unreadable; retraining", path)
    classifier = train(corpus_examples())
    save(classifier, path)
    return classifier


def use(classifier: Classifier | None) -> None:
    """Make `classifier` the process's model (after training; None forgets it)."""
    global _loaded
    with _lock:
        _loaded = classifier
