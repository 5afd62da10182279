"""The store under stress, with real processes: builds killed (SIGKILL, SIGINT) at random
moments leave the old or the new state and the next build completes; concurrent builds are
safe; a running ``kg serve`` answers from the new state after a rebuild, without restart."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from kg.errors import StoreError
from kg.pipeline import build
from kg.store import StoreLock, open_store

from conftest import ROOT, store_quads

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import generate  # noqa: E402

KG = [sys.executable, "-m", "kg.cli"]


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """Two versions of a 600-record corpus (B: 200 edited, 10 deleted, 10 added records),
    the store of A, the quads of fresh builds of A and B, and how long the processes
    updating A to B and building B afresh run (kills are spread over that time)."""
    root = tmp_path_factory.mktemp("versions")
    a = root / "A"
    generate(600, a, seed=7)
    b = root / "B"
    shutil.copytree(a, b)
    files = sorted((b / "_figures").glob("*.md"))
    for path in files[:200]:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("\nfigtitle: ", "\nfigtitle: Edited ", 1), encoding="utf-8")
    for path in files[200:210]:
        path.unlink()
    extra = root / "extra"
    generate(10, extra, seed=8)
    for path in (extra / "_figures").glob("*.md"):
        shutil.copy(path, b / "_figures" / f"X{path.name}")
    store_a = root / "store-A"
    build([a], store=store_a, jobs=1)
    store_b = root / "store-B"
    started = time.monotonic()
    _run_build(b, store_b).communicate(timeout=120)
    fresh_seconds = time.monotonic() - started
    update = root / "update"
    shutil.copytree(store_a, update)
    started = time.monotonic()
    _run_build(b, update).communicate(timeout=120)
    update_seconds = time.monotonic() - started
    return {"A": a, "B": b, "store_A": store_a, "quads_A": store_quads(store_a), "quads_B": store_quads(store_b),
            "fresh_seconds": fresh_seconds, "update_seconds": update_seconds}


def _leftovers(store: Path) -> list[str]:
    """Entries a finished writer must not leave: more than two generations, temporaries."""
    names = sorted(p.name for p in store.iterdir())
    gens = [n for n in names if n.startswith("gen-") and not n.endswith(".sqlite")]
    odd = [n for n in names if n not in ("CURRENT", ".lock") and not n.startswith("gen-")]
    return odd + (gens if len(gens) > 2 else [])


def _run_build(source: Path, store: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(KG + ["build", str(source), "--store", str(store), "-q", "-j", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env}, cwd=ROOT)


@pytest.mark.parametrize("trial", range(4))
def test_killed_update_leaves_old_or_new_state(versions, tmp_path, trial):
    rng = random.Random(trial)
    store = tmp_path / "store"
    shutil.copytree(versions["store_A"], store)
    proc = _run_build(versions["B"], store)
    time.sleep(rng.uniform(0.1, versions["update_seconds"] * 1.2))
    proc.send_signal(signal.SIGINT if trial == 3 else signal.SIGKILL)
    proc.communicate(timeout=60)
    state = store_quads(store)
    assert state in (versions["quads_A"], versions["quads_B"]), f"a mix after a kill at trial {trial}"
    print(f"trial {trial}: killed with the store at {'A' if state == versions['quads_A'] else 'B'} "
          f"(update takes {versions['update_seconds']:.1f} s)")
    finish = _run_build(versions["B"], store)
    _, err = finish.communicate(timeout=120)
    assert finish.returncode == 0, err
    assert store_quads(store) == versions["quads_B"]
    assert _leftovers(store) == []


@pytest.mark.parametrize("trial", range(2))
def test_killed_fresh_build_leaves_no_store_or_the_whole_store(versions, tmp_path, trial):
    store = tmp_path / "store"
    proc = _run_build(versions["B"], store)
    time.sleep(random.Random(trial).uniform(0.1, versions["fresh_seconds"] * 1.2))
    proc.kill()
    proc.communicate(timeout=60)
    try:
        assert store_quads(store) == versions["quads_B"]
    except StoreError as exc:
        assert "no store" in str(exc)
    finish = _run_build(versions["B"], store)
    _, err = finish.communicate(timeout=120)
    assert finish.returncode == 0, err
    assert store_quads(store) == versions["quads_B"]
    assert _leftovers(store) == []


def test_second_writer_is_refused_in_one_line_naming_the_first(versions, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(versions["store_A"], store)
    lock = StoreLock(store, "kg build", wait=0)
    lock.acquire()
    try:
        proc = _run_build(versions["B"], store, KG_LOCK_WAIT="0")
        _, err = proc.communicate(timeout=60)
    finally:
        lock.release()
    assert proc.returncode == 2
    assert err.count("\n") == 1 and "busy" in err and f"pid {os.getpid()}" in err, err
    assert store_quads(store) == versions["quads_A"]


@pytest.mark.parametrize("wait", ["0", "120"])
def test_two_builds_racing_on_one_store(versions, tmp_path, wait):
    """Two builds start together on a store that does not exist yet: one store results; the
    second waits for the first (then finds nothing to change) or is refused in one line."""
    store = tmp_path / "store"
    procs = [_run_build(versions["B"], store, KG_LOCK_WAIT=wait) for _ in range(2)]
    results = [(p.wait(timeout=180), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    for code, err in results:
        if code == 2:
            assert err.count("\n") == 1 and "busy" in err
    assert store_quads(store) == versions["quads_B"]
    assert _leftovers(store) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FIGURES = "SELECT (COUNT(?f) AS ?n) WHERE { ?f a <https://w3id.org/pfocr-kg/vocab#PathwayFigure> }"
EDITED = ("SELECT (COUNT(?f) AS ?n) WHERE { ?f <http://purl.org/dc/terms/title> ?t "
          "FILTER(STRSTARTS(?t, 'Edited ')) }")


def _ask_count(url: str, query: str = FIGURES) -> int:
    request = urllib.request.Request(url + "?" + urllib.parse.urlencode({"query": query}),
                                     headers={"Accept": "text/csv"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.read().decode().split()[-1])


def test_serve_answers_from_the_new_state_after_a_rebuild(versions, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(versions["store_A"], store)
    port = _free_port()
    server = subprocess.Popen(KG + ["serve", "--store", str(store), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/query"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                before = _ask_count(url)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
                time.sleep(0.2)
        assert before == 600 and _ask_count(url, EDITED) == 0
        finish = _run_build(versions["B"], store)  # while the server runs
        _, err = finish.communicate(timeout=120)
        assert finish.returncode == 0, err
        assert _ask_count(url) == 600 and _ask_count(url, EDITED) == 200  # 10 deleted, 10 added, 200 edited
        smaller = tmp_path / "smaller"
        shutil.copytree(versions["B"], smaller)
        for path in sorted((smaller / "_figures").glob("*.md"))[:25]:
            path.unlink()
        finish = _run_build(smaller, store)
        _, err = finish.communicate(timeout=120)
        assert finish.returncode == 0, err
        assert _ask_count(url) == 575
        finish = _run_build(versions["B"], store)  # a third generation: the first is removed
        finish.communicate(timeout=120)
        assert _ask_count(url) == 600
        assert server.poll() is None
    finally:
        server.terminate()
        server.wait(timeout=10)
    st = open_store(store, read_only=True)
    del st
