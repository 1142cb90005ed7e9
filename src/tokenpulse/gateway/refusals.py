"""Refusals the gateway answers with instead of forwarding: shaped like the vendor's own errors, so every
client shows them, and marked so that the official SDKs raise at once instead of retrying.

Why exactly one attempt (read from `_should_retry` in anthropic 2.x and openai 3.x `_base_client.py`):

- Both SDKs look at the `x-should-retry` header first: `"false"` means "do not retry", whatever the
  status (the only thing openai checks earlier is a too-long `Retry-After`, which can also only say no).
  So even a 429 or 5xx refusal, if a caller picks one, is raised after one attempt.
- Without that header they retry 408, 409, 429 and every status >= 500. The default, 403, is none of
  these, so clients that ignore the header (other languages' SDKs, hand-written code) don't retry either.
- We never send `Retry-After`: on a 429 it would invite clients to come back, and a budget or tripped
  breaker is not cleared by waiting a few seconds.

Our own reason (`budget_exceeded`, `circuit_breaker_tripped`, ...) is readable by a program without
leaving the vendor's shape: in the `x-tokenpulse-refusal` header always; for OpenAI also in `error.type`
and `error.code`, where the SDK exposes it as `exc.code`/`exc.type`; for Anthropic, whose `error.type` is
a fixed list, as the first word of the message (`"budget_exceeded: ..."`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec

from .meter import Api

REFUSAL_HEADER = "x-tokenpulse-refusal"

# Anthropic's documented error types by HTTP status (https://docs.anthropic.com/en/api/errors).
_ANTHROPIC_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 402: "billing_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
    504: "timeout_error", 529: "overloaded_error",
}
_REASON = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_encode = msgspec.json.Encoder().encode


@dataclass
class Refusal:
    """An HTTP response ready to send: status, headers and a JSON body."""

    status: int
    headers: dict[str, str]
    body: bytes


def refusal(api: Api, error_type: str, message: str, status: int = 403) -> Refusal:
    """A vendor-shaped error for `api` saying `message`, tagged with our reason `error_type`.

    `error_type` is a short lowercase token (it goes into a header); `status` defaults to 403, which no
    official SDK retries (see the module docstring).
    """
    if not _REASON.fullmatch(error_type):
        raise ValueError(f"error_type must be a lowercase token like 'budget_exceeded', got {error_type!r}")
    if not 400 <= status <= 599:
        raise ValueError(f"a refusal needs an error status (4xx or 5xx), got {status}")
    if api == "anthropic_messages":
        vendor_type = _ANTHROPIC_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")
        payload: dict[str, object] = {
            "type": "error", "error": {"type": vendor_type, "message": f"{error_type}: {message}"},
        }
    elif api in ("openai_chat", "openai_responses"):
        payload = {"error": {"message": message, "type": error_type, "param": None, "code": error_type}}
    else:
        raise ValueError(f"unknown api {api!r}")
    headers = {"content-type": "application/json", "x-should-retry": "false", REFUSAL_HEADER: error_type}
    return Refusal(status=status, headers=headers, body=_encode(payload))
