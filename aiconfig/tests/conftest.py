import errno
import socket
import sys
import threading

import pytest


class ConnectRecorder:
    """Records every socket.connect() target in this process (via an audit hook) while a
    test runs; a connect to an address in `refuse` fails as if refused."""

    def __init__(self):
        self.targets: list = []
        self.refuse: set[str] = set()
        self._lock = threading.Lock()

    def hosts(self) -> list[str]:
        with self._lock:
            return [t[0] for t in self.targets if isinstance(t, tuple)]

    def _on_connect(self, address) -> None:
        with self._lock:
            self.targets.append(address)
        if isinstance(address, tuple) and address[0] in self.refuse:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "refused by the test")


_active_recorder: ConnectRecorder | None = None
_hook_installed = False


def _audit_hook(event, args):
    if event == "socket.connect" and _active_recorder is not None:
        _active_recorder._on_connect(args[1])


@pytest.fixture
def connect_attempts():
    """Every outgoing connection attempted during the test (audit hooks cannot be removed,
    so one hook is installed once and only records while this fixture is active)."""
    global _active_recorder, _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit_hook)
        _hook_installed = True
    _active_recorder = ConnectRecorder()
    yield _active_recorder
    _active_recorder = None


@pytest.fixture
def listener():
    """A listening socket on 127.0.0.1 that a blocked request must never reach. Use
    `listener.accepted()` to see whether anything connected."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)

    class Listener:
        port = sock.getsockname()[1]

        @staticmethod
        def accepted() -> int:
            count = 0
            while True:
                try:
                    conn, _ = sock.accept()
                except BlockingIOError:
                    return count
                conn.close()
                count += 1

    yield Listener
    sock.close()


@pytest.fixture
def closed_port():
    """A port on 127.0.0.1 where nothing listens (connection refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
