"""The profile form: one radio group per skill of the program's framework, checked field by field and as a whole."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from lti_tool.courses.models import Membership
from lti_tool.number_fields import WholeNumberField
from lti_tool.profiles import services
from lti_tool.programs.models import Participant, Program, Skill
from lti_tool.programs.services import allowed_roles

LEVEL_FIELD_PREFIX = "level-"
MAX_LOOKED_UP = 100  # ticked people whose names one request looks up


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class MultiCheckboxField(SelectMultipleField):  # type: ignore[misc]
    """A multiple choice shown as checkboxes: easier with a keyboard and a touch screen than <select multiple>."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Our validators name the problem in words; the default one repeats the submitted value back.
        kwargs.setdefault("validate_choice", False)
        super().__init__(*args, **kwargs)


def one_of(allowed: Collection[str], message: str) -> Callable[[Any, Field], None]:
    def check(form: Any, field: Field) -> None:
        if field.data not in allowed:
            raise ValidationError(message)

    return check


def all_in(allowed: Collection[str], message: str) -> Callable[[Any, Field], None]:
    def check(form: Any, field: Field) -> None:
        if any(value not in allowed for value in field.data or ()):
            raise ValidationError(message)

    return check


def count_between(low: int, high: int, message: str) -> Callable[[Any, Field], None]:
    def check(form: Any, field: Field) -> None:
        if not low <= len(field.data or ()) <= high:
            raise ValidationError(message)

    return check


def known_timezone(form: Any, field: Field) -> None:
    if not services.is_valid_timezone(field.data or ""):
        raise ValidationError("Choose your time zone from the list, e.g. Europe/Paris or America/New_York.")


