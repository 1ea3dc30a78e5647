"""Task `btwn`: motion in-betweening: fill the gap between two segments."""

from vermo_cli.messages.tasks import Protocol, TaskSpec

TASK = TaskSpec(
    name="btwn",
    title="Motion in-betweening: fill the gap between two segments",
    instructions=(
        "Fill in the frames between two motion segments.",
        "Connect the start and the end of this motion.",
        "Generate the missing middle of the movement.",
        "In-between these two motion clips.",
    ),
    required=("past", "future"),
    optional=("duration", "caption"),
    reply=("motion",),
    benchmark=True,
    headcounts=(1, 2),
    protocol=Protocol(past=0.2, future=0.2, past_range=(0.1, 0.3), future_range=(0.1, 0.3)),
    metrics=("ade", "fde", "fid", "diversity"),
)
