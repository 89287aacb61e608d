"""Keeps test_layout.PAGES complete: every named URL of the app is a page checked there, or is
in test_layout.EXEMPT with the reason it is no page. No browser needed.

Left out by rule: the API (/api/...: JSON for programs) and the admin's per-object forms (add,
change, delete, history: Django's own templates, checked through the ones in PAGES)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.urls import NoReverseMatch, Resolver404, URLResolver, get_resolver, resolve, reverse

from e2e.test_layout import EXEMPT, PAGES, seed

# The seed needs the test database; pytest-django creates it for marked tests only.
pytestmark = pytest.mark.django_db

ADMIN_FORMS = ("_add", "_change", "_delete", "_history")


def named_urls(resolver=None, prefix: str = "", namespace: str = "") -> dict[str, str]:
    """{name with its namespace: route} for every named URL pattern."""
    found = {}
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            found.update(named_urls(pattern, route, inner))
        elif pattern.name:
            found.setdefault(":".join(filter(None, [namespace, pattern.name])), route)
    return found


def to_check(urls: dict[str, str]) -> set[str]:
    return {
        name
        for name, route in urls.items()
        if not route.startswith("api/")
        and not (name.startswith("admin:") and name.endswith(ADMIN_FORMS))
    }


def covered(path: str, names) -> set[str]:
    """The URL names a path of PAGES stands for: the one it resolves to, and any name that
    reverses to it (a name shadowed by an earlier pattern at the same path)."""
    path = urlsplit(path).path
    try:
        found = {resolve(path).view_name}
    except Resolver404:  # a page that does not exist, on purpose (the 404 page)
        found = set()
    for name in names:
        try:
            if reverse(name) == path:
                found.add(name)
        except NoReverseMatch:  # takes arguments
            pass
    return found


@pytest.fixture(scope="module")
def page_names(django_db_setup, django_db_blocker) -> set[str]:
    """The URL names that PAGES covers (the seed fills the ids in its paths, then goes)."""
    with django_db_blocker.unblock(), transaction.atomic():
        values = seed()
        transaction.set_rollback(True)
    names = set(named_urls())
    return set().union(*(covered(page.path.format(**values), names) for page in PAGES))


def test_it_checks_every_page_of_the_app_at_both_widths(page_names):
    urls = named_urls()
    missing = sorted(to_check(urls) - page_names - set(EXEMPT))
    assert not missing, (
        "Pages missing from e2e/test_layout.py: add each to PAGES, or to EXEMPT with the "
        "reason it is no page:\n" + "\n".join(f"  {name}  /{urls[name]}" for name in missing)
    )


def test_it_checks_each_kind_of_admin_form(page_names):
    kinds = {suffix for suffix in ADMIN_FORMS for name in page_names if name.endswith(suffix)}
    assert kinds == set(ADMIN_FORMS)


def test_it_exempts_only_urls_that_exist_and_are_not_pages(page_names):
    urls = named_urls()
    assert sorted(set(EXEMPT) - set(urls)) == [], "EXEMPT names a URL that is gone"
    assert sorted(set(EXEMPT) & page_names) == [], "EXEMPT names a page that PAGES checks"
    assert all(reason.strip() for reason in EXEMPT.values())
