"""Known-answer tests for R-precision and the multimodal distance on constructed embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from vermo_cli.metrics.retrieval import (
    euclidean_distance_matrix,
    matching_score,
    multimodal_distance,
    r_precision,
    r_precision_chance,
)


def half_second_ranked_batch(batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """One batch where even texts sit on their motion and odd texts are nearer the previous one.

    Motions are 10 e_i. Text i (even) = motion i: rank 1. Text i (odd) = 0.6 motion_{i-1} +
    0.4 motion_i: 5.66 from motion_{i-1}, 8.49 from its own motion, 12.3 from any other, so its
    own motion ranks 2nd.
    """
    motions = 10.0 * np.eye(batch_size)
    texts = motions.copy()
    for i in range(1, batch_size, 2):
        texts[i] = 0.6 * motions[i - 1] + 0.4 * motions[i]
    return texts, motions


def test_perfectly_matched_embeddings_score_one() -> None:
    embeddings = np.random.default_rng(0).normal(size=(96, 16))
    assert r_precision(embeddings, embeddings) == (1.0, 1.0, 1.0)
    assert r_precision(embeddings, embeddings, seed=5) == (1.0, 1.0, 1.0)


def test_constructed_batches_have_exactly_half_top1() -> None:
    texts, motions = half_second_ranked_batch()
    two_batches_texts = np.concatenate([texts, texts + 100.0])
    two_batches_motions = np.concatenate([motions, motions + 100.0])
    assert r_precision(two_batches_texts, two_batches_motions) == (0.5, 1.0, 1.0)
    assert r_precision(texts, motions, top_k=1) == (0.5,)


def test_incomplete_last_batch_is_dropped() -> None:
    texts, motions = half_second_ranked_batch()
    # Five more pairs whose texts are far from their own motions: counted, they would lower
    # every value; dropped, the result is that of the one full batch.
    generator = np.random.default_rng(1)
    extra_motions = generator.normal(size=(5, 32))
    extra_texts = -50.0 * extra_motions
    result = r_precision(
        np.concatenate([texts, extra_texts]), np.concatenate([motions, extra_motions])
    )
    assert result == (0.5, 1.0, 1.0)


def test_unrelated_embeddings_score_near_chance() -> None:
    generator = np.random.default_rng(2)
    texts = generator.normal(size=(32 * 200, 8))
    motions = generator.normal(size=(32 * 200, 8))
    top1, top2, top3 = r_precision(texts, motions, seed=3)
    assert top1 == pytest.approx(r_precision_chance(32, 1), abs=0.01)
    assert top2 == pytest.approx(r_precision_chance(32, 2), abs=0.012)
    assert top3 == pytest.approx(r_precision_chance(32, 3), abs=0.015)
    assert top1 <= top2 <= top3


def test_shuffling_keeps_pairs_together_but_changes_the_batches() -> None:
    texts, motions = half_second_ranked_batch()
    # In order, the constructed batch gives 0.5; shuffled into 32-pair batches of a larger set,
    # odd texts lose the neighbour that was closer than their own motion, and the result rises.
    far = np.random.default_rng(4).normal(scale=1000.0, size=(32 * 9, 32))
    all_texts, all_motions = np.concatenate([texts, far]), np.concatenate([motions, far])
    assert r_precision(all_texts, all_motions)[0] == pytest.approx((16 + 32 * 9) / 320)
    assert r_precision(all_texts, all_motions, seed=0)[0] > r_precision(all_texts, all_motions)[0]


def test_chance_level() -> None:
    assert r_precision_chance(32, 1) == 1 / 32
    assert r_precision_chance(32, 3) == 3 / 32
    with pytest.raises(ValueError):
        r_precision_chance(32, 33)


def test_r_precision_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="full batch"):
        r_precision(np.zeros((31, 4)), np.zeros((31, 4)))
    with pytest.raises(ValueError, match="differ in shape"):
        r_precision(np.zeros((32, 4)), np.zeros((32, 5)))
    with pytest.raises(ValueError, match="top_k"):
        r_precision(np.zeros((32, 4)), np.zeros((32, 4)), top_k=0)


def test_multimodal_distance_is_the_mean_matched_distance() -> None:
    motions = np.random.default_rng(5).normal(size=(10, 2))
    offsets = np.zeros((10, 2))
    offsets[:5] = [3.0, 4.0]  # 5 pairs 5 apart, 5 pairs 0 apart
    assert multimodal_distance(motions + offsets, motions) == pytest.approx(2.5)
    assert matching_score(motions + offsets, motions) == pytest.approx(2.5)


def test_distance_matrix() -> None:
    rows = np.array([[0.0, 0.0], [1.0, 1.0]])
    columns = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(
        euclidean_distance_matrix(rows, columns),
        [[5.0, 0.0, np.sqrt(2)], [np.sqrt(13), np.sqrt(2), 0.0]],
    )
