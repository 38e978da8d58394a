"""Authentication of aio-apid as a black box (upstream-api.md §2.12, §4.2): SANDBOX_API_KEY in its
three carriers, RS256 JWTs from JWT_PUBLIC_KEY (keys made here with the openssl CLI), tickets
from POST /tickets, GET /auth, the gate in front of every route including WebSocket upgrades,
and the refusal to serve open on a socket that is not loopback."""
import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import time

import pytest
import requests

import test_apid
from test_apid import APID, Apid, need_apid, raw_http, start  # noqa: F401 (start: fixture)

KEY = "s3cret-" + "k" * 24


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def enc(obj):
    return b64url(json.dumps(obj, separators=(",", ":")).encode() if not isinstance(obj, bytes)
                  else obj)


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    out = {}
    for name in ("main", "other"):
        priv = d / f"{name}.pem"
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                "-out", str(priv))
        out[name] = priv
        out[name + "_pub"] = openssl("pkey", "-in", str(priv), "-pubout")
    out["b64"] = base64.b64encode(out["main_pub"]).decode()
    return out


def sign(priv, header, payload):
    signing_input = f"{enc(header)}.{enc(payload)}"
    sig = openssl("dgst", "-sha256", "-sign", str(priv), data=signing_input.encode())
    return f"{signing_input}.{b64url(sig)}"


def jwt(keys, payload=None, header=None, priv=None):
    if payload is None:
        payload = {"exp": int(time.time()) + 300}
    return sign(priv or keys["main"], header or {"alg": "RS256", "typ": "JWT"}, payload)


def bearer(tok):
    return {"Authorization": f"Bearer {tok}"}


@pytest.fixture
def server(start, keys):
    return start(env={"SANDBOX_API_KEY": KEY, "JWT_PUBLIC_KEY": keys["b64"]})


def assert_401(r, message, presented=True, startswith=False):
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) >= {"success", "message", "data", "hint"}
    assert body["success"] is False and body["data"] is None
    if startswith:
        assert body["message"].startswith(message), body
    else:
        assert body["message"] == message, body
    www = r.headers["www-authenticate"]
    assert www.startswith('Bearer realm="aio"')
    assert ('error="invalid_token"' in www) == presented
    assert KEY not in r.text and KEY not in str(r.headers)
    return body


MISSING = ("Authorization header is missing: send X-AIO-API-Key: <key>, "
           "Authorization: Bearer <key or JWT>, ?api_key=<key> or ?ticket=<ticket>")


# --- refusals ----------------------------------------------------------------------------

def test_every_route_needs_credentials(server):
    for method, path in (("GET", "/v1/sandbox"), ("GET", "/health"), ("GET", "/v1/sandbox/hooks"),
                         ("HEAD", "/v1/sandbox"), ("DELETE", "/v1/sandbox/hooks/x"),
                         ("POST", "/tickets")):
        r = requests.request(method, server.url + path, timeout=10)
        assert r.status_code == 401, (method, path)
        if method != "HEAD":
            assert_401(r, MISSING, presented=False)
    # the handler never ran: nothing was registered
    r = server.post("/v1/sandbox/hooks", json={"name": "x", "command": "true"})
    assert_401(r, MISSING, presented=False)
    hooks = server.get("/v1/sandbox/hooks", headers={"X-AIO-API-Key": KEY}).json()["data"]
    assert hooks == []
    # routing answers come first: unknown paths and methods are not hidden behind 401
    assert server.get("/nope").status_code == 404
    assert requests.put(server.url + "/v1/sandbox", timeout=10).status_code == 405


