"""Mutation testing of the core: does a test fail when the code is changed a little?

    .venv/bin/python -m tools.mutation                      # every module in modules.toml
    .venv/bin/python -m tools.mutation state/machine.py     # one module
    .venv/bin/python -m tools.mutation --survivors          # only the last run's survivors

The repository is copied to a temporary directory (the working tree's tracked and untracked
files, or ``--head``: the last commit), and every mutant is written into that copy, never into
the checkout, which other people run tests from. For each mutant the module's fast tests
(``modules.toml``) run in a fresh ``pytest -x``; a failing (or timed-out) run kills the mutant.
One mutant at a time. The summary is printed as JSON and written to
``tools/mutation/results/<module>.json`` and ``results/latest.json`` (not committed).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

from tools.mutation.operators import Mutant, mutants

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RESULTS = HERE / "results"
PYTEST_ARGS = ("-x", "-q", "-p", "no:cacheprovider", "--no-header", "-o", "addopts=")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutation", description=__doc__)
    parser.add_argument("modules", nargs="*", help="paths as in modules.toml (default: all)")
    parser.add_argument("--head", action="store_true", help="mutate the last commit's files")
    parser.add_argument("--survivors", action="store_true", help="rerun the last survivors only")
    parser.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    args = parser.parse_args(argv)

    settings = tomllib.loads((HERE / "modules.toml").read_text())
    config = settings["modules"]
    chosen = args.modules or list(config)
    unknown = [m for m in chosen if m not in config]
    if unknown:
        parser.error(f"not in modules.toml: {', '.join(unknown)}")

    if args.list:
        for module in chosen:
            for mutant in _mutants_of(ROOT / module, config[module]):
                print(f"{module}: {mutant.describe()}")
        return 0

    RESULTS.mkdir(exist_ok=True)
    _preload(settings.get("preload", []))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the copy is removed on the way out
    copy = Path(tempfile.mkdtemp(prefix="mutation-"))
    summaries: list[dict[str, Any]] = []
    try:
        _copy_repository(copy, head=args.head)
        for module in chosen:
            only = _last_survivors(module) if args.survivors else None
            summary = _run_module(copy, module, config[module], only)
            summaries.append(summary)
            (RESULTS / f"{_slug(module)}.json").write_text(json.dumps(summary, indent=2) + "\n")
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    document: dict[str, Any] = {
        "modules": [{k: v for k, v in s.items() if k != "survivors"} for s in summaries]
    }
    document["survivors"] = {s["module"]: s["survivors"] for s in summaries if s["survivors"]}
    (RESULTS / "latest.json").write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps(document, indent=2))
    failed = [s for s in summaries if not s["met"]]
    return 1 if failed else 0


def _mutants_of(path: Path, settings: dict[str, Any]) -> list[Mutant]:
    return list(mutants(path.read_text(), frozenset(settings.get("functions", ()))))


def _copy_repository(target: Path, *, head: bool) -> None:
    if head:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "HEAD"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        return
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)


def _preload(names: list[str]) -> None:
    """Import the third-party libraries once, here: each test run is a fork that starts with
    them loaded (about a second saved per mutant). Never a module of the project: those must
    come from the copy, fresh, in every run."""
    for name in names:
        importlib.import_module(name)


def _pytest(copy: Path, tests: list[str], timeout: float) -> tuple[str, float]:
    """Run the tests in the copy, in a forked child: ``passed``, ``failed`` or ``timeout``,
    and the seconds it took."""
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 3
        try:
            os.setpgid(0, 0)  # its own group, so a timeout ends whatever it started too
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.chdir(copy)
            sys.path.insert(0, str(copy))
            os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
            os.environ["PYTHONPATH"] = str(copy)
            os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str(copy / ".hypothesis")
            sys.dont_write_bytecode = True
            import pytest

            code = int(pytest.main([*PYTEST_ARGS, *tests]))
        finally:
            os._exit(code)
    deadline = started + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout", time.monotonic() - started
        time.sleep(0.02)
    seconds = time.monotonic() - started
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return "passed", seconds
    if code == 5:
        raise SystemExit(f"no tests collected by {' '.join(tests)}")
    return "failed", seconds


def _run_module(
    copy: Path, module: str, settings: dict[str, Any], only: set[str] | None
) -> dict[str, Any]:
    tests: list[str] = list(settings["tests"])
    target = copy / module
    original = target.read_bytes()
    _check_imports_from(copy, module)
    status, baseline = _pytest(copy, tests, timeout=600)
    if status != "passed":
        raise SystemExit(f"{module}: its tests fail before any mutation ({' '.join(tests)})")
    timeout = max(15.0, 4 * baseline + 10)
    found = _mutants_of(target, settings)
    if only is not None:
        found = [m for m in found if m.id in only]
    print(f"{module}: {len(found)} mutants, tests take {baseline:.1f} s", file=sys.stderr)
    started = time.monotonic()
    killed = timeouts = 0
    survivors: list[dict[str, Any]] = []
    for number, mutant in enumerate(found, 1):
        try:
            target.write_text(mutant.source)
            outcome, _ = _pytest(copy, tests, timeout)
        finally:
            target.write_bytes(original)
        if outcome == "passed":
            survivors.append(
                {
                    "id": mutant.id,
                    "line": mutant.line,
                    "scope": mutant.scope,
                    "operator": mutant.operator,
                    "original": mutant.original,
                    "mutated": mutant.mutated,
                }
            )
            print(f"  [{number}/{len(found)}] SURVIVED {mutant.describe()}", file=sys.stderr)
        else:
            killed += 1
            timeouts += outcome == "timeout"
    total = len(found)
    if only is not None:  # a rerun of the last survivors: the others were killed then
        earlier = json.loads((RESULTS / f"{_slug(module)}.json").read_text())
        total, killed = earlier["mutants"], earlier["killed"] + killed
    score = round(100.0 * killed / total, 1) if total else 100.0
    bar = float(settings.get("bar", 90))
    return {
        "module": module,
        "mutants": total,
        "killed": killed,
        "survived": len(survivors),
        "timeouts": timeouts,
        "score": score,
        "bar": bar,
        "met": score >= bar,
        "rerun_of_survivors": only is not None,
        "seconds": round(time.monotonic() - started, 1),
        "tests": tests,
        "survivors": survivors,
    }


def _check_imports_from(copy: Path, module: str) -> None:
    """The copy's module must be the one imported (the checkout is installed editable)."""
    name = module.removesuffix(".py").replace("/", ".")
    code = f"import {name} as m; print(m.__file__)"
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    found = (
        subprocess.run(
            [sys.executable, "-c", code], cwd=copy, env=env, capture_output=True, check=True
        )
        .stdout.decode()
        .strip()
    )
    if Path(found).resolve() != (copy / module).resolve():
        raise SystemExit(f"{name} is imported from {found}, not from the copy {copy}")


def _last_survivors(module: str) -> set[str]:
    path = RESULTS / f"{_slug(module)}.json"
    if not path.exists():
        raise SystemExit(f"--survivors: no earlier result for {module} ({path})")
    return {s["id"] for s in json.loads(path.read_text())["survivors"]}


def _slug(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".")


if __name__ == "__main__":
    raise SystemExit(main())
