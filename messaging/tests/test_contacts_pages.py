import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from messaging.contacts.services import contact_opt_out
from messaging.models import ConsentSource, Contact, ContactGroup, PendingContactImport
from organizations.models import AuditEvent

pytestmark = pytest.mark.django_db

UK = "+447911123456"
BR = "+5511987654321"


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ana(team):
    youth = ContactGroup.objects.create(organization=team.org, name="Youth")
    contact = Contact.objects.create(organization=team.org, phone=UK, name="Ana Souza")
    contact.groups.add(youth)
    return contact


def test_it_lists_contacts_for_any_member_with_a_nav_link(team, ana):
    response = login(team.member).get("/contacts/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ana Souza" in page and "+44 7911 123456" in page and "Youth" in page
    assert 'href="/contacts/"' in page
    assert "Add a contact" not in page and "Import a CSV file" not in page


def test_it_searches_filters_and_pages(team, ana):
    for i in range(55):
        Contact.objects.create(organization=team.org, phone=f"+4479111234{i:02d}", name=f"P{i:02d}")
    owner = login(team.owner)
    first = owner.get("/contacts/").content.decode()
    assert "Page 1 of 2" in first and "Next page" in first
    assert "P54" in owner.get("/contacts/?page=2").content.decode()
    found = owner.get("/contacts/", {"q": "souza"}).content.decode()
    assert "Ana Souza" in found and "P01" not in found
    group = ContactGroup.objects.get(name="Youth")
    in_group = owner.get("/contacts/", {"group": group.pk}).content.decode()
    assert "1 contact found" in in_group
    assert owner.get("/contacts/", {"group": "999999"}).status_code == 400
    assert owner.get("/contacts/?q=a%00b").status_code == 400


def test_it_keeps_outsiders_away_from_another_organizations_contacts(team, ana):
    outsider = login(team.outsider)
    assert "Ana Souza" not in outsider.get("/contacts/").content.decode()
    assert outsider.get(f"/contacts/{ana.pk}/").status_code == 404
    assert outsider.post(f"/contacts/{ana.pk}/", {"phone": BR}).status_code == 404
    assert outsider.post(f"/contacts/{ana.pk}/delete/").status_code == 404
    group = ContactGroup.objects.get(name="Youth")
    assert outsider.post(f"/contacts/groups/{group.pk}/", {"name": "X"}).status_code == 404
    assert outsider.post(f"/contacts/groups/{group.pk}/delete/").status_code == 404
    assert b"Ana" not in b"".join(outsider.get("/contacts/export.csv").streaming_content)
    assert Contact.objects.filter(pk=ana.pk).exists()
    assert ContactGroup.objects.filter(pk=group.pk, name="Youth").exists()


def test_it_refuses_changes_to_a_member_without_rights(team, ana):
    member = login(team.member)
    assert member.get("/contacts/new/").status_code == 403
    assert member.post("/contacts/new/", {"phone": BR}).status_code == 403
    assert member.get(f"/contacts/{ana.pk}/").status_code == 200  # read-only view
    assert "Only owners and admins" in member.get(f"/contacts/{ana.pk}/").content.decode()
    assert member.post(f"/contacts/{ana.pk}/", {"phone": BR, "name": "X"}).status_code == 403
    assert member.post(f"/contacts/{ana.pk}/delete/").status_code == 403
    assert member.post("/contacts/groups/", {"name": "Choir"}).status_code == 403
    assert member.get("/contacts/import/").status_code == 403
    assert member.get("/contacts/settings/").status_code == 403
    ana.refresh_from_db()
    assert ana.name == "Ana Souza" and Contact.objects.count() == 1
    assert ContactGroup.objects.count() == 1


def test_it_adds_a_contact_with_consent_from_the_form(team):
    group = ContactGroup.objects.create(organization=team.org, name="Choir")
    response = login(team.admin).post(
        "/contacts/new/",
        {
            "name": "Ben",
            "phone": "+55 11 98765 4321",
            "language": "pt_BR",
            "groups": [str(group.pk)],
            "opted_in": "on",
        },
    )
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert contact.phone == BR and list(contact.groups.all()) == [group]
    assert contact.opt_in_source == "form" and contact.consent_records.get().actor == team.admin


@pytest.mark.parametrize(
    "data, field_text",
    [
        ({"phone": "+44 12345"}, "numbering plan"),
        ({"phone": "07911 123456"}, "country code"),
        ({"phone": UK, "name": "A\x00B"}, "Null characters"),
        ({"phone": UK, "notes": "A\x00B"}, "Null characters"),
        ({"phone": UK, "language": "Portuguese"}, "language code"),
        ({"phone": UK, "groups": ["999"]}, "Select a valid choice"),
    ],
)
def test_it_shows_form_errors_with_400_and_saves_nothing(team, data, field_text):
    response = login(team.owner).post("/contacts/new/", data)
    assert response.status_code == 400
    assert field_text in response.content.decode()
    assert not Contact.objects.exists()


def test_it_edits_a_contact_and_withdraws_consent_by_unticking(team, ana):
    owner = login(team.owner)
    owner.post(f"/contacts/{ana.pk}/", {"phone": UK, "name": "Ana", "opted_in": "on"})
    ana.refresh_from_db()
    assert ana.has_marketing_consent
    response = owner.post(f"/contacts/{ana.pk}/", {"phone": UK, "name": "Ana S."})
    assert response.status_code == 302
    ana.refresh_from_db()
    assert ana.name == "Ana S." and ana.opted_out_at is not None
    assert list(ana.groups.all()) == []  # the form's boxes are what it keeps


def test_it_does_not_record_consent_again_when_the_box_is_unchanged(team, ana):
    contact_opt_out(organization=team.org, phone=UK, reason="STOP", source=ConsentSource.KEYWORD)
    login(team.owner).post(f"/contacts/{ana.pk}/", {"phone": UK, "name": "Ana"})
    ana.refresh_from_db()
    assert ana.opted_out_at is not None and ana.consent_records.count() == 1


def test_it_deletes_a_contact_after_confirmation(team, ana):
    owner = login(team.owner)
    confirm = owner.get(f"/contacts/{ana.pk}/delete/")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    assert Contact.objects.exists()
    assert owner.post(f"/contacts/{ana.pk}/delete/").status_code == 302
    assert not Contact.objects.exists()
    assert AuditEvent.objects.filter(action="contact.deleted", actor=team.owner).exists()


def test_it_manages_groups_and_keeps_contacts_of_a_deleted_group(team, ana):
    owner = login(team.owner)
    assert owner.post("/contacts/groups/", {"name": "Choir"}).status_code == 302
    assert owner.post("/contacts/groups/", {"name": "choir"}).status_code == 400
    group = ContactGroup.objects.get(name="Youth")
    assert owner.post(f"/contacts/groups/{group.pk}/", {"name": "Young"}).status_code == 302
    assert "stay" in owner.get(f"/contacts/groups/{group.pk}/delete/").content.decode()
    assert owner.post(f"/contacts/groups/{group.pk}/delete/").status_code == 302
    assert Contact.objects.filter(pk=ana.pk).exists()
    assert list(ContactGroup.objects.values_list("name", flat=True)) == ["Choir"]


def test_it_sets_the_default_country(team):
    owner = login(team.owner)
    assert "Brazil (+55)" in owner.get("/contacts/settings/").content.decode()
    assert owner.post("/contacts/settings/", {"default_region": "ZZ"}).status_code == 400
    assert owner.post("/contacts/settings/", {"default_region": "BR"}).status_code == 302
    owner.post("/contacts/new/", {"phone": "(11) 98765-4321"})
    assert Contact.objects.get().phone == BR


def test_it_previews_an_import_with_row_errors_then_imports(team, ana):
    owner = login(team.owner)
    content = (
        "name,phone,groups,opted_in\n"
        "Ana Updated,+44 7911 123456,Choir,yes\n"
        "Nobody,+44 12345,,\n"
        "Carla,+34612345678,Choir;Youth,no\n"
    )
    response = owner.post(
        "/contacts/import/",
        {"file": SimpleUploadedFile("members.csv", content.encode(), "text/csv")},
    )
    assert response.status_code == 302
    preview = owner.get(response["Location"])
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "Skipped" in page and "numbering plan" in page and "New contact" in page
    assert "Choir" in page
    # Nothing is imported by the preview.
    assert Contact.objects.count() == 1 and not ContactGroup.objects.filter(name="Choir").exists()
    # Another manager cannot confirm someone else's upload.
    assert login(team.admin).post(response["Location"]).status_code == 404
    done = owner.post(response["Location"], follow=True)
    assert "1 contacts added, 1 updated, 1 rows skipped" in done.content.decode()
    assert Contact.objects.count() == 2
    assert Contact.objects.get(pk=ana.pk).name == "Ana Updated"
    assert not PendingContactImport.objects.exists()
    assert owner.post(response["Location"]).status_code == 404  # used once


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xff\xfeb\x00a\x00d\x00", "NUL"),
        (b"name\nAna\n", "phone"),
        ("phone\n+447911123456\n".encode("utf-16-be"), "NUL"),
        ("name,phone\nZoë,+447911123456\n".encode("cp1252"), "UTF-8"),
    ],
)
def test_it_explains_a_file_it_cannot_read_on_the_page(team, content, message):
    response = login(team.owner).post(
        "/contacts/import/", {"file": SimpleUploadedFile("x.csv", content, "text/csv")}
    )
    assert response.status_code == 400 and message in response.content.decode()
    assert not PendingContactImport.objects.exists()