def test_bad_api_keys(server):
    for kw in ({"headers": {"X-AIO-API-Key": KEY + "x"}},
               {"headers": {"X-AIO-API-Key": KEY[:-1]}},
               {"headers": {"X-AIO-API-Key": ""}},
               {"params": {"api_key": "nope"}},
               {"headers": bearer("nope")},
               # a wrong carried key decides, a right Bearer does not rescue it
               {"headers": {"X-AIO-API-Key": "nope", "Authorization": f"Bearer {KEY}"}}):
        assert_401(server.get("/v1/sandbox", **kw), "Invalid API key.")
    assert_401(server.get("/v1/sandbox", headers={"Authorization": f"Basic {KEY}"}),
               "Invalid Authorization header: expected 'Bearer <token>'")
    assert_401(server.get("/v1/sandbox", headers={"Authorization": KEY}),
               "Invalid Authorization header: expected 'Bearer <token>'")


def test_bad_jwts(server, keys):
    now = int(time.time())
    cases = [
        (jwt(keys, {"exp": now - 120}), "Token has expired"),
        (jwt(keys, {"exp": now + 600, "nbf": now + 300}),
         "Invalid token: the token is not yet valid (nbf)"),
        (jwt(keys, {"sub": "x"}), "Invalid token: the exp claim is required"),
        (jwt(keys, {"exp": now + 300, "aud": "x"}),
         "Invalid token: the aud claim is not accepted (no audience is configured)"),
        (jwt(keys, priv=keys["other"]), "Invalid token: signature verification failed"),
        (jwt(keys, header={"alg": "RS512"}), "Invalid token: alg RS512 is not accepted (only RS256)"),
        (jwt(keys, header={"alg": "RS256", "jwk": {"kty": "RSA"}}),
         "Invalid token: the header parameter jwk is not accepted"),
        (jwt(keys, header={"alg": "RS256", "jku": "http://127.0.0.1:1/keys"}),
         "Invalid token: the header parameter jku is not accepted"),
        (f"{enc({'alg': 'none'})}.{enc({'exp': now + 300})}.",
         "Invalid token: not a JWT (three non-empty base64url parts separated by dots expected)"),
        (f"{enc({'alg': 'none'})}.{enc({'exp': now + 300})}.e30",
         "Invalid token: alg none is not accepted (only RS256)"),
        ("a.b", "Invalid token: not a JWT (three non-empty base64url parts separated by dots "
                "expected)"),
        ("!!!.e30.e30", "Invalid token: the header is not base64url"),
        (f"{enc(b'not json')}.e30.e30", "Invalid token: the header is not a JSON object"),
    ]
    # HS256 keyed with the public key's PEM: the algorithm-confusion attack
    signing_input = f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc({'exp': now + 300})}"
    mac = hmac.new(keys["main_pub"], signing_input.encode(), hashlib.sha256).digest()
    cases.append((f"{signing_input}.{b64url(mac)}",
                  "Invalid token: alg HS256 is not accepted (only RS256)"))
    # a later exp under the original signature
    good = jwt(keys, {"exp": now + 300})
    h, _, s = good.split(".")
    cases.append((f"{h}.{enc({'exp': now + 99999})}.{s}",
                  "Invalid token: signature verification failed"))
    # truncations of a good token
    cases.append((good[:-10], "Invalid token: signature verification failed"))
    cases.append((good[:len(h) + 5], "Invalid token: not a JWT"))
    for tok, msg in cases:
        r = server.get("/v1/sandbox", headers=bearer(tok))
        assert_401(r, msg, startswith=True)
        assert tok.split(".")[-1] not in r.text or len(tok.split(".")[-1]) < 4


# --- accepted forms ----------------------------------------------------------------------

