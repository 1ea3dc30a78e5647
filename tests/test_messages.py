"""Task plugins, the message builder and parser, loss masks, and the vocabulary."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from vermo_cli.errors import CorpusError
from vermo_cli.messages.builder import (
    ClipTokens,
    build_message,
    can_use,
    motion_steps_for,
    split_steps,
)
from vermo_cli.messages.message import (
    Message,
    MessageError,
    audio_segment,
    motion_segment,
    parse_ids,
    parse_reply,
    prompt_ids,
    text_segment,
    to_ids,
)
from vermo_cli.messages.tasks import TaskError, TaskSpec, get_task, load_tasks, stage_tasks
from vermo_cli.messages.training_examples import TaskExampleSource, loss_mask
from vermo_cli.tokenizers.vocabulary import (
    EOS,
    REPLY,
    TokenizerIdentities,
    Vocabulary,
    VocabularyError,
    build_vocabulary,
)

BENCHMARKS = ["t2m", "mt2m", "m2t", "mm2t", "s2g", "m2d", "d2m", "pred", "btwn"]
PRETRAIN_ONLY = ["n2tm", "mn2tm", "g2s", "n2sg", "n2dm"]
AUDIO_SIZE = 64


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    texts = ["a person waves the right hand", "two people shake hands", "hiphop", "4.0 seconds"]
    built_for = TokenizerIdentities("flowvq:test", 4375, "builtin:test", AUDIO_SIZE)
    return build_vocabulary(texts * 20, built_for, text_vocab_size=400)


def clip(headcount: int = 1, audio_kind: str | None = None, steps: int = 20) -> ClipTokens:
    rng = random.Random(headcount * 7 + steps)
    return ClipTokens(
        id=f"test/{headcount}",
        split="train",
        headcount=headcount,
        frames=steps * 4 - 1,
        motion=tuple(tuple(rng.randrange(4375) for _ in range(steps)) for _ in range(headcount)),
        captions=("a person waves", "someone waves hello"),
        audio=tuple(rng.randrange(AUDIO_SIZE) for _ in range(steps * 10)) if audio_kind else (),
        audio_kind=audio_kind,
        genre="hiphop" if audio_kind == "music" else None,
    )


def clip_for(task: TaskSpec, headcount: int) -> ClipTokens:
    return clip(headcount, task.audio_kind)


def test_all_fourteen_tasks_are_installed_with_their_protocols() -> None:
    tasks = load_tasks()
    assert list(tasks) == [
        "t2m", "n2tm", "mt2m", "m2t", "mm2t", "mn2tm", "s2g", "g2s", "n2sg", "m2d", "d2m",
        "n2dm", "pred", "btwn",
    ]  # fmt: skip
    assert stage_tasks(tasks, "sft") == BENCHMARKS
    assert sorted(set(tasks) - set(BENCHMARKS)) == sorted(PRETRAIN_ONLY)
    assert stage_tasks(tasks, "specialize", "t2m") == ["t2m"]
    for task in tasks.values():
        assert len(task.instructions) >= 3
        assert bool(task.metrics) == task.benchmark, task.name
    assert (tasks["pred"].protocol.past, tasks["pred"].protocol.future) == (0.4, 0.0)
    assert (tasks["btwn"].protocol.past, tasks["btwn"].protocol.future) == (0.2, 0.2)
    with pytest.raises(TaskError, match="unknown task 'dance'"):
        get_task("dance")
    with pytest.raises(TaskError, match="unknown task 'dance'"):
        stage_tasks(tasks, "specialize", "dance")
    with pytest.raises(TaskError, match="specialize needs the task"):
        stage_tasks(tasks, "specialize")


def test_a_task_spec_is_checked() -> None:
    with pytest.raises(TaskError, match="at least three instruction paraphrases"):
        TaskSpec("x", "x", ("a",), ("caption",), (), ("motion",), True)
    with pytest.raises(TaskError, match="unknown condition 'smell'"):
        TaskSpec("x", "x", ("a", "b", "c"), ("smell",), (), ("motion",), True)  # type: ignore[arg-type]
    with pytest.raises(TaskError, match="audio_kind"):
        TaskSpec("x", "x", ("a", "b", "c"), ("music",), (), ("motion",), True)


@pytest.mark.parametrize("name", list(load_tasks()))
@pytest.mark.parametrize("headcount", [1, 2])
def test_every_message_round_trips(vocabulary: Vocabulary, name: str, headcount: int) -> None:
    task = get_task(name)
    sample = clip_for(task, headcount)
    if headcount not in task.headcounts:
        assert not can_use(task, sample)
        return
    assert can_use(task, sample)
    seen_optional = set()
    for mode in ("eval", "train"):
        for seed in range(12 if mode == "train" else 1):
            message = build_message(task, sample, mode, random.Random(seed))  # type: ignore[arg-type]
            ids, in_reply = to_ids(message, vocabulary)
            assert parse_ids(ids, vocabulary) == message
            reply_start = ids.index(vocabulary.id_of(REPLY)) + 1
            assert in_reply == [False] * reply_start + [True] * (len(ids) - reply_start)
            assert parse_reply(ids[reply_start:], vocabulary) == message.reply
            assert prompt_ids(message, vocabulary) == ids[:reply_start]
            kinds = [segment.kind for segment in message.reply]
            expected = {"motion": "motion", "caption": "text", "audio": "audio"}
            assert kinds == [expected[part] for part in task.reply]
            for segment in message.reply:
                if segment.kind == "motion":
                    assert len(segment.agents) == headcount
            if mode == "eval":
                assert message.instruction == task.instructions[0]
                assert len(message.conditions) == len(task.required)
            seen_optional |= {segment.kind for segment in message.conditions}
    # Training inserts the optional conditions at random: each shows up in some message.
    optional_kinds = {"caption": "text", "duration": "duration", "genre": "genre"}
    for condition in task.optional:
        if condition in optional_kinds:
            assert optional_kinds[condition] in seen_optional, condition


def test_prediction_and_inbetweening_follow_the_protocol(vocabulary: Vocabulary) -> None:
    sample = clip(1, steps=30)
    pred = build_message(get_task("pred"), sample, "eval", random.Random(0))
    (past,) = pred.conditions
    (reply,) = pred.reply
    assert len(past.agents[0]) == 12 and len(reply.agents[0]) == 18  # 40 % given, 60 % generated
    assert past.agents[0] + reply.agents[0] == sample.motion[0]
    btwn = build_message(get_task("btwn"), sample, "eval", random.Random(0))
    before, after = btwn.conditions
    (middle,) = btwn.reply
    assert [len(s.agents[0]) for s in (before, middle, after)] == [6, 18, 6]
    assert before.agents[0] + middle.agents[0] + after.agents[0] == sample.motion[0]
    rng = random.Random(0)
    for steps in range(4, 40):
        past_steps, future_steps = split_steps(get_task("btwn"), steps, "train", rng)
        assert past_steps >= 1 and future_steps >= 1 and past_steps + future_steps < steps
    assert not can_use(get_task("pred"), clip(1, steps=3))


def test_clips_without_what_a_task_needs_are_not_used() -> None:
    silent = clip(1)
    assert not can_use(get_task("m2d"), silent) and not can_use(get_task("s2g"), silent)
    assert can_use(get_task("m2d"), clip(1, "music"))
    assert not can_use(get_task("s2g"), clip(1, "music"))
    uncaptioned = ClipTokens("x", "train", 1, 40, ((1,) * 10,), ())
    assert not can_use(get_task("t2m"), uncaptioned) and can_use(get_task("pred"), uncaptioned)
    assert motion_steps_for(4.0) == 30 and motion_steps_for(0.1) == 1


def test_duration_and_headcount_conditions_carry_their_values(vocabulary: Vocabulary) -> None:
    sample = clip(2, steps=30)
    for seed in range(20):
        message = build_message(get_task("mt2m"), sample, "train", random.Random(seed))
        values = {segment.kind: segment.text for segment in message.conditions}
        assert values["headcount"] == "2"
        if "duration" in values:
            assert values["duration"] == "4.0"  # 30 codes x 4 frames / 30 fps
            break
    else:
        pytest.fail("duration was never inserted")


def test_loss_masks_token_by_token(vocabulary: Vocabulary) -> None:
    message = build_message(get_task("t2m"), clip(1), "eval", random.Random(0))
    ids, in_reply = to_ids(message, vocabulary)
    pretrain = loss_mask(in_reply, "pretrain")
    assert pretrain == (False, *[True] * (len(ids) - 1))
    sft = loss_mask(in_reply, "sft")
    reply_start = ids.index(vocabulary.id_of(REPLY)) + 1
    for position, counted in enumerate(sft):
        assert counted == (position >= reply_start), position
    assert ids[-1] == vocabulary.id_of(EOS) and sft[-1]
    assert loss_mask(in_reply, "specialize") == sft


def test_example_source_epochs_are_reproducible(vocabulary: Vocabulary) -> None:
    clips = [clip(1), clip(2), clip(1, "music"), clip(1, "speech")]
    clips.append(ClipTokens("v", "val", 1, 79, ((5,) * 20,), ("a person bows",)))
    tasks = load_tasks()
    source = TaskExampleSource(clips, tasks, stage_tasks(tasks, "sft"), vocabulary, "sft", seed=3)
    first, again, other = source.epoch(0), source.epoch(0), source.epoch(1)
    assert first == again and first != other
    assert {example.task for example in first} == set(BENCHMARKS)
    validation_tasks = [example.task for example in source.validation()]
    assert validation_tasks == ["t2m", "mt2m", "m2t", "mm2t", "pred", "btwn"]
    for example in first:
        ids = list(example.input_ids)
        reply_start = ids.index(vocabulary.id_of(REPLY)) + 1
        assert example.loss_mask == tuple(i >= reply_start for i in range(len(ids)))
    special = TaskExampleSource(clips, tasks, ["m2d"], vocabulary, "specialize")
    assert {example.task for example in special.epoch(0)} == {"m2d"}
    assert special.task_counts() == {"m2d": 1}


def test_task_repeats_weight_the_epoch_with_fresh_choices(vocabulary: Vocabulary) -> None:
    clips = [clip(1) for _ in range(3)]
    tasks = load_tasks()
    names = ["t2m", "m2t"]
    plain = TaskExampleSource(clips, tasks, names, vocabulary, "sft")
    weighted = TaskExampleSource(clips, tasks, names, vocabulary, "sft", repeats={"t2m": 3})
    assert plain.task_counts() == {"t2m": 3, "m2t": 3}
    assert weighted.task_counts() == {"t2m": 9, "m2t": 3}
    epoch = weighted.epoch(0)
    t2m = [example for example in epoch if example.task == "t2m"]
    assert len(t2m) == 9 and len(epoch) == 12
    assert len({example.input_ids for example in t2m}) > 3, "repeats draw fresh choices"
    assert weighted.validation() == plain.validation(), "validation is not weighted"
    with pytest.raises(CorpusError, match="task_repeats names task"):
        TaskExampleSource(clips, tasks, names, vocabulary, "sft", repeats={"m2d": 2})


def test_malformed_ids_are_refused(vocabulary: Vocabulary) -> None:
    message = Message(
        "Describe.",
        (motion_segment([[1, 2], [3]]), audio_segment([5]), text_segment("genre", "pop")),
        (text_segment("text", "a person waves"),),
    )
    ids, _ = to_ids(message, vocabulary)
    assert parse_ids(ids, vocabulary) == message
    with pytest.raises(MessageError, match="ends early"):
        parse_ids(ids[:-3], vocabulary)
    with pytest.raises(MessageError, match=r"after <\|eos\|>"):
        parse_ids([*ids, ids[3]], vocabulary)
    motion_start = ids.index(vocabulary.motion_offset + 1)
    corrupted = list(ids)
    corrupted[motion_start] = vocabulary.audio_offset
    with pytest.raises(MessageError, match="non-motion token"):
        parse_ids(corrupted, vocabulary)


def test_vocabulary_saves_loads_and_refuses_other_tokenizers(
    vocabulary: Vocabulary, tmp_path: Path
) -> None:
    assert vocabulary.motion_offset - vocabulary.special_offset == 19
    assert vocabulary.audio_offset == vocabulary.motion_offset + 4375
    assert len(vocabulary) == vocabulary.audio_offset + AUDIO_SIZE
    tokens = vocabulary.text.convert_ids_to_tokens(vocabulary.motion_ids([0, 4374]))
    assert tokens == ["<|MOTION_0|>", "<|MOTION_4374|>"]
    assert vocabulary.decode_text(vocabulary.encode_text("a person waves, ÿ!")) == (
        "a person waves, ÿ!"
    )
    vocabulary.save(tmp_path / "vocab")
    loaded = Vocabulary.load(tmp_path / "vocab")
    assert len(loaded) == len(vocabulary) and loaded.motion_offset == vocabulary.motion_offset
    assert loaded.encode_text("two people") == vocabulary.encode_text("two people")
    loaded.check_built_for("flowvq:test", "builtin:test", "model")
    with pytest.raises(VocabularyError, match="built for FlowVQ tokenizer flowvq:test"):
        loaded.check_built_for("flowvq:other", "builtin:test", "model")
    with pytest.raises(VocabularyError, match="audio codec"):
        loaded.check_built_for("flowvq:test", "builtin:other", "model")
    with pytest.raises(VocabularyError, match="no vocabulary"):
        Vocabulary.load(tmp_path)
