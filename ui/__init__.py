"""Every human entry point: the `dxa` command line and the Streamlit app."""
