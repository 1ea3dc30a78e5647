"""Language-model training: one loop for pretrain, sft and specialize, through DeepSpeed."""

from __future__ import annotations

import logging

CPU_ACCELERATOR_NOTICE = "Setting accelerator to CPU"
"""How DeepSpeed's warning starts that it found no GPU, printed whenever it is imported on a
machine without one, which is where vermo's CPU runs are meant to be."""


def _not_the_cpu_notice(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(CPU_ACCELERATOR_NOTICE)


# Set before any module of this package imports deepspeed, which logs the notice on import. The
# filter drops that one message; DeepSpeed's other warnings still reach the user.
logging.getLogger("DeepSpeed").addFilter(_not_the_cpu_notice)
