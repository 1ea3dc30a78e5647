"""Music metrics for d2m: beats coverage, beats hit and their F1, generated vs reference music.

Beats are times in seconds, detected in the generated and in the reference (ground-truth) music
of the same dance, e.g. with `vermo_cli.metrics.dance.music_beats`. Following LORIS (Yu et al.
2023), as the paper's appendix D says, beats within one second are merged: the clip's time is cut
into one-second bins [k, k + 1) and a bin either has beats or not, so a count below is a number of
bins with beats. A generated bin is aligned when the reference has beats in that same bin.

With B_m the reference bins with beats, B_k the generated bins with beats and B_a the aligned
ones, the definitions are those of the paper's appendix D text:
  - beats coverage = B_k / B_m ("the proportion of [generated] beats relative to musical beats");
  - beats hit = B_a / B_k ("the ratio of aligned [generated] beats to total [generated] beats");
  - beat F1 = 2 coverage hit / (coverage + hit), from the corpus means of coverage and hit (the
    paper's F1 column is the harmonic mean of its coverage and hit columns).
Other codes differ: D2M-GAN divides hit by B_m, and the LORIS repository computes B_a / B_k and
B_a / B_m (a precision and a recall). All three scores are percentages, 0-100 as in the paper's
table; coverage exceeds 100 when the generated music has beats in more seconds than the reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

MUSIC_METRIC_KEYS: tuple[str, ...] = ("beats_coverage", "beats_hit", "beat_f1")
"""The keys of `music_beat_scores`, the metric names that the d2m task declares."""

BEAT_BIN_SECONDS: float = 1.0


def beat_bins(
    beat_times: np.ndarray,
    duration_seconds: float | None = None,
    bin_seconds: float = BEAT_BIN_SECONDS,
) -> np.ndarray:
    """The sorted distinct bins `[bins]` int that hold at least one beat.

    `beat_times`: `[beats]` seconds >= 0. A beat at t is in bin floor(t / `bin_seconds`), so all
    beats within one bin count once. With `duration_seconds`, beats at or after it are dropped
    (LORIS cuts the reference to the generated music's length).
    """
    if not bin_seconds > 0:
        raise ValueError(f"bin_seconds must be positive, got {bin_seconds}")
    times = np.asarray(beat_times, dtype=np.float64)
    if times.ndim > 1:
        raise ValueError(f"beat times must be a vector of seconds, got shape {times.shape}")
    times = times.reshape(-1)
    if not np.all(np.isfinite(times)) or np.any(times < 0):
        raise ValueError("beat times must be finite, non-negative seconds")
    if duration_seconds is not None:
        times = times[times < duration_seconds]
    return np.unique(np.floor(times / bin_seconds).astype(np.int64))


class BeatBinCounts(NamedTuple):
    """Bins with beats in one clip: in the reference (B_m), the generated (B_k), both (B_a)."""

    reference: int
    generated: int
    aligned: int


def beat_bin_counts(
    generated_beat_times: np.ndarray,
    reference_beat_times: np.ndarray,
    duration_seconds: float | None = None,
    bin_seconds: float = BEAT_BIN_SECONDS,
) -> BeatBinCounts:
    """B_m, B_k and B_a of one clip, from its generated and reference beat times in seconds."""
    generated = beat_bins(generated_beat_times, duration_seconds, bin_seconds)
    reference = beat_bins(reference_beat_times, duration_seconds, bin_seconds)
    aligned = np.intersect1d(generated, reference, assume_unique=True)
    return BeatBinCounts(reference=reference.size, generated=generated.size, aligned=aligned.size)


def beats_coverage(
    generated_beat_times: np.ndarray,
    reference_beat_times: np.ndarray,
    duration_seconds: float | None = None,
    bin_seconds: float = BEAT_BIN_SECONDS,
) -> float:
    """Beats coverage of one clip, percent: 100 B_k / B_m (NaN when the reference has no beat)."""
    counts = beat_bin_counts(
        generated_beat_times, reference_beat_times, duration_seconds, bin_seconds
    )
    if counts.reference == 0:
        return float("nan")
    return 100.0 * counts.generated / counts.reference


def beats_hit(
    generated_beat_times: np.ndarray,
    reference_beat_times: np.ndarray,
    duration_seconds: float | None = None,
    bin_seconds: float = BEAT_BIN_SECONDS,
) -> float:
    """Beats hit of one clip, percent: 100 B_a / B_k (0 when the generated music has no beat).

    NaN when the reference has no beat, as the clip then cannot be scored.
    """
    counts = beat_bin_counts(
        generated_beat_times, reference_beat_times, duration_seconds, bin_seconds
    )
    if counts.reference == 0:
        return float("nan")
    if counts.generated == 0:
        return 0.0
    return 100.0 * counts.aligned / counts.generated


def beat_f1(coverage: float, hit: float) -> float:
    """Harmonic mean 2 coverage hit / (coverage + hit) of two percentages (0 when both are 0)."""
    if coverage + hit == 0:
        return 0.0
    return 2.0 * coverage * hit / (coverage + hit)


def music_beat_scores(
    generated_beat_times: Sequence[np.ndarray],
    reference_beat_times: Sequence[np.ndarray],
    durations_seconds: Sequence[float] | None = None,
    bin_seconds: float = BEAT_BIN_SECONDS,
) -> dict[str, float]:
    """d2m scores of a set of clips, percent, keyed by `MUSIC_METRIC_KEYS`.

    `generated_beat_times[i]`, `reference_beat_times[i]`: the beat times (seconds) of clip i's
    generated and reference music; `durations_seconds[i]` (optional) its length. `beats_coverage`
    and `beats_hit` are the means over clips of `beats_coverage` and `beats_hit` (clips whose
    reference has no beat are left out; NaN when that leaves none), and `beat_f1` is `beat_f1`
    of those two means.
    """
    if len(generated_beat_times) != len(reference_beat_times):
        raise ValueError(
            f"{len(generated_beat_times)} generated but {len(reference_beat_times)} reference clips"
        )
    if len(generated_beat_times) == 0:
        raise ValueError("no clips to score")
    if durations_seconds is not None and len(durations_seconds) != len(generated_beat_times):
        raise ValueError(
            f"{len(durations_seconds)} durations for {len(generated_beat_times)} clips"
        )
    coverages: list[float] = []
    hits: list[float] = []
    for index, (generated, reference) in enumerate(
        zip(generated_beat_times, reference_beat_times, strict=True)
    ):
        duration = None if durations_seconds is None else durations_seconds[index]
        coverage = beats_coverage(generated, reference, duration, bin_seconds)
        if np.isnan(coverage):
            continue
        coverages.append(coverage)
        hits.append(beats_hit(generated, reference, duration, bin_seconds))
    if not coverages:
        nan = float("nan")
        return dict.fromkeys(MUSIC_METRIC_KEYS, nan)
    mean_coverage = float(np.mean(coverages))
    mean_hit = float(np.mean(hits))
    return {
        "beats_coverage": mean_coverage,
        "beats_hit": mean_hit,
        "beat_f1": beat_f1(mean_coverage, mean_hit),
    }
