"""The official Python SDK `agent-sandbox` (agent-infra/sandbox, sdk/python), unchanged, against
aio-apid: every sandbox, shell, bash and file call of its sync client (and a few of the async one)
with realistic arguments, asserting on the pydantic models it parses our answers into, the
errors it maps (422 -> UnprocessableEntityError, 409 -> ConflictError, other statuses ->
ApiError) and its auth headers. Each call runs against a bare aio-apid (socket activation) and
against an `aio-run up --rootfs host` sandbox.

The SDK is not part of this repository. It is looked for at $AIO_SDK_PATH, else
/var/cache/aio-sdk/sdk/python, and runs on Debian's python3-httpx and python3-pydantic; without
it this module is skipped: the test_api_*.py files check the same contract with plain HTTP."""
import base64
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

SDK_PATH = Path(os.environ.get("AIO_SDK_PATH", "/var/cache/aio-sdk/sdk/python"))
if not (SDK_PATH / "agent_sandbox" / "__init__.py").is_file():
    pytest.skip(f"the agent-sandbox SDK is not at {SDK_PATH} (set AIO_SDK_PATH to its sdk/python "
                "directory); test_api_*.py cover the same contract without it",
                allow_module_level=True)
pytest.importorskip("httpx", reason="python3-httpx is not installed (the SDK's HTTP client)")
pytest.importorskip("pydantic", reason="python3-pydantic is not installed (the SDK's models)")
sys.path.insert(0, str(SDK_PATH))

from agent_sandbox import AsyncSandbox, Sandbox  # noqa: E402
from agent_sandbox.core.api_error import ApiError  # noqa: E402
from agent_sandbox.errors import ConflictError, UnprocessableEntityError  # noqa: E402
from agent_sandbox.types import (FileOperationError, FileReadResult,  # noqa: E402
                                 HttpValidationError, StrReplaceEditorResult)

from conftest import REPO  # noqa: E402
from test_apid import Apid, need_apid  # noqa: E402

KEY = "sdk-key-" + "q" * 24


class Target:
    """A running server and an SDK client for it; home is the server's $HOME."""

    def __init__(self, kind, url, home, headers=None):
        self.kind, self.url, self.home = kind, url, home
        self.port = int(url.rsplit(":", 1)[1])
        self.ws = f"{home}/workspace"
        self.client = Sandbox(base_url=url, headers=headers, timeout=60)


def start_apid(tmp_path, env=None):
    need_apid()
    home = tmp_path / "home"
    (home / "workspace").mkdir(parents=True, exist_ok=True)
    a = Apid(tmp_path, env={"HOME": str(home), **(env or {})})
    return a, str(home)


def stop_apid(a):
    assert a.stop() == 0, a.stderr()


@pytest.fixture(params=["apid", "up"])
def sb(request, tmp_path):
    if request.param == "apid":
        a, home = start_apid(tmp_path)
        yield Target("apid", a.url, home)
        stop_apid(a)
        return
    aio = request.getfixturevalue("aio")  # needs root and aio-run
    need_apid()
    from test_up import start_up, stop
    ws = tmp_path / "ws"
    ws.mkdir()
    os.chmod(tmp_path, 0o711)
    proc, url = start_up(aio, "--port", "0", "--rootfs", "host", "--name", "sdk",
                         "--workspace", str(ws))
    try:
        yield Target("up", url, "/home/gem")
    finally:
        assert stop(proc) == 0


@pytest.fixture
def apid_target(tmp_path):
    a, home = start_apid(tmp_path)
    yield Target("apid", a.url, home)
    stop_apid(a)


def api_error(fn, status, message=None):
    """Calls fn, which must raise the SDK's ApiError (not a subclass) with status."""
    with pytest.raises(ApiError) as e:
        fn()
    assert type(e.value) is ApiError and e.value.status_code == status, e.value
    if message is not None:
        assert e.value.body["success"] is False and message in e.value.body["message"], e.value
    return e.value


def validation_error(fn, loc, err_type):
    with pytest.raises(UnprocessableEntityError) as e:
        fn()
    assert e.value.status_code == 422
    body = e.value.body
    assert isinstance(body, HttpValidationError)
    assert body.detail[0].loc == loc and body.detail[0].type == err_type, body
    return body


def file_error(r, error_type, errno_name):
    """A failed file call: success false and a FileOperationError in data. When the union's
    first model fits (its required fields are a subset), pydantic picks it and keeps the rest as
    extra attributes; the fields are there either way."""
    assert r.success is False, r
    d = r.data
    assert getattr(d, "error_type") == error_type and getattr(d, "errno_name") == errno_name, d
    assert isinstance(getattr(d, "errno"), int) and getattr(d, "message"), d
    return d


# --- sandbox ---------------------------------------------------------------------------------

