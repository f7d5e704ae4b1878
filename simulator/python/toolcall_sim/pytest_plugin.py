"""The pytest plugin: ``toolcall_sim_server`` (one ``toolcall-sim serve`` for
the whole test session) and ``toolcall_sim`` (a session of it for one test,
verified at teardown: every scripted turn used, no request past the script).

Extra ``serve`` options go in the ini option ``toolcall_sim_args``, e.g.
``toolcall_sim_args = --model-latency fixed:200ms``.
"""

import hashlib
import re
import shlex

import pytest

from ._server import Server, Session


def pytest_addoption(parser):
    parser.addini(
        "toolcall_sim_args",
        "extra options of `toolcall-sim serve` for the toolcall_sim fixture",
        default="",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # Verified at teardown only when the test itself passed.
    setattr(item, f"_toolcall_sim_{report.when}", report)


@pytest.fixture(scope="session")
def toolcall_sim_server(pytestconfig):
    """One simulator process for the whole test session."""
    args = shlex.split(pytestconfig.getini("toolcall_sim_args") or "")
    server = Server(args)
    yield server
    server.close()


def _session_name(nodeid: str) -> str:
    # A readable, valid name, unique by a hash of the whole test id.
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", nodeid.split("::")[-1])[:64]
    digest = hashlib.sha1(nodeid.encode()).hexdigest()[:12]
    return f"{readable}.{digest}"


@pytest.fixture
def toolcall_sim(toolcall_sim_server, request) -> Session:
    """A session of the simulator for this test: its own script, journal and
    counters; ``.openai_base_url``, ``.anthropic_base_url`` and
    ``.gemini_base_url`` for the official clients. At teardown it must have used every scripted turn."""
    session = toolcall_sim_server.session(_session_name(request.node.nodeid))
    yield session
    try:
        call = getattr(request.node, "_toolcall_sim_call", None)
        if call is not None and call.passed:
            session.verify()
    finally:
        session.close()
