"""A ``toolcall-sim serve`` process and the sessions a test suite opens on it.

Each session has its own script, journal and counters on the one server:
its base URLs carry its name (``/__sim/s/NAME``), so an official client
pointed at them needs nothing else, and two tests never see each other's
requests even when they run at once.
"""

import json
import subprocess
import threading
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Sequence, Union

from ._binary import find_binary


class VerifyError(AssertionError):
    """A session left script turns unused, or got requests past its script."""

    def __init__(self, report: Dict[str, Any]):
        self.report = report
        super().__init__("toolcall-sim: " + str(report.get("message", report)))


class Server:
    """``toolcall-sim serve --port 0`` running as a child process."""

    def __init__(self, args: Sequence[str] = (), binary: Optional[str] = None):
        command = [binary or find_binary(), "serve", "--port", "0", *args]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self._process.stdout.readline().strip() if self._process.stdout else ""
        if not line.startswith("http://"):
            self._process.kill()
            _, err = self._process.communicate(timeout=10)
            raise RuntimeError(f"toolcall-sim did not start ({' '.join(command)}): {err.strip()}")
        # The root URL, without `/v1`.
        self.url = line[: -len("/v1")] if line.endswith("/v1") else line
        # Drain stderr so the child never blocks on a full pipe.
        self._stderr: List[str] = []
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()

    def _read_stderr(self) -> None:
        stream = self._process.stderr
        if stream is None:
            return
        for line in stream:
            self._stderr.append(line)

    def session(self, name: str) -> "Session":
        """A session of this server named ``name`` (letters, digits, ``-_.:``)."""
        return Session(self.url, name)

    def close(self) -> None:
        """Stop the server (SIGTERM, then kill) and wait for it."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


Turns = Union[Sequence[Dict[str, Any]], Dict[str, Any]]


class Session:
    """One isolated session: a script, a journal and counters of its own."""

    def __init__(self, root: str, name: str):
        self.name = name
        self.base_url = f"{root}/__sim/s/{name}"
        #: For ``openai.OpenAI(base_url=...)``.
        self.openai_base_url = f"{self.base_url}/v1"
        #: For ``anthropic.Anthropic(base_url=...)``.
        self.anthropic_base_url = self.base_url
        #: For ``google.genai.Client(http_options={"base_url": ...})``.
        self.gemini_base_url = self.base_url
        #: Headers that name this session, for a client given the server's URL.
        self.headers = {"x-sim-session": name}

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            payload = error.read()
            try:
                value = json.loads(payload)
            except ValueError:
                value = {"message": payload.decode(errors="replace")}
            if error.code == 409 and isinstance(value, dict) and "unused_turns" in value:
                raise VerifyError(value) from None
            message = value.get("error", {}).get("message") if isinstance(value, dict) else None
            raise RuntimeError(f"toolcall-sim: {method} {path}: {error.code} {message or value}") from None

    def script(self, turns: Turns) -> int:
        """Follow these turns from the first (a list of turns, or a script
        file's ``{"turns": [...]}``); returns their number."""
        body = turns if isinstance(turns, dict) else {"turns": list(turns)}
        return self._call("PUT", "/__sim/script", body)["turns"]

    def fixtures(self, fixtures: Any, unmatched: str = "error") -> int:
        """Answer from these fixtures, first match wins, before any script: a
        list of ``{"match": {...}, "response": {...}}`` (or a fixtures file's
        ``{"fixtures": [...]}``). ``match`` takes ``endpoint``, ``model``,
        ``user_message``, ``tool_results``, ``tools``, ``turn_index``; a
        fixture may add ``times``, ``min_uses``, ``latency``. A request none
        matches gets a 404 naming the closest (``unmatched="auto"``: auto
        mode answers it). Returns their number."""
        body = fixtures if isinstance(fixtures, dict) else {"fixtures": list(fixtures), "unmatched": unmatched}
        return self._call("PUT", "/__sim/fixtures", body)["fixtures"]

    def journal(self) -> List[Dict[str, Any]]:
        """The requests of this session so far, oldest first."""
        return self._call("GET", "/__sim/journal")["entries"]

    def stats(self) -> Dict[str, int]:
        """Exact counts: requests, replies, errors, faults."""
        return self._call("GET", "/__sim/journal")["stats"]

    def reset(self) -> None:
        """The server's script from its first turn again, and an empty journal."""
        self._call("POST", "/__sim/reset")

    def verify(self) -> Dict[str, Any]:
        """Raise :class:`VerifyError` naming unused turns and requests that
        came past the script; otherwise return the report."""
        return self._call("GET", "/__sim/verify")

    def close(self) -> None:
        """End the session on the server (its script and journal go)."""
        self._call("DELETE", "/__sim/session")