def test_sandbox_context_and_packages(sb):
    c = sb.client.sandbox
    r = c.get_context()
    assert r.success is True and r.message == "Environment information retrieved"
    assert "System Environment" in r.data
    assert r.home_dir == sb.home and r.workspace == sb.ws and r.version
    system = r.detail.system
    assert system.arch == os.uname().machine and system.home_dir == sb.home
    assert system.user == ("gem" if sb.kind == "up" else os.environ.get("USER", system.user))
    assert str(sb.port) in system.occupied_ports
    for spec in r.detail.runtime.python:
        assert spec.bin and isinstance(spec.alias, list)
    assert all(cat.category and cat.tools for cat in r.detail.utils)

    py = c.get_python_packages()
    assert py.success is True and isinstance(py.data, str)
    # every line names a package pinned to a version ("  - name==1.2")
    pkgs = [ln[4:] for ln in py.data.splitlines() if ln.startswith("  - ")]
    assert pkgs and all("==" in p for p in pkgs), py.data[:300]
    node = c.get_nodejs_packages()
    assert node.success is True and isinstance(node.data, str)


def test_sandbox_hooks(sb):
    c = sb.client.sandbox
    r = c.register_hook(name="sdk-hook", command="echo bye", event="shutdown", timeout=2.5,
                        priority=7)
    assert r.success is True and r.message == "Hook registered"
    h = r.data
    assert (h.name, h.event, h.command, h.timeout, h.priority, h.source) == \
        ("sdk-hook", "shutdown", "echo bye", 2.5, 7, "api")
    c.register_hook(name="other", command="true")
    hooks = c.list_hooks(event="shutdown").data
    # in the order they will run: by priority (upstream's default is 100)
    assert [(x.name, x.priority, x.timeout) for x in hooks] == [("sdk-hook", 7, 2.5),
                                                                ("other", 100, 10.0)]
    assert c.remove_hook("sdk-hook").success is True
    assert [x.name for x in c.list_hooks().data] == ["other"]
    api_error(lambda: c.remove_hook("sdk-hook"), 404, "Hook not found")
    api_error(lambda: c.list_hooks(event="boot"), 400, "Unsupported event")
    validation_error(lambda: c.register_hook(name="bad name", command="true"), ["body", "name"],
                     "string_pattern_mismatch")
    validation_error(lambda: c.register_hook(name="x", command="true", priority="high"),
                     ["body", "priority"], "int_type")


# --- shell -----------------------------------------------------------------------------------

def test_shell_exec_in_a_session(sb):
    c = sb.client.shell
    r = c.create_session(id="sdk-sync", exec_dir=sb.ws, no_change_timeout=10,
                         preserve_symlinks=False)
    assert r.success is True
    assert (r.data.session_id, r.data.working_dir) == ("sdk-sync", sb.ws)
    # creating it again answers the same session
    assert c.create_session(id="sdk-sync").data.session_id == "sdk-sync"

    r = c.exec_command(command="pwd; cd /tmp; export SDK_X=42", id="sdk-sync")
    d = r.data
    assert r.success is True and (d.session_id, d.status, d.exit_code) == ("sdk-sync",
                                                                           "completed", 0)
    assert d.output == sb.ws and d.command == "pwd; cd /tmp; export SDK_X=42"
    assert d.console and d.console[-1].command == d.command and d.console[-1].output == sb.ws
    # cwd and environment persist; any exit code is "completed"
    d = c.exec_command(command="pwd; echo $SDK_X; (exit 3)", id="sdk-sync").data
    assert (d.output, d.status, d.exit_code) == ("/tmp\n42", "completed", 3)
    # every field the SDK offers, at once
    d = c.exec_command(command="pwd", id="sdk-sync", exec_dir=sb.home, async_mode=False,
                       timeout=30, strict=True, no_change_timeout=10, hard_timeout=30,
                       preserve_symlinks=False, truncate=True).data
    assert (d.output, d.exit_code) == (sb.home, 0)
    d = c.exec_command(command="true", id="sdk-sync", exec_dir=f"{sb.home}/nope",
                       strict=True).data
    assert (d.status, d.exit_code) == ("terminated", 1) and "No such file" in d.output
    # truncation at 30000 characters unless asked not to
    long = "head -c 40000 /dev/zero | tr '\\0' a"
    d = c.exec_command(command=long, id="sdk-sync").data
    assert d.output.count("a") < 31000
    d = c.exec_command(command=long, id="sdk-sync", truncate=False).data
    assert d.output == "a" * 40000
    # without an id a fresh session is made, in the home directory (the choice)
    d = c.exec_command(command="pwd").data
    assert d.session_id != "sdk-sync" and d.output == sb.home


