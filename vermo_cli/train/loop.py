"""The language-model training loop, one for pretrain, sft and specialize, on DeepSpeed ZeRO-3.

A stage is data: the example source decides which tasks appear and which tokens count in the
loss; the loop only optimises the token-weighted next-token loss. The same code runs on GPUs
(bf16, NCCL, any number of ranks through DeepSpeed's launcher) and in one CPU process (fp32,
gloo) for tests and the tiny recipes. Data order is a pure function of (seed, epoch), and a
checkpoint records the position in it, so a resumed run repeats an uninterrupted one exactly.
"""

from __future__ import annotations

import csv
import inspect
import json
import logging
import math
import shutil
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import deepspeed
import torch
from torch.nn import functional
from torch.utils.tensorboard import SummaryWriter

from vermo_cli.errors import VermoError
from vermo_cli.messages.training_examples import ExampleSource
from vermo_cli.schedule import warmup_cosine_factor
from vermo_cli.telemetry import (
    PeakMemory,
    ThroughputWindow,
    cuda_device_name,
    model_flops_utilization,
    non_embedding_parameters,
    peak_flops_per_second,
    training_flops_per_token,
)
from vermo_cli.train.batching import (
    IGNORE_INDEX,
    MicroBatchStream,
    TokenBatch,
    validation_batches,
)
from vermo_cli.train.checkpoint_engine import RestrictedCheckpointEngine
from vermo_cli.train.export import ModelFiles, export_hf_model, save_model_config
from vermo_cli.train.launch import init_distributed
from vermo_cli.train.lm_recipe import ExportRule, LmTrainingConfig, LmTrainRecipe
from vermo_cli.train.model import build_model, enable_gradient_checkpointing
from vermo_cli.train.run_layout import CHECKPOINTS_DIR, MODEL_DIR, MODEL_RECORD, checkpoint_tags

ProgressCallback = Callable[[int, int, float, float, float | None], None]
"""Called on rank 0 after every optimizer step (and its checkpoint, if any) with `(step,
total_steps, train_loss, tokens_per_second, validation_loss or None)`."""

RECIPES_FOLDER = Path(__file__).resolve().parents[2] / "recipes"
LOGS = "logs"
CSV_COLUMNS = (
    "step",
    "loss",
    "learning_rate",
    "tokens_per_second",
    "validation_loss",
    "step_seconds",
    "mfu",
    "peak_memory_gib",
)
"""`train.csv`, one row per optimizer step: `tokens_per_second` (all ranks) and `step_seconds`
average over the last `THROUGHPUT_WINDOW` steps; `mfu` is `telemetry.model_flops_utilization`
of that throughput (empty on CPU or an unknown device); `peak_memory_gib` the peak CUDA memory
allocated on rank 0 since the last `log_every` step (empty on CPU)."""
THROUGHPUT_WINDOW = 20
"""Optimizer steps that the reported tokens per second average over."""


class TrainingError(VermoError):
    """A training run cannot start, resume or continue (the message says what to change)."""


def deepspeed_config_path(training: LmTrainingConfig) -> Path:
    """The recipe's DeepSpeed JSON: absolute, or under the repository's `recipes/` folder (or
    `./recipes` when vermo is installed without its repository)."""
    named = Path(training.deepspeed)
    candidates = (
        [named] if named.is_absolute() else [RECIPES_FOLDER / named, Path("recipes") / named]
    )
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise TrainingError(f"training.deepspeed: {training.deepspeed} not found in {RECIPES_FOLDER}")


