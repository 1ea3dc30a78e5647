"""Text-motion retrieval metrics on evaluator embeddings: R-precision and multimodal distance.

Inputs are the embeddings of a TMR-style text-motion evaluator, row i of `text_embeddings` and
row i of `motion_embeddings` being a matching pair (a caption and the motion generated from it, or
a motion and the caption generated for it), `[pairs, dimensions]`. Distances are Euclidean, as in
the HumanML3D protocol (Guo et al. 2022) that the paper's t2m, mt2m, m2t and mm2t tables follow.
"""

from __future__ import annotations

import numpy as np

R_PRECISION_BATCH_SIZE: int = 32
"""The HumanML3D protocol's retrieval batch: each text ranks its motion among 32."""


def _as_matched_embeddings(
    text_embeddings: np.ndarray, motion_embeddings: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float64 `[pairs>0, dimensions>0]` of one shape, finite."""
    text = np.asarray(text_embeddings, dtype=np.float64)
    motion = np.asarray(motion_embeddings, dtype=np.float64)
    if text.ndim != 2 or text.shape[0] == 0 or text.shape[1] == 0:
        raise ValueError(f"expected text embeddings [pairs>0, dimensions>0], got {text.shape}")
    if motion.shape != text.shape:
        raise ValueError(
            f"text embeddings {text.shape} and motion embeddings {motion.shape} differ in shape"
        )
    if not (np.all(np.isfinite(text)) and np.all(np.isfinite(motion))):
        raise ValueError("embeddings contain NaN or infinite values")
    return text, motion


def euclidean_distance_matrix(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances `[n, m]` between `rows` `[n, d]` and `columns` `[m, d]`.

    Computed from the differences, not from ||a||^2 + ||b||^2 - 2ab, so that equal vectors are at
    distance exactly 0 and ties are true ties.
    """
    rows = np.asarray(rows, dtype=np.float64)
    columns = np.asarray(columns, dtype=np.float64)
    return np.linalg.norm(rows[:, None, :] - columns[None, :, :], axis=-1)


def r_precision(
    text_embeddings: np.ndarray,
    motion_embeddings: np.ndarray,
    batch_size: int = R_PRECISION_BATCH_SIZE,
    top_k: int = 3,
    seed: int | None = None,
) -> tuple[float, ...]:
    """R-precision top-1 ... top-`top_k` of matched text and motion embeddings, fractions 0-1.

    `text_embeddings`, `motion_embeddings`: `[pairs, d]`, row i of each a matching pair. The pairs
    are cut into consecutive batches of `batch_size` (32 in the HumanML3D protocol): in the given
    order when `seed` is None, or after one shared random permutation of the pairs
    (`numpy.random.default_rng(seed)`) otherwise, as the protocol's shuffled data loader does. The
    incomplete last batch, when pairs is not a multiple of `batch_size`, is dropped (the
    protocol's `drop_last`), so that every text competes with exactly `batch_size` motions.
    Within a batch, each text ranks the batch's motions by Euclidean distance (a stable sort:
    on a tie the motion that comes first in the batch ranks higher), and the k-th value returned
    is the fraction of the batches' texts whose matching motion is among the first k. Returns a
    tuple of `top_k` non-decreasing values; `r_precision_chance` gives the chance level.
    """
    text, motion = _as_matched_embeddings(text_embeddings, motion_embeddings)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if not 1 <= top_k <= batch_size:
        raise ValueError(f"top_k must be between 1 and batch_size {batch_size}, got {top_k}")
    pair_count = text.shape[0]
    batch_count = pair_count // batch_size
    if batch_count == 0:
        raise ValueError(
            f"R-precision needs at least one full batch of {batch_size} pairs, got {pair_count}"
        )
    order = (
        np.arange(pair_count)
        if seed is None
        else np.random.default_rng(seed).permutation(pair_count)
    )
    hits_within = np.zeros(top_k, dtype=np.int64)
    for batch in range(batch_count):
        indices = order[batch * batch_size : (batch + 1) * batch_size]
        distances = euclidean_distance_matrix(text[indices], motion[indices])
        ranking = np.argsort(distances, axis=1, kind="stable")
        match_rank = np.argmax(ranking == np.arange(batch_size)[:, None], axis=1)
        hits_within += (match_rank[:, None] < np.arange(1, top_k + 1)[None, :]).sum(axis=0)
    ranked_texts = batch_count * batch_size
    return tuple(float(hits) / ranked_texts for hits in hits_within)


def r_precision_chance(batch_size: int = R_PRECISION_BATCH_SIZE, top_k: int = 1) -> float:
    """Chance level of R-precision top-`top_k` in batches of `batch_size`: k / batch_size.

    For embeddings unrelated to the pairing, the matching motion's rank is uniform over the
    batch, so it is among the first k with probability k / batch_size (0.03125 for top-1 in 32).
    """
    if batch_size < 1 or not 1 <= top_k <= batch_size:
        raise ValueError(f"need 1 <= top_k <= batch_size, got top_k={top_k}, {batch_size=}")
    return top_k / batch_size


def multimodal_distance(text_embeddings: np.ndarray, motion_embeddings: np.ndarray) -> float:
    """Multimodal distance (MM-Dist, HumanML3D's "matching score"), embedding units.

    `text_embeddings`, `motion_embeddings`: `[pairs, d]`, row i of each a matching pair. Returns
    mean_i ||text_embeddings[i] - motion_embeddings[i]||_2 over all pairs (no batching). Lower is
    better aligned. Reported under the key `mm_dist`.
    """
    text, motion = _as_matched_embeddings(text_embeddings, motion_embeddings)
    return float(np.linalg.norm(text - motion, axis=-1).mean())


matching_score = multimodal_distance
"""HumanML3D's code calls the multimodal distance the "matching score"; the same function."""
