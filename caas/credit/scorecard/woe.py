"""Weight-of-evidence binning of one attribute.

WoE of a bin = ln(share of all goods in the bin / share of all bads in the bin), with 0.5 added
to each count so a bin without bads (or goods) stays finite. Positive WoE: safer than average.
A value the binning has not seen (a category absent from training, or ``None``) gets WoE 0,
the population average.

* Numeric attributes start from their distinct values (at most ``max_bins`` of them) or from
  deciles; categorical ones from one bin per category.
* Numeric attributes, and the ordered categories of an ordinal one (savings A61 < A62 < A63 <
  A64, ...), are made monotone: adjacent bins are merged until the bad rate strictly rises, or
  strictly falls, along the order (pool-adjacent-violators). The direction is the one keeping
  more information value, unless the attribute fixes it.
* A bin holding fewer than ``min_share`` of the rows is merged into the neighbour (numeric,
  ordered) or the other category (unordered) with the closest bad rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SMOOTHING = 0.5


@dataclass(frozen=True)
class Bin:
    count: int
    bad: int
    woe: float
    categories: tuple[str, ...] = ()  # categorical bins
    upper: float | None = None  # numeric bins hold values <= upper; None: no upper limit

    @property
    def bad_rate(self) -> float:
        return self.bad / self.count if self.count else 0.0

    def label(self, lower: float | None = None) -> str:
        if self.categories:
            return ",".join(self.categories)
        low = "-inf" if lower is None else f"{lower:g}"
        return f"({low}, {'inf' if self.upper is None else f'{self.upper:g}'}]"


@dataclass(frozen=True)
class Binning:
    attribute: str
    kind: str  # "numeric" or "categorical"
    bins: tuple[Bin, ...]
    iv: float

    def index(self, value: str | float | None) -> int | None:
        """The bin holding ``value``; None when it holds nowhere (unknown)."""
        if value is None:
            return None
        if self.kind == "numeric":
            for position, bin_ in enumerate(self.bins):
                if bin_.upper is None or value <= bin_.upper:
                    return position
            return None
        for position, bin_ in enumerate(self.bins):
            if value in bin_.categories:
                return position
        return None

    def woe(self, value: str | float | None) -> float:
        position = self.index(value)
        return 0.0 if position is None else self.bins[position].woe

    def to_dict(self) -> dict:
        return {"attribute": self.attribute, "kind": self.kind, "iv": self.iv,
                "bins": [{"count": b.count, "bad": b.bad, "woe": b.woe,
                          **({"categories": list(b.categories)} if self.kind == "categorical" else {"upper": b.upper})}
                         for b in self.bins]}

    @classmethod
    def from_dict(cls, data: dict) -> Binning:
        bins = tuple(Bin(b["count"], b["bad"], b["woe"], tuple(b.get("categories", ())), b.get("upper"))
                     for b in data["bins"])
        return cls(data["attribute"], data["kind"], bins, data["iv"])


# A working bin: [count, bad, categories or None, upper or None]
_Work = list


def _rate(work: _Work) -> float:
    return work[1] / work[0] if work[0] else 0.0


def _merge(a: _Work, b: _Work) -> _Work:
    categories = None if a[2] is None else a[2] + b[2]
    upper = None if a[3] is None or b[3] is None else max(a[3], b[3])
    return [a[0] + b[0], a[1] + b[1], categories, upper]


def _monotone(chain: list[_Work], direction: int) -> list[_Work]:
    """Merge adjacent bins until the bad rate strictly rises (direction 1) or falls (-1)."""
    chain = [list(w) for w in chain]
    merged = True
    while merged and len(chain) > 1:
        merged = False
        for i in range(len(chain) - 1):
            if (_rate(chain[i + 1]) - _rate(chain[i])) * direction <= 0:
                chain[i:i + 2] = [_merge(chain[i], chain[i + 1])]
                merged = True
                break
    return chain


def _merge_small_adjacent(chain: list[_Work], min_count: int) -> list[_Work]:
    chain = [list(w) for w in chain]
    while len(chain) > 1:
        smallest = min(range(len(chain)), key=lambda i: (chain[i][0], i))
        if chain[smallest][0] >= min_count:
            break
        neighbours = [i for i in (smallest - 1, smallest + 1) if 0 <= i < len(chain)]
        other = min(neighbours, key=lambda i: (abs(_rate(chain[i]) - _rate(chain[smallest])), i))
        low, high = sorted((smallest, other))
        chain[low:high + 1] = [_merge(chain[low], chain[high])]
    return chain


def _merge_small_nearest(bins: list[_Work], min_count: int) -> list[_Work]:
    bins = [list(w) for w in bins]
    while len(bins) > 1:
        smallest = min(range(len(bins)), key=lambda i: (bins[i][0], i))
        if bins[smallest][0] >= min_count:
            break
        other = min((i for i in range(len(bins)) if i != smallest),
                    key=lambda i: (abs(_rate(bins[i]) - _rate(bins[smallest])), i))
        merged = _merge(bins[smallest], bins[other])
        bins = [b for i, b in enumerate(bins) if i not in (smallest, other)] + [merged]
    return bins


def _finish(attribute: str, kind: str, work: list[_Work], goods: int, bads: int) -> Binning:
    bins = []
    iv = 0.0
    for count, bad, categories, upper in work:
        good = count - bad
        share_good, share_bad = (good + SMOOTHING) / (goods + SMOOTHING), (bad + SMOOTHING) / (bads + SMOOTHING)
        woe = math.log(share_good / share_bad)
        iv += (good / goods - bad / bads) * woe if goods and bads else 0.0
        bins.append(Bin(count, bad, round(woe, 6), tuple(sorted(categories, key=_category_order)) if categories else (),
                        upper))
    return Binning(attribute, kind, tuple(bins), round(iv, 6))


def _category_order(code: str) -> tuple[int, str]:
    return len(code), code  # A41 before A410


def _best(attribute: str, kind: str, candidates: list[list[_Work]], goods: int, bads: int) -> Binning:
    fitted = [_finish(attribute, kind, work, goods, bads) for work in candidates]
    return max(fitted, key=lambda b: b.iv)  # first wins a tie


def fit_numeric(attribute: str, values: Sequence[float], labels: Sequence[int], *, min_share: float = 0.05,
                max_bins: int = 10, direction: int = 0) -> Binning:
    """Monotone bins of a numeric attribute; ``direction`` 1 or -1 fixes the trend of the bad rate."""
    pairs = sorted(zip(values, labels))
    goods, bads = sum(1 - y for _, y in pairs), sum(y for _, y in pairs)
    distinct = sorted({v for v, _ in pairs})
    if len(distinct) <= max_bins:
        edges = distinct[:-1]
    else:
        edges = sorted({pairs[(len(pairs) * q) // max_bins - 1][0] for q in range(1, max_bins)} - {distinct[-1]})
    work: list[_Work] = []
    start = 0
    for upper in [*edges, None]:
        end = start
        while end < len(pairs) and (upper is None or pairs[end][0] <= upper):
            end += 1
        chunk = pairs[start:end]
        work.append([len(chunk), sum(y for _, y in chunk), None, upper])
        start = end
    work = [w for w in work if w[0]] or work[:1]
    work[-1][3] = None
    min_count = max(1, math.ceil(min_share * len(pairs)))
    directions = [direction] if direction else [1, -1]
    candidates = [_merge_small_adjacent(_monotone(work, d), min_count) for d in directions]
    candidates = [_monotone(c, d) for c, d in zip(candidates, directions)]
    for candidate in candidates:
        candidate[-1][3] = None  # the last bin takes everything above
    return _best(attribute, "numeric", candidates, goods, bads)


def fit_categorical(attribute: str, values: Sequence[str], labels: Sequence[int], *, ordered: Sequence[str] = (),
                    min_share: float = 0.05) -> Binning:
    """Bins of a categorical attribute; the categories in ``ordered`` get a monotone WoE."""
    counts: dict[str, list[int]] = {}
    for value, label in zip(values, labels):
        entry = counts.setdefault(value, [0, 0])
        entry[0] += 1
        entry[1] += label
    goods, bads = sum(c - b for c, b in counts.values()), sum(b for _, b in counts.values())
    min_count = max(1, math.ceil(min_share * len(values)))
    chain = [[*counts[c], [c], None] for c in ordered if c in counts]
    rest = [[count, bad, [c], None] for c, (count, bad) in sorted(counts.items()) if c not in ordered]
    rest = _merge_small_nearest(rest, min_count)
    if not chain:
        return _finish(attribute, "categorical", rest, goods, bads)
    candidates = [_monotone(_merge_small_adjacent(_monotone(chain, d), min_count), d) + rest for d in (1, -1)]
    return _best(attribute, "categorical", candidates, goods, bads)
