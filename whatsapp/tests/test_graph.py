import logging
import socket
import time
import traceback

import pytest

from devtools.fakes.graph import (
    EXPIRED_TOKEN,
    INVALID_TOKEN,
    NO_PERMISSION_TOKEN,
    OTHER_PHONE_NUMBER_ID,
    OTHER_WABA_ID,
    PHONE_NUMBER_ID,
    RECIPIENT,
    VALID_TOKEN,
    WABA_ID,
    phone_number,
)
from whatsapp import graph
from whatsapp.graph import GRAPH_ERROR_CODES, GRAPH_ERROR_MESSAGES, GraphError, PhoneNumberInfo

ALL_TOKENS = (VALID_TOKEN, EXPIRED_TOKEN, INVALID_TOKEN, NO_PERMISSION_TOKEN)


def verify(token=VALID_TOKEN, phone_number_id=PHONE_NUMBER_ID, business_account_id=WABA_ID):
    return graph.verify_credentials(
        phone_number_id=phone_number_id,
        business_account_id=business_account_id,
        access_token=token,
    )


def send(token=VALID_TOKEN, to=RECIPIENT, body="Service starts at 10am this Sunday."):
    return graph.send_text(phone_number_id=PHONE_NUMBER_ID, access_token=token, to=to, body=body)


def verify_error(**kwargs) -> GraphError:
    with pytest.raises(GraphError) as caught:
        verify(**kwargs)
    return caught.value


def send_error(**kwargs) -> GraphError:
    with pytest.raises(GraphError) as caught:
        send(**kwargs)
    return caught.value


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v25.0"


# -- the error table --------------------------------------------------------------------------


def test_it_has_a_message_for_every_error_code():
    assert set(GRAPH_ERROR_MESSAGES) == set(GRAPH_ERROR_CODES)
    assert all(message.strip() for message in GRAPH_ERROR_MESSAGES.values())


@pytest.mark.parametrize(
    ("code", "subcode", "expected"),
    [
        (190, None, "invalid_token"),
        (190, 463, "token_expired"),
        (190, 460, "token_expired"),
        (190, 467, "invalid_token"),
        (100, 33, "not_found"),
        (100, None, "not_found"),
        (10, None, "permission_denied"),
        (200, None, "permission_denied"),
        (299, None, "permission_denied"),
        (4, None, "rate_limited"),
        (80007, None, "rate_limited"),
        (130429, None, "throughput_limited"),
        (131048, None, "spam_limited"),
        (131056, None, "pair_rate_limited"),
        (131030, None, "recipient_not_allowed"),
        (131047, None, "outside_window"),
        (131026, None, "undeliverable"),
        (131021, None, "invalid_recipient"),
        (1, 99, "provider_error"),
        (None, None, "provider_error"),
    ],
)
def test_it_classifies_graph_error_codes(code, subcode, expected):
    assert graph._classify(code, subcode) == expected


# -- verify_credentials -----------------------------------------------------------------------


def test_it_verifies_good_credentials(fake_graph):
    info = verify()

    assert info == PhoneNumberInfo(
        display_phone_number="+1 555-096-7852", verified_name="Test Number", quality_rating="GREEN"
    )
    [number_request] = fake_graph.requests_to("phone")
    assert number_request.method == "GET"
    assert number_request.path == f"/v25.0/{PHONE_NUMBER_ID}"
    assert number_request.query["fields"] == ["display_phone_number,verified_name,quality_rating"]
    [list_request] = fake_graph.requests_to("phone_numbers")
    assert list_request.path == f"/v25.0/{WABA_ID}/phone_numbers"
    assert list_request.query["limit"] == ["100"]


def test_it_sends_the_given_token_upstream(fake_graph):
    other_token = "EAAG" + "x7Kq2" * 35 + "Zr9w"
    fake_graph.tokens[other_token] = "valid"

    verify(token=other_token)
    send(token=other_token)

    assert len(fake_graph.requests) == 3
    for request in fake_graph.requests:
        assert request.headers["Authorization"] == f"Bearer {other_token}"


def test_it_reads_the_base_url_at_call_time(fake_graph, settings):
    settings.WHATSAPP_GRAPH_BASE_URL = fake_graph.url + "/v99.0/"

    verify()

    assert {r.path.split("/")[1] for r in fake_graph.requests} == {"v99.0"}


def test_it_rejects_a_phone_number_from_another_account(fake_graph):
    error = verify_error(business_account_id=OTHER_WABA_ID)

    assert error.error_code == "phone_not_in_account"
    assert error.field == "business_account_id"
    assert "does not belong" in error.message


