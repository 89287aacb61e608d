"""The template sending primitive shared by the composer, the API and broadcasts."""

import pytest

from conftest import api_client
from devtools.fakes.graph import PHONE_NUMBER_ID, RECIPIENT, VALID_TOKEN, WABA_ID
from messaging import services
from messaging.models import MessageRecord, MessageTemplate
from whatsapp import graph

pytestmark = pytest.mark.django_db


@pytest.fixture
def configured(team, fake_graph):
    response = api_client(team.owner).put(
        "/api/settings/whatsapp-meta",
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
            "access_token": VALID_TOKEN,
        },
        format="json",
    )
    assert response.status_code == 200
    fake_graph.add_template("sunday_service", body="Hi {{1}}, service at {{2}}. Welcome!")
    fake_graph.add_template("welcome", body="Hello {{first_name}}, welcome to {{church}}!")
    fake_graph.add_template("office_closed", body="The office is closed today.")
    services.template_sync(organization=team.org)
    fake_graph.requests.clear()
    return team


def template(org, name):
    return MessageTemplate.objects.get(organization=org, name=name)


def send(team, name="sunday_service", variables=("Maria", "10 am"), **kwargs):
    return services.template_message_send(
        organization=team.org,
        template=template(team.org, name),
        variables=list(variables) if isinstance(variables, tuple) else variables,
        to=RECIPIENT,
        user=team.member,
        **kwargs,
    )


def test_it_sends_and_records_a_template(configured, fake_graph):
    record = send(configured)

    assert record.ok and record.status == "accepted" and record.message_id.startswith("wamid.")
    assert (record.template_name, record.template_language) == ("sunday_service", "en_US")
    assert record.template_variables == ["Maria", "10 am"]
    assert record.text == "Hi Maria, service at 10 am. Welcome!"
    assert record.to == RECIPIENT and record.user == configured.member
    assert fake_graph.sent[0]["template"]["name"] == "sunday_service"


def test_it_sends_named_values_given_by_name_or_in_order(configured, fake_graph):
    send(configured, "welcome", {"church": "Grace", "first_name": "Ana"})
    send(configured, "welcome", ["Ana", "Grace"])
    for sent in fake_graph.sent:
        parameters = sent["template"]["components"][0]["parameters"]
        assert [(p["parameter_name"], p["text"]) for p in parameters] == [
            ("first_name", "Ana"),
            ("church", "Grace"),
        ]


def test_it_sends_a_template_without_variables(configured, fake_graph):
    assert send(configured, "office_closed", None).ok


@pytest.mark.parametrize(
    "name, variables, code",
    [
        ("sunday_service", ["Maria"], "template_parameter_count"),
        ("sunday_service", {"1": "Maria", "2": "x"}, "template_parameter_count"),
        ("sunday_service", ["Maria", "   "], "invalid_input"),
        ("sunday_service", ["Maria", "two\nlines"], "template_parameter_format"),
        ("sunday_service", ["Maria", "five     spaces"], "template_parameter_format"),
        ("sunday_service", ["Maria", "x" * 1025], "template_parameter_format"),
        ("sunday_service", ["Maria", 5], "invalid_input"),
        ("welcome", {"first_name": "Ana"}, "template_parameter_count"),
        ("welcome", {"first_name": "Ana", "church": "G", "extra": "x"}, "template_parameter_count"),
    ],
)
def test_it_refuses_values_that_break_metas_rules_before_calling_meta(
    configured, fake_graph, name, variables, code
):
    with pytest.raises(services.ServiceError) as caught:
        send(configured, name, variables)
    assert caught.value.code == code and caught.value.field == "variables"
    assert not fake_graph.requests and not MessageRecord.objects.exists()


def test_it_refuses_a_template_that_is_not_approved(configured, fake_graph):
    MessageTemplate.objects.filter(name="sunday_service").update(status="PAUSED")
    with pytest.raises(services.ServiceError) as caught:
        send(configured)
    assert caught.value.code == "template_not_approved"
    assert not fake_graph.requests


def test_it_refuses_another_organizations_template(configured, fake_graph):
    with pytest.raises(services.ServiceError):
        services.template_message_send(
            organization=configured.other_org,
            template=template(configured.org, "sunday_service"),
            variables=["a", "b"],
            to=RECIPIENT,
        )
    assert not fake_graph.requests


@pytest.mark.parametrize(
    "break_it, code, scope",
    [
        (lambda f: f.templates[WABA_ID].clear(), "template_not_found", graph.SCOPE_TEMPLATE),
        (
            lambda f: f.find_template("sunday_service", "en_US")["components"][0].update(
                text="Hi {{1}}, at {{2}} in {{3}}."
            ),
            "template_parameter_count",
            graph.SCOPE_TEMPLATE,
        ),
        (lambda f: f.scenario("send", "throughput_limit"), "throughput_limited", "rate_limit"),
        (lambda f: f.scenario("send", "undeliverable"), "undeliverable", "recipient"),
    ],
)
def test_it_records_metas_refusal_with_whom_it_concerns(
    configured, fake_graph, break_it, code, scope
):
    break_it(fake_graph)

    with pytest.raises(services.TemplateSendFailed) as caught:
        send(configured)

    assert caught.value.code == code and caught.value.graph_error.scope == scope
    record = caught.value.record
    assert record.pk and not record.ok and record.status == "rejected"
    assert record.error_code == code and record.template_name == "sunday_service"
