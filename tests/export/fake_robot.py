"""A fake robot on loopback for the UDP driver tests: it speaks the runner's authenticated link
(workbench/export/link.py, loaded from its file: the standard library is all a robot needs).

Its state integrates the commands it receives (x += command * dt); it answers the runner's
hello, then sends observations at its rate (falling silent after FREEZE_AFTER of them, a frozen
sensor stream, if given), and writes what it received, in order, to RESULT_FILE when it exits
or gets SIGTERM (and touches RESULT_FILE.moving at the tenth command). The key comes from
WORKBENCH_ROBOT_KEY.

    python fake_robot.py PORT_FILE RESULT_FILE DIM RATE SECONDS [FREEZE_AFTER]
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "link", Path(__file__).resolve().parents[2] / "workbench" / "export" / "link.py")
link = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(link)


def main() -> None:
    port_file, result_file = Path(sys.argv[1]), Path(sys.argv[2])
    dim, rate, seconds = int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
    freeze_after = int(sys.argv[6]) if len(sys.argv) > 6 else None
    key = os.environ["WORKBENCH_ROBOT_KEY"].encode()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.001)
    runner, last_seq = None, -1
    state = [0.0] * dim
    received: list[list] = []  # ["command", values] or ["stop"], in arrival order
    refused = 0
    sent = 0
    done = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: done.update(now=True))
    port_file.write_text(str(sock.getsockname()[1]))
    start = time.monotonic()
    next_tick = start
    while time.monotonic() - start < seconds and not done["now"]:
        try:
            while True:
                data, _ = sock.recvfrom(65536)
                try:
                    message = link.unseal(key, data)
                except link.Malformed:
                    refused += 1
                    continue
                if message["seq"] <= last_seq:
                    refused += 1
                    continue
                last_seq = message["seq"]
                if message["type"] == "hello":
                    runner = tuple(message["address"])
                elif message["type"] == "command":
                    received.append(["command", message["values"]])
                    if len(received) == 10:  # tells a test the run is under way
                        result_file.with_suffix(".moving").touch()
                    state = [x + c / rate for x, c in zip(state, message["values"], strict=True)]
                elif message["type"] == "stop":
                    received.append(["stop"])
        except (TimeoutError, BlockingIOError):
            pass
        now = time.monotonic()
        if runner is not None and now >= next_tick:
            next_tick += 1.0 / rate
            if freeze_after is None or sent < freeze_after:
                payload = {"type": "observation", "seq": sent, "stamp": now, "values": state}
                sock.sendto(link.seal(key, payload), runner)
                sent += 1
    result_file.write_text(json.dumps({"received": received, "refused": refused, "sent": sent}))


if __name__ == "__main__":
    main()
