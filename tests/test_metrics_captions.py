"""Known-answer tests for the caption metrics: BLEU, ROUGE-L, CIDEr-D, BERTScore."""

from __future__ import annotations

import math
import socket

import pytest

from vermo_cli.metrics import captions
from vermo_cli.metrics.captions import (
    CAPTION_METRIC_KEYS,
    bertscore,
    bertscore_model_path,
    bleu,
    caption_metrics,
    cider,
    normalize_caption,
    rouge_l,
)

CORPUS_HYPOTHESES = [
    "a person walks forward slowly",
    "a man jumps up and down twice",
    "someone waves with the right hand",
]


def test_normalization_lower_cases_and_keeps_letter_and_digit_runs() -> None:
    assert normalize_caption("  A Man's hand, RAISED 2 times!  ") == "a man s hand raised 2 times"
    assert normalize_caption("...") == ""


def test_identical_captions_score_full_marks() -> None:
    references = [[caption] for caption in CORPUS_HYPOTHESES]
    assert bleu(CORPUS_HYPOTHESES, references, max_order=1) == pytest.approx(100.0)
    assert bleu(CORPUS_HYPOTHESES, references, max_order=4) == pytest.approx(100.0)
    assert rouge_l(CORPUS_HYPOTHESES, references) == pytest.approx(100.0)
    assert cider(CORPUS_HYPOTHESES, references) == pytest.approx(10.0)


def test_case_and_punctuation_do_not_matter() -> None:
    hypotheses = ["A Person WALKS forward, slowly."]
    references = [["a person walks forward slowly"]]
    assert bleu(hypotheses, references, max_order=4) == pytest.approx(100.0)
    assert rouge_l(hypotheses, references) == pytest.approx(100.0)


def test_bleu1_clips_counts_by_the_best_reference() -> None:
    # Papineni et al.'s example: "the" occurs at most twice in one reference, so p1 = 2/7; the
    # closest reference length is 7 = c, so no brevity penalty.
    hypotheses = ["the the the the the the the"]
    references = [["the cat is on the mat", "there is a cat on the mat"]]
    assert bleu(hypotheses, references, max_order=1) == pytest.approx(100 * 2 / 7)


def test_bleu1_brevity_penalty() -> None:
    # p1 = 2/2, c = 2, r = 6: BP = exp(1 - 6/2) = exp(-2).
    assert bleu(["the cat"], [["the cat is on the mat"]], max_order=1) == pytest.approx(
        100 * math.exp(-2)
    )


def test_bleu_is_corpus_level() -> None:
    # Both sentences together: 4 clipped matches of 9 words, c = 9, r = 7 + 6 = 13, so
    # BLEU@1 = 4/9 exp(1 - 13/9); the mean of the sentence scores would be 21.05 instead.
    hypotheses = ["the the the the the the the", "the cat"]
    references = [
        ["the cat is on the mat", "there is a cat on the mat"],
        ["the cat is on the mat"],
    ]
    expected = 100 * 4 / 9 * math.exp(1 - 13 / 9)
    assert bleu(hypotheses, references, max_order=1) == pytest.approx(expected)


def test_bleu_takes_any_number_of_references_per_hypothesis() -> None:
    hypotheses = ["a man walks slowly forward", "a person jumps up high"]
    references = [
        ["someone is running in a circle", "a man walks slowly forward"],
        ["a person jumps up high"],
    ]
    assert bleu(hypotheses, references, max_order=4) == pytest.approx(100.0)
    assert bleu(hypotheses, [references[0][:1], references[1]], max_order=4) < 100.0


def test_bleu4_without_any_matching_four_gram_is_zero() -> None:
    assert bleu(["a b c d e"], [["a b c x e"]], max_order=4) == 0.0


