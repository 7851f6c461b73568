"""The two parts of an email: HTML escapes what guests typed, plain text shows it as
typed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.message import Message
from typing import Any

import time_machine

from messaging.services.outbox import outbox_dispatch
from messaging.services.sending import outbox_send
from tests.conftest import Tenant
from tests.messaging.conftest import stay
from tests.support.smtp import Sink

NOW = datetime(2031, 1, 10, 12, 0, tzinfo=UTC)
NAME = 'O\'Brien & "Smith" <x>'


def part(message: Message, content_type: str) -> str:
    [found] = [p for p in message.walk() if p.get_content_type() == content_type]
    payload = found.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(found.get_content_charset() or "utf-8")


@time_machine.travel(NOW, tick=False)
def test_plain_text_part_is_not_html_escaped_and_the_html_part_is(
    tenant: Tenant, smtp_sink: Sink, settings: Any, redis_prefix: str
) -> None:
    settings.EMAIL_RATE_PER_SECOND = 1000.0
    stay(tenant.prop, date(2031, 2, 10), date(2031, 2, 14), email="ob@example.com", name=NAME)
    claimed: list[int] = []
    outbox_dispatch(enqueue=lambda i, p: claimed.append(i))
    for message_id in claimed:
        outbox_send(message_id=message_id)
    [mail] = smtp_sink.to("ob@example.com")
    text = part(mail, "text/plain")
    html = part(mail, "text/html")
    assert f"Hello {NAME}," in text
    for escaped in ("&#x27;", "&amp;", "&quot;", "&lt;"):
        assert escaped not in text
    assert "O&#x27;Brien &amp; &quot;Smith&quot; &lt;x&gt;" in html
    assert "<x>" not in html
