"""A real browser on real servers: Debian's Chromium, JupyterLab and Voila on 127.0.0.1.

Used by the e2e tests (``tests/e2e/conftest.py``) and by ``scripts/screenshots.py``. Every
server runs in a fresh temporary directory: its notebooks are copies, and every Jupyter,
IPython and XDG directory points inside it, so a run never reads or writes the user's home.
"""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

LAB_SETTINGS = {
    # render every cell, so plots below the fold exist in the DOM
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # no news or update toasts over the page
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # never write the (copied) notebooks back
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


class E2EError(AssertionError):
    """The browser or a server could not be set up, or the page never reached a state."""


# ---------------------------------------------------------------- chromium
def ensure_chromium() -> str:
    """The path of Debian's Chromium, installed with apt-get when it is missing.

    Raises :class:`E2EError` (a test failure, never a skip) when it cannot be installed.
    """
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    apt = shutil.which("apt-get")
    if apt is None:
        raise E2EError(
            f"{CHROMIUM} is missing and apt-get is not available: install Debian's chromium "
            "package (apt-get install -y chromium) to run the browser tests"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log: list[str] = []

    def apt_get(*args: str) -> bool:
        done = subprocess.run(
            [apt, *args], env=env, capture_output=True, text=True, timeout=900, check=False
        )
        log.append(f"$ apt-get {' '.join(args)} -> {done.returncode}\n{done.stderr[-2000:]}")
        return done.returncode == 0

    if not apt_get("install", "-y", "chromium"):
        apt_get("update")
        apt_get("install", "-y", "chromium")
    if not os.access(CHROMIUM, os.X_OK):
        raise E2EError(
            f"{CHROMIUM} is missing and `apt-get install -y chromium` did not provide it "
            "(run it as root, with access to Debian's package mirror):\n" + "\n".join(log)
        )
    return CHROMIUM


def launch_browser(playwright: Any) -> Any:
    """Headless Chromium (a fresh temporary profile per launch)."""
    return playwright.chromium.launch(
        executable_path=ensure_chromium(), headless=True, args=CHROMIUM_ARGS
    )


# ----------------------------------------------------------------- servers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_env(base: Path) -> dict[str, str]:
    """The environment of a server whose every Jupyter/IPython/XDG directory is in ``base``."""
    dirs = {
        "JUPYTER_CONFIG_DIR": "jupyter-config",
        "JUPYTER_DATA_DIR": "jupyter-data",
        "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
        "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
        "IPYTHONDIR": "ipython",
        "XDG_CONFIG_HOME": "xdg-config",
        "XDG_CACHE_HOME": "xdg-cache",
        "XDG_DATA_HOME": "xdg-data",
        "XDG_RUNTIME_DIR": "xdg-runtime",
        "MPLCONFIGDIR": "mpl",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "BOKEH_"))}
    for name, sub in dirs.items():
        path = base / sub
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    os.chmod(base / "xdg-runtime", 0o700)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONPATH", None)
    return env


