"""Fixtures shared by every app's tests: a team with each role, an outsider, API clients."""

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from organizations.models import Membership, Organization, Role, User
from organizations.tokens import AccountRefreshToken

PASSWORD = "Sturdy-Passw0rd-for-tests"


@dataclass
class Team:
    org: Organization
    owner: User
    admin: User
    member: User
    other_org: Organization
    outsider: User  # owner of another organization

    def membership(self, user: User) -> Membership:
        return Membership.objects.get(user=user, organization=self.org)


def make_user(email: str, *, verified: bool = True) -> User:
    """A user whose email address is verified (as an established account's is)."""
    from organizations.services import account_email_setup

    user = User.objects.create_user(email=email, password=PASSWORD)
    account_email_setup(user=user, verified=verified)
    return user


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache: every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def team(db) -> Team:
    org = Organization.objects.create(name="Grace Church", slug="grace-church")
    other = Organization.objects.create(name="Hope Chapel", slug="hope-chapel")
    owner, admin, member, outsider = (
        make_user(e)
        for e in ("owner@grace.test", "admin@grace.test", "member@grace.test", "outsider@hope.test")
    )
    Membership.objects.create(user=owner, organization=org, role=Role.OWNER)
    Membership.objects.create(user=admin, organization=org, role=Role.ADMIN)
    Membership.objects.create(user=member, organization=org, role=Role.MEMBER)
    Membership.objects.create(user=outsider, organization=other, role=Role.OWNER)
    return Team(
        org=org, owner=owner, admin=admin, member=member, other_org=other, outsider=outsider
    )


def api_client(user: User | None = None, org: Organization | str | None = None) -> APIClient:
    """An API client with a bearer token for `user`, acting for `org` when given."""
    client = APIClient()
    if user is not None:
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {AccountRefreshToken.for_user(user).access_token}"
        )
    if org is not None:
        slug = org if isinstance(org, str) else org.slug
        client.defaults["HTTP_X_ORGANIZATION"] = slug
    return client


@pytest.fixture
def api():
    return api_client


@pytest.fixture(scope="session")
def _fake_providers_server():
    from devtools.fakes.providers import FakeProviders

    with FakeProviders() as fake:
        yield fake


@pytest.fixture
def fake_providers(_fake_providers_server, settings):
    """Local servers speaking each AI provider's protocol (shared by the session, reset for
    each test), with the base URL settings pointing at them and a short timeout."""
    fake = _fake_providers_server
    fake.reset()
    for name, url in fake.base_urls().items():
        if name != "CUSTOM_BASE_URL":  # the custom provider's URL comes from the user
            setattr(settings, name, url)
    settings.AI_PROVIDER_TIMEOUT = 2
    yield fake
    fake.reset()


@pytest.fixture
def fake_graph(settings):
    """A local server speaking Meta's Graph API, with the settings pointing at it."""
    from devtools.fakes.graph import FakeGraph

    with FakeGraph() as fake:
        settings.WHATSAPP_GRAPH_BASE_URL = fake.url + "/v25.0"
        settings.AI_PROVIDER_TIMEOUT = 2
        yield fake


@pytest.fixture
def huey_consumer(transactional_db, tmp_path):
    """A real Huey consumer (two worker threads) on a real queue: a SQLite file in a temporary
    directory, or Redis when HUEY_URL is set. Tasks called during the test are enqueued and run
    by the workers, not inline; `huey_consumer.wait_idle()` waits for them. See
    devtools/consumer.py."""
    from devtools.consumer import RealConsumer

    with RealConsumer(workers=2, sqlite_dir=tmp_path) as consumer:
        yield consumer
