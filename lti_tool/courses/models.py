"""People, courses, resource links and course memberships, as the LMS describes them in launches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ColumnElement, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_tool.extensions import UTCDateTime, db, utcnow
from lti_tool.lti.models import Deployment


class User(db.Model):  # type: ignore[name-defined,misc]
    """A person, keyed by the platform issuer and their LTI `sub` (stable across the issuer's client ids)."""

    __tablename__ = "lti_user"
    __table_args__ = (UniqueConstraint("issuer", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    sub: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(300))
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    locale: Mapped[str | None] = mapped_column(String(35))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @hybrid_property
    def display_name(self) -> str:
        return person_name(self.name, self.given_name, self.family_name)

    @display_name.inplace.expression
    @classmethod
    def _display_name_expression(cls) -> ColumnElement[str]:
        """The same name in SQL, so that pages of 10,000 people search and sort by it in the database."""
        full = func.trim(func.coalesce(cls.given_name, "") + " " + func.coalesce(cls.family_name, ""))
        return func.coalesce(func.nullif(cls.name, ""), func.nullif(full, ""), "Participant")

    @classmethod
    def name_contains(cls, query: str) -> ColumnElement[bool]:
        """People whose name contains `query` in any case (SQLite folds the case of ASCII letters only)."""
        return cls.display_name.icontains(query, autoescape=True)


def person_name(name: str | None, given_name: str | None, family_name: str | None) -> str:
    """A person's name as pages show it, from a user's columns (exports read the columns without the row): the
    name, else the given and family names that are set, else "Participant". Branches, not a join over a
    generator: an export names every participant of a program (issue 12)."""
    if name:
        return name
    if given_name and family_name:
        return f"{given_name} {family_name}"
    return given_name or family_name or "Participant"


class Course(db.Model):  # type: ignore[name-defined,misc]
    """An LMS context (course) within one deployment; all program data hangs off it."""

    __tablename__ = "course"
    __table_args__ = (UniqueConstraint("deployment_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"), index=True)
    context_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(500))
    label: Mapped[str | None] = mapped_column(String(200))
    # From the latest launch: later events (matches, sessions) need them for their statements' context.
    lms_product: Mapped[str | None] = mapped_column(String(100))
    locale: Mapped[str | None] = mapped_column(String(35))
    # LTI Advantage service endpoints from the latest launch that carried them.
    ags_lineitems_url: Mapped[str | None] = mapped_column(String(1000))
    ags_scopes: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    nrps_url: Mapped[str | None] = mapped_column(String(1000))
    roster_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    deployment: Mapped[Deployment] = relationship()

    @property
    def display_title(self) -> str:
        return self.title or self.label or "Untitled course"


class ResourceLink(db.Model):  # type: ignore[name-defined,misc]
    """A placement of the tool in a course (a link, a module item, a course navigation entry)."""

    __tablename__ = "resource_link"
    __table_args__ = (UniqueConstraint("course_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    resource_link_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(500))
    # Custom parameters of the latest launch (deep-linked items say what to open) and its AGS line item.
    custom: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    line_item_url: Mapped[str | None] = mapped_column(String(1000))


class Membership(db.Model):  # type: ignore[name-defined,misc]
    """A user's place in a course with the LTI roles of their latest launch."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("lti_user.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    course_role: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # None for people known from a roster sync (NRPS) who have not launched yet (a launch sets it).
    last_launch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    roster_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    course: Mapped[Course] = relationship()
