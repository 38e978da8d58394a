"""/v1/file/* of aio-apid against a real server (outside a jail, HOME pointing at a fresh
directory): upstream's shapes, FileOperationError, 422s naming the field, atomic writes, uploads,
Range downloads, the editor and inotify watchers."""
import base64
import hashlib
import json
import os
import threading
import time

import pytest
import requests

from test_apid import Apid, need_apid

MiB = 1 << 20


@pytest.fixture
def home(tmp_path):
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def api(tmp_path, home):
    need_apid()
    a = Apid(tmp_path, env={"HOME": str(home)})
    deadline = time.time() + 10
    while True:
        try:
            a.get("/v1/sandbox", timeout=2)
            break
        except requests.ConnectionError:
            assert time.time() < deadline, a.stderr()
            time.sleep(0.05)
    yield a
    assert a.stop() == 0, a.stderr()


def post(api, path, body, status=200, **kw):
    r = api.post(path, json=body, **kw)
    assert r.status_code == status, r.text
    return r.json()


def ok(api, path, body):
    j = post(api, path, body)
    assert j["success"] is True, j
    return j["data"]


def fail(api, path, body, error_type, errno_name=None):
    j = post(api, path, body)
    assert j["success"] is False, j
    d = j["data"]
    assert set(d) >= {"path", "operation", "message", "error_type", "retryable", "errno",
                      "errno_name", "exception_type"}
    assert d["error_type"] == error_type, d
    assert d["message"] == j["message"]
    if errno_name:
        assert d["errno_name"] == errno_name
    return d


def check_422(api, path, body, loc, type_):
    r = api.post(path, json=body)
    assert r.status_code == 422, r.text
    j = r.json()
    assert j["success"] is False and j["message"] == "Request data validation failed"
    assert any(d["loc"] == loc and d["type"] == type_ for d in j["detail"]), j
    assert any(e["location"] == loc for e in j["errors"])


def no_temp_files(d):
    return [p for p in os.listdir(d) if ".aio-" in p] == []


# --- read / write ----------------------------------------------------------------------------

def test_write_then_read_and_line_ranges(api, home):
    d = ok(api, "/v1/file/write", {"file": str(home / "a" / "b.txt"), "content": "l0\nl1\nl2\nl3\n"})
    assert d == {"file": str(home / "a" / "b.txt"), "bytes_written": 12}
    assert (home / "a" / "b.txt").read_text() == "l0\nl1\nl2\nl3\n"
    j = post(api, "/v1/file/read", {"file": str(home / "a/b.txt")})
    assert j["message"] == "File read successfully"
    assert j["data"] == {"content": "l0\nl1\nl2\nl3\n", "file": str(home / "a/b.txt")}
    rng = lambda **kw: ok(api, "/v1/file/read", {"file": "a/b.txt", **kw})["content"]
    assert rng(start_line=1, end_line=3) == "l1\nl2"
    assert rng(start_line=2) == "l2\nl3"
    assert rng(end_line=1) == "l0"
    assert rng(start_line=-2) == "l2\nl3"  # Python slice rules
    assert rng(start_line=10) == ""
    assert rng(start_line=None, end_line=None, sudo=None) == "l0\nl1\nl2\nl3\n"  # nulls allowed


def test_relative_and_tilde_paths_resolve_against_home(api, home):
    ok(api, "/v1/file/write", {"file": "rel.txt", "content": "x"})
    assert (home / "rel.txt").read_text() == "x"
    assert ok(api, "/v1/file/read", {"file": "~/rel.txt"})["file"] == str(home / "rel.txt")
    assert ok(api, "/v1/file/read", {"file": "./sub/../rel.txt"})["content"] == "x"


def test_write_append_newlines_and_encodings(api, home):
    f = str(home / "w.txt")
    ok(api, "/v1/file/write", {"file": f, "content": "a"})
    ok(api, "/v1/file/write", {"file": f, "content": "b", "append": True, "leading_newline": True,
                               "trailing_newline": True})
    assert open(f).read() == "a\nb\n"
    blob = bytes(range(256))
    d = ok(api, "/v1/file/write", {"file": f, "content": base64.b64encode(blob).decode(),
                                   "encoding": "base64"})
    assert d["bytes_written"] == 256 and open(f, "rb").read() == blob
    ok(api, "/v1/file/write", {"file": f, "content": "\u00e9\u00ff", "encoding": "raw"})
    assert open(f, "rb").read() == b"\xe9\xff"
    r = post(api, "/v1/file/write", {"file": f, "content": "!!notbase64", "encoding": "base64"}, 400)
    assert "base64" in r["message"]
    check_422(api, "/v1/file/write", {"file": f, "content": "x", "encoding": "utf-16"},
              ["body", "encoding"], "enum")
    assert no_temp_files(home)


