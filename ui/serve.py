"""`python -m ui.serve run streamlit_app.py …`: Streamlit's own CLI with the upload guard installed
before the server starts, so not even the first session can upload before login (`dxa ui` runs this)."""

from __future__ import annotations

import sys

from ui import upload_guard

upload_guard.install()

from streamlit.web.cli import main  # noqa: E402  (after the guard, before the server exists)

if __name__ == "__main__":
    sys.exit(main(prog_name="streamlit"))
