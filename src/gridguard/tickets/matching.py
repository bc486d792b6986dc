"""Whether a new ticket reports the same clue as an open case: the same concrete problem at
the same place, however differently it is worded.

Reworded reports of one clue share few characters ("门口保安不查出入证" against "谁都能随便
进来"), so words alone miss them; what they share is the place and the kind of problem, and
often one rare word (the firm's or the lane's name). So:
1. candidates are the open cases of the window (settings.TICKET_MERGE_WINDOW) found under the
   new ticket's keys (`Report.block_keys`): its place keys (places.py), the places its text
   names, rare name words and name roots, its rarest words and its subclass;
2. each report of a candidate case is compared with the new one (`pair_features`): whether
   the places are the same (`place_match`: a shared key, also through any report already on
   the case; the same rare name), near (one road; a road address and a compound of one name
   root) or in conflict (two roads, two numbers on one road, two buildings, two neighbouring
   compounds); how alike the classifier reads the two problems; shared wording and rare
   words; hours apart and channel;
3. a logistic regression over those features (trained with the classifier on the team's
   labelled merge sets) gives the probability of one clue; a case is joined when its
   likeliest report reaches `MERGE_LINE` and none of its reports is at a conflicting place.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from gridguard.tickets import classifier, places
from gridguard.tickets.classifier import Prediction, normalise

# Share of a report's name weight (rarity-weighted bigrams) found in the other report for the
# two to name one thing; and the rarity a bigram needs to be a blocking key.
SAME_NAME = 0.6
NEAR_NAME = 0.35
NAME_KEY_RARITY = 6.0
# How many of a report's rarest words (of that rarity) are blocking keys.
RARE_WORD_KEYS = 5

SAME, NEAR, NONE, CONFLICT = 2, 1, 0, -1
# Subclasses of how a ticket is put rather than what it is about (防控措施建议, 防控政策咨询):
# a suggestion or a question about a gate is about the gate.
VOICE_SUBCLASSES = frozenset({"S06", "S31"})

# A bigram with a digit beside a Chinese character is half a number (1小 of 1小区), no name.
_HALF_NUMBER = re.compile(r"\d[\u4e00-\u9fa5]|[\u4e00-\u9fa5]\d|\d\d")
_PLACE_WORDS = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9]{0,6}(路|弄|号|街道|区|镇|小区|新村|楼|室)")


@dataclass
class Report:
    """What merging needs to know of one ticket."""

    text: str
    place_keys: list[str]
    prediction: Prediction
    grams: frozenset[str] = field(default_factory=frozenset)
    # Place keys the text names besides the place field's (a compound in brackets, a venue).
    text_keys: list[str] = field(default_factory=list)
    # Rarity-weighted bigrams of the place field and quoted names, and all bigrams of both.
    names: dict[str, float] = field(default_factory=dict)
    all_grams: frozenset[str] = field(default_factory=frozenset)
    # Roads and building numbers named anywhere in the report: two reports naming only
    # different ones are about different places.
    roads: frozenset[str] = field(default_factory=frozenset)
    buildings: frozenset[str] = field(default_factory=frozenset)
    # The problem without the voice: the probabilities with the subclasses that say how
    # something is said (a suggestion, a question) left out, and the likeliest of the rest.
    topic: np.ndarray | None = field(default=None, repr=False)
    topic_subclass: str = ""
    # The three rarest bigrams of the text (ties in character order), by the same model's
    # rarity as the names: a place-less report's blocking keys.
    rarest: list[str] = field(default_factory=list)
    # The rarest words of place and text together (a firm, a shop, a lane's name however the
    # place field is written): blocking keys.
    rare_words: list[str] = field(default_factory=list)
    received_at: dt.datetime | None = None
    channel: str = ""

    @classmethod
    def of(
        cls,
        text: str,
        place: str,
        prediction: Prediction,
        model: classifier.Classifier | None = None,
        *,
        received_at: dt.datetime | None = None,
        channel: str = "",
    ) -> Report:
        """Features of a ticket from its text, its place text, its classification, and when
        and through which channel it came."""
        # The place field is what the channel recorded as the place: where it names one, a
        # place mentioned in the text is kept apart (it may be one passed on the way).
        keys = places.keys(place)
        if not places.strong(keys):
            keys = places.keys(place, text)
        in_text = places.keys(text)
        text_keys = [k for k in places.strong(in_text) if k not in keys]
        model = model or classifier.current()
        rarity = model.rarity
        grams = _grams(text)
        topic = prediction.probabilities.copy()
        topic[[i for i, label in enumerate(model.labels) if label in VOICE_SUBCLASSES]] = 0.0
        names = {
            g: w
            for g in _bigrams(places.name_text(place, text))
            if (w := rarity(g)) > 0 and not _HALF_NUMBER.search(g)
        }
        # Rare words for blocking come from the text without its place words and from the
        # place's name: district and street names (静安区 → 安区) would find every ticket
        # of a district.
        weights = {
            g: w
            for g in grams | names.keys()
            if (w := rarity(g)) >= NAME_KEY_RARITY and not _HALF_NUMBER.search(g)
        }
        return cls(
            text=text,
            place_keys=keys,
            prediction=prediction,
            grams=grams,
            text_keys=text_keys,
            names=names,
            all_grams=frozenset(_bigrams(places.without_roads(f"{place}|{text}"))),
            roads=frozenset(k for k in (*keys, *in_text) if k.startswith("w:")),
            buildings=frozenset(places.buildings(place, text)),
            topic=topic,
            topic_subclass=model.labels[int(topic.argmax())],
            # Only a report without a place key is found by its words.
            rarest=[] if places.strong(keys) else sorted(grams, key=lambda g: (-rarity(g), g))[:3],
            rare_words=sorted(weights, key=lambda g: (-weights[g], g))[:RARE_WORD_KEYS],
            received_at=received_at,
            channel=channel,
        )

    # What every comparison needs, worked out once per report (merging compares a report
    # with dozens of others).
    @cached_property
    def strong(self) -> frozenset[str]:
        return frozenset(places.strong(self.place_keys))

    @cached_property
    def text_set(self) -> frozenset[str]:
        return frozenset(self.text_keys)

    def of_kinds(self, kinds: str) -> frozenset[str]:
        """The strong place keys of some kinds ("r" numbered roads, "c" compounds, "v" venues)."""
        cache = self.__dict__.setdefault("_kinds", {})
        if kinds not in cache:
            cache[kinds] = frozenset(k for k in self.strong if k[0] in kinds)
        return cache[kinds]

    def roots(self, kinds: str) -> frozenset[str]:
        """The name roots of the strong keys of some kinds ("w": of the roads named)."""
        cache = self.__dict__.setdefault("_roots", {})
        if kinds not in cache:
            keys = self.roads if kinds == "w" else self.of_kinds(kinds)
            cache[kinds] = frozenset(places.root(k) for k in keys)
        return cache[kinds]

    @cached_property
    def unit(self) -> np.ndarray:
        """The topic profile scaled to length 1 (for cosines)."""
        v = self.prediction.probabilities if self.topic is None else self.topic
        n = float(np.linalg.norm(v))
        return v / n if n else v

    @cached_property
    def names_total(self) -> float:
        return sum(self.names.values())

    def block_keys(self) -> list[str]:
        """Keys a case is found under: its place keys, the places its text names, its rare
        name words, its place names' roots, its rarest words and its subclass, and, when it
        names no place, its text's three rarest words whatever their rarity (so that a
        forwarded copy of a place-less tip can still find it)."""
        out = [*self.place_keys, *self.text_keys]
        out += [
            f"n:{g}"
            for g, w in self.names.items()
            if w >= NAME_KEY_RARITY and not places.names_a_kind(g)
        ]
        # Name roots find a compound from its road address (赤峰路63弄 → 赤峰苑).
        out += sorted({f"o:{places.root(k)}" for k in self.place_keys if k[0] in "rcvw"})
        # However the place is written, a repeat usually shares a rare word (捷运达, 德福里,
        # 芦苇荡) or at least the kind of problem (the latest few cases of the subclass).
        out += [f"t:{g}" for g in self.rare_words]
        out.append(f"s:{self.topic_subclass or self.prediction.subclass}")
        if not self.strong:
            # A place-less report joins a near-copy of its text, which shares its rarest
            # words even where none is rare enough to be among `rare_words`.
            out += [f"t:{g}" for g in self.rarest]
        return list(dict.fromkeys(out))


def _bigrams(text: str) -> set[str]:
    out: set[str] = set()
    for chunk in re.split(r"[^\u4e00-\u9fa5A-Za-z0-9]+", normalise(text)):
        out.update(chunk[i : i + 2] for i in range(len(chunk) - 1))
    return out


def _grams(text: str) -> frozenset[str]:
    """Character bigrams of the text without place words, boilerplate or punctuation."""
    return frozenset(_bigrams(_PLACE_WORDS.sub(" ", normalise(text))))


def wording(a: Report, b: Report) -> float:
    """Share of bigrams in common (Dice coefficient)."""
    if not a.grams or not b.grams:
        return 0.0
    return 2 * len(a.grams & b.grams) / (len(a.grams) + len(b.grams))


def problem(a: Report, b: Report) -> float:
    """How alike the classifier reads the two problems (cosine of probability profiles, the
    voice subclasses left out)."""
    return float(a.unit @ b.unit)


def named(a: Report, b: Report) -> float:
    """How much of the rarer of the two reports' names the other one mentions (0-1)."""
    best = 0.0
    for x, y in ((a, b), (b, a)):
        total = x.names_total
        shared = [w for g, w in x.names.items() if g in y.all_grams]
        # Sharing only common words (小区, 门口) is not sharing a name.
        if total and shared and max(shared) >= NAME_KEY_RARITY:
            best = max(best, sum(shared) / total)
    return best


