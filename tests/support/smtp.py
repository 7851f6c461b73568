"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives.

Fixture `smtp_sink`: starts the server and points Django's SMTP backend at it. Worker
processes reach it through `EMAIL_URL=smtp://127.0.0.1:<sink.port>`.
"""

from __future__ import annotations

import asyncio
import email
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.support.ports import free_port


@dataclass
class Sink:
    """What the local SMTP server received, in order."""

    port: int
    messages: list[Message] = field(default_factory=list)
    # Hang this many seconds after the first message's DATA arrived, before the "250".
    delay_first: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def by_message_id(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for message in self.messages:
            counts[message["Message-ID"]] = counts.get(message["Message-ID"], 0) + 1
        return counts

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in m["To"]]


class SinkHandler:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content or envelope.content)
        with self.sink.lock:
            first = not self.sink.messages
            self.sink.messages.append(message)
        if first and self.sink.delay_first:
            await asyncio.sleep(self.sink.delay_first)
        return "250 OK"


@pytest.fixture
def smtp_sink(settings: Any) -> Iterator[Sink]:
    sink = Sink(port=free_port())
    controller = Controller(SinkHandler(sink), hostname="127.0.0.1", port=sink.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    try:
        yield sink
    finally:
        controller.stop()
