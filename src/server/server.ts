/**
 * `selfopt serve`: the environment protocol (protocol.ts) over WebSocket and HTTP on one port.
 *
 *   ws://HOST:PORT/v1     one JSON message per text frame, replies in order
 *   POST http://HOST:PORT/v1   one message per request body; keep the connection alive to keep
 *                              its sessions (they belong to the TCP connection)
 *
 *   GET  http://HOST:PORT/     the results dashboard and its JSON API (dashboard.ts)
 *
 * Every message is handled synchronously to its reply (envs are synchronous), so sessions need
 * no locks; an env that throws is answered with an error and the server keeps serving.
 * Binds 127.0.0.1 unless told otherwise: an env server runs code on request and should not be
 * reachable from the network by accident.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import type { Env } from '../core/env.js';
import { SelfoptError, unknownName } from '../core/errors.js';
import { PROJECT_ROOT } from '../core/version.js';
import { ENVS } from './registry.js';
import { Dashboard, type DashboardOptions } from './dashboard.js';
import { HARD_LIMIT_BYTES, MAX_MESSAGE_BYTES, PROTOCOL_VERSION, ProtocolError, errorReply, fromZod, idOf, okReply, parseRequest, type Request } from './protocol.js';

export interface ServeOptions {
  port?: number;
  host?: string;
  /** When set, every request must carry it (Authorization: Bearer, or a WebSocket's first hello). */
  token?: string;
  /** A session unused for this long is closed. Default 10 minutes. */
  idleMs?: number;
  maxSessions?: number;
  maxSessionsPerConnection?: number;
  /** Data directory handed to envs that load instances. */
  data?: string;
  /** Where internal errors (bugs) are logged; default console.error. */
  log?: (msg: string) => void;
  /** Serve the dashboard and its read-only results API on GET (see dashboard.ts). */
  dashboard?: DashboardOptions;
}

export interface RunningServer {
  readonly port: number;
  readonly host: string;
  /** http://host:port/v1 */
  readonly url: string;
  sessionCount(): number;
  close(): Promise<void>;
}

interface Connection {
  authed: boolean;
  sessions: Set<string>;
}

interface Session {
  id: string;
  envName: string;
  env: Env<unknown, unknown>;
  owner: Connection;
  lastUsed: number;
  needsReset: boolean;
}

const MAX_UNREAD_REPLY_BYTES = 64 << 20;

const SERVER_VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given), b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  const m = h ? /^Bearer\s+(.+)$/i.exec(h) : null;
  return m ? m[1]!.trim() : undefined;
}

/** A request's path without its query string. */
function pathOf(req: IncomingMessage): string {
  return (req.url ?? '').split('?')[0]!;
}

/** The message-level core: one request text in, one reply text out. Transport-free, so tests can drive it. */
export class SessionTable {
  private readonly sessions = new Map<string, Session>();
  private readonly reaper: NodeJS.Timeout;

