"""Task `pred`: motion prediction: continue the given past motion."""

from vermo_cli.messages.tasks import Protocol, TaskSpec

TASK = TaskSpec(
    name="pred",
    title="Motion prediction: continue the given past motion",
    instructions=(
        "Predict future frames from past motion.",
        "Continue this motion.",
        "What happens next? Generate the rest of the movement.",
        "Extend the given motion into the future.",
    ),
    required=("past",),
    optional=("duration", "caption"),
    reply=("motion",),
    benchmark=True,
    headcounts=(1, 2),
    protocol=Protocol(past=0.4, past_range=(0.2, 0.6)),
    metrics=("ade", "fde", "fid", "diversity"),
)
