"""DeepSpeed's checkpoint engine with a loader that runs no code from the files it reads.

DeepSpeed's own engine unpickles checkpoints with `torch.load(..., weights_only=False)`, so a
crafted file in a run directory would run code on `--resume`. This engine saves exactly as
DeepSpeed's does and loads through `vermo_cli.checkpoints.load_checkpoint`.
"""

from __future__ import annotations

from typing import Any

from deepspeed.runtime.checkpoint_engine import TorchCheckpointEngine
from deepspeed.runtime.fp16.loss_scaler import DynamicLossScaler, LossScaler
from deepspeed.runtime.zero.config import ZeroStageEnum

from vermo_cli.checkpoints import load_checkpoint

DEEPSPEED_CHECKPOINT_CLASSES: tuple[type, ...] = (LossScaler, DynamicLossScaler, ZeroStageEnum)
"""What ZeRO-3 checkpoints hold besides tensors and plain data (read from the files a run of the
tiny recipe saves): the optimizer state's loss scaler (`LossScaler` in bf16 and fp32 runs,
`DynamicLossScaler` in fp16 ones) and the ZeRO stage, an enum. A loss scaler's state is set
attribute by attribute and the enum is looked up by value: neither runs code the file names."""


class RestrictedCheckpointEngine(TorchCheckpointEngine):
    """`TorchCheckpointEngine` whose `load` builds only tensors, plain data and
    `DEEPSPEED_CHECKPOINT_CLASSES`, and refuses a file that names anything else
    (`CheckpointError` naming the file)."""

    def __init__(self, zipfile_serialization: bool) -> None:
        """`zipfile_serialization`: the format DeepSpeed's engine would save in."""
        super().__init__()
        self.zipfile_serialization = zipfile_serialization

    def load(self, path: str, map_location: Any = None) -> Any:
        """The content of one checkpoint file (DeepSpeed passes `map_location` through)."""
        return load_checkpoint(path, map_location, DEEPSPEED_CHECKPOINT_CLASSES)
