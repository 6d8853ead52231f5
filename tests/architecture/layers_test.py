#!/usr/bin/env python3
"""The layer rule of docs/architecture.md, checked on every include.

Reads the layer order from the ```layers block of docs/architecture.md
(bottom first), then every `#include "implicit/..."` in include/ and src/,
and fails when a file includes a folder above its own. src/<folder>/ is
held to the rule of include/implicit/<folder>/ (src/ mirrors include/).
A deprecated forwarding header (first line "// Deprecated: ...") may name
the header that replaced it, wherever that lives, and nothing else.

Usage: layers_test.py <repository root>
"""
import pathlib
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"implicit/([^"]+)"', re.M)


def read_layers(root):
    text = (root / "docs" / "architecture.md").read_text()
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    if not block:
        sys.exit("docs/architecture.md has no ```layers block")
    rank = {}
    for level, line in enumerate(l for l in block.group(1).splitlines() if l.strip()):
        for name in line.split("#")[0].split():
            rank[name.rstrip("/")] = level
    return rank


def folder_of(relative):
    # "fixed_point/solve.hpp" -> "fixed_point"; "status.hpp" -> "status.hpp"
    parts = relative.split("/")
    return parts[0]


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    rank = read_layers(root)
    failures = []
    checked = 0
    files = [(p, p.relative_to(root / "include" / "implicit"))
             for p in (root / "include" / "implicit").rglob("*.hpp")]
    files += [(p, p.relative_to(root / "src")) for p in (root / "src").rglob("*.[ch]pp")]
    for path, relative in files:
        own = folder_of(str(relative))
        if own not in rank:
            failures.append(f"{path.relative_to(root)}: folder '{own}' is not in the layers block "
                            "of docs/architecture.md")
            continue
        text = path.read_text()
        includes = INCLUDE.findall(text)
        if text.startswith("// Deprecated"):
            if len(includes) != 1:
                failures.append(f"{path.relative_to(root)}: a deprecated forwarding header names "
                                f"exactly one header, found {len(includes)}")
            continue
        for target in includes:
            checked += 1
            theirs = folder_of(target)
            if theirs not in rank:
                failures.append(f"{path.relative_to(root)} includes implicit/{target}: "
                                f"'{theirs}' is not in the layers block")
            elif rank[theirs] > rank[own]:
                failures.append(f"{path.relative_to(root)} ({own}, layer {rank[own]}) includes "
                                f"implicit/{target} ({theirs}, layer {rank[theirs]}): a folder "
                                "above its own")
    for line in failures:
        print(line)
    print(f"{checked} includes in {len(files)} files checked against {len(set(rank.values()))} "
          f"layers: {len(failures)} violations")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