def deepspeed_config(training: LmTrainingConfig, use_bf16: bool) -> dict[str, Any]:
    """The recipe's DeepSpeed JSON with vermo's values filled in: micro batch size, gradient
    accumulation, clipping, the AdamW optimizer (torch's implementation, no compiled kernel) and
    `bf16.enabled` when it says "auto". Keys the recipe owns may be absent or "auto" there; a
    different value is an error, so the two files never disagree silently. Settings that would
    save or load checkpoints through other code than `RestrictedCheckpointEngine` (universal
    checkpoints, DeepSpeed's fast writers, DataStates) are refused."""
    path = deepspeed_config_path(training)
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise TrainingError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(config, dict):
        raise TrainingError(f"{path}: a DeepSpeed config must be a JSON object")
    if "scheduler" in config:
        raise TrainingError(f"{path}: remove `scheduler`; the recipe's training section sets it")
    owned = {
        "train_micro_batch_size_per_gpu": training.micro_batch_size,
        "gradient_accumulation_steps": training.gradient_accumulation,
        "gradient_clipping": training.gradient_clip,
        "optimizer": {
            "type": "AdamW",
            "params": {
                "lr": training.learning_rate,
                "betas": list(training.betas),
                "eps": 1e-8,
                "weight_decay": training.weight_decay,
                "torch_adam": True,
            },
        },
    }
    for key, value in owned.items():
        if config.get(key, "auto") not in ("auto", value):
            raise TrainingError(f'{path}: {key} is set by the recipe; remove it or write "auto"')
        config[key] = value
    checkpointing = config.get("checkpoint") or {}
    other_checkpoint_code = {
        "checkpoint.load_universal": checkpointing.get("load_universal"),
        "checkpoint.writer": checkpointing.get("writer"),
        "datastates_ckpt": config.get("datastates_ckpt"),
    }
    for key, setting in other_checkpoint_code.items():
        if setting not in (None, False):
            raise TrainingError(
                f"{path}: remove {key}; vermo saves and resumes through its own checkpoint "
                "engine, which reads only tensors and plain data"
            )
    if config.get("train_batch_size") == "auto":
        del config["train_batch_size"]
    bf16 = dict(config.get("bf16", {}))
    if bf16.get("enabled", "auto") == "auto":
        bf16["enabled"] = use_bf16
    config["bf16"] = bf16
    config.setdefault("steps_per_print", 2**31 - 1)
    config.setdefault("wall_clock_breakdown", False)
    return config


def cosine_schedule(training: LmTrainingConfig, total_steps: int) -> Callable[[int], float]:
    """Learning-rate factor of optimizer step `step` (0-based): linear warm-up over
    `warmup_steps`, then cosine decay to `final_lr_fraction` at `total_steps`."""

    return partial(
        warmup_cosine_factor,
        warmup_steps=training.warmup_steps,
        total_steps=total_steps,
        final_fraction=training.final_lr_fraction,
    )


def counted_positions(labels: torch.Tensor) -> torch.Tensor:
    """`[batch, tokens]` bool: positions whose logits predict a counted label (the label at
    the next position is not -100). Only these need the output layer."""
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = labels[:, 1:] != IGNORE_INDEX
    return keep


