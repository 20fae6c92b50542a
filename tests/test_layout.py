"""The package layout and its dependency directions (README "Layout"), checked by walking the
imports of every file with ``ast`` (function-level imports included), not by importing them.

A *unit* is a subpackage of ``fmae`` (``fmae.models``, ``fmae.latent``, ...) or one of its
top-level modules (``fmae.data``, ``fmae.errors``, ...). Rules:

- nothing in ``fmae`` imports gradio, gradio_client, ``ui`` or ``app``;
- each unit imports only the units ``ALLOWED`` lists for it (``data`` and ``models`` are leaves),
  and the unit graph has no cycles;
- outside a subpackage (other units, ``ui/``, ``app.py``, ``scripts/``, ``benchmarks/``) its names
  come from the subpackage itself (``from fmae.latent import project``), never from its files,
  and only public names listed in its ``__all__``; ``REACH_IN`` lists the benchmarks that measure
  internal modules on purpose;
- an import of ``fmae.X`` where X is no unit (a module that moved or never was) is an error.

``test_checker_catches_bad_imports`` runs the same checker on a small bad tree, so a rule that
silently stopped working would fail there.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_LIBRARY = ("gradio", "gradio_client", "ui", "app")
ANY = "*"
#: unit -> the units it may import (besides itself); the directions of the README's "Layout"
ALLOWED: dict[str, set[str] | str] = {
    "errors": set(),
    "data": {"errors"},
    "models": {"errors"},
    "images": {"errors"},
    "training": {"errors", "data", "models"},
    "latent": {"errors", "data", "models"},
    "hub": {"errors", "models"},
    "session": {"errors", "models"},
    "__init__": {"errors"},
    "__main__": ANY,
}
#: callers allowed to import a subpackage's files: they time or swap internal modules on purpose
REACH_IN = ("benchmarks/step_ab.py", "benchmarks/train_speed.py")
MAX_TOP_LEVEL_MODULES = 8
MAX_MODULE_LINES = 300


@dataclass(frozen=True)
class Import:
    file: Path
    line: int
    module: str  # the imported module, absolute ("fmae.latent.cache")
    names: tuple[str, ...]  # for "from module import a, b"; () for "import module"


def imports_of(file: Path, package_root: Path) -> list[Import]:
    """Every import in ``file`` (any depth), relative ones resolved against ``package_root``'s parent."""
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    here = file.relative_to(package_root.parent).with_suffix("").parts
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(file, node.lineno, a.name, ()) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: drop the file name, then one package per extra dot
                base = here[: len(here) - node.level]
                module = ".".join([*base, module] if module else base)
            found.append(Import(file, node.lineno, module, tuple(a.name for a in node.names)))
    return found


def unit_of(module: str, package: str, units: set[str]) -> str | None:
    """The unit a module belongs to, or None outside the package."""
    parts = module.split(".")
    if parts[0] != package:
        return None
    if len(parts) == 1:
        return "__init__"
    return parts[1] if parts[1] in units else "__init__"


def targets(imp: Import, package: str, units: set[str]) -> list[str]:
    """The modules an import reaches: ``from fmae import data`` reaches ``fmae.data``."""
    if imp.module == package and imp.names:
        return [f"{package}.{n}" if n in units else package for n in imp.names]
    return [imp.module]


