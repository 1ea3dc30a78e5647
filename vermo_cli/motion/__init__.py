"""Canonical motion: SMPL-H joint set, clip types, kinematics, resampling, canonical frame."""
