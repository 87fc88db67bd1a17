"""Build the Medusa plugin in medusa-plugin/ and install it into a Medusa backend, once.

The build is `medusa plugin:build` with the plugin's own packages (`npm ci` from its committed
lock file). Installing copies the built package, its package.json and .medusa/, into the
backend's node_modules, as a merchant installs a package: a symlink, `file:` or yalc would give
the dashboard a second copy of React's libraries. Each step is skipped when its output is
already that of the current sources (a digest of them is kept beside the build).

    .venv/bin/python scripts/medusa_plugin.py build
    .venv/bin/python scripts/medusa_plugin.py install tests/medusa_backend
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

from scripts.npm_ci import npm_ci

__all__ = ["NAME", "PLUGIN", "PluginBuildError", "build_plugin", "install_plugin"]

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "medusa-plugin"
NAME = "qikink-graphql-medusa"
BUILT = PLUGIN / ".medusa"
DIGEST_FILE = Path("server") / ".source-digest"
BUILD_TIMEOUT_SECONDS = 600.0


class PluginBuildError(RuntimeError):
    """`medusa plugin:build` failed; the message holds its output."""


def source_digest() -> str:
    """A digest of everything the build reads: the package files and every source file."""
    digest = hashlib.sha256()
    files = [PLUGIN / "package.json", PLUGIN / "package-lock.json", PLUGIN / "tsconfig.json"]
    files += sorted(path for path in (PLUGIN / "src").rglob("*") if path.is_file())
    for path in files:
        digest.update(str(path.relative_to(PLUGIN)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _digest_of(built: Path) -> str | None:
    stamp = built / DIGEST_FILE
    return stamp.read_text().strip() if stamp.exists() else None


def build_plugin() -> dict[str, float]:
    """The plugin's packages installed and the plugin built from the current sources; the
    seconds each step took (0 when it was already done)."""
    timings = {"npm ci": npm_ci(PLUGIN, needed_for="building the Medusa plugin")}
    digest = source_digest()
    if _digest_of(BUILT) == digest:
        return {**timings, "plugin:build": 0.0}
    started = time.monotonic()
    done = subprocess.run(
        ["node", "node_modules/@medusajs/cli/cli.js", "plugin:build"],
        cwd=PLUGIN,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise PluginBuildError(
            f"medusa plugin:build in {PLUGIN} failed ({done.returncode}):\n"
            f"{done.stdout}\n{done.stderr}"
        )
    (BUILT / DIGEST_FILE).write_text(digest + "\n")
    return {**timings, "plugin:build": time.monotonic() - started}


def install_plugin(backend: Path) -> Path:
    """The built plugin copied into `backend`'s node_modules (replacing an older copy); where."""
    target = backend / "node_modules" / NAME
    digest = _digest_of(BUILT)
    if digest is None:
        raise PluginBuildError(f"{PLUGIN} is not built: run `scripts/medusa_plugin.py build`")
    if _digest_of(target / ".medusa") == digest:
        return target
    if target.exists():
        shutil.rmtree(target)
    # The dashboard's Vite keeps the plugin's admin bundle among its optimised dependencies:
    # an older copy would be served on until the cache goes.
    shutil.rmtree(backend / "node_modules" / ".vite", ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copy2(PLUGIN / "package.json", target / "package.json")
    shutil.copytree(BUILT, target / ".medusa")
    return target


def main(argv: list[str]) -> int:
    usage = {"build": 1, "install": 2}
    if not argv or usage.get(argv[0]) != len(argv):
        print("usage: medusa_plugin.py build | install BACKEND_FOLDER", file=sys.stderr)
        return 2
    try:
        if argv[0] == "build":
            timings = build_plugin()
            print(", ".join(f"{step} {seconds:.0f} s" for step, seconds in timings.items()))
        else:
            print(f"installed into {install_plugin(Path(argv[1]).resolve())}")
    except (PluginBuildError, RuntimeError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
