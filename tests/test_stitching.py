"""Given motion put back into pred/btwn outputs, the made frames blended to meet it."""

from __future__ import annotations

import numpy as np
import pytest

from vermo_cli.generate.stitching import seam_gap, stitch_given_motion


def test_btwn_keeps_both_ends_and_blends_the_seam_offsets_linearly() -> None:
    truth = np.random.default_rng(0).normal(size=(2, 40, 52, 3)).astype(np.float32)
    decoded = truth + np.array([0.5, 0.0, -0.2], dtype=np.float32)  # a constant decoding error
    decoded[:, 20] += 1.0  # and one wrong frame in the gap
    stitched = stitch_given_motion(decoded, truth[:, :10], truth[:, 30:38], after_start=30)
    assert stitched.shape == (2, 38, 52, 3)
    np.testing.assert_array_equal(stitched[:, :10], truth[:, :10])
    np.testing.assert_array_equal(stitched[:, 30:], truth[:, 30:38])
    # the constant error is gone everywhere in the gap; the wrong frame stays wrong by 1
    gap = [t for t in range(10, 30) if t != 20]
    np.testing.assert_allclose(stitched[:, gap], truth[:, gap], atol=1e-5)
    np.testing.assert_allclose(stitched[:, 20] - truth[:, 20], 1.0, atol=1e-5)


def test_seam_offsets_that_differ_are_interpolated_across_the_gap() -> None:
    decoded = np.zeros((1, 12, 52, 3), dtype=np.float32)
    before = np.zeros((1, 2, 52, 3), dtype=np.float32)
    after = np.full((1, 2, 52, 3), 9.0, dtype=np.float32)
    stitched = stitch_given_motion(decoded, before, after, after_start=10)
    # offsets 0 at frame 1 and 9 at frame 10 -> frame t gets (t - 1)
    np.testing.assert_allclose(stitched[0, 2:10, 0, 0], np.arange(1, 9), atol=1e-6)


def test_pred_holds_the_past_seam_offset_and_nothing_given_changes_nothing() -> None:
    truth = np.random.default_rng(1).normal(size=(1, 30, 52, 3)).astype(np.float32)
    decoded = truth + 0.3
    stitched = stitch_given_motion(decoded, truth[:, :8], None)
    assert stitched.shape == truth.shape
    np.testing.assert_allclose(stitched, truth, atol=1e-5)
    np.testing.assert_array_equal(stitch_given_motion(decoded, None, None), decoded)
    with pytest.raises(ValueError, match="inside the past"):
        stitch_given_motion(decoded, truth[:, :20], truth[:, :5], after_start=10)


def test_the_seam_gap_is_the_body_joints_distance_at_both_seams() -> None:
    decoded = np.zeros((1, 10, 52, 3), dtype=np.float32)
    before = np.zeros((1, 3, 52, 3), dtype=np.float32)
    after = np.zeros((1, 2, 52, 3), dtype=np.float32)
    assert seam_gap(decoded, before, after) == 0.0 == seam_gap(decoded, None, None)
    before[:, -1, :, 0] = 0.3  # 0.3 m off at the past's seam (frame 2)
    after[:, 0, :, 2] = 0.4  # 0.4 m off at the future's seam (frame 8, or `after_start`)
    assert seam_gap(decoded, before, None) == pytest.approx(0.3)
    assert seam_gap(decoded, before, after) == pytest.approx(0.7)
    decoded[:, 5, :, 2] = 0.4
    assert seam_gap(decoded, before, after, after_start=5) == pytest.approx(0.3)
    decoded[:, 2, 22:] = 5.0  # hands are left out
    assert seam_gap(decoded, before, after, after_start=5) == pytest.approx(0.3)