def test_it_accepts_the_other_pair(fake_graph):
    info = verify(phone_number_id=OTHER_PHONE_NUMBER_ID, business_account_id=OTHER_WABA_ID)
    assert info.verified_name == "Grace Chapel"
    assert info.quality_rating == "YELLOW"


def test_it_finds_the_number_on_a_later_page_without_following_next(fake_graph):
    fake_graph.max_page_size = 1
    fake_graph.accounts[WABA_ID] = [
        phone_number("111111111111111"),
        phone_number("222222222222222"),
        phone_number(PHONE_NUMBER_ID),
    ]

    verify()  # following `paging.next` would hit 203.0.113.9 and fail

    pages = fake_graph.requests_to("phone_numbers")
    assert len(pages) == 3
    assert "after" not in pages[0].query
    assert all("after" in page.query for page in pages[1:])


def test_it_stops_at_the_last_page(fake_graph):
    fake_graph.max_page_size = 1
    fake_graph.accounts[WABA_ID] = [
        phone_number("111111111111111"),
        phone_number("222222222222222"),
    ]
    fake_graph.accounts[OTHER_WABA_ID].append(phone_number(PHONE_NUMBER_ID))

    assert verify_error().error_code == "phone_not_in_account"
    # The last page still carries `cursors.after`; no request is wasted on it.
    assert len(fake_graph.requests_to("phone_numbers")) == 2


def test_it_bounds_the_number_of_pages(fake_graph):
    fake_graph.max_page_size = 1
    fake_graph.accounts[WABA_ID] = [phone_number(str(10**14 + i)) for i in range(20)]
    fake_graph.accounts[WABA_ID].append(phone_number(PHONE_NUMBER_ID))

    assert verify_error().error_code == "phone_not_in_account"
    assert len(fake_graph.requests_to("phone_numbers")) == graph.MAX_PHONE_NUMBER_PAGES


@pytest.mark.parametrize("status", [400, 401])
def test_it_reports_a_bad_token_whatever_the_http_status(fake_graph, status):
    fake_graph.invalid_token_status = status

    error = verify_error(token=INVALID_TOKEN)

    assert (error.error_code, error.status, error.graph_code) == ("invalid_token", status, 190)
    assert len(fake_graph.requests) == 1  # nothing more is tried with a rejected token


@pytest.mark.parametrize("status", [400, 401])
def test_it_reports_an_expired_token(fake_graph, status):
    fake_graph.invalid_token_status = status

    error = verify_error(token=EXPIRED_TOKEN)

    assert (error.error_code, error.graph_code, error.graph_subcode) == ("token_expired", 190, 463)


def test_it_reports_an_unknown_phone_number_id(fake_graph):
    error = verify_error(phone_number_id="999999999999999")

    assert (error.error_code, error.status, error.graph_code) == ("not_found", 400, 100)
    assert error.graph_subcode == 33
    assert error.field == "phone_number_id"
    assert error.fbtrace_id


def test_it_reports_an_unknown_business_account_id(fake_graph):
    error = verify_error(business_account_id="999999999999999")

    assert error.error_code == "not_found"
    assert error.field == "business_account_id"


def test_it_reports_a_phone_number_id_given_as_the_business_account_id(fake_graph):
    error = verify_error(business_account_id=PHONE_NUMBER_ID)

    assert error.error_code == "not_found"
    assert error.field == "business_account_id"


def test_it_reports_a_token_without_permission(fake_graph):
    error = verify_error(token=NO_PERMISSION_TOKEN)

    assert (error.error_code, error.status, error.graph_code) == ("permission_denied", 403, 10)
    assert error.field is None


def test_it_reports_missing_permission_on_the_account(fake_graph):
    fake_graph.scenario("phone_numbers", "permission")

    assert verify_error().error_code == "permission_denied"


@pytest.mark.parametrize(
    ("scenario", "error_code", "graph_code"),
    [("rate_limit", "rate_limited", 4), ("throughput_limit", "throughput_limited", 130429)],
)
def test_it_reports_rate_limits(fake_graph, scenario, error_code, graph_code):
    fake_graph.scenario("phone", scenario)

    error = verify_error()

    assert (error.error_code, error.graph_code) == (error_code, graph_code)
    assert error.scope == "rate_limit"


@pytest.mark.parametrize(("scenario", "status"), [("server_error", 500), ("bad_gateway", 502)])
def test_it_reports_server_errors_as_provider_errors(fake_graph, scenario, status):
    fake_graph.scenario("phone", scenario)

    error = verify_error()

    assert (error.error_code, error.status) == ("provider_error", status)


