"""Who may do what: the one authorisation check every service calls before it changes anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.db import Database, Transaction
from bot.errors import NotAllowed


class Role(StrEnum):
    PARTICIPANT = "participant"
    MODERATOR = "moderator"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class Permission(StrEnum):
    MANAGE_ROLES = "manage_roles"
    MANAGE_TOWNS = "manage_towns"
    MODERATE = "moderate"
    COORDINATE = "coordinate"


@dataclass(frozen=True)
class Roles:
    """The roles of one person, as loaded for one request."""

    telegram_id: int
    admin: bool = False
    moderator: bool = False
    network_coordinator: bool = False
    coordinator_towns: frozenset[int] = field(default_factory=frozenset)

    @property
    def names(self) -> frozenset[Role]:
        names = {Role.PARTICIPANT}
        if self.admin:
            # An admin may do everything, so their menu and /help show everything.
            names.update(Role)
        if self.moderator:
            names.add(Role.MODERATOR)
        if self.network_coordinator or self.coordinator_towns:
            names.add(Role.COORDINATOR)
        return frozenset(names)

    @property
    def sees_network(self) -> bool:
        """Acts for the whole network: an admin or a network coordinator."""
        return self.admin or self.network_coordinator

    @property
    def is_coordinator(self) -> bool:
        """Coordinates something: a town, the network, or everything as an admin."""
        return self.sees_network or bool(self.coordinator_towns)

    @property
    def is_staff(self) -> bool:
        return len(self.names) > 1

    def allows(self, permission: Permission, town_id: int | None = None) -> bool:
        if self.admin:
            return True
        if permission is Permission.MODERATE:
            return self.moderator
        if permission is Permission.COORDINATE:
            # A town coordinator acts for their town only; a network-wide action needs the network.
            if self.network_coordinator:
                return True
            return town_id is not None and town_id in self.coordinator_towns
        return False


class Authorizer:
    """Loads roles (admins from the configuration, the rest from the database) and refuses.

    A service checks inside the transaction that makes its change (``tx``), so a role taken away
    meanwhile cannot slip between the check and the change.
    """

    def __init__(self, db: Database, admins: frozenset[int]) -> None:
        self._db = db
        self._admins = admins

    @property
    def admins(self) -> frozenset[int]:
        return self._admins

    async def staff_ids(self) -> set[int]:
        """Everyone with a staff role, admins included."""
        rows = await self._db.fetchall("SELECT DISTINCT telegram_id FROM staff_roles")
        return {row[0] for row in rows} | set(self._admins)

    async def holders_of(self, role: Role, tx: Transaction | None = None) -> list[int]:
        """Everyone holding ``role``, for any town or the network (admins not included)."""
        rows = await (tx or self._db).fetchall(
            "SELECT DISTINCT telegram_id FROM staff_roles WHERE role = ? ORDER BY telegram_id",
            (role,),
        )
        return [row[0] for row in rows]

    async def coordinators_of(
        self, town_id: int | None, tx: Transaction | None = None
    ) -> list[int]:
        """The coordinators of a town and of the network; of the network only for ``None``."""
        rows = await (tx or self._db).fetchall(
            "SELECT DISTINCT telegram_id FROM staff_roles WHERE role = 'coordinator'"
            " AND (town_id IS NULL OR town_id IS ?) ORDER BY telegram_id",
            (town_id,),
        )
        return [row[0] for row in rows]

    async def roles_of(self, telegram_id: int, tx: Transaction | None = None) -> Roles:
        rows = await (tx or self._db).fetchall(
            "SELECT role, town_id FROM staff_roles WHERE telegram_id = ?", (telegram_id,)
        )
        return Roles(
            telegram_id=telegram_id,
            admin=telegram_id in self._admins,
            moderator=any(r["role"] == Role.MODERATOR for r in rows),
            network_coordinator=any(
                r["role"] == Role.COORDINATOR and r["town_id"] is None for r in rows
            ),
            coordinator_towns=frozenset(
                r["town_id"] for r in rows if r["role"] == Role.COORDINATOR and r["town_id"]
            ),
        )

    async def require_coordinator(self, telegram_id: int, tx: Transaction | None = None) -> Roles:
        """Any coordinator (of a town or the network); what they may touch is checked after."""
        roles = await self.roles_of(telegram_id, tx)
        if not roles.is_coordinator:
            raise NotAllowed()
        return roles

    async def require(
        self,
        telegram_id: int,
        permission: Permission,
        town_id: int | None = None,
        tx: Transaction | None = None,
    ) -> Roles:
        roles = await self.roles_of(telegram_id, tx)
        if not roles.allows(permission, town_id):
            raise NotAllowed()
        return roles
