"""`make demo`: the whole app without a single real key.

Starts the local fakes (every AI provider, Meta's Graph API) on 127.0.0.1, points the app's
settings at them, migrates a demo SQLite database of its own, starts the web server and the task
consumer, and prints which keys, ids and numbers work there and which ones fail (to see the
errors). Ctrl+C stops everything.

    python -m devtools.demo [--port 8000] [--data-dir DIR] [--graph-latency-ms 0]

The fakes listen on the next ports (8001, 8002, …), the same on every run, so a custom
provider's base URL saved in the demo database keeps working after a restart.

Adding a fake: write a class with the DemoFake methods below and append it to DEMO_FAKES; the
launcher starts it on the next port of the series (handing it the fakes started before it, to
build on), puts its settings into the app's environment and prints its guide.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol

from devtools.fakes import graph
from devtools.fakes.meta_app import FakeMetaApp
from devtools.fakes.providers import VALID_KEYS, FakeProviders

BASE_DIR = Path(__file__).resolve().parent.parent
PROVIDER_LABELS = {  # as the Settings page names them (aiconfig.providers, not imported here)
    "gemini": "Google Gemini",
    "openai": "OpenAI (ChatGPT)",
    "deepseek": "DeepSeek",
    "groq": "Groq",
    "anthropic": "Anthropic (Claude)",
    "mistral": "Mistral AI",
    "openrouter": "OpenRouter",
    "custom": "Custom server",
}
# Keys every provider accepts, each answering like an account in trouble (as long as real
# keys: the registry refuses shorter ones before any call).
FAILING_KEYS = {
    "demo-no-credit-key-000000000000000000000000000000000000000000000": (
        "no_credit",
        "the account has no credit left",
    ),
    "demo-rate-limited-key-000000000000000000000000000000000000000000": (
        "rate_limited",
        "the provider is rate limiting the account",
    ),
    "demo-restricted-key-00000000000000000000000000000000000000000000": (
        "restricted",
        "the key may not use the model",
    ),
    "demo-server-error-key-000000000000000000000000000000000000000000": (
        "server_error",
        "the provider has an outage",
    ),
    "demo-garbage-key-00000000000000000000000000000000000000000000000": (
        "garbage",
        "the provider answers an HTML page",
    ),
    "demo-hang-key-00000000000000000000000000000000000000000000000000": (
        "hang",
        "the provider never answers (a timeout after 5 s)",
    ),
}
WORKING_RECIPIENT = "+1 650 555 1234"
# Recipient -> (Graph's send scenario, what it shows).
FAILING_RECIPIENTS = {
    "+1 555 010 0001": ("recipient_not_allowed", "a test number may not send to it"),
    "+1 555 010 0002": ("outside_window", "the 24-hour window is closed"),
    "+1 555 010 0003": ("undeliverable", "the number is not on WhatsApp"),
}
# Templates the demo's WhatsApp account already has at Meta.
DEMO_TEMPLATES = {
    "sunday_service": {
        "body": "Hello {{1}}, our Sunday service starts at {{2}}. We would love to see you!",
        "status": "APPROVED",
        "category": "MARKETING",
    },
    "appointment_reminder": {
        "body": "Hi {{first_name}}, this is a reminder of your meeting with the pastor on "
        "{{date}}. Reply if you need to change it.",
        "status": "APPROVED",
        "category": "UTILITY",
    },
    "christmas_eve": {
        "body": "Join us for the Christmas Eve candlelight service at {{1}}. Bring a friend!",
        "status": "PENDING",
        "category": "MARKETING",
    },
}
TEMPLATE_REVIEW_SECONDS = 10.0
PROVIDER_TIMEOUT = 5  # seconds: the "hang" key shows its timeout quickly
DELIVERY_STEP = 2.0  # seconds between a message's sent, delivered and read reports


class DemoFake(Protocol):
    """What the launcher needs from a fake."""

    def start(self, port: int, started: list[DemoFake]) -> None: ...
    def stop(self) -> None: ...
    def environment(self) -> dict[str, str]:
        """Settings (environment variables) that point the app at this fake."""
        ...

    def guide(self) -> str:
        """What works and what fails there, printed for the person trying the demo."""
        ...


class AIProvidersDemo:
    def start(self, port: int, started: list[DemoFake]) -> None:
        self.fake = FakeProviders()
        self.fake.key_scenarios = {key: scenario for key, (scenario, _) in FAILING_KEYS.items()}
        self.fake.start(port=port)

    def stop(self) -> None:
        self.fake.stop()

    def environment(self) -> dict[str, str]:
        urls = self.fake.base_urls()
        urls.pop("CUSTOM_BASE_URL")  # the custom provider's URL is the user's to enter
        return {
            **urls,
            # The custom provider's fake is on 127.0.0.1, which the guard refuses otherwise.
            "AI_ALLOW_PRIVATE_BASE_URLS": "true",
            "AI_PROVIDER_TIMEOUT": str(PROVIDER_TIMEOUT),
        }

    def guide(self) -> str:
        width = max(map(len, [*PROVIDER_LABELS.values(), *FAILING_KEYS])) + 2
        lines = ["AI provider (Settings > AI provider). These keys work:"]
        for provider, key in VALID_KEYS.items():
            lines.append(f"  {PROVIDER_LABELS[provider]:<{width}}{key}")
        custom_url = self.fake.base_urls()["CUSTOM_BASE_URL"]
        lines.append(f"  {'':<{width}}(custom server's base URL: {custom_url})")
        lines.append("These keys fail with every provider, to show the errors:")
        for key, (_, meaning) in FAILING_KEYS.items():
            lines.append(f"  {key:<{width}}{meaning}")
        lines.append(f"  {'any other key':<{width}}the provider does not know the key")
        return "\n".join(lines)


class GraphDemo:
    latency_ms = 0  # how late the fake Graph API answers each request (--graph-latency-ms)

    def start(self, port: int, started: list[DemoFake]) -> None:
        self.fake = graph.FakeGraph()
        self.fake.delay = self.latency_ms / 1000
        self.fake.recipient_scenarios = {
            _digits(number): scenario for number, (scenario, _) in FAILING_RECIPIENTS.items()
        }
        for name, fields in DEMO_TEMPLATES.items():
            self.fake.add_template(name, **fields)
        self.fake.decide_templates_after = TEMPLATE_REVIEW_SECONDS
        self.fake.start(port=port)

    def stop(self) -> None:
        self.fake.stop()

    def environment(self) -> dict[str, str]:
        return {"WHATSAPP_GRAPH_BASE_URL": self.fake.url + "/v25.0"}

    def guide(self) -> str:
        return "\n".join(
            [
                "WhatsApp (Settings > WhatsApp). These work:",
                f"  Phone number ID               {graph.PHONE_NUMBER_ID}",
                f"  WhatsApp Business Account ID  {graph.WABA_ID}",
                f"  Access token                  {graph.VALID_TOKEN}",
                "These fail, to show the errors:",
                f"  Access token {graph.EXPIRED_TOKEN}",
                "    has expired",
                f"  Access token {graph.NO_PERMISSION_TOKEN}",
                "    lacks the WhatsApp permissions",
                "  any other access token: Meta rejects it",
                f"  Business Account ID {graph.OTHER_WABA_ID}: the number is not in that account",
                "  any other phone number ID: Meta does not know it",
                f"Messages: send to {WORKING_RECIPIENT} (or any other number); these fail:",
                *(f"  {number}  {meaning}" for number, (_, meaning) in FAILING_RECIPIENTS.items()),
                "Templates (Messages > Templates > Sync now): "
                + ", ".join(f"{n} ({f['status'].lower()})" for n, f in DEMO_TEMPLATES.items()),
                f"  a submitted template is approved after {TEMPLATE_REVIEW_SECONDS:.0f} s "
                "(rejected if its name starts with 'reject'); press Sync now to see it",
                f"Meta's Graph API answers {self.latency_ms} ms late (--graph-latency-ms)."
                if self.latency_ms
                else "Meta's Graph API answers at once (--graph-latency-ms N: N ms late).",
            ]
        )


# Each one gets its own port after the app's, in this order. Append new fakes at the end.
class MetaAppDemo:
    """The Meta app's webhook side: its configuration page takes the webhook URL, and each
    message the fake Graph API accepts is then reported sent, delivered and read."""

    def start(self, port: int, started: list[DemoFake]) -> None:
        (graph_demo,) = [fake for fake in started if isinstance(fake, GraphDemo)]
        self.fake = FakeMetaApp(graph_demo.fake, step=DELIVERY_STEP)
        self.fake.start(port=port)

    def stop(self) -> None:
        self.fake.stop()

    def environment(self) -> dict[str, str]:
        return {}

    def guide(self) -> str:
        return "\n".join(
            [
                "Delivery reports (sent, delivered, read in the message history):",
                f"  1. Store the app secret {self.fake.app_secret} in Settings > WhatsApp.",
                f"  2. Open the fake Meta app at {self.fake.url}/ and paste the webhook URL and",
                "     verify token that Settings shows.",
                "  Its page then also sends the app a contact's message (STOP, START or any",
                "  text), a template's new status, and a quality update of the number.",
            ]
        )


DEMO_FAKES: list[type[DemoFake]] = [AIProvidersDemo, GraphDemo, MetaAppDemo]


def _digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


def app_environment(*, port: int, data_dir: Path, fakes: list[DemoFake]) -> dict[str, str]:
    """The app's settings for the demo: its own SQLite database and queue, the fakes."""
    # Set, not removed: the developer's own services (in the environment or .env) stay out.
    env = dict(os.environ)
    env.update(
        {
            "DEBUG": "true",
            "DATABASE_URL": f"sqlite:///{data_dir / 'demo.sqlite3'}",
            "HUEY_URL": "",  # the embedded SQLite queue
            "HUEY_SQLITE_PATH": str(data_dir / "demo-huey.sqlite3"),
            "CACHE_URL": "locmemcache://",
            "EMAIL_URL": "consolemail://",  # invitations and password resets print here
            "SITE_URL": f"http://127.0.0.1:{port}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    for fake in fakes:
        env.update(fake.environment())
    return env


def wait_until_serving(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"The web server stopped (exit code {server.returncode}).")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"The web server did not answer at {url} within {timeout:g} s.")


def banner(url: str, data_dir: Path, fakes: list[DemoFake]) -> str:
    rule = "=" * 78
    parts = [
        rule,
        f"Church Messaging demo: open {url} , choose Register and create a church.",
        "No real provider or Meta is reached: local fakes answer as they would.",
        f"Data: {data_dir / 'demo.sqlite3'} (delete it to start over). Emails print here.",
        rule,
        *(fake.guide() + "\n" for fake in fakes),
        "Ctrl+C stops the demo.",
        rule,
    ]
    return "\n".join(parts)


def start_fakes(fakes: list[DemoFake], port: int) -> list[DemoFake]:
    """Starts each fake on its port after the app's; returns those started (all, or the ones
    before a port that was taken, which the caller stops)."""
    started = []
    for offset, fake in enumerate(fakes, start=1):
        try:
            fake.start(port + offset, started)
        except OSError as exc:
            print(
                f"Port {port + offset} is taken ({exc.strerror}): choose other ports with "
                f"`make demo PORT=…` (the app's; the fakes take the {len(fakes)} after it).",
                file=sys.stderr,
            )
            break
        started.append(fake)
    return started


def start_app(env: dict[str, str], port: int) -> list[subprocess.Popen]:
    """Migrates the demo database, then starts the task consumer and the web server."""
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    print("Preparing the demo database…", flush=True)
    # Fixed arguments, our own interpreter and manage.py: nothing untrusted is executed.
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)  # noqa: S603
    consumer = subprocess.Popen([*manage, "run_huey", "--quiet"], env=env)  # noqa: S603
    server = subprocess.Popen(  # noqa: S603
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], env=env
    )
    return [consumer, server]