def test_it_exports_contacts_as_csv_that_imports_back(team, ana):
    Contact.objects.create(organization=team.org, phone=BR, name="=HYPERLINK()", notes="Sings")
    response = login(team.member).get("/contacts/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["phone"] for r in rows] == [BR, UK]
    assert rows[0]["name"] == "'=HYPERLINK()"  # a spreadsheet shows it, never runs it
    assert rows[1]["groups"] == "Youth"
    assert AuditEvent.objects.filter(action="contacts.exported", actor=team.member).exists()
    # Re-imported, the file changes nothing it should not.
    Contact.objects.all().delete()
    login(team.owner)
    from messaging.contacts.csv_io import import_plan

    plan = import_plan(team.org, text.encode())
    assert plan.created == 2 and plan.skipped == []
    assert {row.name for row in plan.rows} == {"=HYPERLINK()", "Ana Souza"}


def test_it_shows_contacts_in_the_admin_read_only(team, ana):
    from organizations.models import User

    root = User.objects.create_superuser(email="root@example.org", password="x-Sturdy-1234")
    admin = login(root)
    listed = admin.get("/admin/messaging/contact/")
    assert listed.status_code == 200 and "+447911123456" in listed.content.decode()
    assert admin.get(f"/admin/messaging/contact/{ana.pk}/change/").status_code == 200
    assert (
        admin.post(f"/admin/messaging/contact/{ana.pk}/change/", {"name": "X"}).status_code == 403
    )
    assert (
        admin.post(f"/admin/messaging/contact/{ana.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert admin.get("/admin/messaging/contact/add/").status_code == 403
    assert admin.get("/admin/messaging/contactgroup/").status_code == 200
    assert admin.get("/admin/messaging/consentrecord/").status_code == 200
    ana.refresh_from_db()
    assert ana.name == "Ana Souza"
