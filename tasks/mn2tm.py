"""Task `mn2tm`: invent a caption and a motion for N people."""

from vermo_cli.messages.tasks import TaskSpec

TASK = TaskSpec(
    name="mn2tm",
    title="Invent a caption and a motion for N people",
    instructions=(
        "Randomly generate a motion with N participants.",
        "Think of something this many people could do, describe it, then animate it.",
        "Write a caption for the given number of people and produce their motion.",
        "Make up an activity for this many persons and show it.",
    ),
    required=("headcount",),
    optional=("duration",),
    reply=("caption", "motion"),
    benchmark=False,
    headcounts=(1, 2),
    metrics=(),
)