class ProfileForm(FlaskForm):  # type: ignore[misc]
    """The fields every program shares; `build_profile_form` adds one level field per skill."""

    wants_to_mentor = BooleanField("I want to mentor")
    wants_to_be_mentored = BooleanField("I want to be mentored")
    goals = MultiCheckboxField("Skills you want to work on", default=list)
    expertise = MultiCheckboxField("Skills you can help others with", default=list)
    preferences = MultiCheckboxField("People you would like to be matched with", default=list)
    people_query = StringField("Find people by name", filters=[_strip])
    availability = MultiCheckboxField(
        "When you are available each week",
        default=list,
        choices=[SelectChoice(slot) for slot in services.ALL_SLOTS],
        validators=[
            all_in(services.ALL_SLOTS, "Choose time slots from the grid."),
            count_between(1, len(services.ALL_SLOTS), "Choose at least one time slot when you could meet."),
        ],
    )
    timezone = SelectField("Your time zone", validate_choice=False, validators=[known_timezone])
    languages = MultiCheckboxField(
        "Languages you can meet in",
        default=list,
        choices=[SelectChoice(code, name) for code, name, _ in services.LANGUAGES],
        validators=[
            all_in(services.LANGUAGE_CODES, "Choose languages from the list."),
            count_between(1, len(services.LANGUAGES), "Choose at least one language."),
        ],
    )
    department = StringField(
        "Department or group (optional)",
        filters=[_strip],
        validators=[Length(max=services.MAX_DEPARTMENT, message=f"Use at most {services.MAX_DEPARTMENT} characters.")],
    )
    bio = TextAreaField(
        "Short bio (optional)",
        filters=[_strip],
        validators=[
            Length(
                max=services.MAX_BIO,
                message=f"Use at most {services.MAX_BIO} characters (you wrote %(length)d).",
            )
        ],
    )
    capacity = WholeNumberField(
        "How many mentees can you take?",
        validators=[
            Optional(),
            NumberRange(
                min=services.MIN_CAPACITY,
                max=services.MAX_CAPACITY,
                message=f"Choose a number from {services.MIN_CAPACITY} to {services.MAX_CAPACITY}.",
            ),
        ],
        invalid_message="Enter a whole number of mentees, such as 2.",
    )

    # Set by build_profile_form.
    may_mentor: bool
    may_be_mentored: bool
    skill_fields: list[tuple[Skill, RadioField]]
    chosen_people: list[services.Candidate]  # the people ticked, as far as they may be chosen
    people_search: services.CandidateSearch  # what the search box (empty: everyone, bounded) finds besides

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        mentor, mentee = bool(self.wants_to_mentor.data), bool(self.wants_to_be_mentored.data)
        cross: list[tuple[Field, str]] = []
        if mentor and not self.may_mentor:
            cross.append((self.wants_to_mentor, "This program does not let you be a mentor."))
        if mentee and not self.may_be_mentored:
            cross.append((self.wants_to_be_mentored, "This program does not let you be a mentee."))
        if not (mentor or mentee):
            role_field = self.wants_to_be_mentored if self.may_be_mentored else self.wants_to_mentor
            cross.append((role_field, "Choose at least one role."))
        if len(self.goals.data or ()) > services.MAX_GOALS:
            cross.append((self.goals, f"Choose at most {services.MAX_GOALS} goal skills."))
        elif mentee and not self.goals.data:
            cross.append((self.goals, "Choose 1 to 3 skills you want to work on with a mentor."))
        if mentor and self.capacity.data is None and not self.capacity.errors:
            cross.append(
                (
                    self.capacity,
                    f"Enter how many mentees you can take ({services.MIN_CAPACITY} to {services.MAX_CAPACITY}).",
                )
            )
        for field, message in cross:
            field.errors = [*field.errors, message]
        return valid and not cross

    @property
    def role_errors(self) -> list[str]:
        return [*self.wants_to_mentor.errors, *self.wants_to_be_mentored.errors]

    @property
    def role_anchor(self) -> str:
        return str(self.wants_to_mentor.id if self.may_mentor else self.wants_to_be_mentored.id)

    def error_summary(self) -> list[tuple[str, str, str]]:
        """(what, message, id of the control to jump to) for every error, in page order."""
        first_slot = f"{self.availability.id}-{services.ALL_SLOTS[0]}"
        entries: list[tuple[str, list[str], str]] = [("Your role", self.role_errors, self.role_anchor)]
        entries += [(f"Level in {skill.name}", field.errors, f"{field.id}-0") for skill, field in self.skill_fields]
        entries += [
            (str(self.goals.label.text), self.goals.errors, f"{self.goals.id}-0"),
            (str(self.expertise.label.text), self.expertise.errors, f"{self.expertise.id}-0"),
            (str(self.preferences.label.text), self.preferences.errors, self.people_query.id),
            (str(self.timezone.label.text), self.timezone.errors, self.timezone.id),
            (str(self.availability.label.text), self.availability.errors, first_slot),
            (str(self.languages.label.text), self.languages.errors, f"{self.languages.id}-0"),
            (str(self.department.label.text), self.department.errors, self.department.id),
            (str(self.bio.label.text), self.bio.errors, self.bio.id),
            (str(self.capacity.label.text), self.capacity.errors, self.capacity.id),
        ]
        return [(what, message, anchor) for what, messages, anchor in entries for message in messages]

    def skill_groups(self) -> list[tuple[str, list[tuple[Skill, RadioField]]]]:
        """The level fields grouped as the framework groups skills: technical, then soft."""
        groups = [
            ("Technical skills", [(s, f) for s, f in self.skill_fields if s.category == "technical"]),
            ("Soft skills", [(s, f) for s, f in self.skill_fields if s.category == "soft"]),
            ("Other skills", [(s, f) for s, f in self.skill_fields if s.category not in ("technical", "soft")]),
        ]
        return [(title, fields) for title, fields in groups if fields]

    def to_input(self) -> services.ProfileInput:
        mentor, mentee = bool(self.wants_to_mentor.data), bool(self.wants_to_be_mentored.data)
        return services.ProfileInput(
            wants_to_mentor=mentor,
            wants_to_be_mentored=mentee,
            skill_levels={skill.key: int(field.data) for skill, field in self.skill_fields},
            goals=_unique(self.goals.data),
            expertise=_unique(self.expertise.data),
            preferences=tuple(person.id for person in self.chosen_people),
            availability=_unique(self.availability.data),
            timezone=str(self.timezone.data),
            languages=_unique(self.languages.data),
            department=self.department.data or None,
            bio=self.bio.data or "",
            capacity=self.capacity.data if mentor else None,
        )


def _unique(values: Sequence[str] | None) -> list[str]:
    return list(dict.fromkeys(values or ()))


def level_field_name(skill: Skill) -> str:
    return f"{LEVEL_FIELD_PREFIX}{skill.key}"


