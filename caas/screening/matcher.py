"""OFAC-style name matching and an in-memory sanctions index.

Score of a query name against a listed name, 0–100 (OFAC FAQ 249 describes the two techniques;
the details below are ours, fitted on ``ofac_search_scores.csv``, see docs/scoring.md):

1. Whole name: Jaro-Winkler of the two normalised names, in their written order.
2. Per part: each part of the query (parts of one or two characters are left out when longer
   ones exist) is paired with a different part of the listed name, best pairs first. A pair
   counts only if the parts begin with the same letter (OFAC's own first-letter gate) or sound
   alike (equal Metaphone keys: KASSEM/QASSEM, FILIP/PHILIP); it then scores its Jaro-Winkler,
   otherwise 0. The per-part score is the mean over the query's parts.
3. The higher of the two, times 100, rounded half up.

Jaro-Winkler here adds the prefix bonus (0.1 per common leading character, at most 4) whatever
the Jaro similarity, as OFAC's implementation evidently does, rather than only above 0.7 as
rapidfuzz and jellyfish do. The score is not symmetric: the per-part score is taken from the
query's side, so extra parts in the listed name (patronymics, aliases' titles) cost nothing.

``SanctionsIndex.search`` finds the listed names scoring at least the threshold without
scoring every one of the ~23,000 names:

* per-part: for each query part, one vectorised Jaro-Winkler pass over the list's words with the
  same first letter (plus the words that sound alike) gives every listed name its best word
  similarity; their mean over the query's parts bounds the per-part score from above, so no
  name whose per-part score reaches the threshold is missed;
* whole name: scored for the names starting with the query's letter whose first word is at
  least 0.7 like the query's first word, and for names starting otherwise whose per-part bound
  is at least 0.45 and whose length allows plain Jaro to reach the threshold; names without
  enough characters in common to reach it are dropped before scoring. This part is a heuristic:
  a name that matches on the whole-name score alone with neither its first word nor any other
  part like the query's is not found (ANIDA / NAIDA). On misspelt listed names the index finds
  99% of what an exhaustive scan finds (``search(..., exhaustive=True)``; tests and benchmark).

The per-word work is cached (``WORD_CACHE_SIZE`` words), as first names and surnames recur.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from functools import lru_cache

import jellyfish
import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Jaro

from caas.screening.names import normalise
from caas.screening.sdn import DobRange, SdnEntry

DEFAULT_THRESHOLD = 85
WORD_CACHE_SIZE = 1024  # words per index; an entry holds a float32 per listed name with that initial (~20 KB)
# A hit whose listed dates of birth are all more than a year from the applicant's loses this
# many points: an exact name (100) then scores 80, below the default threshold of 85.
DOB_MISMATCH_PENALTY = 20
PREFIX_SCALE = 0.1
MAX_PREFIX = 4
SHORT_PART = 2
# Which names get a whole-name score (module docstring): those whose first word is at least
# _FIRST_WORD like the query's first word, and those whose per-part bound reaches the probe
# ("PUTIN VLADIMIR" / "TURIN, Vladimir"). Chosen on misspelt listed names and made-up applicant
# names: about 1% of the names found on the whole-name score alone by scoring every name fall
# outside.
_FIRST_WORD = 0.7
_WHOLE_NAME_PROBE = 0.45
_EPSILON = 1e-6  # above float32 rounding, so a bound at the cut is never lost to it


# --- scoring two names --------------------------------------------------------------------------

def _prefix_length(a: str, b: str) -> int:
    length = 0
    for x, y in zip(a[:MAX_PREFIX], b[:MAX_PREFIX]):
        if x != y:
            break
        length += 1
    return length


def jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler similarity 0–1 with the prefix bonus applied at any Jaro similarity."""
    jaro = Jaro.normalized_similarity(a, b)
    return jaro + _prefix_length(a, b) * PREFIX_SCALE * (1.0 - jaro)


@lru_cache(maxsize=1 << 16)
def phonetic_key(part: str) -> str:
    """Metaphone key of a name part; empty for parts without letters (numbers never sound alike)."""
    return jellyfish.metaphone(part) if any(ch.isalpha() for ch in part) else ""


