"""How `mooc serve` runs gunicorn: what the master and each worker do besides serving."""

from __future__ import annotations

import gc

from mooc import serving


def test_a_worker_freezes_its_heap_once_after_warming_up():
    """Full garbage collections walked the app's ~200,000 long-lived objects: 0.4 ms of a
    lesson page's 3.4 ms of CPU (issue 20). Frozen once warm, they are not walked again."""
    gc.unfreeze()
    try:
        hook = serving._freeze_when_warm()
        for _ in range(serving.WARM_AFTER - 1):
            hook(None, None, None, None)
        assert gc.get_freeze_count() == 0
        hook(None, None, None, None)
        frozen = gc.get_freeze_count()
        assert frozen > 0
        gc.unfreeze()
        for _ in range(serving.WARM_AFTER):
            hook(None, None, None, None)
        assert gc.get_freeze_count() == 0  # once per worker, not every WARM_AFTER requests
    finally:
        gc.unfreeze()


def test_serve_freezes_the_master_and_gives_workers_the_hook(app, monkeypatch):
    seen = {}

    def run(self):
        seen.update(self.options, frozen=gc.get_freeze_count())

    monkeypatch.setattr(serving._Gunicorn, "run", run)
    gc.unfreeze()
    try:
        serving.serve(app, "127.0.0.1", 0, workers=2, threads=2, access_log=False)
    finally:
        gc.unfreeze()
    assert seen["frozen"] > 0
    assert callable(seen["post_request"]) and callable(seen["post_fork"])
    assert seen["worker_class"] == "gthread"