def test_write_keeps_mode_and_writes_through_symlinks(api, home):
    f = home / "m.sh"
    f.write_text("old")
    os.chmod(f, 0o750)
    os.symlink(f, home / "link")
    ok(api, "/v1/file/write", {"file": str(home / "link"), "content": "new"})
    assert os.path.islink(home / "link") and f.read_text() == "new"
    assert os.stat(f).st_mode & 0o777 == 0o750


def test_validation_422_names_the_field(api):
    check_422(api, "/v1/file/read", {}, ["body", "file"], "missing")
    check_422(api, "/v1/file/read", {"file": 5}, ["body", "file"], "string_type")
    check_422(api, "/v1/file/read", {"file": "/x", "start_line": "1"}, ["body", "start_line"],
              "int_type")
    check_422(api, "/v1/file/read", {"file": "/x", "bogus": 1}, ["body", "bogus"],
              "extra_forbidden")
    check_422(api, "/v1/file/write", {"file": "/tmp/x"}, ["body", "content"], "missing")
    check_422(api, "/v1/file/write", {"file": "/tmp/x", "content": "x", "append": "yes"},
              ["body", "append"], "bool_type")
    check_422(api, "/v1/file/replace", {"file": "/tmp/x", "old_str": "a"}, ["body", "new_str"],
              "missing")
    check_422(api, "/v1/file/grep", {"path": "/tmp", "pattern": "x", "include": "*.py"},
              ["body", "include"], "list_type")
    check_422(api, "/v1/file/grep", {"path": "/tmp", "pattern": "x", "include": ["a", 3]},
              ["body", "include", 1], "string_type")
    check_422(api, "/v1/file/grep", {"path": "/tmp", "pattern": "x", "max_results": 0},
              ["body", "max_results"], "greater_than_equal")
    check_422(api, "/v1/file/glob", {"path": "/tmp"}, ["body", "pattern"], "missing")
    check_422(api, "/v1/file/list", {"path": None}, ["body", "path"], "string_type")
    check_422(api, "/v1/file/str_replace_editor", {"command": "view"}, ["body", "path"], "missing")
    check_422(api, "/v1/file/watch", {"path": "/tmp", "debounce": 10}, ["body", "debounce"],
              "greater_than_equal")


def test_read_errors(api, home):
    d = fail(api, "/v1/file/read", {"file": "/nonexistent/x.txt"}, "not_found", "ENOENT")
    assert d["errno"] == 2 and d["exception_type"] == "FileNotFoundError"
    assert d["operation"] == "read" and d["path"] == "/nonexistent/x.txt"
    assert d["message"] == ("Failed to read file: [Errno 2] No such file or directory: "
                            "'/nonexistent/x.txt'")
    fail(api, "/v1/file/read", {"file": str(home)}, "invalid_target", "EISDIR")
    fail(api, "/v1/file/read", {"file": ""}, "invalid_path")
    (home / "secret").write_text("s")
    os.chmod(home / "secret", 0)
    if os.geteuid() != 0:
        d = fail(api, "/v1/file/read", {"file": str(home / "secret"), "sudo": True},
                 "permission_denied", "EACCES")
        assert "sudo is not available" in d["message"]


def test_non_utf8_content(api, home):
    (home / "bin").write_bytes(b"ok\n\xff\xfe\x00bad\n")
    d = fail(api, "/v1/file/read", {"file": "bin"}, "decode_error")
    assert d["errno"] is None and d["exception_type"] == "UnicodeDecodeError"
    d = ok(api, "/v1/file/read", {"file": "bin", "encoding": "base64"})
    assert base64.b64decode(d["content"]) == b"ok\n\xff\xfe\x00bad\n"
    # names that are not UTF-8 come back as valid JSON with U+FFFD
    (home / "d").mkdir()
    open(os.path.join(str(home / "d").encode(), b"\xffname"), "w").close()
    r = api.post("/v1/file/list", json={"path": str(home / "d")})
    assert r.status_code == 200
    assert r.json()["data"]["files"][0]["name"] == "\ufffdname"


