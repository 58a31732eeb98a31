"""The HTTP route that turns a login's one-time code into the HttpOnly session cookie.

Streamlit's Python side can read cookies (`st.context.cookies`) but not set them, so the app has the
browser fetch `/_dxa/session?code=…` (an invisible image, see ui.auth.cookie_fetch) right after a
login; this handler redeems the code once and answers with the cookie: HttpOnly (no script can read
it), SameSite=Strict, Secure behind https, as long-lived as the session row. Starlette lives only here.
"""

from __future__ import annotations

import base64

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from assistant.config import Settings
from assistant.sessions import COOKIE_NAME, SessionStore

# A 1x1 transparent GIF, so the fetching <img> shows nothing.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def session_routes(settings: Settings) -> list[BaseRoute]:
    """Routes to add to the Streamlit server (`st.App(..., routes=...)`)."""
    sessions = SessionStore.from_settings(settings)

    def set_cookie(request: Request) -> Response:  # sync: Starlette runs it in a worker thread
        redeemed = sessions.redeem(request.query_params.get("code", ""))
        response = Response(PIXEL, media_type="image/gif", headers=NO_STORE, status_code=200 if redeemed else 403)
        if redeemed is not None:
            value, max_age = redeemed
            response.set_cookie(
                COOKIE_NAME,
                value,
                max_age=max_age,
                path="/",
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
        return response

    return [Route("/_dxa/session", set_cookie, methods=["GET"])]
