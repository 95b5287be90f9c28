"""Fixtures: a real ``tengine serve`` for the session, clients and fresh projects."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import WebhookReceiver, make_api_key  # noqa: E402

from tengineai import Project, TengineAI  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[3]

# What `tengine serve` prints on stdout once its listener is bound (README, Configuration).
LISTENING = "tengine: listening on "


def tengine_binary() -> Path:
    if os.environ.get("TENGINE_BIN"):
        return Path(os.environ["TENGINE_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target")
    return target / "debug" / "tengine"


class TengineServer:
    def __init__(self, url: str, api_key: str, process: subprocess.Popen, log: Path) -> None:
        self.url = url  # without /api/v1: the SDK appends it
        self.api_url = url + "/api/v1"
        self.api_key = api_key
        self.process = process
        self.log = log


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TengineServer]:
    binary = tengine_binary()
    if not binary.is_file():
        pytest.fail(f"tengine binary not found at {binary}: build it (cargo build -p tengine-app) or set TENGINE_BIN")
    data_dir = tmp_path_factory.mktemp("tengine-data")
    log = data_dir / "server.log"
    stdout = data_dir / "server.stdout"
    api_key = make_api_key()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        TENGINE_DATA_DIR=str(data_dir),
        # Port 0: the server picks a free port and prints it (no bind-drop-rebind race).
        TENGINE_LISTEN="127.0.0.1:0",
        TENGINE_BOOTSTRAP_KEY=api_key,
        TENGINE_WEBHOOK_ALLOW_PRIVATE="true",
    )
    with open(stdout, "wb") as out, open(log, "wb") as err:
        process = subprocess.Popen([str(binary), "serve"], env=env, stdout=out, stderr=err)

    def output() -> str:
        return stdout.read_text(errors="replace")[-2000:] + log.read_text(errors="replace")[-4000:]

    url = None
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            pytest.fail(f"tengine exited with {process.returncode}:\n{output()}")
        if url is None:
            # Whole lines only: the file may be read while the line is being written.
            for line in stdout.read_text(errors="replace").splitlines(keepends=True):
                if line.startswith(LISTENING) and line.endswith("\n"):
                    url = "http://" + line[len(LISTENING) :].strip()
                    break
        if url is not None:
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"tengine did not become healthy:\n{output()}")
        time.sleep(0.05)
    yield TengineServer(url, api_key, process, log)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def client(server: TengineServer) -> Iterator[TengineAI]:
    with TengineAI(api_key=server.api_key, base_url=server.url, retry_base_delay=0.01, retry_max_delay=0.1) as c:
        yield c


@pytest.fixture
def project(client: TengineAI) -> Project:
    return client.projects.create(name="SDK test project", description="made by the Python SDK tests")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.close()