def test_shell_symlinks_and_timeouts(sb):
    c = sb.client.shell
    c.exec_command(command=f"mkdir -p {sb.ws}/real && ln -sfn {sb.ws}/real {sb.ws}/link")
    sid = c.create_session(exec_dir=f"{sb.ws}/link", preserve_symlinks=True).data.session_id
    assert c.exec_command(command="pwd", id=sid).data.output == f"{sb.ws}/link"
    d = c.exec_command(command="pwd", id=sid, exec_dir=f"{sb.ws}/link",
                       preserve_symlinks=False).data
    assert d.output == f"{sb.ws}/real"
    # hard_timeout stops the command; the session lives on
    t0 = time.monotonic()
    d = c.exec_command(command="echo started; sleep 30", id=sid, hard_timeout=0.5).data
    assert d.status == "hard_timeout" and "started" in d.output
    assert time.monotonic() - t0 < 10
    assert c.exec_command(command="echo again", id=sid).data.output == "again"
    # the soft timeout returns while the command keeps running; wait and view pick it up
    r = c.exec_command(command="sleep 1; echo late", id=sid, timeout=0.2)
    assert r.data.status == "running" and r.data.output is None
    assert "still running" in r.message
    assert c.wait_for_process(id=sid, seconds=20).data.status == "completed"
    v = c.view(id=sid).data
    assert (v.status, v.output, v.exit_code, v.session_id) == ("completed", "late", 0, sid)
    # no output for no_change_timeout seconds: the command waits for input
    d = c.exec_command(command="read -r v; echo got:$v", id=sid, no_change_timeout=1).data
    assert d.status == "no_change_timeout"
    w = c.write_to_process(id=sid, input="typed", press_enter=True)
    assert w.success is True and w.data.status in ("running", "completed")
    assert c.wait_for_process(id=sid, seconds=10, max_wait_seconds=20).data.status == \
        "completed"
    assert c.view(id=sid).data.output.endswith("got:typed")


def test_shell_async_write_and_kill(sb):
    c = sb.client.shell
    sid = c.create_session(id="sdk-async").data.session_id
    r = c.exec_command(command="read -r a; read -r b; echo $a+$b; sleep 60", id=sid,
                       async_mode=True)
    assert r.message == "Command sent for execution"
    assert (r.data.status, r.data.output, r.data.exit_code) == ("running", None, None)
    v = c.view(id=sid)
    assert v.success and v.data.status == "running" and v.data.command.startswith("read -r a")
    assert isinstance(v.data.console, list)
    c.write_to_process(id=sid, input="1", press_enter=True)
    c.write_to_process(id=sid, input="2\n", press_enter=False)
    # wait gives up after `seconds`, the command still running
    assert c.wait_for_process(id=sid, seconds=1).data.status == "running"
    for _ in range(100):
        if "1+2" in (c.view(id=sid).data.output or ""):
            break
        time.sleep(0.05)
    assert "1+2" in c.view(id=sid).data.output
    k = c.kill_process(id=sid)
    assert k.success is True and k.message == "Process terminated"
    assert (k.data.status, k.data.exit_code, k.data.returncode) == ("terminated", None, None)
    # the kill ended the session, as upstream's does
    api_error(lambda: c.view(id=sid), 404, "Session not found")


def test_shell_sessions_admin(sb):
    c = sb.client.shell
    c.cleanup_all_sessions()
    a = c.create_session(id="sdk-a", exec_dir=sb.home).data.session_id
    b = c.create_session(id="sdk-b").data.session_id
    c.exec_command(command="sleep 30", id=b, async_mode=True)
    r = c.update_session(id=a, no_change_timeout=33)
    assert r.success is True and r.data["no_change_timeout"] == 33
    sessions = c.list_sessions()
    assert sessions.success is True and set(sessions.data.sessions) == {a, b}
    info = sessions.data.sessions[a]
    assert info.working_dir == sb.home and info.age_seconds >= 0 and info.status
    assert info.created_at <= info.last_used_at
    assert sessions.data.sessions[b].current_command == "sleep 30"
    s = c.get_session_stats().data
    # active: running a command or used in the last minute
    assert (s.total_sessions, s.active_sessions, s.idle_sessions) == (2, 2, 0)
    assert s.max_sessions >= 2 and s.session_timeout > 0 and s.usage_ratio == 2 / s.max_sessions
    u = c.get_terminal_url()
    assert u.success is True and u.data.startswith(f"{sb.url}/terminal?session_id=")
    term = u.data.rsplit("=", 1)[1]
    assert term in c.list_sessions().data.sessions
    r = c.cleanup_session(a)
    assert r.success is True and a not in c.list_sessions().data.sessions
    r = c.cleanup_session(a)
    assert r.success is False and r.data == {"session_id": a}
    r = c.cleanup_all_sessions()
    assert r.success is True and r.data == {"cleaned_sessions": 2}
    assert c.list_sessions().data.sessions == {}


