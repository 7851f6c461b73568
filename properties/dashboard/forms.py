"""What the dashboard's forms share."""

from __future__ import annotations

from django import forms

from properties.errors import DomainError


def form_add_domain_error(form: forms.BaseForm, error: DomainError) -> None:
    """Show a service's refusal on the form: each problem on the field it names (when
    the form has that field), the message at the top when it names none."""
    for field, problems in (error.fields or {}).items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)
    if not error.fields:
        form.add_error(None, error.message)
