"""Staff roles: admins grant and revoke coordinator and moderator roles, and list who has which."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import audit
from bot.db import Database, Transaction, now_text
from bot.errors import InvalidInput
from bot.i18n import N_
from bot.roles import Authorizer, Permission, Role
from bot.towns import TownService

GRANTABLE = (Role.COORDINATOR, Role.MODERATOR)


@dataclass(frozen=True)
class StaffRole:
    telegram_id: int
    role: Role
    town_name: str | None


class StaffService:
    def __init__(self, db: Database, authz: Authorizer, towns: TownService) -> None:
        self._db = db
        self._authz = authz
        self._towns = towns

    async def export(self, telegram_id: int) -> dict[str, Any]:
        rows = await self._db.fetchall(
            "SELECT role, town_id, granted_at FROM staff_roles WHERE telegram_id = ? ORDER BY id",
            (telegram_id,),
        )
        towns = {town.id: town.name for town in await self._towns.list_towns()}
        return {
            "staff_roles": [
                {"role": r["role"], "town": towns.get(r["town_id"]), "granted_at": r["granted_at"]}
                for r in rows
            ]
        }

    async def forget(self, tx: Transaction, telegram_id: int) -> bool:
        """/deleteme: the person's roles go; the roles they granted stay, the granter unnamed."""
        tx.defer("UPDATE staff_roles SET granted_by = 0 WHERE granted_by = ?", (telegram_id,))
        return bool(
            await tx.execute("DELETE FROM staff_roles WHERE telegram_id = ?", (telegram_id,))
        )

    async def _parse(self, role_name: str, town_slug: str | None) -> tuple[Role, int | None]:
        try:
            role = Role(role_name.lower())
        except ValueError:
            role = None
        if role not in GRANTABLE:
            raise InvalidInput(N_("The role must be “coordinator” or “moderator”."))
        if role is Role.MODERATOR and town_slug:
            raise InvalidInput(N_("Moderators work for the whole network; leave out the town."))
        town_id = (await self._towns.by_slug(town_slug)).id if town_slug else None
        return role, town_id

    async def grant(
        self, actor_id: int, target_id: int, role_name: str, town_slug: str | None = None
    ) -> bool:
        """Give a role; return False if the person had it already."""
        await self._authz.require(actor_id, Permission.MANAGE_ROLES)
        role, town_id = await self._parse(role_name, town_slug)
        async with self._db.transaction() as tx:
            added = await tx.execute(
                "INSERT OR IGNORE INTO staff_roles (telegram_id, role, town_id, granted_by,"
                " granted_at) VALUES (?, ?, ?, ?, ?)",
                (target_id, role.value, town_id, actor_id, now_text()),
            )
            if added:
                audit.record(tx, actor_id, "grant", str(target_id), _detail(role, town_slug))
        return bool(added)

    async def revoke(
        self, actor_id: int, target_id: int, role_name: str, town_slug: str | None = None
    ) -> bool:
        """Take a role away; return False if the person did not have it."""
        await self._authz.require(actor_id, Permission.MANAGE_ROLES)
        role, town_id = await self._parse(role_name, town_slug)
        async with self._db.transaction() as tx:
            removed = await tx.execute(
                "DELETE FROM staff_roles WHERE telegram_id = ? AND role = ?"
                " AND IFNULL(town_id, 0) = IFNULL(?, 0)",
                (target_id, role.value, town_id),
            )
            if removed:
                audit.record(tx, actor_id, "revoke", str(target_id), _detail(role, town_slug))
        return bool(removed)

    async def list_staff(self, actor_id: int) -> list[StaffRole]:
        await self._authz.require(actor_id, Permission.MANAGE_ROLES)
        rows = await self._db.fetchall(
            "SELECT r.telegram_id, r.role, t.name AS town_name FROM staff_roles r"
            " LEFT JOIN towns t ON t.id = r.town_id ORDER BY r.role, t.name, r.telegram_id"
        )
        return [StaffRole(row["telegram_id"], Role(row["role"]), row["town_name"]) for row in rows]


def _detail(role: Role, town_slug: str | None) -> str:
    return f"{role.value}:{town_slug}" if town_slug else role.value
