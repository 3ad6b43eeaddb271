"""One-time invitations to register the tool dynamically: the tool's administrator creates one for each LMS, and
only a registration that presents one is started. The secret is in the link, never in the database (its SHA-256
is); the first successful registration uses it up, and it expires after INVITATION_LIFETIME."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update

from lti_tool.errors import NotFound
from lti_tool.extensions import db, utcnow
from lti_tool.lti.models import RegistrationInvitation

INVITATION_LIFETIME = timedelta(days=7)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_invitation() -> tuple[str, RegistrationInvitation]:
    """A new invitation and its secret, which only the link carries from now on. The caller commits."""
    secret = secrets.token_urlsafe(32)
    invitation = RegistrationInvitation(token_hash=_hash(secret), expires_at=utcnow() + INVITATION_LIFETIME)
    db.session.add(invitation)
    db.session.flush()
    return secret, invitation


def find_invitation(secret: str) -> RegistrationInvitation | None:
    """The invitation with this secret, used or expired too (the caller says which); None when there is none."""
    return db.session.execute(
        select(RegistrationInvitation).where(RegistrationInvitation.token_hash == _hash(secret))
    ).scalar_one_or_none()


def use_invitation(invitation_id: int, platform_id: int) -> bool:
    """Use the invitation up for `platform_id`, in the caller's transaction; False when another registration used
    it first (of two at once, only one commits a platform with it) or it expired meanwhile."""
    now = utcnow()
    used = db.session.execute(
        update(RegistrationInvitation)
        .where(
            RegistrationInvitation.id == invitation_id,
            RegistrationInvitation.used_at.is_(None),
            RegistrationInvitation.expires_at > now,
        )
        .values(used_at=now, platform_id=platform_id)
        .execution_options(synchronize_session=False)
    )
    return bool(used.rowcount)  # type: ignore[attr-defined]


def open_invitations() -> list[RegistrationInvitation]:
    """Invitations that still start a registration, newest first."""
    return list(
        db.session.execute(
            select(RegistrationInvitation)
            .where(RegistrationInvitation.used_at.is_(None), RegistrationInvitation.expires_at > utcnow())
            .order_by(RegistrationInvitation.id.desc())
        ).scalars()
    )


def revoke_invitation(invitation_id: int) -> None:
    """Withdraw an unused invitation (its link then answers as any unknown one). The caller commits."""
    deleted = db.session.execute(
        delete(RegistrationInvitation).where(
            RegistrationInvitation.id == invitation_id, RegistrationInvitation.used_at.is_(None)
        )
    )
    if not deleted.rowcount:  # type: ignore[attr-defined]
        raise NotFound("No such open registration link: it was used or revoked already.")
