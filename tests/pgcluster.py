"""A throwaway PostgreSQL cluster: ``initdb`` and ``pg_ctl`` in a temporary folder.

Used by the tests' session fixture and by ``benchmarks/bench_store.py``. The cluster listens
on a free loopback port only (no Unix socket), trusts local connections, and is stopped and
removed afterwards. PostgreSQL refuses to run as root, so as root the cluster runs as an
unprivileged user: ``postgres`` when the Debian package made it, else a system user created
for the purpose.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["ClusterUnavailable", "find_bindir", "throwaway_cluster"]

_SYSTEM_USER = "order-lifecycle-pg"


class ClusterUnavailable(Exception):
    """No PostgreSQL cluster can be started here; the message says why."""


def find_bindir() -> Path | None:
    """The folder with ``initdb`` and ``pg_ctl``: on PATH, from ``pg_config``, or Debian's."""
    candidates: list[Path] = []
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(  # noqa: S603 (pg_config found on PATH)
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            )
            candidates.append(Path(done.stdout.strip()))
    debian = Path("/usr/lib/postgresql").glob("*/bin")
    candidates.extend(sorted(debian, key=lambda p: _major(p.parent.name), reverse=True))
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _major(version: str) -> int:
    return int(version) if version.isdigit() else 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _unprivileged_user() -> str | None:
    """The user to run PostgreSQL as: ``None`` when not root, else an unprivileged one."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", _SYSTEM_USER):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    useradd = shutil.which("useradd")
    if useradd is None:
        raise ClusterUnavailable("running as root, with no postgres user and no useradd")
    subprocess.run(  # noqa: S603 (useradd from PATH, constant arguments)
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _SYSTEM_USER],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return _SYSTEM_USER


@contextlib.contextmanager
def throwaway_cluster(*, durable: bool = False, settings: Sequence[str] = ()) -> Iterator[str]:
    """Start a cluster; yield a DSN of its ``postgres`` database; stop and remove it.

    Not ``durable`` (the tests'): ``fsync``, ``synchronous_commit`` and ``full_page_writes``
    off, for speed. ``durable`` (the benchmarks'): PostgreSQL's defaults, every commit flushed.
    ``settings``: more server settings, ``name=value`` each (a benchmark's extension).

    Raises:
        ClusterUnavailable: PostgreSQL is not installed, or would not start.

    """
    bindir = find_bindir()
    if bindir is None:
        raise ClusterUnavailable(
            "initdb and pg_ctl not found (PATH, pg_config --bindir, /usr/lib/postgresql/*/bin); "
            "install PostgreSQL (Debian: apt-get install postgresql)"
        )
    user = _unprivileged_user()
    folder = Path(tempfile.mkdtemp(prefix="order-lifecycle-pg-"))
    data, log = folder / "data", folder / "server.log"
    group = None if user is None else pwd.getpwnam(user).pw_gid
    if user is not None:
        os.chown(folder, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)

    def run(*command: str) -> None:
        done = subprocess.run(  # noqa: S603 (PostgreSQL's own programs, our arguments)
            [str(c) for c in command],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            user=user,
            group=group,
            extra_groups=None if user is None else [],
        )
        if done.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ClusterUnavailable(
                f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr.strip()} {tail}"
            )

    try:
        run(
            str(bindir / "initdb"),
            "-D", str(data), "-U", "test", "--auth=trust", "--encoding=UTF8", "--no-locale",
            "--no-sync",
        )  # fmt: skip
        port = _free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories=''"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        options += "".join(f" -c {setting}" for setting in settings)
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        try:
            yield f"postgresql://test@127.0.0.1:{port}/postgres"
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
