"""Contacts in and out as CSV: reading a file into a plan (what each row would do, or why it
cannot), applying that plan with bulk queries, and writing the export.

Import rules: the header row names the columns (`phone` required; `name`, `language`,
`groups`, `opted_in`, `notes` optional; others are ignored). A number already known updates
that contact (empty cells keep what is stored; groups are added, never removed). `opted_in`
"yes" records consent with source `import`, except for a number that opted out: only the person
can undo that. Rows are numbered from 1 for the first row after the header."""

import csv
import io
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import ServiceError
from messaging.contacts.phones import phone_to_e164
from messaging.contacts.selectors import contact_default_region
from messaging.contacts.services import (
    _require_manager,
    clean_group_name,
    clean_language,
    clean_name,
    clean_notes,
    contact_settings_lock,
)
from messaging.models import ConsentRecord, ConsentSource, Contact, ContactGroup
from organizations import audit
from organizations.models import Membership, Organization
from organizations.services import audit_record

COLUMN_ALIASES = {
    "phone": "phone",
    "phone number": "phone",
    "whatsapp": "phone",
    "whatsapp number": "phone",
    "mobile": "phone",
    "name": "name",
    "language": "language",
    "groups": "groups",
    "group": "groups",
    "opted in": "opted_in",
    "consent": "opted_in",
    "notes": "notes",
}
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}
BATCH = 500


class CsvRefused(ServiceError):
    """The file as a whole cannot be read (answered with 400, naming `file`)."""

    def __init__(self, message: str):
        super().__init__(message, field="file", code="invalid_csv")


@dataclass
class RowPlan:
    row: int
    phone: str = ""
    name: str | None = None  # None: keep what is stored
    language: str | None = None
    notes: str | None = None
    groups: list[str] = field(default_factory=list)
    opted_in: bool | None = None
    action: str = "skip"  # "create", "update" or "skip"
    error: str = ""
    warning: str = ""


@dataclass
class ImportPlan:
    columns: list[str]
    ignored_columns: list[str]
    rows: list[RowPlan]
    new_groups: list[str]
    existing: dict[str, Contact] = field(default_factory=dict, repr=False)
    earlier_opt_outs: dict[str, ConsentRecord] = field(default_factory=dict, repr=False)

    @property
    def created(self) -> int:
        return sum(1 for row in self.rows if row.action == "create")

    @property
    def updated(self) -> int:
        return sum(1 for row in self.rows if row.action == "update")

    @property
    def skipped(self) -> list[dict]:
        return [{"row": row.row, "error": row.error} for row in self.rows if row.action == "skip"]


@dataclass
class ImportResult:
    created: int
    updated: int
    skipped: list[dict]


# --- reading ---------------------------------------------------------------------------------


def _header_key(name: str) -> str:
    return re.sub(r"[\s_-]+", " ", name.strip().lower())


