"""The rooms hold: no domain and no service layer imports gRPC, a database, Redis, HTTP or chain
clients, or an adapter (servicer -> service layer -> domain -> adapters, docs/conventions.md).
Read from the source (imports as written), so it runs without any of them installed."""

from __future__ import annotations

import ast
import sys
from collections.abc import Collection
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Infrastructure libraries: only adapters, servicers, app.py and the runtime talk to these.
INFRASTRUCTURE = frozenset(
    {
        "aiohttp",
        "asyncpg",
        "boto3",
        "botocore",
        "eth_account",
        "grpc",
        "httpx",
        "psycopg",
        "psycopg2",
        "redis",
        "sqlalchemy",
        "web3",
    }
)
LAYERS = ("domain", "service_layer")


def layer_files() -> list[Path]:
    found: list[Path] = []
    for service in [*sorted((ROOT / "services").iterdir()), ROOT / "gateway"]:
        for layer in LAYERS:
            found += sorted((service / layer).rglob("*.py"))
    return found


def imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_the_layers_exist_where_the_docs_say() -> None:
    files = {str(p.relative_to(ROOT)) for p in layer_files()}
    for expected in (
        "services/live/service_layer/handlers.py",
        "services/live/service_layer/streams.py",
        "services/live/domain/ingest.py",
        "services/live/domain/stream/subscriber.py",
        "services/bets/service_layer/handlers.py",
        "services/bets/service_layer/placing.py",
        "services/bets/service_layer/settling.py",
        "services/bets/service_layer/cash_out.py",
        "services/bets/service_layer/queries.py",
        "services/bets/service_layer/chain_recheck.py",
        "services/bets/service_layer/feeds.py",
        "services/bets/service_layer/wallet.py",
        "services/bets/domain/placing.py",
        "services/bets/domain/limits.py",
        "services/bets/domain/live_delay.py",
        "services/bets/domain/settling.py",
        "services/bets/domain/voiding.py",
        "services/bets/domain/cash_out.py",
        "services/bets/domain/queries.py",
        "services/bets/domain/exposure.py",
        "services/quotes/service_layer/handlers.py",
        "services/quotes/service_layer/snapshots.py",
        "services/oracle/domain/reports.py",
        "services/oracle/service_layer/handlers.py",
        "services/oracle/service_layer/publishing.py",
        "services/identity/service_layer/handlers.py",
        "services/identity/service_layer/accounts.py",
        "services/identity/service_layer/kyc.py",
        "services/identity/service_layer/sweep.py",
        "services/identity/service_layer/franceconnect.py",
        "services/signer/service_layer/handlers.py",
        "services/signer/domain/ports.py",
        "gateway/service_layer/commands.py",
        "gateway/service_layer/handlers.py",
        "gateway/service_layer/consensus.py",
        "gateway/service_layer/fanout.py",
        "gateway/service_layer/guard.py",
        "gateway/service_layer/canary.py",
        "gateway/service_layer/scheduler.py",
        "gateway/service_layer/rtp_steering.py",
        "gateway/domain/fixtures.py",
        "gateway/domain/gateway.py",
        "gateway/domain/guard.py",
        "gateway/domain/canary.py",
        "gateway/domain/scheduler.py",
        "services/edge/service_layer/forwarding.py",
        "services/edge/service_layer/sign_in.py",
        "services/edge/service_layer/webhooks.py",
        "services/edge/service_layer/ports.py",
        "services/edge/domain/signin.py",
        "services/edge/domain/methods.py",
        "services/edge/domain/forwarding.py",
        "services/edge/domain/framing.py",
        "services/edge/domain/client_address.py",
        "services/edge/domain/cors.py",
    ):
        assert expected in files