@lru_cache(maxsize=1 << 16)
def part_similarity(query_part: str, listed_part: str) -> float:
    """Similarity of two name parts: Jaro-Winkler when they start alike or sound alike, else 0."""
    if query_part[0] != listed_part[0]:
        key = phonetic_key(query_part)
        if not key or key != phonetic_key(listed_part):
            return 0.0
    return jaro_winkler(query_part, listed_part)


@dataclass(frozen=True)
class PreparedName:
    """A name normalised once, for scoring against many others."""

    text: str
    parts: tuple[str, ...]
    scored: tuple[str, ...]  # the parts the per-part score averages over


def prepare(name: str) -> PreparedName:
    text = normalise(name)
    parts = tuple(text.split())
    scored = tuple(part for part in parts if len(part) > SHORT_PART) or parts
    return PreparedName(text, parts, scored)


@dataclass(frozen=True)
class NameScore:
    score: int  # 0–100, the higher of the two below
    whole_name: float  # 0–1
    per_part: float  # 0–1
    pairs: tuple[tuple[str, str | None, float], ...]  # (query part, listed part or None, similarity)


def _pairs(query: PreparedName, listed: PreparedName) -> list[tuple[str, str | None, float]]:
    # Best pairs first; ties go to the earlier parts, so the pairing is deterministic.
    scored = sorted((-part_similarity(q, l), i, j) for i, q in enumerate(query.scored)
                    for j, l in enumerate(listed.parts))
    used_q: dict[int, tuple[int, float]] = {}
    used_l: set[int] = set()
    for negated, i, j in scored:
        similarity = -negated
        if similarity <= 0.0:
            break
        if i not in used_q and j not in used_l:
            used_q[i] = (j, similarity)
            used_l.add(j)
    return [(q, listed.parts[used_q[i][0]], used_q[i][1]) if i in used_q else (q, None, 0.0)
            for i, q in enumerate(query.scored)]


def _to_points(similarity: float) -> int:
    return min(100, max(0, math.floor(similarity * 100 + 0.5)))


def compare_prepared(query: PreparedName, listed: PreparedName) -> NameScore:
    if not query.parts or not listed.parts:
        return NameScore(0, 0.0, 0.0, ())
    whole = jaro_winkler(query.text, listed.text)
    pairs = _pairs(query, listed)
    per_part = sum(similarity for _, _, similarity in pairs) / len(pairs)
    return NameScore(_to_points(max(whole, per_part)), whole, per_part, tuple(pairs))


def compare(query: str, listed: str) -> NameScore:
    """The matcher's score of ``query`` against ``listed``, with its workings."""
    return compare_prepared(prepare(query), prepare(listed))


def score_names(query: str, listed: str) -> int:
    """The matcher's score 0–100 of ``query`` (the applicant) against ``listed`` (a list name)."""
    return compare(query, listed).score


# --- dates of birth -----------------------------------------------------------------------------

def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def dob_check(listed: Iterable[DobRange], dob: date | None) -> str:
    """``match`` when ``dob`` lies within a year of a listed date of birth (range), ``mismatch``
    when the entry lists dates of birth and ``dob`` is more than a year from every one of them,
    ``unknown`` when either side has none."""
    ranges = list(listed)
    if dob is None or not ranges:
        return "unknown"
    for dob_range in ranges:
        if _shift_years(dob_range.earliest, -1) <= dob <= _shift_years(dob_range.latest, 1):
            return "match"
    return "mismatch"


# --- the index ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hit:
    """A listed entry whose name (or alternate name) matched, as shown to the reviewer."""

    ent_num: int
    listed_name: str  # the entry's primary name
    matched_name: str  # the name that matched: the primary name or an alternate name
    alias_type: str | None  # "aka", "fka", "nka"; None when the primary name matched
    name_score: int  # the matcher's score 0–100
    score: int  # name_score less DOB_MISMATCH_PENALTY on a DOB mismatch; compared with the threshold
    dob_check: str  # "match", "mismatch" or "unknown"
    listed_dobs: tuple[str, ...]
    sdn_type: str | None
    programs: str | None
    remarks: str | None

    def as_dict(self) -> dict:
        data = asdict(self)
        data["listed_dobs"] = list(self.listed_dobs)
        return data