def test_shell_errors(sb):
    c = sb.client.shell
    for call in (lambda: c.exec_command(command="true", id="sdk-none"),
                 lambda: c.view(id="sdk-none"),
                 lambda: c.wait_for_process(id="sdk-none"),
                 lambda: c.write_to_process(id="sdk-none", input="x", press_enter=True),
                 lambda: c.kill_process(id="sdk-none"),
                 lambda: c.update_session(id="sdk-none", no_change_timeout=5)):
        api_error(call, 404, "Session not found")
    validation_error(lambda: c.exec_command(command=["echo"]), ["body", "command"],
                     "string_type")
    validation_error(lambda: c.wait_for_process(id="x", seconds="soon"), ["body", "seconds"],
                     "int_type")
    validation_error(lambda: c.write_to_process(id="x", input="y", press_enter="maybe"),
                     ["body", "press_enter"], "bool_type")


# --- bash ------------------------------------------------------------------------------------

def test_bash_sessions_and_streams(sb):
    c = sb.client.bash
    snap = f"{sb.ws}/snap.sh"
    sb.client.file.write_file(file=snap, content="export FROM_SNAPSHOT=yes\n")
    r = c.create_session(session_id="sdk-b", exec_dir=sb.ws, snapshot_path=snap)
    info = r.data
    assert r.success is True and (info.session_id, info.status, info.working_dir) == \
        ("sdk-b", "ready", sb.ws)
    assert info.created_at <= info.last_used_at

    r = c.exec(command="echo $A $FROM_SNAPSHOT; pwd; echo oops >&2; cd /; exit 3",
               session_id="sdk-b", env={"A": "va"}, timeout=30, hard_timeout=60,
               max_output_length=0, async_mode=False)
    d = r.data
    assert r.success is True and (d.session_id, d.status, d.exit_code) == ("sdk-b",
                                                                           "completed", 3)
    assert (d.stdout, d.stderr) == (f"va yes\n{sb.ws}\n", "oops\n")
    assert (d.offset, d.stderr_offset) == (len(d.stdout), 5) and d.command_id
    # cd and env do not persist; the streams are the session's, read by absolute offsets
    d2 = c.exec(command="pwd; echo ${A:-unset}", session_id="sdk-b").data
    assert d2.stdout == f"{sb.ws}\nunset\n" and d2.offset == d.offset + len(d2.stdout)
    o = c.output(session_id="sdk-b", offset=0, stderr_offset=0).data
    assert o.stdout == d.stdout + d2.stdout and o.stderr == "oops\n"
    assert (o.offset, o.stderr_offset) == (d2.offset, 5)
    assert o.command.command_id == d2.command_id and o.command.status == "completed"
    # exec_dir updates the session's directory; max_output_length truncates inline output
    d = c.exec(command="pwd; seq 1 2000", session_id="sdk-b", exec_dir=sb.home,
               max_output_length=2000).data
    assert d.stdout.startswith(sb.home + "\n") and d.stdout.endswith("\n1999\n2000\n")
    assert "[output truncated" in d.stdout and len(d.stdout) < 2200
    assert c.exec(command="pwd", session_id="sdk-b").data.stdout == sb.home + "\n"

    # async: stdin through write, output long-polled by command_id
    d = c.exec(command="read -r x; echo got:$x; sleep 0.2; echo end", session_id="sdk-b",
               async_mode=True).data
    assert d.status == "running" and d.stdout is None and d.exit_code is None
    assert c.write(session_id="sdk-b", input="hello\n", command_id=d.command_id).success
    text, off = "", d.offset
    for _ in range(50):
        o = c.output(session_id="sdk-b", command_id=d.command_id, offset=off, wait=True,
                     wait_timeout=5).data
        text, off = text + o.stdout, o.offset
        if o.command.status != "running":
            break
    assert text == "got:hello\nend\n" and o.command.status == "completed"
    assert o.command.exit_code == 0 and o.command.command_id == d.command_id

    # the soft timeout returns "running"; kill ends it
    d = c.exec(command="sleep 60", session_id="sdk-b", timeout=0.2).data
    assert d.status == "running"
    r = c.kill(session_id="sdk-b", signal="SIGKILL")
    assert r.success is True and "SIGKILL" in r.message
    o = c.output(session_id="sdk-b", command_id=d.command_id, wait=True, wait_timeout=5).data
    assert o.command.status == "killed"
    # hard_timeout kills the process group
    d = c.exec(command="sleep 60", session_id="sdk-b", hard_timeout=0.3).data
    assert (d.status, d.exit_code) == ("timed_out", -1)

    listed = {s.session_id: s for s in c.sessions().data}
    assert listed["sdk-b"].status == "ready" and listed["sdk-b"].command_count >= 6
    r = c.close_session("sdk-b")
    assert r.success is True and r.message == "Session sdk-b closed"
    assert "sdk-b" not in {s.session_id for s in c.sessions().data}


