#!/usr/bin/env bash
# Pre-install Hexo (from the npm registry) into the rendering tests' cache
# folder, so the npm step shows up as its own step in CI logs and the test
# run itself only reuses the cache.  Honours NEWSSPIDER_HEXO_DIR (default
# ~/.cache/newsspider-hexo) and PYTHON (default: python).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
"${PYTHON:-python}" -c 'import sys; sys.path.insert(0, "tests"); import hexo; print(hexo.ensure_hexo())'
# and the modules of a site made by `newsspider site init` (its own pinned package-lock.json),
# which the site tests link from the same cache
"${PYTHON:-python}" - <<'PY'
import sys, tempfile
from pathlib import Path
sys.path.insert(0, "tests")
import hexo
from newsspider.commands.site import write_site
with tempfile.TemporaryDirectory() as tmp:
    write_site(Path(tmp) / "site", "ci")
    print(hexo.ensure_site_modules(Path(tmp) / "site"))
PY
