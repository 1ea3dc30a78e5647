"""Task `t2m`: text to motion: one person moves as the caption says."""

from vermo_cli.messages.tasks import TEXT_TO_MOTION_METRICS, TaskSpec

TASK = TaskSpec(
    name="t2m",
    title="Text to motion: one person moves as the caption says",
    instructions=(
        "Generate a motion sequence based on the caption.",
        "Animate a person doing what this description says.",
        "Create the movement described in the text.",
        "Show me a person performing this action.",
    ),
    required=("caption",),
    optional=("duration",),
    reply=("motion",),
    benchmark=True,
    headcounts=(1,),
    metrics=TEXT_TO_MOTION_METRICS,
)
