"""Generation: prompts from user inputs, constrained sampling, outputs on disk."""

from pathlib import Path

DEFAULT_CHECKPOINT = Path("runs/sft")
"""Where `vermo generate` and `vermo eval` look when no --checkpoint is given (the README's
training output)."""

MAX_SAMPLES = 10_000
"""Most replies one `vermo generate` samples: more is a slip of the keyboard (at a few per
second on a CPU, 100,000 would run for a day while writing nothing)."""

DEFAULT_TEMPERATURE = 0.8
"""Sampling temperature of `vermo generate` and `vermo eval` unless told otherwise: on the
quickstart model, 0.8 against 1.0 raised t2m R-top-3 and m2t BLEU@4 and lowered btwn ADE,
with the same Diversity (docs/design-notes.md#sampling-temperature)."""
