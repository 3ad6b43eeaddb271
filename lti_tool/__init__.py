"""mentor-lti: the application factory."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from lti_tool import cookieless, hosts, security_headers, wording
from lti_tool.assessments.blueprint import bp as assessments_bp
from lti_tool.courses.blueprint import bp as courses_bp
from lti_tool.deep_linking.blueprint import bp as deep_linking_bp
from lti_tool.errors import register_error_handlers, register_input_checks
from lti_tool.extensions import csrf, db, engine_options, migrate
from lti_tool.gradebook.blueprint import bp as gradebook_bp
from lti_tool.health.blueprint import bp as health_bp
from lti_tool.lti.blueprint import bp as lti_bp
from lti_tool.matching.blueprint import bp as matching_bp
from lti_tool.mentoring.blueprint import bp as mentoring_bp
from lti_tool.profiles.blueprint import bp as profiles_bp
from lti_tool.programs.blueprint import bp as programs_bp
from lti_tool.resources import resource_path
from lti_tool.roster.blueprint import bp as roster_bp
from lti_tool.runtime import Runtime
from lti_tool.settings import load_settings
from lti_tool.statements.blueprint import bp as statements_bp
from lti_tool.surveys.blueprint import bp as surveys_bp


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app from layered settings; `overrides` (tests, commands) win over every other layer."""
    settings = load_settings(overrides)
    app = Flask(__name__, template_folder=str(resource_path("templates")), instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.sqlalchemy_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.sqlalchemy_url),
        SESSION_COOKIE_NAME="mentor_lti_session",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_SAMESITE=settings.cookie_samesite,
        SESSION_COOKIE_PARTITIONED=settings.cookie_partitioned and settings.cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
        MAX_CONTENT_LENGTH=4 * 1024 * 1024,
    )
    logging.getLogger("lti_tool").setLevel(settings.log_level)
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
            x_port=settings.trusted_proxies,
            x_prefix=settings.trusted_proxies,
        )

    hosts.init_app(app, settings)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(resource_path("migrations")))
    csrf.init_app(app)
    cookieless.init_app(app)
    app.extensions["mentor_lti"] = Runtime.build(settings)

    app.register_blueprint(lti_bp)
    app.register_blueprint(courses_bp)
    app.register_blueprint(statements_bp)
    app.register_blueprint(programs_bp)
    app.register_blueprint(profiles_bp)
    app.register_blueprint(matching_bp)
    app.register_blueprint(mentoring_bp)
    app.register_blueprint(roster_bp)
    app.register_blueprint(surveys_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(assessments_bp)
    app.register_blueprint(deep_linking_bp)
    app.register_blueprint(gradebook_bp)
    register_error_handlers(app)
    security_headers.init_app(app)
    register_input_checks(app)

    app.jinja_env.filters.update(wording.FILTERS)

    @app.context_processor
    def tool_identity() -> dict[str, str]:
        return {"tool_name": settings.tool_name}

    return app
