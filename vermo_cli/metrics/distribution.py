"""Distribution metrics on feature vectors: Fréchet distance, Diversity, MultiModality.

Every function takes features that an evaluator model (text-motion retrieval encoder, gesture
autoencoder) or a hand-made extractor (kinetic features) has already computed, as numpy arrays
`[samples, dimensions]`, and works in float64. Distances are Euclidean in the feature space, so
their unit is whatever the features' unit is.

The random draws follow the HumanML3D evaluation protocol (Guo et al. 2022) and take a `seed`, so
that a number is reproducible; a benchmark repeats them over seeds for its confidence interval.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.spatial.distance

# Added to both covariances' diagonals when sqrtm of their product is not finite (a singular
# product), the same remedy as in the usual FID implementations.
_SQRTM_DIAGONAL_OFFSET: float = 1e-6


def _as_feature_matrix(features: np.ndarray, name: str, minimum_samples: int = 1) -> np.ndarray:
    """`features` as float64 `[samples, dimensions]`, checked for shape, size and finiteness."""
    matrix = np.asarray(features, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise ValueError(f"{name}: expected features [samples, dimensions>0], got {matrix.shape}")
    if matrix.shape[0] < minimum_samples:
        raise ValueError(f"{name}: needs at least {minimum_samples} samples, got {matrix.shape[0]}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{name}: features contain NaN or infinite values")
    return matrix


def frechet_distance_from_statistics(
    mean_a: np.ndarray,
    covariance_a: np.ndarray,
    mean_b: np.ndarray,
    covariance_b: np.ndarray,
) -> float:
    """Fréchet distance between the Gaussians N(mean_a, covariance_a) and N(mean_b, covariance_b).

    `mean_*`: `[d]`; `covariance_*`: `[d, d]` symmetric positive semi-definite. The squared
    2-Wasserstein distance of two Gaussians:
    ||mean_a - mean_b||^2 + Tr(covariance_a + covariance_b - 2 sqrtm(covariance_a covariance_b)),
    in squared feature units. sqrtm is `scipy.linalg.sqrtm`; when it is not finite, 1e-6 is added
    to both diagonals and it is taken again. The imaginary part of its trace (rounding in a
    singular product, whose tiny negative eigenvalues have imaginary square roots) is dropped,
    and a result below zero by rounding is returned as 0.
    """
    mean_a = np.asarray(mean_a, dtype=np.float64)
    mean_b = np.asarray(mean_b, dtype=np.float64)
    covariance_a = np.asarray(covariance_a, dtype=np.float64)
    covariance_b = np.asarray(covariance_b, dtype=np.float64)
    if mean_a.ndim != 1 or mean_a.shape != mean_b.shape:
        raise ValueError(
            f"means must be two vectors [d] of one size, got {mean_a.shape} and {mean_b.shape}"
        )
    dimensions = mean_a.shape[0]
    for name, covariance in (("covariance_a", covariance_a), ("covariance_b", covariance_b)):
        if covariance.shape != (dimensions, dimensions):
            raise ValueError(f"{name} {covariance.shape} does not match means of size {dimensions}")
    product_root = scipy.linalg.sqrtm(covariance_a @ covariance_b)
    if not np.all(np.isfinite(product_root)):
        offset = _SQRTM_DIAGONAL_OFFSET * np.eye(dimensions)
        product_root = scipy.linalg.sqrtm((covariance_a + offset) @ (covariance_b + offset))
    mean_term = float(np.sum(np.square(mean_a - mean_b)))
    trace_term = float(
        np.trace(covariance_a) + np.trace(covariance_b) - 2.0 * np.real(np.trace(product_root))
    )
    return max(0.0, mean_term + trace_term)


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean `[d]` and unbiased sample covariance `[d, d]` (divided by n - 1) of `[n>=2, d]`."""
    matrix = _as_feature_matrix(features, "features", minimum_samples=2)
    dimensions = matrix.shape[1]
    covariance = np.cov(matrix, rowvar=False).reshape(dimensions, dimensions)
    return matrix.mean(axis=0), covariance


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance (FID-style) between two sets of features, squared feature units.

    `features_a`: `[n>=2, d]`, `features_b`: `[m>=2, d]`. Each set is summarised by its mean and
    unbiased sample covariance (`feature_statistics`), and the result is
    `frechet_distance_from_statistics` of the two: ||mu_a - mu_b||^2 +
    Tr(S_a + S_b - 2 sqrtm(S_a S_b)). Symmetric; 0 for a set against itself. This is FID for
    text-to-motion (evaluator motion embeddings), FGD for gestures (autoencoder latents) and the
    core of FID_k / FID_g for dance.
    """
    matrix_a = _as_feature_matrix(features_a, "features_a", minimum_samples=2)
    matrix_b = _as_feature_matrix(features_b, "features_b", minimum_samples=2)
    if matrix_a.shape[1] != matrix_b.shape[1]:
        raise ValueError(
            f"features differ in dimension: {matrix_a.shape[1]} and {matrix_b.shape[1]}"
        )
    mean_a, covariance_a = feature_statistics(matrix_a)
    mean_b, covariance_b = feature_statistics(matrix_b)
    return frechet_distance_from_statistics(mean_a, covariance_a, mean_b, covariance_b)


def diversity(features: np.ndarray, pairs: int = 300, seed: int = 0) -> float:
    """Diversity of a set of features: mean Euclidean distance of random pairs (HumanML3D).

    `features`: `[n>=2, d]` (e.g. evaluator embeddings of all generated motions). Draws two index
    lists of length k = min(`pairs`, n), each uniformly without replacement and independently of
    the other, with `numpy.random.default_rng(seed)`, and returns
    mean_i ||features[first_i] - features[second_i]||_2, in feature units. As in the HumanML3D
    protocol the two lists are independent, so a pair can be one sample twice (distance 0):
    on average once in n pairs. The paper uses `pairs` = 300.
    """
    matrix = _as_feature_matrix(features, "features", minimum_samples=2)
    if pairs < 1:
        raise ValueError(f"pairs must be at least 1, got {pairs}")
    count = min(pairs, matrix.shape[0])
    generator = np.random.default_rng(seed)
    first = generator.choice(matrix.shape[0], size=count, replace=False)
    second = generator.choice(matrix.shape[0], size=count, replace=False)
    return float(np.linalg.norm(matrix[first] - matrix[second], axis=-1).mean())


def multimodality(features: np.ndarray, pairs: int = 10, seed: int = 0) -> float:
    """MultiModality: mean distance between samples generated from one prompt (HumanML3D).

    `features`: `[prompts, samples_per_prompt>=2, d]`, the evaluator embeddings of several
    generations for each prompt. Draws two index lists of length k = min(`pairs`,
    samples_per_prompt), each without replacement and independently of the other, with
    `numpy.random.default_rng(seed)`, uses the same lists for every prompt (as the HumanML3D
    code does), and returns the mean over prompts and i of
    ||features[p, first_i] - features[p, second_i]||_2, feature units. The paper's protocol has
    30 samples per prompt and `pairs` = 10.
    """
    grouped = np.asarray(features, dtype=np.float64)
    if grouped.ndim != 3 or grouped.shape[0] == 0 or grouped.shape[1] < 2 or grouped.shape[2] == 0:
        raise ValueError(
            "expected features [prompts>0, samples_per_prompt>=2, dimensions>0], got "
            f"{grouped.shape}"
        )
    if not np.all(np.isfinite(grouped)):
        raise ValueError("features contain NaN or infinite values")
    if pairs < 1:
        raise ValueError(f"pairs must be at least 1, got {pairs}")
    samples_per_prompt = grouped.shape[1]
    count = min(pairs, samples_per_prompt)
    generator = np.random.default_rng(seed)
    first = generator.choice(samples_per_prompt, size=count, replace=False)
    second = generator.choice(samples_per_prompt, size=count, replace=False)
    return float(np.linalg.norm(grouped[:, first] - grouped[:, second], axis=-1).mean())


def mean_pairwise_distance(features: np.ndarray) -> float:
    """Mean Euclidean distance over all unordered pairs of distinct samples, feature units.

    `features`: `[n>=2, d]`. Returns (2 / (n (n - 1))) sum_{i<j} ||features[i] - features[j]||_2,
    with no random draw: the diversity that the dance benchmarks (Div_k, Div_g; AIST++ and
    Bailando) compute over all generated dances.
    """
    matrix = _as_feature_matrix(features, "features", minimum_samples=2)
    return float(scipy.spatial.distance.pdist(matrix, metric="euclidean").mean())
