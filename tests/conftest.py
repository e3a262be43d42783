"""Shared fixtures of the test suite.

Everything here is generic: small synthetic data sets, an HTTP server on
127.0.0.1, folder snapshots, and an isolated environment (cache, artifacts,
no Google Drive).  No fixture needs the real course data or the network.
Plain helper functions (hashes, snapshots, small JPEGs) live in
``course_testing.py``; import them from there, not from ``conftest``.
"""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import sys
import threading
import zipfile
from pathlib import Path
from types import SimpleNamespace

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"  # before anything imports TensorFlow

import matplotlib  # noqa: E402

# Agg in this process only: MPLBACKEND in the environment would reach the notebook
# kernels that nbval/papermill start and hide their inline figures.
matplotlib.use("Agg")

import pytest  # noqa: E402
from course_testing import (  # noqa: E402
    HOME_CACHE_READS,
    TINY_COUNTS,
    home_cache_read,
    jpeg_bytes,
    snapshot_tree,
    temp_leftovers,
    write_solid_image,
)

# --------------------------------------------------------------------------- a fresh machine


def _watch_home_caches(event: str, args: tuple) -> None:
    if event in ("open", "os.listdir", "os.scandir") and args and home_cache_read(args[0]):
        HOME_CACHE_READS.append(f"{event} {args[0]}")


