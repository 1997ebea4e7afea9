"""Role profiles edited at run time: compile the whole text first, then swap the RoleBook's one reference.

The files in `roles_dir` are version 0 of each role; an edit stored in the governance store is version 1, 2,
... and replaces the file's profile on every replica. An edit may not change what kind of role it is: whether
it de-identifies, its scope, or whether that scope is reversible. Those decide what was promised about data
already disclosed, so they change only through the files and a restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from gateway.core.governance.model import StoredProfile
from gateway.core.roles import Role, RoleBook, compile_roles
from gateway.core.rules.profile import Profile, compile_profile
from gateway.errors import ConfigError, NotFound


@dataclass(frozen=True)
class RoleText:
    role: str
    text: str
    version: int  # 0: the file in roles_dir
    profile: Profile


class ProfileEditor:
    def __init__(self, book: RoleBook, roles_dir: Path) -> None:
        self._book = book
        self._base = book.snapshot()
        self._texts = {name: (roles_dir / f"{name}.yaml").read_text(encoding="utf-8") for name in self._base}
        self._stored: dict[str, StoredProfile] = {}

    def names(self) -> list[str]:
        return sorted(self._base)

    def current(self, role: str) -> RoleText:
        live = self._live(role)
        stored = self._stored.get(role)
        if stored is not None:
            return RoleText(role, stored.text, stored.version, live.profile)
        return RoleText(role, self._texts[role], 0, live.profile)

    def compile(self, role: str, text: str, *, version: int | None = None) -> Profile:
        """Compile a candidate text for `role`, or raise ConfigError naming the file, the key and the reason."""
        if role not in self._base:
            raise NotFound("no such role")
        base = self._base[role].profile
        source = f"{role}.yaml" + ("" if version is None else f" (version {version})")
        profile = compile_profile(role, profile_mapping(text, source), source=source)
        _same_kind(base, profile, source)
        return profile

    def apply(self, stored: Mapping[str, StoredProfile]) -> None:
        """Make the stored versions live: all compile, then one swap; or nothing changes."""
        roles: dict[str, Role] = dict(self._base)
        changed = {name: entry for name, entry in stored.items() if name in self._base}
        profiles = {name: self.compile(name, entry.text, version=entry.version) for name, entry in changed.items()}
        roles.update(compile_roles(profiles))
        self._book.swap(roles)
        self._stored = changed

    def _live(self, role: str) -> Role:
        live = self._book.get(role)
        if live is None or role not in self._base:
            raise NotFound("no such role")
        return live


def profile_mapping(text: str, source: str) -> Mapping[str, object]:
    """The YAML text as a mapping (the console's form reads it too), or ConfigError naming the line."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(source, f"line {mark.line + 1}" if mark else "(text)", "is not valid YAML") from None
    if not isinstance(data, Mapping):
        raise ConfigError(source, "(profile)", "a profile is a YAML mapping")
    return data


def _same_kind(base: Profile, new: Profile, source: str) -> None:
    if new.identity != base.identity:
        raise ConfigError(source, "identity", "cannot change at run time: edit the file in roles_dir and restart")
    if base.scope is None or new.scope is None:
        return
    if new.scope.name != base.scope.name:
        raise ConfigError(source, "scope.name", "cannot change at run time: pseudonyms already issued belong to it")
    if new.scope.reversible != base.scope.reversible:
        raise ConfigError(source, "scope.reversible", "cannot change at run time: it decides what was promised")
