import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]


def load_settings(**env):
    """Imports the production settings module in a fresh interpreter with exactly `env`."""
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    clean.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import config.settings as s; print(s.DEBUG, s.SECURE_SSL_REDIRECT)",
        ],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(
    (BASE_DIR / ".env").exists(), reason="a local .env file would fill in the variables"
)
def test_it_refuses_to_start_in_production_without_a_secret_key():
    result = load_settings(DEBUG="false", CRYPTOGRAPHY_KEY="x" * 40)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


@pytest.mark.skipif(
    (BASE_DIR / ".env").exists(), reason="a local .env file would fill in the variables"
)
def test_it_refuses_to_start_in_production_without_a_cryptography_key():
    result = load_settings(DEBUG="false", SECRET_KEY="s" * 50)
    assert result.returncode != 0
    assert "CRYPTOGRAPHY_KEY is not set" in result.stderr


@pytest.mark.skipif(
    (BASE_DIR / ".env").exists(), reason="a local .env file would fill in the variables"
)
def test_it_starts_in_production_with_both_keys_and_redirects_to_https():
    result = load_settings(DEBUG="false", SECRET_KEY="s" * 50, CRYPTOGRAPHY_KEY="c" * 40)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


@pytest.mark.skipif(
    (BASE_DIR / ".env").exists(), reason="a local .env file would fill in the variables"
)
def test_it_starts_in_development_with_built_in_keys():
    result = load_settings(DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False"]