def test_bash_errors(sb):
    c = sb.client.bash
    api_error(lambda: c.output(session_id="sdk-none"), 404, "not found")
    api_error(lambda: c.kill(session_id="sdk-none"), 404, "not found")
    api_error(lambda: c.close_session("sdk-none"), 404, "not found")
    api_error(lambda: c.write(session_id="sdk-none", input="x"), 404, "not found")
    api_error(lambda: c.exec(command="true", env={"1BAD": "x"}), 400,
              "Invalid environment variable name")
    c.create_session(session_id="sdk-idle")
    api_error(lambda: c.write(session_id="sdk-idle", input="x"), 400, "No running process")
    validation_error(lambda: c.kill(session_id="sdk-idle", signal="SIGFOO"),
                     ["body", "signal"], "enum")
    validation_error(lambda: c.exec(command="true", env={"A": 1}), ["body", "env", "A"],
                     "string_type")
    validation_error(lambda: c.output(session_id="sdk-idle", offset="start"),
                     ["body", "offset"], "int_type")


# --- file ------------------------------------------------------------------------------------

def test_file_read_write_replace_search(sb):
    c = sb.client.file
    f = f"{sb.ws}/notes.txt"
    r = c.write_file(file=f, content="alpha\nbeta\ngamma\n", encoding="utf-8", append=False,
                     leading_newline=False, trailing_newline=False, sudo=False)
    assert r.success is True and (r.data.file, r.data.bytes_written) == (f, 17)
    r = c.write_file(file=f, content="delta", append=True, leading_newline=False,
                     trailing_newline=True)
    assert r.data.bytes_written == 6
    r = c.read_file(file=f)
    assert isinstance(r.data, FileReadResult)
    assert (r.data.content, r.data.file) == ("alpha\nbeta\ngamma\ndelta\n", f)
    assert c.read_file(file=f, start_line=1, end_line=3, sudo=False).data.content == \
        "beta\ngamma"
    # relative paths are the home directory's
    rel = f[len(sb.home) + 1:]
    assert c.read_file(file=rel).data.file == f

    raw = bytes(range(256)) * 4
    r = c.write_file(file=f"{sb.ws}/bin.dat", content=base64.b64encode(raw).decode(),
                     encoding="base64")
    assert r.data.bytes_written == len(raw)
    assert b"".join(c.download_file(path=f"{sb.ws}/bin.dat")) == raw

    r = c.replace_in_file(file=f, old_str="a\n", new_str="A\n", sudo=False)
    assert r.success is True and (r.data.file, r.data.replaced_count) == (f, 4)
    assert c.read_file(file=f).data.content == "alphA\nbetA\ngammA\ndeltA\n"
    r = c.search_in_file(file=f, regex=r"^(b|d)\w+", sudo=False)
    assert (r.data.matches, r.data.line_numbers) == (["betA", "deltA"], [1, 3])

    file_error(c.read_file(file=f"{sb.ws}/missing"), "not_found", "ENOENT")
    file_error(c.write_file(file=sb.ws, content="x"), "invalid_target", "EISDIR")
    file_error(c.replace_in_file(file=f"{sb.ws}/missing", old_str="a", new_str="b"),
               "not_found", "ENOENT")
    file_error(c.search_in_file(file=f"{sb.ws}/missing", regex="a"), "not_found", "ENOENT")
    d = file_error(c.read_file(file=f"{sb.ws}/missing"), "not_found", "ENOENT")
    assert isinstance(d, FileOperationError) and d.operation == "read"
    validation_error(lambda: c.read_file(file=f, start_line="two"), ["body", "start_line"],
                     "int_type")
    validation_error(lambda: c.write_file(file=f, content="x", encoding="rot13"),
                     ["body", "encoding"], "enum")


