"""The environment variables the settings read, for tests that check the README and
the deployment against them."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# config/env.py's readers: env_str("NAME", ...) and friends.
ENV_READERS = {"env_str", "env_bool", "env_int", "env_float", "env_choice"}


def settings_env_names() -> set[str]:
    """Every NAME in env_str("NAME", ...) and friends under config/."""
    names: set[str] = set()
    for path in (ROOT / "config").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ENV_READERS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names.add(node.args[0].value)
    return names
