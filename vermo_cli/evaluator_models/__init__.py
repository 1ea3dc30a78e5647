"""Learned evaluators for the benchmarks: text-motion retrieval and the gesture autoencoder.

`fit_evaluator` trains one on a corpus and writes its directory; `load_evaluator` reads it back
as a `TextMotionEvaluator` (`embed_motion`, `embed_text`) or a `GestureEvaluator`
(`embed_gesture`); `text_motion_variant` says which text-motion evaluator a clip needs.
"""

from vermo_cli.evaluator_models.evaluator import (
    GestureEvaluator,
    TextMotionEvaluator,
    load_evaluator,
    text_motion_variant,
)
from vermo_cli.evaluator_models.fit import fit_evaluator
from vermo_cli.evaluator_models.store import EvaluatorError

__all__ = [
    "EvaluatorError",
    "GestureEvaluator",
    "TextMotionEvaluator",
    "fit_evaluator",
    "load_evaluator",
    "text_motion_variant",
]
