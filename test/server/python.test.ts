/**
 * The Python client bar: an episode played from a python3 process over the protocol returns the
 * same trajectory as the same seed and actions run in-process, exactly (every observation,
 * reward, flag and mask). The server runs in this process on a free port; python3 runs
 * clients/python/test_client.py, which draws its actions from its own seeded generator and
 * prints them, and this test replays them. Skipped, visibly, when python3 is missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../../src/core/version.js';
import { serve, type RunningServer } from '../../src/server/server.js';
import { ENVS } from '../../src/server/registry.js';
import { encode } from '../../src/server/protocol.js';
import { findTool, llvmAvailable } from '../../src/problems/compiler/llvm.js';
import { tempDir } from '../tmp.js';
import { PlacementEnv } from '../../src/problems/chip/rl-env.js';

// The compiler env compiles its programs on make: into a cache of this test's own.
process.env.SELFOPT_CACHE ??= tempDir('selfopt-python-compiler-');

const run = promisify(execFile);
const CLIENT_DIR = resolve(PROJECT_ROOT, 'clients/python');

/** Runs Python code with the shipped client importable (`from selfopt_client import ...`); its stdout. */
async function runPython(code: string): Promise<string> {
  const withClient = `import sys; sys.path.insert(0, ${JSON.stringify(CLIENT_DIR)})\n${code}`;
  return (await run('python3', ['-c', withClient], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } })).stdout;
}
const hasPython = spawnSync('python3', ['--version']).status === 0;
const skip = hasPython ? false : 'python3 is not installed on this machine';

let server: RunningServer;
before(async () => {
  server = await serve({ port: 0, log: () => {} });
});
after(async () => {
  await server?.close();
});

interface PyEpisode {
  observationSpace: unknown;
  actionSpace: unknown;
  resetObs: unknown;
  resetMask: number[] | null;
  invalidActionError: string | null;
  steps: { action: number; obs: unknown; reward: number; terminated: boolean; truncated: boolean; mask: number[] | null }[];
}

const json = (x: unknown) => JSON.parse(encode(x)) as unknown;

