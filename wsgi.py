"""WSGI entry point: `waitress-serve --call wsgi:make_app` (or use `vilvik-server serve`)."""
from vilvik_server import create_app


def make_app():
    """The app with its executor running, for a WSGI server that calls a factory."""
    return create_app(start_executor=True)