class Server:
    """A Jupyter-family server process on 127.0.0.1, its temp dir, and its log."""

    def __init__(self, name: str, base: Path, cmd: list[str], env: dict[str, str], port: int):
        self.name, self.base, self.port = name, base, port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = base / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            cmd, cwd=base, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def log(self, tail: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:]

    def wait_http(self, path: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise E2EError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=5) as r:
                    if r.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.25)
        raise E2EError(f"{self.name} did not answer {path} in {timeout:.0f} s:\n{self.log()}")

    def wait_ready(self, line: str, timeout: float = 90.0) -> None:
        """Wait until the log holds ``line`` and the port accepts connections."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise E2EError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
            if line in self.log(tail=100_000):
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
                    return
                except OSError:
                    pass
            time.sleep(0.25)
        raise E2EError(f"{self.name} was not ready in {timeout:.0f} s:\n{self.log()}")

    def started(self, wait: Callable[[], None]) -> None:
        """Run ``wait``; if the server does not come up, stop it before failing."""
        try:
            wait()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


class Lab(Server):
    """JupyterLab with a token, the app exposed as ``window.jupyterapp``, test settings."""

    def __init__(self, base: Path, notebooks: list[Path]) -> None:
        self.root = base / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        for nb in notebooks:
            shutil.copy(nb, self.root / nb.name)
        env = isolated_env(base)
        settings = Path(env["JUPYTERLAB_SETTINGS_DIR"])
        for rel, value in LAB_SETTINGS.items():
            path = settings / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        self.token = secrets.token_hex(16)
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--port-retries=0",
            "--allow-root",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            "--ServerApp.shutdown_no_activity_timeout=0",
        ]
        super().__init__("jupyterlab", base, cmd, env, port)
        self.started(lambda: self.wait_http(f"/api/status?token={self.token}"))

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def api(self, method: str, path: str) -> Any:
        req = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stop every kernel (and its live feeds), so tests do not share CPU with old ones."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")


class Voila(Server):
    """Voila serving one notebook (sources stripped) on 127.0.0.1."""

    def __init__(self, base: Path, notebook: Path) -> None:
        self.root = base / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.notebook = self.root / notebook.name
        shutil.copy(notebook, self.notebook)
        env = isolated_env(base)
        port = free_port()
        super().__init__("voila", base, voila_command(self.notebook, port), env, port)
        # any page would start a kernel: wait for the log line and the port instead
        self.started(lambda: self.wait_ready("is running at"))


def voila_command(notebook: Path | str, port: int) -> list[str]:
    """The command serving the dashboard (the README shows the same, with ``voila``)."""
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        f"--port={port}",
    ]


@contextmanager
def lab_server(notebooks: list[Path]) -> Iterator[Lab]:
    base = Path(tempfile.mkdtemp(prefix="streamnb-lab-"))
    lab = Lab(base, notebooks)
    try:
        yield lab
    finally:
        lab.stop()
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def voila_server(notebook: Path) -> Iterator[Voila]:
    base = Path(tempfile.mkdtemp(prefix="streamnb-voila-"))
    voila = Voila(base, notebook)
    try:
        yield voila
    finally:
        voila.stop()
        shutil.rmtree(base, ignore_errors=True)


# ------------------------------------------------------------------ pages
def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    """Poll ``check()`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise E2EError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")
        time.sleep(interval)


# JS: every ColumnDataSource of every bokeh document in the page: id, rows, columns.
JS_SOURCES = """() => {
  const out = [];
  const docs = (window.Bokeh && window.Bokeh.documents) || [];
  docs.forEach((doc, d) => {
    for (const m of doc.all_models) {
      const name = m.type || (m.constructor && m.constructor.__name__);
      if (name !== 'ColumnDataSource') continue;
      const data = m.data instanceof Map ? Object.fromEntries(m.data) : m.data;
      const cols = Object.keys(data);
      const last = {};
      for (const c of cols) {
        const v = data[c];
        if (!v || !v.length) continue;
        const x = v[v.length - 1];
        last[c] = (typeof x === 'number' || typeof x === 'string') ? x : String(x);
      }
      out.push({doc: d, id: m.id, rows: m.get_length(), columns: cols, last: last});
    }
  });
  return out;
}"""


def sources_with(page: Any, column: str) -> list[dict[str, Any]]:
    """Bokeh ColumnDataSources in ``page`` (every frame) that have ``column``."""
    found = []
    for frame in page.frames:
        try:
            found.extend(s for s in frame.evaluate(JS_SOURCES) if column in s["columns"])
        except Exception:  # a frame navigating away, or one without scripts
            continue
    return found


def newest(sources: list[dict[str, Any]], column: str) -> float:
    """The largest last value of ``column`` in ``sources``: it moves while data flows, even
    when a full rolling buffer keeps the row count constant."""
    return max((s["last"].get(column) or 0 for s in sources), default=0)


# JS: every bokeh figure whose glyphs draw column `arg`: its x range and the data's x extent.
JS_FIGURES = """(column) => {
  const out = [];
  const docs = (window.Bokeh && window.Bokeh.documents) || [];
  for (const doc of docs) {
    for (const m of doc.all_models) {
      if (!m.x_range || !m.renderers) continue;
      let lo = Infinity, hi = -Infinity, rows = 0;
      for (const r of m.renderers) {
        const src = r.data_source;
        if (!src || !src.data) continue;
        const data = src.data instanceof Map ? Object.fromEntries(src.data) : src.data;
        const v = data[column];
        if (!v) continue;
        for (const x of v) { if (x < lo) lo = x; if (x > hi) hi = x; rows++; }
      }
      if (rows) out.push({x_start: Number(m.x_range.start), x_end: Number(m.x_range.end),
                          data_min: lo, data_max: hi, rows: rows});
    }
  }
  return out;
}"""


def figures(page: Any, column: str) -> list[dict[str, Any]]:
    """Bokeh figures in ``page`` drawing ``column`` on x: their x range and data extent."""
    found = []
    for frame in page.frames:
        try:
            found.extend(frame.evaluate(JS_FIGURES, column))
        except Exception:
            continue
    return found


def axes_follow(page: Any, column: str) -> bool:
    """True when every figure drawing ``column`` shows its newest point inside its x range."""
    figs = figures(page, column)
    return bool(figs) and all(f["x_start"] <= f["data_max"] <= f["x_end"] for f in figs)


class LabNotebook:
    """A notebook opened in JupyterLab in a Playwright page."""

    def __init__(self, page: Any, lab: Lab, name: str) -> None:
        self.page, self.lab, self.name = page, lab, name
        page.goto(lab.notebook_url(name), wait_until="domcontentloaded", timeout=60_000)
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell"
            " && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.content"
            " && window.jupyterapp.shell.currentWidget.content.widgets"
            " && window.jupyterapp.shell.currentWidget.content.widgets.length > 0",
            timeout=60_000,
        )
        self.wait_kernel_idle(60)

    # -- kernel and cells
    def js(self, body: str, arg: Any = None) -> Any:
        """Evaluate ``body`` with ``nb`` (the NotebookPanel) and ``arg`` in scope."""
        return self.page.evaluate(
            "([body, arg]) => { const nb = window.jupyterapp.shell.currentWidget;"
            " return (new Function('nb', 'arg', body))(nb, arg); }",
            [body, arg],
        )

    def kernel_status(self) -> str:
        return self.js(
            "const k = nb.sessionContext.session && nb.sessionContext.session.kernel;"
            " return k ? k.connectionStatus + '/' + k.status : 'none';"
        )

    def wait_kernel_idle(self, timeout: float = 60) -> None:
        wait_for(
            lambda: self.kernel_status() == "connected/idle", timeout, "an idle connected kernel"
        )

    def prompts(self) -> list[str]:
        """The input prompt of every code cell: ``[n]:`` once it ran, ``[*]:`` while it runs.

        A collapsed (hidden) input shows no prompt: its cell's execution count is used.
        """
        return self.js(
            "return nb.content.widgets.filter(c => c.model.type === 'code').map(c => {"
            " const t = c.node.querySelector('.jp-InputPrompt').textContent.trim();"
            " if (t) return t; const n = c.model.executionCount;"
            " return n === null ? '[ ]:' : '[' + n + ']:'; });"
        )

    def run_all(self, timeout: float = 120) -> None:
        """Run every cell (the promise is not awaited: it can hang) and wait for all prompts."""
        self.page.evaluate(
            "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
        )
        self.wait_prompts(timeout)

    def wait_prompts(self, timeout: float = 120) -> list[str]:
        def done() -> list[str] | None:
            p = self.prompts()
            return p if p and all(re.fullmatch(r"\[\d+\]:", x) for x in p) else None

        return wait_for(done, timeout, f"every cell of {self.name} to run")

    def errors(self) -> list[str]:
        """Text of every error or stderr output in the notebook."""
        return self.page.evaluate(
            "() => Array.from(document.querySelectorAll("
            '\'.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"],'
            ' .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]\'))'
            ".map(e => e.textContent)"
        )

    def cell_index(self, needle: str) -> int:
        """Index of the first code cell whose source contains ``needle``."""
        i = self.js(
            "return nb.content.widgets.findIndex(c => c.model.type === 'code'"
            " && c.model.sharedModel.getSource().includes(arg));",
            needle,
        )
        if i < 0:
            raise E2EError(f"no code cell of {self.name} contains {needle!r}")
        return i

    def cell(self, index: int) -> Any:
        """A Playwright locator of the cell at ``index``."""
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index)

    def run_cell(self, index: int, timeout: float = 60) -> str:
        """Run the cell at ``index`` as a user would (select it, Ctrl+Enter-like command)."""
        before = self.js("return nb.content.widgets[arg].model.executionCount;", index)
        self.js(
            "nb.content.activeCellIndex = arg; nb.content.deselectAll();"
            " window.jupyterapp.commands.execute('notebook:run-cell');",
            index,
        )

        def ran() -> bool:
            count = self.js("return nb.content.widgets[arg].model.executionCount;", index)
            prompt = self.js(
                "return nb.content.widgets[arg].node.querySelector('.jp-InputPrompt')"
                ".textContent.trim();",
                index,
            )
            return count is not None and count != before and prompt == f"[{count}]:"

        wait_for(ran, timeout, f"cell {index} of {self.name} to run")
        return self.output_text(index)

    def output_text(self, index: int) -> str:
        """The text the outputs of cell ``index`` hold (the output model, as rendered)."""
        return self.js(
            "const outs = nb.content.widgets[arg].model.outputs.toJSON();"
            " return outs.map(o => {"
            " if (o.output_type === 'stream') return [].concat(o.text).join('');"
            " if (o.output_type === 'error') return o.ename + ': ' + o.evalue;"
            " const d = o.data || {}; return [].concat(d['text/plain'] || []).join(''); })"
            ".join('\\n');",
            index,
        )

    def cell_state(self, index: int) -> dict[str, Any]:
        """Source, execution count and raw outputs of cell ``index`` (for failure messages)."""
        return self.js(
            "const c = nb.content.widgets[arg]; return {source: c.model.sharedModel.getSource(),"
            " count: c.model.executionCount, outputs: c.model.outputs.toJSON(),"
            " active: nb.content.activeCellIndex, cells: nb.content.widgets.length};",
            index,
        )

    def add_cell(self, source: str) -> int:
        """Append a code cell holding ``source``; returns its index."""
        return self.js(
            "const n = nb.content.widgets.length; nb.content.activeCellIndex = n - 1;"
            " window.jupyterapp.commands.execute('notebook:insert-cell-below');"
            " const cell = nb.content.widgets[n];"
            " cell.model.sharedModel.setSource(arg); return n;",
            source,
        )

    def probe(self, code: str, timeout: float = 60) -> Any:
        """Run ``code`` in a new last cell; its last expression is a JSON string, returned
        decoded.

        The value comes back as the cell's ``execute_result``, which the kernel sends before
        the cell's reply. (``print`` output is flushed later, from another thread: with a
        live feed on the kernel loop it was occasionally missing from the cell.)
        """
        index = self.add_cell(code)
        self.run_cell(index, timeout)
        try:
            text = wait_for(lambda: self.output_text(index).strip(), 10, f"output of {code!r}")
        except E2EError as exc:
            raise E2EError(f"{exc}\ncell {index}: {self.cell_state(index)}") from None
        return json.loads(ast.literal_eval(text.splitlines()[-1]))
