"""Task `mt2m`: text to motion for a given number of people."""

from vermo_cli.messages.tasks import TEXT_TO_MOTION_METRICS, Protocol, TaskSpec

TASK = TaskSpec(
    name="mt2m",
    title="Text to motion for a given number of people",
    instructions=(
        "Generate a motion with the given number of participants.",
        "Animate this many people doing what the caption describes.",
        "Create the described movement for the stated number of persons.",
        "Make the given number of people act out this description.",
    ),
    required=("caption", "headcount"),
    optional=("duration",),
    reply=("motion",),
    benchmark=True,
    headcounts=(1, 2),
    protocol=Protocol(headcount=2),
    metrics=TEXT_TO_MOTION_METRICS,
)