def public_names(package_dir: Path, sub: str) -> set[str]:
    """``__all__`` of a subpackage's ``__init__.py``, read from its source."""
    tree = ast.parse((package_dir / sub / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of nodes (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def check_layout(
    package_dir: Path,
    callers: list[Path],
    allowed: dict[str, set[str] | str],
    reach_in: tuple[str, ...] = (),
) -> list[str]:
    """Every rule broken by the package at ``package_dir`` and by ``callers`` (files outside it;
    those whose path relative to the package's parent is in ``reach_in`` may import files)."""
    package = package_dir.name
    subpackages = {p.name for p in package_dir.iterdir() if (p / "__init__.py").is_file()}
    units = subpackages | {p.stem for p in package_dir.glob("*.py")}
    problems: list[str] = []
    graph: dict[str, set[str]] = {u: set() for u in units}
    library = sorted(package_dir.rglob("*.py"))
    top_public = public_names(package_dir.parent, package)
    for file in [*library, *callers]:
        inside = file.is_relative_to(package_dir)
        may_reach_in = file.relative_to(package_dir.parent).as_posix() in reach_in
        me = unit_of(".".join(file.relative_to(package_dir.parent).with_suffix("").parts), package, units)
        me = me if inside else None
        for imp in imports_of(file, package_dir):
            where = f"{file.relative_to(package_dir.parent)}:{imp.line}"
            if inside and imp.module.split(".")[0] in FORBIDDEN_IN_LIBRARY:
                problems.append(f"{where}: the library imports {imp.module}")
            for module in targets(imp, package, units):
                unit = unit_of(module, package, units)
                if unit is None:
                    continue
                if unit == "__init__" and module != package:
                    problems.append(f"{where}: {module} does not exist (moved?)")
                    continue
                if module == package and imp.names:
                    hidden = [n for n in imp.names if n not in units and n not in top_public]
                    problems += [f"{where}: {package}.{n} does not exist (moved?)" for n in hidden]
                if unit == me:
                    continue
                if me is not None:
                    graph[me].add(unit)
                    ok = allowed.get(me, set())
                    if ok != ANY and unit not in ok:
                        problems.append(f"{where}: {me} may not import {unit} ({module})")
                if unit in subpackages and not may_reach_in:
                    if module.count(".") > 1:
                        problems.append(f"{where}: imports the file {module}; import from {package}.{unit}")
                    elif module == f"{package}.{unit}":
                        public = public_names(package_dir, unit)
                        for name in imp.names:
                            if name not in public:
                                problems.append(f"{where}: {name} is not in {package}.{unit}.__all__")
    if cycle := find_cycle(graph):
        problems.append("import cycle between units: " + " -> ".join(cycle))
    return problems


def test_fmae_layout_follows_the_dependency_rules():
    callers = [ROOT / "app.py", *sorted((ROOT / "ui").rglob("*.py"))]
    callers += [*sorted((ROOT / "scripts").glob("*.py")), *sorted((ROOT / "benchmarks").glob("*.py"))]
    problems = check_layout(ROOT / "fmae", callers, ALLOWED, REACH_IN)
    assert not problems, "\n".join(problems)


def test_importing_the_library_stays_light():
    """Every subpackage imports without gradio, matplotlib, scikit-learn or pandas (they load inside
    the functions that need them), so the CLI and a cold app start pay only for torch."""
    code = (
        "import sys, fmae, fmae.data, fmae.session, fmae.models, fmae.training, fmae.latent, "
        "fmae.images, fmae.hub\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'gradio', 'gradio_client', 'matplotlib', 'sklearn', 'pandas', 'ui'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_every_unit_has_a_rule():
    package_dir = ROOT / "fmae"
    units = {p.name for p in package_dir.iterdir() if (p / "__init__.py").is_file()}
    units |= {p.stem for p in package_dir.glob("*.py")}
    assert units == set(ALLOWED), "add the new unit to ALLOWED (and to ../shared/DESIGN.md's picture)"


@pytest.mark.parametrize("sub", sorted(p.parent.name for p in (ROOT / "fmae").glob("*/__init__.py")))
def test_subpackage_exports_resolve(sub):
    """Each ``__all__`` exists, has no duplicates, and every name in it is importable."""
    module = importlib.import_module(f"fmae.{sub}")
    names = public_names(ROOT / "fmae", sub)
    assert names, f"fmae/{sub}/__init__.py has no __all__"
    assert len(names) == len(module.__all__)
    missing = [n for n in names if not hasattr(module, n)]
    assert missing == []


def test_top_level_stays_small_and_modules_short():
    top = sorted(p.name for p in (ROOT / "fmae").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "fmae").rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_checker_catches_bad_imports(tmp_path):
    """A small package breaking each rule once: the checker names every break."""
    pkg = tmp_path / "lib"
    _write(
        pkg,
        {
            "__init__.py": "",
            "errors.py": "",
            "models/__init__.py": "from lib.models.core import Net\n__all__ = ['Net']\n",
            "models/core.py": "def f():\n    import gradio\n\nclass Net: ...\n",
            "models/_secret.py": "",
            "latent/__init__.py": "from lib.latent.maps import project\n__all__ = ['project']\n",
            "latent/maps.py": (
                "from lib.models.core import Net\nfrom lib.models import Hidden\n"
                "from lib.models import Net as N2\n"
            ),
            "models/back.py": "from lib.latent import project\n",
        },
    )
    caller = tmp_path / "ui.py"
    caller.write_text(
        "from lib.latent.maps import project\nfrom lib.latent import project as p\n"
        "def f():\n    from lib.old_maps import project\n    from lib import old_maps\n"
    )
    bench = tmp_path / "bench.py"
    bench.write_text("from lib.latent.maps import project\n")
    allowed = {"errors": set(), "models": {"errors"}, "latent": {"errors", "models"}, "__init__": set()}
    problems = check_layout(pkg, [caller, bench], allowed, reach_in=("bench.py",))
    text = "\n".join(problems)
    assert "lib/models/core.py:2: the library imports gradio" in text
    assert "lib/latent/maps.py:1: imports the file lib.models.core" in text
    assert "lib/latent/maps.py:2: Hidden is not in lib.models.__all__" in text
    assert "lib/models/back.py:1: models may not import latent" in text
    assert "ui.py:1: imports the file lib.latent.maps" in text
    assert "import cycle between units: latent -> models -> latent" in text
    assert "ui.py:4: lib.old_maps does not exist (moved?)" in text
    assert "ui.py:5: lib.old_maps does not exist (moved?)" in text
    assert len(problems) == 8, problems  # the allowed imports (Net as N2, project as p, bench.py) pass


def test_find_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