def test_file_find_grep_glob_list(sb):
    c = sb.client.file
    root = f"{sb.ws}/tree"
    for name, text in (("a.py", "import os\nx = 1\n"), ("sub/b.py", "y = 2\nimport sys\n"),
                       ("sub/c.txt", "IMPORT nothing\n"), (".hidden.py", "import re\n")):
        c.write_file(file=f"{root}/{name}", content=text)

    r = c.find_files(path=root, glob="*.py")
    assert r.success is True and r.data.path == root and r.data.truncated is False
    assert r.data.files == [f"{root}/a.py"]
    assert sorted(c.find_files(path=root, glob="**/*.py").data.files) == [f"{root}/a.py",
                                                                          f"{root}/sub/b.py"]

    r = c.grep_files(path=root, pattern="import", include=["*.py", "*.txt"], exclude=["c.*"],
                     case_insensitive=False, fixed_strings=True, context_before=1,
                     context_after=1, max_results=10, max_file_size="1M", multiline=False,
                     offset=0, recursive=True)
    g = r.data
    assert r.success is True and (g.path, g.pattern) == (root, "import")
    hits = sorted((m.file, m.line_number, m.line_content) for m in g.matches)
    assert hits == [(f"{root}/a.py", 1, "import os"), (f"{root}/sub/b.py", 2, "import sys")]
    b = next(m for m in g.matches if m.file.endswith("b.py"))
    assert (b.context_before, b.context_after) == (["y = 2"], [])
    assert g.match_count == 2 and g.files_matched == 2 and g.truncated is False
    g = c.grep_files(path=root, pattern="^import", case_insensitive=True, type="txt").data
    assert [m.file for m in g.matches] == [f"{root}/sub/c.txt"]

    r = c.glob_files(path=root, pattern="**/*.py", exclude=["sub/*"], include_hidden=True,
                     files_only=True, include_metadata=True, max_results=10, sort_by="name",
                     sort_desc=False)
    gl = r.data
    assert r.success is True and (gl.path, gl.pattern) == (root, "**/*.py")
    assert [f.name for f in gl.files] == [".hidden.py", "a.py"]
    assert all(f.size and not f.is_directory and f.modified_time for f in gl.files)

    r = c.list_path(path=root, recursive=True, show_hidden=False, file_types=[".py"],
                    max_depth=3, include_size=True, include_permissions=True, sort_by="name",
                    sort_desc=True)
    ls = r.data
    assert r.success is True and ls.path == root
    assert [f.name for f in ls.files if not f.is_directory] == ["b.py", "a.py"]
    a = next(f for f in ls.files if f.name == "a.py")
    assert (a.path, a.size, a.extension) == (f"{root}/a.py", 16, ".py")
    assert a.permissions.startswith("-rw") and a.modified_time
    assert ls.file_count == 2 and ls.total_count == ls.file_count + ls.directory_count

    for r in (c.find_files(path=f"{root}/none", glob="*"),
              c.grep_files(path=f"{root}/none", pattern="x"),
              c.glob_files(path=f"{root}/none", pattern="*"),
              c.list_path(path=f"{root}/none")):
        file_error(r, "not_found", "ENOENT")
    validation_error(lambda: c.grep_files(path=root, pattern="x", max_results="all"),
                     ["body", "max_results"], "int_type")
    validation_error(lambda: c.list_path(path=root, max_depth="deep"), ["body", "max_depth"],
                     "int_type")


def test_file_upload_download(sb):
    c = sb.client.file
    payload = os.urandom(300_000)
    r = c.upload_file(file=("blob.bin", payload, "application/octet-stream"),
                      path=f"{sb.ws}/up/blob.bin")
    assert r.success is True
    assert (r.data.file_path, r.data.file_size, r.data.success) == (f"{sb.ws}/up/blob.bin",
                                                                    len(payload), True)
    # a directory as the target keeps the uploaded file's name
    r = c.upload_file(file=("named.txt", b"hi\n"), path=f"{sb.ws}/up")
    assert r.data.file_path == f"{sb.ws}/up/named.txt"
    for policy in (None, "ignore", "abort"):
        kw = {} if policy is None else {"change_policy": policy}
        got = b"".join(c.download_file(path=f"{sb.ws}/up/blob.bin", **kw))
        assert got == payload, policy
    got = b"".join(c.download_file(path=f"{sb.ws}/up/blob.bin",
                                   request_options={"chunk_size": 4096}))
    assert got == payload
    api_error(lambda: b"".join(c.download_file(path=f"{sb.ws}/none")), 404,
              "File does not exist")
    api_error(lambda: b"".join(c.download_file(path=sb.ws)), 400, "not a file")
    validation_error(lambda: b"".join(c.download_file(path=sb.ws, change_policy="retry")),
                     ["query", "change_policy"], "enum")


def test_file_download_conflict(sb):
    """change_policy=abort: a file that changes as the download starts is a 409, which the SDK
    raises as ConflictError. A writer appending one byte per write(2) inside the sandbox
    changes the size between the server's open and its second look almost every time."""
    c = sb.client.file
    f = f"{sb.ws}/growing.log"
    c.write_file(file=f, content="start\n")
    writer = sb.client.bash.exec(
        command=f"exec dd if=/dev/zero of={f} bs=1 count=200000000 oflag=append conv=notrunc "
        "status=none", session_id="sdk-dd", async_mode=True).data
    try:
        conflict = None
        for _ in range(200):
            try:
                b"".join(c.download_file(path=f, change_policy="abort"))
            except ConflictError as e:
                conflict = e
                break
        assert conflict is not None, "no 409 in 200 downloads of a file being appended to"
        assert conflict.status_code == 409
        body = conflict.body
        assert body["success"] is False and body["message"] == \
            "File changed before download started"
        assert body["data"] == {"path": f, "change_policy": "abort", "phase": "before_start"}
        # ignore serves it all the same
        assert b"".join(c.download_file(path=f, change_policy="ignore")).startswith(b"start\n")
    finally:
        sb.client.bash.kill(session_id="sdk-dd", signal="SIGKILL")
    o = sb.client.bash.output(session_id="sdk-dd", command_id=writer.command_id, wait=True,
                              wait_timeout=5).data
    assert o.command.status == "killed"


