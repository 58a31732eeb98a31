"""What `dxa ui` serves: the app of streamlit_app.py plus the route that sets the login cookie.

`streamlit run streamlit_server.py` finds the `st.App` below and serves it with its extra route
(ui/session_routes.py). `streamlit run streamlit_app.py` still works, only without logins that
survive a reload.
"""

from pathlib import Path

import streamlit as st

from assistant.config import Settings
from ui.session_routes import session_routes

app = st.App(Path(__file__).with_name("streamlit_app.py"), routes=session_routes(Settings()))
