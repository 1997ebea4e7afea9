"""The live set of roles: each a compiled profile and, for de-identifying roles, its engine.

The set is swapped as one reference, so a reload is all-or-nothing and a request keeps the role it started with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.core.rules.engine import Engine
from gateway.core.rules.profile import Profile, load_profiles
from gateway.core.transactions import Transaction
from gateway.errors import Forbidden


@dataclass(frozen=True)
class Role:
    profile: Profile
    engine: Engine | None  # None for identity profiles

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def identity(self) -> bool:
        return self.profile.identity


def compile_roles(profiles: Mapping[str, Profile]) -> dict[str, Role]:
    return {
        name: Role(profile, None if profile.identity else Engine(profile)) for name, profile in profiles.items()
    }


class RoleBook:
    def __init__(self, roles: Mapping[str, Role]) -> None:
        self._roles = dict(roles)

    @classmethod
    def load(cls, roles_dir: Path) -> RoleBook:
        return cls(compile_roles(load_profiles(roles_dir)))

    def swap(self, roles: Mapping[str, Role]) -> None:
        self._roles = dict(roles)

    def names(self) -> list[str]:
        return sorted(self._roles)

    def get(self, name: str) -> Role | None:
        return self._roles.get(name)

    def snapshot(self) -> dict[str, Role]:
        return dict(self._roles)

    def authorize(self, role_name: str, transaction: Transaction) -> Role:
        role = self._roles.get(role_name)
        if role is None:
            # A key bound to a role with no profile is refused, never passed through.
            raise Forbidden("this role has no de-identification profile")
        if transaction.permission.value not in role.profile.permissions:
            raise Forbidden(f"role {role_name!r} may not use {transaction.name}")
        return role
