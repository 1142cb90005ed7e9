"""The vendor client's own behaviour: cursors, unreachable hosts, refusals that are not retried."""

from __future__ import annotations

import socket

import pytest
from fake_ledgers import A_USAGE, ANTHROPIC_KEY, FakeLedgers

from tokenpulse.sources.vendors import VendorError, VendorPageError, anthropic_client
from tokenpulse.sources.vendors.client import VendorClient, _retry_after


def test_has_more_without_a_cursor_is_a_malformed_page(ledgers: FakeLedgers) -> None:
    ledgers.pages[A_USAGE] = [{"data": [], "has_more": True, "next_page": None}]
    client = anthropic_client(ANTHROPIC_KEY, ledgers.url, sleep=lambda s: None)
    with pytest.raises(VendorPageError) as caught:
        list(client.pages(A_USAGE))
    assert str(caught.value) == (f"Anthropic returned a malformed page 1 for {A_USAGE}: "
                                 "`has_more` is true but `next_page` is missing")


def test_a_cursor_that_loops_is_a_malformed_page(ledgers: FakeLedgers) -> None:
    ledgers.pages[A_USAGE] = [{"data": [], "has_more": True, "next_page": "page_0001"},
                              {"data": [], "has_more": True, "next_page": "page_0001"}]
    client = anthropic_client(ANTHROPIC_KEY, ledgers.url, sleep=lambda s: None)
    with pytest.raises(VendorPageError) as caught:
        list(client.pages(A_USAGE))
    assert str(caught.value) == (f"Anthropic returned a malformed page 2 for {A_USAGE}: "
                                 "`next_page` repeats an earlier cursor")


def test_other_client_errors_are_not_retried_and_carry_the_vendor_message(ledgers: FakeLedgers) -> None:
    sleeps: list[float] = []
    client = anthropic_client(ANTHROPIC_KEY, ledgers.url, sleep=sleeps.append)
    with pytest.raises(VendorError) as caught:
        client.get("/v1/organizations/no_such_report")
    assert str(caught.value) == ("Anthropic answered HTTP 404 for /v1/organizations/no_such_report (page 1): "
                                 "no route /v1/organizations/no_such_report")
    assert sleeps == []


def test_an_unreachable_host_is_retried_then_reported() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps: list[float] = []
    client = VendorClient("OpenAI", f"http://127.0.0.1:{port}", {"Authorization": "Bearer sk-secret"},
                          sleep=sleeps.append, max_attempts=3, backoff_s=0.5)
    with pytest.raises(VendorError) as caught:
        client.get("/v1/organization/costs")
    assert str(caught.value) == "OpenAI could not be reached for /v1/organization/costs (page 1) after 3 attempts"
    assert sleeps == [0.5, 1.0]
    assert "sk-secret" not in repr(client)


@pytest.mark.parametrize(("header", "seconds"), [("2", 2.0), (" 0 ", 0.0), ("1.5", 1.5), (None, None),
                                                 ("Wed, 21 Oct 2026 07:28:00 GMT", None), ("-1", None), ("inf", None), ("nan", None)])
def test_retry_after_is_read_in_seconds(header: str | None, seconds: float | None) -> None:
    assert _retry_after(header) == seconds
