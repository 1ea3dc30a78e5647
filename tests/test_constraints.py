"""Constrained decoding: whatever the logits, every reply parses and honours its lengths."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import LlamaConfig, LlamaForCausalLM, LogitsProcessorList

from vermo_cli.generate.constraints import (
    ReferenceReplyConstraint,
    ReplyConstraint,
    ReplyGrammar,
    ReplyRule,
)
from vermo_cli.messages.message import parse_reply
from vermo_cli.tokenizers.vocabulary import (
    AGENT_SEP,
    EOS,
    PAD,
    SPECIALS,
    TokenizerIdentities,
    Vocabulary,
    build_vocabulary,
    closing,
)

MOTION, AUDIO = 50, 30


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    texts = ["a person waves", "two people hug", "   ", "hiphop dance"] * 10
    built_for = TokenizerIdentities("flowvq:t", MOTION, "codec:t", AUDIO)
    return build_vocabulary(texts, built_for, text_vocab_size=300)


rules_strategy = st.lists(
    st.one_of(
        st.builds(
            ReplyRule,
            kind=st.just("motion"),
            agents=st.integers(1, 2),
            steps=st.one_of(st.none(), st.integers(1, 6)),
            min_steps=st.integers(1, 2),
            max_steps=st.integers(2, 8),
        ),
        st.builds(
            ReplyRule,
            kind=st.just("audio"),
            steps=st.one_of(st.none(), st.integers(1, 6)),
            max_steps=st.integers(2, 8),
        ),
        st.builds(ReplyRule, kind=st.just("text"), max_steps=st.integers(1, 6)),
    ),
    min_size=1,
    max_size=3,
)
# Adversarial preferences: the decoder is pushed towards one kind of wrong token.
biases = st.sampled_from(["none", "eos", "pad", "closing", "agent_sep", "motion", "audio", "blank"])


def drive(
    grammar: ReplyGrammar, vocabulary: Vocabulary, seed: int, bias: str, rows: int = 2
) -> list[list[int]]:
    """Decode `rows` replies greedily from random logits with a bias, through the processor
    exactly as `generate` calls it (prompt of 3 tokens, one column appended per step)."""
    generator = torch.Generator().manual_seed(seed)
    size = len(vocabulary)
    ids = torch.full((rows, 3), vocabulary.pad_id)
    constraint = ReplyConstraint([grammar] * rows, 3)
    favoured = _favoured(vocabulary, bias)
    for _ in range(grammar.max_new_tokens() + 5):
        scores = torch.randn(rows, size, generator=generator)
        if favoured is not None:
            scores[:, favoured] += 50.0
        masked = constraint(ids, scores)
        assert torch.isfinite(masked).any(dim=1).all(), "some row has no allowed token"
        ids = torch.cat([ids, masked.argmax(dim=1, keepdim=True)], dim=1)
    eos = vocabulary.id_of(EOS)
    replies = []
    for row in ids[:, 3:].tolist():
        assert eos in row, "the reply never ended"
        end = row.index(eos)
        assert all(token == vocabulary.pad_id for token in row[end + 1 :])
        replies.append(row[: end + 1])
    return replies


def _favoured(vocabulary: Vocabulary, bias: str) -> torch.Tensor | list[int] | None:
    specials = vocabulary.special_ids
    if bias == "eos":
        return [specials[EOS]]
    if bias == "pad":
        return [specials[PAD]]
    if bias == "closing":
        return [specials[closing(kind)] for kind in ("motion", "audio", "text")]
    if bias == "agent_sep":
        return [specials[AGENT_SEP]]
    if bias == "motion":
        return list(range(vocabulary.motion_offset, vocabulary.motion_offset + MOTION))
    if bias == "audio":
        return list(range(vocabulary.audio_offset, vocabulary.audio_offset + AUDIO))
    if bias == "blank":
        return [t for t in range(vocabulary.text_size) if not vocabulary.text.decode([t]).strip()]
    return None


@settings(max_examples=150, deadline=None)
@given(rules=rules_strategy, seed=st.integers(0, 10_000), bias=biases)
def test_every_reply_parses_and_keeps_its_lengths(
    vocabulary: Vocabulary, rules: list[ReplyRule], seed: int, bias: str
) -> None:
    grammar = ReplyGrammar(rules, vocabulary)
    for reply in drive(grammar, vocabulary, seed, bias):
        assert len(reply) <= grammar.max_new_tokens()
        segments = parse_reply(reply, vocabulary)
        assert [segment.kind for segment in segments] == [rule.kind for rule in rules]
        for rule, segment in zip(rules, segments, strict=True):
            if rule.kind == "motion":
                lengths = {len(agent) for agent in segment.agents}
                assert len(segment.agents) == rule.agents and len(lengths) == 1
                (length,) = lengths
                if rule.steps is not None:
                    assert length == rule.steps
                else:
                    assert rule.min_steps <= length <= rule.max_steps
            elif rule.kind == "audio":
                count = len(segment.codes)
                assert count == rule.steps if rule.steps is not None else count <= rule.max_steps
            else:
                assert segment.text.strip(), "captions are never blank"


def test_motion_after_audio_lasts_as_long_as_the_audio(vocabulary: Vocabulary) -> None:
    rules = [
        ReplyRule("audio", min_steps=8, max_steps=40),
        ReplyRule("motion", max_steps=20, steps_from_audio=7.5 / 40),
    ]
    for seed in range(5):
        (reply, _) = drive(ReplyGrammar(rules, vocabulary), vocabulary, seed, "none")
        audio, motion = parse_reply(reply, vocabulary)
        assert len(motion.agents[0]) == max(1, math.ceil(len(audio.codes) * 7.5 / 40 - 1e-9))


# 21 * (9 / 7) and 19 * (21 / 19) land just above an integer in floating point: the motion
# length must still round to 27 and 21 codes.
audio_then_motion = st.builds(
    lambda audio_steps, longest_audio, per_token, agents, longest_motion: [
        ReplyRule("audio", steps=audio_steps, min_steps=2, max_steps=longest_audio),
        ReplyRule(
            "motion",
            agents=agents,
            min_steps=2,
            max_steps=longest_motion,
            steps_from_audio=per_token,
        ),
    ],
    st.sampled_from([None, 19, 21]),
    st.integers(2, 8),
    st.sampled_from([7.5 / 40, 0.75, 1 / 3, 9 / 7, 21 / 19]),
    st.integers(1, 2),
    st.integers(2, 8),
)
batch_rules = st.lists(
    st.one_of(rules_strategy, audio_then_motion, st.just([])), min_size=1, max_size=4
)


@settings(max_examples=150, deadline=None)
@given(rows=batch_rules, seed=st.integers(0, 10_000), bias=biases)
def test_batch_masks_are_the_per_row_masks(
    vocabulary: Vocabulary, rows: list[list[ReplyRule]], seed: int, bias: str
) -> None:
    """Rows with different rules, walked together: at every step the batched processor masks
    exactly what the per-row reference masks."""
    grammars = [ReplyGrammar(rules, vocabulary) for rules in rows]
    batched, reference = ReplyConstraint(grammars, 3), ReferenceReplyConstraint(grammars, 3)
    generator = torch.Generator().manual_seed(seed)
    ids = torch.full((len(rows), 3), vocabulary.pad_id)
    favoured = _favoured(vocabulary, bias)
    for _ in range(max(grammar.max_new_tokens() for grammar in grammars) + 3):
        scores = torch.randn(len(rows), len(vocabulary), generator=generator)
        if favoured is not None:
            scores[:, favoured] += 50.0
        masked = batched(ids, scores)
        assert torch.equal(masked, reference(ids, scores))
        ids = torch.cat([ids, masked.argmax(dim=1, keepdim=True)], dim=1)


MIXED_RULES = [
    [ReplyRule("motion", steps=6, min_steps=2, max_steps=10)],  # t2m with a duration
    [ReplyRule("motion", min_steps=2, max_steps=8)],  # free length
    [ReplyRule("motion", agents=2, min_steps=2, max_steps=5)],  # two people, one length
    [
        ReplyRule("audio", min_steps=2, max_steps=8),
        ReplyRule("motion", max_steps=10, steps_from_audio=0.75),
    ],  # music, then a dance as long
    [
        ReplyRule("audio", steps=21, max_steps=21),
        ReplyRule("motion", max_steps=30, steps_from_audio=9 / 7),
    ],  # 27 codes, though 21 * (9 / 7) is a little above 27 in floating point
    [ReplyRule("text", max_steps=6)],  # m2t
    [ReplyRule("motion", steps=3, min_steps=2, max_steps=10), ReplyRule("text", max_steps=4)],
]


def _sample(
    model: LlamaForCausalLM,
    vocabulary: Vocabulary,
    processor: type[ReplyConstraint] | type[ReferenceReplyConstraint],
    seed: int,
) -> torch.Tensor:
    """`MIXED_RULES` sampled in one batch as `GenerationModel._sample` samples: left-padded
    prompts of different lengths, top-p sampling under the constraint."""
    generator = torch.Generator().manual_seed(seed)
    lengths = [3 + row % 3 for row in range(len(MIXED_RULES))]
    width = max(lengths)
    prompts = torch.randint(0, vocabulary.text_size, (len(MIXED_RULES), width), generator=generator)
    attention = torch.tensor([[0] * (width - n) + [1] * n for n in lengths])
    prompts = prompts.masked_fill(attention == 0, vocabulary.pad_id)
    grammars = [ReplyGrammar(rules, vocabulary) for rules in MIXED_RULES]
    torch.manual_seed(seed)
    return model.generate(
        input_ids=prompts,
        attention_mask=attention,
        max_new_tokens=max(grammar.max_new_tokens() for grammar in grammars),
        do_sample=True,
        temperature=1.0,
        top_p=0.95,
        top_k=None,
        logits_processor=LogitsProcessorList([processor(grammars, width)]),
        eos_token_id=vocabulary.id_of(EOS),
        pad_token_id=vocabulary.pad_id,
        use_cache=True,
    )[:, width:]


def test_sampling_is_identical_to_the_per_row_processor(vocabulary: Vocabulary) -> None:
    """A random tiny model samples token for token the same replies through either processor."""
    config = LlamaConfig(
        vocab_size=len(vocabulary),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # sharper, markers favoured: replies end early as often as late
        model.lm_head.weight.mul_(50.0)
        model.lm_head.weight[vocabulary.special_offset : vocabulary.motion_offset] *= 5.0
    eos = vocabulary.id_of(EOS)
    for seed in range(4):
        replies = _sample(model, vocabulary, ReplyConstraint, seed)
        assert torch.equal(replies, _sample(model, vocabulary, ReferenceReplyConstraint, seed))
        for rules, row in zip(MIXED_RULES, replies.tolist(), strict=True):
            segments = parse_reply(row[: row.index(eos) + 1], vocabulary)
            assert [segment.kind for segment in segments] == [rule.kind for rule in rules]


def test_specials_are_the_documented_set(vocabulary: Vocabulary) -> None:
    assert len(SPECIALS) == 19 and vocabulary.pad_id == vocabulary.id_of(PAD)