def test_accepted_forms(server, keys):
    for kw in ({"headers": {"X-AIO-API-Key": KEY}},
               {"headers": {"x-aio-api-key": KEY}},
               {"params": {"api_key": KEY}},
               {"headers": bearer(KEY)},
               {"headers": {"Authorization": f"bearer {KEY}"}},
               {"headers": bearer(jwt(keys))},
               {"headers": bearer(jwt(keys, {"exp": int(time.time()) + 60, "sub": "agent",
                                              "iat": int(time.time())},
                                      {"alg": "RS256", "kid": "../../etc/passwd"}))}):
        r = server.get("/v1/sandbox", **kw)
        assert r.status_code == 200, (kw, r.text)
        assert r.json()["success"] is True
    r = server.get("/health", headers={"X-AIO-API-Key": KEY})
    assert r.status_code == 200 and r.json() == {"status": "healthy"}
    r = server.post("/v1/sandbox/hooks", json={"name": "ok", "command": "true"},
                    headers=bearer(jwt(keys)))
    assert r.status_code == 200


def test_key_only_and_jwt_only(start, keys):
    a = start(env={"SANDBOX_API_KEY": KEY})
    assert a.get("/v1/sandbox", headers={"X-AIO-API-Key": KEY}).status_code == 200
    assert_401(a.get("/v1/sandbox", headers=bearer(jwt(keys))), "Invalid API key.")
    j = start(env={"JWT_PUBLIC_KEY": keys["b64"]})
    assert j.get("/v1/sandbox", headers=bearer(jwt(keys))).status_code == 200
    assert_401(j.get("/v1/sandbox", headers={"X-AIO-API-Key": KEY}),
               "Authorization header is missing: send Authorization: Bearer <JWT> or "
               "?ticket=<ticket>", presented=True)
    assert_401(j.get("/v1/sandbox", headers=bearer(KEY)), "Invalid token: not a JWT",
               startswith=True)


# --- tickets and /auth -------------------------------------------------------------------

def test_tickets(server, keys):
    r = server.post("/tickets", headers=bearer(jwt(keys)))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"ticket", "expires_in"} and body["expires_in"] == 30
    t = body["ticket"]
    assert len(t) == 36 and t[14] == "4"
    other = server.post("/tickets", headers={"X-AIO-API-Key": KEY}).json()["ticket"]
    assert other != t
    # reusable within its TTL, as upstream's (the VNC URL carries it twice)
    for _ in range(3):
        assert server.get("/v1/sandbox", params={"ticket": t}).status_code == 200
    assert server.get("/v1/sandbox/hooks", params={"ticket": t}).status_code == 200
    # a ticket present decides, even next to a good key
    bad = "00000000-0000-4000-8000-000000000000"
    assert_401(server.get("/v1/sandbox", params={"ticket": bad},
                          headers={"X-AIO-API-Key": KEY}), "Invalid or expired ticket.")
    assert_401(server.get("/v1/sandbox", params={"ticket": t[:-1]}), "Invalid or expired ticket.")
    # a ticket does not buy another one
    r = server.post("/tickets", params={"ticket": t})
    assert_401(r, "A ticket cannot be exchanged for another ticket: authenticate with the API "
                  "key or a JWT")


def test_ticket_expiry(start):
    a = start(env={"SANDBOX_API_KEY": KEY, "TICKET_TTL_SECONDS": "1"})
    body = a.post("/tickets", headers={"X-AIO-API-Key": KEY}).json()
    assert body["expires_in"] == 1
    assert a.get("/v1/sandbox", params={"ticket": body["ticket"]}).status_code == 200
    time.sleep(1.3)
    assert_401(a.get("/v1/sandbox", params={"ticket": body["ticket"]}),
               "Invalid or expired ticket.")


