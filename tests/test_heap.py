"""A served worker sets what lives as long as it does aside from the collector's full passes
(service/heap.py): its startup's objects once the app has started, the extraction model once loaded.
Each test runs in a process of its own, since setting objects aside is for the whole process."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import service_env

STARTED = """
import gc
from litestar.testing import TestClient
from service.app import served_app

app = served_app()
created = gc.get_freeze_count()
with TestClient(app) as client:
    ready = client.get("/ready").status_code
    walked = any(o is app for o in gc.get_objects())
    print(created, gc.get_freeze_count(), ready, walked)
"""

LOADED = """
import gc
from service.domain.extraction import extractor

before = gc.get_freeze_count()
model = extractor()
walked = any(o is model for o in gc.get_objects())
print(before, gc.get_freeze_count(), walked)
"""


def _run(script: str, env: dict[str, str]) -> list[str]:
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_served_worker_sets_its_startup_objects_aside_once_started(database_url: str) -> None:
    created, started, ready, walked = _run(STARTED, service_env(database_url))
    assert int(created) == 0  # nothing is set aside while the app is only built
    assert int(started) > 10_000  # the modules, the app, its routes and its pool
    assert ready == "200"
    assert walked == "False"  # the app is no longer among the objects a full pass walks


def test_the_extraction_model_is_set_aside_once_loaded(database_url: str) -> None:
    before, after, walked = _run(LOADED, service_env(database_url))
    assert int(after) > int(before) + 10_000  # spaCy and the model's objects
    assert walked == "False"
