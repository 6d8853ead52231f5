#!/usr/bin/env bash
# Builds the API reference (Doxygen, docs/Doxyfile) into build-docs/html and
# checks the documentation: fails on any Doxygen warning and on any relative
# link in docs/*.md or README.md that does not name an existing file.
# About 20 s on 2 cores.
# Needs Debian's `doxygen` and python3 (scripts/install-deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

# Relative links: [text](path) and [text](path#anchor), images included,
# outside code blocks and code spans; http(s), mailto and pure #anchors are
# not checked.
python3 - docs/*.md README.md <<'PY'
import os, re, sys
bad = 0
for md in sys.argv[1:]:
    text = open(md, encoding="utf-8").read()
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)  # fenced blocks
    text = re.sub(r"`[^`\n]*`", "", text)                       # code spans
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        path = target.split("#", 1)[0]
        if not path or re.match(r"^(https?|mailto):", path):
            continue
        if not os.path.exists(os.path.join(os.path.dirname(md), path)):
            print(f"docs.sh: {md} links to {target}, which does not exist", file=sys.stderr)
            bad = 1
sys.exit(bad)
PY

command -v doxygen >/dev/null || { echo "docs.sh: doxygen is not installed (apt-get install doxygen)" >&2; exit 1; }
rm -rf build-docs
mkdir -p build-docs
# WARN_AS_ERROR = FAIL_ON_WARNINGS in the Doxyfile: every warning is printed,
# then doxygen exits non-zero. The log is kept for CI.
if ! doxygen docs/Doxyfile 2> >(tee build-docs/warnings.log >&2); then
  echo "docs.sh: doxygen reported warnings (build-docs/warnings.log)" >&2
  exit 1
fi
wait
if [ -s build-docs/warnings.log ]; then
  echo "docs.sh: doxygen printed warnings (build-docs/warnings.log)" >&2
  exit 1
fi
# The pages' images (docs/img/, generated plots) next to the pages that show them.
[ -d docs/img ] && cp -r docs/img build-docs/html/
echo "docs.sh: API reference in build-docs/html/index.html, no warnings, links ok"
