"""Every built-in action by name."""

from __future__ import annotations

from playbooks.actions.apply_template import ApplyTemplate
from playbooks.actions.base import Action, ActionError
from playbooks.actions.blocklist import AddToBlocklist
from playbooks.actions.case_actions import AddNote, AddTag, Assign, SetSeverity
from playbooks.actions.disable_user import DisableUser
from playbooks.actions.firewall_block import BlockAtFirewall
from playbooks.actions.isolate_host import IsolateHost
from playbooks.actions.notify import Notify
from playbooks.actions.ticket import CreateTicket

ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (AddToBlocklist(), CreateTicket(), Notify(), SetSeverity(), AddTag(), Assign(), AddNote(),
                   IsolateHost(), DisableUser(), BlockAtFirewall(), ApplyTemplate())
}


def get_action(name: str) -> Action | None:
    return ACTIONS.get(name)


def require_action(name: str) -> Action:
    """The action of a step that passed validation; ActionError if it has gone since (a
    definition saved before an action was removed from the code)."""
    action = ACTIONS.get(name)
    if action is None:
        raise ActionError(f"unknown action {name!r}")
    return action


def action_names() -> list[str]:
    return sorted(ACTIONS)