def test_auth_endpoint(server, keys, start):
    assert_401(server.get("/auth"), MISSING, presented=False)
    r = server.get("/auth", headers=bearer(jwt(keys)))
    assert r.status_code == 200 and r.json() == {"status": "ok", "message": "Authenticated by JWT"}
    t = server.post("/tickets", headers={"X-AIO-API-Key": KEY}).json()["ticket"]
    # nginx auth_request: the ticket is in the original URI
    uri = f"/vnc/index.html?ticket={t}&path=websockify%3Fticket%3D{t}"
    r = server.get("/auth", headers={"X-Original-URI": uri})
    assert r.status_code == 200 and r.json()["message"] == "Authenticated by ticket"
    r = server.get("/auth", headers={"X-Original-URI": f"/x?api_key={KEY}"})
    assert r.status_code == 200 and r.json()["message"] == "Authenticated by API key"
    assert_401(server.get("/auth", headers={"X-Original-URI": "/x?api_key=no"}),
               "Invalid API key.")
    assert_401(server.get("/auth", headers={"X-Original-URI": f"/x?ticket={t[:-1]}0"}),
               "Invalid or expired ticket.")
    open_server = start()
    r = open_server.get("/auth")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = open_server.post("/tickets")
    assert r.status_code == 200 and r.json()["expires_in"] == 30


# --- WebSocket upgrades ------------------------------------------------------------------

def upgrade(port, path):
    req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(req)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = c.recv(4096)
            if not chunk:
                break
            head += chunk
    return head


@pytest.mark.parametrize("path", ["/v1/shell/ws", "/v1/sandbox"])
def test_websocket_upgrade_gated(server, path):
    """The gate runs before the upgrade: 401 (and never 101) without credentials. Any route
    shows it; /v1/shell/ws, the WebSocket route, once it is in the tree."""
    head = upgrade(server.port, path)
    if head.startswith(b"HTTP/1.1 404"):
        pytest.skip(f"{path} is not served by this build")
    assert head.startswith(b"HTTP/1.1 401"), head
    assert b" 101 " not in head and b"sec-websocket-accept" not in head.lower()
    assert b'www-authenticate: bearer realm="aio"' in head.lower()
    head = upgrade(server.port, path + "?ticket=00000000-0000-4000-8000-000000000000")
    assert head.startswith(b"HTTP/1.1 401"), head
    # a valid ticket passes the gate (101 on a WebSocket route, the plain answer elsewhere)
    t = server.post("/tickets", headers={"X-AIO-API-Key": KEY}).json()["ticket"]
    head = upgrade(server.port, f"{path}?ticket={t}")
    assert head.startswith((b"HTTP/1.1 101", b"HTTP/1.1 200")), head


# --- CORS --------------------------------------------------------------------------------

