"""The fixed latency histogram that lets reports give p50/p95 from daily aggregates.

Buckets are log-spaced, eight per decade from 1 ms to 1,000 s: bucket 0 holds [0, 1 ms), bucket i
holds [EDGES[i-1], EDGES[i]), the last holds everything from 1,000 s up. A percentile estimated
from it lies in the same bucket as the true one, so it is within one bucket width (a factor of
10^(1/8) ≈ 1.33) of the exact value, whatever the number of requests. The edges are part of the
stored data: changing them means rebuilding every aggregate (``rebuild_usage``).
"""

import math
from bisect import bisect_right
from collections.abc import Iterable

EDGES_MS: tuple[float, ...] = tuple(round(10 ** (k / 8), 3) for k in range(0, 8 * 6 + 1))
BUCKETS = len(EDGES_MS) + 1


def empty() -> list[int]:
    return [0] * BUCKETS


def bucket_of(ms: float) -> int:
    return bisect_right(EDGES_MS, ms)


def bucket_bounds(index: int) -> tuple[float, float]:
    lo = 0.0 if index == 0 else EDGES_MS[index - 1]
    hi = EDGES_MS[index] if index < len(EDGES_MS) else math.inf
    return lo, hi


def add(hist: list[int], other: Iterable[int]) -> list[int]:
    """Element-wise sum into ``hist``; a short or missing stored histogram counts as zeros."""
    for i, n in enumerate(other or ()):
        hist[i] += n
    return hist


def percentile(hist: list[int], q: float) -> float | None:
    """The nearest-rank q-quantile (0 < q ≤ 1), interpolated inside its bucket on a log scale.

    None when the histogram is empty: no latency is a different thing from a latency of 0.
    """
    total = sum(hist)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index, count in enumerate(hist):
        if count and seen + count >= rank:
            lo, hi = bucket_bounds(index)
            fraction = (rank - seen - 0.5) / count
            if math.isinf(hi):
                return lo
            if lo == 0:
                return hi * fraction
            return lo * (hi / lo) ** fraction
        seen += count
    return None  # unreachable: the ranks add up to the total
