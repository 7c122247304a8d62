"""tether.v1.Sessions: the warm, pinned sessions (ListSessions, CloseSession)."""

from __future__ import annotations

from typing import Any

import grpc

from ..core.pool import SessionPool
from ..core.session import PinnedSession, SessionState
from ..drivers.contract import InvalidRequest
from ..operations.requests import check_session_filter
from ..v1 import messages as pb
from ..v1 import sessions_pb2_grpc
from .status import abort

Context = grpc.aio.ServicerContext[Any, Any]
_SESSION_STATES = {
    SessionState.CONNECTING: pb.SESSION_STATE_CONNECTING,
    SessionState.IDLE: pb.SESSION_STATE_IDLE,
    SessionState.BUSY: pb.SESSION_STATE_BUSY,
    SessionState.CLOSED: pb.SESSION_STATE_CLOSED,
}


def session_message(session: PinnedSession) -> pb.Session:
    return pb.Session(
        id=session.id,
        fingerprint=session.key.fingerprint,
        driver=session.key.driver,
        host=session.key.host,
        port=session.key.port,
        username=session.key.username,
        platform=session.spec.platform,
        state=_SESSION_STATES[session.state],
        created=session.created,
        last_used=session.last_used,
        use_count=session.use_count,
        keepalive_failures=session.keepalive_failures,
        queued=session.queued,
    )


class SessionsServicer(sessions_pb2_grpc.SessionsServicer):
    def __init__(self, pool: SessionPool) -> None:
        self.pool = pool

    async def ListSessions(self, request: pb.ListSessionsRequest, context: Context) -> pb.ListSessionsResponse:
        try:
            check_session_filter(host=request.host, driver=request.driver)
        except InvalidRequest as exc:
            await abort(context, exc)
        sessions = [
            session_message(s)
            for s in self.pool.sessions
            if (not request.host or s.key.host == request.host)
            and (not request.driver or s.key.driver == request.driver)
        ]
        return pb.ListSessionsResponse(sessions=sessions)

    async def CloseSession(self, request: pb.CloseSessionRequest, context: Context) -> pb.CloseSessionResponse:
        try:
            check_session_filter(session_id=request.session_id, host=request.host)
            if not (request.session_id or request.host or request.all):
                raise InvalidRequest("say which sessions to close: session_id, host or all", "session_id")
        except InvalidRequest as exc:
            await abort(context, exc)
        closed = self.pool.close_matching(request.session_id, request.host, request.all)
        return pb.CloseSessionResponse(closed=closed)
