"""Reward code in the sandbox: hostile code is refused before it runs or stopped while it runs,
each case on its own; good code scores batches, names its terms and points at its errors."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from workbench.rewards.code.sandbox import CodeError, Limits, Sandbox, check_source

FEATURES = {"hand_to_cube": np.ones((5, 3)), "cube_to_target": np.full((5, 3), 0.5)}

# Refused by the check of the source, before any process starts: (code, what the error names).
REFUSED = {
    "file write": ("def reward(f):\n    open('/tmp/pwned', 'w').write('x')\n    return 0", "open"),
    "file read": ("def reward(f):\n    return len(open('/etc/passwd').read())", "open"),
    "numpy file read": ("import numpy as np\ndef reward(f):\n    return np.loadtxt('/etc/passwd')",
                        None),
    "os.system": ("import os\ndef reward(f):\n    os.system('touch /tmp/pwned')\n    return 0",
                  "import os"),
    "subprocess": ("import subprocess\ndef reward(f):\n    return 0", "import subprocess"),
    "socket": ("from socket import socket\ndef reward(f):\n    return 0", "import socket"),
    "__import__": ("def reward(f):\n    __import__('os').system('id')\n    return 0",
                   "__import__"),
    "__subclasses__ escape": ("def reward(f):\n    return ().__class__.__base__"
                              ".__subclasses__()", ".__"),
    "eval": ("def reward(f):\n    return eval('1+1')", "eval"),
    "exec": ("def reward(f):\n    exec('import os')\n    return 0", "exec"),
    "getattr escape": ("def reward(f):\n    return getattr(f, '__class__')", "getattr"),
    "format string escape": ("def reward(f):\n    return '{0.__class__}'.format(f)", ".format"),
    "numpy to os": ("import numpy\ndef reward(f):\n    return numpy.ctypeslib.os.system('id')",
                    None),
    "numpy file write": ("import numpy as np\ndef reward(f):\n    np.save('/tmp/pwned', 1)\n"
                         "    return 0", ".save"),
    "array to file": ("def reward(f):\n    f['hand_to_cube'].tofile('/tmp/pwned')\n"
                      "    return 0", ".tofile"),
    "class": ("class A:\n    pass\ndef reward(f):\n    return 0", "classdef"),
    "no reward function": ("x = 1", "def reward"),
    "syntax error": ("def reward(f)\n    return 0", "line 1"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_code_is_refused_before_it_runs(case, tmp_path):
    source, named = REFUSED[case]
    if named is None:  # reached only at run time: the curated numpy has no such function
        with Sandbox(source) as box, pytest.raises(CodeError, match="ctypeslib|loadtxt"):
            box.score(FEATURES)
        return
    with pytest.raises(CodeError) as refused:
        check_source(source)
    message = str(refused.value)
    assert named in message, message
    assert message.startswith("line ") or case == "no reward function"  # points at the line
    assert not os.path.exists("/tmp/pwned")


# Stopped while running by the process's limits; the sandbox says why and serves again.
def test_an_infinite_loop_is_stopped_by_the_wall_clock():
    with Sandbox("def reward(f):\n    while True:\n        pass",
                 limits=Limits(wall_seconds=1.0)) as box:
        start = time.monotonic()
        with pytest.raises(CodeError, match="ran past 1 s"):
            box.score(FEATURES)
        assert time.monotonic() - start < 10


def test_cpu_time_is_capped_even_within_the_wall_clock():
    with Sandbox("def reward(f):\n    x = 0\n    while True:\n        x += 1",
                 limits=Limits(cpu_seconds=1, wall_seconds=30)) as box, pytest.raises(
            CodeError, match="CPU time ran out|killed"):
        box.score(FEATURES)


def test_a_10_gb_allocation_fails_inside_the_sandbox_and_it_keeps_serving():
    source = ("import numpy as np\ndef reward(f):\n"
              "    if f['hand_to_cube'][0, 0] > 0:\n"
              "        big = np.ones(10 * 1024**3 // 8)\n"
              "        return big.sum()\n"
              "    return -f['cube_to_target'].sum(axis=1)")
    with Sandbox(source) as box:
        with pytest.raises(CodeError, match="line 4: MemoryError|killed"):
            box.score(FEATURES)
        rewards, _ = box.score({k: -v for k, v in FEATURES.items()})
        assert np.allclose(rewards, 1.5)


def test_files_and_sockets_are_out_of_reach_of_a_limited_worker(tmp_path):
    """The process fence alone, without the source check: a process under the sandbox's
    limits can open no file, socket or pipe and grow no file it already had open."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_try_escapes, args=(child, str(tmp_path)))
    process.start()
    assert parent.poll(60)
    results = parent.recv()
    process.join(10)
    assert results == {"open": "refused", "socket": "refused", "pipe": "refused",
                       "grow a file": "refused"}, results
    assert not (tmp_path / "new").exists()


def _try_escapes(conn, folder: str) -> None:
    import signal
    import socket

    from workbench.rewards.code.sandbox import Limits, _limit

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of the signal's kill
    already_open = open(os.path.join(folder, "open-before"), "wb", buffering=0)
    _limit(Limits())
    results = {}
    for name, attempt in (("open", lambda: open(os.path.join(folder, "new"), "w")),
                          ("socket", socket.socket),
                          ("pipe", os.pipe),
                          ("grow a file", lambda: already_open.write(b"x"))):
        try:
            attempt()
            results[name] = "allowed"
        except OSError:
            results[name] = "refused"
    conn.send(results)


def test_a_fork_bomb_cannot_start():
    source = "import os\ndef reward(f):\n    while True:\n        os.fork()"
    with pytest.raises(CodeError, match="import os"):
        Sandbox(source)


# -- good code ---------------------------------------------------------------------------------
GOOD = """
import numpy as np

def reward(f):
    reach = -np.linalg.norm(f["hand_to_cube"], axis=1)
    push = -np.linalg.norm(f["cube_to_target"], axis=1)
    return reach + 2 * push, {"reach": reach, "push": push}
"""


def test_good_code_scores_a_batch_with_named_terms():
    with Sandbox(GOOD) as box:
        rewards, terms = box.score(FEATURES)
    reach, push = -np.sqrt(3), -np.sqrt(0.75)
    assert np.allclose(rewards, reach + 2 * push) and rewards.shape == (5,)
    assert set(terms) == {"reach", "push"} and np.allclose(terms["push"], push)


def test_an_error_points_at_its_line_and_the_worker_serves_on():
    source = "def reward(f):\n    x = 1\n    return f['missing']"
    with Sandbox(source) as box:
        with pytest.raises(CodeError, match="line 3: KeyError"):
            box.score(FEATURES)
        with pytest.raises(CodeError, match="line 3: KeyError"):
            box.score(FEATURES)  # the same worker, still up
