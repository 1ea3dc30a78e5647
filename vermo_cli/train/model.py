"""The motion language model: a Llama built from a recipe, or any local causal LM (`--init`)."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, LlamaConfig, PreTrainedModel
from transformers.utils import logging as hf_logging

from vermo_cli.errors import VermoError, first_line
from vermo_cli.train.lm_recipe import LmModelConfig
from vermo_cli.weights import UNREADABLE_WEIGHTS

ATTENTION = "sdpa"
"""PyTorch's fused scaled-dot-product attention: no extra package, fast on CPU and GPU."""


class InitModelError(VermoError):
    """The `--init` directory is missing or does not hold a causal language model."""


def llama_config(shape: LmModelConfig, vocab_size: int, pad_id: int) -> LlamaConfig:
    """A transformers `LlamaConfig` of the recipe's shape (SiLU, no biases, RMSNorm)."""
    rope_scaling = None
    if shape.rope_scaling is not None:
        rope_scaling = {"rope_type": "llama3", **shape.rope_scaling.model_dump()}
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_layers,
        num_attention_heads=shape.num_heads,
        num_key_value_heads=shape.num_kv_heads,
        head_dim=shape.head_dim,
        hidden_act="silu",
        max_position_embeddings=shape.max_position_embeddings,
        initializer_range=shape.initializer_range,
        rms_norm_eps=shape.rms_norm_eps,
        rope_theta=shape.rope_theta,
        rope_scaling=rope_scaling,
        tie_word_embeddings=shape.tie_word_embeddings,
        attention_bias=False,
        mlp_bias=False,
        pad_token_id=pad_id,
        bos_token_id=None,
        eos_token_id=None,
    )


def build_model(
    shape: LmModelConfig, vocab_size: int, pad_id: int, init: Path | None = None
) -> PreTrainedModel:
    """The model to train, in float32 (DeepSpeed casts it to bf16 on GPUs).

    Without `init`: a randomly initialised Llama of the recipe's `shape` (seed the global torch
    generator first for a reproducible draw). With `init`: the causal LM saved in that local
    directory, its token embeddings resized to `vocab_size` (new rows drawn around the mean of
    the old ones); the recipe's shape is then ignored.
    """
    if init is None:
        config = llama_config(shape, vocab_size, pad_id)
        model = AutoModelForCausalLM.from_config(
            config, attn_implementation=ATTENTION, dtype=torch.float32
        )
    else:
        model = _load_local_causal_lm(Path(init))
        if model.get_input_embeddings().num_embeddings != vocab_size:
            model.resize_token_embeddings(vocab_size)
        model.config.pad_token_id = pad_id
    model.config.use_cache = False
    return model


def enable_gradient_checkpointing(model: PreTrainedModel) -> None:
    """Recompute each decoder layer's activations in the backward pass instead of keeping them
    (torch's non-reentrant checkpoint), through the Hugging Face model's own switch: named
    `activation_checkpointing_enable` in recent transformers (5.25 has it, 5.21 does not),
    `gradient_checkpointing_enable` before."""
    options = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=options)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=options)


def _load_local_causal_lm(init: Path) -> PreTrainedModel:
    if not init.is_dir():
        raise InitModelError(f"--init {init}: no such directory")
    if not (init / "config.json").is_file():
        raise InitModelError(f"--init {init}: not a Hugging Face model directory (no config.json)")
    hf_logging.disable_progress_bar()  # vermo's own progress display is the one shown
    try:
        return AutoModelForCausalLM.from_pretrained(
            init, local_files_only=True, attn_implementation=ATTENTION, dtype=torch.float32
        )
    except (*UNREADABLE_WEIGHTS, KeyError) as error:
        reason = first_line(error)
        raise InitModelError(f"--init {init}: not a loadable causal LM ({reason})") from None
