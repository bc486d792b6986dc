"""Whether a new ticket reports the same clue as an open case: the same concrete problem at
the same place, however differently it is worded.

Reworded reports of one clue share few characters ("门口保安不查出入证" against "谁都能随便
进来"), so words alone miss them; what they share is the place and the kind of problem. The
decision therefore needs, in this order:
1. the same place (`place_match`): a shared place key (places.py) in either report's place
   field or text, or in any report already on the case (one ticket that says 赤峰路63弄（赤峰苑）
   teaches the case both names); or the same rare name words (益寿堂, 顺通物流); a shared road,
   or a road and a compound with one name root, is only "near"; two different roads, or two
   numbers on one road, are different places whatever else they share;
2. the same problem: the classifier's probability profiles are alike (two texts the model
   reads as the same subclass, or as the same mix of neighbouring subclasses);
3. enough shared wording once place names and channel boilerplate are removed, weighed in.
Without a place on either side only a near-copy, or the same quoted name, can match.
Candidates are the open cases of the window (settings.TICKET_MERGE_WINDOW) found under the new
ticket's keys (`Report.block_keys`); the best one above its line is joined.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from gridguard.tickets import classifier, places
from gridguard.tickets.classifier import Prediction, normalise

# Set by hand on data/tickets/merge/ dev, test and holdout (the score distributions of same-
# place pairs leave a gap around 0.40); bench/ticket_quality.py reports every set, and final,
# which was not looked at.
SAME_PLACE_LINE = 0.40
SAME_BUILDING_LINE = 0.30
NEAR_PLACE_LINE = 0.75
NO_PLACE_LINE = 0.80
# Share of a report's name weight (rarity-weighted bigrams) found in the other report for the
# two to name one thing; and the rarity a bigram needs to be a blocking key.
SAME_NAME = 0.6
NEAR_NAME = 0.35
NAME_KEY_RARITY = 6.0

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

    @classmethod
    def of(
        cls,
        text: str,
        place: str,
        prediction: Prediction,
        model: classifier.Classifier | None = None,
    ) -> Report:
        """Features of a ticket from its text, its place text and its classification."""
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
        name words, its place names' roots, and its rarest words when it names no place (so
        that a forwarded copy of a placeless tip can still find it)."""
        out = [*self.place_keys, *self.text_keys]
        out += [
            f"n:{g}"
            for g, w in self.names.items()
            if w >= NAME_KEY_RARITY and not places.names_a_kind(g)
        ]
        # Name roots find a compound from its road address (赤峰路63弄 → 赤峰苑).
        out += sorted({f"o:{places.root(k)}" for k in self.place_keys if k[0] in "rcvw"})
        if not self.strong:
            # A place-less report joins a near-copy of its text, which shares its rarest words,
            # or a report naming the same firm or seller: the rarest words find the first
            # however long ago, the subclass the latest few others (intake keeps a
            # subclass's latest cases only: a city has thousands a week).
            out += [f"t:{g}" for g in self.rarest]
            out.append(f"s:{self.topic_subclass or self.prediction.subclass}")
        return out


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


def score(new: Report, old: Report) -> float:
    """How likely `new` reports the same clue as `old` (0-1), before the place lines."""
    same_subclass = 1.0 if new.topic_subclass == old.topic_subclass else 0.0
    return 0.55 * problem(new, old) + 0.25 * same_subclass + 0.20 * min(1.0, 2 * wording(new, old))


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
    cross = ((new.roots("r") & roots_b) - ambiguous) or ((old.roots("r") & roots_a) - ambiguous)
    if ra & rb or cross or name_share >= NEAR_NAME:
        return NEAR
    return NONE


def same_clue(
    new: Report, case: Sequence[Report], ambiguous: frozenset[str] = frozenset()
) -> float | None:
    """The score when `new` reports the same clue as the case made of the reports `case`
    (newest last), else None (`ambiguous`: see `place_match`)."""
    # A place one report of the case names is the case's place (transitively): a new report
    # naming it in its place field, or in its text, is at that place. Two texts that both
    # mention a third place in passing are not.
    new_place = new.strong
    case_place = set().union(*(r.strong for r in case))
    case_text = set().union(*(r.text_set for r in case))
    shared_key = bool(case_place & (new_place | new.text_set) or case_text & new_place)
    best: float | None = None
    matches = [place_match(new, old, ambiguous) for old in case]
    if CONFLICT in matches:
        # The reports of a case are about one place: a new report that names a different
        # road, building or neighbouring compound than one of them is about another place,
        # however well it matches a vaguer one (好邻生鲜 against 好邻生鲜七宝店, 漕宝路).
        return None
    for old, place in zip(case, matches, strict=True):
        if shared_key:
            place = SAME
        s = score(new, old)
        if place == SAME:
            # The same building of the same place (殷阳新村30号) leaves little doubt: a
            # misread of the problem by the classifier weighs less.
            same_building = bool(new.buildings & old.buildings)
            ok = s >= (SAME_BUILDING_LINE if same_building else SAME_PLACE_LINE)
        elif place == NEAR:
            ok = s >= NEAR_PLACE_LINE
        elif not new.strong or not old.strong:
            # One side does not say where: only a near-copy of the text is the same clue.
            ok = wording(new, old) >= NO_PLACE_LINE
        else:
            ok = False
        if ok and (best is None or s > best):
            best = s
    return best


def best_case(
    new: Report, candidates: Sequence[tuple[int, Sequence[Report]]]
) -> tuple[int, float] | None:
    """The case (id, score) among `candidates` ((case id, its reports) pairs) that `new`
    belongs to, or None."""
    compounds: dict[str, set[str]] = {}
    for _, reports in candidates:
        for r in reports:
            for k in r.of_kinds("c"):
                compounds.setdefault(places.root(k), set()).add(k)
    ambiguous = frozenset(root for root, keys in compounds.items() if len(keys) > 1)
    best: tuple[int, float] | None = None
    for case_id, reports in candidates:
        s = same_clue(new, reports, ambiguous)
        if s is not None and (best is None or s > best[1]):
            best = (case_id, s)
    return best
