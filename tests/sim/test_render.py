"""Several offscreen renderers in one process (the GUI has a viewport, thumbnails, clips)."""

from __future__ import annotations

import numpy as np

from workbench.envs.env import make_env
from workbench.sim.render import CameraRenderer


def test_closing_one_renderer_leaves_the_others_intact():
    # mujoco.Renderer.close() frees GL objects in the *current* context; closing a small
    # renderer used to delete the big one's framebuffer, which then read back garbage.
    env = make_env("Push")
    env.reset(seed=0)
    main = CameraRenderer(env.physics.model, 320, 240)
    reference = main.rgb(env.physics.data).copy()
    for size in [(96, 72), (240, 180), (96, 72), (240, 180)]:
        scratch = CameraRenderer(make_env("Push").physics.model, *size)
        scratch.rgb(env.physics.data)
        main.rgb(env.physics.data)  # the main context is current when the other closes
        scratch.close()
        np.testing.assert_array_equal(main.rgb(env.physics.data), reference)
    main.close()
    env.close()
