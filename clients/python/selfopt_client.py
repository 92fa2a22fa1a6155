"""selfopt client: a Gymnasium-style environment served by `selfopt serve`, standard library only.

    from selfopt_client import SelfoptEnv
    env = SelfoptEnv("chain", {"length": 8, "slip": 0.1}, url="ws://127.0.0.1:8765/v1")
    obs, info = env.reset(seed=1)
    obs, reward, terminated, truncated, info = env.step(1)
    env.close()

It speaks the selfopt environment protocol, version 1 (src/server/protocol.ts), over one
connection: a WebSocket for a ws:// url (a minimal RFC 6455 client on a socket; the fast path),
or HTTP POSTs on one keep-alive connection (http.client) for an http:// url. Sessions belong to
that connection: the server closes them when it closes, so one `Client` carries the sessions it
made, and several envs can share it.

Values arrive as JSON: observations are lists (nested dicts of lists for structured ones),
`info["actionMask"]` is a list of 0/1, non-finite numbers are the strings "inf", "-inf", "nan".
When gymnasium is importable, SelfoptEnv subclasses gymnasium.Env, its observation_space and
action_space are gymnasium spaces where one exists (Discrete, MaskedDiscrete -> Discrete, Box,
Dict), and Box observations come back as numpy float32 arrays. The JSON descriptions are always
in `observation_space_json` / `action_space_json`.
"""
import base64
import hashlib
import http.client
import json
import operator
import os
import socket
import struct
import urllib.parse

PROTOCOL_VERSION = 1

try:  # optional: the real gymnasium API when it is installed
    import gymnasium as _gym
    import numpy as _np

    _Base = _gym.Env
except ImportError:  # pragma: no cover - depends on the machine
    _gym = None
    _np = None
    _Base = object


class SelfoptProtocolError(Exception):
    """An error reply: `code` (e.g. "invalid_action"), `message`, and `path` of the bad field."""

    def __init__(self, code, message, path=None):
        super().__init__(f"{code}: {message}" + (f" (at {path})" if path else ""))
        self.code = code
        self.message = message
        self.path = path


