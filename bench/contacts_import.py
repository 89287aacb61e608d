"""Contacts CSV import benchmark: a 10,000-row file through the real API, timed.

    .venv/bin/python bench/contacts_import.py                      # SQLite (a temporary file)
    .venv/bin/python bench/contacts_import.py --database-url postgres://postgres@127.0.0.1:5432/cm_contacts_bench

It creates a fresh database (a temporary SQLite file, or drops and re-creates the PostgreSQL
database named in the URL), migrates it, seeds an organization with an owner and two groups, and
writes a CSV of --rows rows (numbers from five countries, names, a language, one or two groups
of four, half of them with consent). Then it times, each through `POST /api/contacts/import`
(multipart, the whole request: authentication, upload parsing, reading, checks, bulk writes,
audit):

  1. the first import: every row creates a contact;
  2. the same file again: every row matches its contact, nothing to write;
  3. the same numbers with every name changed: every contact is written;
  4. a file of the same size where one row in ten has an invalid number (skipped and listed).

Exit status 0 when each import answered 200 within --limit seconds (10), 1 otherwise. Figures:
docs/benchmarks.md. The temporary database is removed at the end (--keep-db keeps it).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

# Mobile number prefixes that phonenumbers accepts as valid, and the digits that follow.
COUNTRIES = [("+4479", 8), ("+55119", 8), ("+346", 8), ("+1415", 7), ("+2547", 8)]
GROUPS = ["Youth", "Choir", "Ushers", "Prayer team"]


def make_csv(rows: int, *, invalid_every: int = 0, seed: int = 7, name: str = "Member") -> bytes:
    rng = random.Random(seed)
    seen, lines = set(), ["name,phone,language,groups,opted_in"]
    while len(lines) <= rows:
        prefix, digits = rng.choice(COUNTRIES)
        number = prefix + "".join(rng.choice("0123456789") for _ in range(digits))
        if prefix == "+1415":
            number = "+1415" + rng.choice("23456789") + number[6:]  # exchange cannot start 0/1
        if number in seen:
            continue
        seen.add(number)
        index = len(lines)
        if invalid_every and index % invalid_every == 0:
            number = "+44 12"  # too short for any plan: skipped with its row number
        groups = ";".join(rng.sample(GROUPS, rng.choice((1, 2))))
        consent = "yes" if index % 2 else "no"
        lines.append(
            f"Member {index},{number},{rng.choice(['en', 'es', 'pt_BR'])},{groups},{consent}"
        )
    return ("\n".join(lines) + "\n").encode()


def prepare_database(url: str | None, keep: bool) -> tuple[str, callable]:
    """A fresh database URL and a function that removes it."""
    if not url:
        handle, path = tempfile.mkstemp(prefix="contacts-bench-", suffix=".sqlite3")
        os.close(handle)

        def remove():
            if not keep:
                for suffix in ("", "-wal", "-shm"):
                    Path(path + suffix).unlink(missing_ok=True)

        return f"sqlite:///{path}", remove
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')

    def remove():
        if keep:
            return
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, remove


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--limit", type=float, default=10.0, help="seconds allowed per import")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    url, remove = prepare_database(args.database_url, args.keep_db)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=url,
        DEBUG="false",
        SECRET_KEY="bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        CRYPTOGRAPHY_KEY="bench-only-cryptography-key-0123456789",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="testserver",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from messaging.models import ConsentRecord, Contact, ContactGroup
    from organizations.models import Membership, Organization, Role, User

    ok = True
    try:
        call_command("migrate", verbosity=0)
        org = Organization.objects.create(name="Bench Church", slug="bench-church")
        owner = User.objects.create_user(email="owner@bench.test", password=None)
        Membership.objects.create(user=owner, organization=org, role=Role.OWNER)
        for name in GROUPS[:2]:
            ContactGroup.objects.create(organization=org, name=name)
        client = APIClient()
        token = RefreshToken.for_user(owner).access_token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

        files = [
            ("first import (all new)", make_csv(args.rows)),
            ("same file again (nothing changes)", make_csv(args.rows)),
            ("same numbers, every name changed", make_csv(args.rows, name="Renamed")),
            ("1 row in 10 invalid", make_csv(args.rows, invalid_every=10, seed=11)),
        ]
        engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        print(f"{engine}, {args.rows:,} rows per file, limit {args.limit:.1f} s per import")
        for label, data in files:
            upload = SimpleUploadedFile("members.csv", data, "text/csv")
            started = time.perf_counter()
            response = client.post("/api/contacts/import", {"file": upload}, format="multipart")
            elapsed = time.perf_counter() - started
            body = response.json()
            summary = (
                f"created {body.get('created')}, updated {body.get('updated')}, "
                f"skipped {len(body.get('skipped', []))}"
                if response.status_code == 200
                else body
            )
            good = response.status_code == 200 and elapsed < args.limit
            ok &= good
            print(
                f"  {label:34} {len(data) / 1024:7.0f} KB  {elapsed:6.2f} s  "
                f"{'ok' if good else 'FAILED'}  ({summary})"
            )
        print(
            f"  stored: {Contact.objects.count():,} contacts, "
            f"{Contact.groups.through.objects.count():,} group memberships, "
            f"{ConsentRecord.objects.count():,} consent records"
        )
    finally:
        remove()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
