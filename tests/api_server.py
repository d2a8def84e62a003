"""A real Sustain server for the API's tests: users made with `sustain users add` and the
server started with `sustain serve`, each as a subprocess, on a free loopback port, over a
store of its own; requests go over real HTTP (httpx)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import free_port

SUSTAIN = str(Path(sys.executable).parent / "sustain")


def add_user(database: str, name: str, nation: str, role: str) -> str:
    """A user added with the CLI; their token."""
    done = subprocess.run(
        [SUSTAIN, "users", "add", name, "--nation", nation, "--role", role, "--json"],
        env={**os.environ, "SUSTAIN_DATABASE": database},
        capture_output=True,
        text=True,
        check=True,
    )
    token: str = json.loads(done.stdout)["token"]
    return token


@dataclass
class Server:
    url: str
    database: str
    process: subprocess.Popen[bytes]
    folder: Path
    tokens: dict[str, str] = field(default_factory=dict)  # user -> token

    def log(self) -> str:
        """What the server wrote (its errors, had it any)."""
        return (self.folder / "server.log").read_text()

    def client(self, user: str | None = None, **options: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **options)


@contextmanager
def serving(
    folder: Path,
    users: dict[str, tuple[str, str]],
    *,
    jobs: int = 2,
    processes: int = 1,
    database: str | None = None,
    environment: dict[str, str] | None = None,
) -> Iterator[Server]:
    """`sustain serve` over a new store (SQLite in `folder` unless `database` is given),
    with the users given (name -> (nation, role)), until the block ends."""
    database = database or f"sqlite:///{folder / 'sustain.db'}"
    tokens = {name: add_user(database, name, *who) for name, who in users.items()}
    port = free_port()
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [
            *(SUSTAIN, "serve", "--database", database, "--port", str(port)),
            *("--jobs", str(jobs), "--processes", str(processes)),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(environment or {})},
        cwd=folder,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError((folder / "server.log").read_text())
        time.sleep(0.2)
    try:
        yield Server(url, database, process, folder, tokens)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def wait_for(
    client: httpx.Client, run_id: str, *, until: tuple[str, ...], most: float = 300
) -> dict:
    """Poll a run until its status is one of `until`; the run as last read."""
    deadline = time.monotonic() + most
    while True:
        run: dict = client.get(f"/runs/{run_id}").raise_for_status().json()
        if run["status"] in until:
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"{run_id} is still {run['status']} after {most} s")
        time.sleep(0.2)


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{folder.name}/{path.name}")
    return buffer.getvalue()


def upload(client: httpx.Client, name: str, content: bytes) -> httpx.Response:
    return client.post("/scenarios", files={"file": (name, content)})


def uploaded(server: Server, path: Path, user: str = "coord") -> int:
    """The id of a scenario uploaded by a coordinator (a folder is sent zipped)."""
    with server.client(user) as client:
        content = zipped(path) if path.is_dir() else path.read_bytes()
        response = upload(client, path.name + (".zip" if path.is_dir() else ""), content)
        assert response.status_code in (200, 201), response.text
        return int(response.json()["id"])
