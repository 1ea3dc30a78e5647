"""The in-betweening specialist: a transformer that corrects linear interpolation.

A model of its own family, trained by `vermo specialize btwn` with a recipe of `kind:
inbetween` on the BVH takes of one skeleton, and scored by `vermo eval btwn --protocol lafan1`.
Given the context frames 0-9 and a keyframe 10+n of a window, it starts from the protocol's
interpolation baseline (root lerp, local-quaternion slerp, forward kinematics) and predicts,
per made frame, the correction of every joint's global position.

    recipe.py    the recipe (`kind: inbetween`) and its settings
    samples.py   training and validation windows, and the network's inputs and targets
    network.py   the transformer
    fit.py       training with best-validation export
    run.py       a trained run: loading it and making the frames of protocol windows
"""
