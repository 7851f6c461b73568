"""docs/roles.md is written from the permission module: the committed file says what
the code does."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from properties import permissions
from properties.roles_doc import owner_routes, render


def test_the_committed_roles_doc_is_up_to_date() -> None:
    committed = (Path(settings.BASE_DIR) / "docs" / "roles.md").read_text()
    assert committed == render(), "Run `python manage.py roles_doc` and commit docs/roles.md."


def test_every_action_has_a_line_and_every_role_a_column() -> None:
    text = render()
    for action in permissions.ACTIONS:
        assert f"(`{action}`)" in text
    assert "| Action | Owner | Manager | Group manager | Front desk | Viewer | Staff |" in text


def test_every_owner_facing_url_names_an_action() -> None:
    routes = owner_routes()
    assert any(r.path == "dashboard/calendar/" for r in routes)
    assert any(r.path == "api/v1/bookings/" for r in routes)
    for route in routes:
        assert set(route.actions.values()) <= permissions.ACTIONS
