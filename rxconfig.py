"""Reflex configuration: everything comes from leadapp.core.settings (one settings object)."""

import reflex as rx

from leadapp.core.settings import get_settings

settings = get_settings()

config = rx.Config(
    app_name="leadapp",
    db_url=settings.database_url,
    # With REFLEX_STATE_IN_REDIS=true, Reflex keeps page state in Redis so several backend workers
    # (and machines) can serve the same tabs; otherwise one worker keeps it in memory.
    redis_url=settings.redis_url if settings.reflex_state_in_redis else None,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(theme=rx.theme(appearance="inherit", accent_color="indigo", radius="medium")),
        rx.plugins.SitemapPlugin(),
    ],
)
