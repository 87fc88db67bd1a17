"""Fail when the project's imports form a circle: module A imports B, which (through any
chain) imports A again. `make lint` runs it beside lint-imports, from the checkout's root.

Imports made only for type checking count too: a circle of annotations is still one a reader
has to untangle. The graph is grimp's, the one import-linter checks its contracts on.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """One chain per import that closes a circle, shortest first: [a, b, ..., a]."""
    found: dict[frozenset[str], list[str]] = {}
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                found.setdefault(frozenset(back), [module, *back])
    return sorted(found.values(), key=len)


def main() -> int:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = config["tool"]["importlinter"]["root_packages"]
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*packages, cache_dir=None)
    found = circles(graph)
    for chain in found:
        print("import circle: " + " -> ".join(chain))
    if found:
        print(f"{len(found)} import circle(s) among {', '.join(packages)}.")
        return 1
    print(f"No import circle among {len(graph.modules)} modules.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
