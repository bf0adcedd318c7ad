"""Reward code: a Python function over the scene's named features, written by a person or a
language model, run in a sandbox (:mod:`.sandbox`)."""
