"""A fake robot on loopback for the UDP driver tests: it speaks the runner's UDP/JSON protocol.

Its state integrates the commands it receives (x += command * dt); it sends observations at
its rate, can fall silent after N of them (a frozen sensor stream), and writes what it received
to a JSON file when it exits.

    python fake_robot.py PORT_FILE RESULT_FILE DIM RATE SECONDS [FREEZE_AFTER]
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path


def main() -> None:
    port_file, result_file = Path(sys.argv[1]), Path(sys.argv[2])
    dim, rate, seconds = int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
    freeze_after = int(sys.argv[6]) if len(sys.argv) > 6 else None
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.001)
    runner = None
    port_file.write_text(str(sock.getsockname()[1]))
    state = [0.0] * dim
    commands, stops, sent = [], 0, 0
    start = time.monotonic()
    next_tick = start
    while time.monotonic() - start < seconds:
        try:
            while True:
                data, address = sock.recvfrom(65536)
                message = json.loads(data.decode())
                if message["type"] == "hello":
                    runner = tuple(message["address"])
                elif message["type"] == "command":
                    commands.append(message["values"])
                    state = [x + c / rate for x, c in zip(state, message["values"], strict=True)]
                elif message["type"] == "stop":
                    stops += 1
        except (TimeoutError, BlockingIOError):
            pass
        now = time.monotonic()
        if runner is not None and now >= next_tick:
            next_tick += 1.0 / rate
            if freeze_after is None or sent < freeze_after:
                payload = {"type": "observation", "seq": sent, "stamp": now, "values": state}
                sock.sendto(json.dumps(payload).encode(), runner)
                sent += 1
    result_file.write_text(json.dumps({"commands": commands, "stops": stops, "sent": sent}))


if __name__ == "__main__":
    main()
