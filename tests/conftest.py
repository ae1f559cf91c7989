from __future__ import annotations

import importlib.util
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).parents[1] / "stages"))  # stages/_bootstrap.py

from synthetic import synthetic_raw_files  # noqa: E402


def stage_module(name: str):
    """stages/<name>.py as a module (its `main` called in-process), loaded afresh."""
    script = Path(__file__).parents[1] / "stages" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"stage_{name}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Route:
    """What the local server answers for one path."""

    def __init__(
        self,
        body: bytes,
        content_type: str = "application/octet-stream",
        status: int = 200,
        truncate_to: int | None = None,
        content_length: str | None = None,  # the header as sent; None: the body's length
    ):
        self.body, self.content_type = body, content_type
        self.status, self.truncate_to = status, truncate_to
        self.content_length = content_length


class LocalServer:
    """An HTTP server on 127.0.0.1 serving ``routes``; records every path asked for."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                length = route.content_length or str(len(route.body))
                self.send_header("Content-Length", length)
                self.end_headers()
                self.wfile.write(route.body[: route.truncate_to])
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def local_server():
    with LocalServer() as server:
        yield server


@pytest.fixture(scope="session")
def raw_files() -> dict[str, bytes]:
    return synthetic_raw_files()


# The end-to-end modules, longest first (on the 2-core CPU: about 190, 210 and 55 s).
LONGEST_FIRST = ["test_pipeline", "test_dvc_experiments", "test_make_targets"]


def pytest_collection_modifyitems(config, items):
    """The modules with end-to-end (slow) tests first, longest first. `make test` hands
    whole modules to two workers in this order (--no-loadscope-reorder: xdist would
    otherwise order them by their number of tests), so the two longest start at once
    instead of one of them queueing behind the unit tests and running on alone at the end."""
    slow = {item.module.__name__ for item in items if item.get_closest_marker("slow")}

    def rank(item) -> int:
        name = item.module.__name__
        if name in LONGEST_FIRST:
            return LONGEST_FIRST.index(name)
        return len(LONGEST_FIRST) if name in slow else len(LONGEST_FIRST) + 1

    items.sort(key=rank)  # stable: the order within a module is kept
