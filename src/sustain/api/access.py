"""Who may do what through the API, in one place. Reading tables is scoped row by row in the
store's one query layer (sustain.scope); this says which changes each role may make:

- a coordinator changes scenario-wide data: uploads scenarios, adds users, and may do
  anything a planner may;
- a nation planner starts and cancels its own runs, moves its nation's pledges on (their
  lifecycle's events), and manages its own tokens;
- a viewer reads what its nation may read, and manages its own tokens.

A change a role may not make is refused with 403 before anything is touched.
"""

from __future__ import annotations

from fastapi import HTTPException, status

from sustain.store import Person

# action -> the roles that may take it
ALLOWED: dict[str, tuple[str, ...]] = {
    "upload scenario": ("coordinator",),
    "read scenario file": ("coordinator",),  # the file holds every nation's rows
    "start run": ("coordinator", "planner"),
    "cancel any run": ("coordinator",),
    "cancel own run": ("coordinator", "planner"),
    "add user": ("coordinator",),
    "manage any token": ("coordinator",),
    "read every user": ("coordinator",),
    "read all audit": ("coordinator",),
    "move any pledge": ("coordinator",),  # a planner moves its own nation's pledges
    "read every pledge event": ("coordinator",),  # others read their nation's
    "import a release": ("coordinator",),
}


# How a refusal says each: "a viewer may not start a run".
SAID = {
    "upload scenario": "upload a scenario",
    "read scenario file": "read a scenario's file (it holds every nation's rows)",
    "start run": "start a run",
    "cancel any run": "cancel another's run",
    "cancel own run": "cancel a run",
    "add user": "add a user",
    "manage any token": "manage another user's tokens",
    "read every user": "read every nation's users",
    "read all audit": "read every nation's changes",
    "move any pledge": "move another nation's pledge on",
    "read every pledge event": "read every nation's pledge events",
    "import a release": "import a release into a scenario",
}


def may(person: Person, action: str) -> bool:
    return person.role in ALLOWED[action]


def require(person: Person, action: str) -> None:
    """403 unless the person's role may take the action."""
    if not may(person, action):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"a {person.role} may not {SAID[action]}")
