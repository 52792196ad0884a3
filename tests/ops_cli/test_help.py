"""Every operator command answers --help, and every list or show takes --json."""
from __future__ import annotations

import click
import pytest

COMMANDS = [("clients", "create"), ("clients", "list"), ("clients", "suspend"), ("clients", "activate"),
            ("apikeys", "create"), ("apikeys", "list"), ("providers", "create"), ("providers", "list"),
            ("providers", "fund"), ("applications", "show"), ("loans", "show"), ("billing", "invoices"),
            ("billing", "run"), ("billing", "issue"), ("audit", "verify"), ("demo", "seed")]
WITH_JSON = {("clients", "list"), ("apikeys", "list"), ("providers", "list"), ("applications", "show"),
             ("loans", "show"), ("billing", "invoices"), ("audit", "verify")}


@pytest.mark.parametrize("group, name", COMMANDS)
def test_every_operator_command_has_help(app, group, name):
    result = app.test_cli_runner().invoke(args=[group, name, "--help"])
    assert result.exit_code == 0 and result.output.startswith("Usage: ") and f"{group} {name}" in result.output
    command = app.cli.get_command(click.Context(app.cli), group).get_command(None, name)
    assert command.help and command.help.strip(), f"{group} {name} needs a description"
    if (group, name) in WITH_JSON:
        assert "--json" in result.output


@pytest.mark.parametrize("group", ["clients", "apikeys", "providers", "applications", "audit", "jobs"])
def test_an_unknown_subcommand_is_refused_in_one_line(cli, group):
    from tests.ops_cli.conftest import refused

    assert refused(cli(group, "nosuch"), code=2) == "Error: No such command 'nosuch'."