@pytest.mark.parametrize("kind", ["phone", "phone_numbers"])
@pytest.mark.parametrize("scenario", ["garbage", "missing_fields"])
def test_it_reports_an_unusable_answer_as_invalid_response(fake_graph, kind, scenario):
    fake_graph.scenario(kind, scenario)

    assert verify_error().error_code == "invalid_response"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["phone", "phone_numbers"])
def test_it_times_out_within_the_bound(fake_graph, settings, kind):
    fake_graph.scenario(kind, "hang")

    started = time.monotonic()
    error = verify_error()
    elapsed = time.monotonic() - started

    assert error.error_code == "timeout"
    assert elapsed < settings.AI_PROVIDER_TIMEOUT + 1


@pytest.mark.slow
def test_it_bounds_the_whole_verification_not_each_request(fake_graph, settings):
    # Each request alone fits in the timeout; both together do not.
    fake_graph.delay = settings.AI_PROVIDER_TIMEOUT * 0.6

    started = time.monotonic()
    error = verify_error()
    elapsed = time.monotonic() - started

    assert error.error_code == "timeout"
    assert elapsed < settings.AI_PROVIDER_TIMEOUT + 0.5


def test_it_reports_a_refused_connection_as_unreachable(settings):
    settings.WHATSAPP_GRAPH_BASE_URL = closed_port_url()

    assert verify_error().error_code == "unreachable"


# -- send_text --------------------------------------------------------------------------------


def test_it_sends_a_text_message(fake_graph):
    message_id = send(body="Choir practice moved to 7pm.")

    [sent] = fake_graph.sent
    assert message_id == sent["id"]
    assert message_id.startswith("wamid.")
    [request] = fake_graph.requests
    assert request.method == "POST"
    assert request.path == f"/v25.0/{PHONE_NUMBER_ID}/messages"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": RECIPIENT,
        "type": "text",
        "text": {"preview_url": False, "body": "Choir practice moved to 7pm."},
    }


@pytest.mark.parametrize(
    ("scenario", "error_code", "graph_code"),
    [
        ("recipient_not_allowed", "recipient_not_allowed", 131030),
        ("outside_window", "outside_window", 131047),
        ("undeliverable", "undeliverable", 131026),
        ("throughput_limit", "throughput_limited", 130429),
        ("server_error", "provider_error", 1),
        ("permission", "permission_denied", 10),
    ],
)
def test_it_reports_send_errors(fake_graph, scenario, error_code, graph_code):
    fake_graph.scenario("send", scenario)

    error = send_error()

    assert (error.error_code, error.graph_code) == (error_code, graph_code)
    assert fake_graph.sent == []


@pytest.mark.parametrize("scenario", ["garbage", "missing_fields"])
def test_it_never_reports_as_sent_what_meta_did_not_accept(fake_graph, scenario):
    fake_graph.scenario("send", scenario)

    assert send_error().error_code == "invalid_response"


@pytest.mark.parametrize(
    ("token", "error_code"), [(INVALID_TOKEN, "invalid_token"), (EXPIRED_TOKEN, "token_expired")]
)
def test_it_reports_token_errors_on_send(fake_graph, token, error_code):
    assert send_error(token=token).error_code == error_code


def test_it_reports_an_unknown_sender_number(fake_graph):
    fake_graph.accounts[WABA_ID] = []

    error = send_error()

    assert (error.error_code, error.field) == ("not_found", "phone_number_id")


@pytest.mark.slow
def test_it_times_out_a_send_within_the_bound(fake_graph, settings):
    fake_graph.scenario("send", "hang")

    started = time.monotonic()
    error = send_error()

    assert error.error_code == "timeout"
    assert time.monotonic() - started < settings.AI_PROVIDER_TIMEOUT + 1


def test_it_reports_a_refused_connection_on_send(settings):
    settings.WHATSAPP_GRAPH_BASE_URL = closed_port_url()

    assert send_error().error_code == "unreachable"


# -- input checks -----------------------------------------------------------------------------

BAD_IDS = ["", "../me", "123/messages", "123?x=1", "1" * 21, "١٢٣٤٥", " 123", 277321005464405, None]


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_it_refuses_an_id_that_is_not_digits_before_any_request(fake_graph, bad_id):
    with pytest.raises(ValueError):
        verify(phone_number_id=bad_id)
    with pytest.raises(ValueError):
        verify(business_account_id=bad_id)
    with pytest.raises(ValueError):
        graph.send_text(phone_number_id=bad_id, access_token=VALID_TOKEN, to=RECIPIENT, body="hi")
    assert fake_graph.requests == []