def place_match(new: Report, old: Report, ambiguous: frozenset[str] = frozenset()) -> int:
    """SAME, NEAR, NONE or CONFLICT: whether the two reports are about one place.
    `ambiguous`: name roots that several compounds nearby share (闻喜苑, 闻喜新村), which
    therefore do not tie a road address to either."""
    na, nb = new.strong, old.strong
    ra, rb = new.roads, old.roads
    if ra and rb and not ra & rb:
        return CONFLICT  # two different roads: two branches of one chain, two gates …
    if new.buildings and old.buildings and not new.buildings & old.buildings:
        return CONFLICT  # one compound, two buildings
    if na & nb or na & old.text_set or nb & new.text_set:
        return SAME
    if new.of_kinds("r") and old.of_kinds("r"):
        return CONFLICT  # the same road, other numbers
    name_share = named(new, old)
    if new.of_kinds("cv") and old.of_kinds("cv"):
        # Each names its own compound or venue, and they differ (殷阳苑 and 殷阳新村, 梅岭苑
        # and 梅岭北苑): one place only when the fuller names largely agree (优家青年公寓).
        if name_share >= SAME_NAME:
            return SAME
        # One venue named by two of its words (朱家角道口, 朱家角检查站) is likely one place;
        # two compounds with one root are neighbours.
        return NEAR if new.roots("v") & old.roots("v") else CONFLICT
    if name_share >= SAME_NAME:
        return SAME
    # A numbered road and a compound with one name root (赤峰路63弄, 赤峰苑) are likely, not
    # surely, one place; so is one road named by both.
    roots_a = new.roots("c") | new.roots("w")
    roots_b = old.roots("c") | old.roots("w")
    tied = (new.roots("r") & roots_b) | (old.roots("r") & roots_a)
    cross = tied - ambiguous
    if tied and not cross:
        # The road address could be either of two neighbouring compounds: joining it to
        # one of them on the problem alone would be a guess.
        return CONFLICT
    if ra & rb or cross or name_share >= NEAR_NAME:
        return NEAR
    return NONE


