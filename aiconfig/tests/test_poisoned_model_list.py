"""A model list stored before provider answers were cleaned can hold a lone surrogate
(`"bad\\ud800"`: SQLite keeps JSON text escaped, PostgreSQL's jsonb refuses it). Such a row is
served without the bad ids (the API and the Settings page), and a data migration cleans it with
the function that cleans new provider answers (common.validators.clean_model_ids)."""

import re

import pytest
from django.db import connection
from django.test import Client

from aiconfig import services
from aiconfig.models import AIConfig
from aiconfig.selectors import ai_config_for
from aiconfig.serializers import AIConfigResponseSerializer
from common.validators import has_lone_surrogate
from conftest import api_client
from devtools.fakes.providers import VALID_KEYS

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="only SQLite can hold a lone surrogate in a JSON column",
)

URL = "/api/settings/ai-config"
POISONED = ["gpt-5.4-mini", "bad\ud800", "\udfff", "gpt-5.4", 7, None, "line\nbreak"]
CLEAN = ["gpt-5.4-mini", "gpt-5.4"]
BEFORE = ("aiconfig", "0004_aiconfig_slot")
CLEANING = ("aiconfig", "0005_clean_available_models")


@pytest.fixture
def poisoned(team, fake_providers):
    config = services.ai_config_save(
        membership=team.membership(team.owner), provider="openai", api_key=VALID_KEYS["openai"]
    )
    # As an older version stored a provider's answer: written as is, bypassing the cleaning.
    AIConfig.objects.filter(pk=config.pk).update(available_models=POISONED)
    assert AIConfig.objects.get(pk=config.pk).available_models == POISONED
    return team


@sqlite_only
@pytest.mark.django_db
def test_it_serves_a_model_list_stored_with_a_lone_surrogate_without_it(poisoned):
    for user in (poisoned.member, poisoned.owner):
        response = api_client(user).get(URL)
        assert response.status_code == 200, response.content
        assert response.json()["models"] == CLEAN


@sqlite_only
@pytest.mark.django_db
def test_it_cleans_the_list_in_the_selector_and_in_the_serializer_each(poisoned):
    assert ai_config_for(poisoned.org).available_models == CLEAN
    # Read without the selector (as another query may), the serializer still cleans it.
    config = AIConfig.objects.get(organization=poisoned.org)
    assert config.available_models == POISONED
    assert AIConfigResponseSerializer(config).data["models"] == CLEAN


@sqlite_only
@pytest.mark.django_db
def test_it_renders_the_settings_page_with_such_a_list(poisoned):
    page = Client(raise_request_exception=False)
    page.force_login(poisoned.owner)
    response = page.get("/settings/")
    assert response.status_code == 200
    datalist = re.search(
        r'<datalist id="[^"]*model[^"]*">(.*?)</datalist>', response.content.decode()
    )
    assert re.findall(r'<option value="([^"]*)">', datalist.group(1)) == CLEAN


def test_it_cleans_stored_model_lists_in_a_data_migration(migrator):
    old = migrator.apply_initial_migration(BEFORE)
    Organization = old.apps.get_model("organizations", "Organization")
    Config = old.apps.get_model("aiconfig", "AIConfig")
    grace = Organization.objects.create(name="Grace Church", slug="grace-church")
    hope = Organization.objects.create(name="Hope Chapel", slug="hope-chapel")
    faith = Organization.objects.create(name="Faith Church", slug="faith-church")
    common = {"provider": "openai", "api_key": VALID_KEYS["openai"], "model": "gpt-5.4-mini"}
    stored = POISONED
    if connection.vendor != "sqlite":  # jsonb refuses a lone surrogate: the other bad ids
        stored = [v for v in POISONED if not (isinstance(v, str) and has_lone_surrogate(v))]
    poisoned = Config.objects.create(organization=grace, available_models=stored, **common)
    fine = Config.objects.create(organization=hope, available_models=CLEAN, **common)
    odd = Config.objects.create(organization=faith, available_models={"a": 1}, **common)

    new = migrator.apply_tested_migration(CLEANING)

    Config = new.apps.get_model("aiconfig", "AIConfig")
    assert Config.objects.get(pk=poisoned.pk).available_models == CLEAN
    assert Config.objects.get(pk=fine.pk).available_models == CLEAN
    assert Config.objects.get(pk=odd.pk).available_models == []
    # The rest of the row is untouched.
    assert Config.objects.get(pk=poisoned.pk).model == "gpt-5.4-mini"