def stop(processes: list[subprocess.Popen], fakes: list[DemoFake]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    for fake in fakes:
        fake.stop()


def run(port: int, data_dir: Path, graph_latency_ms: int = 0) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    fakes: list[DemoFake] = [fake_class() for fake_class in DEMO_FAKES]
    for fake in fakes:
        if isinstance(fake, GraphDemo):
            fake.latency_ms = graph_latency_ms
    started: list[DemoFake] = []
    processes: list[subprocess.Popen] = []
    try:
        started = start_fakes(fakes, port)
        if len(started) < len(fakes):
            return 1
        processes = start_app(app_environment(port=port, data_dir=data_dir, fakes=fakes), port)
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, processes[-1])
        print(banner(url, data_dir, fakes), flush=True)
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        return 1  # one of them stopped on its own
    except KeyboardInterrupt:
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"The demo could not start: {exc}", file=sys.stderr)
        return 1
    finally:
        stop(processes, started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8000, help="the app's port (default 8000)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=BASE_DIR,
        help="where the demo database and queue live (default: beside manage.py)",
    )
    parser.add_argument(
        "--graph-latency-ms",
        type=_milliseconds,
        default=0,
        help="how late the fake Graph API answers each request, to feel a slow Meta (default 0)",
    )
    args = parser.parse_args(argv)
    # A SIGTERM (e.g. from a test or a process manager) stops the demo like Ctrl+C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    return run(args.port, args.data_dir.resolve(), args.graph_latency_ms)


def _milliseconds(value: str) -> int:
    try:
        milliseconds = int(value)
    except ValueError:
        milliseconds = -1
    if not 0 <= milliseconds <= 60_000:
        raise argparse.ArgumentTypeError("a whole number of milliseconds from 0 to 60000")
    return milliseconds


if __name__ == "__main__":
    sys.exit(main())
