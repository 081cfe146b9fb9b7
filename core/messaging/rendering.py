"""The Jinja2 environment every message and page is rendered with, outside any web request.

Workers render e-mails and plugins render through their context, so the environment lives here and
not in ``web/``: the web app adds its page templates on top (``web/templating.py``). Autoescaping
is on for every template: tenant and customer text are untrusted. Plugin template folders are
searched first, so a plugin can add templates or override built-in ones.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from recaudo.core.platform.host import get_host

#: Messages to customers (``email/…``): the same files for the web process and the workers.
TEMPLATES = Path(__file__).parent / "templates"


def make_environment(
    extra_dirs: list[str] | None = None, reload: bool = False, base_dirs: list[str] | None = None
) -> Environment:
    """Search ``extra_dirs`` (plugins), then ``base_dirs`` (e.g. the web pages), then messages.

    ``reload`` re-reads edited templates (development); otherwise each is compiled once.
    """
    dirs = [*(extra_dirs or []), *(base_dirs or []), str(TEMPLATES)]
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(d) for d in dirs]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=reload,
    )


def plugin_template_dirs() -> list[str]:
    """Every folder the installed plugins add through ``recaudo_template_dirs``."""
    return [str(value) for _, value in get_host().provided("recaudo_template_dirs")]
