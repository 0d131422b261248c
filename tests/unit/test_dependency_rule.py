"""DESIGN.md §2: the dependency rule, enforced by walking every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "projectone"

# What each layer may import from the project (besides itself). Foreign libraries a layer must
# never touch are listed too: the domain stays pure, ports stay abstract.
ALLOWED = {
    "domain": {"domain"},
    "ports": {"domain", "ports"},
    "services": {"domain", "ports", "services"},
    "adapters": {"domain", "ports", "adapters", "prompts"},
    "testing": {"domain", "ports", "testing", "adapters", "services", "prompts"},
    # Versioned prompt texts (package data) and their loader: the standard library only.
    "prompts": {"prompts"},
}
FORBIDDEN_LIBRARIES = {
    "domain": {
        "sqlalchemy",
        "aiohttp",
        "openai",
        "psycopg",
        "aiosqlite",
        "dependency_injector",
        "alembic",
        "rich",
        "tenacity",
        "asyncio",
        "socket",
        "os",
        "pathlib",
        "requests",
    },
    "ports": {"sqlalchemy", "aiohttp", "openai", "psycopg", "dependency_injector", "rich"},
    "services": {"sqlalchemy", "aiohttp", "openai", "psycopg", "dependency_injector", "rich"},
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_only_the_layers_it_may(layer: str) -> None:
    offences = []
    for path in _modules(layer):
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "projectone" and len(parts) > 1:
                target = parts[1]
                if target not in ALLOWED[layer] and target != "_version":
                    offences.append(f"{path.relative_to(PACKAGE)} imports {name}")
            elif parts[0] in FORBIDDEN_LIBRARIES.get(layer, set()):
                offences.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not offences, "\n".join(offences)


def test_the_layers_exist_and_hold_code() -> None:
    for layer in ("domain", "ports", "services", "adapters", "entrypoints", "testing"):
        assert _modules(layer), f"{layer} has no modules"


def test_the_rule_check_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from projectone.adapters.sqlalchemy import tables\nimport sqlalchemy\n")
    assert {"projectone.adapters.sqlalchemy", "sqlalchemy"} <= _imports(bad)
