"""Benchmark: the share of sampling time spent in constrained decoding, per-row against batched.

    .venv/bin/python benchmarks/constraint_speed.py --batch-size 64
    .venv/bin/python benchmarks/constraint_speed.py --checkpoint runs/sft

Samples one batch of t2m-like replies (a motion of `--steps` codes, one person) with
`model.generate`, as `vermo generate` does, once through `ReferenceReplyConstraint` (each row's
automaton in Python) and once through `ReplyConstraint` (every row at once in tensors), and
times the whole sampling and the time spent inside the logits processor. Without
`--checkpoint` the model is `vermo-tiny-pretrain.yaml`'s Llama with random weights over a
vocabulary of the tiny recipes' sizes (a 4,000-token BPE, 1,000 motion and 1,024 audio codes).
With a run, its model and vocabulary sample a real t2m prompt whose duration is `--steps`
codes. Each row is the fastest of `--repeats` timed calls after a warm-up; both processors must
sample the same tokens (same seed).
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from transformers import LlamaConfig, LlamaForCausalLM, LogitsProcessorList, PreTrainedModel

from vermo_cli.generate.constraints import (
    ReferenceReplyConstraint,
    ReplyConstraint,
    ReplyGrammar,
    ReplyRule,
)
from vermo_cli.generate.prompt import PromptInputs
from vermo_cli.generate.session import GenerationModel
from vermo_cli.messages.message import Message, prompt_ids, text_segment
from vermo_cli.tokenizers.vocabulary import (
    EOS,
    TokenizerIdentities,
    Vocabulary,
    build_vocabulary,
)

Processor = type[ReplyConstraint] | type[ReferenceReplyConstraint]


class TimedProcessor:
    """A logits processor that adds up the seconds spent inside the one it wraps."""

    def __init__(self, processor: ReplyConstraint | ReferenceReplyConstraint) -> None:
        self.processor = processor
        self.seconds = 0.0

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.Tensor:
        began = time.perf_counter()
        masked = self.processor(input_ids, scores)
        if masked.is_cuda:
            torch.cuda.synchronize()
        self.seconds += time.perf_counter() - began
        return masked


def tiny_model(seed: int) -> tuple[PreTrainedModel, Vocabulary]:
    """`vermo-tiny-pretrain.yaml`'s Llama, random weights, over a vocabulary of the tiny sizes
    (the BPE trained on random words, so that it fills its 4,000 tokens)."""
    generator = random.Random(seed)
    syllables = [a + b for a in "bcdfghklmnprstvwz" for b in "aeiouy"]
    words = ["".join(generator.choices(syllables, k=generator.randint(1, 4))) for _ in range(3000)]
    texts = [" ".join(generator.choices(words, k=12)) for _ in range(4000)]
    built_for = TokenizerIdentities("flowvq:benchmark", 1000, "codec:benchmark", 1024)
    vocabulary = build_vocabulary(texts, built_for, text_vocab_size=4000)
    config = LlamaConfig(
        vocab_size=len(vocabulary),
        hidden_size=128,
        intermediate_size=512,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=1024,
        rope_theta=10000.0,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config).eval(), vocabulary


def sample(
    model: PreTrainedModel,
    prompt: list[int],
    grammar: ReplyGrammar,
    batch_size: int,
    processor: Processor,
    seed: int,
) -> tuple[torch.Tensor, float, float]:
    """Replies `[batch, new tokens]` to `prompt` in one batch, with the seconds of the whole
    sampling and of the logits processor in it."""
    device = model.device
    ids = torch.tensor([prompt] * batch_size, device=device)
    timed = TimedProcessor(processor([grammar] * batch_size, len(prompt)))
    torch.manual_seed(seed)
    began = time.perf_counter()
    output = model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=grammar.max_new_tokens(),
        do_sample=True,
        temperature=1.0,
        top_p=0.95,
        top_k=None,
        logits_processor=LogitsProcessorList([timed]),
        eos_token_id=grammar.vocabulary.id_of(EOS),
        pad_token_id=grammar.vocabulary.pad_id,
        use_cache=True,
    )
    if output.is_cuda:
        torch.cuda.synchronize()
    return output[:, len(prompt) :], time.perf_counter() - began, timed.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40, help="motion codes per reply")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    caption = "a person waves"
    if args.checkpoint is None:
        model, vocabulary = tiny_model(args.seed)
        message = Message(
            "Generate a motion for the caption.", (text_segment("text", caption),), ()
        )
        prompt = prompt_ids(message, vocabulary)
        rules = [ReplyRule("motion", steps=args.steps, min_steps=2, max_steps=args.steps)]
        source = "tiny Llama, random weights"
    else:
        loaded = GenerationModel.load(args.checkpoint)
        model, vocabulary = loaded.model, loaded.vocabulary
        seconds = args.steps * loaded.compression / 30.0
        _, built = loaded.prepare("t2m", PromptInputs(caption=caption, duration=seconds))
        prompt, rules = prompt_ids(built.message, vocabulary), built.rules
        source = str(args.checkpoint)
    model.to(args.device)
    grammar = ReplyGrammar(rules, vocabulary)
    table = Table(
        title=f"constrained t2m sampling, batch {args.batch_size}, {args.steps} motion codes, "
        f"{source} (vocabulary {len(vocabulary)}, "
        f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters), {args.device}, "
        f"{torch.get_num_threads()} threads"
    )
    for column in ("processor", "sampling s", "in processor s", "share", "processor ms/token"):
        table.add_column(column, justify="left" if column == "processor" else "right")
    replies = []
    for name, processor in (
        ("per row (ReferenceReplyConstraint)", ReferenceReplyConstraint),
        ("batched (ReplyConstraint)", ReplyConstraint),
    ):
        sample(model, prompt, grammar, args.batch_size, processor, args.seed)  # warm-up
        runs = [
            sample(model, prompt, grammar, args.batch_size, processor, args.seed)
            for _ in range(args.repeats)
        ]
        tokens, total, inside = min(runs, key=lambda run: run[1])
        replies.append(tokens)
        table.add_row(
            name,
            f"{total:.3f}",
            f"{inside:.3f}",
            f"{inside / total:.1%}",
            f"{inside / tokens.shape[1] * 1e3:.2f}",
        )
    Console(width=150).print(table)
    same = torch.equal(replies[0], replies[1])
    print(f"same samples from both processors: {'yes' if same else 'NO'}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
