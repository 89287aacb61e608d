import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import api_client
from messaging.contacts.services import contact_opt_out
from messaging.models import ConsentRecord, ConsentSource, Contact, ContactGroup
from organizations.models import AuditEvent

pytestmark = pytest.mark.django_db

IMPORT = "/api/contacts/import"


def upload(client, content, name="people.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        IMPORT, {"file": SimpleUploadedFile(name, data, "text/csv")}, format="multipart"
    )


def test_it_imports_contacts_with_groups_and_consent(team):
    ContactGroup.objects.create(organization=team.org, name="Youth")
    csv_text = (
        "name,phone,language,groups,opted_in\n"
        "Ana Souza,+55 11 98765-4321,pt_BR,youth;Choir,yes\n"
        "Ben Carter,+44 7911 123456,en,,no\n"
    )
    response = upload(api_client(team.owner), csv_text)
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 2, "updated": 0, "skipped": []}
    ana = Contact.objects.get(phone="+5511987654321")
    assert ana.name == "Ana Souza" and ana.language == "pt_BR"
    assert sorted(g.name for g in ana.groups.all()) == ["Choir", "Youth"]
    assert ana.opted_in_at is not None and ana.opt_in_source == "import"
    ben = Contact.objects.get(phone="+447911123456")
    assert ben.opted_in_at is None
    assert ContactGroup.objects.filter(organization=team.org).count() == 2
    record = ConsentRecord.objects.get()
    assert record.contact == ana and record.source == "import" and record.actor == team.owner
    event = AuditEvent.objects.get(action="contacts.imported")
    assert event.metadata["created"] == 2 and event.metadata["file_name"] == "people.csv"


def test_it_updates_duplicates_instead_of_duplicating(team):
    Contact.objects.create(organization=team.org, phone="+447911123456", name="Ben", notes="Kept")
    csv_text = (
        "phone,name,groups\n"
        "+447911123456,Benjamin Carter,Choir\n"
        "+34612345678,Carla,\n"
        "+34 612 345 678,Carla Ruiz,Youth\n"
    )
    response = upload(api_client(team.admin), csv_text)
    assert response.json() == {"created": 1, "updated": 2, "skipped": []}
    assert Contact.objects.count() == 2
    ben = Contact.objects.get(phone="+447911123456")
    assert ben.name == "Benjamin Carter" and ben.notes == "Kept"
    carla = Contact.objects.get(phone="+34612345678")
    assert carla.name == "Carla Ruiz" and [g.name for g in carla.groups.all()] == ["Youth"]
    # Importing the same file again changes nothing but counts updates.
    assert upload(api_client(team.admin), csv_text).json() == {
        "created": 0,
        "updated": 3,
        "skipped": [],
    }
    assert Contact.objects.count() == 2


def test_it_lists_rows_it_skips_numbered_from_the_first_data_row(team):
    csv_text = (
        "name,phone,language,opted_in\n"
        "Good,+447911123456,en,yes\n"
        "No number,,en,\n"
        "Bad number,12345,en,\n"
        "\n"
        "Bad language,+34612345678,Spanish please,\n"
        "Bad consent,+5511987654321,,maybe\n"
        "Too many,+14155552671,en,yes,extra\n"
    )
    body = upload(api_client(team.owner), csv_text).json()
    assert body["created"] == 1 and body["updated"] == 0
    assert [s["row"] for s in body["skipped"]] == [2, 3, 5, 6, 7]
    assert all(s["error"] for s in body["skipped"])
    assert "yes" in body["skipped"][3]["error"]
    assert Contact.objects.count() == 1


def test_it_reads_numbers_without_plus_in_the_default_country_and_semicolon_files(team):
    owner = api_client(team.owner)
    owner.patch("/api/contact-settings", {"default_region": "GB"}, format="json")
    csv_text = 'name;phone;groups\r\nBen;07911 123456;"Youth;Choir"\r\n'
    assert upload(owner, csv_text).json() == {"created": 1, "updated": 0, "skipped": []}
    contact = Contact.objects.get()
    assert contact.phone == "+447911123456" and contact.groups.count() == 2