def _delimiter(first_line: str) -> str:
    # Spreadsheets in many countries write ";" (or tabs) between columns instead of ",".
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _decode(data: bytes) -> str:
    max_bytes = settings.CONTACT_IMPORT_MAX_BYTES
    if len(data) > max_bytes:
        raise CsvRefused(
            f"The file is larger than {max_bytes // (1024 * 1024)} MB. Split it into smaller "
            "files and import them one by one."
        )
    if b"\x00" in data:
        raise CsvRefused(
            'The file contains NUL bytes, so it is not a CSV text file. Save it as "CSV UTF-8" '
            "and try again."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvRefused(
            'The file is not UTF-8 text. In your spreadsheet, save it as "CSV UTF-8" and try again.'
        ) from None
    if not text.strip():
        raise CsvRefused("The file is empty.")
    return text


def _header_columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
    columns, ignored = {}, []
    for index, name in enumerate(header):
        key = COLUMN_ALIASES.get(_header_key(name))
        if key is None:
            if name.strip():
                ignored.append(name.strip()[:100])
        elif key in columns:
            raise CsvRefused(f'The header row names the column "{key}" twice.')
        else:
            columns[key] = index
    if "phone" not in columns:
        raise CsvRefused(
            'The first row must name the columns, and one must be "phone" (the WhatsApp '
            "number). Others may be name, language, groups, opted_in and notes."
        )
    return columns, ignored


def read_csv(data: bytes) -> tuple[dict[str, int], list[str], int, list[tuple[int, list[str]]]]:
    """The file -> ({column: index}, ignored header names, header width,
    [(row number, cells)]). Raises CsvRefused with what to do when the file as a whole cannot
    be read."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.split("\n")[0]))
    max_rows = settings.CONTACT_IMPORT_MAX_ROWS
    try:
        header = next(reader)
        columns, ignored = _header_columns(header)
        records = []
        for number, cells in enumerate(reader, start=1):
            if number > max_rows:
                raise CsvRefused(
                    f"The file has more than {max_rows:,} rows. Split it into smaller files."
                )
            records.append((number, cells))
    except csv.Error:
        raise CsvRefused(
            "The file is not a CSV file that can be read (a cell is too large or a quote is "
            "not closed)."
        ) from None
    return columns, ignored, len(header), records


def _cell(cells: list[str], columns: dict[str, int], key: str) -> str | None:
    """The cell's text with a spreadsheet's formula guard removed; None when the column is
    absent."""
    if key not in columns:
        return None
    index = columns[key]
    value = cells[index].strip() if index < len(cells) else ""
    if value[:2] in ("'=", "'+", "'-", "'@"):
        value = value[1:]
    return value


def _group_names(cell: str) -> list[str]:
    names, seen = [], set()
    for part in cell.split(";"):
        if part.strip() and part.strip().casefold() not in seen:
            seen.add(part.strip().casefold())
            names.append(clean_group_name(part))
    return names


def _yes_no(cell: str) -> bool | None:
    value = cell.lower()
    if value in YES:
        return True
    if value in NO:
        return False
    if value:
        raise ServiceError('Write "yes" or "no" in the opted_in column.')
    return None


def _plan_row(number: int, cells: list[str], columns: dict[str, int], region: str) -> RowPlan:
    plan = RowPlan(row=number)
    try:
        plan.phone = phone_to_e164(_cell(cells, columns, "phone") or "", region=region)
        # An empty cell (or no such column) keeps what is stored.
        plan.name = clean_name(_cell(cells, columns, "name") or "") or None
        plan.language = clean_language(_cell(cells, columns, "language") or "") or None
        plan.notes = clean_notes(_cell(cells, columns, "notes") or "") or None
        plan.groups = _group_names(_cell(cells, columns, "groups") or "")
        plan.opted_in = _yes_no(_cell(cells, columns, "opted_in") or "")
    except ServiceError as exc:
        plan.error = exc.message
    return plan


def _plan_rows(records, columns: dict[str, int], header_width: int, region: str):
    rows = []
    for number, cells in records:
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(cells) > header_width and any(cell.strip() for cell in cells[header_width:]):
            error = "This row has more cells than the header row names."
            rows.append(RowPlan(row=number, error=error))
        else:
            rows.append(_plan_row(number, cells, columns, region))
    return rows


def _stored(organization: Organization, phones: list[str]):
    """({phone: contact} for numbers already contacts, {phone: opt-out record} for numbers
    whose deleted contact had opted out)."""
    existing, last_orphans = {}, {}
    for start in range(0, len(phones), BATCH):
        chunk = phones[start : start + BATCH]
        for contact in Contact.objects.filter(organization=organization, phone__in=chunk):
            existing[contact.phone] = contact
        # Consent records left by deleted contacts: the last one per number decides.
        orphans = ConsentRecord.objects.filter(
            organization=organization, phone__in=chunk, contact__isnull=True
        ).order_by("phone", "-created_at", "-id")
        for record in orphans:
            last_orphans.setdefault(record.phone, record)
    opt_outs = {
        phone: record
        for phone, record in last_orphans.items()
        if record.action == ConsentRecord.Action.OPT_OUT
    }
    return existing, opt_outs


def _opted_out_at(phone: str, existing: dict, earlier_opt_outs: dict):
    contact = existing.get(phone)
    if contact is not None and contact.opted_out_at is not None:
        return contact.opted_out_at
    record = earlier_opt_outs.get(phone)
    return record.created_at if record is not None else None


def import_plan(organization: Organization, data: bytes) -> ImportPlan:
    """What importing `data` would do, row by row. Changes nothing; raises CsvRefused."""
    columns, ignored, header_width, records = read_csv(data)
    rows = _plan_rows(records, columns, header_width, contact_default_region(organization))
    existing, earlier_opt_outs = _stored(
        organization, list({row.phone for row in rows if not row.error})
    )
    known_groups = {
        name.casefold()
        for name in ContactGroup.objects.filter(organization=organization).values_list(
            "name", flat=True
        )
    }
    new_groups, first_row = {}, {}
    for row in (row for row in rows if not row.error):
        if row.phone in first_row:
            row.action = "update"
            row.warning = f"Same number as row {first_row[row.phone]}: updates that contact."
        else:
            first_row[row.phone] = row.row
            row.action = "update" if row.phone in existing else "create"
        opted_out_at = _opted_out_at(row.phone, existing, earlier_opt_outs)
        if row.opted_in and opted_out_at is not None:
            row.warning = (
                f"This number opted out on {opted_out_at:%Y-%m-%d}: consent is not recorded "
                "(only the person can opt back in, by sending START)."
            )
        for name in row.groups:
            if name.casefold() not in known_groups:
                new_groups.setdefault(name.casefold(), name)
    return ImportPlan(
        columns=list(columns),
        ignored_columns=ignored,
        rows=rows,
        new_groups=list(new_groups.values()),
        existing=existing,
        earlier_opt_outs=earlier_opt_outs,
    )


def contacts_import_preview(*, membership: Membership, data: bytes) -> ImportPlan:
    _require_manager(membership)
    return import_plan(membership.organization, data)


# --- applying --------------------------------------------------------------------------------


def contacts_import(
    *, membership: Membership, data: bytes, file_name: str = "", ip: str | None = None
) -> ImportResult:
    """Imports a contacts CSV in a few bulk queries. Raises CsvRefused (file unreadable),
    NotAllowed, or ServiceError 409 when the contacts changed meanwhile."""
    _require_manager(membership)
    try:
        with transaction.atomic():
            return _import(membership=membership, data=data, file_name=file_name, ip=ip)
    except IntegrityError:
        error = ServiceError(
            "The contacts changed while the file was being imported. Import it again.",
            code="conflict",
        )
        error.status = 409
        raise error from None


@dataclass
class _Changes:
    by_phone: dict[str, Contact]
    new_contacts: list[Contact] = field(default_factory=list)
    changed: dict[int, Contact] = field(default_factory=dict)
    consents: list[Contact] = field(default_factory=list)
    memberships: set[tuple[str, int]] = field(default_factory=set)


def _groups_by_name(organization: Organization, plan: ImportPlan) -> dict[str, ContactGroup]:
    """Every group by case-folded name, the file's new groups created."""
    groups = {g.name.casefold(): g for g in ContactGroup.objects.filter(organization=organization)}
    created = ContactGroup.objects.bulk_create(
        [ContactGroup(organization=organization, name=name) for name in plan.new_groups],
        batch_size=BATCH,
    )
    groups.update({group.name.casefold(): group for group in created})
    return groups


def _new_contact(organization: Organization, phone: str, plan: ImportPlan) -> Contact:
    contact = Contact(organization=organization, phone=phone)
    earlier = plan.earlier_opt_outs.get(phone)
    if earlier is not None:  # the number's deleted contact had opted out: it still has
        contact.opted_out_at = earlier.created_at
        contact.opt_out_reason = earlier.detail
        contact.opt_out_source = earlier.source
    return contact


def _merge_rows(organization: Organization, plan: ImportPlan, groups: dict, now) -> _Changes:
    """The plan's rows applied to contact objects in memory, in file order."""
    changes = _Changes(by_phone=dict(plan.existing))
    for row in plan.rows:
        if row.action == "skip":
            continue
        contact = changes.by_phone.get(row.phone)
        if contact is None:
            contact = _new_contact(organization, row.phone, plan)
            changes.by_phone[row.phone] = contact
            changes.new_contacts.append(contact)
        changed = False
        for attribute in ("name", "language", "notes"):
            value = getattr(row, attribute)
            if value is not None and value != getattr(contact, attribute):
                setattr(contact, attribute, value)
                changed = True
        if row.opted_in and contact.opted_out_at is None and contact.opted_in_at is None:
            contact.opted_in_at = now
            contact.opt_in_source = ConsentSource.IMPORT
            changes.consents.append(contact)
            changed = True
        if changed and contact.pk:  # only contacts that change are written
            changes.changed[contact.pk] = contact
        for name in row.groups:
            changes.memberships.add((row.phone, groups[name.casefold()].pk))
    return changes


def _write(organization: Organization, plan: ImportPlan, changes: _Changes, actor, now) -> None:
    Contact.objects.bulk_create(changes.new_contacts, batch_size=BATCH)
    for contact in changes.changed.values():
        contact.updated_at = now
    # bulk_update writes one CASE per column over the whole batch: small batches keep that
    # linear instead of quadratic.
    Contact.objects.bulk_update(
        list(changes.changed.values()),
        ["name", "language", "notes", "opted_in_at", "opt_in_source", "updated_at"],
        batch_size=100,
    )
    for contact in changes.new_contacts:
        if contact.phone in plan.earlier_opt_outs:
            ConsentRecord.objects.filter(
                organization=organization, phone=contact.phone, contact__isnull=True
            ).update(contact=contact)
    through = Contact.groups.through
    through.objects.bulk_create(
        [
            through(contact_id=changes.by_phone[phone].pk, contactgroup_id=group_id)
            for phone, group_id in changes.memberships
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )
    ConsentRecord.objects.bulk_create(
        [
            ConsentRecord(
                organization=organization,
                contact=contact,
                phone=contact.phone,
                action=ConsentRecord.Action.OPT_IN,
                source=ConsentSource.IMPORT,
                detail=f"Imported by {actor.email}"[:200],
                actor=actor,
                created_at=now,
            )
            for contact in changes.consents
        ],
        batch_size=BATCH,
    )


def _import(*, membership: Membership, data: bytes, file_name: str, ip: str | None):
    organization = membership.organization
    contact_settings_lock(organization)  # one import at a time per organization
    plan = import_plan(organization, data)
    now = timezone.now()
    changes = _merge_rows(organization, plan, _groups_by_name(organization, plan), now)
    _write(organization, plan, changes, membership.user, now)
    result = ImportResult(created=plan.created, updated=plan.updated, skipped=plan.skipped)
    audit_record(
        organization=organization,
        actor=membership.user,
        action=audit.CONTACTS_IMPORTED,
        target=file_name[:255],
        ip=ip,
        metadata={
            "file_name": file_name[:255],
            "created": result.created,
            "updated": result.updated,
            "skipped": len(result.skipped),
            "groups_created": len(plan.new_groups),
        },
    )
    return result


# --- export ----------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    "name",
    "phone",
    "language",
    "groups",
    "opted_in",
    "notes",
    "opted_in_at",
    "opt_in_source",
    "opted_out_at",
    "opt_out_reason",
]


def _safe(value: str) -> str:
    # A cell starting with = + - @ runs as a formula in spreadsheets: quote it.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


class _Echo:
    def write(self, value):
        return value


def contacts_export_rows(*, membership: Membership, ip: str | None = None):
    """The organization's contacts as CSV lines (a generator, for a streaming response), in
    the columns the import reads back."""
    audit_record(
        organization=membership.organization,
        actor=membership.user,
        action=audit.CONTACTS_EXPORTED,
        ip=ip,
        metadata={"contacts": Contact.objects.filter(organization=membership.organization).count()},
    )
    return _export_lines(membership.organization)


def _export_lines(organization: Organization):
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(EXPORT_COLUMNS)  # the BOM tells Excel it is UTF-8
    contacts = (
        Contact.objects.filter(organization=organization)
        .prefetch_related("groups")
        .order_by("name", "phone", "id")
    )
    for contact in contacts.iterator(chunk_size=1000):
        yield writer.writerow(
            [
                _safe(contact.name),
                contact.phone,
                contact.language,
                _safe(";".join(group.name for group in contact.groups.all())),
                "yes" if contact.has_marketing_consent else "no",
                _safe(contact.notes),
                contact.opted_in_at.isoformat() if contact.opted_in_at else "",
                contact.opt_in_source,
                contact.opted_out_at.isoformat() if contact.opted_out_at else "",
                _safe(contact.opt_out_reason),
            ]
        )