@pytest.mark.parametrize("path", layer_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_domains_and_service_layers_touch_no_infrastructure(path: Path) -> None:
    wrong = [
        name
        for name in imports(path)
        if name.split(".")[0] in INFRASTRUCTURE or ".adapters" in f".{name}"
    ]
    assert wrong == [], f"{path.relative_to(ROOT)} imports {wrong}"


def servicer_files() -> list[Path]:
    return sorted(
        [*(ROOT / "services").glob("*/*servicer.py"), *(ROOT / "gateway").glob("*servicer.py")]
    )


# What a servicer may talk to besides its own layers: gRPC, and nothing of the infrastructure.
SERVICER_FORBIDDEN = INFRASTRUCTURE - {"grpc"}


@pytest.mark.parametrize("path", servicer_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_servicers_translate_and_never_reach_an_adapter(path: Path) -> None:
    wrong = [
        name
        for name in imports(path)
        if name.split(".")[0] in SERVICER_FORBIDDEN or ".adapters" in f".{name}"
    ]
    assert wrong == [], f"{path.relative_to(ROOT)} imports {wrong}"
    # Where a service has a service layer, its servicer goes through it.
    service = path.parent
    if (service / "service_layer").is_dir() and path.name == "servicer.py":
        assert any(".service_layer" in name for name in imports(path)), path


# The edge's servicers: aiohttp handlers (HTTP in, commands to its service layer, answers out).
EDGE_HANDLERS = ("services/edge/grpc_web.py", "services/edge/http_routes.py")
# What they may talk to besides its own layers: aiohttp, and nothing of the infrastructure.
EDGE_HANDLER_FORBIDDEN = INFRASTRUCTURE - {"aiohttp"}


@pytest.mark.parametrize("handler", EDGE_HANDLERS)
def test_the_edge_handlers_translate_and_go_through_its_service_layer(handler: str) -> None:
    names = imports(ROOT / handler)
    wrong = [
        name
        for name in names
        if name.split(".")[0] in EDGE_HANDLER_FORBIDDEN or ".adapters" in f".{name}"
    ]
    assert wrong == [], f"{handler} imports {wrong}"
    assert any(name.startswith("services.edge.service_layer") for name in names), handler


def test_every_grpc_service_has_a_service_layer() -> None:
    without = [
        str(servicer.parent.relative_to(ROOT))
        for servicer in sorted(
            [*(ROOT / "services").glob("*/servicer.py"), ROOT / "gateway/servicer.py"]
        )
        if not (servicer.parent / "service_layer" / "handlers.py").is_file()
    ]
    assert without == []
    # The edge has no gRPC servicer (its handlers are aiohttp's), but the same rooms.
    assert (ROOT / "services/edge/service_layer/forwarding.py").is_file()


# Every service's ports, the gateway's included.
PORTS_CHECKED = (
    "services/bets",
    "services/edge",
    "services/identity",
    "services/live",
    "services/oracle",
    "services/quotes",
    "services/signer",
    "gateway",
)


def _is_protocol(node: ast.ClassDef) -> bool:
    return any(isinstance(b, ast.Name) and b.id == "Protocol" for b in node.bases)


def _empty(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return all(
        isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and s.value.value is ...
        for s in body
    )


@pytest.mark.parametrize("service", PORTS_CHECKED)
def test_ports_live_in_ports_modules_and_hold_no_code(service: str) -> None:
    """A service's ports are typing.Protocols in domain/ports.py (stores, providers, what the
    rules and use cases go through) or service_layer/ports.py (what only orchestration needs),
    so every service shows its outside world in the same two files; those hold no code."""
    misplaced: list[str] = []
    coded: list[str] = []
    for layer in LAYERS:
        for path in sorted((ROOT / service / layer).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            tree = ast.parse(path.read_text(), where)
            for node in tree.body:
                if (
                    isinstance(node, ast.ClassDef)
                    and _is_protocol(node)
                    and path.name != "ports.py"
                ):
                    misplaced.append(f"{where}: {node.name}")
            if path.name == "ports.py":
                coded += [
                    f"{where}: {node.name}"
                    for node in ast.walk(tree)
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and not _empty(node)
                ]
    assert misplaced == []
    assert coded == []


# Where import cycles are looked for. An import inside a function or under TYPE_CHECKING is how
# a cycle hides (settings.py and tls.py once imported each other that way), so those count too:
# every import under service_runtime/ (the base every process stands on), every import but
# TYPE_CHECKING ones elsewhere (a cycle of annotations only never runs).
CYCLE_PACKAGES = ("service_runtime", "services", "gateway", "launcher")
STRICT_PACKAGES = ("service_runtime",)


def _module_files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for package in CYCLE_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def _imported(path: Path, known: Collection[str], strict: bool) -> set[str]:
    """The modules of `known` that `path` imports, at any depth of its code."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if (
                not strict
                and isinstance(child, ast.If)
                and "TYPE_CHECKING" in ast.unparse(child.test)
            ):
                for statement in child.orelse:
                    visit(statement)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for alias in child.names:
                    # `from package import module` needs the module; the package is already
                    # being imported when one of its modules does this.
                    submodule = f"{child.module}.{alias.name}"
                    found.add(submodule if submodule in known else child.module)
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return found & set(known)


def import_cycles() -> list[list[str]]:
    files = _module_files()
    graph = {
        module: sorted(_imported(path, files, module.split(".")[0] in STRICT_PACKAGES) - {module})
        for module, path in files.items()
    }
    cycles: list[list[str]] = []
    done: set[str] = set()
    for start in sorted(graph):
        # Depth-first from each module; a path back to a module on it is a cycle.
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        seen: set[str] = set()
        while stack:
            module, path = stack.pop()
            for target in graph[module]:
                if target == start:
                    cycles.append([*path, start])
                elif target not in seen and target not in done:
                    seen.add(target)
                    stack.append((target, [*path, target]))
        done.add(start)
    return cycles


def test_no_import_cycles() -> None:
    assert import_cycles() == []


def test_the_cycle_check_sees_imports_inside_functions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check itself: a cycle closed by an import inside a function is found."""
    package = tmp_path / "service_runtime"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "one.py").write_text("from service_runtime.two import b\n")
    (package / "two.py").write_text("def b() -> None:\n    from service_runtime.one import a\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "CYCLE_PACKAGES", ("service_runtime",))
    assert import_cycles() == [
        ["service_runtime.one", "service_runtime.two", "service_runtime.one"]
    ]


def _names_in(annotation: ast.expr | None) -> set[str]:
    return {n.id for n in ast.walk(annotation) if isinstance(n, ast.Name)} if annotation else set()


def _members(node: ast.ClassDef) -> dict[str, set[str]]:
    """Each field and method of a class -> the names its annotation (or return) names."""
    found: dict[str, set[str]] = {}
    for item in node.body:
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            found[item.target.id] = _names_in(item.annotation)
        elif isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[item.name] = _names_in(item.returns)
    return found


def _use_cases_of(
    expr: ast.expr, mine: dict[str, set[str]], aliases: dict[str, set[str]], known: Collection[str]
) -> set[str]:
    """The use cases `expr` stands for: self.<field>, self.<method>(), or a name given one."""
    if isinstance(expr, ast.Call):
        expr = expr.func
    if isinstance(expr, ast.Name):
        return aliases.get(expr.id, set())
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        return mine.get(expr.attr, set()) & set(known) if expr.value.id == "self" else set()
    return set()


def test_handlers_reach_ports_only_through_their_own_fields() -> None:
    """A gateway use case keeps the ports it needs as its own fields: it never reaches through
    another use case's port (`self.gateway.dissents.list(...)`, `self._guard().holds`), which
    hides what it depends on and lets it write past the other's rules."""
    ports: set[str] = set()
    for module in ("domain", "service_layer"):
        tree = ast.parse((ROOT / "gateway" / module / "ports.py").read_text())
        ports |= {n.name for n in tree.body if isinstance(n, ast.ClassDef) and _is_protocol(n)}
    classes = {
        node.name: node
        for path in sorted((ROOT / "gateway" / "service_layer").glob("*.py"))
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.ClassDef) and not _is_protocol(node)
    }
    members = {name: _members(node) for name, node in classes.items()}
    port_fields = {
        name: {field for field, names in typed.items() if names & ports}
        for name, typed in members.items()
    }
    reached: list[str] = []
    for name, node in classes.items():
        for function in ast.walk(node):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            aliases: dict[str, set[str]] = {}
            for statement in ast.walk(function):
                if isinstance(statement, ast.Assign):
                    for target in statement.targets:
                        if isinstance(target, ast.Name):
                            aliases[target.id] = _use_cases_of(
                                statement.value, members[name], aliases, classes
                            )
                if isinstance(statement, ast.Attribute):
                    for other in _use_cases_of(statement.value, members[name], aliases, classes):
                        if statement.attr in port_fields[other]:
                            reached.append(
                                f"{name}.{function.name}: {other}.{statement.attr} "
                                f"(line {statement.lineno})"
                            )
    assert reached == []
