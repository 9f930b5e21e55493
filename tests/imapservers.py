"""IMAP servers for the tests, started by the tests on free loopback ports:

* ``pymap``: pure Python (asyncio), in-memory ``dict`` backend, a dev dependency;
* ``dovecot``: Debian's ``dovecot-imapd`` (the server many companies run), with its own
  generated config in a temporary directory: passwd-file authentication, maildirs under the
  same directory, no TLS, only an IMAP listener on 127.0.0.1. Run as an ordinary user, every
  Dovecot process runs as that user; run as root (CI containers), Dovecot refuses to run its
  login processes or to read mail as root, so they run as the package's own ``dovenull`` /
  ``dovecot`` users, which then own the maildirs;
* ``SilentServer``: accepts connections and never says a word (a hung server);
* ``TrickleServer``: greets, then answers every command one byte at a time, slowly enough
  that no single read times out (only an overall deadline stops it).

Missing pymap or Dovecot skip the tests that need them, except under ``CI=true`` where a
missing server is a broken CI image and fails them (as the browser tests do for Chromium).
"""
from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.mailsink import free_port

USER, PASSWORD = "alice-imap", "imap-secret"


def missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"IMAP tests cannot run in CI: {what}")
    pytest.skip(what)


def wait_until_listening(port: int, process: subprocess.Popen, name: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            imaplib.IMAP4("127.0.0.1", port, timeout=2).logout()
            return
        except (OSError, imaplib.IMAP4.error):
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                details = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
                pytest.fail(f"{name} did not start on port {port}\n{details}")
            time.sleep(0.1)


class RunningServer:
    def __init__(self, name: str, port: int, process: subprocess.Popen, workdir: Path | None = None) -> None:
        self.name, self.port, self.process, self.workdir = name, port, process, workdir

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_pymap() -> RunningServer:
    pymap = shutil.which("pymap", path=str(Path(sys.executable).parent)) or shutil.which("pymap")
    if pymap is None:
        missing("pymap (a pure-Python IMAP server) is a dev dependency: pip install -e '.[dev]'")
    port = free_port()
    process = subprocess.Popen(
        [pymap, "--host", "127.0.0.1", "--port", str(port), "--no-tls", "dict",
         "--demo-user", USER, "--demo-password", PASSWORD],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_listening(port, process, "pymap")
    return RunningServer("pymap", port, process)


def _dovecot_binary() -> str | None:
    return shutil.which("dovecot", path=os.pathsep.join(["/usr/sbin", "/usr/local/sbin", os.environ.get("PATH", "")]))


def _accounts() -> tuple[str, str, str, int, int]:
    """(login user, internal user, internal group, mail uid, mail gid) for this process."""
    if os.geteuid() != 0:
        me, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
        return me, me, group, os.getuid(), os.getgid()
    try:
        login, internal = pwd.getpwnam("dovenull"), pwd.getpwnam("dovecot")
    except KeyError:
        missing("running as root needs the dovenull and dovecot users the dovecot-core package creates")
    return login.pw_name, internal.pw_name, grp.getgrgid(internal.pw_gid).gr_name, internal.pw_uid, internal.pw_gid


def _traversable_temp_dir() -> str:
    """A temporary directory Dovecot's own users can reach: as root they are not us, and a
    private TMPDIR (mode 0700, as .ci/shifted-clock makes) would lock them out."""
    base = Path(tempfile.gettempdir()).resolve()
    if os.geteuid() != 0 or all(path.stat().st_mode & 0o001 for path in (base, *base.parents)):
        return str(base)
    return "/tmp"


DOVECOT_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
first_valid_uid = {mail_uid}
last_valid_uid = {mail_uid}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def start_dovecot() -> RunningServer:
    binary = _dovecot_binary()
    if binary is None:
        missing("Dovecot is not installed (Debian: apt-get install dovecot-imapd)")
    login_user, internal_user, internal_group, mail_uid, mail_gid = _accounts()
    root = Path(tempfile.mkdtemp(prefix="crm-dovecot-", dir=_traversable_temp_dir()))
    root.chmod(0o755)  # Dovecot's own users must reach the maildirs and the passwd file
    for name in ("run", "state", "mail"):
        (root / name).mkdir()
    if os.geteuid() == 0:
        os.chown(root / "mail", mail_uid, mail_gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    (root / "passwd").chmod(0o644)
    port = free_port()
    (root / "dovecot.conf").write_text(DOVECOT_CONF.format(
        root=root, port=port, login_user=login_user, internal_user=internal_user, internal_group=internal_group,
        mail_uid=mail_uid, mail_gid=mail_gid))
    process = subprocess.Popen([binary, "-F", "-c", str(root / "dovecot.conf")], env=_real_clock_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_listening(port, process, "dovecot", root / "dovecot.log")
    return RunningServer("dovecot", port, process, root)


def _real_clock_env() -> dict[str, str]:
    """This environment without libfaketime (the shifted-clock CI runs, .ci/shifted-clock):
    Dovecot clears the environment of the processes it starts, so with the fake clock preloaded
    its master would run on the shifted clock and its login and mail processes on the real one.
    Started without it, all share one clock; the tests give every message its date (APPEND)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FAKETIME")}
    preload = " ".join(part for part in env.pop("LD_PRELOAD", "").replace(":", " ").split() if "faketime" not in part)
    if preload:
        env["LD_PRELOAD"] = preload
    return env


STARTERS = {"pymap": start_pymap, "dovecot": start_dovecot}


class SilentServer:
    """Accepts every connection and never answers: a hung IMAP server."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.hung_up = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)
            if self.hung_up:
                conn.shutdown(socket.SHUT_RDWR)

    def hang_up(self) -> None:
        """Close every connection, now and from now on (their clients read EOF)."""
        self.hung_up = True
        for conn in list(self.accepted):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


class TrickleServer(SilentServer):
    """Greets, then sends an endless untagged line one byte every ``gap`` seconds: each read
    gets a byte before any per-read timeout, so only a deadline over the whole poll ends it."""

    def __init__(self, gap: float = 0.05) -> None:
        self.gap = gap
        self.stopped = threading.Event()
        super().__init__()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        try:
            conn.sendall(b"* ")
            while not self.stopped.is_set():
                conn.sendall(b"x")
                time.sleep(self.gap)
        except OSError:
            return

    def close(self) -> None:
        self.stopped.set()
        super().close()
