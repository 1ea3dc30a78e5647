"""Names inside a training run directory, shared by training and by what reads its results."""

from pathlib import Path

MODEL_DIR = "model"
"""Consolidated Hugging Face weights and tokenizer (`AutoModelForCausalLM.from_pretrained`): the
run's model, of the step its `MODEL_RECORD` names."""
MODEL_RECORD = "vermo_model.json"
"""Inside `MODEL_DIR`: the training step the weights are from, their validation loss (nats per
token, null when that step did not validate) and the rule that chose them (`export`)."""
CHECKPOINTS_DIR = "checkpoints"
"""DeepSpeed ZeRO-3 training checkpoints, one folder per tag `step<N>`."""
MODEL_STATES = "zero_pp_rank_0_mp_rank_00_model_states.pt"
"""Rank 0's model file of a ZeRO-3 checkpoint: parameter names and shapes, tied parameters."""
VOCABULARY_DIR = "vocabulary"
"""The run's vocabulary (the Hugging Face tokenizer with vermo's tokens)."""
RUN_FILE = "vermo_run.json"
"""What the run is: stage, recipe, data, tokenizer and codec identities, and which step its
model is."""
NO_CODEC = "none"
"""The audio-codec identity of a vocabulary built without audio."""

# An in-betweening specialist's run (`vermo_cli.inbetween`, a recipe of `kind: inbetween`):
INBETWEEN_INFO = "inbetween.json"
"""What the run is: recipe, skeleton (joint names, parents), the position scale, the step its
weights are from and the validation history."""
INBETWEEN_WEIGHTS = "model.safetensors"
"""The weights of the best validation step."""
INBETWEEN_LOG = "train.csv"
"""Step, loss, learning rate and validation L2P as training went."""
INBETWEEN_FORMAT = "vermo-inbetween"
INBETWEEN_VERSION = 1


def checkpoint_tags(directory: Path) -> list[Path]:
    """Checkpoint folders `step<N>` of a run's `checkpoints/`, in step order."""
    if not directory.is_dir():
        return []
    tags = [
        path
        for path in directory.glob("step*")
        if path.is_dir() and checkpoint_step(path) is not None
    ]
    return sorted(tags, key=lambda path: checkpoint_step(path) or 0)


def is_training_checkpoint(path: Path) -> bool:
    """Whether `path` names a training checkpoint rather than a run or model folder: anything
    inside a vermo run's `checkpoints/` (a missing step too), or a folder of ZeRO-3 files."""
    path = Path(path)
    in_run = path.parent.name == CHECKPOINTS_DIR and (checkpoint_run(path) / RUN_FILE).is_file()
    return in_run or (path / MODEL_STATES).is_file()


def checkpoint_run(tag: Path) -> Path:
    """The run directory a checkpoint folder `RUN/checkpoints/step<N>` belongs to."""
    return Path(tag).parent.parent


def checkpoint_step(tag: Path) -> int | None:
    """The training step of a checkpoint folder `step<N>` (None for another name)."""
    name = Path(tag).name
    return int(name[4:]) if name.startswith("step") and name[4:].isdigit() else None
