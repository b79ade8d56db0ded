"""The layout's rules, checked on the source: who may import whom (docs/architecture.md, "Who
may import whom"), no module cycles, and no string reference from the kernel to an app above it.

Every import counts, also one inside a function: a late import is still a dependency.
"""

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)

# The project's wiring (settings, URLs, the Celery app, WSGI) names every app by design. The
# package `kuaiban` itself only exports the Celery app, which any layer may read.
PROJECT = ("kuaiban.settings", "kuaiban.urls", "kuaiban.celery", "kuaiban.wsgi")
APPS = ("bundles", "desk", "speedup", "acceptance", "reports", "devtools", "api")
# app → the layers it may import (the kernel is `kuaiban` minus the project's wiring).
ALLOWED = {
    "kernel": {"kernel"},
    "bundles": {"kernel", "bundles"},
    "speedup": {"kernel", "speedup"},
    "desk": {"kernel", "bundles", "desk"},
    "acceptance": {"kernel", "speedup", "acceptance"},
    "reports": {"kernel", "speedup", "acceptance", "reports"},
    "devtools": {"kernel", "speedup", "devtools"},
    "api": {"kernel", "bundles", "speedup", "acceptance", "api"},
}
# Strings in the kernel that would name an app above it or one of its pages.
UPWARD_STRING = re.compile(
    r"^(?:(?:bundles|desk|speedup|acceptance|reports|devtools|api)\.[a-z_.]+"
    r"|/(?:applications|apply|staff|supervision|speedup|reports|api)/.*)$"
)


def _modules() -> dict[str, Path]:
    found = {}
    for top in ("kuaiban", *APPS):
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def layer(module: str) -> str | None:
    if module == "kuaiban" or any(module == p or module.startswith(p + ".") for p in PROJECT):
        return "project"
    top = module.split(".")[0]
    if top == "kuaiban":
        return "kernel"
    return top if top in APPS else None


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> list[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    if node.level:
        base = package.split(".")
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join([*base, node.module] if node.module else base)
    else:
        prefix = node.module or ""
    targets = []
    for alias in node.names:
        candidate = f"{prefix}.{alias.name}"
        targets.append(candidate if candidate in MODULES else prefix)
    return targets


def imports_of(module: str) -> set[str]:
    """The project modules `module` imports, anywhere in its body."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.update(_resolve(module, path, node))
    return {name for name in found if name in MODULES}


GRAPH = {module: imports_of(module) for module in MODULES}


def test_the_map_knows_every_module():
    assert all(layer(module) for module in MODULES), [m for m in MODULES if not layer(m)]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m) != "project"))
def test_each_module_imports_only_what_its_layer_may(module):
    allowed = ALLOWED[layer(module)]
    upward = sorted(
        target for target in GRAPH[module] if layer(target) not in allowed and target != "kuaiban"
    )
    assert not upward, f"{module} ({layer(module)}) imports {upward}"


def test_there_is_no_cycle_between_modules():
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    counter = iter(range(10**6))

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = next(counter)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert not cycles


def test_the_kernel_names_no_app_above_it_in_a_string():
    found = []
    for module, path in MODULES.items():
        if layer(module) != "kernel":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_text and UPWARD_STRING.match(node.value.strip()):
                found.append((module, node.value))
    assert not found


def test_no_test_module_imports_another():
    """Shared set-up lives in tests/builders.py, conftest fixtures and helper modules, never in
    a test module another one imports (a test's helper would then run its tests twice)."""
    tests = Path(settings.BASE_DIR) / "tests"
    offenders = []
    for path in tests.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.rsplit(".", 1)[-1].startswith("test_"):
                    offenders.append((path.relative_to(tests).as_posix(), node.module))
            elif isinstance(node, ast.ImportFrom) and any(
                alias.name.startswith("test_") for alias in node.names
            ):
                offenders.append((path.relative_to(tests).as_posix(), node.names[0].name))
    assert not offenders
