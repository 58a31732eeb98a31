"""Streamlit entry point: `dxa ui` runs `streamlit run streamlit_app.py`; the app itself is ui/app.py.

It sits here, away from ui/pages/, so Streamlit uses st.navigation only (see ui/app.py).
"""

from ui.app import main

main()
