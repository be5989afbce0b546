"""The shape of the house, from its imports: no cycle, and only the runner wires.

The import graph is read from the source (:mod:`tests.unit.architecture.imports`):
``TYPE_CHECKING`` blocks and imports inside functions count, relative imports are
resolved.
"""

from __future__ import annotations

from pathlib import Path

from tests.unit.architecture.imports import ROOT, cycles, import_graph

# The parts of a run. A module "uses" a part when it imports any of the part's modules
# other than its contract: the interface (port), the values it takes and returns, its
# errors, and (gateway) the SOQL formatter and its settings; (plan) the plan file
# format apply reads. Everything a step needs of another part is in a contract module.
PARTS = {"pull": "sfrenew.pull", "plan": "sfrenew.plan", "apply": "sfrenew.apply",
         "store": "sfrenew.store", "gateway": "sfrenew.salesforce"}
CONTRACTS = frozenset({
    "sfrenew.store.port", "sfrenew.store.values", "sfrenew.store.errors",
    "sfrenew.store.codec",
    "sfrenew.salesforce.port", "sfrenew.salesforce.results", "sfrenew.salesforce.errors",
    "sfrenew.salesforce.soql", "sfrenew.salesforce.config",
    "sfrenew.plan.model",
})
RUNNER = "sfrenew.runner"


def _part(module: str) -> str | None:
    for part, package in PARTS.items():
        if module == package or module.startswith(package + "."):
            return part
    return None


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def parts_used(graph: dict[str, set[str]], module: str) -> set[str]:
    """The parts (other than its own) whose implementation ``module`` imports."""
    own = _part(module)
    return {part for dep in graph[module]
            if (part := _part(dep)) is not None and part != own and dep not in CONTRACTS}


def test_sfrenew_has_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_walker_sees_type_checking_and_relative_imports(tmp_path: Path) -> None:
    # A cycle made only of a relative import one way and a TYPE_CHECKING import the
    # other is still a cycle (the case the issue found between jobs and scheduler).
    package = tmp_path / "sfrenew"
    (package / "steps").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "steps" / "__init__.py").write_text("")
    (package / "steps" / "a.py").write_text("from .b import thing\n")
    (package / "steps" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from sfrenew.steps.a import other\nthing = 1\n")
    (package / "lone.py").write_text("def late():\n    import sfrenew.steps.a\n")
    graph = import_graph(tmp_path)
    assert graph["sfrenew.lone"] == {"sfrenew.steps.a"}
    assert cycles(graph) == [["sfrenew.steps.a", "sfrenew.steps.b"]]


def test_only_the_runner_uses_more_than_one_part_of_a_run() -> None:
    graph = import_graph()
    wiring = {module: sorted(used) for module in graph
              if not _within(module, RUNNER) and len(used := parts_used(graph, module)) > 1}
    assert wiring == {}
    # ... and the runner does wire them all.
    runner_uses = set().union(*(parts_used(graph, m) for m in graph if _within(m, RUNNER)))
    assert runner_uses == set(PARTS)


def test_no_step_imports_the_runner_and_apply_holds_no_lock() -> None:
    graph = import_graph()
    steps = [m for m in graph if _part(m) in ("pull", "plan", "apply")]
    assert steps
    for module in steps:
        assert not any(_within(dep, RUNNER) for dep in graph[module]), module
    for module in (m for m in graph if _part(m) == "apply"):
        assert not {"sfrenew.locks", "sfrenew.config"} & graph[module], module
    apply_source = "".join(p.read_text() for p in (ROOT / "sfrenew" / "apply").glob("*.py"))
    assert "fcntl" not in apply_source
    assert not (ROOT / "sfrenew" / "apply" / "session.py").exists()


def test_folders_show_the_flow() -> None:
    # pull → mirror (store) → plan → apply → ledger (store)
    root = ROOT / "sfrenew"
    for folder in ("pull", "plan", "apply", "store", "runner"):
        assert (root / folder / "__init__.py").is_file(), folder
    assert (root / "store" / "mirror.py").is_file()
    assert (root / "store" / "ledger.py").is_file()
