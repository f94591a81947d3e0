"""The bot's commands and who sees them: one list for the menus, /help and the handlers."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_
from bot.roles import Role


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # a catalog message id, translated for each menu
    role: Role


COMMANDS: tuple[Command, ...] = (
    Command("start", N_("Start, or see what you can do"), Role.PARTICIPANT),
    Command("help", N_("What I can do for you"), Role.PARTICIPANT),
    Command("events", N_("Upcoming events"), Role.PARTICIPANT),
    Command("myevents", N_("The events you joined"), Role.PARTICIPANT),
    Command("story", N_("Share your experience"), Role.PARTICIPANT),
    Command("stories", N_("Read the stories others shared"), Role.PARTICIPANT),
    Command("propose", N_("Propose a practice for the manual"), Role.PARTICIPANT),
    Command("vote", N_("Vote on the manual's proposals"), Role.PARTICIPANT),
    Command("results", N_("Results of the votes"), Role.PARTICIPANT),
    Command("manual", N_("The manual's current draft"), Role.PARTICIPANT),
    Command("certificate", N_("A certificate of the events you attended"), Role.PARTICIPANT),
    Command("language", N_("Change your language"), Role.PARTICIPANT),
    Command("town", N_("Change your partner town"), Role.PARTICIPANT),
    Command("privacy", N_("What we store and why"), Role.PARTICIPANT),
    Command("mydata", N_("Get everything stored about you"), Role.PARTICIPANT),
    Command("deleteme", N_("Erase your data"), Role.PARTICIPANT),
    Command("queue", N_("Stories waiting for review"), Role.MODERATOR),
    Command("newevent", N_("Create an event"), Role.COORDINATOR),
    Command("attendance", N_("Who came to an event"), Role.COORDINATOR),
    Command("addproposal", N_("Add a proposal to the manual"), Role.COORDINATOR),
    Command("newround", N_("Open a vote on the proposals"), Role.COORDINATOR),
    Command("proposals", N_("Open or close proposals by participants"), Role.COORDINATOR),
    Command("chapter", N_("Add a chapter, or name one in a language"), Role.COORDINATOR),
    Command("broadcast", N_("Send an announcement"), Role.COORDINATOR),
    Command("broadcasts", N_("How your announcements are going"), Role.COORDINATOR),
    Command("stats", N_("Figures: participants, events, stories"), Role.COORDINATOR),
    Command("export", N_("CSV files for the report, and the moderation log"), Role.COORDINATOR),
    Command("pulse", N_("The attitude pulse: its survey and results"), Role.COORDINATOR),
    Command("report", N_("The funder's report for a period: PDF and CSV"), Role.COORDINATOR),
    Command("grant", N_("Give someone a staff role"), Role.ADMIN),
    Command("revoke", N_("Take a staff role away"), Role.ADMIN),
    Command("staff", N_("List the staff and their roles"), Role.ADMIN),
    Command("addtown", N_("Add a partner town"), Role.ADMIN),
)


def commands_for(roles: frozenset[Role]) -> list[Command]:
    return [command for command in COMMANDS if command.role in roles]
