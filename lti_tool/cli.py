"""The `mentor-lti` command line: serve, demo, keys, platform registrations and database migrations."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup, with_appcontext

from lti_tool import create_app
from lti_tool.database import upgrade_database, with_database
from lti_tool.errors import MentorLtiError, click_error
from lti_tool.extensions import db
from lti_tool.gradebook.commands import scores as scores_command
from lti_tool.lti import registrations
from lti_tool.lti.invitations import create_invitation
from lti_tool.lti.tool_configuration import ToolConfiguration
from lti_tool.matching.commands import jobs as jobs_command
from lti_tool.matching.commands import match as match_command
from lti_tool.roster.commands import roster as roster_command
from lti_tool.runtime import runtime
from lti_tool.statements import commands as statement_commands

main = FlaskGroup(create_app=create_app, help="mentor-lti: an LTI 1.3 mentorship tool for Canvas and Moodle.")
main.add_command(statement_commands.lrs)
main.add_command(statement_commands.xapi)
main.add_command(match_command)
main.add_command(jobs_command)
main.add_command(roster_command)
main.add_command(scores_command)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64), help="Threads per worker.")
@with_appcontext
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Run the tool with gunicorn (several processes and threads): upgrades the database first."""
    from lti_tool.server import run_gunicorn

    upgrade_database()
    runtime().keys.signing_key()  # create the first key before workers race to
    run_gunicorn(host=host, port=port, workers=workers, threads=threads)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5001, show_default=True, type=int)
@click.option("--tool-url", default="http://127.0.0.1:5000", show_default=True, help="Where the tool is served.")
@click.option(
    "--preset",
    type=click.Choice(["moodle", "canvas"]),
    default="moodle",
    show_default=True,
    help="Behave like Moodle or Canvas where they differ (registration paths, roster paging).",
)
@with_appcontext
def sandbox(host: str, port: int, tool_url: str, preset: str) -> None:
    """Run the sandbox LMS (development and demos only; needs MENTOR_LTI_SANDBOX_ENABLED=1)."""
    from werkzeug.serving import run_simple

    from lti_tool.sandbox.advantage import Preset
    from lti_tool.sandbox.app import create_sandbox_app
    from lti_tool.sandbox.setup import build_sandbox, register_sandbox

    settings = runtime().settings
    if not settings.sandbox_enabled:
        raise click.ClickException("The sandbox LMS is off. Set MENTOR_LTI_SANDBOX_ENABLED=1 (development only).")
    upgrade_database()
    platform_ = build_sandbox(settings.instance_path, f"http://{host}:{port}", tool_url, preset=Preset(preset))
    register_sandbox(platform_)
    db.session.commit()
    click.echo(f"Sandbox LMS on http://{host}:{port}/ (registered with the tool at {tool_url})")
    run_simple(host, port, create_sandbox_app(platform_), threaded=True)


@main.command()
@click.option("--port", default=5000, show_default=True, type=int, help="The tool's port; the sandbox uses the next.")
def demo(port: int) -> None:
    """Start the tool and the sandbox LMS on 127.0.0.1 with embedded defaults (SQLite, local instance folder)."""
    from lti_tool.demo import run_demo

    run_demo(port)


@main.group()
def keys() -> None:
    """The tool's signing keys (published at /lti/jwks)."""


@keys.command("list")
@with_appcontext
def keys_list() -> None:
    """List published keys; the last one signs."""
    tool_keys = runtime().keys.keys()
    for index, key in enumerate(tool_keys):
        marker = "signing" if index == len(tool_keys) - 1 else "published"
        click.echo(f"{key.kid}  created {key.created_at:%Y-%m-%d %H:%M} UTC  {marker}")


@keys.command("rotate")
@with_appcontext
def keys_rotate() -> None:
    """Add a new signing key; the old ones stay published until retired."""
    key = runtime().keys.rotate()
    click.echo(
        f"New signing key {key.kid}. Retire the old one with `mentor-lti keys retire KID` once platforms "
        "have refreshed their copy of /lti/jwks."
    )


# Key ids are base64url thumbprints and may begin with "-": never read one as an option.
@keys.command("retire", context_settings={"ignore_unknown_options": True})
@click.argument("kid")
@with_appcontext
def keys_retire(kid: str) -> None:
    """Stop publishing key KID."""
    try:
        runtime().keys.retire(kid)
    except MentorLtiError as error:
        raise click_error(error) from error
    click.echo(f"Retired {kid}.")


