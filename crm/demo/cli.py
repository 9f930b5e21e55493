import click


@click.command("seed-demo")
def seed_demo_command():
    """Build the demo company (idempotent)."""
    raise click.ClickException("not built yet")