def _prefix_codes(strings: list[str]) -> np.ndarray:
    """The first four characters of each string packed in a uint32, the first in the lowest byte
    (0 pads short strings; names are ASCII after normalisation)."""
    packed = b"".join(text[:MAX_PREFIX].encode("ascii", "replace").ljust(MAX_PREFIX, b"\0") for text in strings)
    return np.frombuffer(packed, dtype="<u4").copy() if strings else np.zeros(0, dtype="<u4")


def _prefix_lengths(query: str, codes: np.ndarray) -> np.ndarray:
    """Length of the common prefix (at most 4) of ``query`` and each string behind ``codes``."""
    diff = codes ^ _prefix_codes([query])[0]
    return sum(((diff & mask) == 0).astype(np.int8) for mask in (0xFF, 0xFFFF, 0xFFFFFF, 0xFFFFFFFF))


_ALPHABET = {ch: i for i, ch in enumerate(" ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")}


def _histogram(text: str) -> np.ndarray:
    """How often each character occurs in a normalised name (counts capped at 255)."""
    counts = np.zeros(len(_ALPHABET), dtype=np.int64)
    for ch in text:
        counts[_ALPHABET[ch]] += 1
    return np.minimum(counts, 255).astype(np.uint8)


def _jaro_floor(similarity: float) -> float:
    """The Jaro similarity below which Jaro-Winkler cannot reach ``similarity`` (the prefix bonus
    adds at most 4 x 0.1 x (1 - Jaro))."""
    bonus = MAX_PREFIX * PREFIX_SCALE
    return max(0.0, (similarity - bonus) / (1.0 - bonus) - _EPSILON)


def _jaro_winkler_many(query: str, strings: list[str], codes: np.ndarray, jaro_cutoff: float = 0.0) -> np.ndarray:
    """``jaro_winkler(query, s)`` for every s (0 where Jaro is below ``jaro_cutoff``)."""
    jaro = process.cdist([query], strings, scorer=Jaro.normalized_similarity, dtype=np.float64,
                         score_cutoff=jaro_cutoff or None)[0]
    return jaro + _prefix_lengths(query, codes) * PREFIX_SCALE * (1.0 - jaro) * (jaro > 0.0)


@dataclass(frozen=True)
class _WordMatch:
    """One query word against the whole list."""

    names: np.ndarray  # ids of the listed names with a word that may pair with it ...
    best: np.ndarray  # ... and the best similarity of such a word (float32)
    first_words: np.ndarray | None  # similarity to the first word of each name with its initial


class _Bucket:
    """The list's words with one first letter, and which names contain them."""

    def __init__(self, token_ids: list[int], tokens: list[str], pairs: list[tuple[int, int]]):
        self.token_ids = np.array(token_ids, dtype=np.int64)
        self.tokens = tokens
        self.codes = _prefix_codes(tokens)
        local = {tid: k for k, tid in enumerate(token_ids)}
        pairs.sort()
        names = np.array([name for name, _ in pairs], dtype=np.int64)
        self.pair_tokens = np.array([local[tid] for _, tid in pairs], dtype=np.int64)
        self.starts = np.flatnonzero(np.r_[True, names[1:] != names[:-1]])
        self.names = names[self.starts]


