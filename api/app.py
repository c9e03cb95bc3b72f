"""The FastAPI app factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api import presence
from api.bus import make_bus
from api.channels.config import load_channels
from api.coordination import make_coordinator
from api.exposure import (
    make_private,
    public_bind_problems,
    rasa_problems,
    refuse,
    shared_secret_problems,
)
from api.help_center.library import HelpLibrary
from api.help_center.pages import Site
from api.hub import Hub, KnowledgeHolder, load_knowledge
from api.i18n import localize_notices, shared_catalogs
from api.inputs import TextGuard
from api.live import Broker
from api.rasa_client import RasaClient
from api.routes import (
    accounts,
    actions,
    admin,
    agents,
    assist,
    auth,
    channels,
    contacts,
    gaps,
    health,
    help,
    kb,
    kb_editor,
    pages,
    reports,
    socketio_channel,
    tickets,
    widget,
)
from api.security import LOGIN_BODY_LIMIT, BodyLimit, SecurityHeaders
from api.settings import Settings
from handoff import agents as agent_accounts
from handoff.db import make_engine, make_sessionmaker, transaction, upgrade
from handoff.errors import Forbidden, IllegalTransition, InvalidInput, NotAllowed, NotFound

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"


def ensure_demo_agent(hub: Hub) -> None:
    settings = hub.settings
    if not settings.demo_agent:
        return
    with transaction(hub.sessions) as session:
        if agent_accounts.count_agents(session) == 0:
            agent_accounts.create_agent(
                session,
                email=settings.demo_agent_email,
                name=settings.demo_agent_name,
                password=settings.demo_agent_password,
                role="admin",  # someone must be able to manage accounts on a new hub
                check_policy=False,  # the well-known demo password; refused on public binds
            )
            log.info("created demo agent %s", settings.demo_agent_email)


def create_app(
    settings: Settings | None = None,
    *,
    knowledge: KnowledgeHolder | None = None,
    rasa: RasaClient | None = None,
) -> FastAPI:
    settings = settings or Settings()
    make_private(settings.var_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        sessions = make_sessionmaker(engine)
        # The hub's notices in each conversation's language (api/i18n).
        localize_notices(sessions, shared_catalogs())
        try:
            with sessions() as session:
                problems = public_bind_problems(settings, session) + rasa_problems(settings)
            problems += shared_secret_problems(settings)
            refuse(problems, settings.host)
        except Exception:
            engine.dispose()
            raise
        hub = Hub(
            settings=settings,
            engine=engine,
            sessions=sessions,
            broker=Broker(sessions, settings.rules.calendar, bus=make_bus(settings.redis_url)),
            rasa=rasa
            or RasaClient(
                settings.rasa_url, timeout=settings.rasa_timeout, api_key=settings.rasa_api_key
            ),
            knowledge=knowledge or load_knowledge(settings),
            channel_configs=load_channels(settings.channels_file),
            coordinator=make_coordinator(settings.redis_url),
        )
        hub.knowledge.help_links = (settings.public_url or settings.hub_url).rstrip(
            "/"
        ) + settings.help_path
        ensure_demo_agent(hub)
        # No fleet-wide reset of presence: other hubs' agents stay online. Connections this
        # hub held before a crash expire (handoff/agents.expire_connections, in the sweep).
        await hub.broker.bus.start(hub.broker.receive)
        await app.state.webchat.start()
        app.state.hub = hub
        hub.spawn_forever(presence.heartbeat_forever(hub))
        hub.spawn_forever(hub.sweep_forever())
        hub.spawn_forever(hub.recover_forever())
        await hub.start_channels()
        yield
        await hub.drain()
        await hub.broker.bus.stop()
        await app.state.webchat.aclose()
        await hub.close_channels()
        await hub.rasa.aclose()
        hub.knowledge.close()
        await hub.coordinator.aclose()
        engine.dispose()

    docs = settings.api_docs  # off by default: the schema maps the API for anyone
    app = FastAPI(
        title="Frontline hub",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.include_router(pages.router)
    app.include_router(health.router)
    app.include_router(widget.router)
    app.include_router(auth.router)
    app.include_router(agents.router)
    app.include_router(accounts.router)
    app.include_router(agents.socket_router)
    app.include_router(tickets.router)
    app.include_router(contacts.router)
    app.include_router(admin.router)
    app.include_router(reports.router)
    app.include_router(kb.router)
    app.include_router(assist.router)
    app.include_router(gaps.router)
    app.include_router(kb_editor.router)
    app.include_router(actions.router)
    app.include_router(channels.router)
    help_library = HelpLibrary(
        Site(base=settings.help_path, title=settings.help_title, hub=""), settings.kb_dir
    )

    def served_help(hub: Hub) -> HelpLibrary:
        kb = hub.knowledge.kb
        return help_library.refresh(kb.index.manifest.get("built_at") if kb else None)

    app.include_router(help.help_router(served_help, settings.help_path))
    app.mount("/static", pages.StaticAssets(directory=STATIC_DIR), name="static")
    app.mount(  # rasa-webchat
        socketio_channel.PATH, socketio_channel.asgi_app(app, settings.redis_url)
    )
    app.add_middleware(TextGuard)  # inside BodyLimit: NUL, surrogates, deep JSON -> 422
    login_limit = min(LOGIN_BODY_LIMIT, settings.max_body_bytes)
    app.add_middleware(
        BodyLimit, default=settings.max_body_bytes, per_path={"/api/auth/login": login_limit}
    )
    app.add_middleware(SecurityHeaders)  # outermost: refusals get the headers too

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, error: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=404)

    @app.exception_handler(Forbidden)
    async def _forbidden(_: Request, error: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=403)

    @app.exception_handler(NotAllowed)
    @app.exception_handler(IllegalTransition)
    async def _conflict(_: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=409)

    @app.exception_handler(InvalidInput)
    async def _invalid(_: Request, error: InvalidInput) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    return app
