"""Streamlit entry point: `dxa ui` runs `streamlit run streamlit_app.py`; the app itself is ui/app.py.

It sits here, away from ui/pages/, so Streamlit uses st.navigation only (see ui/app.py). The upload
guard goes in first (`dxa ui` has installed it already, before the server started; a plain
`streamlit run streamlit_app.py` gets it on the first run).
"""

from ui import upload_guard

upload_guard.install()

from ui.app import main  # noqa: E402

main()
