"""Platform registrations (issuer, client, deployments), the invitations to register, and the shared LTI launch
state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.extensions import UTCDateTime, db, utcnow


class Platform(db.Model):  # type: ignore[name-defined,misc]
    """One LMS registration: an issuer and one of its client ids (Canvas has many per issuer)."""

    __tablename__ = "platform"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(500))
    auth_login_url: Mapped[str] = mapped_column(String(1000))
    auth_token_url: Mapped[str] = mapped_column(String(1000))
    key_set_url: Mapped[str] = mapped_column(String(1000))
    auth_audience: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    deployments: Mapped[list[Deployment]] = relationship(
        back_populates="platform", cascade="all, delete-orphan", order_by="Deployment.id"
    )


class Deployment(db.Model):  # type: ignore[name-defined,misc]
    """A deployment of the tool within a platform registration (a Moodle tool type, a Canvas installation)."""

    __tablename__ = "deployment"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"), index=True)
    deployment_id: Mapped[str] = mapped_column(String(500))

    platform: Mapped[Platform] = relationship(back_populates="deployments")


class LaunchState(db.Model):  # type: ignore[name-defined,misc]
    """Short-lived LTI state (OIDC state, nonces, launch data, platform key sets) shared by every worker."""

    __tablename__ = "lti_launch_state"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ServiceToken(db.Model):  # type: ignore[name-defined,misc]
    """An OAuth 2 access token for a platform's LTI Advantage services, reused until shortly before it expires.

    Shared by every worker through the database, so a burst of score posts asks the platform for one token.
    """

    __tablename__ = "lti_service_token"
    __table_args__ = (UniqueConstraint("platform_id", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(1000))  # the space-separated scopes, sorted
    access_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DynamicRegistration(db.Model):  # type: ignore[name-defined,misc]
    """One LTI Dynamic Registration attempt: its token is accepted once, and its outcome is kept for admins."""

    __tablename__ = "lti_dynamic_registration"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the registration token
    openid_configuration_url: Mapped[str] = mapped_column(String(1000))
    issuer: Mapped[str | None] = mapped_column(String(500))
    product: Mapped[str | None] = mapped_column(String(100))  # "moodle", "canvas", ...
    status: Mapped[str] = mapped_column(String(16), default="started")  # started | registered | failed
    error: Mapped[str | None] = mapped_column(Text)
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platform.id", ondelete="SET NULL"))
    response: Mapped[dict[str, object] | None] = mapped_column(JSON)  # the platform's answer, for support
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegistrationInvitation(db.Model):  # type: ignore[name-defined,misc]
    """A one-time link the tool's administrator hands to an LMS administrator: the only way to start a dynamic
    registration. Only the hash of its secret is stored; the first successful registration uses it up."""

    __tablename__ = "lti_registration_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the secret in the link's path
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("platform.id", ondelete="SET NULL"))