@pytest.mark.parametrize(
    "to", ["+16505551234", "1650555", "1" * 16, "1650 555 1234", "", "١٦٥٠٥٥٥١٢٣٤"]
)
def test_it_refuses_a_bad_recipient_before_any_request(fake_graph, to):
    with pytest.raises(ValueError):
        send(to=to)
    assert fake_graph.requests == []


@pytest.mark.parametrize("body", ["", "   ", "x" * 4097, None])
def test_it_refuses_a_bad_body_before_any_request(fake_graph, body):
    with pytest.raises(ValueError):
        send(body=body)
    assert fake_graph.requests == []


@pytest.mark.parametrize("token", [VALID_TOKEN + "\r\nX-Evil: 1", VALID_TOKEN + " ", ""])
def test_it_refuses_a_malformed_token_without_echoing_it(fake_graph, token):
    with pytest.raises(ValueError) as caught:
        verify(token=token)
    assert VALID_TOKEN not in str(caught.value)
    assert fake_graph.requests == []


def test_it_reports_a_non_ascii_token_as_invalid_without_sending_it(fake_graph):
    error = verify_error(token=VALID_TOKEN[:-1] + "é")

    assert error.error_code == "invalid_token"
    assert fake_graph.requests == []


# -- secrecy ----------------------------------------------------------------------------------


def test_it_never_lets_a_token_into_errors_or_logs(fake_graph, settings, caplog):
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    errors: list[Exception] = []

    def collect(call, **kwargs):
        try:
            call(**kwargs)
        except (GraphError, ValueError) as exc:
            errors.append(exc)
        else:
            raise AssertionError(f"{call.__name__}({kwargs}) did not fail")

    for status in (400, 401):
        fake_graph.invalid_token_status = status
        for token in (INVALID_TOKEN, EXPIRED_TOKEN, NO_PERMISSION_TOKEN):
            collect(verify, token=token)
            collect(send, token=token)
    for scenario in ("rate_limit", "server_error", "bad_gateway", "garbage", "missing_fields"):
        fake_graph.scenario("phone", scenario)
        fake_graph.scenario("send", scenario)
        collect(verify)
        collect(send)
    fake_graph.scenario("phone", "ok")
    for scenario in ("recipient_not_allowed", "outside_window", "undeliverable"):
        fake_graph.scenario("send", scenario)
        collect(send)
    collect(verify, business_account_id=OTHER_WABA_ID)
    collect(verify, phone_number_id="999999999999999")
    collect(verify, token=VALID_TOKEN + "\nX: 1")
    settings.WHATSAPP_GRAPH_BASE_URL = closed_port_url()
    collect(verify)
    collect(send)

    assert len(errors) == 30
    assert caplog.records, "the failures should have been logged"
    for error in errors:
        text = "".join(traceback.format_exception(error)) + repr(error)
        assert_no_token_in(text + getattr(error, "message", ""))
    assert_no_token_in(caplog.text)


def assert_no_token_in(text: str) -> None:
    for token in ALL_TOKENS:
        assert token not in text
        assert token[4:] not in text


# -- values too long to be Meta's (they would not fit the columns that store them) -----------


def _serve_number(fake_graph, **fields):
    fake_graph.accounts[WABA_ID] = [phone_number(PHONE_NUMBER_ID, **fields)]


@pytest.mark.parametrize(
    "fields",
    [
        {"display_phone_number": "+1 " + "5" * 38},  # 41 characters
        {"verified_name": "N" * 201},
    ],
)
def test_it_reports_a_phone_number_field_too_long_to_store_as_invalid_response(fake_graph, fields):
    _serve_number(fake_graph, **fields)
    error = verify_error()
    assert error.error_code == "invalid_response"
    assert fake_graph.requests_to("phone_numbers") == []  # no use looking further


def test_it_accepts_phone_number_fields_of_the_longest_storable_length(fake_graph):
    _serve_number(fake_graph, display_phone_number="+" + "5" * 39, verified_name="N" * 200)
    info = verify()
    assert (len(info.display_phone_number), len(info.verified_name)) == (40, 200)


def test_it_leaves_out_a_quality_rating_too_long_to_store(fake_graph):
    _serve_number(fake_graph, quality_rating="G" * 21)
    assert verify().quality_rating is None


def test_it_reports_a_message_id_too_long_to_be_metas_as_invalid_response(fake_graph):
    fake_graph.next_message_id = "wamid." + "A" * 195  # 201 characters; Meta's are ~60
    assert send_error().error_code == "invalid_response"


def test_it_accepts_a_message_id_of_the_longest_storable_length(fake_graph):
    longest = "wamid." + "A" * 194  # 200 characters
    fake_graph.next_message_id = longest
    assert send() == longest