@main.group()
def platform() -> None:
    """LMS platform registrations."""


@platform.command("add")
@click.option("--name", required=True, help="A name for this registration, e.g. 'Moodle production'.")
@click.option("--issuer", required=True, help="The platform's issuer (iss).")
@click.option("--client-id", required=True)
@click.option("--deployment-id", "deployment_ids", required=True, multiple=True, help="Repeat for several.")
@click.option("--auth-url", required=True, help="The platform's OIDC authorization endpoint.")
@click.option("--token-url", required=True, help="The platform's OAuth2 token endpoint.")
@click.option("--jwks-url", required=True, help="The platform's public key set URL.")
@click.option("--audience", default=None, help="Token audience if the platform requires one (rare).")
@with_database
def platform_add(
    name: str,
    issuer: str,
    client_id: str,
    deployment_ids: tuple[str, ...],
    auth_url: str,
    token_url: str,
    jwks_url: str,
    audience: str | None,
) -> None:
    """Register a platform (or add deployments to an existing registration)."""
    spec = registrations.PlatformSpec(
        name=name,
        issuer=issuer,
        client_id=client_id,
        deployment_ids=deployment_ids,
        auth_login_url=auth_url,
        auth_token_url=token_url,
        key_set_url=jwks_url,
        auth_audience=audience,
    )
    try:
        registered = registrations.register_platform(spec)
    except MentorLtiError as error:
        raise click_error(error) from error
    db.session.commit()
    deployments = ", ".join(d.deployment_id for d in registered.deployments)
    click.echo(
        f"Registered {registered.name}: issuer {registered.issuer}, client {registered.client_id}, "
        f"deployments {deployments}."
    )


@platform.command("list")
@with_database
def platform_list() -> None:
    """List registrations."""
    platforms = registrations.list_platforms()
    if not platforms:
        click.echo("No platforms registered. Add one with `mentor-lti platform add`.")
    for p in platforms:
        deployments = ", ".join(d.deployment_id for d in p.deployments)
        click.echo(
            f"{p.name}\n  issuer     {p.issuer}\n  client id  {p.client_id}\n  deployments {deployments}\n"
            f"  auth       {p.auth_login_url}\n  token      {p.auth_token_url}\n  jwks       {p.key_set_url}"
        )


@platform.command("remove")
@click.argument("name")
@with_database
def platform_remove(name: str) -> None:
    """Remove registration NAME (refused while courses hold data through it)."""
    try:
        registrations.remove_platform(name)
    except MentorLtiError as error:
        raise click_error(error) from error
    db.session.commit()
    click.echo(f"Removed {name}.")


@platform.command("register-url")
@click.option("--base-url", default=None, help="The tool's public base URL (default: the PUBLIC_BASE_URL setting).")
@with_database
def platform_register_url(base_url: str | None) -> None:
    """Create a one-time LTI Dynamic Registration link to paste into one Moodle or Canvas (and print the other
    install URLs)."""
    settings = runtime().settings
    base = (base_url or settings.public_base_url).rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise click.ClickException("Give --base-url https://mentor.example.edu, or set MENTOR_LTI_PUBLIC_BASE_URL.")
    tool = ToolConfiguration(base_url=base, name=settings.tool_name)
    secret, invitation = create_invitation()
    db.session.commit()
    click.echo(
        f"Dynamic registration URL: {tool.registration_url(secret)}\n"
        f"  (registers one LMS, until {invitation.expires_at:%Y-%m-%d %H:%M} UTC; revoke it on the admin page)\n"
        f"Canvas developer key JSON: {tool.canvas_json_url}\n"
        f"Admin page:               {tool.admin_url} (sign in with `mentor-lti platform admin-token`)"
    )


@platform.command("admin-token")
@with_appcontext
def platform_admin_token() -> None:
    """Print the token that signs in to the tool's admin page (/lti/admin)."""
    click.echo(runtime().settings.admin_token.get_secret_value())


@main.command("urls")
@click.option("--base-url", required=True, help="The tool's public base URL, e.g. https://mentor.example.edu")
def urls(base_url: str) -> None:
    """Print the URLs to paste into an LMS when registering the tool by hand."""
    base = base_url.rstrip("/")
    click.echo(
        f"OIDC login initiation URL: {base}/lti/login\nRedirect (launch) URL:     {base}/lti/launch\n"
        f"Target link URI:           {base}/lti/launch\nPublic JWKS URL:           {base}/lti/jwks"
    )
