"""Every audit event is recorded with a constant of organizations/audit.py (read from the
source: each `audit_record(action=...)` of the codebase), and the events recorded by the
system (credential health, the WhatsApp token's expiry) read as sentences on the Activity
page."""

import ast
import pathlib
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from organizations import audit
from organizations.models import AuditEvent

AUDIT_NAMES = {
    name for name, value in vars(audit).items() if name.isupper() and isinstance(value, str)
}
SKIPPED = {"e2e", "bench", "node_modules", "migrations", "tests", "__pycache__"}


def leaves(node: ast.AST) -> list[ast.AST]:
    """The values a literal container holds, at any depth ({k: (a, b)} -> [a, b])."""
    if isinstance(node, ast.Dict):
        return [leaf for value in node.values for leaf in leaves(value)]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [leaf for element in node.elts for leaf in leaves(element)]
    return [node]


class Module:
    """One source file: where names are bound, so that an `action=` argument can be followed
    back to what it was set from."""

    def __init__(self, path: pathlib.Path):
        self.path = path
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.parent = {
            child: node for node in ast.walk(self.tree) for child in ast.iter_child_nodes(node)
        }
        self.audit_modules = set()  # local names of organizations.audit
        self.audit_imports = set()  # constants imported from it by name
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module == "organizations":
                for alias in node.names:
                    if alias.name == "audit":
                        self.audit_modules.add(alias.asname or "audit")
            if isinstance(node, ast.ImportFrom) and node.module == "organizations.audit":
                for alias in node.names:
                    if alias.name in AUDIT_NAMES:
                        self.audit_imports.add(alias.asname or alias.name)

    def function_of(self, node: ast.AST) -> ast.FunctionDef | None:
        while node in self.parent:
            node = self.parent[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node
        return None

    def assigned(self, name: str, scope: ast.AST) -> list[ast.AST]:
        """The values `name` is assigned in `scope` (its own statements, not nested functions)."""
        values = []
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and self.function_of(node) is (
                None if scope is self.tree else scope
            ):
                if any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                    values.append(node.value)
        return values

    def is_constant(self, node: ast.AST, at: ast.AST, depth: int = 0) -> bool:
        """`node` (an expression found at `at`) can only be an organizations.audit constant."""
        if depth > 5:
            return False
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return node.value.id in self.audit_modules and node.attr in AUDIT_NAMES
        if isinstance(node, ast.IfExp):
            return all(self.is_constant(n, at, depth + 1) for n in (node.body, node.orelse))
        if isinstance(node, ast.Subscript):
            base = node
            while isinstance(base, ast.Subscript):
                base = base.value
            containers = self._values_of(base, at)
            return bool(containers) and all(
                self.is_constant(leaf, at, depth + 1)
                for container in containers
                for leaf in leaves(container)
            )
        if isinstance(node, ast.Name):
            if node.id in self.audit_imports:
                return True
            function = self.function_of(at)
            if function is not None and node.id in self._parameters(function):
                return self._callers_pass_constants(function.name, node.id, depth)
            values = self._values_of(node, at)
            return bool(values) and all(self.is_constant(v, v, depth + 1) for v in values)
        return False

    def _values_of(self, name: ast.AST, at: ast.AST) -> list[ast.AST]:
        if not isinstance(name, ast.Name):
            return []
        function = self.function_of(at)
        if function is not None:
            local = self.assigned(name.id, function)
            if local:
                return local
        return self.assigned(name.id, self.tree)

    @staticmethod
    def _parameters(function: ast.FunctionDef) -> set[str]:
        arguments = function.args
        every = arguments.posonlyargs + arguments.args + arguments.kwonlyargs
        return {a.arg for a in every}

    def _callers_pass_constants(self, function: str, parameter: str, depth: int) -> bool:
        """A parameter passed on to audit_record: every call of its function in this module
        passes a constant for it (a function called from elsewhere fails the test)."""
        calls = [call for call in self.calls(function)]
        return bool(calls) and all(
            any(
                k.arg == parameter and self.is_constant(k.value, call, depth + 1)
                for k in call.keywords
            )
            for call in calls
        )

    def calls(self, function: str) -> list[ast.Call]:
        return [
            node
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == function)
                or (isinstance(node.func, ast.Attribute) and node.func.attr == function)
            )
        ]


def source_files():
    for path in sorted(pathlib.Path(settings.BASE_DIR).glob("*/**/*.py")):
        if not SKIPPED.intersection(path.relative_to(settings.BASE_DIR).parts):
            yield path


def test_it_records_every_audit_event_with_a_constant_of_the_audit_module():
    offenders, seen = [], 0
    for path in source_files():
        module = Module(path)
        for call in module.calls("audit_record"):
            seen += 1
            action = next((k.value for k in call.keywords if k.arg == "action"), None)
            if action is None or not module.is_constant(action, call):
                where = path.relative_to(settings.BASE_DIR)
                offenders.append(f"{where}:{call.lineno}: {ast.unparse(action or call)}")
    assert seen > 20  # the scan found the calls
    assert offenders == []


def test_the_scan_catches_an_action_named_outside_the_audit_module(tmp_path):
    source = tmp_path / "elsewhere.py"
    source.write_text(
        "from organizations import audit\n"
        'LOCAL = "credential_health.needs_attention"\n'
        "def record(x):\n"
        "    audit_record(action=LOCAL)\n"
        "    audit_record(action=audit.AI_CONFIG_CREATED)\n"
        '    audit_record(action="ai_config.created")\n'
        "    audit_record(action=audit.NOT_A_CONSTANT)\n"
    )
    module = Module(source)
    verdicts = [module.is_constant(c.keywords[0].value, c) for c in module.calls("audit_record")]
    assert verdicts == [False, True, False, False]


@pytest.mark.django_db
def test_it_tells_the_system_events_as_sentences(team):
    expired = (timezone.now() - timedelta(days=1)).isoformat()
    expiring = (timezone.now() + timedelta(days=6)).isoformat()
    for action, target, metadata in (
        (
            audit.CREDENTIAL_NEEDS_ATTENTION,
            "AI provider key",
            {"error_code": "invalid_api_key", "source": "check"},
        ),
        (audit.CREDENTIAL_HEALTH_CLEARED, "WhatsApp connection", {"source": "save"}),
        (audit.WHATSAPP_TOKEN_EXPIRING, "123", {"expires_at": expiring}),
        (audit.WHATSAPP_TOKEN_EXPIRING, "123", {"expires_at": expired}),
    ):
        AuditEvent.objects.create(
            organization=team.org, action=action, target=target, metadata=metadata
        )
    client = Client()
    client.force_login(team.owner)
    page = client.get("/organization/activity/").content.decode()
    assert (
        "The AI provider key needs attention (invalid_api_key): the owners and admins were "
        "emailed" in page
    )
    assert "The WhatsApp connection works again, as a save showed" in page
    assert "warned by email that the WhatsApp access token expires on" in page
    assert "warned by email that the WhatsApp access token expired on" in page
    assert "credential_health" not in page and "token_expiring" not in page
