"""The launcher's port choice: a port it hands a child is one no outgoing connection can take
before the child binds it (CI once lost a mesh to that race)."""

from __future__ import annotations

import ast
import socket
from pathlib import Path

import pytest

from launcher import embedded


def test_ports_lie_outside_the_kernels_ephemeral_range() -> None:
    low, high = embedded._ephemeral_range()
    ports = [embedded.free_port() for _ in range(50)]
    assert all(not low <= port <= high for port in ports)
    assert all(port >= 1024 for port in ports)


def test_a_port_is_never_handed_out_twice() -> None:
    ports = [embedded.free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)


class _Scripted:
    """Picks the ports of a script, in order, whatever the span."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports

    def choice(self, spans: list[tuple[int, int]]) -> tuple[int, int]:
        return spans[0]

    def randint(self, first: int, last: int) -> int:
        return self.ports.pop(0)


def test_a_port_someone_holds_or_was_given_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        taken = int(held.getsockname()[1])
        given = embedded.free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            spare = int(probe.getsockname()[1])
        monkeypatch.setattr(embedded, "_PICK", _Scripted([taken, given, spare]))
        assert embedded.free_port() == spare


def test_an_unreadable_range_falls_back_to_linuxs_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(embedded, "EPHEMERAL_RANGE_FILE", tmp_path / "absent")
    assert embedded._ephemeral_range() == (32768, 60999)
    assert not 32768 <= embedded.free_port() <= 60999


# Where a socket bound to port 0 is kept (the child inherits it, or the probe is the test).
KEEPS_ITS_SOCKET = {"launcher/embedded.py", "launcher/mesh.py", "tests/unit/test_free_port.py"}


def _binds_port_zero(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "bind"
            and node.args
            and isinstance(node.args[0], ast.Tuple)
            and len(node.args[0].elts) == 2
            and isinstance(port := node.args[0].elts[1], ast.Constant)
            and port.value == 0
        ):
            return True
    return False


def test_no_code_picks_a_port_with_bind_zero_to_hand_on() -> None:
    """A port read back from bind(0) and given to another process is the race above: the bench
    and the tests take theirs from free_port too."""
    root = Path(__file__).resolve().parents[2]
    sources = [
        path
        for top in (
            "bench",
            "launcher",
            "scripts",
            "tests",
            "services",
            "gateway",
            "service_runtime",
        )
        for path in sorted((root / top).rglob("*.py"))
    ]
    offenders = [
        str(path.relative_to(root))
        for path in sources
        if str(path.relative_to(root)) not in KEEPS_ITS_SOCKET and _binds_port_zero(path)
    ]
    assert offenders == []
