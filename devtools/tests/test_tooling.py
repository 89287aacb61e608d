"""The commit hooks judge the code with the same tools, at the same versions, as `make lint`."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _dev_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_it_pins_the_hooks_to_the_dev_requirements():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {hook["id"] for hook in hooks} >= {"ruff-check", "ruff-format", "django-upgrade"}
    pins = _dev_pins()
    for hook in hooks:
        for requirement in hook.get("additional_dependencies", []):
            name, version = requirement.split("==")
            assert pins.get(name.lower()) == version, f"{hook['id']}: {requirement} != dev pin"


def test_it_upgrades_for_the_django_version_the_project_runs():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (upgrade,) = [h for r in config["repos"] for h in r["hooks"] if h["id"] == "django-upgrade"]
    django_pin = next(
        line.split("==")[1]
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.lower().startswith("django==")
    )
    target = upgrade["entry"].split("--target-version")[1].split()[0]
    assert django_pin.startswith(target + ".")