def summed_token_loss(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Sum of next-token cross-entropies (nats) over the counted targets, and their number.

    `logits` are either `[batch, tokens, vocab]`, where position `i` predicts `labels`
    `[batch, tokens]` at `i + 1`, or `[counted, vocab]`, the logits of `counted_positions`
    only, in row-major order. Only the counted logits are upcast to float32.
    """
    keep = counted_positions(labels)
    targets = labels[:, 1:][keep[:, :-1]]
    predictions = logits[keep] if logits.ndim == 3 else logits
    total = functional.cross_entropy(predictions.float(), targets, reduction="sum")
    return total, int(targets.numel())


class LanguageModelTrainer:
    """One training run: set up (model, DeepSpeed engine, data, resume), `train`, `export`,
    `close`. Every rank constructs one and calls the same methods in the same order."""

    def __init__(
        self,
        source: ExampleSource,
        vocab_size: int,
        pad_id: int,
        recipe: LmTrainRecipe,
        output: Path,
        init_weights: Path | None = None,
        resume: bool = False,
        model_files: ModelFiles | None = None,
    ) -> None:
        """`model_files` writes what else belongs in each export of `output/model` (the
        vocabulary) into the folder it is given."""
        init_distributed()
        logging.getLogger("DeepSpeed").setLevel(logging.WARNING)
        self.recipe = recipe
        self.training = recipe.training
        self.vocab_size = vocab_size
        self.output = Path(output)
        self.model_files = model_files
        self.rank = torch.distributed.get_rank()
        self.world_size = torch.distributed.get_world_size()
        self.stream = MicroBatchStream(
            source,
            recipe.seed,
            self.training.micro_batch_size,
            self.training.max_length,
            pad_id,
            self.rank,
            self.world_size,
        )
        self.total_steps = self._total_steps()
        self.validation = validation_batches(
            source.validation(), self.training.micro_batch_size, self.training.max_length, pad_id
        )
        self.step = 0
        self.learning_rate = self.training.learning_rate  # that of the last step taken
        self.train_losses: list[float] = []
        self.validation_losses: list[tuple[int, float]] = []
        self._check_output(resume)
        torch.manual_seed(recipe.seed)
        model = build_model(recipe.model, vocab_size, pad_id, init_weights)
        if self.training.gradient_checkpointing:
            enable_gradient_checkpointing(model)
        self.flops_per_token = training_flops_per_token(
            non_embedding_parameters(model),
            model.config.num_hidden_layers,
            model.config.hidden_size,
            self.training.max_length,
        )
        device_peak = peak_flops_per_second(cuda_device_name())
        self.peak_flops = None if device_peak is None else device_peak * self.world_size
        """Peak FLOP/s of all ranks' devices together (None on CPU or an unknown device)."""
        self.peak_memory = PeakMemory()
        self._restricts_logits = "logits_to_keep" in inspect.signature(model.forward).parameters
        config = deepspeed_config(self.training, use_bf16=torch.cuda.is_available())
        schedule = cosine_schedule(self.training, self.total_steps)
        self.engine, _, _, _ = deepspeed.initialize(
            model=model,
            model_parameters=list(model.parameters()),
            config=config,
            lr_scheduler=lambda optimizer: torch.optim.lr_scheduler.LambdaLR(optimizer, schedule),
        )
        self.engine.checkpoint_engine = RestrictedCheckpointEngine(
            self.engine.checkpoint_serialization_enabled()
        )
        if resume:
            try:
                self._resume()
            except BaseException:
                self.close()
                raise

    @property
    def checkpoint_dir(self) -> Path:
        """Where DeepSpeed checkpoints go, one folder per tag `step<N>`."""
        return self.output / CHECKPOINTS_DIR

    def train(self, progress: ProgressCallback | None = None) -> dict[str, Any]:
        """Run the remaining optimizer steps, validating, logging and checkpointing on the way;
        returns the run's summary (see `summary`)."""
        writer, log = self._open_logs()
        window = ThroughputWindow(THROUGHPUT_WINDOW)
        started, tokens_seen = time.perf_counter(), 0
        try:
            while self.step < self.total_steps:
                begin = time.perf_counter()
                loss, tokens = self.train_step()
                window.add(tokens, time.perf_counter() - begin)
                tokens_seen += tokens
                throughput = window.items_per_second()
                validation = self._validate_if_due()
                if writer is not None and log is not None:
                    self._log(writer, log, loss, (throughput, window.step_seconds()), validation)
                if self._due(self.training.checkpoint_every):
                    self.save_checkpoint()
                if progress is not None and self.rank == 0:
                    progress(self.step, self.total_steps, loss, throughput, validation)
        finally:
            if writer is not None:
                writer.close()
            if log is not None:
                log.close()
        elapsed = time.perf_counter() - started
        return self.summary(tokens_seen / elapsed if tokens_seen else 0.0)

    def train_step(self) -> tuple[float, int]:
        """One optimizer step over `gradient_accumulation` micro batches per rank. Returns the
        token-weighted mean loss over all ranks' targets (nats/token) and the real tokens read.
        Each rank's gradient is that of its own token-weighted mean (DeepSpeed then averages
        over ranks)."""
        self.engine.train()
        batches = self.stream.next_step(self.training.gradient_accumulation)
        targets = sum(batch.target_tokens for batch in batches)
        loss_total = 0.0
        for index, batch in enumerate(batches):
            self.engine.set_gradient_accumulation_boundary(index == len(batches) - 1)
            loss_sum, _ = self._summed_loss(batch)
            self.engine.backward(loss_sum / max(targets, 1), scale_wrt_gas=False)
            loss_total += float(loss_sum.detach())
        self.learning_rate = float(self.engine.get_lr()[0])
        self.engine.step()
        self.step += 1
        totals = self._all_ranks_sum([loss_total, targets, sum(b.tokens for b in batches)])
        loss = totals[0] / max(totals[1], 1.0)
        if not math.isfinite(loss):
            raise TrainingError(
                f"loss became {loss} at step {self.step}; lower training.learning_rate"
            )
        self.train_losses.append(loss)
        return loss, int(totals[2])

    @torch.no_grad()
    def validate(self) -> float | None:
        """Token-weighted mean loss (nats/token) over the validation examples, or None when
        there are none with counted tokens. Every rank runs the same number of forward passes
        (ZeRO-3 gathers parameters collectively); surplus ones count nothing."""
        if not self.validation:
            return None
        self.engine.eval()
        loss_total, targets = 0.0, 0
        for first in range(0, len(self.validation), self.world_size):
            index = first + self.rank
            batch = self.validation[min(index, len(self.validation) - 1)]
            loss_sum, count = self._summed_loss(batch)
            if index < len(self.validation):
                loss_total, targets = loss_total + float(loss_sum), targets + count
        totals = self._all_ranks_sum([loss_total, targets])
        return totals[0] / totals[1] if totals[1] else None

    @torch.no_grad()
    def logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The trained model's logits `[batch, tokens, vocab]` (float32, on CPU) for a batch."""
        self.engine.eval()
        batch = TokenBatch(input_ids, attention_mask, torch.full_like(input_ids, IGNORE_INDEX))
        return self._logits(batch).float().cpu()

    def save_checkpoint(self) -> None:
        """Save engine, optimizer, scheduler and the loop's state as tag `step<N>` and keep only
        the newest `keep_checkpoints` (collective)."""
        tag = self.checkpoint_dir / f"step{self.step}"
        if self.rank == 0:
            # Beside the weights, so that any kept step can be made a model later
            # (`checkpoint_weights.checkpoint_model`); DeepSpeed's `latest` comes after it.
            tag.mkdir(parents=True, exist_ok=True)
            save_model_config(self.engine.module, tag)
        state = {
            "step": self.step,
            "stream": self.stream.state(),
            "torch_rng": torch.get_rng_state(),
            "recipe": self.recipe.dump(),
            "vocab_size": self.vocab_size,
            "train_losses": list(self.train_losses),
            "validation_losses": [list(item) for item in self.validation_losses],
        }
        self.engine.save_checkpoint(
            str(self.checkpoint_dir), tag=tag.name, client_state={"vermo": state}
        )
        if self.rank == 0:
            for old in checkpoint_tags(self.checkpoint_dir)[: -self.training.keep_checkpoints]:
                shutil.rmtree(old)
        torch.distributed.barrier()

    def export(self, chosen_as: ExportRule = "last") -> Path | None:
        """This step's consolidated Hugging Face weights in `output/model`, recorded there as
        `MODEL_RECORD` with the step, its validation loss and `chosen_as` (the recipe's
        `export` rule that picked them). Collective; the path on rank 0."""
        losses = dict(self.validation_losses)
        record = {
            "step": self.step,
            "validation_loss": losses.get(self.step),
            "export": chosen_as,
        }
        exported = export_hf_model(
            self.engine.module, self.output / MODEL_DIR, self.rank, record, self.model_files
        )
        torch.distributed.barrier()
        return exported

    def best_validation(self) -> tuple[int, float] | None:
        """The (step, loss) of the lowest validation loss so far (the earliest of equals)."""
        if not self.validation_losses:
            return None
        return min(self.validation_losses, key=lambda item: item[1])

    def export_run_model(self) -> int:
        """Leave the run's model in `output/model` once training is done and return its step:
        with `export: best_validation` the best validation step's weights, exported when that
        step validated (kept unless a resumed run could not repeat them, then the last step's
        replace them); otherwise, or when nothing validated, the last step's (collective)."""
        best = self.best_validation()
        if self.training.export == "best_validation" and best is not None:
            exported = self._exported_step() == best[0] if self.rank == 0 else False
            if self._all_ranks_sum([float(exported)])[0] > 0:
                return best[0]
        self.export("last")
        return self.step

    def summary(self, tokens_per_second: float) -> dict[str, Any]:
        """What the run did: steps, losses (nats/token), throughput and where things are."""
        best = self.best_validation()
        return {
            "stage": self.recipe.stage,
            "steps": self.step,
            "epochs_completed": self.stream.epoch,
            "final_train_loss": self.train_losses[-1] if self.train_losses else None,
            "train_losses": list(self.train_losses),
            "validation_losses": list(self.validation_losses),
            "final_validation_loss": self.validation_losses[-1][1]
            if self.validation_losses
            else None,
            "best_validation": {"step": best[0], "loss": best[1]} if best else None,
            "export": self.training.export,
            "tokens_per_second": tokens_per_second,
            "model": str(self.output / MODEL_DIR),
            "checkpoints": str(self.checkpoint_dir),
            "logs": str(self.output / LOGS),
        }

    def close(self) -> None:
        """Release the engine's hooks and buffers (the process group stays for later runs)."""
        self.engine.destroy()

    def _logits(self, batch: TokenBatch, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Logits `[batch, tokens, vocab]`, or `[keep.sum(), vocab]` of the `keep` positions
        when given and the model can restrict its output layer to them."""
        options: dict[str, Any] = {}
        if keep is not None and self._restricts_logits:
            options["logits_to_keep"] = keep.to(self.engine.device)
        output = self.engine(
            input_ids=batch.input_ids.to(self.engine.device),
            attention_mask=batch.attention_mask.to(self.engine.device),
            use_cache=False,
            **options,
        )
        return output.logits

    def _summed_loss(self, batch: TokenBatch) -> tuple[torch.Tensor, int]:
        """`summed_token_loss` of a batch, with the output layer (for a small model the
        largest cost, vocabulary x hidden per position) computed only where a target counts:
        for sft that is the replies alone."""
        labels = batch.labels.to(self.engine.device)
        return summed_token_loss(self._logits(batch, counted_positions(labels)), labels)

    def _all_ranks_sum(self, values: list[float]) -> list[float]:
        totals = torch.tensor(values, dtype=torch.float64, device=self.engine.device)
        torch.distributed.all_reduce(totals)
        return totals.tolist()

    def _due(self, every: int) -> bool:
        return self.step % every == 0 or self.step == self.total_steps

    def _validate_if_due(self) -> float | None:
        if not self._due(self.training.validate_every):
            return None
        loss = self.validate()
        if loss is None:
            return None
        best = self.best_validation()
        self.validation_losses.append((self.step, loss))
        if self.training.export == "best_validation" and (best is None or loss < best[1]):
            self.export("best_validation")
        return loss

    def _exported_step(self) -> int | None:
        """The step `output/model` holds, from its `MODEL_RECORD` (None when there is none)."""
        path = self.output / MODEL_DIR / MODEL_RECORD
        try:
            return json.loads(path.read_text()).get("step")
        except (OSError, ValueError):  # absent or not vermo's: not the best step's weights
            return None

    def _total_steps(self) -> int:
        if self.training.steps is not None:
            return self.training.steps
        assert self.training.epochs is not None
        per_step = self.training.gradient_accumulation * self.world_size
        batches = self.stream.batches_in_epoch(0)
        return max(1, math.ceil(self.training.epochs * batches / per_step))

    def _check_output(self, resume: bool) -> None:
        has_checkpoints = bool(checkpoint_tags(self.checkpoint_dir))
        if resume and not has_checkpoints:
            raise TrainingError(f"{self.output}: nothing to resume (no checkpoints)")
        if not resume and has_checkpoints:
            raise TrainingError(
                f"{self.output}: holds checkpoints of an earlier run; resume it or choose "
                "another output directory"
            )

    def _latest_tag(self) -> str:
        """The checkpoint DeepSpeed's `latest` file names (written once a save completed);
        `TrainingError` unless it is one of this run's `step<N>` folders, so that an edited file
        never leads the loader outside `checkpoints/`."""
        latest = self.checkpoint_dir / "latest"
        if not latest.is_file():
            raise TrainingError(f"{self.checkpoint_dir}: no complete checkpoint to resume from")
        tag = latest.read_text().strip()
        if tag not in {path.name for path in checkpoint_tags(self.checkpoint_dir)}:
            raise TrainingError(f"{latest}: names {tag!r}, which is no checkpoint of this run")
        return tag

    def _resume(self) -> None:
        path, client_state = self.engine.load_checkpoint(
            str(self.checkpoint_dir), tag=self._latest_tag()
        )
        if path is None or not client_state or "vermo" not in client_state:
            raise TrainingError(f"{self.checkpoint_dir}: no complete checkpoint to resume from")
        state = client_state["vermo"]
        if not self._same_recipe(state["recipe"]):
            raise TrainingError(
                f"{self.output}: the recipe differs from the one the run started with; "
                "resume with the same recipe or start a new output directory"
            )
        if state["vocab_size"] != self.vocab_size:
            raise TrainingError(
                f"{self.output}: the run's vocabulary has {state['vocab_size']} tokens, "
                f"this one {self.vocab_size}"
            )
        self.step = int(state["step"])
        self.stream.restore(state["stream"])
        torch.set_rng_state(state["torch_rng"])
        self.train_losses = [float(loss) for loss in state["train_losses"]]
        self.validation_losses = [(int(s), float(v)) for s, v in state["validation_losses"]]

    def _same_recipe(self, saved: dict[str, Any]) -> bool:
        """Whether a checkpoint's recipe is this run's, settings added to vermo since it was
        saved counting as their defaults."""
        try:
            return LmTrainRecipe.model_validate(saved).dump() == self.recipe.dump()
        except ValueError:
            return False

    def _open_logs(self) -> tuple[SummaryWriter | None, Any]:
        """TensorBoard writer and the CSV file (rank 0 only); logged steps after the resumed
        one are dropped, since they are about to be recomputed."""
        if self.rank != 0:
            return None, None
        directory = self.output / LOGS
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "train.csv"
        rows = _read_rows(path, keep_until=self.step)
        handle = path.open("w", newline="")
        csv.writer(handle).writerows([list(CSV_COLUMNS), *rows])
        handle.flush()
        writer = SummaryWriter(str(directory), purge_step=self.step + 1 if self.step else None)
        return writer, handle

    def _log(
        self,
        writer: SummaryWriter,
        handle: Any,
        loss: float,
        speed: tuple[float, float],
        validation: float | None,
    ) -> None:
        """One `CSV_COLUMNS` row, and TensorBoard scalars every `log_every` steps; `speed` is
        the window's (tokens per second over all ranks, seconds per step)."""
        throughput, step_seconds = speed
        learning_rate = self.learning_rate
        mfu = model_flops_utilization(throughput, self.flops_per_token, self.peak_flops)
        memory = self.peak_memory.gib()
        if self._due(self.training.log_every):
            writer.add_scalar("loss/train", loss, self.step)
            writer.add_scalar("learning_rate", learning_rate, self.step)
            writer.add_scalar("throughput/tokens_per_second", throughput, self.step)
            writer.add_scalar("throughput/step_seconds", step_seconds, self.step)
            if mfu is not None:
                writer.add_scalar("throughput/mfu", mfu, self.step)
            if memory is not None:
                writer.add_scalar("memory/peak_gib", memory, self.step)
            self.peak_memory.reset()
        if validation is not None:
            writer.add_scalar("loss/validation", validation, self.step)
        row = [
            self.step,
            f"{loss:.6f}",
            f"{learning_rate:.3e}",
            f"{throughput:.1f}",
            _shown(validation, ".6f"),
            f"{step_seconds:.4f}",
            _shown(mfu, ".4f"),
            _shown(memory, ".3f"),
        ]
        csv.writer(handle).writerow(row)
        handle.flush()


def _shown(value: float | None, style: str) -> str:
    """A CSV cell: `value` formatted, or empty when there is none."""
    return "" if value is None else format(value, style)


def _read_rows(path: Path, keep_until: int) -> list[list[str]]:
    if not path.is_file():
        return []
    with path.open() as handle:
        rows = list(csv.reader(handle))[1:]
    return [row for row in rows if row and int(row[0]) <= keep_until]


def train_language_model(
    source: ExampleSource,
    vocab_size: int,
    pad_id: int,
    recipe: LmTrainRecipe,
    output: Path,
    init_weights: Path | None = None,
    resume: bool = False,
    progress: ProgressCallback | None = None,
    model_files: ModelFiles | None = None,
) -> dict[str, Any]:
    """Train a stage to the recipe's end and leave its model in `output/model` (see
    `LanguageModelTrainer.export_run_model`); returns the summary with `model_step`, the
    step that model is.

    `init_weights` is a local Hugging Face causal LM to start from: the previous stage's
    `output/model`, or any LM given as `--init` (its embeddings are resized to `vocab_size`);
    None starts from random weights of the recipe's shape. `resume` continues the newest
    checkpoint in `output/checkpoints` exactly where it stopped. `model_files` adds files to
    each export of `output/model` (the vocabulary).
    """
    trainer = LanguageModelTrainer(
        source, vocab_size, pad_id, recipe, Path(output), init_weights, resume, model_files
    )
    try:
        summary = trainer.train(progress)
        return {**summary, "model_step": trainer.export_run_model()}
    finally:
        trainer.close()
