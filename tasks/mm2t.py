"""Task `mm2t`: describe what several people are doing."""

from vermo_cli.messages.tasks import MOTION_TO_TEXT_METRICS, Protocol, TaskSpec

TASK = TaskSpec(
    name="mm2t",
    title="Describe what several people are doing",
    instructions=(
        "What are the persons doing?",
        "Describe the interaction of these people.",
        "Explain in words what the participants do.",
        "Caption the movement of everyone in this motion.",
    ),
    required=("motion", "headcount"),
    optional=(),
    reply=("caption",),
    benchmark=True,
    headcounts=(1, 2),
    protocol=Protocol(headcount=2),
    metrics=MOTION_TO_TEXT_METRICS,
)
