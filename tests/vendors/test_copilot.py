"""GitHub Copilot usage metrics reports and AI-credit billing, through the real client against the fake API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fake_copilot import GITHUB_TOKEN, ORG, FakeGitHub

from tokenpulse.events import OutcomeEvent, UsageEvent
from tokenpulse.sources.vendors import VendorAuthError, VendorDataError, VendorError, VendorPageError
from tokenpulse.sources.vendors.copilot import (
    billing_records,
    copilot_client,
    identities,
    metrics_records,
    sync_copilot,
)
from tokenpulse.sources.vendors.records import VendorBatch, VendorCost

SINCE = datetime(2026, 11, 1, 5, tzinfo=UTC)  # the whole day of `since` is read
UNTIL = datetime(2026, 11, 4, 12, tzinfo=UTC)  # Nov 4 starts before `until`: read (404: not generated yet)
USERS = ["OctoCat", "hubot"]
REPORT = f"/orgs/{ORG}/copilot/metrics/reports/users-1-day"
CREDITS = f"/organizations/{ORG}/settings/billing/ai_credit/usage"
SKU = "Copilot AI Credits"


def ts(day: int) -> datetime:
    return datetime(2026, 11, day, tzinfo=UTC)


def activity(login: str, user_id: int, *, accepted: int = 0, generated: int = 0, initiated: int = 0,
             suggested_add: int = 0, suggested_delete: int = 0, **more: Any) -> dict[str, Any]:
    return {"user_login": login, "user_id": str(user_id), "code_acceptance_activity_count": accepted,
            "code_generation_activity_count": generated, "user_initiated_interaction_count": initiated,
            "loc_suggested_to_add_sum": suggested_add, "loc_suggested_to_delete_sum": suggested_delete, **more}


def outcome(day: int, user_id: int, kind: str, count: int, extra: dict[str, Any]) -> OutcomeEvent:
    return OutcomeEvent(id=f"copilot-metrics:2026-11-{day:02d}:{user_id}:{kind}", ts=ts(day), type=kind, count=count,
                        tool="copilot", source="vendor_api", extra=extra)


def cli_event(day: int, user_id: int, login: str, input: int, output: int, **extra: Any) -> UsageEvent:
    return UsageEvent(id=f"copilot-metrics:2026-11-{day:02d}:{user_id}:cli", ts=ts(day), tool="copilot",
                      provider=None, model=None, input_tokens=input, output_tokens=output, source="vendor_api",
                      confidence="metered", rank=input + output,
                      extra={"user_login": login, "user_id": str(user_id), **extra})


def credit_event(day: int, login: str, model: str, net: int, gross: int, **amounts: str) -> UsageEvent:
    return UsageEvent(id=f"copilot-credits:2026-11-{day:02d}:user={login}:Copilot:{SKU}:{model}", ts=ts(day),
                      tool="copilot", provider=None, model=model, reported_cost_micros=net, source="vendor_api",
                      confidence="billed", rank=gross,
                      extra={"user_login": login, "organization": ORG, "product": "Copilot", "sku": SKU,
                             "unit_type": "ai-credits", "price_per_unit": "0.01", **amounts})


def cost(day: int, model: str, micros: int) -> VendorCost:
    return VendorCost(id=f"copilot-credits:2026-11-{day:02d}:org={ORG}:Copilot:{SKU}:{model}", vendor="github",
                      day=date(2026, 11, day), starting_at=ts(day), ending_at=ts(day) + timedelta(days=1),
                      amount_micros=micros, scope=ORG, item=SKU, model=model)


def amounts(gq: str, ga: str, dq: str, da: str, nq: str, na: str) -> dict[str, str]:
    return {"gross_quantity": gq, "gross_amount": ga, "discount_quantity": dq, "discount_amount": da,
            "net_quantity": nq, "net_amount": na}


OCTO_NOV1 = activity("OctoCat", 1, accepted=3, generated=4, initiated=2, suggested_add=34, suggested_delete=6,
                     ai_credits_used="12.5")
OCTO_NOV2 = activity("OctoCat", 1, accepted=1)
HUBOT_NOV2 = activity("hubot", 2)

EXPECTED = VendorBatch(
    events=[
        cli_event(1, 1, "OctoCat", 3800, 5000, prompt_count=2, request_count=2, session_count=1,
                  avg_tokens_per_request="4400.0"),
        cli_event(1, 3, "mona", 900, 100, prompt_count=1, request_count=3, session_count=1),
        # netAmount $1.2 of a gross $4.2: exact micro-USD, the gross is the rank (a filling day grows).
        credit_event(1, "octocat", "claude-sonnet-4.5", 1_200_000, 4_200_000,
                     **amounts("420", "4.2", "300", "3", "120", "1.2")),
        credit_event(1, "hubot", "claude-sonnet-4.5", 1_000_000, 1_000_000,
                     **amounts("100", "1", "0", "0", "100", "1")),
        credit_event(1, "hubot", "gpt-5", 0, 800_000, **amounts("80", "0.8", "80", "0.8", "0", "0")),
        credit_event(2, "octocat", "claude-sonnet-4.5", 333_333, 333_333,
                     **amounts("33.3333", "0.333333", "0", "0", "33.3333", "0.333333")),
    ],
    costs=[cost(1, "claude-sonnet-4.5", 2_200_000), cost(1, "gpt-5", 0), cost(2, "claude-sonnet-4.5", 333_333)],
    outcomes=[
        outcome(1, 1, "lines_added", 32, OCTO_NOV1), outcome(1, 1, "lines_removed", 6, OCTO_NOV1),
        outcome(1, 1, "edit_accepted", 3, OCTO_NOV1),
        # hubot's Nov 1 line (only generated, nothing accepted or landed) and mona's (CLI only): no outcomes.
        outcome(2, 1, "lines_added", 10, OCTO_NOV2), outcome(2, 1, "edit_accepted", 1, OCTO_NOV2),
        outcome(2, 2, "lines_removed", 4, HUBOT_NOV2),
    ],
)

DOWNLOADS = ["/signed/2026-11-01/1.ndjson", "/signed/2026-11-01/2.ndjson", "/signed/2026-11-02/1.ndjson",
             "/signed/2026-11-02/2.ndjson", "/signed/2026-11-02/3.ndjson"]
EXPECTED_PATHS = [REPORT, *DOWNLOADS[:2], REPORT, *DOWNLOADS[2:], REPORT, REPORT, f"/orgs/{ORG}",
                  *[CREDITS] * 12]


@pytest.fixture
def client(github: FakeGitHub, sleeps: list[float]):
    return copilot_client(GITHUB_TOKEN, github.url, sleep=sleeps.append)


def test_sync_reads_every_report_file_and_maps_them_exactly(client, github: FakeGitHub, sleeps) -> None:
    batch = sync_copilot(client, SINCE, UNTIL, org=ORG, users=USERS)
    assert batch.events == EXPECTED.events
    assert batch.outcomes == EXPECTED.outcomes
    assert batch.costs == EXPECTED.costs
    assert sleeps == []
    # Nov 3 answered 204 (no report) and Nov 4 404 (not generated yet, the org exists): both skipped.
    assert github.paths() == EXPECTED_PATHS
    report_days = [q["day"] for p, q, _ in github.requests if p == REPORT]
    assert report_days == ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
    credit_queries = [q for p, q, _ in github.requests if p == CREDITS]
    assert credit_queries[:3] == [{"year": "2026", "month": "11", "day": "1"},
                                  {"year": "2026", "month": "11", "day": "1", "user": "OctoCat"},
                                  {"year": "2026", "month": "11", "day": "1", "user": "hubot"}]
    assert [q["day"] for q in credit_queries] == [str(d) for d in (1, 2, 3, 4) for _ in range(3)]


def test_api_requests_carry_the_token_and_downloads_never_do(client, github: FakeGitHub) -> None:
    sync_copilot(client, SINCE, UNTIL, org=ORG, users=USERS)
    for path, _, headers in github.requests:
        if path.startswith("/signed/"):
            assert "authorization" not in headers and "x-github-api-version" not in headers
            assert GITHUB_TOKEN not in str(headers)
            continue
        assert headers["authorization"] == f"Bearer {GITHUB_TOKEN}"
        assert headers["accept"] == "application/vnd.github+json"
        assert headers["x-github-api-version"] == ("2026-03-10" if path == REPORT else "2022-11-28")
    assert sum(p.startswith("/signed/") for p in github.paths()) == 5


def test_429_and_500_are_retried_honouring_retry_after(client, github: FakeGitHub, sleeps) -> None:
    github.fail(REPORT, "429")
    github.fail(DOWNLOADS[3], "500")
    github.fail(CREDITS, "500")
    assert sync_copilot(client, SINCE, UNTIL, org=ORG, users=USERS) == EXPECTED
    assert sleeps == [2.0, 1.0, 1.0]  # Retry-After: 2 for the 429; backoff for each 500


def test_a_download_that_keeps_failing_names_the_day_and_file_not_the_link(github: FakeGitHub, sleeps) -> None:
    client = copilot_client(GITHUB_TOKEN, github.url, sleep=sleeps.append, max_attempts=3)
    github.fail(DOWNLOADS[1], "500", times=3)
    with pytest.raises(VendorPageError) as caught:
        sync_copilot(client, SINCE, UNTIL, org=ORG)
    assert str(caught.value) == ("GitHub report file 2 of the users-1-day report for 2026-11-01 could not be "
                                 "downloaded: the storage host answered HTTP 500")
    assert caught.value.status == 500 and caught.value.page == 2
    assert sleeps == [1.0, 2.0]


def test_a_bad_ndjson_line_names_the_day_file_and_line(client, github: FakeGitHub) -> None:
    github.fail(DOWNLOADS[3], "bad_line")
    with pytest.raises(VendorPageError) as caught:
        sync_copilot(client, SINCE, UNTIL, org=ORG)
    assert str(caught.value) == ("GitHub returned a malformed users-1-day report for 2026-11-02: file 2, line 2 "
                                 "is not a JSON object (the report files are NDJSON)")


def test_a_line_in_a_bad_shape_names_the_day_file_and_line(client, github: FakeGitHub) -> None:
    github.reports["2026-11-02"] = [[], [{"day": "2026-11-02", "user_id": 5, "user_login": "x"},
                                         {"day": "2026-11-02", "user_login": "no-id"}]]
    with pytest.raises(VendorPageError) as caught:
        sync_copilot(client, SINCE, UNTIL, org=ORG)
    assert str(caught.value) == ("GitHub returned a malformed users-1-day report for 2026-11-02: file 2, line 2: "
                                 "`user_id` is required")


def test_a_malformed_envelope_is_an_error(client, github: FakeGitHub) -> None:
    github.fail(REPORT, "malformed")
    with pytest.raises(VendorPageError) as caught:
        sync_copilot(client, SINCE, UNTIL, org=ORG)
    assert str(caught.value) == f"GitHub returned a malformed page 1 for {REPORT}: not JSON"


def test_an_envelope_in_a_bad_shape_names_the_day(client, github: FakeGitHub) -> None:
    github.fail(REPORT, "bad_envelope")
    with pytest.raises(VendorPageError) as caught:
        sync_copilot(client, SINCE, UNTIL, org=ORG)
    assert str(caught.value) == (f"GitHub returned a malformed page 1 for {REPORT} (2026-11-01): "
                                 "`download_links`: expected `array`, got `str`")


def test_only_http_links_are_downloaded(client, github: FakeGitHub) -> None:
    for link in ("file:///etc/passwd", "ftp://host/file", "https:relative", 7):
        with pytest.raises(VendorPageError, match="download link 1 is not an http"):
            client.download(link, label="users-1-day report for 2026-11-01", file=1)
    assert github.requests == []


def test_an_expired_signed_link_is_not_blamed_on_the_token(client, github: FakeGitHub) -> None:
    unsigned = f"{github.url}/signed/2026-11-01/1.ndjson"  # the fake's storage refuses it (403)
    with pytest.raises(VendorPageError) as caught:
        client.download(unsigned, label="users-1-day report for 2026-11-01", file=1)
    assert str(caught.value) == ("GitHub report file 1 of the users-1-day report for 2026-11-01 could not be "
                                 "downloaded: the signed link was refused (HTTP 403; it may have expired: sync again)")
    assert "authorization" not in github.requests[0][2]


def test_an_expired_token_gives_a_clear_error_without_the_token(github: FakeGitHub, sleeps) -> None:
    expired = "ghp_expired9876543210zyxwvuZYXWVU"
    client = copilot_client(expired, github.url, sleep=sleeps.append)
    with pytest.raises(VendorAuthError) as caught:
        sync_copilot(client, SINCE, UNTIL, org=ORG)
    message = str(caught.value)
    assert message.startswith("GitHub refused the admin key (HTTP 401)")
    assert expired not in message and expired not in repr(client) and expired not in repr(caught.value)
    assert sleeps == [] and len(github.requests) == 1


def test_a_404_for_an_unknown_organization_is_an_error(client, github: FakeGitHub) -> None:
    with pytest.raises(VendorError) as caught:
        sync_copilot(client, SINCE, UNTIL, org="no-such-org")
    assert str(caught.value) == "GitHub has no organization 'no-such-org' (HTTP 404), or the token cannot see it"
    assert caught.value.status == 404
    assert github.paths() == ["/orgs/no-such-org/copilot/metrics/reports/users-1-day", "/orgs/no-such-org"]


def test_no_billing_is_asked_before_ai_credits_began(client, github: FakeGitHub) -> None:
    batch = sync_copilot(client, datetime(2026, 5, 31, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC), org=ORG)
    assert batch == VendorBatch()
    credit_days = [q["day"] for p, q, _ in github.requests if p == CREDITS]
    assert credit_days == ["1"]  # May 31 is before usage-based billing


def test_syncing_twice_into_the_store_adds_nothing(client, store) -> None:
    batch = sync_copilot(client, SINCE, UNTIL, org=ORG, users=USERS)
    first = store.write_batch(batch.events, batch.outcomes)
    assert (first.new, first.updated, first.unchanged, first.outcomes_new) == (6, 0, 0, 6)
    again = sync_copilot(client, SINCE, UNTIL, org=ORG, users=USERS)
    second = store.write_batch(again.events, again.outcomes)
    assert (second.new, second.updated, second.unchanged, second.outcomes_new) == (0, 0, 6, 0)


def test_the_mappings_are_pure_functions() -> None:
    events, outcomes = metrics_records([{"day": "2026-11-05", "user_id": 42, "user_login": "Mona",
                                         "loc_added_sum": 3, "unknown": [1, 2],
                                         "totals_by_cli": {"token_usage": {"prompt_tokens_sum": 5}}}])
    assert [(o.id, o.type, o.count) for o in outcomes] == [("copilot-metrics:2026-11-05:42:lines_added",
                                                             "lines_added", 3)]
    assert [(e.id, e.input_tokens, e.output_tokens, e.rank) for e in events] == [
        ("copilot-metrics:2026-11-05:42:cli", 5, 0, 5)]
    page = {"timePeriod": {"year": 2026, "month": 11, "day": 5}, "organization": ORG, "usageItems": [
        {"product": "Copilot", "sku": SKU, "model": "gpt-5", "netAmount": "0.0000015"},
        {"product": "Copilot", "sku": SKU, "model": "gpt-5", "netAmount": 2, "user": "Mona"},
        {"product": "Copilot", "sku": SKU, "model": "gpt-5", "netAmount": 3, "user": "mona"}]}
    credit_events, costs = billing_records(page, org=ORG, day=date(2026, 11, 5))
    assert [(c.id, c.amount_micros) for c in costs] == [
        (f"copilot-credits:2026-11-05:org={ORG}:Copilot:{SKU}:gpt-5", 2)]  # half to even
    key = f"copilot-credits:2026-11-05:user=mona:Copilot:{SKU}:gpt-5"
    assert [(e.id, e.reported_cost_micros) for e in credit_events] == [(key, 2_000_000), (f"{key}~2", 3_000_000)]


@pytest.mark.parametrize(("page", "why"), [
    ({"timePeriod": {"year": 2026, "month": 11, "day": 6}, "usageItems": []}, "is not the day asked for"),
    ({"usageItems": [{"product": "Copilot", "netAmount": "NaN"}]}, "not a finite amount"),
    ({"usageItems": [{"product": "Copilot"}]}, "`usageItems\\[0\\].netAmount` is required"),
])
def test_a_billing_answer_in_a_bad_shape_is_rejected(page: dict[str, Any], why: str) -> None:
    with pytest.raises(VendorDataError, match=why):
        billing_records(page, org=ORG, day=date(2026, 11, 5))


def test_identities_most_specific_first() -> None:
    assert identities(EXPECTED.events[0]) == ["github-login:octocat", "github-user:1"]
    assert identities(EXPECTED.outcomes[-1]) == ["github-login:hubot", "github-user:2"]
    assert identities(EXPECTED.events[2]) == ["github-login:octocat"]
    assert identities({"user_id": 9}) == ["github-user:9"]
    assert identities({}) == []
