"""Templates: sync from Meta (paging, button, hourly task), webhooks, submission, the API."""

import pytest
from django.test import Client

from conftest import api_client
from devtools.fakes.graph import OTHER_WABA_ID, PHONE_NUMBER_ID, VALID_TOKEN, WABA_ID
from devtools.fakes.graph_templates import signed_webhook
from messaging import services, tasks
from messaging.models import MessageTemplate, TemplateSync
from organizations.models import AuditEvent
from whatsapp.models import WhatsAppConfig

pytestmark = pytest.mark.django_db

TEMPLATES = "/api/whatsapp/templates"
SYNC = "/api/whatsapp/templates/sync"
APP_SECRET = "5f4e3d2c1b0a99887766554433221100"


@pytest.fixture
def configured(team, fake_graph):
    """Grace Church has WhatsApp connected to the fake's WABA."""
    response = api_client(team.owner).put(
        "/api/settings/whatsapp-meta",
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
            "access_token": VALID_TOKEN,
            "app_secret": APP_SECRET,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    fake_graph.requests.clear()
    return team


def post_webhook(org, payload):
    config = WhatsAppConfig.objects.get(organization=org)
    body, headers = signed_webhook(payload, APP_SECRET)
    return Client().post(
        f"/webhooks/whatsapp/{config.webhook_id}/",
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=headers["X-Hub-Signature-256"],
    )


# --- sync ----------------------------------------------------------------------------------------


def test_it_syncs_every_page_of_templates_when_an_owner_asks(configured, fake_graph):
    fake_graph.max_template_page_size = 2
    for i in range(5):
        fake_graph.add_template(f"notice_{i}", body=f"Hello {{{{1}}}}, notice {i} for you.")
    fake_graph.add_template(
        "welcome", language="es", body="Hola {{first_name}}, bienvenido.", category="UTILITY"
    )

    response = api_client(configured.owner).post(SYNC)

    assert response.status_code == 202
    assert response.json() == {"status": "queued"}
    listed = fake_graph.requests_to("templates")
    assert len(listed) == 3  # 6 templates, 2 per page
    assert all(r.path == f"/v25.0/{WABA_ID}/message_templates" for r in listed)
    assert all(r.headers["Authorization"] == f"Bearer {VALID_TOKEN}" for r in listed)
    # The cursor of paging.next is followed; the token in it is not put into the query.
    assert "after" in listed[1].query and "access_token" not in listed[1].query
    assert listed[0].query["fields"] == [
        "id,name,language,status,category,components,parameter_format,quality_score,rejected_reason"
    ]
    stored = MessageTemplate.objects.filter(organization=configured.org)
    assert stored.count() == 6
    welcome = stored.get(name="welcome")
    assert (welcome.language, welcome.status, welcome.category) == ("es", "APPROVED", "UTILITY")
    assert welcome.parameter_format == "NAMED" and welcome.variables == ["first_name"]
    assert welcome.quality_score == "GREEN" and welcome.synced_at is not None
    state = TemplateSync.objects.get(organization=configured.org)
    assert state.ok and state.created == 6


def test_it_never_follows_paging_next_to_another_host(configured, fake_graph, monkeypatch):
    fake_graph.max_template_page_size = 1
    fake_graph.add_template("first_notice")
    fake_graph.add_template("second_notice")
    from devtools.fakes import graph_templates

    original = graph_templates.list_page

    def elsewhere(*args, **kwargs):
        kwargs["base_url"] = "http://203.0.113.9/v25.0/evil"
        return original(*args, **kwargs)

    monkeypatch.setattr(graph_templates, "list_page", elsewhere)

    services.template_sync(organization=configured.org)

    assert MessageTemplate.objects.filter(organization=configured.org).count() == 2
    assert all(
        r.path == f"/v25.0/{WABA_ID}/message_templates" for r in fake_graph.requests_to("templates")
    )


def test_it_updates_and_removes_templates_on_the_next_sync(configured, fake_graph):
    fake_graph.add_template("keep_me")
    fake_graph.add_template("drop_me")
    services.template_sync(organization=configured.org)
    fake_graph.find_template("keep_me", "en_US")["status"] = "PAUSED"
    fake_graph.templates[WABA_ID] = [fake_graph.find_template("keep_me", "en_US")]

    state = services.template_sync(organization=configured.org)

    assert list(
        MessageTemplate.objects.filter(organization=configured.org).values_list("name", "status")
    ) == [("keep_me", "PAUSED")]
    assert (state.created, state.updated, state.removed) == (0, 1, 1)


def test_it_keeps_the_templates_when_meta_fails_and_records_why(configured, fake_graph):
    fake_graph.add_template("keep_me")
    services.template_sync(organization=configured.org)
    fake_graph.scenario("templates", "server_error")

    with pytest.raises(services.UpstreamFailed):
        services.template_sync(organization=configured.org)

    assert MessageTemplate.objects.filter(organization=configured.org).count() == 1
    state = TemplateSync.objects.get(organization=configured.org)
    assert state.ok is False and state.error_code == "provider_error"


def test_it_skips_templates_whose_fields_do_not_fit(configured, fake_graph):
    fake_graph.add_template("fine")
    fake_graph.templates[WABA_ID].append({"id": "12", "name": "Bad Name!", "language": "en"})
    fake_graph.templates[WABA_ID].append({"id": "13", "name": "x\x00", "language": "en"})

    services.template_sync(organization=configured.org)

    assert list(
        MessageTemplate.objects.filter(organization=configured.org).values_list("name", flat=True)
    ) == ["fine"]


def test_it_lets_only_owners_and_admins_sync(configured, fake_graph):
    assert api_client(configured.admin).post(SYNC).status_code == 202
    assert api_client(configured.member).post(SYNC).status_code == 403
    assert api_client(configured.outsider, configured.org).post(SYNC).status_code == 404
    assert api_client().post(SYNC).status_code == 401
    assert len(fake_graph.requests_to("templates")) == 1  # the admin's only
    assert AuditEvent.objects.filter(action="template.sync_requested").count() == 1


def test_it_answers_409_to_a_sync_without_whatsapp(team):
    response = api_client(team.owner).post(SYNC)
    assert response.status_code == 409
    assert response.json()["error_code"] == "not_configured"


def test_it_syncs_every_connected_organization_hourly_and_twice_is_harmless(configured, fake_graph):
    fake_graph.add_template("hourly_notice")
    fake_graph.add_template("other_church", waba_id=OTHER_WABA_ID)
    other = WhatsAppConfig.objects.get(organization=configured.org)
    other.pk = None
    other.organization = configured.other_org
    other.business_account_id = OTHER_WABA_ID
    other.webhook_id = "another-webhook-id"
    other.save()

    tasks.sync_all_templates.call_local()
    tasks.sync_all_templates.call_local()

    assert list(
        MessageTemplate.objects.filter(organization=configured.org).values_list("name", flat=True)
    ) == ["hourly_notice"]
    assert list(
        MessageTemplate.objects.filter(organization=configured.other_org).values_list(
            "name", flat=True
        )
    ) == ["other_church"]


# --- the list ------------------------------------------------------------------------------------


def test_it_lists_the_templates_to_any_member_and_to_no_outsider(configured, fake_graph):
    fake_graph.add_template("sunday_service", body="Hi {{1}}, service at {{2}}. Welcome!")
    fake_graph.add_template("welcome", body="Hello {{first_name}}, welcome to {{church}}!")
    services.template_sync(organization=configured.org)

    for user in (configured.owner, configured.admin, configured.member):
        response = api_client(user).get(TEMPLATES)
        assert response.status_code == 200
        body = response.json()
        assert [t["name"] for t in body] == ["sunday_service", "welcome"]
        assert set(body[0]) == {"id", "name", "language", "status", "category", "variables", "body"}
        assert body[0]["variables"] == ["1", "2"]
        assert body[1]["variables"] == ["first_name", "church"]
        assert body[0]["body"] == "Hi {{1}}, service at {{2}}. Welcome!"
    assert api_client(configured.outsider).get(TEMPLATES).json() == []
    assert api_client(configured.outsider, configured.org).get(TEMPLATES).status_code == 404


# --- webhooks ------------------------------------------------------------------------------------


def test_it_applies_template_webhooks(configured, fake_graph):
    fake_graph.add_template("event_invite", status="PENDING")
    services.template_sync(organization=configured.org)
    template = MessageTemplate.objects.get(organization=configured.org)

    assert (
        post_webhook(
            configured.org, fake_graph.set_template_status("event_invite", "en_US", "APPROVED")
        ).status_code
        == 200
    )
    template.refresh_from_db()
    assert template.status == "APPROVED"

    post_webhook(configured.org, fake_graph.set_template_quality("event_invite", "en_US", "RED"))
    post_webhook(
        configured.org, fake_graph.set_template_category("event_invite", "en_US", "UTILITY")
    )
    template.refresh_from_db()
    assert (template.quality_score, template.category) == ("RED", "UTILITY")

    payload = fake_graph.set_template_status("event_invite", "en_US", "REJECTED", "PROMOTIONAL")
    post_webhook(configured.org, payload)
    post_webhook(configured.org, payload)  # Meta retries: applying it twice changes nothing
    template.refresh_from_db()
    assert (template.status, template.rejected_reason) == ("REJECTED", "PROMOTIONAL")

    post_webhook(configured.org, fake_graph.set_template_status("event_invite", "en_US", "DELETED"))
    assert not MessageTemplate.objects.filter(organization=configured.org).exists()


def test_it_syncs_when_a_webhook_names_a_template_it_does_not_know(
    configured, fake_graph, django_capture_on_commit_callbacks
):
    fake_graph.add_template("made_in_meta", status="PENDING")
    payload = fake_graph.set_template_status("made_in_meta", "en_US", "APPROVED")

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(configured.org, payload)

    assert MessageTemplate.objects.get(organization=configured.org).status == "APPROVED"


def test_it_ignores_template_webhooks_that_do_not_fit(configured, fake_graph):
    fake_graph.add_template("notice")
    services.template_sync(organization=configured.org)
    payload = fake_graph.set_template_status("notice", "en_US", "PAUSED")
    value = payload["entry"][0]["changes"][0]["value"]
    for bad in ({"event": "paused; drop"}, {"message_template_id": "../1"}, {"event": None}):
        broken = {**value, **bad}
        payload["entry"][0]["changes"][0]["value"] = broken
        assert post_webhook(configured.org, payload).status_code == 200
    assert MessageTemplate.objects.get(organization=configured.org).status == "APPROVED"


def test_it_applies_a_webhook_only_to_its_own_organization(configured, fake_graph):
    fake_graph.add_template("notice")
    services.template_sync(organization=configured.org)
    MessageTemplate.objects.create(
        organization=configured.other_org,
        meta_id=fake_graph.find_template("notice", "en_US")["id"],
        name="notice",
        language="en_US",
        status="APPROVED",
    )

    post_webhook(configured.org, fake_graph.set_template_status("notice", "en_US", "DISABLED"))

    assert MessageTemplate.objects.get(organization=configured.other_org).status == "APPROVED"
    assert MessageTemplate.objects.get(organization=configured.org).status == "DISABLED"


# --- submitting ----------------------------------------------------------------------------------

NEW = {
    "name": "prayer_meeting",
    "language": "en_US",
    "category": "MARKETING",
    "body": "Hello {{1}}, join our prayer meeting on {{2}} at the church hall. God bless!",
    "examples": ["Maria", "Wednesday"],
}


def test_it_submits_a_template_built_from_a_body(configured, fake_graph):
    response = api_client(configured.admin).post(TEMPLATES, NEW, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "PENDING" and body["variables"] == ["1", "2"]
    [request] = fake_graph.requests_to("template_create")
    assert request.path == f"/v25.0/{WABA_ID}/message_templates"
    assert request.json == {
        "name": "prayer_meeting",
        "language": "en_US",
        "category": "MARKETING",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "BODY",
                "text": NEW["body"],
                "example": {"body_text": [["Maria", "Wednesday"]]},
            }
        ],
    }
    stored = MessageTemplate.objects.get(organization=configured.org, name="prayer_meeting")
    assert stored.status == "PENDING" and stored.meta_id
    assert AuditEvent.objects.filter(action="template.submitted").count() == 1