def torn_check(home, size, write):
    f = home / "big"
    f.write_bytes(b"a" * size)
    stop = threading.Event()
    seen = []

    def reader():
        while not stop.is_set():
            data = f.read_bytes()
            seen.append((len(data), data.count(data[:1]) == len(data)))

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(8):
            write(str(f), (b"b" if i % 2 == 0 else b"a") * size)
    finally:
        stop.set()
        t.join()
    assert seen and all(n == size and uniform for n, uniform in seen), seen[:5]
    assert no_temp_files(home)


def test_torn_write_readers_see_old_or_new(api, home):
    """JSON bodies stop at 1 MiB: /write is checked at 900 KB, /upload at 16 MiB."""
    torn_check(home, 900 * 1024, lambda f, data: ok(api, "/v1/file/write",
                                                    {"file": f, "content": data.decode()}))

    def upload(f, data):
        r = api.post("/v1/file/upload", files={"file": ("big", data)}, data={"path": f},
                     timeout=60)
        assert r.status_code == 200 and r.json()["success"], r.text

    torn_check(home, 16 * MiB, upload)


def test_replace_and_search(api, home):
    f = home / "r.txt"
    f.write_text("foo bar foo\nbaz 42\nfoo\n")
    j = post(api, "/v1/file/replace", {"file": str(f), "old_str": "foo", "new_str": "X"})
    assert j["data"] == {"file": str(f), "replaced_count": 3}
    assert j["message"] == "Replacement completed, replaced 3 occurrences"
    assert f.read_text() == "X bar X\nbaz 42\nX\n"
    assert ok(api, "/v1/file/replace", {"file": str(f), "old_str": "nope",
                                        "new_str": "y"})["replaced_count"] == 0
    d = ok(api, "/v1/file/search", {"file": str(f), "regex": r"\d+"})
    assert d == {"file": str(f), "matches": ["baz 42"], "line_numbers": [1]}  # 0-based
    d = ok(api, "/v1/file/search", {"file": str(f), "regex": "^X"})
    assert d["line_numbers"] == [0, 2]
    r = post(api, "/v1/file/search", {"file": str(f), "regex": "(unclosed"}, 400)
    assert r["message"].startswith("Invalid regular expression")
    fail(api, "/v1/file/replace", {"file": str(home / "none"), "old_str": "a", "new_str": "b"},
         "not_found", "ENOENT")


# --- tree operations -------------------------------------------------------------------------

@pytest.fixture
def tree(home):
    t = home / "t"
    (t / "src" / "deep").mkdir(parents=True)
    (t / "node_modules").mkdir()
    (t / ".hidden").mkdir()
    (t / "src" / "a.py").write_text("import os\nprint('hello')\n# hello again\n")
    (t / "src" / "deep" / "b.py").write_text("x = 1\nhello = 2\n")
    (t / "src" / "c.txt").write_text("hello text\n")
    (t / "node_modules" / "m.js").write_text("hello module\n")
    (t / ".hidden" / "h.py").write_text("hello hidden\n")
    (t / "bin.dat").write_bytes(b"hello\x00binary")
    (t / "top.md").write_text("# Hello\n" * 3)
    return t


def test_list(api, tree):
    d = ok(api, "/v1/file/list", {"path": str(tree)})
    names = [f["name"] for f in d["files"]]
    assert names == sorted(names, key=str.lower) and ".hidden" in names and "src" in names
    assert d["total_count"] == len(names) == d["directory_count"] + d["file_count"]
    top = next(f for f in d["files"] if f["name"] == "top.md")
    assert top == {"name": "top.md", "path": str(tree / "top.md"), "is_directory": False,
                   "size": 24, "modified_time": top["modified_time"], "permissions": None,
                   "extension": ".md"}
    assert top["modified_time"] == str(int(os.stat(tree / "top.md").st_mtime))
    d = ok(api, "/v1/file/list", {"path": str(tree), "recursive": True, "show_hidden": False,
                                  "file_types": ["py"], "include_permissions": True})
    paths = {f["path"] for f in d["files"]}
    assert str(tree / "src" / "deep" / "b.py") in paths and str(tree / ".hidden" / "h.py") not in paths
    assert str(tree / "top.md") not in paths
    assert all(f["permissions"][0] in "d-" and len(f["permissions"]) == 10 for f in d["files"])
    d = ok(api, "/v1/file/list", {"path": str(tree), "recursive": True, "max_depth": 0})
    assert all(os.path.dirname(f["path"]) == str(tree) for f in d["files"])
    d = ok(api, "/v1/file/list", {"path": str(tree), "sort_by": "size", "sort_desc": True})
    sizes = [f["size"] or 0 for f in d["files"]]
    assert sizes == sorted(sizes, reverse=True)
    fail(api, "/v1/file/list", {"path": str(tree / "top.md")}, "invalid_target", "ENOTDIR")
    fail(api, "/v1/file/list", {"path": str(tree / "nope")}, "not_found", "ENOENT")


