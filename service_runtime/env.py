"""Typed reads of `BETMESH_*` environment variables that collect every problem before failing.

Its own module, importing nothing of the runtime, so that every settings reader (the server's
settings.py, tls.py, shedding.py, dead_letters.py) can build on it without importing the
others: settings.py reads TLS settings, tls.py reads the environment, and neither imports the
other's module to do so. `service_runtime.settings` re-exports `Env` and `SettingsError`, the
names services use.
"""

from __future__ import annotations

import builtins
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NoReturn, TypeVar

T = TypeVar("T")


class SettingsError(RuntimeError):
    pass


# A configuration mistake is the operator's, not a crash: sysexits' EX_CONFIG.
EXIT_BAD_CONFIGURATION = 78


def from_env_or_exit(load: Callable[[], T]) -> T:
    """A process's settings, or one line on stderr naming what is wrong and exit 78: a
    traceback would bury the setting to fix under the runtime's frames."""
    try:
        return load()
    except SettingsError as exc:
        exit_bad_configuration(exc)


def exit_bad_configuration(error: SettingsError) -> NoReturn:
    message = str(error)
    if not message.startswith("invalid configuration"):
        message = f"invalid configuration: {message}"
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(EXIT_BAD_CONFIGURATION) from None


_MISSING = object()


@dataclass
class Env:
    """Reads `PREFIX + NAME` variables and collects every problem before failing."""

    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    prefix: str = "BETMESH_"
    problems: list[str] = field(default_factory=list)

    def _get(self, name: str, default: object, parse: Callable[[str], T], kind: str) -> T:
        key = self.prefix + name
        raw = self.environ.get(key)
        if raw is None or raw == "":
            if default is _MISSING:
                self.problems.append(f"{key} is required")
                return parse("0") if kind == "int" else None  # type: ignore[return-value]
            return default  # type: ignore[return-value]
        try:
            return parse(raw)
        except ValueError as exc:
            self.problems.append(f"{key}={raw!r} is not a valid {kind}: {exc}")
            return default if default is not _MISSING else None  # type: ignore[return-value]

    def str(self, name: builtins.str, default: object = _MISSING) -> builtins.str:
        return self._get(name, default, lambda v: v, "string")

    def int(self, name: builtins.str, default: object = _MISSING) -> builtins.int:
        return self._get(name, default, builtins.int, "int")

    def float(self, name: builtins.str, default: object = _MISSING) -> builtins.float:
        return self._get(name, default, builtins.float, "float")

    def bool(self, name: builtins.str, default: object = _MISSING) -> builtins.bool:
        def parse(v: builtins.str) -> builtins.bool:
            lowered = v.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError("expected true/false")

        return self._get(name, default, parse, "boolean")

    def list(self, name: builtins.str, default: object = _MISSING) -> builtins.list[builtins.str]:
        return self._get(
            name, default, lambda v: [p.strip() for p in v.split(",") if p.strip()], "list"
        )

    def require_positive(self, *values: tuple[builtins.str, builtins.int | builtins.float]) -> None:
        """A problem for each (NAME, value) not above zero, NAME without the prefix."""
        for name, value in values:
            if value <= 0:
                self.problems.append(f"{self.prefix}{name}={value!r} must be positive")

    def check(self) -> None:
        if self.problems:
            raise SettingsError("invalid configuration: " + "; ".join(self.problems))
