"""Other features' pages use matching through its public module, `lti_tool.matching.services` (STYLE.md: features
connect through each other's services), never through the workflow's or self-match's internals."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "lti_tool"
PUBLIC = "lti_tool.matching.services"


def _imported(path: Path) -> Iterator[str]:
    """Every module `path` imports, a module imported from a package (`from lti_tool.matching import x`) as one."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module == "lti_tool.matching":
                yield from (f"{node.module}.{alias.name}" for alias in node.names)
            else:
                yield node.module


def test_other_features_pages_import_matching_only_through_its_services_module() -> None:
    pages = [p for p in (*PACKAGE.glob("*/views.py"), *PACKAGE.glob("*/*_views.py")) if p.parent.name != "matching"]
    assert len(pages) > 5  # the features' pages were found
    reaching_in = sorted(
        f"{page.relative_to(PACKAGE.parent)} imports {module}"
        for page in pages
        for module in _imported(page)
        if module.startswith("lti_tool.matching") and module != PUBLIC
    )
    assert reaching_in == []
