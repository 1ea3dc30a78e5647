"""Names inside a training run directory, shared by training and by what reads its results."""

MODEL_DIR = "model"
"""Consolidated Hugging Face weights and tokenizer (`AutoModelForCausalLM.from_pretrained`)."""
RUN_FILE = "vermo_run.json"
"""What the run is: stage, recipe, data, tokenizer and codec identities."""
NO_CODEC = "none"
"""The audio-codec identity of a vocabulary built without audio."""
