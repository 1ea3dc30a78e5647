"""Constrained decoding: whatever the logits, every reply parses and honours its lengths."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vermo_cli.generate.constraints import ReplyConstraint, ReplyGrammar, ReplyRule
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


def test_specials_are_the_documented_set(vocabulary: Vocabulary) -> None:
    assert len(SPECIALS) == 19 and vocabulary.pad_id == vocabulary.id_of(PAD)