  constructor(private readonly opts: Required<Pick<ServeOptions, 'idleMs' | 'maxSessions' | 'maxSessionsPerConnection' | 'log'>> & Pick<ServeOptions, 'token' | 'data'>) {
    this.reaper = setInterval(() => this.reap(), Math.max(50, Math.min(opts.idleMs / 4, 10_000)));
    this.reaper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  newConnection(authorization?: string): Connection {
    return { authed: this.opts.token === undefined || tokenMatches(authorization, this.opts.token), sessions: new Set() };
  }

  /** Closes every session of a connection whose transport closed. */
  dropConnection(conn: Connection): void {
    for (const id of conn.sessions) this.closeSession(id);
  }

  reap(now = Date.now()): void {
    for (const s of this.sessions.values()) if (now - s.lastUsed > this.opts.idleMs) this.closeSession(s.id);
  }

  shutdown(): void {
    clearInterval(this.reaper);
    for (const id of [...this.sessions.keys()]) this.closeSession(id);
  }

  private closeSession(id: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
    s.owner.sessions.delete(id);
    try {
      s.env.close();
    } catch (e) {
      this.opts.log(`selfopt serve: closing session ${id} (${s.envName}): ${(e as Error).stack ?? e}`);
    }
  }

  /** Handles one message; never throws. Returns the reply and whether it is an error (with its code). */
  handle(conn: Connection, text: string, byteLength: number): { reply: string; code?: string } {
    let req: Request | undefined;
    try {
      req = parseRequest(text, byteLength);
      return { reply: okReply(req.id, this.dispatch(conn, req)) };
    } catch (e) {
      const id = req?.id ?? (byteLength <= MAX_MESSAGE_BYTES ? idOf(text) : null);
      let pe: ProtocolError;
      if (e instanceof ProtocolError) pe = e;
      else if (e instanceof SelfoptError) pe = new ProtocolError('env_error', e.message, null);
      else {
        this.opts.log(`selfopt serve: internal error on ${req?.op ?? 'a message'}: ${(e as Error).stack ?? e}`);
        pe = new ProtocolError('internal', `internal error: ${(e as Error).message}`, null);
      }
      return { reply: errorReply(id, pe), code: pe.code };
    }
  }

  private dispatch(conn: Connection, req: Request): unknown {
    if (req.op === 'hello') {
      if (req.token !== undefined && this.opts.token !== undefined) {
        if (!tokenMatches(req.token, this.opts.token)) throw new ProtocolError('unauthorized', 'wrong token', '$.token');
        conn.authed = true;
      }
      return { protocol: PROTOCOL_VERSION, server: 'selfopt', version: SERVER_VERSION, maxMessageBytes: MAX_MESSAGE_BYTES, authenticated: conn.authed };
    }
    if (!conn.authed) throw new ProtocolError('unauthorized', 'this server needs a token: send Authorization: Bearer <token>, or a first hello with {token}', null);
    switch (req.op) {
      case 'list':
        return { envs: Object.entries(ENVS).map(([name, e]) => ({ name, description: e.description, options: z.toJSONSchema(e.options), resetOptions: z.toJSONSchema(e.resetOptions) })) };
      case 'make': {
        const entry = Object.hasOwn(ENVS, req.env) ? ENVS[req.env] : undefined;
        if (!entry) throw new ProtocolError('unknown_env', unknownName('env', req.env, Object.keys(ENVS), 'make').message, '$.env');
        const parsed = entry.options.safeParse(req.options ?? {});
        if (!parsed.success) throw fromZod('bad_options', parsed.error, ['options']);
        if (this.sessions.size >= this.opts.maxSessions) throw new ProtocolError('too_many_sessions', `the server holds ${this.sessions.size} sessions, its limit; close some`, null);
        if (conn.sessions.size >= this.opts.maxSessionsPerConnection) throw new ProtocolError('too_many_sessions', `this connection holds ${conn.sessions.size} sessions, the per-connection limit; close some`, null);
        let env: Env<unknown, unknown>;
        try {
          env = entry.make(parsed.data, { data: this.opts.data });
        } catch (e) {
          if (e instanceof SelfoptError) throw new ProtocolError('bad_options', e.message, '$.options');
          throw e;
        }
        const id = randomUUID();
        this.sessions.set(id, { id, envName: req.env, env, owner: conn, lastUsed: Date.now(), needsReset: true });
        conn.sessions.add(id);
        return { session: id, env: req.env, observationSpace: env.observationSpace.toJSON(), actionSpace: env.actionSpace.toJSON() };
      }
      case 'reset': {
        const s = this.session(conn, req.session);
        let options: Record<string, unknown> | undefined;
        if (req.options !== undefined) {
          const parsed = ENVS[s.envName]!.resetOptions.safeParse(req.options);
          if (!parsed.success) throw fromZod('bad_request', parsed.error, ['options']);
          options = parsed.data;
        }
        s.needsReset = true; // until the reset succeeds: one that throws may have changed half the env's state
        const r = s.env.reset({ seed: req.seed, options });
        s.needsReset = false;
        return r;
      }
      case 'step': {
        const s = this.session(conn, req.session);
        if (s.needsReset) throw new ProtocolError('needs_reset', 'step before reset, after the episode ended (terminated or truncated), or after a reset that failed: reset first', null);
        const space = s.env.actionSpace;
        const action = space.kind === 'Box' && Array.isArray(req.action) ? Float32Array.from(req.action) : req.action;
        // Checked here, before the env sees it, so a bad action can never change the env's state.
        if (!space.contains(action)) throw new ProtocolError('invalid_action', s.env.whyInvalid(action) ?? `action ${JSON.stringify(req.action)} is not in ${JSON.stringify(space.toJSON())}`, '$.action');
        let r;
        try {
          r = s.env.step(action);
        } catch (e) {
          s.needsReset = true; // the env's state is unknown after a throw
          throw e;
        }
        if (r.terminated || r.truncated) s.needsReset = true;
        return r;
      }
      case 'close':
        this.session(conn, req.session);
        this.closeSession(req.session);
        return { closed: true };
    }
  }

  private session(conn: Connection, id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw new ProtocolError('unknown_session', `no session '${id}' (never made, closed, or reaped after ${this.opts.idleMs} ms idle)`, '$.session');
    if (s.owner !== conn) throw new ProtocolError('forbidden_session', `session '${id}' belongs to another connection`, '$.session');
    s.lastUsed = Date.now();
    return s;
  }
}

function httpStatus(code: string | undefined): number {
  if (code === undefined) return 200;
  return code === 'unauthorized' ? 401 : code === 'too_large' ? 413 : code === 'forbidden_session' ? 403 : code === 'internal' ? 500 : 400;
}

/** Starts the server; resolves once it listens (port 0 = a free port, read it from the result). */
export async function serve(options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const idleMs = options.idleMs ?? 10 * 60_000;
  const table = new SessionTable({
    idleMs,
    maxSessions: options.maxSessions ?? 4096,
    maxSessionsPerConnection: options.maxSessionsPerConnection ?? 256,
    log: options.log ?? ((m) => console.error(m)),
    token: options.token,
    data: options.data,
  });
  const httpConns = new WeakMap<Socket, Connection>();

  const send = (res: ServerResponse, status: number, body: string, close = false) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (close) headers.connection = 'close';
    res.writeHead(status, headers);
    res.end(body);
  };

