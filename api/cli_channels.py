"""`frontline channels ...`: check the configured channels' credentials and register
webhooks (an exact contract: scripts and the README rely on these commands)."""

from __future__ import annotations

import asyncio

import typer

from api.channels.config import ChannelConfigError, load_channels
from api.channels.registry import build_channels
from api.channels.telegram import TelegramChannel
from api.settings import Settings

channels_app = typer.Typer(help="Chat channels (channels.yml).", no_args_is_help=True)


def _configured() -> dict[str, object]:
    settings = Settings()
    try:
        configs = load_channels(settings.channels_file)
    except ChannelConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    if not configs:
        typer.echo(f"No channels configured ({settings.channels_file} not found or empty).")
    return dict(configs)


@channels_app.command("check")
def check() -> None:
    """Say, for each configured channel, whether its credentials work."""
    configs = _configured()
    channels = build_channels(configs)  # type: ignore[arg-type]

    async def run() -> bool:
        ok = True
        for name in configs:
            channel = channels[name]
            try:
                typer.echo(f"{name}: ok, {await channel.check()}")
            except Exception as error:
                ok = False
                typer.echo(f"{name}: FAILED, {error}")
            finally:
                await channel.aclose()
        return ok

    if not asyncio.run(run()):
        raise typer.Exit(1)


@channels_app.command("set-webhook")
def set_webhook(
    name: str = typer.Argument(..., help="The channel, e.g. telegram."),
    url: str = typer.Option(..., help="The hub's public webhook URL, https://HUB/channels/NAME."),
) -> None:
    """Register the hub's webhook (with its secret) through the channel's configured API."""
    configs = _configured()
    if name not in configs:
        typer.echo(f"error: channel {name!r} is not configured", err=True)
        raise typer.Exit(1)
    channel = build_channels(configs)[name]  # type: ignore[arg-type]
    if not isinstance(channel, TelegramChannel):
        typer.echo(f"error: {name} has no webhook to register from here", err=True)
        raise typer.Exit(1)

    async def run() -> str:
        try:
            return await channel.set_webhook(url)
        finally:
            await channel.aclose()

    try:
        typer.echo(f"{name}: {asyncio.run(run())}")
    except Exception as error:
        typer.echo(f"{name}: FAILED, {error}", err=True)
        raise typer.Exit(1) from None