def test_str_replace_editor(sb):
    c = sb.client.file
    f = f"{sb.ws}/edit.py"
    r = c.str_replace_editor(command="create", path=f, file_text="a = 1\nb = 2\n")
    d = r.data
    assert r.success is True and isinstance(d, StrReplaceEditorResult)
    assert (d.path, d.prev_exist, d.old_content, d.new_content) == (f, False, None,
                                                                     "a = 1\nb = 2\n")
    assert "File created successfully" in d.output
    d = c.str_replace_editor(command="view", path=f, view_range=[2, 2]).data
    assert d.output.endswith("     2\tb = 2\n") and "1\ta = 1" not in d.output
    assert d.prev_exist is True
    d = c.str_replace_editor(command="str_replace", path=f, old_str="b = 2",
                             new_str="b = 3").data
    assert (d.old_content, d.new_content) == ("a = 1\nb = 2\n", "a = 1\nb = 3\n")
    d = c.str_replace_editor(command="insert", path=f, insert_line=1, new_str="c = 4").data
    assert d.new_content == "a = 1\nc = 4\nb = 3\n"
    d = c.str_replace_editor(command="undo_edit", path=f).data
    assert "undone successfully" in d.output
    assert c.read_file(file=f).data.content == "a = 1\nb = 3\n"
    # replace_mode chooses among several occurrences
    f = f"{sb.ws}/edit2.txt"
    c.str_replace_editor(command="create", path=f, file_text="x\nx\nx\n")
    d = c.str_replace_editor(command="str_replace", path=f, old_str="x", new_str="y",
                             replace_mode="LAST").data
    assert d.new_content == "x\nx\ny\n"
    d = c.str_replace_editor(command="str_replace", path=f, old_str="x", new_str="z",
                             replace_mode="ALL").data
    assert d.new_content == "z\nz\ny\n"
    # every field the SDK offers, the document-only ones ignored for a text file
    d = c.str_replace_editor(command="view", path=f, view_range=[1, -1], page_range=[1, 2],
                             sheet_name="Sheet1", row_range=[1, 5], slide_range=[1, 2],
                             enable_metadata=False, file_text=None, old_str=None,
                             new_str=None, insert_line=None, replace_mode=None).data
    assert "3\ty" in d.output
    # a failed edit is a 400 (OpenHands' ToolError), raised as ApiError
    api_error(lambda: c.str_replace_editor(command="str_replace", path=f, old_str="nope",
                                           new_str="q"), 400, "did not appear verbatim")
    api_error(lambda: c.str_replace_editor(command="view", path=f"{sb.ws}/none"), 400,
              "does not exist")
    validation_error(lambda: c.str_replace_editor(command="explode", path=f),
                     ["body", "command"], "enum")