_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class _WebSocket:
    """The client side of RFC 6455, just what the protocol needs: masked text frames out, text frames in."""

    def __init__(self, host, port, path, headers, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        try:
            self._handshake(host, port, path, headers, timeout)
        except BaseException:
            self.sock.close()  # a handshake cut short or answered wrongly: the socket is not left open
            raise

    def _handshake(self, host, port, path, headers, timeout):
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16))
        # An IPv6 address is bracketed in the Host header (RFC 7230 5.4), as http.client does: bare, "::1:8765" does not parse.
        host_header = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        lines = [f"GET {path} HTTP/1.1", f"Host: {host_header}", "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key.decode()}", "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = bytearray()
        self.parts = []
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the server closed the connection during the WebSocket handshake")
            self.buf += chunk
        head, _, rest = bytes(self.buf).partition(b"\r\n\r\n")
        self.buf = bytearray(rest)
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            # The server says why in the body (e.g. the protocol's path): read what came with the head.
            try:
                self.sock.settimeout(min(timeout or 5.0, 5.0))
                while True:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        break
                    self.buf += chunk
            except OSError:
                pass
            self.sock.close()
            why = bytes(self.buf).decode(errors="replace").strip()
            raise ConnectionError(f"WebSocket handshake to {path} refused: {status.decode(errors='replace')}" + (f": {why}" if why else ""))
        accept = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest())
        if accept not in head:
            raise ConnectionError("WebSocket handshake: wrong Sec-WebSocket-Accept")

    def send(self, data):
        n = len(data)
        if n < 126:
            header = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        mask = os.urandom(4)
        # XOR with the repeated mask as one big integer: much faster than a byte loop in Python.
        reps = (mask * (n // 4 + 1))[:n]
        masked = (int.from_bytes(data, "big") ^ int.from_bytes(reps, "big")).to_bytes(n, "big") if n else b""
        self.sock.sendall(header + mask + masked)

    def _need(self, n):
        """Waits until the buffer holds n bytes. A timeout leaves what arrived in the buffer."""
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise ConnectionError("the server closed the WebSocket")
            self.buf += chunk

    def _frame(self):
        """The next whole frame as (fin, opcode, payload). It leaves the buffer only once all of it
        has arrived, so a timeout in the middle of a frame (a large reply) loses no byte of it."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        n, at = b1 & 0x7F, 2
        if n == 126:
            self._need(4)
            n, at = struct.unpack_from("!H", self.buf, 2)[0], 4
        elif n == 127:
            self._need(10)
            n, at = struct.unpack_from("!Q", self.buf, 2)[0], 10
        self._need(at + n)  # server frames are never masked
        payload = bytes(self.buf[at:at + n])
        del self.buf[:at + n]
        return b0 & 0x80, b0 & 0x0F, payload

    def recv(self):
        # The fragments of a message are kept on the object for the same reason.
        while True:
            fin, opcode, payload = self._frame()
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise ConnectionError(f"the server closed the WebSocket (code {code}: {payload[2:].decode(errors='replace')})")
            if opcode == 0x9:  # ping -> pong
                self.sock.sendall(struct.pack("!BB", 0x8A, 0x80 | len(payload)) + b"\0\0\0\0" + payload)
                continue
            if opcode == 0xA:
                continue
            self.parts.append(payload)
            if fin:
                message, self.parts = b"".join(self.parts), []
                return message

    def close(self):
        try:
            self.sock.sendall(struct.pack("!BBIH", 0x88, 0x82, 0, 1000))  # close 1000, masked with a zero key
        except OSError:
            pass
        self.sock.close()


class Client:
    """One connection to a selfopt server (ws:// or http://); `call(op, **fields)` returns the result."""

    def __init__(self, url="ws://127.0.0.1:8765/v1", token=None, timeout=60.0):
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("ws", "http"):
            raise ValueError(f"url {url!r}: expected ws://HOST:PORT/v1 or http://HOST:PORT/v1")
        path = u.path or "/v1"
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        self.ws = None
        self.conn = None
        self.closed = False
        self._next_id = 0
        try:
            if u.scheme == "ws":
                self.ws = _WebSocket(u.hostname, u.port or 80, path, headers, timeout)
            else:
                self.path = path
                self.conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
                self.headers = dict(headers, **{"Content-Type": "application/json"})
            self.server = self.call("hello", client="selfopt_client.py")
        except ConnectionRefusedError as e:
            # The bare "[Errno 111] Connection refused" names neither the address nor the likely cause.
            raise ConnectionRefusedError(e.errno, f"cannot connect to {url}: connection refused; is `selfopt serve` running there?") from None
        except BaseException:
            # A refused hello (a wrong token over http://: unauthorized) left the connection it was
            # sent on to the garbage collector.
            self.closed = True
            if self.ws is not None:
                self.ws.close()
            if self.conn is not None:
                self.conn.close()
            raise

    def call(self, op, **fields):
        # Without this a closed ws:// client failed with a bare "[Errno 9] Bad file descriptor", and
        # http.client silently opened a new connection, on which the old sessions no longer exist.
        if self.closed:
            raise ConnectionError(f"the client is closed: close() was called, so it cannot send {op!r}; make a new Client (or SelfoptEnv) to talk to the server again")
        self._next_id += 1
        msg = {"v": PROTOCOL_VERSION, "id": self._next_id, "op": op}
        msg.update(fields)
        body = json.dumps(msg, separators=(",", ":")).encode()
        # Refused here as the server would refuse it: past its hard limit the server does not read a
        # message but drops the connection (and every session on it), which the client saw as a bare
        # ConnectionResetError over ws:// and as unknown_session on the next call over http://.
        limit = getattr(self, "server", {}).get("maxMessageBytes")
        if limit is not None and len(body) > limit:
            raise SelfoptProtocolError("too_large", f"message of {len(body)} bytes; at most {limit} bytes (the server's maxMessageBytes)")
        if self.ws is not None:
            self.ws.send(body)
            while True:
                reply = json.loads(self.ws.recv())
                # A call that timed out (say a cold compiler make) gets its reply late, on this
                # connection: it is not this call's, whose reply follows it. (id null: the server
                # could not read the request's id, so the reply is to this one.)
                if reply.get("id") in (msg["id"], None):
                    break
        else:
            self.conn.request("POST", self.path, body, self.headers)
            reply = json.loads(self.conn.getresponse().read())
        if not reply.get("ok"):
            e = reply.get("error") or {}
            raise SelfoptProtocolError(e.get("code"), e.get("message"), e.get("path"))
        return reply["result"]

    def list_envs(self):
        return self.call("list")["envs"]

    def close(self):
        self.closed = True
        if self.ws is not None:
            self.ws.close()
        else:
            self.conn.close()


def _num(x):
    return float(x) if isinstance(x, str) else x


def _gym_space(d):
    """A gymnasium space for a JSON space description, or None when gymnasium has none like it."""
    kind = d.get("kind")
    if kind == "Discrete":
        return _gym.spaces.Discrete(d["n"], start=d.get("start", 0))
    if kind == "MaskedDiscrete":  # the mask travels in info["actionMask"], as gymnasium's sample(mask=...) takes it
        return _gym.spaces.Discrete(d["n"])
    if kind == "Box":
        return _gym.spaces.Box(_num(d["low"]), _num(d["high"]), tuple(d["shape"]), dtype=_np.float32)
    if kind == "Dict":
        subs = {k: _gym_space(v) for k, v in d["spaces"].items()}
        return None if any(v is None for v in subs.values()) else _gym.spaces.Dict(subs)
    return None


class SelfoptEnv(_Base):
    """A selfopt environment over the protocol, with Gymnasium's reset/step/close."""

    def __init__(self, env, options=None, url="ws://127.0.0.1:8765/v1", token=None, client=None):
        self.client = client if client is not None else Client(url, token)
        self._own_client = client is None
        try:
            made = self.client.call("make", env=env, options=options or {})
        except BaseException:
            # There is no env to close() it with: the connection opened here was left to the garbage collector.
            if self._own_client:
                self.client.close()
            raise
        self.session = made["session"]
        self.observation_space_json = made["observationSpace"]
        self.action_space_json = made["actionSpace"]
        self._box_obs = False
        if _gym is not None:
            self.observation_space = _gym_space(self.observation_space_json)
            self.action_space = _gym_space(self.action_space_json)
            self._box_obs = self.observation_space_json.get("kind") == "Box"
        else:
            self.observation_space = self.observation_space_json
            self.action_space = self.action_space_json

    def _check_open(self, op):
        # After close() the session is gone: sent as null it came back as a bad_request about "$.session".
        if self.session is None:
            raise ConnectionError(f"the env is closed: close() was called, so it cannot {op}; make a new SelfoptEnv to play again")

    def _obs(self, obs):
        return _np.asarray(obs, dtype=_np.float32) if self._box_obs else obs

    def reset(self, seed=None, options=None):
        self._check_open("reset")
        fields = {"session": self.session}
        if seed is not None:
            # An integer (numpy's too), as Gymnasium asks; int() would turn a seed of 1.5 into 1 without a word.
            try:
                fields["seed"] = operator.index(seed)
            except TypeError:
                raise TypeError(f"seed must be an integer, got {seed!r}") from None
        if options is not None:
            fields["options"] = options
        if _gym is not None and seed is not None:
            super().reset(seed=fields["seed"])  # gymnasium's np_random, for agents that use it (it takes a Python int only)
        r = self.client.call("reset", **fields)
        return self._obs(r["obs"]), r["info"]

    def step(self, action):
        self._check_open("step")
        if hasattr(action, "tolist"):  # numpy scalars and arrays
            action = action.tolist()
        r = self.client.call("step", session=self.session, action=action)
        return self._obs(r["obs"]), r["reward"], r["terminated"], r["truncated"], r["info"]

    def close(self):
        """Ends the session (and the connection, if this env opened it). Safe to call twice, and
        quiet when the session is already gone: reaped after --idle, or ended with its connection."""
        if self.session is None:
            return
        try:
            self.client.call("close", session=self.session)
        except SelfoptProtocolError as e:
            if e.code != "unknown_session":
                raise
        except (ConnectionError, OSError):
            pass  # the connection is gone, and the server closed its sessions with it
        finally:
            self.session = None
            if self._own_client:
                self.client.close()
