"""Names inside an in-betweening run directory, shared by training and by what reads it.

inbetween.json       what it is: recipe, skeleton (joint names, parents), the position scale,
                     the step its weights are from and the validation history
model.safetensors    the weights of the best validation step
train.csv            step, loss, learning rate and validation L2P as training went
"""

RUN_FORMAT = "vermo-inbetween"
RUN_VERSION = 1
INFO_NAME = "inbetween.json"
WEIGHTS_NAME = "model.safetensors"
LOG_NAME = "train.csv"
