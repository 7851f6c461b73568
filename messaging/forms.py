"""The message form of the inbox and of a guest's trip page.

It only shapes input: what a message may be is decided by
`messaging.services.conversations.message_body_clean`, whose error the form shows.
`nonce` is a one-time token rendered with the form, so submitting it twice (a double
click, a reload after a timeout) records one message.
"""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from messaging.errors import InvalidMessage
from messaging.inbox_models import MAX_BODY
from messaging.services.conversations import message_body_clean


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Message"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": MAX_BODY}),
    )
    nonce = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, label: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"nonce": secrets.token_urlsafe(16)})
        super().__init__(*args, **kwargs)
        self.fields["body"].label = label or _("Message")

    def clean_body(self) -> str:
        try:
            return message_body_clean(self.cleaned_data.get("body") or "")
        except InvalidMessage as exc:
            raise forms.ValidationError(exc.message) from exc
