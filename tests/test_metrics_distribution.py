"""Known-answer tests for the distribution metrics: Fréchet distance, Diversity, MultiModality."""

from __future__ import annotations

import numpy as np
import pytest

from vermo_cli.metrics.distribution import (
    diversity,
    feature_statistics,
    frechet_distance,
    frechet_distance_from_statistics,
    mean_pairwise_distance,
    multimodality,
)


def symmetric_root(matrix: np.ndarray) -> np.ndarray:
    """Principal square root of a symmetric positive semi-definite matrix, by eigendecomposition."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def closed_form_frechet(
    mean_a: np.ndarray, covariance_a: np.ndarray, mean_b: np.ndarray, covariance_b: np.ndarray
) -> float:
    """W2^2 of two Gaussians by the symmetric form Tr(A + B - 2 (A^1/2 B A^1/2)^1/2)."""
    root_a = symmetric_root(covariance_a)
    cross = symmetric_root(root_a @ covariance_b @ root_a)
    return float(
        np.sum((mean_a - mean_b) ** 2)
        + np.trace(covariance_a)
        + np.trace(covariance_b)
        - 2 * np.trace(cross)
    )


def random_covariance(dimensions: int, seed: int) -> np.ndarray:
    factor = np.random.default_rng(seed).normal(size=(dimensions, dimensions))
    return factor @ factor.T / dimensions + 0.1 * np.eye(dimensions)


def test_one_dimensional_gaussians_match_the_textbook_formula() -> None:
    # W2^2 of N(m1, s1^2) and N(m2, s2^2) is (m1 - m2)^2 + (s1 - s2)^2.
    distance = frechet_distance_from_statistics(
        np.array([1.0]), np.array([[4.0]]), np.array([-2.0]), np.array([[0.25]])
    )
    assert distance == pytest.approx(3.0**2 + (2.0 - 0.5) ** 2)


def test_diagonal_gaussians_sum_per_dimension() -> None:
    mean_a, mean_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    variances_a, variances_b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum(
        (np.sqrt(variances_a) - np.sqrt(variances_b)) ** 2
    )
    distance = frechet_distance_from_statistics(
        mean_a, np.diag(variances_a), mean_b, np.diag(variances_b)
    )
    assert distance == pytest.approx(expected)  # 1 + 4 + 1 + 1 = 7
    assert expected == pytest.approx(7.0)


def test_full_covariances_agree_with_the_symmetric_closed_form() -> None:
    mean_a, mean_b = np.array([0.5, -1.0, 2.0, 0.0]), np.array([0.0, 0.0, 1.0, 1.0])
    covariance_a, covariance_b = random_covariance(4, seed=1), random_covariance(4, seed=2)
    expected = closed_form_frechet(mean_a, covariance_a, mean_b, covariance_b)
    assert expected > 1.0
    distance = frechet_distance_from_statistics(mean_a, covariance_a, mean_b, covariance_b)
    assert distance == pytest.approx(expected, rel=1e-9)


def test_sampled_gaussians_approach_the_closed_form() -> None:
    generator = np.random.default_rng(3)
    mean_a, mean_b = np.array([0.0, 0.0, 0.0]), np.array([1.0, -0.5, 0.5])
    covariance_a, covariance_b = random_covariance(3, seed=4), 2.0 * random_covariance(3, seed=5)
    samples_a = generator.multivariate_normal(mean_a, covariance_a, size=200_000)
    samples_b = generator.multivariate_normal(mean_b, covariance_b, size=200_000)
    expected = closed_form_frechet(mean_a, covariance_a, mean_b, covariance_b)
    assert frechet_distance(samples_a, samples_b) == pytest.approx(expected, rel=0.03)


def test_a_set_against_itself_is_zero_and_distance_is_symmetric() -> None:
    generator = np.random.default_rng(6)
    features = generator.normal(size=(500, 64))
    other = generator.normal(loc=0.3, size=(400, 64))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(features, other) == pytest.approx(frechet_distance(other, features))
    assert frechet_distance(features, other) > 64 * 0.3**2 * 0.8


def test_fewer_samples_than_dimensions_still_gives_a_finite_distance() -> None:
    features = np.random.default_rng(7).normal(size=(10, 32))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-4)
    assert np.isfinite(frechet_distance(features, features + 1.0))
    assert frechet_distance(features, features + 1.0) == pytest.approx(32.0, rel=1e-3)


def test_feature_statistics_are_mean_and_unbiased_covariance() -> None:
    mean, covariance = feature_statistics(np.array([[0.0, 0.0], [2.0, 4.0]]))
    np.testing.assert_allclose(mean, [1.0, 2.0])
    np.testing.assert_allclose(covariance, [[2.0, 4.0], [4.0, 8.0]])  # divided by n - 1 = 1


def test_frechet_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="dimension"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.full((5, 3), np.nan), np.zeros((5, 3)))


def test_diversity_of_a_regular_simplex_is_its_edge_up_to_repeated_samples() -> None:
    # 1000 one-hot points / sqrt(2): every two distinct points are exactly 1 apart. The only pairs
    # shorter than 1 are those that draw one sample twice (distance 0), so 300 * diversity is the
    # number of distinct pairs: an integer, at most 300 and rarely below 297.
    points = np.eye(1000) / np.sqrt(2.0)
    value = diversity(points, pairs=300, seed=0)
    assert 1.0 - 3.0 / 300 <= value <= 1.0
    assert value * 300 == pytest.approx(round(value * 300), abs=1e-9)
    assert diversity(3.0 * points, pairs=300, seed=0) == pytest.approx(3.0 * value)


def test_diversity_of_two_clusters_is_half_their_separation() -> None:
    # Half the points at 0 and half at distance 4: a random pair straddles with probability 1/2.
    points = np.zeros((2000, 2))
    points[1000:, 0] = 4.0
    assert diversity(points, pairs=300, seed=1) == pytest.approx(2.0, abs=0.4)
    assert diversity(np.zeros((50, 3)), seed=1) == 0.0


def test_diversity_uses_every_sample_when_there_are_fewer_than_pairs() -> None:
    points = np.random.default_rng(8).normal(size=(7, 4))
    assert diversity(points, pairs=300, seed=2) == diversity(points, pairs=7, seed=2)
    assert diversity(points, pairs=300, seed=2) == diversity(points, pairs=300, seed=2)
    with pytest.raises(ValueError, match="pairs"):
        diversity(points, pairs=0)


def test_multimodality_is_zero_for_collapsed_prompts_and_scales_per_prompt() -> None:
    collapsed = np.repeat(np.random.default_rng(9).normal(size=(5, 1, 8)), 30, axis=1)
    assert multimodality(collapsed, seed=0) == pytest.approx(0.0, abs=1e-12)
    # Each prompt's 30 samples form a regular simplex with edge length scales[p]; the pairs
    # (shared by all prompts) are distinct except for repeats, so the value is mean(scales)
    # times (distinct pairs / 10).
    scales = np.array([1.0, 2.0, 6.0])
    simplex = np.eye(30) / np.sqrt(2.0)
    grouped = scales[:, None, None] * simplex[None] + np.arange(3.0)[:, None, None]
    value = multimodality(grouped, pairs=10, seed=3)
    distinct_fraction = value / scales.mean()
    assert distinct_fraction == pytest.approx(round(distinct_fraction * 10) / 10, abs=1e-9)
    assert 0.7 <= distinct_fraction <= 1.0
    assert multimodality(simplex[None], pairs=10, seed=3) == pytest.approx(distinct_fraction)


def test_multimodality_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="samples_per_prompt"):
        multimodality(np.zeros((4, 8)))
    with pytest.raises(ValueError, match="samples_per_prompt"):
        multimodality(np.zeros((4, 1, 8)))


def test_mean_pairwise_distance_of_a_unit_square() -> None:
    square = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # 4 sides of length 1 and 2 diagonals of length sqrt(2), over 6 pairs.
    assert mean_pairwise_distance(square) == pytest.approx((4 + 2 * np.sqrt(2)) / 6)
