"""People: the caller, users of each nation with a role, their tokens, the nations, and the
audit log (read-only for everyone: it is written only with the change it records)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from sustain.api.access import may, require
from sustain.api.deps import COMMON, Caller, StoreDep
from sustain.api.schemas import AuditEntry, Error, NewToken, NewUser, Revoked, User

router = APIRouter(tags=["people"], responses=COMMON)
REFUSED: dict[int | str, dict[str, Any]] = {403: {"model": Error}, 404: {"model": Error}}


@router.get("/me")
def me(person: Caller) -> User:
    """Who the token is of."""
    return User.of(person)


@router.get("/nations")
def nations(person: Caller, store: StoreDep) -> list[str]:
    """The nations that have users."""
    return store.nations()


@router.get("/users")
def users(person: Caller, store: StoreDep) -> list[User]:
    """Users: every one for coordinators, those of the caller's nation for anyone else."""
    nation = None if may(person, "read every user") else person.nation
    return [User.of(p) for p in store.users(nation)]


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    responses={403: {"model": Error}, 409: {"model": Error}},
)
def add_user(user: NewUser, person: Caller, store: StoreDep) -> NewToken:
    """Add a user of a nation with a role (coordinators), and their first token, shown once."""
    require(person, "add user")
    added = store.add_user(user.name, user.nation, user.role, by=person.name)
    token = store.issue_token(added.name, by=person.name)
    return NewToken(user=added.name, token=token, prefix=token.partition(".")[0])


@router.post("/users/{name}/tokens", status_code=status.HTTP_201_CREATED, responses=REFUSED)
def issue_token(name: str, person: Caller, store: StoreDep) -> NewToken:
    """A new token for a user (their own, or anyone's for coordinators), shown once."""
    if name != person.name:
        require(person, "manage any token")
    token = store.issue_token(name, by=person.name)
    return NewToken(user=name, token=token, prefix=token.partition(".")[0])


@router.delete("/tokens/{prefix}", responses=REFUSED)
def revoke_token(prefix: str, person: Caller, store: StoreDep) -> Revoked:
    """Revoke a token by its prefix (the part before the dot): one's own, or anyone's for
    coordinators. It stops working at once, on every server of the store."""
    if store.token_owner(prefix) != person.name:
        require(person, "manage any token")
    store.revoke_token(prefix, by=person.name)
    return Revoked(prefix=prefix, revoked=True)


@router.get("/audit")
def audit(person: Caller, store: StoreDep) -> list[AuditEntry]:
    """Every change, oldest first (coordinators); the changes made by the caller's nation's
    users for anyone else."""
    nation = None if may(person, "read all audit") else person.nation
    return [AuditEntry.model_validate(entry) for entry in store.audit(nation)]


__all__ = ["router"]
