import json

import pytest

from conftest import api_client
from messaging.models import ConsentRecord, ConsentSource, Contact, ContactGroup
from organizations.models import AuditEvent

pytestmark = pytest.mark.django_db

CONTACTS = "/api/contacts"
GROUPS = "/api/contact-groups"
UK = "+447911123456"
BR = "+5511987654321"
ES = "+34612345678"


def make_contact(org, phone=UK, name="Ana", **extra):
    return Contact.objects.create(organization=org, phone=phone, name=name, **extra)


@pytest.fixture
def youth(team):
    return ContactGroup.objects.create(organization=team.org, name="Youth")


def test_it_creates_a_contact_with_its_number_in_e164(team, youth):
    response = api_client(team.owner).post(
        CONTACTS,
        {
            "name": "Ana Souza",
            "phone": "+55 (11) 98765-4321",
            "language": "pt_BR",
            "groups": [youth.pk],
            "notes": "Sings alto.",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {
        "id": body["id"],
        "name": "Ana Souza",
        "phone": BR,
        "language": "pt_BR",
        "groups": [youth.pk],
        "opted_in_at": None,
        "opt_in_source": "",
        "opted_out_at": None,
        "opt_out_reason": "",
        "notes": "Sings alto.",
        "window_open_until": None,
    }
    assert Contact.objects.get().organization == team.org


def test_it_lets_an_admin_write_and_records_consent_given_through_the_api(team):
    response = api_client(team.admin).post(CONTACTS, {"phone": UK, "opted_in": True}, format="json")
    assert response.status_code == 201
    assert response.json()["opt_in_source"] == "api"
    assert response.json()["opted_in_at"] is not None
    record = ConsentRecord.objects.get()
    assert record.action == "opt_in" and record.actor == team.admin and record.phone == UK


def test_it_refuses_writes_to_a_member_without_rights(team, youth):
    contact = make_contact(team.org)
    member = api_client(team.member)
    assert member.post(CONTACTS, {"phone": BR}, format="json").status_code == 403
    assert member.patch(f"{CONTACTS}/{contact.pk}", {"name": "X"}, format="json").status_code == 403
    assert member.delete(f"{CONTACTS}/{contact.pk}").status_code == 403
    assert member.post(GROUPS, {"name": "Choir"}, format="json").status_code == 403
    assert member.patch(f"{GROUPS}/{youth.pk}", {"name": "Y"}, format="json").status_code == 403
    assert member.delete(f"{GROUPS}/{youth.pk}").status_code == 403
    assert member.post(f"{CONTACTS}/import", {}, format="multipart").status_code == 403
    assert Contact.objects.get().name == "Ana"
    assert ContactGroup.objects.get().name == "Youth"


def test_it_lets_any_member_read(team, youth):
    contact = make_contact(team.org)
    contact.groups.add(youth)
    member = api_client(team.member)
    listed = member.get(CONTACTS).json()
    assert listed["count"] == 1 and listed["results"][0]["groups"] == [youth.pk]
    assert member.get(f"{CONTACTS}/{contact.pk}").json()["phone"] == UK
    assert member.get(GROUPS).json() == [{"id": youth.pk, "name": "Youth"}]


def test_it_keeps_other_organizations_contacts_and_groups_out_of_reach(team, youth):
    contact = make_contact(team.org)
    outsider = api_client(team.outsider)
    assert outsider.get(CONTACTS).json()["count"] == 0
    assert outsider.get(GROUPS).json() == []
    assert outsider.get(f"{CONTACTS}/{contact.pk}").status_code == 404
    assert (
        outsider.patch(f"{CONTACTS}/{contact.pk}", {"name": "X"}, format="json").status_code == 404
    )
    assert outsider.delete(f"{CONTACTS}/{contact.pk}").status_code == 404
    assert outsider.patch(f"{GROUPS}/{youth.pk}", {"name": "X"}, format="json").status_code == 404
    assert outsider.delete(f"{GROUPS}/{youth.pk}").status_code == 404
    # Their own contact cannot be put into another organization's group either.
    response = outsider.post(CONTACTS, {"phone": BR, "groups": [youth.pk]}, format="json")
    assert response.status_code == 400 and "groups" in response.json()["fields"]
    assert outsider.get(CONTACTS, {"group": youth.pk}).status_code == 400
    # Naming the other organization in the header is refused as well.
    assert api_client(team.outsider, org=team.org).get(CONTACTS).status_code == 404
    assert Contact.objects.get().name == "Ana"
    assert ContactGroup.objects.filter(organization=team.org).count() == 1


def test_it_refuses_anonymous_requests(team):
    assert api_client().get(CONTACTS).status_code == 401


@pytest.mark.parametrize(
    "phone",
    ["12345", "+1 555 123 4567", "not a number", "", "+44 7911 123456 ext. 99999999999999999999"],
)
def test_it_answers_400_with_fields_phone_to_an_invalid_number(team, phone):
    response = api_client(team.owner).post(CONTACTS, {"phone": phone}, format="json")
    assert response.status_code == 400
    assert "phone" in response.json()["fields"]
    assert not Contact.objects.exists()


def test_it_reads_numbers_without_plus_in_the_default_country(team):
    owner = api_client(team.owner)
    response = owner.post(CONTACTS, {"phone": "07911 123456"}, format="json")
    assert response.status_code == 400
    assert "default country" in response.json()["fields"]["phone"][0]
    assert owner.get("/api/contact-settings").json() == {"default_region": ""}
    assert (
        api_client(team.member)
        .patch("/api/contact-settings", {"default_region": "GB"}, format="json")
        .status_code
        == 403
    )
    saved = owner.patch("/api/contact-settings", {"default_region": "GB"}, format="json")
    assert saved.json() == {"default_region": "GB"}
    response = owner.post(CONTACTS, {"phone": "07911 123456"}, format="json")
    assert response.status_code == 201 and response.json()["phone"] == UK
    # The other organization has its own setting.
    assert api_client(team.outsider).get("/api/contact-settings").json() == {"default_region": ""}
    bad = owner.patch("/api/contact-settings", {"default_region": "XX"}, format="json")
    assert bad.status_code == 400 and "default_region" in bad.json()["fields"]


def test_it_keeps_one_contact_per_number(team):
    make_contact(team.org)
    response = api_client(team.owner).post(CONTACTS, {"phone": "+44 7911 123456"}, format="json")
    assert response.status_code == 400
    assert response.json()["error_code"] == "duplicate_phone"
    # The same number may be a contact of another organization.
    assert api_client(team.outsider).post(CONTACTS, {"phone": UK}, format="json").status_code == 201


def test_it_updates_only_the_fields_sent(team, youth):
    contact = make_contact(team.org, notes="Keep me")
    owner = api_client(team.owner)
    response = owner.patch(
        f"{CONTACTS}/{contact.pk}", {"name": "Ana Maria", "groups": [youth.pk]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Ana Maria"
    assert response.json()["notes"] == "Keep me"
    assert response.json()["groups"] == [youth.pk]
    other = make_contact(team.org, phone=BR)
    taken = owner.patch(f"{CONTACTS}/{other.pk}", {"phone": UK}, format="json")
    assert taken.status_code == 400 and "phone" in taken.json()["fields"]


def test_it_withdraws_consent_on_request_and_records_who(team):
    owner = api_client(team.owner)
    contact_id = owner.post(CONTACTS, {"phone": UK, "opted_in": True}, format="json").json()["id"]
    response = owner.patch(f"{CONTACTS}/{contact_id}", {"opted_in": False}, format="json")
    assert response.json()["opted_out_at"] is not None
    assert "owner@grace.test" in response.json()["opt_out_reason"]
    assert list(ConsentRecord.objects.order_by("id").values_list("action", flat=True)) == [
        "opt_in",
        "opt_out",
    ]


def test_it_deletes_a_contact_with_an_audit_row_and_keeps_its_opt_out(team):
    contact = make_contact(team.org)
    owner = api_client(team.owner)
    from messaging.contacts.services import contact_opt_out

    contact_opt_out(
        organization=team.org, phone=UK, reason='Replied "STOP"', source=ConsentSource.KEYWORD
    )
    assert owner.delete(f"{CONTACTS}/{contact.pk}").status_code == 204
    assert not Contact.objects.exists()
    event = AuditEvent.objects.get(action="contact.deleted")
    assert event.actor == team.owner and event.organization == team.org
    # Added again, the number is still opted out, even if the form says it consented.
    again = owner.post(CONTACTS, {"phone": UK, "opted_in": False}, format="json").json()
    assert again["opted_out_at"] is not None and again["opt_out_reason"] == 'Replied "STOP"'


def test_it_searches_and_filters_by_group_with_pages(team, youth):
    for i in range(25):
        make_contact(team.org, phone=f"+4479111234{i:02d}", name=f"Person {i:02d}")
    singer = make_contact(team.org, phone=BR, name="Maria Singer")
    singer.groups.add(youth)
    reader = api_client(team.member)
    first = reader.get(CONTACTS).json()
    assert first["count"] == 26 and len(first["results"]) == 20 and first["next"]
    assert len(reader.get(CONTACTS, {"page": 2}).json()["results"]) == 6
    assert reader.get(CONTACTS, {"page": 9}).status_code == 404
    assert [c["name"] for c in reader.get(CONTACTS, {"search": "singer"}).json()["results"]] == [
        "Maria Singer"
    ]
    assert reader.get(CONTACTS, {"search": "987654"}).json()["count"] == 1
    assert reader.get(CONTACTS, {"group": youth.pk}).json()["count"] == 1
    assert reader.get(CONTACTS, {"group": "abc"}).status_code == 400


def test_it_manages_groups_and_deleting_one_keeps_its_contacts(team, youth):
    owner = api_client(team.owner)
    created = owner.post(GROUPS, {"name": "Choir"}, format="json")
    assert created.status_code == 201 and created.json()["name"] == "Choir"
    duplicate = owner.post(GROUPS, {"name": "youth"}, format="json")
    assert duplicate.status_code == 400 and "name" in duplicate.json()["fields"]
    renamed = owner.patch(f"{GROUPS}/{youth.pk}", {"name": "Young adults"}, format="json")
    assert renamed.json() == {"id": youth.pk, "name": "Young adults"}
    contact = make_contact(team.org)
    contact.groups.add(youth)
    assert owner.delete(f"{GROUPS}/{youth.pk}").status_code == 204
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert AuditEvent.objects.filter(action="contact_group.deleted").count() == 1
    assert owner.post(GROUPS, {"name": "A;B"}, format="json").status_code == 400


def send_json(client, method, url, body):
    # json.dumps escapes a lone surrogate as \\ud800, as a browser or another client would.
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("field", ["name", "phone", "language", "notes"])
@pytest.mark.parametrize("bad", ["\ud800", "a\x00b"])
def test_it_answers_400_to_surrogates_and_nul_in_every_text_field(team, field, bad):
    contact = make_contact(team.org)
    owner = api_client(team.owner)
    response = send_json(owner, "post", CONTACTS, {"phone": BR, field: bad})
    assert response.status_code == 400 and field in response.json()["fields"]
    response = send_json(owner, "patch", f"{CONTACTS}/{contact.pk}", {field: bad})
    assert response.status_code == 400 and field in response.json()["fields"]
    assert Contact.objects.count() == 1 and Contact.objects.get().name == "Ana"
    group = send_json(owner, "post", GROUPS, {"name": bad})
    assert group.status_code == 400 and "name" in group.json()["fields"]
    renamed = send_json(
        owner,
        "patch",
        f"{GROUPS}/{ContactGroup.objects.create(organization=team.org, name='G').pk}",
        {"name": bad},
    )
    assert renamed.status_code == 400
    region = send_json(owner, "patch", "/api/contact-settings", {"default_region": bad})
    assert region.status_code == 400
    # A query string cannot carry a lone surrogate (its bytes decode to U+FFFD); NUL it can.
    assert owner.get(CONTACTS + "?search=a%00b").status_code == 400
    assert owner.get(CONTACTS + "?search=%ED%A0%80").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"phone": 447911123456},
        {"phone": UK, "groups": "1"},
        {"phone": UK, "groups": ["1"]},
        {"phone": UK, "groups": [True]},
        {"phone": UK, "opted_in": "yes"},
        {"phone": UK, "name": "x" * 201},
        {"phone": UK, "notes": "x" * 5001},
        {"phone": UK, "language": "English please"},
        {"phone": UK, "name": ["Ana"]},
        ["not", "an", "object"],
    ],
)
def test_it_answers_400_to_unexpected_shapes(team, body):
    response = api_client(team.owner).post(CONTACTS, body, format="json")
    assert response.status_code == 400
    assert not Contact.objects.exists()


def test_it_shows_the_window_from_the_last_inbound_message(team):
    from datetime import timedelta

    from django.utils import timezone

    wrote = timezone.now() - timedelta(hours=3)
    contact = make_contact(team.org, last_inbound_at=wrote)
    body = api_client(team.member).get(f"{CONTACTS}/{contact.pk}").json()
    assert body["window_open_until"].startswith(
        (wrote + timedelta(hours=24)).strftime("%Y-%m-%dT%H")
    )
