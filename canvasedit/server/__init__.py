"""CanvasEdit's HTTP server: the engine service behind the APIs editors already speak.

A front end like the CLI: it drives ``canvasedit.engine.service.EngineService`` and never imports
the editor (``canvasedit.ui``) or Textual. ``canvasedit serve`` runs it (``main.py``); the ASGI app
is ``build_app(service, options)`` (``app.py``), with OpenAI's routes in ``openai_api.py``,
llama.cpp's ``/infill`` and Ollama's in ``compat.py``, CanvasEdit's own ``/v1/fill`` in
``fill_api.py``, and what they share (limits, fields, fills in worker threads, SSE) in ``runner.py``.

    from canvasedit.engine.service import EngineService
    from canvasedit.server import ServerOptions, build_app
    service = EngineService(); service.load(None)
    app = build_app(service, ServerOptions())
"""

from canvasedit.server.app import ServerOptions, build_app

__all__ = ["ServerOptions", "build_app"]
