"""The stream's routes: the WebSocket `/v2/events`, the system status and the
AsyncAPI document that describes the stream."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from ..auth.principal import principal_of, require_admin
from ..core.errors import ServiceUnavailableError
from ..core.handlers import request_id_of
from ..core.http import json_response, read_model
from ..core.routing import OperationRouter
from ..openapi.routes import JSON_MEDIA_TYPE, StaticBody
from ..settings import Settings
from .asyncapi import build_asyncapi_document
from .connection import Caller, ConnectionLimits, StreamConnection
from .handshake import handshake_token, stream_options
from .hub import StreamHub
from .status import SystemStatusPublic, SystemStatusService, SystemStatusUpdate

logger = logging.getLogger(__name__)

EVENTS_PATH = "/v2/events"
ASYNCAPI_PATH = "/v2/asyncapi.json"

router = OperationRouter("/v2/system", "System")


@dataclass(frozen=True)
class StreamServices:
    """What the stream's routes need from the app's services."""

    hub: StreamHub
    status: SystemStatusService
    limits: ConnectionLimits


def stream_services_of(scope_owner: Request | WebSocket) -> StreamServices:
    services: StreamServices = scope_owner.app.state.stream
    return services


@router.get(
    "/status",
    summary="Get the system status",
    description="The status that `system_status` stream events announce.",
    response_model=SystemStatusPublic,
    errors=(401,),
)
async def get_system_status(request: Request) -> Response:
    return json_response(stream_services_of(request).status.current())


@router.post(
    "/status",
    summary="Set the system status",
    description="Requires the admin role. Every client of the event stream "
    "receives the new status as a `system_status` event.",
    request_model=SystemStatusUpdate,
    response_model=SystemStatusPublic,
    errors=(400, 401, 403, 415),
)
async def set_system_status(request: Request) -> Response:
    require_admin(principal_of(request), "set the system status")
    update = await read_model(request, SystemStatusUpdate)
    return json_response(stream_services_of(request).status.update(update))


async def stream_events(websocket: WebSocket) -> None:
    """Authenticate the handshake, accept it, and serve stream messages.

    A rejected handshake gets the JSON error as an HTTP response, through
    the app's exception handlers, before any upgrade.
    """
    services = stream_services_of(websocket)
    auth = services.hub.auth
    found = handshake_token(websocket)
    principal = await auth.authenticate_token(found.token)
    expires_at = auth.tokens.verify(found.token).expires_at
    options = stream_options(websocket.query_params)

    # While the bus is unreachable the handshake gets 503 here, before the
    # upgrade, like any other request the server cannot complete.
    services.hub.bus.check_available()

    services.hub.admit(principal.user_id, services.limits.max_per_user)
    try:
        await websocket.accept(subprotocol=found.subprotocol)
        connection = StreamConnection(
            websocket,
            Caller(principal, found.token, expires_at),
            options.subscription,
            services.limits,
            services.hub,
            request_id=request_id_of(websocket.scope),
        )
        try:
            await services.hub.serve(
                connection, services.status.current(), options.last_event_id
            )
        except ServiceUnavailableError as error:
            # The bus went away between the check above and the replay.
            logger.warning(
                "stream replay failed; closing with 1013: %s",
                error.__cause__ or error,
                extra={"user_id": principal.user_id},
            )
            await connection.close_unavailable(error)
    finally:
        services.hub.release(principal.user_id)


def build_routes(settings: Settings) -> list[BaseRoute]:
    document = StaticBody(
        orjson.dumps(build_asyncapi_document(settings)), JSON_MEDIA_TYPE
    )
    return [
        WebSocketRoute(EVENTS_PATH, stream_events),
        Route(
            ASYNCAPI_PATH, document.respond, methods=["GET"], include_in_schema=False
        ),
    ]
