"""Policy bundles for real robots.

``workbench.export.bundle`` writes bundles (needs torch); ``workbench.export.runner`` runs them
with numpy and onnxruntime only, so a robot computer never needs the training stack.
"""
