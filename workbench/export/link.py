"""The robot link's wire format: JSON messages sealed with HMAC-SHA256 under a shared key.

A datagram is ``tag (32 bytes) || body``, ``tag = HMAC-SHA256(key, body)`` and ``body`` one UTF-8
JSON object. Whoever lacks the key cannot forge or alter a message; sequence numbers, which
every sender increases by one per message, make an old message worthless: a receiver acts only
on a sequence number above the last it accepted (a replay window of one, which for a stream of
"the newest state" is the right one: an older observation is stale even when genuine).

Messages:
runner -> robot ``{"type": "hello", "seq", "address": [host, port]}`` until the robot answers;
``{"type": "command", "seq", "values": [...]}``; ``{"type": "stop", "seq"}``.
robot -> runner ``{"type": "observation", "seq", "stamp", "values": [...]}`` with ``stamp`` the
robot's clock (seconds) when the values were measured.

Only the standard library here: the robot side (and the test's fake robot) can use this file
as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

TAG = 32
MAX_DATAGRAM = 65_507  # the largest UDP payload over IPv4
MIN_KEY = 16  # bytes


class LinkError(RuntimeError):
    """The link cannot be used: no key, a bad key, or no robot answering."""


def load_key(key_file: str | Path | None = None) -> bytes:
    """The shared key: the file's bytes (surrounding white space stripped), else the
    ``WORKBENCH_ROBOT_KEY`` environment variable; at least 16 bytes either way."""
    if key_file is not None:
        try:
            key = Path(key_file).read_bytes().strip()
        except OSError as exc:
            raise LinkError(f"--key-file {key_file}: {exc.strerror}") from None
        source = f"--key-file {key_file}"
    else:
        key = os.environ.get("WORKBENCH_ROBOT_KEY", "").encode()
        source = "WORKBENCH_ROBOT_KEY"
        if not key:
            raise LinkError("the robot link needs a shared key: --key-file FILE or the "
                            "WORKBENCH_ROBOT_KEY environment variable (at least 16 bytes)")
    if len(key) < MIN_KEY:
        raise LinkError(f"{source}: the key has {len(key)} bytes; use at least {MIN_KEY}")
    return key


def seal(key: bytes, message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    return hmac.new(key, body, hashlib.sha256).digest() + body


class Malformed(ValueError):
    """A datagram to drop; ``reason`` is the counter it goes to."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def unseal(key: bytes, data: bytes) -> dict[str, Any]:
    """The message of an authentic datagram, or :class:`Malformed` saying why not."""
    if len(data) <= TAG or len(data) > MAX_DATAGRAM:
        raise Malformed("size")
    tag, body = data[:TAG], data[TAG:]
    if not hmac.compare_digest(tag, hmac.new(key, body, hashlib.sha256).digest()):
        raise Malformed("forged")
    try:
        message = json.loads(body.decode(), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError):
        raise Malformed("not_json") from None
    if not isinstance(message, dict):
        raise Malformed("not_an_object")
    seq = message.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise Malformed("bad_seq")
    return message


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not a number")  # NaN and Infinity never enter a message


def finite_numbers(values: Any, size: int) -> list[float] | None:
    """``values`` as floats if it is a list of ``size`` finite numbers, else None."""
    if not isinstance(values, list) or len(values) != size:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return None
    out = [float(v) for v in values]
    return out if all(math.isfinite(v) for v in out) else None


class Inbox:
    """Accepts observations in order from one authenticated peer; counts what it drops."""

    def __init__(self, key: bytes, size: int):
        self.key = key
        self.size = size
        self.last_seq = -1
        self.last_stamp = -math.inf
        self.dropped: Counter[str] = Counter()

    def accept(self, data: bytes) -> tuple[int, float, list[float]] | None:
        """(seq, stamp, values) of a new valid observation, or None (counted)."""
        try:
            message = unseal(self.key, data)
            if message.get("type") != "observation":
                raise Malformed("not_an_observation")
            stamp = message.get("stamp")
            if (not isinstance(stamp, int | float) or isinstance(stamp, bool)
                    or not math.isfinite(stamp)):
                raise Malformed("bad_stamp")
            values = finite_numbers(message.get("values"), self.size)
            if values is None:
                raise Malformed("bad_values")
            if message["seq"] <= self.last_seq:
                raise Malformed("replayed_or_old")
            if stamp < self.last_stamp:
                raise Malformed("stamp_went_back")
        except Malformed as drop:
            self.dropped[drop.reason] += 1
            return None
        self.last_seq, self.last_stamp = message["seq"], float(stamp)
        return message["seq"], float(stamp), values
