"""Task `m2t`: motion to text: describe one person's motion."""

from vermo_cli.messages.tasks import MOTION_TO_TEXT_METRICS, TaskSpec

TASK = TaskSpec(
    name="m2t",
    title="Motion to text: describe one person's motion",
    instructions=(
        "Describe the given motion.",
        "What is this person doing?",
        "Put the movement you see into words.",
        "Write a caption for this motion.",
    ),
    required=("motion",),
    optional=(),
    reply=("caption",),
    benchmark=True,
    headcounts=(1,),
    metrics=MOTION_TO_TEXT_METRICS,
)
