"""Run one submission in a sandbox: its own processes, folder, limits; nothing it leaves is trusted.

Two levels, chosen by :func:`choose_isolation` at the grader's start:

* ``namespaces`` (Linux with ``unshare`` from util-linux, as root or with user
  namespaces): its own PID namespace (it sees no other process, not the grader's
  command line; when its first process ends the kernel kills every other one, new
  sessions included), its own mount namespace (a private ``/tmp`` and ``/dev/shm``;
  the repository, the virtual environment and the data cache read-only; the
  submissions folder, the results folder and the home folder hidden), its own
  network namespace (loopback only) and, as root, its own user id per slot.
* ``basic``: a new session whose first process is a child subreaper; at the end
  every process under it is killed (the grader is a subreaper too, so orphans of
  a killed runner come back to it and are killed).  Same user: see INSTRUCTORES.md.

Either way the grader, outside, enforces the time limit, a memory limit (the sum
of the resident memory of every process of the submission) and a disk limit
(its folder), and the file size limit (``RLIMIT_FSIZE``) is set for every process.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from .runner import PR_SET_CHILD_SUBREAPER, limit_files

NAMESPACES, BASIC = "namespaces", "basic"
#: First user id of the sandboxes when the grader runs as root (one per slot, no account needed).
UID_BASE = 62300
#: The sandbox's own /tmp (a tmpfs), and where its folder and the data cache appear in it.
PRIVATE_TMP = "/tmp"
INSIDE, INSIDE_CACHE = os.path.join(PRIVATE_TMP, "entrega"), os.path.join(PRIVATE_TMP, "datos")

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 8, 32, 4096, 16384
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
_LOCKED = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC}
_LOCKED |= {os.ST_NOATIME: MS_NOATIME, os.ST_NODIRATIME: MS_NODIRATIME, os.ST_RELATIME: MS_RELATIME}


@dataclass
class Limits:
    timeout: float
    memory_bytes: int
    disk_bytes: int


@dataclass
class Outcome:
    """What the grader saw of one sandbox: how it ended and its peak memory."""

    status: str  # ok, timeout, crashed, too_large
    detail: str
    seconds: float
    peak_bytes: int


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    if _libc().mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} -> {target}: {os.strerror(err)}")


def _read_only(target: str) -> None:
    """Remount the bind mount at ``target`` read-only, keeping the flags a user namespace may not drop."""
    have = os.statvfs(target).f_flag
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY
    for st, ms in _LOCKED.items():
        if have & st:
            flags |= ms
    _mount(None, target, None, flags)


def _loopback_up() -> None:
    import fcntl
    import socket
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(
            s, 0x8914, struct.pack("16sH14s", b"lo", 0x1 | 0x8 | 0x40, b"")
        )  # SIOCSIFFLAGS: UP|LOOPBACK|RUNNING


def ns_main(plan: dict) -> None:
    """Pid 1 of a sandbox's namespaces: arrange the mounts of ``plan``, drop to the slot's user, exec the runner."""
    fds = {
        path: os.open(path, os.O_PATH) for path in [plan["sandbox"], *plan["visible"], *filter(None, [plan["cache"]])]
    }
    hidden = [p for p in plan["hidden"] if os.path.isdir(p)]
    _mount("tmpfs", PRIVATE_TMP, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=256m")
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m")
    binds = [(p, p) for p in plan["visible"]] + [(plan["sandbox"], INSIDE)]
    if plan["cache"]:
        binds.append((plan["cache"], INSIDE_CACHE))
    steps = sorted([(p, None) for p in hidden] + [(t, s) for s, t in binds], key=lambda x: len(Path(x[0]).parts))
    for target, source in steps:
        os.makedirs(target, exist_ok=True)
        if source is None:
            _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m")
        else:
            _mount(f"/proc/self/fd/{fds[source]}", target, None, MS_BIND | MS_REC)
            if target != INSIDE:
                _read_only(target)
    for p in hidden:
        _mount(None, p, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for fd in fds.values():
        os.close(fd)
    try:
        _loopback_up()
    except OSError:
        pass
    limit_files()
    if plan.get("uid") is not None:
        os.setgroups([])
        os.setgid(plan["uid"])
        os.setuid(plan["uid"])
    _libc().prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    os.chdir(INSIDE)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    code = plan.get("code") or _bootstrap(plan["repo"], INSIDE)
    os.execve(sys.executable, [sys.executable, "-I", "-c", code], plan["env"])


def _bootstrap(repo: str, folder: str) -> str:
    return f"import sys; sys.path.insert(0, {repo!r}); from grading.runner import main; sys.exit(main({folder!r}))"


def choose_isolation(repo: Path, probe_dir: Path, hidden: list[Path]) -> tuple[str, bool]:
    """``(level, own_uid)``: namespaces when a probe sandbox starts and imports the course, else basic."""
    if sys.platform != "linux" or not shutil.which("unshare"):
        return BASIC, False
    root = os.geteuid() == 0
    for own_uid in [True, False] if root else [False]:
        probe_dir.mkdir(parents=True, exist_ok=True)
        if own_uid:
            os.chown(probe_dir, UID_BASE, UID_BASE)
        code = "import course_utils.exercises, nbclient, grading.record; open('ok', 'w').write('1')"
        plan = _plan(probe_dir, repo, None, hidden, UID_BASE if own_uid else None, _clean_env(Path(INSIDE)))
        plan["code"] = f"import sys; sys.path.insert(0, {str(repo)!r}); {code}"
        try:
            proc = subprocess.run(  # noqa: PLW1510
                [*_unshare(root), sys.executable, "-I", "-c", _NS_ENTRY],
                input=json.dumps(plan) + "\n",
                text=True,
                capture_output=True,
                timeout=120,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        ok = (probe_dir / "ok").exists()
        shutil.rmtree(probe_dir, ignore_errors=True)
        if ok and proc.returncode == 0:
            return NAMESPACES, own_uid
    return BASIC, False


def _unshare(root: bool) -> list[str]:
    user = [] if root else ["--user", "--map-root-user"]
    return ["unshare", *user, "--pid", "--fork", "--kill-child", "--mount", "--mount-proc", "--net", "--ipc", "--uts"]


#: What the unshare'd process runs: :func:`ns_main` with the plan read from its standard input.
_NS_ENTRY = (
    "import sys, json\n"
    "plan = json.loads(sys.stdin.readline())\n"
    "sys.path.insert(0, plan['repo'])\n"
    "from grading.sandbox import ns_main\n"
    "ns_main(plan)\n"
)


def _clean_env(home: Path) -> dict[str, str]:
    """The environment of a sandbox: nothing of the grader's but what the notebooks need."""
    keep = ("PATH", "LANG", "LC_ALL", "TF_CPP_MIN_LOG_LEVEL", "GLOG_minloglevel", "PYTHONHASHSEED", "COURSE_PRECISION")
    keep += ("COURSE_DATA_MIRROR", "COURSE_PARAM_SET", "OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    h = str(home / "home")
    env |= {"HOME": h, "USER": "estudiante", "LOGNAME": "estudiante", "TMPDIR": str(home / "tmp")}
    env |= {"IPYTHONDIR": h + "/.ipython", "JUPYTER_RUNTIME_DIR": h + "/runtime", "MPLCONFIGDIR": h + "/mpl"}
    env |= {"JUPYTER_CONFIG_DIR": h + "/.jupyter", "JUPYTER_DATA_DIR": h + "/.local/share/jupyter"}
    env |= {"KERAS_HOME": h + "/.keras", "XDG_CACHE_HOME": h + "/.cache", "PYTHONNOUSERSITE": "1"}
    return env


def _plan(sandbox: Path, repo: Path, cache: Path | None, hidden: list[Path], uid: int | None, env: dict) -> dict:
    visible = {str(repo), sys.prefix, sys.base_prefix, os.path.realpath(sys.executable)}
    mirror = os.environ.get("COURSE_DATA_MIRROR")
    if mirror and os.path.isdir(mirror):
        visible.add(os.path.realpath(mirror))
    visible = {os.path.realpath(p) for p in visible if os.path.isdir(p)}
    closed = set()  # a folder others cannot enter (/root) above a visible one: hidden, the visible one bound inside
    for path in visible:
        for parent in Path(path).parents:
            if parent != Path("/") and not os.stat(parent).st_mode & 0o001:
                closed.add(str(parent))
    hidden = [*hidden, *(Path(p) for p in sorted(closed))]
    return {
        "sandbox": str(sandbox),
        "repo": str(repo),
        "cache": str(cache) if cache else None,
        "visible": sorted(visible),
        "hidden": [str(p) for p in hidden],
        "uid": uid,
        "env": env,
    }


class Reaper:
    """The grader's side: every process of a sandbox is found (as a descendant) and killed; orphans too."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: dict[int, str] = {}  # pid of a sandbox's first process -> its name
        self.trusted: set[int] = set()  # pids of the grader's own helpers (the judge)
        try:
            _libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        except (OSError, AttributeError):
            pass

    def tree(self, pid: int) -> list[psutil.Process]:
        try:
            proc = psutil.Process(pid)
            return [proc, *proc.children(recursive=True)]
        except psutil.Error:
            return []

    def kill_tree(self, pid: int) -> None:
        for _ in range(20):
            procs = self.tree(pid)
            if not procs:
                return
            for p in procs:
                try:
                    p.kill()
                except psutil.Error:
                    pass
            psutil.wait_procs(procs, timeout=1)

    def kill_orphans(self) -> None:
        """Kill the grader's children that belong to no running sandbox nor helper (a killed runner's orphans)."""
        with self.lock:
            self._kill_unknown(set(self.running) | self.trusted)

    def _kill_unknown(self, known: set[int]) -> None:
        for child in psutil.Process().children():
            if child.pid not in known:
                try:
                    for p in [*child.children(recursive=True), child]:
                        p.kill()
                    child.wait(1)
                except psutil.Error:
                    pass


def folder_bytes(folder: Path, limit: int) -> int:
    """Bytes under ``folder`` (stops counting past ``limit`` or 200,000 entries)."""
    total, count = 0, 0
    for dirpath, _dirnames, filenames in os.walk(folder):
        for name in filenames:
            count += 1
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                pass
            if total > limit or count > 200_000:
                return max(total, limit + 1)
    return total


def run(
    sandbox: Path,
    repo: Path,
    level: str,
    uid: int | None,
    limits: Limits,
    reaper: Reaper,
    cache: Path | None = None,
    hidden: list[Path] | None = None,
    extra_env: dict[str, str] | None = None,
) -> Outcome:
    """Execute the runner in ``sandbox`` (job.json and submission.ipynb already there) under ``limits``."""
    inside = Path(INSIDE) if level == NAMESPACES else sandbox
    env = _clean_env(inside) | (extra_env or {}) | {"COURSE_ARTIFACTS_DIR": str(inside / "artifacts")}
    if cache is not None:
        env["COURSE_CACHE_DIR"] = INSIDE_CACHE if level == NAMESPACES else str(cache)
    for sub in ("home", "tmp", "cwd", "records", "home/.ipython"):
        (sandbox / sub).mkdir(parents=True, exist_ok=True)
    if uid is not None:
        for path in [sandbox, *sandbox.rglob("*")]:
            os.lchown(path, uid, uid)
    start = time.monotonic()
    plan = _plan(sandbox, repo, cache, hidden or [], uid, env) if level == NAMESPACES else None
    with reaper.lock:  # registered before another thread looks for orphans
        if plan is not None:
            cmd = [*_unshare(os.geteuid() == 0), sys.executable, "-I", "-c", _NS_ENTRY]
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                text=True,
                start_new_session=True,
            )
        else:
            drop = {"user": uid, "group": uid, "extra_groups": []} if uid is not None else {}
            proc = subprocess.Popen(
                [sys.executable, "-I", "-c", _bootstrap(str(repo), str(sandbox))],
                cwd=sandbox,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                **drop,
            )
        reaper.running[proc.pid] = sandbox.name
    if plan is not None:
        proc.stdin.write(json.dumps(plan) + "\n")
        proc.stdin.close()
    status, detail, peak = "", "", 0
    hard_deadline = start + limits.timeout + 60  # the runner stops cells at the limit; this is for a stuck runner
    last_disk = 0.0
    while proc.poll() is None:
        now = time.monotonic()
        rss = 0
        for p in reaper.tree(proc.pid):
            try:
                rss += p.memory_info().rss
            except psutil.Error:
                pass
        peak = max(peak, rss)
        if rss > limits.memory_bytes:
            status, detail = "too_large", f"superó el límite de memoria ({limits.memory_bytes / 2**30:.1f} GB)"
        elif now - last_disk > 2:
            last_disk = now
            if folder_bytes(sandbox, limits.disk_bytes) > limits.disk_bytes:
                status, detail = "too_large", f"escribió más de {limits.disk_bytes / 2**30:.1f} GB en disco"
        if not status and now > hard_deadline:
            status, detail = "timeout", f"superó el límite de {limits.timeout:g} s y se detuvo"
        if status:
            break
        time.sleep(0.25)
    reaper.kill_tree(proc.pid)
    proc.wait()
    with reaper.lock:
        reaper.running.pop(proc.pid, None)
    reaper.kill_orphans()
    return Outcome(status, detail, time.monotonic() - start, peak)
