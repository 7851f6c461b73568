"""The global email send rate: one limiter in Redis shared by every worker process.

A sliding-window log on the Redis server's clock: a send is granted only if fewer than
`limit` sends were granted in the last `window` seconds. Unlike a token bucket with a
burst allowance, this holds the limit in *every* window of that length, which is what
providers such as SES count. One clock (Redis `TIME`) for all workers means no skew
between machines; the whole check-and-take is one Lua script, so it is atomic.

`EMAIL_RATE_PER_SECOND = R` becomes `limit = max(1, floor(R))` grants per
`limit / R` seconds, plus a small guard (MESSAGING_RATE_GUARD_MS) that absorbs the
jitter between the grant and the provider call. The sustained rate is therefore
slightly below R (about 1% at the default 10 ms guard).
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import redis
from django.conf import settings

_SCRIPT = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local n = redis.call('ZCARD', key)
if n < limit then
  redis.call('ZADD', key, now, now .. ':' .. ARGV[3])
  redis.call('PEXPIRE', key, math.ceil(window / 1000) + 1000)
  return {1, now}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
"""


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


@dataclass(frozen=True)
class SendRateLimiter:
    rate_per_second: float
    key: str
    guard_seconds: float = 0.01

    @classmethod
    def from_settings(cls) -> SendRateLimiter:
        return cls(
            rate_per_second=float(settings.EMAIL_RATE_PER_SECOND),
            key=f"{settings.HOLIDESK_REDIS_PREFIX}:messaging:send-window",
            guard_seconds=settings.MESSAGING_RATE_GUARD_MS / 1000,
        )

    @property
    def limit(self) -> int:
        return max(1, math.floor(self.rate_per_second))

    @property
    def window_us(self) -> int:
        return int((self.limit / self.rate_per_second + self.guard_seconds) * 1_000_000)

    def try_acquire(self) -> tuple[bool, float]:
        """(True, grant time as a Unix timestamp) or (False, seconds to wait)."""
        client = _client(settings.REDIS_URL)
        granted, value = client.eval(
            _SCRIPT, 1, self.key, self.limit, self.window_us, secrets.token_hex(6)
        )
        if int(granted) == 1:
            return True, int(value) / 1_000_000
        return False, max(int(value), 1000) / 1_000_000

    def acquire(self, *, timeout: float) -> datetime | None:
        """Wait up to `timeout` seconds for a send slot; the grant time, or None."""
        deadline = time.monotonic() + timeout
        while True:
            granted, value = self.try_acquire()
            if granted:
                return datetime.fromtimestamp(value, tz=UTC)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            # A little jitter so waiting workers do not retry in lockstep.
            time.sleep(min(value + secrets.randbelow(5) / 1000, remaining))

    def reset(self) -> None:
        _client(settings.REDIS_URL).delete(self.key)
