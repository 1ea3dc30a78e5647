"""Task `n2sg`: invent speech and matching gestures."""

from vermo_cli.messages.tasks import TaskSpec

TASK = TaskSpec(
    name="n2sg",
    title="Invent speech and matching gestures",
    instructions=(
        "Generate speech and matching body movements.",
        "Produce a short talk together with the speaker's gestures.",
        "Make up some speech and gesture along with it.",
        "Create a speaking person: audio first, then movement.",
    ),
    required=(),
    optional=("duration", "caption"),
    reply=("audio", "motion"),
    benchmark=False,
    audio_kind="speech",
    headcounts=(1,),
    metrics=(),
)
