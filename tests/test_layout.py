"""The folder tree shows the layers: core/ imports nothing else of the package, lower layers
never import higher ones, and there are no import cycles."""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "twitchcam"
# Each layer may import itself and the layers listed after it (and errors.py, which imports nothing).
# run/ drives a source through the pipeline into a session, for everything above it.
LAYERS = ["cli|__main__", "api", "live|batch|report|review|synth", "run", "video", "store", "core"]


def modules() -> dict[str, Path]:
    out = {}
    for path in PKG.rglob("*.py"):
        parts = path.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(path: Path, name: str, known: dict[str, Path]) -> set[str]:
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = package
                for _ in range(node.level - 1):
                    pkg = pkg.rpartition(".")[0]
                base = f"{pkg}.{base}" if base else pkg
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name and t != "twitchcam":
                found.add(t)
    return found


def layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    for k, names in enumerate(LAYERS):
        if top in names.split("|"):
            return k
    return len(LAYERS)  # errors: below everything


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(p, m, known) for m, p in known.items()}


def test_core_imports_only_core():
    for m, deps in graph().items():
        if m.startswith("twitchcam.core"):
            assert {d for d in deps if not d.startswith("twitchcam.core")} == set(), m


def test_no_module_imports_a_higher_layer():
    breaks = [(m, d) for m, deps in graph().items() for d in deps
              if m != "twitchcam" and layer(d) < layer(m)]
    assert breaks == []


def test_no_import_cycles():
    g = graph()
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(m: str, path: list[str]) -> bool:
        state[m] = 1
        for d in g.get(m, ()):
            if state.get(d) == 1:
                cycle.extend(path + [m, d])
                return True
            if d not in state and visit(d, path + [m]):
                return True
        state[m] = 2
        return False

    assert not any(visit(m, []) for m in sorted(g) if m not in state), cycle


def test_every_layer_folder_exists():
    for names in LAYERS:
        for name in names.split("|"):
            assert (PKG / name).is_dir() or (PKG / f"{name}.py").is_file(), name
