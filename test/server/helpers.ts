/**
 * Protocol clients for the server tests: a WebSocket client with ordered replies, and one-shot
 * HTTP POSTs; and the protocol tests' (protocol*.test.ts) served server, their check of an error
 * reply, and their check that the server still serves.
 */
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { WebSocket } from 'ws';
import { serve, type RunningServer } from '../../src/server/server.js';

export interface Reply {
  v: number;
  id: string | number | null;
  ok: boolean;
  result?: any;
  error?: { code: string; message: string; path: string | null };
}

export class WsClient {
  private waiting: ((r: Reply) => void)[] = [];
  private nextId = 0;
  closed: { code: number } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.waiting.shift()?.(JSON.parse(data.toString()) as Reply));
    ws.on('close', (code) => {
      this.closed = { code };
    });
    ws.on('error', () => {});
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), { headers });
    return new Promise((ok, fail) => {
      ws.once('open', () => ok(new WsClient(ws)));
      ws.once('error', fail);
    });
  }

  /** Sends raw text and waits for its reply. */
  raw(text: string | Buffer): Promise<Reply> {
    return new Promise((ok) => {
      this.waiting.push(ok);
      this.ws.send(text);
    });
  }

  call(op: string, fields: Record<string, unknown> = {}): Promise<Reply> {
    return this.raw(JSON.stringify({ v: 1, id: ++this.nextId, op, ...fields }));
  }

  /** The result of a call that must succeed. */
  async ok(op: string, fields: Record<string, unknown> = {}): Promise<any> {
    const r = await this.call(op, fields);
    if (!r.ok) throw new Error(`${op} failed: ${JSON.stringify(r.error)}`);
    return r.result;
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((ok) => {
      this.ws.once('close', () => ok());
      this.ws.close();
    });
  }
}

/** One POST /v1 on `agent` (a keep-alive agent with one socket keeps one connection, and so its sessions). */
export function post(url: string, body: string | Buffer, headers: Record<string, string> = {}, agent?: Agent): Promise<{ status: number; reply: Reply }> {
  return new Promise((ok, fail) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, reply: JSON.parse(Buffer.concat(chunks).toString()) as Reply }));
    });
    req.on('error', fail);
    req.end(body);
  });
}

export const msg = (op: string, fields: Record<string, unknown> = {}, id: number | string = 1) => JSON.stringify({ v: 1, id, op, ...fields });

export const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/**
 * Registers the test file's hooks: before its tests, a protocol server on a free port and a
 * WebSocket client connected to it, handed to `ready`; after them, both closed.
 */
export function servedProtocol(ready: (server: RunningServer, client: WsClient) => void): void {
  let server: RunningServer | undefined;
  let client: WsClient | undefined;
  before(async () => {
    server = await serve({ port: 0, log: () => {} });
    client = await WsClient.open(server.url);
    ready(server, client);
  });
  after(async () => {
    await client?.close();
    await server?.close();
  });
}

/** The server at `url` still answers on connection `c` and on a new one. */
export async function stillServes(url: string, c: WsClient): Promise<void> {
  assert.equal((await c.ok('hello')).protocol, 1);
  const fresh = await WsClient.open(url);
  assert.equal((await fresh.ok('hello')).server, 'selfopt');
  await fresh.close();
}

/** `r` is an error reply with `code`, and with `path` where one is given. */
export function assertError(r: { ok: boolean; error?: { code: string; path: string | null } }, code: string, path?: string | null): void {
  assert.equal(r.ok, false, `expected error ${code}, got ${JSON.stringify(r)}`);
  assert.equal(r.error!.code, code, JSON.stringify(r.error));
  if (path !== undefined) assert.equal(r.error!.path, path, JSON.stringify(r.error));
}