# The pair model's features, in order (`pair_features`); its weights are trained with the
# classifier (classifier.train) on the labelled merge sets under data/tickets/merge/.
PAIR_FEATURES = (
    "place_same",
    "place_near",
    "place_none",
    "place_conflict",
    "shared_place_key",
    "problem",
    "same_topic",
    "wording",
    "named",
    "rare_shared",
    "rarest_shared",
    "rare_shared_top3",
    "sides_placed",
    "same_building",
    "time_apart",
    "same_channel",
    "same_subclass",
)
# A case is joined when the likeliest of its reports is at least this likely the same clue
# (chosen on sets the model was not trained on: leave-one-set-out, docs/decisions/0010).
MERGE_LINE = 0.70
PLACELESS_WORDING = 0.5
_SIDES_PLACED = PAIR_FEATURES.index("sides_placed")
_RARE_SHARED = PAIR_FEATURES.index("rare_shared")
_WORDING = PAIR_FEATURES.index("wording")


def pair_features(
    new: Report,
    old: Report,
    rarity: Callable[[str], float],
    ambiguous: frozenset[str] = frozenset(),
    place: int | None = None,
) -> list[float]:
    """What the pair model reads of two reports (`PAIR_FEATURES`): how their places relate
    (`place_match`, unless given as `place`; `ambiguous`: see there), how alike the problems
    and words are, the rare words they share (`rarity`: the model's), how far apart in time
    and whether through one channel."""
    if place is None:
        place = place_match(new, old, ambiguous)
    shared_key = bool(new.strong & (old.strong | old.text_set) or old.strong & new.text_set)
    shared = sorted((rarity(g) for g in new.all_grams & old.all_grams), reverse=True)
    hours = 0.0
    if new.received_at is not None and old.received_at is not None:
        hours = abs((new.received_at - old.received_at).total_seconds()) / 3600
    return [
        float(place == SAME),
        float(place == NEAR),
        float(place == NONE),
        float(place == CONFLICT),
        float(shared_key),
        problem(new, old),
        float(new.topic_subclass == old.topic_subclass),
        wording(new, old),
        named(new, old),
        min(sum(w for w in shared if w >= NAME_KEY_RARITY), 60.0) / 60,
        (shared[0] if shared else 0.0) / 12,
        sum(shared[:3]) / 36,
        float(bool(new.strong)) + float(bool(old.strong)),
        float(bool(new.buildings & old.buildings)),
        min(hours, 168.0) / 168,
        float(bool(new.channel) and new.channel == old.channel),
        float(new.prediction.subclass == old.prediction.subclass),
    ]