def test_file_watch(sb):
    c = sb.client.file
    d = f"{sb.ws}/watched"
    c.write_file(file=f"{d}/keep.txt", content="0")
    w = c.watch_create(path=d, recursive=True, exclude=["*.tmp"], debounce=100,
                       include_patterns=["*.txt"])
    wid = w["data"]["watcher_id"]
    assert w["data"]["path"] == d and w["data"]["status"] == "running"
    assert w["data"]["reused"] is False
    listed = c.watch_list()["data"]
    assert [x["watcher_id"] for x in listed] == [wid] and listed[0]["recursive"] is True

    c.write_file(file=f"{d}/skip.tmp", content="x")
    c.write_file(file=f"{d}/sub/new.txt", content="x")
    events, cursor = [], 0
    for _ in range(20):
        p = c.watch_poll(wid, cursor=cursor, limit=10, timeout=2)
        events += p["events"]
        cursor = p["cursor"]
        assert p["overflow"] is False
        if any(e["relative_path"] == "sub/new.txt" for e in events):
            break
    assert any(e["relative_path"] == "sub/new.txt" and e["type"] in ("create", "write")
               for e in events), events
    assert not any(e["path"].endswith(".tmp") for e in events)
    assert all(e["watcher_id"] == wid and e["seq"] <= cursor for e in events)

    # the one-shot wait sees a write made while it waits
    threading.Timer(0.5, lambda: c.write_file(file=f"{d}/keep.txt", content="1")).start()
    ev = c.watch_wait(path=f"{d}/keep.txt", timeout=10, event_types=["write"])["event"]
    assert ev["type"] == "write" and ev["path"] == f"{d}/keep.txt" and ev["is_dir"] is False
    api_error(lambda: c.watch_wait(path=f"{d}/never.txt", timeout=1), 408, "did not appear")

    # the events route is SSE, not JSON: the SDK reads until the stream ends (the watcher is
    # stopped), then hands over the text in an ApiError, with upstream's server as with ours
    stopped = []

    def later():
        time.sleep(0.5)
        c.write_file(file=f"{d}/late.txt", content="x")
        time.sleep(0.8)
        stopped.append(c.watch_stop(wid))
    stopper = threading.Thread(target=later)
    stopper.start()
    e = api_error(lambda: c.watch_events(wid, request_options={"timeout_in_seconds": 20}), 200)
    stopper.join()
    assert stopped == [{"data": {"watcher_id": wid, "status": "stopped"}}]
    assert e.headers["content-type"] == "text/event-stream"
    assert "event: watch_started" in e.body and "late.txt" in e.body
    api_error(lambda: c.watch_stop(wid), 404, "not found")
    api_error(lambda: c.watch_poll(wid), 404, "not found")
    api_error(lambda: c.watch_events(wid), 404, "not found")
    assert c.watch_list()["data"] == []
    api_error(lambda: c.watch_create(path=f"{sb.ws}/none"), 400, "does not exist")
    validation_error(lambda: c.watch_create(path=d, debounce=1), ["body", "debounce"],
                     "greater_than_equal")
    validation_error(lambda: c.watch_wait(path=d, event_types=["modify"]),
                     ["body", "event_types"], "enum")


# --- auth, the async client, and the skip ----------------------------------------------------

def test_api_key_header(tmp_path):
    a, home = start_apid(tmp_path, env={"SANDBOX_API_KEY": KEY})
    try:
        for headers, message in ((None, "Authorization header is missing"),
                                 ({"X-AIO-API-Key": "wrong"}, "Invalid API key."),
                                 ({"Authorization": "Bearer wrong"}, "Invalid")):
            c = Sandbox(base_url=a.url, headers=headers)
            api_error(c.sandbox.get_context, 401, message)
            api_error(lambda: c.shell.exec_command(command="true"), 401, message)
            api_error(lambda: c.file.upload_file(file=("x", b"x"), path=f"{home}/x"), 401)
            api_error(lambda: b"".join(c.file.download_file(path=f"{home}/x")), 401)
        for headers in ({"X-AIO-API-Key": KEY}, {"Authorization": f"Bearer {KEY}"}):
            c = Sandbox(base_url=a.url, headers=headers)
            assert c.sandbox.get_context().home_dir == home
            assert c.shell.exec_command(command="echo ok").data.output == "ok"
            assert c.bash.exec(command="echo ok").data.stdout == "ok\n"
            assert c.file.upload_file(file=("x", b"data"), path=f"{home}/x").data.file_size == 4
            assert b"".join(c.file.download_file(path=f"{home}/x")) == b"data"
            assert c.file.watch_list() == {"data": []}
            validation_error(lambda: c.file.read_file(file=f"{home}/x", end_line="z"),
                             ["body", "end_line"], "int_type")
    finally:
        stop_apid(a)


def test_async_client(apid_target):
    import asyncio

    async def main():
        c = AsyncSandbox(base_url=apid_target.url)
        ctx, sh, ba = await asyncio.gather(
            c.sandbox.get_context(), c.shell.exec_command(command="echo one"),
            c.bash.exec(command="echo two"))
        assert ctx.home_dir == apid_target.home
        assert sh.data.output == "one" and ba.data.stdout == "two\n"
        f = f"{apid_target.ws}/async.txt"
        assert (await c.file.write_file(file=f, content="three")).success
        assert (await c.file.read_file(file=f)).data.content == "three"
        chunks = []
        async for chunk in c.file.download_file(path=f):
            chunks.append(chunk)
        assert b"".join(chunks) == b"three"
        with pytest.raises(ApiError) as e:
            await c.shell.view(id="sdk-none")
        assert e.value.status_code == 404

    asyncio.run(main())


def test_skips_cleanly_without_the_sdk(tmp_path):
    env = dict(os.environ, AIO_SDK_PATH=str(tmp_path / "nowhere"))
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                        str(Path(__file__))], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode in (0, 5), p.stdout + p.stderr  # 5: nothing collected, all skipped
    assert "1 skipped" in p.stdout and "agent-sandbox SDK is not at" in p.stdout, p.stdout