def test_rouge_l_from_the_longest_common_subsequence() -> None:
    # LCS("police killed the gunman", "police kill the gunman") = 3 of 4 and 4 words: F = 0.75.
    assert rouge_l(["police killed the gunman"], [["police kill the gunman"]]) == pytest.approx(
        75.0
    )
    # LCS = 4 ("the cat on mat"): P = 4/4, R = 4/6, F = 2 * 1 * (2/3) / (5/3) = 0.8.
    assert rouge_l(["the cat on mat"], [["the cat sat on the mat"]]) == pytest.approx(80.0)
    # Best reference per hypothesis, mean over hypotheses.
    value = rouge_l(
        ["police killed the gunman", "the cat on mat"],
        [["completely different words here", "police kill the gunman"], ["the cat sat on the mat"]],
    )
    assert value == pytest.approx(77.5)


def test_cider_d_on_a_hand_computed_corpus() -> None:
    # Two motions, idf weight log(2) for every n-gram (each appears in one reference set, and
    # the unseen "e" gets df 1 as well). Motion 0 is identical but has only 1- and 2-grams:
    # cosines (1, 1, 0, 0), mean 0.5, times 10 = 5. Motion 1: unigram cosine with clipping =
    # log2^2 / (sqrt2 log2)^2 = 0.5, others 0, mean 0.125, times 10 = 1.25. Corpus: 3.125.
    assert cider(["a b", "c e"], [["a b"], ["c d"]]) == pytest.approx(3.125)


def test_cider_d_of_unrelated_captions_is_zero() -> None:
    assert cider(["x y z w", "p q r s"], [["a b c d"], ["e f g h"]]) == pytest.approx(0.0)


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="reference lists"):
        bleu(["a b"], [["a b"], ["c d"]])
    with pytest.raises(ValueError, match="empty"):
        rouge_l(["a b"], [[]])
    with pytest.raises(ValueError, match="not a string"):
        cider(["a b"], ["a b"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="no hypotheses"):
        bleu([], [])


def test_bertscore_model_ships_in_a_local_folder() -> None:
    folder = bertscore_model_path()
    assert (folder / "config.json").is_file()
    assert (folder / "model.safetensors").is_file()


@pytest.mark.slow
def test_bertscore_identical_is_full_and_unrelated_lower_without_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*_arguments: object, **_keywords: object) -> None:
        raise OSError("network access during BERTScore")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    captions._bertscore_scorer.cache_clear()
    identical = bertscore(["a person walks forward"], [["a person walks forward"]])
    paraphrase = bertscore(["a person walks forward"], [["someone is walking ahead"]])
    unrelated = bertscore(["a person walks forward"], [["stock prices fell sharply today"]])
    assert identical.f1 == pytest.approx(100.0, abs=0.01)
    assert unrelated.f1 < paraphrase.f1 < identical.f1 - 5.0
    # an empty caption (a model can write one) scores 0 and leaves the others' scores as they are
    with_empty = bertscore(["a person walks forward", "..."], [["a person walks forward"]] * 2)
    assert with_empty.f1 == pytest.approx(identical.f1 / 2, abs=0.01)
    assert bertscore([""], [["a person walks forward"]]).f1 == 0.0
    assert "sentence-transformers/all-MiniLM-L6-v2" in identical.model
    assert "layer 6" in identical.model
    best_of_two = bertscore(
        ["a person walks forward"], [["stock prices fell sharply today", "a person walks forward"]]
    )
    assert best_of_two.f1 == pytest.approx(100.0, abs=0.01)


@pytest.mark.slow
def test_caption_metrics_report_every_declared_key() -> None:
    references = [[caption] for caption in CORPUS_HYPOTHESES]
    report = caption_metrics(CORPUS_HYPOTHESES, references)
    assert tuple(report) == CAPTION_METRIC_KEYS
    assert report == pytest.approx(
        {"bleu1": 100.0, "bleu4": 100.0, "rouge_l": 100.0, "cider": 10.0, "bertscore": 100.0},
        abs=0.01,
    )