async function episodeFromPython(url: string, env: string, options: Record<string, unknown>, seed: number, actionSeed: number): Promise<PyEpisode> {
  const { stdout } = await run('python3', [resolve(CLIENT_DIR, 'test_client.py'), url, env, JSON.stringify(options), String(seed), String(actionSeed)], { maxBuffer: 256 << 20, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  return JSON.parse(stdout) as PyEpisode;
}

/** Replays python's actions in-process with the same seed and checks every step. */
function assertSameTrajectory(py: PyEpisode, env: string, options: Record<string, unknown>, seed: number): void {
  const local = ENVS[env]!.make(options, {});
  assert.deepEqual(py.observationSpace, json(local.observationSpace.toJSON())); // infinite bounds travel as "inf"
  assert.deepEqual(py.actionSpace, json(local.actionSpace.toJSON()));
  assert.equal(py.invalidActionError, 'invalid_action');
  const r0 = local.reset({ seed });
  assert.deepEqual(py.resetObs, json(r0.obs));
  assert.deepEqual(py.resetMask, json(r0.info.actionMask ?? null));
  assert.ok(py.steps.length > 0);
  py.steps.forEach((s, t) => {
    const r = local.step(s.action);
    assert.deepEqual(s.obs, json(r.obs), `obs at step ${t}`);
    assert.equal(s.reward, json(r.reward), `reward at step ${t}`); // exact, except that JSON has no -0
    assert.equal(s.terminated, r.terminated, `terminated at step ${t}`);
    assert.equal(s.truncated, r.truncated, `truncated at step ${t}`);
    assert.deepEqual(s.mask, json(r.info.actionMask ?? null), `mask at step ${t}`);
  });
  const last = py.steps.at(-1)!;
  assert.ok(last.terminated || last.truncated, 'python played the episode to its end');
  local.close();
}

const cases: { env: string; options: Record<string, unknown>; seed: number; actionSeed: number; transport: 'ws' | 'http' }[] = [
  { env: 'chain', options: { length: 6, slip: 0.3 }, seed: 5, actionSeed: 1, transport: 'ws' },
  { env: 'chain', options: { length: 6, slip: 0.3 }, seed: 5, actionSeed: 1, transport: 'http' },
  { env: 'bandit', options: { contexts: 5, arms: 4, horizon: 12 }, seed: 3, actionSeed: 2, transport: 'ws' },
  { env: 'scheduling', options: { instance: 'synthetic_batch3_5exec' }, seed: 4, actionSeed: 3, transport: 'ws' },
  // CompilerGym's task from Python: real LLVM passes, the mask leaving out attributor
  { env: 'compiler', options: { programs: ['own/fib'], maxSteps: 8 }, seed: 2, actionSeed: 4, transport: 'ws' },
  // Circuit Training's setting: macro placement on a small generated netlist
  { env: 'chip', options: { instance: 'synth_h4_s8_1' }, seed: 6, actionSeed: 5, transport: 'ws' },
];
const noLlvm = llvmAvailable() && findTool('llvm-as') ? false : 'LLVM 14 is not installed';

for (const c of cases) {
  test(`python3 over ${c.transport}: ${c.env} ${JSON.stringify(c.options)} seed ${c.seed} = the same episode in-process`, { skip: skip || (c.env === 'compiler' && noLlvm) }, async () => {
    const url = c.transport === 'ws' ? server.url.replace(/^http/, 'ws') : server.url;
    const py = await episodeFromPython(url, c.env, c.options, c.seed, c.actionSeed);
    assertSameTrajectory(py, c.env, c.options, c.seed);
    assert.equal(server.sessionCount(), 0, 'the python client closed its session');
  });
}

test('python3 example agent runs against the server', { skip }, async () => {
  const { stdout } = await run('python3', [resolve(CLIENT_DIR, 'example_agent.py'), server.url.replace(/^http/, 'ws'), 'bandit', '{}'], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  assert.equal(stdout.trim().split('\n').length, 3);
  assert.match(stdout, /episode 0: return [\d.]+ in 8 steps \(terminated\)/);
});

test('python3 places a chip over the shipped client: a first-legal-cell agent plays the chip env to the end, its return = the in-process PlacementEnv\'s', { skip }, async () => {
  const id = 'synth_h8_s40_1', seed = 3;
  const code = `import json
from selfopt_client import SelfoptEnv
env = SelfoptEnv("chip", {"instance": ${JSON.stringify(id)}}, url=${JSON.stringify(server.url.replace(/^http/, 'ws'))})
obs, info = env.reset(seed=${seed})
nodes = info["netlist"]["numNodes"]
actions, ret, done = [], 0.0, False
while not done:
    a = info["actionMask"].index(1)
    obs, reward, terminated, truncated, info = env.step(a)
    actions.append(a)
    ret += reward
    done = terminated or truncated
env.close()
print(json.dumps({"nodes": nodes, "actions": actions, "return": ret, "terminated": terminated, "proxy": info["proxy"]}))`;
  const stdout = await runPython(code);
  const py = JSON.parse(stdout) as { nodes: number; actions: number[]; return: number; terminated: boolean; proxy: number };
  assert.equal(py.terminated, true);
  assert.equal(py.actions.length, 8); // one decision per hard macro
  const local = new PlacementEnv({ instances: [{ id }], maxCells: 144 });
  let { info } = local.reset({ seed });
  let ret = 0, proxy = NaN;
  for (const a of py.actions) {
    assert.equal(a, info.actionMask!.indexOf(1), 'python chose the first legal cell of the same mask');
    const r = local.step(a);
    ret += r.reward;
    info = r.info;
    if (r.terminated) proxy = r.info['proxy'] as number;
  }
  assert.equal(py.return, ret);
  assert.equal(py.proxy, proxy);
  assert.ok(py.nodes > 0);
  assert.equal(server.sessionCount(), 0, 'the python client closed its session');
});

test('python3 protocol overhead on a trivial env (reported, not asserted: the bar is checked by clients/python/bench_client.py)', { skip }, async (t) => {
  const { stdout } = await run('python3', [resolve(CLIENT_DIR, 'bench_client.py'), server.url.replace(/^http/, 'ws'), '1'], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  assert.match(stdout, /^\d+ steps\/s/);
  t.diagnostic(stdout.trim());
});

test('python3 client pointed at a WebSocket path other than /v1 says where the protocol is', { skip }, async () => {
  const url = server.url.replace(/^http/, 'ws').replace(/\/v1$/, '/');
  const code = `from selfopt_client import Client\ntry:\n    Client(${JSON.stringify(url)}, timeout=10)\nexcept ConnectionError as e:\n    print(e)`;
  const stdout = await runPython(code);
  assert.match(stdout, /^WebSocket handshake to \/ refused: HTTP\/1\.1 404 Not Found: .*WebSocket on \/: the protocol is a WebSocket on \/v1/);
});

test('python3 client closes its WebSocket with a well-formed close frame (code 1000)', { skip }, async () => {
  // A stand-in server that answers every message, to see the close code the client sends.
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  try {
    await new Promise((ok) => wss.once('listening', ok));
    const closed = new Promise<number>((ok) => wss.on('connection', (ws) => {
      ws.on('message', (d) => ws.send(JSON.stringify({ v: 1, id: JSON.parse(d.toString()).id, ok: true, result: {} })));
      ws.on('close', (code) => ok(code));
    }));
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/v1`;
    await runPython(`from selfopt_client import Client\nClient(${JSON.stringify(url)}).close()`);
    assert.equal(await closed, 1000); // 1006 (abnormal) when the frame's mask was two bytes short
  } finally {
    wss.close();
  }
});

test('python3 client to an IPv6 address: the Host header brackets it ([::1]:port), on ws:// and http://; it was a bare ::1:port', { skip }, async () => {
  // Stand-in servers on ::1 that record the Host header and answer hello.
  const { WebSocketServer } = await import('ws');
  const { createServer } = await import('node:http');
  const hosts: string[] = [];
  const wss = new WebSocketServer({ port: 0, host: '::1' });
  wss.on('connection', (ws, req) => {
    hosts.push(req.headers.host ?? '');
    ws.on('message', (d) => ws.send(JSON.stringify({ v: 1, id: JSON.parse(d.toString()).id, ok: true, result: {} })));
  });
  const http = createServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    req.resume();
    req.on('end', () => res.end(JSON.stringify({ v: 1, id: 1, ok: true, result: {} })));
  });
  try {
    await new Promise((ok) => wss.once('listening', ok));
    await new Promise<void>((ok) => http.listen(0, '::1', ok));
    const wsPort = (wss.address() as { port: number }).port, httpPort = (http.address() as { port: number }).port;
    await runPython(`from selfopt_client import Client\nClient("ws://[::1]:${wsPort}/v1").close()\nClient("http://[::1]:${httpPort}/v1").close()`);
    assert.deepEqual(hosts, [`[::1]:${wsPort}`, `[::1]:${httpPort}`]);
  } finally {
    wss.close();
    http.close();
  }
});

/**
 * What the Python client prints when its `list` call times out (0.3 s) on a stand-in server that
 * answers `list` slowly (`onConnection` says how), and it then calls `make`: "list timed out" and
 * "make" when the late reply is neither taken for make's nor breaks the connection.
 */
async function timeoutThenMake(onConnection: (ws: import('ws').WebSocket) => void): Promise<string> {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  try {
    await new Promise((ok) => wss.once('listening', ok));
    wss.on('connection', onConnection);
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/v1`;
    const code = [
      'import socket',
      'from selfopt_client import Client',
      `c = Client(${JSON.stringify(url)}, timeout=0.3)`,
      'try:\n    c.call("list")\nexcept socket.timeout:\n    print("list timed out")',
      'c.ws.sock.settimeout(5)',
      'print(c.call("make", env="chain")["op"])',
    ].join('\n');
    const stdout = await runPython(code);
    return stdout.trim();
  } finally {
    wss.close();
  }
}

test('python3 client after a call that timed out: the late reply is not taken for the next call\'s', { skip }, async () => {
  // `list` is answered after 1 s (as a cold compiler make may answer after the client's timeout)
  // and every other op once that answer is out, in order, as selfopt serve does.
  const out = await timeoutThenMake((ws) => {
    let busyUntil = 0;
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { id: number; op: string };
      if (m.op === 'list') busyUntil = Date.now() + 1000;
      setTimeout(() => ws.send(JSON.stringify({ v: 1, id: m.id, ok: true, result: { op: m.op } })), Math.max(0, busyUntil - Date.now()));
    });
  });
  assert.equal(out, 'list timed out\nmake'); // 'list': the make call returned list's reply
});

test('python3 client after a timeout in the middle of a frame: the frame is read whole later, the framing stays in step', { skip }, async () => {
  // The reply to `list` (200 KB, as a large observation) arrives in two pieces 1 s apart: the
  // client's timeout falls between them, after the frame's header.
  const out = await timeoutThenMake((ws) => {
    const raw = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    let sent = Promise.resolve(); // replies go out in order, each frame whole before the next
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { id: number; op: string };
      if (m.op !== 'list') return void (sent = sent.then(() => ws.send(JSON.stringify({ v: 1, id: m.id, ok: true, result: { op: m.op } }))));
      const payload = Buffer.from(JSON.stringify({ v: 1, id: m.id, ok: true, result: { op: m.op, pad: 'x'.repeat(200_000) } }));
      const head = Buffer.alloc(10);
      head[0] = 0x81; head[1] = 127; head.writeBigUInt64BE(BigInt(payload.length), 2);
      raw.write(Buffer.concat([head, payload.subarray(0, 1000)]));
      sent = new Promise((done) => setTimeout(() => { raw.write(payload.subarray(1000)); done(); }, 1000));
    });
  });
  assert.equal(out, 'list timed out\nmake');
});

test('python3 env.close() is quiet when its session is already gone (reaped after --idle)', { skip }, async () => {
  const s = await serve({ port: 0, idleMs: 100, log: () => {} });
  try {
    const url = s.url.replace(/^http/, 'ws');
    const code = `import time\nfrom selfopt_client import SelfoptEnv\nenv = SelfoptEnv('chain', {}, url=${JSON.stringify(url)})\nenv.reset(seed=1)\ntime.sleep(0.6)\nenv.close()\nenv.close()\nprint('closed')`;
    const stdout = await runPython(code);
    assert.equal(stdout.trim(), 'closed');
    assert.equal(s.sessionCount(), 0);
  } finally {
    await s.close();
  }
});

test('python3 client with a token (Authorization header on the WebSocket upgrade); refused without it', { skip }, async () => {
  const s = await serve({ port: 0, token: 'py-secret', log: () => {} });
  try {
    const agent = [resolve(CLIENT_DIR, 'example_agent.py'), s.url.replace(/^http/, 'ws'), 'chain', '{}'];
    const { stdout } = await run('python3', agent, { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', SELFOPT_TOKEN: 'py-secret' } });
    assert.match(stdout, /episode 2:/);
    await assert.rejects(run('python3', agent, { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', SELFOPT_TOKEN: '' } }), /unauthorized/);
  } finally {
    await s.close();
  }
});

test('python3 client whose handshake or hello fails (a server that never answers) closes the socket it opened before raising, on ws:// and http://', { skip }, async () => {
  // A listener that never accepts: the kernel completes the connection, nothing ever answers, and
  // the client's timeout ends the handshake (ws://) or the hello (http://). Its socket was left open.
  const code = [
    'import socket',
    'from selfopt_client import Client',
    'mute = socket.socket()',
    'mute.bind(("127.0.0.1", 0))',
    'mute.listen(8)',
    'port = mute.getsockname()[1]',
    'sockets = []',
    'real = socket.create_connection',
    'def recording(*args, **kwargs):',
    '    sk = real(*args, **kwargs)',
    '    sockets.append(sk)',
    '    return sk',
    'socket.create_connection = recording',
    'for scheme in ("ws", "http"):',
    '    before = len(sockets)',
    '    try:',
    '        Client(f"{scheme}://127.0.0.1:{port}/v1", timeout=0.3)',
    '        print(scheme, "no error")',
    '    except OSError as e:',
    '        print(scheme, type(e).__name__, [sk.fileno() for sk in sockets[before:]])',
  ].join('\n');
  const lines = (await runPython(code)).trim().split('\n');
  assert.equal(lines.length, 2, lines.join('\n'));
  for (const line of lines) assert.match(line, /^(ws|http) \w+ \[-1\]$/, line);
});

test('python3 client: a refused connection names the url and says to start selfopt serve, on ws:// and http://', { skip }, async () => {
  // A port that nothing listens on: one the system just gave out and took back.
  const { createServer } = await import('node:net');
  const probe = createServer();
  await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
  const port = (probe.address() as { port: number }).port;
  await new Promise((ok) => probe.close(ok));
  for (const scheme of ['ws', 'http']) {
    const url = `${scheme}://127.0.0.1:${port}/v1`;
    const code = `from selfopt_client import Client\ntry:\n    Client(${JSON.stringify(url)})\nexcept ConnectionRefusedError as e:\n    print(e)`;
    const stdout = await runPython(code);
    assert.equal(stdout.trim(), `[Errno 111] cannot connect to ${url}: connection refused; is \`selfopt serve\` running there?`);
  }
});

test('python3 env.reset: a seed that is not an integer is refused, not rounded; an integer-like one (a numpy integer) is taken', { skip }, async () => {
  const url = server.url.replace(/^http/, 'ws');
  const code = [
    'from selfopt_client import SelfoptEnv',
    `env = SelfoptEnv('chain', {'length': 4, 'slip': 0.5}, url=${JSON.stringify(url)})`,
    'try:\n    env.reset(seed=1.5)\nexcept TypeError as e:\n    print(e)',
    'class Seed:\n    def __index__(self):\n        return 7',
    // list(): with gymnasium installed the observations are numpy arrays
    'a = [list(env.reset(seed=Seed())[0])] + [list(env.step(1)[0]) for _ in range(3)]',
    'b = [list(env.reset(seed=7)[0])] + [list(env.step(1)[0]) for _ in range(3)]',
    'print(a == b)',
    'env.close()',
  ].join('\n');
  const stdout = await runPython(code);
  assert.equal(stdout.trim(), 'seed must be an integer, got 1.5\nTrue');
});

test('python3 client: a message past the server\'s size limit is too_large on ws:// and http://, and the connection and its sessions live on', { skip }, async () => {
  for (const url of [server.url.replace(/^http/, 'ws'), server.url]) {
    const code = [
      'from selfopt_client import SelfoptEnv, SelfoptProtocolError',
      `env = SelfoptEnv('chain', {'length': 3}, url=${JSON.stringify(url)})`,
      'env.reset(seed=1)',
      // 5 MB: past the server's hard limit (4 MB), where it drops the connection unread.
      'try:\n    env.step([0] * 2500000)\nexcept SelfoptProtocolError as e:\n    print(e.code)',
      'print(env.step(1)[1])',
      'env.close()',
    ].join('\n');
    const stdout = await runPython(code);
    assert.equal(stdout.trim(), 'too_large\n-0.01', url);
  }
});

const hasGymnasium = hasPython && spawnSync('python3', ['-c', 'import gymnasium']).status === 0;

test('python3 env.reset with gymnasium installed: a numpy integer seed seeds the server and gymnasium\'s np_random alike', { skip: skip || (hasGymnasium ? false : 'gymnasium is not importable by python3') }, async () => {
  const url = server.url.replace(/^http/, 'ws');
  const code = [
    'import numpy as np',
    'from selfopt_client import SelfoptEnv',
    `env = SelfoptEnv('chain', {'length': 4, 'slip': 0.5}, url=${JSON.stringify(url)})`,
    'a = [env.reset(seed=np.int64(7))[0].tolist()] + [env.step(1)[0].tolist() for _ in range(3)] + [env.np_random.integers(1 << 30)]',
    'b = [env.reset(seed=7)[0].tolist()] + [env.step(1)[0].tolist() for _ in range(3)] + [env.np_random.integers(1 << 30)]',
    'print(a == b)',
    'env.close()',
  ].join('\n');
  const stdout = await runPython(code);
  assert.equal(stdout.trim(), 'True');
});

test('python3 env whose make fails closes the connection it opened for itself before raising (it was left to the garbage collector); a client passed in stays open', { skip }, async () => {
  for (const url of [server.url.replace(/^http/, 'ws'), server.url]) {
    const code = [
      'import selfopt_client',
      'from selfopt_client import Client, SelfoptEnv, SelfoptProtocolError',
      'opened = []',
      'class Recording(Client):',
      '    def __init__(self, *args, **kwargs):',
      '        super().__init__(*args, **kwargs)',
      '        opened.append(self)',
      'selfopt_client.Client = Recording',
      "for env, options in (('chian', {}), ('chain', {'lenght': 3})):",
      '    try:',
      `        SelfoptEnv(env, options, url=${JSON.stringify(url)})`,
      '        print("no error")',
      '    except SelfoptProtocolError as e:',
      '        print(e.code, "closed" if opened[-1].closed else "open")',
      `c = Client(${JSON.stringify(url)})`,
      'try:',
      "    SelfoptEnv('chian', client=c)",
      'except SelfoptProtocolError as e:',
      '    print(e.code, "closed" if c.closed else "open", len(c.list_envs()) > 0)',
      'c.close()',
    ].join('\n');
    const lines = (await runPython(code)).trim().split('\n');
    assert.deepEqual(lines, ['unknown_env closed', 'bad_options closed', 'unknown_env open True'], url);
  }
  assert.equal(server.sessionCount(), 0);
});

test('python3 client and env used after close(): a clear "the client is closed" / "the env is closed" error on ws:// and http://, not a bad file descriptor or a silent new connection', { skip }, async () => {
  for (const url of [server.url.replace(/^http/, 'ws'), server.url]) {
    const code = [
      'from selfopt_client import Client, SelfoptEnv',
      `c = Client(${JSON.stringify(url)})`,
      'c.close()',
      'try:\n    c.list_envs()\n    print("no error")\nexcept ConnectionError as e:\n    print(e)',
      `env = SelfoptEnv('chain', {'length': 3}, url=${JSON.stringify(url)})`,
      'env.reset(seed=1)',
      'env.close()',
      'for call in (lambda: env.step(1), lambda: env.reset(seed=1)):\n    try:\n        call()\n        print("no error")\n    except ConnectionError as e:\n        print(e)',
      'env.close()', // still quiet the second time
    ].join('\n');
    const lines = (await runPython(code)).trim().split('\n');
    assert.deepEqual(lines, [
      "the client is closed: close() was called, so it cannot send 'list'; make a new Client (or SelfoptEnv) to talk to the server again",
      'the env is closed: close() was called, so it cannot step; make a new SelfoptEnv to play again',
      'the env is closed: close() was called, so it cannot reset; make a new SelfoptEnv to play again',
    ], url);
  }
  assert.equal(server.sessionCount(), 0);
});