  const dashboard = options.dashboard ? new Dashboard(options.dashboard) : undefined;
  const http = createServer({ noDelay: true }, (req, res) => {
    // Routed on the path without its query, as WebSocket upgrades are: POST /v1?client=x was a 404
    // saying "the protocol is POST /v1", and GET /v1?x the dashboard's page.
    const onProtocol = pathOf(req) === '/v1';
    // HEAD is answered as GET without the body (Node sends none for a HEAD request): a HEAD / (curl -I,
    // a link checker) was a 404 saying "the protocol is POST /v1".
    if (dashboard && (req.method === 'GET' || req.method === 'HEAD') && !onProtocol) {
      return dashboard.handle(req, res, options.token === undefined || tokenMatches(bearer(req), options.token));
    }
    if (!onProtocol || req.method !== 'POST') {
      const e = new ProtocolError('bad_request', `${req.method} ${req.url}: the protocol is POST /v1 (or a WebSocket on /v1)`, null);
      req.resume();
      return send(res, onProtocol ? 405 : 404, errorReply(null, e));
    }
    const socket = req.socket;
    let conn = httpConns.get(socket);
    if (!conn) {
      const c = table.newConnection();
      httpConns.set(socket, c);
      socket.once('close', () => table.dropConnection(c));
      conn = c;
    }
    if (!conn.authed && options.token !== undefined && tokenMatches(bearer(req), options.token)) conn.authed = true;
    const tooLarge = (n: number) => errorReply(null, new ProtocolError('too_large', `message of ${n}${n > HARD_LIMIT_BYTES ? '+' : ''} bytes; at most ${MAX_MESSAGE_BYTES} bytes`, null));
    const declared = Number(req.headers['content-length'] ?? 0);
    // Past the hard limit the body is not read: answer, then drop the connection once the answer is out.
    if (declared > HARD_LIMIT_BYTES) {
      res.once('finish', () => req.destroy());
      return send(res, 413, tooLarge(declared), true);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    req.on('data', (c: Buffer) => {
      total += c.length;
      if (total > HARD_LIMIT_BYTES) {
        if (!res.headersSent) {
          req.pause();
          res.once('finish', () => req.destroy());
          send(res, 413, tooLarge(total), true);
        }
      } else if (total <= MAX_MESSAGE_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      if (total > MAX_MESSAGE_BYTES) return send(res, 413, tooLarge(total));
      const { reply, code } = table.handle(conn, Buffer.concat(chunks, total).toString('utf8'), total);
      send(res, httpStatus(code), reply);
    });
    req.on('error', () => {});
  });
  // An HTTP client keeps its sessions as long as its connection; let the connection live as long as a session may idle
  // (Node adds 1 s to it for the socket's timer, which holds at most 2^31 - 1 ms, ~24.8 days: past that Node
  // warned on every request and truncated it anyway).
  http.keepAliveTimeout = Math.min(idleMs + 1000, 2 ** 31 - 1 - 1000);

  const wss = new WebSocketServer({ noServer: true, maxPayload: HARD_LIMIT_BYTES });
  // Upgrades are routed here rather than by ws's `path` option, whose refusal of another path is a
  // bare `400 Bad Request`: a client that asked for ws://HOST:PORT/ is told where the protocol is.
  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const pathname = pathOf(req);
    if (pathname === '/v1') return wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    const body = errorReply(null, new ProtocolError('bad_request', `WebSocket on ${pathname || '(no path)'}: the protocol is a WebSocket on /v1 (or POST /v1)`, null));
    socket.on('error', () => {});
    socket.end(`HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const conn = table.newConnection(bearer(req));
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      // A client that sends without reading its replies is cut off rather than buffered without bound.
      if (ws.bufferedAmount > MAX_UNREAD_REPLY_BYTES) return void ws.terminate();
      ws.send(table.handle(conn, buf.length <= MAX_MESSAGE_BYTES ? buf.toString('utf8') : '', buf.length).reply);
    });
    ws.on('close', () => table.dropConnection(conn));
    ws.on('error', () => ws.terminate());
  });
  wss.on('error', () => {});

  await new Promise<void>((ok, fail) => {
    const onError = (e: NodeJS.ErrnoException) => fail(new SelfoptError(`cannot listen on ${host}:${options.port ?? 8765}: ${e.code ?? e.message}`, 'selfopt serve', 'a free port (--port 0 picks one) on an address of this machine'));
    http.once('error', onError);
    http.listen(options.port ?? 8765, host, () => {
      http.off('error', onError);
      ok();
    });
  });
  const addr = http.address();
  const port = typeof addr === 'object' && addr ? addr.port : (options.port ?? 8765);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    port,
    host,
    url: `http://${shownHost}:${port}/v1`,
    sessionCount: () => table.size,
    close: async () => {
      table.shutdown();
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((ok) => wss.close(() => ok()));
      http.closeAllConnections();
      await new Promise<void>((ok) => http.close(() => ok()));
    },
  };
}