def test_it_submits_named_variables_with_their_examples(configured, fake_graph):
    response = api_client(configured.owner).post(
        TEMPLATES,
        {
            "name": "welcome_named",
            "language": "es",
            "category": "utility",
            "body": "Hola {{first_name}}, tu cita es el {{date}}. Gracias.",
            "examples": {"first_name": "Ana", "date": "lunes"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    sent = fake_graph.requests_to("template_create")[0].json
    assert sent["parameter_format"] == "NAMED" and sent["category"] == "UTILITY"
    assert sent["components"][0]["example"] == {
        "body_text_named_params": [
            {"param_name": "first_name", "example": "Ana"},
            {"param_name": "date", "example": "lunes"},
        ]
    }


def test_it_accepts_metas_own_components(configured, fake_graph):
    components = [
        {"type": "HEADER", "format": "TEXT", "text": "Christmas"},
        {"type": "BODY", "text": "Join us on Christmas Eve at 7 pm."},
        {"type": "FOOTER", "text": "Grace Church"},
    ]
    response = api_client(configured.owner).post(
        TEMPLATES,
        {
            "name": "christmas",
            "language": "en_US",
            "category": "MARKETING",
            "components": components,
            "parameter_format": "POSITIONAL",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert fake_graph.requests_to("template_create")[0].json["components"] == components


@pytest.mark.parametrize(
    "change, field, code",
    [
        (
            {"body": "{{1}} is invited to our service on {{2}}."},
            "body",
            "template_variable_at_edge",
        ),
        ({"body": "You are invited on {{1}}"}, "body", "template_variable_at_edge"),
        ({"body": "x" * 1025}, "body", "invalid_input"),
        ({"body": "Hi {{1}} and {{3}} today."}, "body", "invalid_input"),
        ({"body": "Hi {{1}} and {{name}} today."}, "body", "invalid_input"),
        ({"body": "Hi {{ bad-var }} today."}, "body", "invalid_input"),
        ({"examples": ["only one"]}, "examples", "invalid_input"),
        ({"examples": None}, "examples", "invalid_input"),
        ({"examples": ["Maria", "Line\nbreak"]}, "examples", "invalid_input"),
        ({"name": "Prayer Meeting"}, "name", "invalid_input"),
        ({"language": "english"}, "language", "invalid_input"),
        ({"category": "PROMO"}, "category", "invalid_input"),
        ({"category": "AUTHENTICATION"}, "category", "invalid_input"),
        ({"body": "Hi\x00 there {{1}} and {{2}} ok"}, "body", "invalid_input"),
        ({"body": 42}, "body", "invalid_input"),
        ({"components": "not a list"}, "components", "invalid_input"),
    ],
)
def test_it_refuses_a_template_against_metas_rules_before_calling_meta(
    configured, fake_graph, change, field, code
):
    payload = {**NEW, **change}
    payload = {k: v for k, v in payload.items() if v is not None}
    response = api_client(configured.owner).post(TEMPLATES, payload, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error_code"] == code
    assert field in response.json()["fields"]
    assert not fake_graph.requests_to("template_create")
    assert not MessageTemplate.objects.exists()


def test_it_passes_on_metas_classified_reason(configured, fake_graph):
    fake_graph.add_template("prayer_meeting")  # made at Meta, not synced yet

    response = api_client(configured.owner).post(TEMPLATES, NEW, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "template_exists" and "name" in body["fields"]
    assert "Already Exists" in body["meta_reason"]
    assert VALID_TOKEN not in response.content.decode()


def test_it_refuses_a_name_it_already_has_without_calling_meta(configured, fake_graph):
    assert api_client(configured.owner).post(TEMPLATES, NEW, format="json").status_code == 201
    response = api_client(configured.owner).post(TEMPLATES, NEW, format="json")
    assert response.status_code == 400 and response.json()["error_code"] == "template_exists"
    assert len(fake_graph.requests_to("template_create")) == 1


def test_it_reports_meta_failing_on_submission_as_502(configured, fake_graph):
    fake_graph.scenario("template_create", "hang")
    fake_graph.delay = 0
    response = api_client(configured.owner).post(TEMPLATES, NEW, format="json")
    assert response.status_code == 502 and response.json()["error_code"] == "timeout"
    assert not MessageTemplate.objects.exists()


def test_it_lets_only_owners_and_admins_submit(configured, fake_graph):
    assert api_client(configured.member).post(TEMPLATES, NEW, format="json").status_code == 403
    response = api_client(configured.outsider, configured.org).post(TEMPLATES, NEW, format="json")
    assert response.status_code == 404
    assert not fake_graph.requests_to("template_create")


# --- through the real consumer -------------------------------------------------------------------


def test_it_syncs_through_a_real_consumer(configured, fake_graph, huey_consumer):
    fake_graph.add_template("consumer_notice")

    assert api_client(configured.owner).post(SYNC).status_code == 202
    huey_consumer.wait_idle()
    tasks.sync_all_templates()  # the hourly run fans out one task per organization
    huey_consumer.wait_idle()

    assert huey_consumer.errors() == []
    assert huey_consumer.completed("sync_templates") == 2
    assert list(
        MessageTemplate.objects.filter(organization=configured.org).values_list("name", flat=True)
    ) == ["consumer_notice"]
    assert len(fake_graph.requests_to("templates")) == 2