class SanctionsIndex:
    """Every name and alternate name of a sanctions list, ready to search."""

    def __init__(self, entries: Iterable[SdnEntry]):
        self.entries: list[SdnEntry] = list(entries)
        self._owner: list[int] = []  # name id -> entry position
        self._alias_type: list[str | None] = []
        self._display: list[str] = []
        self._prepared: list[PreparedName] = []
        for position, entry in enumerate(self.entries):
            seen: set[str] = set()
            for display, alias_type in [(entry.name, None), *((a.name, a.alt_type) for a in entry.aliases)]:
                prepared = prepare(display)
                if prepared.text and prepared.text not in seen:
                    seen.add(prepared.text)
                    self._owner.append(position)
                    self._alias_type.append(alias_type)
                    self._display.append(display)
                    self._prepared.append(prepared)
        self._texts = [p.text for p in self._prepared]
        # First names and surnames recur from one applicant to the next: the per-word pass over
        # the list's words is the costliest step of a search, and depends on the word alone.
        self._word = lru_cache(maxsize=WORD_CACHE_SIZE)(self._word_uncached)
        self._build_words()
        self._build_whole_names()

    def __len__(self) -> int:
        return len(self._prepared)

    def clear_cache(self) -> None:
        """Forget the per-word work (the benchmark's cold figure; memory)."""
        self._word.cache_clear()

    def _build_words(self) -> None:
        vocabulary: dict[str, int] = {}
        pairs_by_initial: dict[str, list[tuple[int, int]]] = {}
        postings: dict[int, list[int]] = {}
        for name_id, prepared in enumerate(self._prepared):
            for token in set(prepared.parts):
                tid = vocabulary.setdefault(token, len(vocabulary))
                pairs_by_initial.setdefault(token[0], []).append((name_id, tid))
                postings.setdefault(tid, []).append(name_id)
        self._vocabulary = vocabulary
        self._tokens = list(vocabulary)
        self._postings = {tid: np.array(ids, dtype=np.int64) for tid, ids in postings.items()}
        self._buckets: dict[str, _Bucket] = {}
        for initial, pairs in pairs_by_initial.items():
            ids = sorted({tid for _, tid in pairs})
            self._buckets[initial] = _Bucket(ids, [self._tokens[t] for t in ids], pairs)
        self._sounds_like: dict[str, list[int]] = {}
        for tid, token in enumerate(self._tokens):
            key = phonetic_key(token)
            if key:
                self._sounds_like.setdefault(key, []).append(tid)

    def _build_whole_names(self) -> None:
        self._texts_array = np.array(self._texts, dtype=object)
        self._codes = _prefix_codes(self._texts)
        self._lengths = np.array([len(text) for text in self._texts], dtype=np.int64)
        self._initials = np.array([ord(text[0]) for text in self._texts], dtype=np.int64)
        self._histograms = np.array([_histogram(text) for text in self._texts], dtype=np.uint8)
        by_initial: dict[str, list[int]] = {}
        for name_id, text in enumerate(self._texts):
            by_initial.setdefault(text[0], []).append(name_id)
        # For each initial: the names starting with it and, per name, the position of its first
        # word in that initial's word bucket.
        self._by_initial = {}
        for initial, ids in by_initial.items():
            local = {tid: k for k, tid in enumerate(self._buckets[initial].token_ids.tolist())}
            first_words = [local[self._vocabulary[self._prepared[i].parts[0]]] for i in ids]
            self._by_initial[initial] = (np.array(ids, dtype=np.int64), np.array(first_words, dtype=np.int64))

    def _word_uncached(self, word: str) -> _WordMatch:
        """How much each listed name is like ``word`` (see ``_WordMatch``); a pure function of the
        word, so cached."""
        bucket = self._buckets.get(word[0])
        if bucket is None:
            names, best, first_words = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), None
        else:
            similarity = _jaro_winkler_many(word, bucket.tokens, bucket.codes)
            names, best = bucket.names, np.maximum.reduceat(similarity[bucket.pair_tokens], bucket.starts)
            # No listed name may start with this letter although some later word does (digits,
            # for one): then there are no first words to compare with.
            by_initial = self._by_initial.get(word[0])
            first_words = None if by_initial is None else similarity[by_initial[1]].astype(np.float32)
        extra: dict[int, float] = {}  # names with a word that sounds like it but starts differently
        for tid in self._sounds_like.get(phonetic_key(word), ()):
            token = self._tokens[tid]
            if token[0] != word[0]:
                value = jaro_winkler(word, token)
                for name_id in self._postings[tid].tolist():
                    extra[name_id] = max(extra.get(name_id, 0.0), value)
        if extra:
            ids = np.concatenate([names, np.fromiter(extra, dtype=np.int64, count=len(extra))])
            values = np.concatenate([best, np.fromiter(extra.values(), dtype=np.float64, count=len(extra))])
            order = np.argsort(ids, kind="stable")
            ids, values = ids[order], values[order]
            starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
            names, best = ids[starts], np.maximum.reduceat(values, starts)
        match = _WordMatch(names, best.astype(np.float32), first_words)
        for array in (match.names, match.best, match.first_words):
            if array is not None:
                array.setflags(write=False)  # shared through the cache
        return match

    def _candidates(self, query: PreparedName, cut: float) -> np.ndarray:
        """Ids of the listed names that can score at least ``cut`` (0–1), to be scored exactly.

        Per-part: the mean over the query's parts of each name's best word similarity to that
        part bounds its per-part score from above (a word may serve several parts here), so
        every name whose per-part score reaches the cut is found. Whole name: see _FIRST_WORD.
        """
        first = query.parts[0]
        bound = np.zeros(len(self._prepared))
        for part in query.scored:
            match = self._word(part)
            bound[match.names] += match.best
        bound /= len(query.scored)
        wanted = bound >= cut - _EPSILON
        # Without a common first letter Jaro-Winkler is plain Jaro, which cannot reach the cut
        # unless the shorter name is 3*cut - 2 of the longer one.
        probe = np.flatnonzero(bound >= _WHOLE_NAME_PROBE)
        lengths, length = self._lengths[probe], len(query.text)
        probe = probe[(self._initials[probe] != ord(first[0]))
                      & (np.minimum(lengths, length) >= (3 * cut - 2) * np.maximum(lengths, length))]
        first_words = self._word(first).first_words
        if first_words is not None:
            ids = self._by_initial[first[0]][0]
            probe = np.concatenate([probe, ids[first_words >= _FIRST_WORD - _EPSILON]])
        pool = probe[~wanted[probe]]
        if len(pool):
            # Jaro cannot exceed (c/a + c/b + 1)/3 when the names have only c characters in common.
            common = np.minimum(self._histograms[pool], _histogram(query.text)).sum(axis=1)
            lengths = self._lengths[pool]
            ceiling = (common / lengths + common / length + 1) / 3
            needed = np.where(self._initials[pool] == ord(first[0]), _jaro_floor(cut), cut - _EPSILON)
            pool = pool[ceiling >= needed]
        if len(pool):
            whole = _jaro_winkler_many(query.text, self._texts_array[pool].tolist(), self._codes[pool],
                                       _jaro_floor(cut))
            wanted[pool[whole >= cut - _EPSILON]] = True
        return np.flatnonzero(wanted)

    def _scores(self, query: PreparedName, threshold: int, exhaustive: bool) -> dict[int, int]:
        """Entry position -> (name id, name score) of its best name at or above the threshold."""
        # A similarity of 0.845 is already 85 points once rounded.
        cut = (threshold - 0.5) / 100
        candidates = range(len(self._prepared)) if exhaustive else self._candidates(query, cut).tolist()
        best: dict[int, tuple[int, int]] = {}
        for name_id in candidates:
            points = compare_prepared(query, self._prepared[name_id]).score
            if points >= threshold:
                owner = self._owner[name_id]
                if owner not in best or (points, -name_id) > (best[owner][1], -best[owner][0]):
                    best[owner] = (name_id, points)
        return best

    def search(self, name: str, dob: date | None = None, threshold: int = DEFAULT_THRESHOLD,
               limit: int | None = 5, *, exhaustive: bool = False) -> list[Hit]:
        """Entries whose best-matching name scores at least ``threshold`` after the DOB adjustment,
        best first (ties by entry number), at most ``limit`` of them (None: all).

        ``exhaustive`` scores every listed name instead of the candidates the index picks; the
        results are the same (tests and the benchmark check it), only slower.
        """
        if not 0 <= threshold <= 100:
            raise ValueError(f"threshold must be between 0 and 100, got {threshold}")
        query = prepare(name)
        if not query.parts:
            return []
        hits: list[Hit] = []
        for owner, (name_id, points) in self._scores(query, threshold, exhaustive).items():
            entry = self.entries[owner]
            check = dob_check(entry.dobs, dob)
            adjusted = points - DOB_MISMATCH_PENALTY if check == "mismatch" else points
            if adjusted >= threshold:
                hits.append(Hit(entry.ent_num, entry.name, self._display[name_id], self._alias_type[name_id],
                                points, adjusted, check, tuple(r.text for r in entry.dobs), entry.sdn_type,
                                entry.programs, entry.remarks))
        hits.sort(key=lambda hit: (-hit.score, -hit.name_score, hit.ent_num))
        return hits if limit is None else hits[:limit]