def test_find_and_glob(api, tree):
    d = ok(api, "/v1/file/find", {"path": str(tree), "glob": "**/*.py"})
    assert sorted(d["files"]) == sorted([str(tree / "src/a.py"), str(tree / "src/deep/b.py")])
    d = ok(api, "/v1/file/find", {"path": str(tree), "glob": "*.md"})
    assert d["files"] == [str(tree / "top.md")]
    d = ok(api, "/v1/file/glob", {"path": str(tree), "pattern": "**/*.py"})
    assert [f["name"] for f in d["files"]] == ["a.py", "b.py"] and d["total_count"] == 2
    assert d["files"][0] == {"path": str(tree / "src/a.py"), "name": "a.py",
                             "is_directory": False, "size": 39,
                             "modified_time": d["files"][0]["modified_time"]}
    d = ok(api, "/v1/file/glob", {"path": str(tree), "pattern": "**/*.py", "include_hidden": True})
    assert str(tree / ".hidden/h.py") in [f["path"] for f in d["files"]]
    d = ok(api, "/v1/file/glob", {"path": str(tree), "pattern": "**/*", "exclude": ["deep"],
                                  "files_only": False, "max_results": 3})
    assert d["truncated"] is True and len(d["files"]) == 3
    d = ok(api, "/v1/file/glob", {"path": str(tree), "pattern": "*", "files_only": False,
                                  "include_metadata": False, "sort_by": "name", "sort_desc": True})
    names = [f["name"] for f in d["files"]]
    assert names == sorted(names, key=str.lower, reverse=True)
    assert all(f["size"] is None and f["modified_time"] is None for f in d["files"])
    fail(api, "/v1/file/find", {"path": str(tree / "nope"), "glob": "*"}, "not_found")


def test_grep(api, tree):
    d = ok(api, "/v1/file/grep", {"path": str(tree), "pattern": "hello"})
    files = {m["file"] for m in d["matches"]}
    # hidden directories and binary files are skipped; node_modules is not excluded by default
    assert str(tree / "bin.dat") not in files and str(tree / ".hidden/h.py") not in files
    assert str(tree / "src/a.py") in files and str(tree / "src/c.txt") in files
    assert d["match_count"] == len(d["matches"]) and d["truncated"] is False
    assert d["files_matched"] == len(files)
    m = next(m for m in d["matches"] if m["file"] == str(tree / "src/a.py"))
    assert m == {"file": str(tree / "src/a.py"), "line_number": 2, "line_content": "print('hello')",
                 "context_before": None, "context_after": None}
    d = ok(api, "/v1/file/grep", {"path": str(tree), "pattern": "HELLO", "case_insensitive": True,
                                  "include": ["*.py"], "exclude": ["deep"], "context_before": 1,
                                  "context_after": 1})
    assert [(m["line_number"], m["context_before"], m["context_after"]) for m in d["matches"]] == [
        (2, ["import os"], ["# hello again"]), (3, ["print('hello')"], [])]
    d = ok(api, "/v1/file/grep", {"path": str(tree), "pattern": "hello", "max_results": 2})
    assert d["truncated"] is True and d["match_count"] == 2
    d2 = ok(api, "/v1/file/grep", {"path": str(tree), "pattern": "hello", "max_results": 2,
                                   "offset": 2})
    assert d2["matches"][0] != d["matches"][0]
    d = ok(api, "/v1/file/grep", {"path": str(tree), "pattern": "(", "fixed_strings": True})
    assert [m["line_content"] for m in d["matches"]] == ["print('hello')"]
    d = ok(api, "/v1/file/grep", {"path": str(tree), "pattern": "import.*print", "multiline": True})
    assert [(m["file"], m["line_number"]) for m in d["matches"]] == [(str(tree / "src/a.py"), 1)]
    d = ok(api, "/v1/file/grep", {"path": str(tree), "pattern": "hello", "type": "md"})
    assert d["matches"] == []
    d = ok(api, "/v1/file/grep", {"path": str(tree), "pattern": "Hello", "type": "md",
                                  "max_file_size": "10"})
    assert d["matches"] == [] and d["files_searched"] == 0
    d = ok(api, "/v1/file/grep", {"path": str(tree / "top.md"), "pattern": "Hello"})
    assert d["match_count"] == 3
    d = ok(api, "/v1/file/grep", {"path": str(tree), "pattern": "hello", "recursive": False})
    assert d["matches"] == []
    assert post(api, "/v1/file/grep", {"path": str(tree), "pattern": "["}, 400)["success"] is False
    assert post(api, "/v1/file/grep", {"path": str(tree), "pattern": "x",
                                       "max_file_size": "big"}, 400)["success"] is False
    fail(api, "/v1/file/grep", {"path": str(tree / "nope"), "pattern": "x"}, "not_found")