def best_case(
    new: Report,
    candidates: Sequence[tuple[int, Sequence[Report]]],
    model: classifier.Classifier | None = None,
) -> tuple[int, float] | None:
    """The case (id, probability) among `candidates` ((case id, its latest reports) pairs)
    that `new` reports the same clue as, or None.

    Each report of a case is scored by the pair model; the case's score is its likeliest
    report's. A case with any report at a conflicting place (another road, building or
    neighbouring compound) is never joined: its reports are about one place."""
    model = model or classifier.current()
    # A name root that several compounds among the candidates share (闻喜苑, 闻喜新村) ties a
    # road address (闻喜路251弄) to neither.
    compounds: dict[str, set[str]] = {}
    for _, reports in candidates:
        for r in reports:
            for k in r.of_kinds("c"):
                compounds.setdefault(places.root(k), set()).add(k)
    ambiguous = frozenset(root for root, keys in compounds.items() if len(keys) > 1)
    rows: list[list[float]] = []
    owners: list[int] = []
    for case_id, reports in candidates:
        matches = [place_match(new, old, ambiguous) for old in reports]
        if CONFLICT in matches:
            continue  # the case is about another place: not scored at all
        for old, place in zip(reports, matches, strict=True):
            rows.append(pair_features(new, old, model.rarity, ambiguous, place))
            owners.append(case_id)
    if not rows:
        return None
    features = np.array(rows, dtype=float)
    probabilities = model.merge_probabilities(features)
    # Two reports that both name no place are one clue only when they share a rare word or
    # most of their wording: otherwise the same complaint from two people anywhere in the
    # city (a health-code fault, a rumour) would make one case of them all.
    placeless = (features[:, _SIDES_PLACED] == 0) & (features[:, _RARE_SHARED] == 0)
    probabilities[placeless & (features[:, _WORDING] < PLACELESS_WORDING)] = 0.0
    by_case: dict[int, float] = {}
    for case_id, p in zip(owners, probabilities.tolist(), strict=True):
        if p > by_case.get(case_id, -1.0):
            by_case[case_id] = p
    if not by_case:
        return None
    case_id = max(by_case, key=lambda c: (by_case[c], -c))
    return (case_id, by_case[case_id]) if by_case[case_id] >= MERGE_LINE else None


def training_pairs(
    reports: Sequence[Report], gold: Sequence[str], model: classifier.Classifier
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of a labelled set within the merge window, as (features, same case?): each
    report against each earlier one (`reports` in the order received)."""
    from django.conf import settings

    window = settings.TICKET_MERGE_WINDOW_DAYS * 24 * 3600
    rows: list[list[float]] = []
    labels: list[bool] = []
    for i, new in enumerate(reports):
        for j in range(i):
            old = reports[j]
            apart = (
                (new.received_at - old.received_at).total_seconds()
                if new.received_at and old.received_at
                else 0.0
            )
            if apart > window:
                continue
            rows.append(pair_features(new, old, model.rarity))
            labels.append(gold[i] == gold[j])
    return np.array(rows, dtype=float).reshape(-1, len(PAIR_FEATURES)), np.array(labels)
