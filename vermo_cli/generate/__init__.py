"""Generation: prompts from user inputs, constrained sampling, outputs on disk."""

from pathlib import Path

DEFAULT_CHECKPOINT = Path("runs/sft")
"""Where `vermo generate` and `vermo eval` look when no --checkpoint is given (the README's
training output)."""