# --- upload / download -----------------------------------------------------------------------

def test_upload_10mb(api, home):
    data = os.urandom(10 * MiB)
    dest = home / "up" / "blob.bin"
    r = api.post("/v1/file/upload", files={"file": ("blob.bin", data)}, data={"path": str(dest)},
                 timeout=60)
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["success"] is True and j["message"] == "File uploaded successfully"
    assert j["data"] == {"file_path": str(dest), "file_size": len(data), "success": True}
    assert hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert no_temp_files(dest.parent)
    # into a directory: the upload's own name
    r = api.post("/v1/file/upload", files={"file": ("n.txt", b"hi")}, data={"path": str(home) + "/"})
    assert r.json()["data"]["file_path"] == str(home / "n.txt")
    r = api.post("/v1/file/upload", data={"path": "/tmp/x"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]
    r = api.post("/v1/file/upload", files={"other": ("a", b"a")})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]


def test_download_and_ranges(api, home):
    data = bytes(range(256)) * 40
    (home / "dl.bin").write_bytes(data)
    url = "/v1/file/download?path=" + str(home / "dl.bin")
    r = api.get(url)
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"] == 'attachment; filename="dl.bin"'
    assert r.headers["accept-ranges"] == "bytes"
    r = api.get(url, headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == data[100:200]
    assert r.headers["content-range"] == f"bytes 100-199/{len(data)}"
    r = api.get(url, headers={"Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == data[-10:]
    r = api.get(url, headers={"Range": "bytes=10000-"})
    assert r.status_code == 206 and r.content == data[10000:]
    r = api.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{len(data)}"
    r = api.get(url, headers={"Range": "bytes=5-1"})  # malformed: ignored, all of it
    assert r.status_code == 200 and r.content == data
    r = api.get(url + "&change_policy=abort")
    assert r.status_code == 200 and r.content == data
    r = api.get(url + "&change_policy=sometimes")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "change_policy"]
    r = api.get("/v1/file/download?path=" + str(home / "missing"))
    assert r.status_code == 404 and r.json()["success"] is False
    r = api.get("/v1/file/download?path=" + str(home))
    assert r.status_code == 400
    r = api.get("/v1/file/download")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "path"]
    r = api.get("/v1/file/download?path=dl.bin")  # relative: under HOME
    assert r.content == data


# --- str_replace_editor ----------------------------------------------------------------------

def editor(api, status=200, **body):
    return post(api, "/v1/file/str_replace_editor", body, status)


def test_editor(api, home):
    f = str(home / "e" / "x.py")
    j = editor(api, command="create", path=f, file_text="a\nb\nc\n")
    assert j["data"]["output"] == f"File created successfully at: {f}"
    assert j["data"]["prev_exist"] is False and open(f).read() == "a\nb\nc\n"
    j = editor(api, 400, command="create", path=f, file_text="again")
    assert "File already exists" in j["message"]
    v = editor(api, command="view", path=f)["data"]["output"]
    assert v == f"Here's the result of running `cat -n` on {f}:\n     1\ta\n     2\tb\n     3\tc\n"
    v = editor(api, command="view", path=f, view_range=[2, -1])["data"]["output"]
    assert v.endswith("     2\tb\n     3\tc\n")
    assert "Invalid `view_range`" in editor(api, 400, command="view", path=f, view_range=[9, 10])["message"]
    d = editor(api, command="str_replace", path=f, old_str="b", new_str="B")["data"]
    assert d["old_content"] == "a\nb\nc\n" and d["new_content"] == "a\nB\nc\n"
    assert "has been edited" in d["output"] and "     2\tB" in d["output"]
    open(f, "a").write("a\n")
    j = editor(api, 400, command="str_replace", path=f, old_str="a", new_str="z")
    assert "Multiple occurrences of old_str `a` in lines [1, 4]" in j["message"]
    assert "did not appear verbatim" in editor(api, 400, command="str_replace", path=f,
                                               old_str="nope", new_str="z")["message"]
    assert "must be different" in editor(api, 400, command="str_replace", path=f, old_str="a",
                                         new_str="a")["message"]
    editor(api, command="str_replace", path=f, old_str="a", new_str="Z", replace_mode="LAST")
    assert open(f).read() == "a\nB\nc\nZ\n"
    editor(api, command="insert", path=f, insert_line=1, new_str="ins")
    assert open(f).read() == "a\nins\nB\nc\nZ\n"
    assert "insert_line" in editor(api, 400, command="insert", path=f, insert_line=99,
                                   new_str="x")["message"]
    editor(api, command="undo_edit", path=f)
    assert open(f).read() == "a\nB\nc\nZ\n"
    editor(api, command="undo_edit", path=f)
    assert open(f).read() == "a\nB\nc\na\n"
    editor(api, command="undo_edit", path=f)
    assert open(f).read() == "a\nb\nc\n"
    editor(api, command="undo_edit", path=f)  # undoing the create removes the file
    assert not os.path.exists(f)
    assert "No edit history" in editor(api, 400, command="undo_edit", path=f)["message"]
    assert "does not exist" in editor(api, 400, command="view", path=f)["message"]
    d = editor(api, command="view", path=str(home))["data"]["output"]
    assert d.startswith(f"Here's the files and directories up to 2 levels deep in {home}")
    assert str(home / "e") in d


# --- watch -----------------------------------------------------------------------------------

def poll_until(api, wid, want, cursor=0, timeout=10):
    events, deadline = [], time.time() + timeout
    while time.time() < deadline:
        j = post(api, f"/v1/file/watch/{wid}/poll", {"cursor": cursor, "timeout": 1})
        events += j["events"]
        cursor = j["cursor"]
        if want(events):
            return events, cursor
    raise AssertionError(events)


def test_watch_events_in_subdirectory(api, home):
    (home / "w").mkdir()
    j = post(api, "/v1/file/watch", {"path": str(home / "w")})
    wid = j["data"]["watcher_id"]
    assert j["data"]["path"] == str(home / "w") and j["data"]["status"] == "running"
    again = post(api, "/v1/file/watch", {"path": str(home / "w")})
    assert again["data"]["watcher_id"] == wid and again["data"]["reused"] is True
    sub = home / "w" / "sub"
    sub.mkdir()
    time.sleep(0.3)  # the new directory gets its own watch
    (sub / "f.txt").write_text("1")
    with open(sub / "f.txt", "a") as fh:
        fh.write("2")
    (sub / "f.txt").unlink()
    (home / "w" / ".git").mkdir()
    (home / "w" / ".git" / "ignored").write_text("x")

    def seen(ev):
        kinds = {(e["type"], e["relative_path"]) for e in ev}
        return {("create", "sub"), ("create", "sub/f.txt"), ("write", "sub/f.txt"),
                ("remove", "sub/f.txt")} <= kinds

    events, cursor = poll_until(api, wid, seen)
    assert all(e["watcher_id"] == wid and e["path"].startswith(str(home / "w")) for e in events)
    assert not any(".git" in e["path"] for e in events)  # excluded by default
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert next(e for e in events if e["relative_path"] == "sub")["is_dir"] is True
    j = post(api, f"/v1/file/watch/{wid}/poll", {"cursor": cursor})
    assert j == {"events": [], "cursor": cursor, "overflow": False}
    t0 = time.time()
    post(api, f"/v1/file/watch/{wid}/poll", {"cursor": cursor, "timeout": 1})
    assert time.time() - t0 >= 0.9  # long poll waits
    (sub / "r1").write_text("x")
    os.rename(sub / "r1", sub / "r2")
    events, _ = poll_until(api, wid, lambda ev: any(e["type"] == "rename" for e in ev), cursor)
    ren = next(e for e in events if e["type"] == "rename")
    assert ren["path"] == str(sub / "r2") and ren["old_path"] == str(sub / "r1")
    lst = api.get("/v1/file/watch").json()["data"]
    assert [w["watcher_id"] for w in lst] == [wid] and lst[0]["latest_seq"] >= ren["seq"]
    r = requests.delete(f"{api.url}/v1/file/watch/{wid}", timeout=5)
    assert r.json() == {"data": {"watcher_id": wid, "status": "stopped"}}
    r = api.post(f"/v1/file/watch/{wid}/poll", json={})
    assert r.status_code == 404 and r.json()["data"]["code"] == "WATCHER_NOT_FOUND"
    assert requests.delete(f"{api.url}/v1/file/watch/{wid}", timeout=5).status_code == 404


def test_watch_sse_stream(api, home):
    wid = post(api, "/v1/file/watch", {"path": str(home)})["data"]["watcher_id"]
    with requests.get(f"{api.url}/v1/file/watch/{wid}/events", stream=True, timeout=10) as r:
        assert r.headers["content-type"] == "text/event-stream"
        lines = r.iter_lines(decode_unicode=True)
        assert next(lines) == "event: watch_started"
        assert json.loads(next(lines)[6:]) == {"watcher_id": wid, "path": str(home)}
        (home / "sse.txt").write_text("x")
        for line in lines:
            if line.startswith("data: ") and "sse.txt" in line:
                ev = json.loads(line[6:])
                assert ev["type"] == "create" and ev["path"] == str(home / "sse.txt")
                break
    assert api.get(f"/v1/file/watch/nope/events").status_code == 404


def test_watch_wait(api, home):
    target = home / "later.txt"
    threading.Timer(0.5, target.write_text, args=("x",)).start()
    j = post(api, "/v1/file/watch/wait", {"path": str(target), "timeout": 10})
    assert j["event"]["type"] == "create" and j["event"]["path"] == str(target)
    j = post(api, "/v1/file/watch/wait", {"path": str(target)})  # exists already
    assert j["event"]["type"] == "create" and j["event"]["seq"] == 0
    threading.Timer(0.5, target.unlink).start()
    j = post(api, "/v1/file/watch/wait", {"path": str(target), "event_types": ["remove"]})
    assert j["event"]["type"] == "remove"
    r = api.post("/v1/file/watch/wait", json={"path": str(home / "never"), "timeout": 1})
    assert r.status_code == 408 and r.json()["data"]["code"] == "WATCH_TIMEOUT"
    r = api.post("/v1/file/watch/wait", json={"path": "/nonexistent/dir/f"})
    assert r.status_code == 400
    check_422(api, "/v1/file/watch/wait", {"path": "/tmp/x", "event_types": ["explode"]},
              ["body", "event_types"], "enum")
    check_422(api, "/v1/file/watch/wait", {"path": "/tmp/x", "timeout": 0}, ["body", "timeout"],
              "greater_than_equal")


def test_watch_sees_api_writes_as_writes(api, home):
    """write, replace, the editor and upload replace a file atomically (a hidden temp file renamed
    over it): a watcher sees a write of the file, as upstream's in-place writes show, never the
    temp file or a rename from it; watch/wait for a write sees such a write."""
    d = home / "aw"
    d.mkdir()
    f = d / "f.txt"
    f.write_text("0")
    wid = post(api, "/v1/file/watch", {"path": str(d), "debounce": 50})["data"]["watcher_id"]
    ok(api, "/v1/file/write", {"file": str(f), "content": "1"})
    ok(api, "/v1/file/replace", {"file": str(f), "old_str": "1", "new_str": "2"})
    editor(api, command="str_replace", path=str(f), old_str="2", new_str="3")
    r = requests.post(api.url + "/v1/file/upload", files={"file": ("f.txt", b"4")},
                      data={"path": str(f)}, timeout=30)
    assert r.json()["success"] is True
    ok(api, "/v1/file/write", {"file": str(d / "new.txt"), "content": "n"})
    events, cursor = poll_until(api, wid, lambda ev: any(e["relative_path"] == "new.txt"
                                                         for e in ev))
    assert not [e for e in events if ".aio-" in e["path"] + (e["old_path"] or "")], events
    assert {(e["type"], e["relative_path"], e["old_path"]) for e in events} == {
        ("write", "f.txt", None), ("write", "new.txt", None)}
    assert f.read_text() == "4" and no_temp_files(d)
    # a rename made by someone else is still a rename
    os.rename(d / "new.txt", d / "old.txt")
    events, _ = poll_until(api, wid, lambda ev: any(e["type"] == "rename" for e in ev), cursor)
    assert [(e["type"], e["relative_path"], e["old_path"]) for e in events] == [
        ("rename", "old.txt", str(d / "new.txt"))]
    threading.Timer(0.5, lambda: requests.post(api.url + "/v1/file/write", timeout=10,
                                               json={"file": str(f), "content": "5"})).start()
    j = post(api, "/v1/file/watch/wait", {"path": str(f), "event_types": ["write"], "timeout": 10})
    assert j["event"]["type"] == "write" and j["event"]["path"] == str(f)


def test_watch_limits_and_errors(api, home):
    r = api.post("/v1/file/watch", json={"path": str(home / "nope")})
    assert r.status_code == 400
    ids = []
    for i in range(32):
        (home / f"d{i}").mkdir()
        ids.append(post(api, "/v1/file/watch", {"path": str(home / f"d{i}")})["data"]["watcher_id"])
    (home / "one-more").mkdir()
    r = api.post("/v1/file/watch", json={"path": str(home / "one-more")})
    assert r.status_code == 429 and r.json()["data"]["code"] == "WATCH_LIMIT_EXCEEDED"
    for wid in ids:
        assert requests.delete(f"{api.url}/v1/file/watch/{wid}", timeout=5).status_code == 200
    # closed with their watchers, once the drainer thread lets go (200 ms; more on a busy host)
    for _ in range(100):
        fds = [os.readlink(f"/proc/{api.proc.pid}/fd/{n}")
               for n in os.listdir(f"/proc/{api.proc.pid}/fd")]
        if not [f for f in fds if "inotify" in f]:
            break
        time.sleep(0.05)
    assert not [f for f in fds if "inotify" in f], fds


# --- inside a real jail ----------------------------------------------------------------------

def test_home_gem_inside_aio_run_up(aio, state_dir):
    """aio-run up --rootfs host: aio-apid runs as gem in the jail; /home/gem is its home."""
    need_apid()
    from test_up import start_up, stop
    proc, url = start_up(aio, "--port", "0", "--rootfs", "host", "--name", "filetest")
    try:
        def call(path, body):
            r = requests.post(url + path, json=body, timeout=30)
            assert r.status_code == 200, r.text
            return r.json()

        j = call("/v1/file/write", {"file": "/home/gem/notes/a.txt", "content": "one\ntwo\n"})
        assert j["success"] and j["data"]["bytes_written"] == 8
        assert call("/v1/file/read", {"file": "notes/a.txt", "start_line": 1})["data"] == {
            "content": "two", "file": "/home/gem/notes/a.txt"}
        files = call("/v1/file/list", {"path": "/home/gem", "recursive": True,
                                       "include_permissions": True})["data"]["files"]
        assert {"/home/gem/notes", "/home/gem/notes/a.txt"} <= {f["path"] for f in files}
        d = call("/v1/file/write", {"file": "/etc/aio-test", "content": "x", "sudo": True})
        assert d["success"] is False and d["data"]["error_type"] == "permission_denied"
        assert "sudo is not available" in d["message"]
        r = requests.post(url + "/v1/file/upload", files={"file": ("u.bin", bytes(range(200)))},
                          data={"path": "/home/gem/u.bin"}, timeout=30)
        assert r.json()["data"]["file_size"] == 200
        r = requests.get(url + "/v1/file/download", params={"path": "/home/gem/u.bin"},
                         headers={"Range": "bytes=100-"}, timeout=30)
        assert r.status_code == 206 and r.content == bytes(range(100, 200))
        d = call("/v1/file/str_replace_editor", {"command": "str_replace",
                                                 "path": "/home/gem/notes/a.txt",
                                                 "old_str": "two", "new_str": "2"})
        assert d["data"]["new_content"] == "one\n2\n"
    finally:
        assert stop(proc) == 0