def test_it_accepts_a_byte_order_mark_and_other_column_names(team):
    csv_text = "\ufeffWhatsApp Number,Full name,Opted In\n+447911123456,Ben,YES\n"
    assert upload(api_client(team.owner), csv_text).json()["created"] == 1
    contact = Contact.objects.get()
    assert contact.opted_in_at is not None and contact.name == ""


def test_it_does_not_let_an_import_undo_an_opt_out(team):
    contact_opt_out(
        organization=team.org,
        phone="+447911123456",
        reason='Replied "STOP"',
        source=ConsentSource.KEYWORD,
    )
    body = upload(api_client(team.owner), "phone,opted_in\n+447911123456,yes\n").json()
    assert body == {"created": 0, "updated": 1, "skipped": []}
    contact = Contact.objects.get()
    assert contact.opted_out_at is not None and contact.opted_in_at is None
    # Nor after the contact was deleted and comes back in a file.
    api_client(team.owner).delete(f"/api/contacts/{contact.pk}")
    upload(api_client(team.owner), "phone,opted_in\n+447911123456,yes\n")
    contact = Contact.objects.get()
    assert contact.opted_out_at is not None and contact.opted_in_at is None
    assert contact.consent_records.count() == 1


@pytest.mark.parametrize(
    "content, message",
    [
        ("name,phone\nZoë,+447911123456\n".encode("latin-1"), "UTF-8"),
        ("phone\n+447911123456\n".encode("utf-16"), "NUL"),
        (b"phone\n+44791112\x003456\n", "NUL"),
        (b"name,language\nAna,pt\n", "phone"),
        (b"", "empty"),
        (b"phone,phone\n+447911123456,+447911123456\n", "twice"),
        (b'phone,name\n+447911123456,"' + b"x" * 200_000 + b'"\n', "CSV"),
    ],
)
def test_it_answers_a_clear_400_to_a_file_it_cannot_read(team, content, message):
    response = upload(api_client(team.owner), content)
    assert response.status_code == 400
    body = response.json()
    assert message in body["error"] and "file" in body["fields"]
    assert not Contact.objects.exists()


def test_it_refuses_a_huge_file_and_too_many_rows(team, settings):
    settings.CONTACT_IMPORT_MAX_BYTES = 1000
    response = upload(api_client(team.owner), "phone\n" + "+447911123456\n" * 100)
    assert response.status_code == 400 and "larger" in response.json()["error"]
    settings.CONTACT_IMPORT_MAX_BYTES = 10**6
    settings.CONTACT_IMPORT_MAX_ROWS = 5
    response = upload(api_client(team.owner), "phone\n" + "+447911123456\n" * 6)
    assert response.status_code == 400 and "more than 5 rows" in response.json()["error"]
    assert not Contact.objects.exists()


def test_it_answers_400_without_a_file(team):
    response = api_client(team.owner).post(IMPORT, {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["fields"]
    json_body = api_client(team.owner).post(IMPORT, {"file": "x"}, format="json")
    assert json_body.status_code == 415


@pytest.mark.parametrize("column", ["name", "language", "groups", "notes"])
def test_it_skips_rows_with_control_characters_in_any_cell(team, column):
    value = "bad\x07value"
    response = upload(api_client(team.owner), f"phone,{column}\n+447911123456,{value}\n")
    assert response.json()["skipped"][0]["row"] == 1
    assert not Contact.objects.exists()


def test_it_keeps_imports_inside_the_organization(team):
    ContactGroup.objects.create(organization=team.other_org, name="Youth")
    Contact.objects.create(organization=team.other_org, phone="+447911123456", name="Theirs")
    body = upload(api_client(team.owner), "phone,name,groups\n+447911123456,Ours,Youth\n").json()
    assert body["created"] == 1
    assert Contact.objects.get(organization=team.other_org).name == "Theirs"
    assert ContactGroup.objects.filter(organization=team.org).count() == 1
    assert ContactGroup.objects.count() == 2


def test_it_strips_the_formula_guard_an_export_adds(team):
    upload(api_client(team.owner), "phone,name\n+447911123456,'=Ben\n")
    assert Contact.objects.get().name == "=Ben"
