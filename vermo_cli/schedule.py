"""The learning-rate schedule every vermo trainer uses: linear warm-up, then cosine decay."""

from __future__ import annotations

import math


def warmup_cosine_factor(
    step: int, warmup_steps: int, total_steps: int, final_fraction: float
) -> float:
    """Share of the peak learning rate at 0-based optimizer step `step`.

    It rises linearly over the first `warmup_steps` steps (step 0 already takes 1/warmup of
    the peak, so no step is spent at zero), then falls along half a cosine from the peak to
    `final_fraction` of it at `total_steps`, and stays there.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(total_steps - warmup_steps, 1)
    progress = min((step - warmup_steps) / span, 1.0)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return final_fraction + (1.0 - final_fraction) * cosine
