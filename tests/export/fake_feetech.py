"""A Feetech STS3215 servo bus behind a pseudo-terminal: the lowest boundary of an SO-101.

LeRobot's real ``FeetechMotorsBus`` (through Feetech's ``scservo_sdk`` and pyserial) opens the
pty's slave end as it would ``/dev/ttyACM0``; a thread on the master end answers protocol-0
packets (ping, read, write, sync read, sync write) from each servo's register file (the
STS3215 control table: model number 777 at address 3, limits at 9 and 11, torque at 40, goal
position at 42, present position at 56). A servo with torque on moves its position towards
the goal at the STS3215's no-load speed (0.222 s per 60 degrees at 12 V), by wall-clock time.

Standard library only, so the robot-side venv and the test can both run it.
"""

from __future__ import annotations

import math
import os
import select
import threading
import time
import tty

TICKS = 4096  # 12-bit encoder
SPEED = TICKS / 6 / 0.222  # ticks per second: 60 degrees in 0.222 s
MODEL = 777
PING, READ, WRITE, SYNC_READ, SYNC_WRITE = 1, 2, 3, 0x82, 0x83
BROADCAST = 0xFE
MIN_LIMIT, MAX_LIMIT, HOMING, TORQUE, GOAL, PRESENT = 9, 11, 31, 40, 42, 56


def ticks(radians: float) -> int:
    """A joint angle (zero at mid-range, as LeRobot calibrates) as raw encoder ticks."""
    return round(TICKS // 2 + radians * (TICKS - 1) / (2 * math.pi))


class Servo:
    def __init__(self, servo_id: int, low: int, high: int, position: int):
        self.registers = bytearray(256)
        self.registers[0], self.registers[1] = 3, 10  # firmware 3.10
        self.put(3, MODEL)
        self.registers[5] = servo_id
        self.put(MIN_LIMIT, low)
        self.put(MAX_LIMIT, high)
        self.position = float(position)
        self.put(GOAL, position)
        self.goals: list[int] = []  # every goal written, for the test to read
        self._moved = time.monotonic()

    def get(self, address: int) -> int:
        return self.registers[address] | self.registers[address + 1] << 8

    def put(self, address: int, value: int) -> None:
        self.registers[address : address + 2] = int(value).to_bytes(2, "little")

    def update(self) -> None:
        now = time.monotonic()
        if self.registers[TORQUE]:
            goal = self.get(GOAL) & 0x7FFF  # bit 15 is a sign bit; positions are positive
            step = SPEED * (now - self._moved)
            self.position += max(-step, min(step, goal - self.position))
        self._moved = now
        self.put(PRESENT, round(self.position))

    def write(self, address: int, data: bytes) -> None:
        self.update()
        self.registers[address : address + len(data)] = data
        if address <= GOAL < address + len(data):
            self.goals.append(self.get(GOAL))

    def read(self, address: int, length: int) -> bytes:
        self.update()
        return bytes(self.registers[address : address + length])


def status(servo_id: int, data: bytes = b"") -> bytes:
    body = bytes([servo_id, len(data) + 2, 0]) + data
    return b"\xff\xff" + body + bytes([~sum(body) & 0xFF])


class FakeFeetechBus:
    """Servos with ids 1..n on a pty; ``port`` is the device path to hand to LeRobot."""

    def __init__(self, servos: dict[int, Servo], silent_reads: frozenset[int] = frozenset()):
        self.servos = servos
        self.packets = 0
        self.corrupt = 0
        self.sync_reads = 0
        self.silent_reads = silent_reads  # these sync reads (1 = the first) get no answer
        self._master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline: bytes pass as on a USB serial adapter
        self.port = os.ttyname(slave)
        self._slave = slave
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FakeFeetechBus:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        os.close(self._master)
        os.close(self._slave)

    def _serve(self) -> None:
        buffer = bytearray()
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                buffer += os.read(self._master, 4096)
            except OSError:
                return
            while True:
                start = buffer.find(b"\xff\xff")
                if start < 0 or len(buffer) < start + 4:
                    break
                del buffer[:start]
                size = buffer[3] + 4
                if len(buffer) < size:
                    break
                packet = bytes(buffer[:size])
                del buffer[:size]
                if (~sum(packet[2:-1]) & 0xFF) != packet[-1]:
                    self.corrupt += 1
                    continue
                self.packets += 1
                reply = self._answer(packet[2], packet[4], packet[5:-1])
                if reply:
                    os.write(self._master, reply)

    def _answer(self, servo_id: int, instruction: int, params: bytes) -> bytes:
        if instruction == PING:
            ids = sorted(self.servos) if servo_id == BROADCAST else [servo_id]
            return b"".join(status(i) for i in ids if i in self.servos)
        if instruction == READ and servo_id in self.servos:
            return status(servo_id, self.servos[servo_id].read(params[0], params[1]))
        if instruction == WRITE and servo_id in self.servos:
            self.servos[servo_id].write(params[0], params[1:])
            return status(servo_id)
        if instruction == SYNC_READ:
            self.sync_reads += 1
            if self.sync_reads in self.silent_reads:  # the status packets are lost
                return b""
            address, length = params[0], params[1]
            return b"".join(status(i, self.servos[i].read(address, length))
                            for i in params[2:] if i in self.servos)
        if instruction == SYNC_WRITE:
            address, length = params[0], params[1]
            for k in range(2, len(params), length + 1):
                if params[k] in self.servos:
                    self.servos[params[k]].write(address, params[k + 1 : k + 1 + length])
        return b""


def so101_bus(joints: dict[str, tuple[float, float, float]],
              silent_reads: frozenset[int] = frozenset()) -> tuple[FakeFeetechBus, dict]:
    """A bus of SO-101 servos (ids 1..6 in LeRobot's order) and the LeRobot calibration that
    matches it: ``joints`` maps each motor name to (lower limit, upper limit, start), radians.
    Body joints are calibrated with their zero at mid-range; the gripper's 0-100 % spans its
    limits."""
    servos, calibration = {}, {}
    for servo_id, (name, (low, high, start)) in enumerate(joints.items(), start=1):
        if name == "gripper":
            raw_low, raw_high = ticks(low), ticks(high)
        else:
            half = round(max(-low, high) * (TICKS - 1) / (2 * math.pi))
            raw_low, raw_high = TICKS // 2 - half, TICKS // 2 + half
        servos[servo_id] = Servo(servo_id, raw_low, raw_high, ticks(start))
        calibration[name] = {"id": servo_id, "drive_mode": 0, "homing_offset": 0,
                             "range_min": raw_low, "range_max": raw_high}
    return FakeFeetechBus(servos, silent_reads), calibration


def relax_watchdog(bundle) -> None:
    """Give a test bundle a 2 s watchdog (bundle.json's safety block, as a user tightens or
    loosens it): a loaded 2-core test machine can pause a process longer than the 0.2 s
    default, and the tests that use this check the bus path; the watchdog has its own."""
    import json
    from pathlib import Path

    path = Path(bundle) / "bundle.json"
    meta = json.loads(path.read_text())
    meta["safety"]["watchdog_timeout"] = 2.0
    path.write_text(json.dumps(meta, indent=1))