sys.addaudithook(_watch_home_caches)


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if any test read the user's home caches: a new user's machine has none."""
    worker_output = getattr(session.config, "workeroutput", None)
    if worker_output is not None:  # a pytest-xdist worker: its reads go to the controller (below)
        worker_output["home_cache_reads"] = list(HOME_CACHE_READS)
        return
    if HOME_CACHE_READS:
        print(
            "\nLas pruebas leyeron las cachés del usuario (un ordenador nuevo no las tiene; usa las de build/):\n  "
            + "\n  ".join(sorted(set(HOME_CACHE_READS))[:20])
        )
        session.exitstatus = 1


def pytest_collection_modifyitems(session, config, items):
    """The tests of the notebook series (fixture ``series``) last, in their order; the rest first, in theirs.

    In `make test` the slow tests run beside the plain pass, one core each; the series then runs two notebook
    kernels at once as the plain pass ends, so both cores stay busy (series first: the other core sat idle).
    """
    items.sort(key=lambda item: "series" in getattr(item, "fixturenames", ()))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist's controller: gather each worker's reads of the home caches (its exit status is lost)."""
    HOME_CACHE_READS.extend(getattr(node, "workeroutput", {}).get("home_cache_reads", ()))


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _close_matplotlib_figures():
    """Close every matplotlib figure after each test (Agg backend, no windows)."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture
def tree_snapshot():
    """``snapshot(folder)`` -> ``{relative path: sha256}``: compare before/after to prove nothing changed."""
    return snapshot_tree


@pytest.fixture
def leftovers():
    """``leftovers(folder)`` -> names of ``*.part`` / ``*.extracting`` / ``*.tmp`` files left behind."""
    return temp_leftovers


@pytest.fixture
def isolated_course_env(tmp_path, monkeypatch):
    """Point ``COURSE_CACHE_DIR`` and ``COURSE_ARTIFACTS_DIR`` at temporary folders; no mirror, no param set."""
    from course_utils import config

    cache = tmp_path / "cache"
    artifacts = tmp_path / "artifacts"
    monkeypatch.setenv(config.ENV_CACHE_DIR, str(cache))
    monkeypatch.setenv(config.ENV_ARTIFACTS_DIR, str(artifacts))
    monkeypatch.delenv(config.ENV_MIRROR, raising=False)
    monkeypatch.delenv(config.ENV_PARAM_SET, raising=False)
    return SimpleNamespace(cache=cache, artifacts=artifacts)


@pytest.fixture
def offline_gdown(monkeypatch):
    """Make every Google Drive download fail at once, as without network (no real request is made)."""
    import gdown

    calls = []

    def fail(*args, **kwargs):
        calls.append(kwargs.get("id") or (args[0] if args else None))
        raise ConnectionError("sin red (simulado en las pruebas)")

    monkeypatch.setattr(gdown, "download", fail)
    return calls


@pytest.fixture
def fake_colab_drive(tmp_path, monkeypatch):
    """A fake ``google.colab.drive`` (Colab as seen by ``in_colab``) mounting Drive under ``tmp_path/drive``.

    ``mount(mountpoint)`` records ``mountpoint`` in ``.calls`` and makes ``MyDrive``;
    set ``.error`` to an exception to make it fail (refused authorization, timeout).
    """
    import sys
    import types

    from course_utils import config

    drive = types.ModuleType("google.colab.drive")
    drive.calls, drive.error = [], None

    def mount(mountpoint: str, **kwargs) -> None:
        drive.calls.append(mountpoint)
        if drive.error is not None:
            raise drive.error
        (Path(mountpoint) / "MyDrive").mkdir(parents=True, exist_ok=True)

    drive.mount = mount
    colab = types.ModuleType("google.colab")
    colab.drive = drive
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.drive", drive)
    monkeypatch.setattr(config, "COLAB_DRIVE_MOUNT", tmp_path / "drive")
    return drive


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """A small synthetic set (``TINY_COUNTS`` per class): train/validation/test x cats/dogs.

    Shared by the whole session: READ ONLY.  Copy it (``dataset_copy``) to change it.
    """
    from course_utils.data.course_data import make_synthetic_dataset

    root = make_synthetic_dataset(tmp_path_factory.mktemp("tiny") / "sintetico", counts=dict(TINY_COUNTS))
    before = snapshot_tree(root)
    yield root
    assert snapshot_tree(root) == before, "a test modified the shared tiny_dataset (use dataset_copy)"


@pytest.fixture
def dataset_copy(tmp_path, tiny_dataset) -> Path:
    """A private, writable copy of ``tiny_dataset``."""
    dst = tmp_path / "dataset"
    shutil.copytree(tiny_dataset, dst)
    return dst


@pytest.fixture
def color_dataset_factory():
    """``make(root, counts)`` -> a set of solid-colour PNGs whose colour encodes label and index.

    Image ``i`` of class ``label`` has colour ``(label * 100 + i, 255 * label, 77)`` and a
    size that varies with ``i``; returns ``{path: (label, i)}``.
    """

    def make(root: Path, counts: dict[str, int] | None = None, classes=("cats", "dogs")) -> dict[str, tuple[int, int]]:
        counts = counts or {"train": 10, "validation": 5, "test": 5}
        truth = {}
        for split, n in counts.items():
            for label, cls in enumerate(classes):
                for i in range(n):
                    p = Path(root) / split / cls / f"{cls[:-1]}.{i:03d}.png"
                    write_solid_image(p, (label * 100 + i, 255 * label, 77), size=(8 + 3 * (i % 5), 9 + 2 * (i % 4)))
                    truth[str(p)] = (label, i)
        return truth

    return make


@pytest.fixture
def course_zip_factory():
    """``make(path, top="cnn_perros_gatos", per_class=1, extra={name: bytes})`` -> a zip in the course layout."""

    def make(
        path: Path, *, top: str = "cnn_perros_gatos", per_class: int = 1, extra: dict[str, bytes] | None = None
    ) -> Path:
        from course_utils.config import CLASSES, SPLITS

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w") as zf:
            k = 0
            for split in SPLITS:
                for cls in CLASSES:
                    for i in range(per_class):
                        zf.writestr(f"{top}/{split}/{cls}/{cls[:-1]}.{i + 1}.jpg", jpeg_bytes(k))
                        k += 1
            for name, data in (extra or {}).items():
                zf.writestr(name, data)
        return path

    return make


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def http_server():
    """``serve(folder, announce_extra=0)`` -> a server on 127.0.0.1 with ``.url`` and ``.hits``.

    ``announce_extra > 0`` sends a ``Content-Length`` that many bytes larger than
    the file and then closes the connection: a truncated download.
    """
    servers = []

    def serve(folder: Path, announce_extra: int = 0):
        hits: list[str] = []

        class Handler(_QuietHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(folder), **kwargs)

            def do_GET(self):
                hits.append(self.path)
                target = Path(self.translate_path(self.path))
                if announce_extra and target.is_file():
                    body = target.read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(body) + announce_extra))
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                super().do_GET()

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return SimpleNamespace(url=f"http://127.0.0.1:{srv.server_address[1]}", hits=hits, server=srv)

    yield serve
    for srv in servers:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """An ``http://127.0.0.1:<port>`` address where nothing listens (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def no_network(monkeypatch):
    """Refuse every name lookup and outgoing connection, as offline; returns the hosts tried.

    Keras' cache is an empty folder for the whole test run (``KERAS_HOME``, set
    in the root ``conftest.py`` before Keras is imported), so weights downloaded
    earlier cannot hide a download.
    """
    calls = []

    def refuse_lookup(host, *args, **kwargs):
        calls.append(host)
        raise socket.gaierror(socket.EAI_NONAME, f"sin red (simulado en las pruebas): {host}")

    def refuse_connect(sock, address, *args, **kwargs):
        calls.append(address)
        raise ConnectionRefusedError(f"sin red (simulado en las pruebas): {address}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse_lookup)
    monkeypatch.setattr(socket.socket, "connect", refuse_connect)
    return calls


@pytest.fixture
def demo_exercise():
    """A registered exercise ``"99.1"`` (the answer is 4; ``parts=`` is what it returns), removed afterwards."""
    from course_utils.checks import registry

    @registry.exercise("99.1", "demo", "suma dos y dos")
    def _demo(answer, *, parts=1.0):
        registry.expect(answer == 4, f"{answer} no es 4.")
        return parts  # a check may return the fraction of the points it gives (grading)

    yield "99.1"
    registry.EXERCISES.pop("99.1")


@pytest.fixture
def tiny_cnn_factory():
    """``make(img_size=16, conv_names=("c1", "c2"))`` -> a compiled tiny functional CNN with a sigmoid output."""

    def make(img_size: int = 16, conv_names=("c1", "c2"), seed: int = 0):
        import keras
        from keras import layers

        keras.utils.set_random_seed(seed)
        inputs = keras.Input((img_size, img_size, 3))
        x = inputs
        for name in conv_names:
            x = layers.Conv2D(4, 3, padding="same", activation="relu", name=name)(x)
            x = layers.MaxPooling2D()(x)
        x = layers.GlobalAveragePooling2D()(x)
        outputs = layers.Dense(1, activation="sigmoid", name="out")(x)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"])
        return model

    return make


def pytest_configure(config):
    # Keras warns on every fit() with a tf.data dataset that shuffle=True is ignored: ours shuffle themselves.
    config.addinivalue_line("filterwarnings", "ignore:.*`shuffle=True` was passed.*:UserWarning")


BAD_INPUTS = "test_bad_inputs.py"


def pytest_terminal_summary(terminalreporter):
    """One line with how many bad-input cases ran (tests/unit/test_bad_inputs.py) and how they ended."""
    outcomes: dict[str, str] = {}
    for key in ("passed", "failed", "skipped", "error", "xfailed", "xpassed"):
        for rep in terminalreporter.stats.get(key, []):
            nodeid = getattr(rep, "nodeid", "")
            if BAD_INPUTS in nodeid.split("::")[0]:
                # A failure or error in any phase wins over the call's "passed".
                if outcomes.get(nodeid) not in ("failed", "error"):
                    outcomes[nodeid] = key
    if outcomes:
        counts = {k: sum(1 for v in outcomes.values() if v == k) for k in ("passed", "failed", "error", "skipped")}
        terminalreporter.write_line(
            f"Entradas malas ({BAD_INPUTS}): {len(outcomes)} casos probados: {counts['passed']} pasaron, "
            f"{counts['failed'] + counts['error']} fallaron, {counts['skipped']} omitidos."
        )
