#!/usr/bin/env bash
# Creates .venv/ with the Python client's packages (npm run setup:python).
# Uses the machine's local wheel indexes when they exist, so no public index is needed.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
args=()
[ -d /opt/pypi/simple ] && args+=(--index-url file:///opt/pypi/simple)
[ -d /opt/pypi-more/simple ] && args+=(--extra-index-url file:///opt/pypi-more/simple)
[ -d /opt/wheels ] && args+=(--find-links /opt/wheels)
.venv/bin/python -m pip install --quiet --disable-pip-version-check "${args[@]}" numpy pyzmq msgpack gymnasium pettingzoo pytest tensorboard setuptools wheel
if [ -f server/python/pyproject.toml ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e server/python
fi
# WITH_RAY=1: Ray core and Ray Tune (the propamm-gym[ray] extra: propamm_gym.ray_rollouts, tune_train).
if [ "${WITH_RAY:-0}" = "1" ]; then
  if .venv/bin/python -m pip install --quiet --disable-pip-version-check "${args[@]}" "ray[tune]"; then
    .venv/bin/python -c "import ray, ray.tune; print('ray', ray.__version__, '(with tune) ready')"
  else
    echo "WARNING: ray[tune] could not be installed; the Ray tests will be skipped"
  fi
fi
# WITH_TORCH=1: torch (CPU), for the Python examples' PPO (examples/python/*.py).
if [ "${WITH_TORCH:-0}" = "1" ]; then
  if .venv/bin/python -m pip install --quiet --disable-pip-version-check "${args[@]}" torch; then
    .venv/bin/python -c "import torch; print('torch', torch.__version__, 'ready')"
  else
    echo "WARNING: torch could not be installed; the tests of the torch examples will be skipped"
  fi
fi
.venv/bin/python -c "import numpy, zmq, msgpack, gymnasium, pettingzoo; print('python client ready: numpy', numpy.__version__, 'pyzmq', zmq.__version__, 'gymnasium', gymnasium.__version__, 'pettingzoo', pettingzoo.__version__)"
