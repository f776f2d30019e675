#!/usr/bin/env bash
# Pre-install Hexo (from the npm registry) into the rendering tests' cache
# folder, so the npm step shows up as its own step in CI logs and the test
# run itself only reuses the cache.  Honours NEWSSPIDER_HEXO_DIR (default
# ~/.cache/newsspider-hexo) and PYTHON (default: python).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
"${PYTHON:-python}" -c 'import sys; sys.path.insert(0, "tests"); import hexo; print(hexo.ensure_hexo())'
