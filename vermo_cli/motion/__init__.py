"""Canonical motion: the SMPL-H joint set, clip types, kinematics, resampling and canonical frame."""