def test_cors_with_auth(server):
    r = requests.options(server.url + "/v1/sandbox", timeout=10,
                         headers={"Origin": "http://localhost:3000",
                                  "Access-Control-Request-Method": "GET",
                                  "Access-Control-Request-Headers": "x-aio-api-key"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-headers"] == "x-aio-api-key"
    r = server.get("/v1/sandbox", headers={"Origin": "http://localhost:3000"})
    assert r.status_code == 401 and r.headers["access-control-allow-origin"] == "*"


# --- start-up ----------------------------------------------------------------------------

def wildcard_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("0.0.0.0", 0))
    s.listen(64)
    return s


def test_open_on_wildcard_refused(tmp_path, monkeypatch, keys):
    need_apid()
    monkeypatch.setattr(test_apid, "listening_socket", wildcard_socket)
    a = Apid(tmp_path)
    code = a.proc.wait(timeout=10)
    a.sock.close()
    assert code == 1
    err = a.stderr()
    assert "listens on 0.0.0.0:" in err and "no authentication" in err and "--insecure" in err
    # told --insecure it serves; with credentials configured it needs no --insecure
    for args, env, headers in ((["--insecure"], {}, {}),
                               ([], {"SANDBOX_API_KEY": KEY}, {"X-AIO-API-Key": KEY}),
                               ([], {"JWT_PUBLIC_KEY": keys["b64"]}, bearer(jwt(keys)))):
        a = Apid(tmp_path, *args, env=env)
        try:
            assert test_apid.wait_http(a.url + "/v1/sandbox").status_code == (200 if not env
                                                                              else 401)
            assert a.get("/v1/sandbox", headers=headers).status_code == 200
        finally:
            assert a.stop() == 0, a.stderr()


def test_listen_flag_wildcard(tmp_path):
    need_apid()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
    p = subprocess.run([str(APID), "--listen", "0.0.0.0:0"], env=env, capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 1 and "not loopback" in p.stderr
    port = test_apid.free_port()
    p = subprocess.Popen([str(APID), "--listen", f"0.0.0.0:{port}"],
                         env=dict(env, SANDBOX_API_KEY=KEY), stderr=subprocess.PIPE)
    try:
        r = test_apid.wait_http(f"http://127.0.0.1:{port}/v1/sandbox")
        assert r.status_code == 401
    finally:
        p.send_signal(15)
        assert p.wait(timeout=10) == 0


def test_bad_configuration_refused(tmp_path):
    need_apid()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
    for extra, msg in (({"JWT_PUBLIC_KEY": "%%%"}, "JWT_PUBLIC_KEY is not base64"),
                       ({"JWT_PUBLIC_KEY": base64.b64encode(b"junk").decode()},
                        "no RSA public key"),
                       ({"SANDBOX_API_KEY": KEY, "TICKET_TTL_SECONDS": "soon"},
                        "TICKET_TTL_SECONDS")):
        p = subprocess.run([str(APID), "--listen", "127.0.0.1:0"], env=dict(env, **extra),
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 1 and msg in p.stderr, (extra, p.stderr)
        assert KEY not in p.stderr


def test_secrets_not_inherited_or_logged(start, keys, tmp_path):
    out = tmp_path / "seen"
    a = start("-vv", env={"SANDBOX_API_KEY": KEY, "JWT_PUBLIC_KEY": keys["b64"]})
    pid = a.proc.pid  # bash exec'd aio-apid: the same process
    cmd = f"env > {out}.env; tr '\\0' '\\n' < /proc/{pid}/environ > {out}.environ"
    r = a.post("/v1/sandbox/hooks", json={"name": "peek", "command": cmd},
               headers={"X-AIO-API-Key": KEY})
    assert r.status_code == 200, r.text
    a.get("/v1/sandbox", params={"api_key": KEY})
    a.get("/v1/sandbox", params={"api_key": "wrong-" + KEY})
    assert a.stop() == 0
    for f in (f"{out}.env", f"{out}.environ"):
        text = open(f).read()
        assert "PATH=" in text or "HOME=" in text or f.endswith("environ")
        assert KEY not in text and keys["b64"][:40] not in text, f
        assert "SANDBOX_API_KEY" not in open(f"{out}.env").read()
    assert KEY not in a.stderr()
    assert "authentication: API key or RS256 JWT" in a.stderr()


# --- aio-run up --------------------------------------------------------------------------

def test_up_with_key_and_insecure(aio, state_dir):  # noqa: F811 (aio: conftest fixture)
    """aio-run up hands the key to aio-apid with -e and still sees it start (its readiness
    probe takes a 401 as an answer); up --insecure passes --insecure on, so an open API may
    listen on 0.0.0.0."""
    from test_up import start_up, stop
    need_apid()
    proc, url = start_up(aio, "--port", "0", "-e", f"SANDBOX_API_KEY={KEY}")
    try:
        assert requests.get(url + "/v1/sandbox", timeout=10).status_code == 401
        r = requests.get(url + "/v1/sandbox", headers={"X-AIO-API-Key": KEY}, timeout=10)
        assert r.status_code == 200 and r.json()["success"] is True
    finally:
        assert stop(proc) == 0
    proc = subprocess.Popen([str(test_apid.BUILD / "bin" / "aio-run"), "up", "--state-dir",
                             str(aio.state), "--insecure", "--listen", "0.0.0.0:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("http://0.0.0.0:"), (line, proc.stderr.read()
                                                    if proc.poll() is not None else "")
        port = int(line.rsplit(":", 1)[1])
        assert requests.get(f"http://127.0.0.1:{port}/v1/sandbox", timeout=10).status_code == 200
    finally:
        assert stop(proc) == 0