def level_choices(skill: Skill) -> list[SelectChoice]:
    descriptors = list(skill.descriptors or [])
    labels = [services.NO_EXPERIENCE] + [
        descriptors[level - 1] if level <= len(descriptors) else f"Level {level}"
        for level in range(1, services.LEVEL_MAX + 1)
    ]
    return [SelectChoice(str(level), label) for level, label in enumerate(labels)]


def build_profile_form(
    program: Program, membership: Membership, participant: Participant | None, *, fill: bool
) -> ProfileForm:
    """The form for this program; `fill` pre-fills it from the saved profile (or defaults) instead of the request."""
    may_mentor, may_be_mentored = allowed_roles(program, membership)
    levels = [str(level) for level in range(services.LEVEL_MIN, services.LEVEL_MAX + 1)]
    attrs: dict[str, Any] = {
        level_field_name(skill): RadioField(
            skill.name,
            choices=level_choices(skill),
            validate_choice=False,
            validators=[
                InputRequired(message=f"Choose your level in {skill.name}."),
                one_of(levels, f"Choose a level from {services.LEVEL_MIN} to {services.LEVEL_MAX}."),
            ],
        )
        for skill in program.skills
    }
    form_class = type("ProgramProfileForm", (ProfileForm,), attrs)
    form: ProfileForm = form_class(data=_initial(program, membership, participant) if fill else None)
    form.may_mentor, form.may_be_mentored = may_mentor, may_be_mentored
    form.skill_fields = [(skill, form[level_field_name(skill)]) for skill in program.skills]
    skill_choices = [SelectChoice(skill.key, skill.name) for skill in program.skills]
    keys = {skill.key for skill in program.skills}
    form.goals.choices = skill_choices
    form.goals.validators = [all_in(keys, "Choose goals from the program's skills.")]
    form.expertise.choices = skill_choices
    form.expertise.validators = [all_in(keys, "Choose skills from the program's framework.")]
    # Looked up in one statement; a post of more people than anyone may choose is refused by count anyway.
    ticked = [int(value) for value in _unique(form.preferences.data) if value.isascii() and value.isdigit()]
    form.chosen_people = services.chosen_candidates(program, participant, ticked[:MAX_LOOKED_UP])
    form.people_search = services.search_candidates(program, participant, form.people_query.data or "")
    chosen_ids = {person.id for person in form.chosen_people}
    shown = form.chosen_people + [person for person in form.people_search.people if person.id not in chosen_ids]
    form.preferences.choices = [SelectChoice(str(person.id), person.name) for person in shown]
    form.preferences.validators = [
        all_in({str(person.id) for person in form.chosen_people}, "Choose people from this program."),
        count_between(0, services.MAX_PREFERENCES, f"Choose at most {services.MAX_PREFERENCES} people."),
    ]
    zones = list(services.timezone_choices())
    if form.timezone.data and form.timezone.data not in zones and services.is_valid_timezone(form.timezone.data):
        zones.insert(1, form.timezone.data)  # an older alias saved earlier stays selected
    form.timezone.choices = zones
    return form


def _initial(program: Program, membership: Membership, participant: Participant | None) -> dict[str, Any]:
    if participant is None:
        may_mentor, may_be_mentored = allowed_roles(program, membership)
        locale = (membership.user.locale or membership.course.locale or "").replace("_", "-")
        language = locale.split("-")[0].lower()
        return {
            # With a single possible role, it is the one they are here for.
            "wants_to_mentor": may_mentor and not may_be_mentored,
            "wants_to_be_mentored": may_be_mentored and not may_mentor,
            "timezone": "UTC",
            "languages": [language] if language in services.LANGUAGE_CODES else [],
            "capacity": program.default_capacity,
        }
    data: dict[str, Any] = {
        "wants_to_mentor": participant.wants_to_mentor,
        "wants_to_be_mentored": participant.wants_to_be_mentored,
        "goals": list(participant.goals or []),
        "expertise": list(participant.expertise or []),
        "preferences": [str(i) for i in participant.preferred_ids or []],
        "availability": list(participant.availability or []),
        "timezone": participant.timezone,
        "languages": list(participant.languages or []),
        "department": participant.department or "",
        "bio": participant.bio or "",
        "capacity": participant.capacity or program.default_capacity,
    }
    for key, level in (participant.skill_levels or {}).items():
        data[f"{LEVEL_FIELD_PREFIX}{key}"] = str(level)
    return data
