"""Shop stage, publish: ``web --publish`` against a real rclone WebDAV server on loopback —
publish, change, withdraw, re-publish, and a server that drops the connection mid-upload."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import needs

from press.commands import main
from press.products.shop import published
from press.products.shop.publish import plan
from press.project import Project
from tests.conftest import copy_project

pytestmark = needs(shutil.which("rclone") is not None, "rclone not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("publish") / "project")
    assert main(["--project", str(root), "-q", "all"]) == 0
    return root


@pytest.fixture
def server(tmp_path, monkeypatch):
    """``rclone serve webdav`` on 127.0.0.1, configured as remote ``dav:`` through the
    environment (as credentials would be: never in the project)."""
    served = tmp_path / "site"
    served.mkdir()
    port = free_port()
    process = subprocess.Popen(["rclone", "serve", "webdav", str(served),
                                "--addr", f"127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port)
        monkeypatch.setenv("RCLONE_CONFIG_DAV_TYPE", "webdav")
        monkeypatch.setenv("RCLONE_CONFIG_DAV_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("RCLONE_CONFIG", str(tmp_path / "no-rclone.conf"))
        yield served, port
    finally:
        process.terminate()
        process.wait(timeout=10)


class DroppingProxy:
    """Forwards to the server until ``budget`` bytes went up, then cuts every connection and
    refuses new ones: a host that goes away mid-upload."""

    def __init__(self, port: int, budget: int):
        self.target, self.budget, self.sent = port, budget, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.dead = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.dead:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False),
                             daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, up: bool) -> None:
        try:
            while data := src.recv(65536):
                if up:
                    self.sent += len(data)
                    if self.sent > self.budget:
                        self.dead = True
                        self.listener.close()
                        break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def same_tree(a: Path, b: Path) -> bool:
    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes()
                for p in sorted(root.rglob("*")) if p.is_file()}
    return files(a) == files(b)


def test_publish_change_withdraw_republish(built, server, tmp_path, capsys):
    served, _ = server
    root = tmp_path / "copy"
    shutil.copytree(built, root)
    project = Project.at(root)
    upload = root / "output" / "upload"
    uploads, deletions = plan(project)
    assert uploads[-2:] == ["catalogue.csv", "catalogue.json"] and deletions == []
    assert main(["--project", str(root), "web", "--publish", "dav:"]) == 0
    assert same_tree(upload, served) and published.changes(project) == []
    assert "all verified; marked" in capsys.readouterr().out

    (upload / "robots.txt").write_text("User-agent: *\n", encoding="utf-8")  # a change
    (root / "content" / "bundles" / "performance-pointers-2008-09.yaml").unlink()  # withdraw
    assert main(["--project", str(root), "-q", "web"]) == 0
    uploads, deletions = plan(project)
    assert "robots.txt" in uploads and uploads[-1] == "catalogue.json"
    assert "bundles/performance-pointers-2008-09.pdf" in deletions
    assert main(["--project", str(root), "web", "--publish", "dav:"]) == 0
    out = capsys.readouterr().out
    assert "deleted  bundles/performance-pointers-2008-09.pdf" in out
    assert not (served / "bundles" / "performance-pointers-2008-09.pdf").exists()
    assert {p.relative_to(served) for p in served.rglob("*") if p.is_file()} == \
        {p.relative_to(upload) for p in upload.rglob("*") if p.is_file()}
    assert published.changes(project) == []


def test_a_dropped_connection_leaves_the_release_unmarked_and_recoverable(built, server,
                                                                          tmp_path, capsys,
                                                                          monkeypatch):
    served, port = server
    root = tmp_path / "copy"
    shutil.copytree(built, root)
    project = Project.at(root)
    proxy = DroppingProxy(port, budget=300_000)  # the first PDF or two, then gone
    monkeypatch.setenv("RCLONE_CONFIG_FLAKY_TYPE", "webdav")
    monkeypatch.setenv("RCLONE_CONFIG_FLAKY_URL", f"http://127.0.0.1:{proxy.port}")
    assert main(["--project", str(root), "web", "--publish", "flaky:"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "NOT marked published" in out
    assert "not done catalogue.json" in out  # the catalogue never went up before its files
    assert published.changes(project) is None  # nothing marked
    assert not (served / "catalogue.json").exists()

    assert main(["--project", str(root), "web", "--publish", "dav:"]) == 0  # finish it
    assert same_tree(root / "output" / "upload", served)
    assert published.changes(project) == []
