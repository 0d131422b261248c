"""Calling the HTTP API in tests: serve an application on loopback, sign tokens, make requests.

For projectone's own tests and for embedders testing their mount of ``create_app``::

    async with serve(create_app(container)) as url, aiohttp.ClientSession() as session:
        client = ApiClient(url, session, tokens={"admin": staff_token(secret, "admin")})
        status, doc, headers = await client.call("GET", "/v1/content", "admin")
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import attrs
from aiohttp import web

from projectone.adapters.jwt_auth import issue_token
from projectone.domain.advisor import Advisor

__all__ = ["ApiClient", "advisor_token", "serve", "staff_token"]


@contextlib.asynccontextmanager
async def serve(app: web.Application, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yields its base URL, cleans up after."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, 0)
        await site.start()
        yield f"http://{host}:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def advisor_token(secret: str, advisor: Advisor, *, now: dt.datetime | None = None) -> str:
    """An HS256 token for ``advisor`` (subject ``user-advisor-<id>``), valid 15 minutes."""
    return issue_token(
        secret,
        subject=f"user-advisor-{advisor.id}",
        role="advisor",
        advisor_id=advisor.id,
        now=now or dt.datetime.now(dt.UTC),
    )


def staff_token(secret: str, role: str, *, now: dt.datetime | None = None) -> str:
    """An HS256 token for a member of staff in ``role`` (``admin``, ``compliance_officer``)."""
    return issue_token(
        secret, subject=f"user-{role}-staff", role=role, now=now or dt.datetime.now(dt.UTC)
    )


@attrs.define
class ApiClient:
    """Requests as one of several named callers (``tokens``: name → bearer token)."""

    url: str
    session: aiohttp.ClientSession
    tokens: dict[str, str] = attrs.field(factory=dict)

    async def call(
        self,
        method: str,
        path: str,
        who: str | None,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        """(status, JSON document or text, headers) of ``method path`` as ``who`` (``None``: no
        token); ``body`` is sent as JSON, ``data`` as is."""
        sent = dict(headers or {})
        if who is not None:
            sent["Authorization"] = f"Bearer {self.tokens[who]}"
        kwargs: dict[str, Any] = {"headers": sent}
        if data is not None:
            kwargs["data"] = data
        elif body is not None:
            kwargs["json"] = body
        async with self.session.request(method, f"{self.url}{path}", **kwargs) as response:
            text = await response.text()
            json_answer = text and response.content_type == "application/json"
            doc = json.loads(text) if json_answer else text
            return response.status, doc, dict(response.headers)
