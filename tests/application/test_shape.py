"""The shape of the application layer (issue 18): every function reads on one screen."""

from __future__ import annotations

import ast
from pathlib import Path

APPLICATION = Path(__file__).resolve().parents[2] / "application"
MAX_LINES = 40


def long_functions(root: Path, limit: int) -> list[str]:
    """`path:line name (n lines)` for each function or method under `root` longer than `limit` lines (its decorators
    and docstring included)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                lines = (node.end_lineno or node.lineno) - first + 1
                if lines > limit:
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_no_function_in_the_application_layer_is_over_40_lines() -> None:
    assert long_functions(APPLICATION, MAX_LINES) == []


def test_the_check_sees_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (tmp_path / "module.py").write_text(f"def long() -> None:\n{body}\n\n\ndef short() -> None:\n    pass\n")
    assert long_functions(tmp_path, MAX_LINES) == [f"{tmp_path.name}/module.py:1 long ({MAX_LINES + 1} lines)"]
