/**
 * The selfopt environment protocol, version 1: the Env contract (src/core/env.ts) as JSON
 * messages, so an agent in any language can drive any selfopt environment. The same messages go
 * over a WebSocket (one JSON text frame per message) or as the body of `POST /v1` (one request,
 * one reply, on a keep-alive connection).
 *
 * Requests:  {"v": 1, "id": <string | integer>, "op": <op>, ...fields}
 * Replies:   {"v": 1, "id": <the request's id>, "ok": true, "result": {...}}
 *        or  {"v": 1, "id": <the request's id, or null if it could not be read>, "ok": false,
 *             "error": {"code": <ErrorCode>, "message": <what was wrong and what was expected>,
 *                       "path": <the bad field as a JSON path, e.g. "$.options.length", or null>}}
 *
 * Ops (fields beyond v/id/op; every unknown field is an error, so a typo is never ignored):
 *   hello {token?, client?}         -> {protocol: 1, server: "selfopt", version, maxMessageBytes}
 *                                      (with a token: authenticates the connection; see below)
 *   list  {}                        -> {envs: [{name, description, options, resetOptions}]} (the
 *                                      options of make and of reset, each as a JSON Schema)
 *   make  {env, options?}           -> {session, env, observationSpace, actionSpace} (spaces as
 *                                      each space's toJSON(), e.g. {"kind": "MaskedDiscrete", "n": 2})
 *   reset {session, seed?, options?}-> {obs, info}        (Gymnasium semantics: a seed re-seeds;
 *                                      after a reset that failed, step is needs_reset)
 *   step  {session, action}         -> {obs, reward, terminated, truncated, info}
 *   close {session}                 -> {closed: true}
 *
 * Sessions belong to the connection that made them (a WebSocket, or the TCP connection that
 * carried the HTTP request): another connection gets `forbidden_session`. They are closed when
 * their connection closes and reaped after an idle timeout (then `unknown_session`).
 *
 * Encoding of values (observations, info, actions):
 *   - typed arrays (Float32Array, Int32Array, Uint8Array, Float64Array ...) become plain JSON
 *     arrays of numbers; a Float32Array element is sent as the double it exactly equals, so a
 *     client that parses it as a double and stores it as float32 gets the same bits back.
 *     `info.actionMask` (Uint8Array) is therefore an array of 0/1.
 *   - numbers are exact (a double's shortest round-trip decimal), except that -0 is sent as 0.
 *   - non-finite numbers (a Box bound of Infinity, a NaN) are sent as the strings "inf", "-inf"
 *     and "nan" (Python's float() reads all three); JSON has no literal for them.
 *   - an action for a Box space is a JSON array of numbers (decoded to Float32Array); for a
 *     Discrete or MaskedDiscrete space it is an integer.
 *
 * Authentication: when the server has a token, every request must carry it, either in the
 * connection's `Authorization: Bearer <token>` header (WebSocket upgrade or each HTTP request),
 * or, on a WebSocket, in a first `hello` with {token}; otherwise the reply is `unauthorized`.
 *
 * Size: a request larger than MAX_MESSAGE_BYTES gets `too_large`; one larger than
 * HARD_LIMIT_BYTES is not read at all and its connection is closed (WebSocket close code 1009).
 */
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;
export const MAX_MESSAGE_BYTES = 1 << 20;
export const HARD_LIMIT_BYTES = 4 << 20;

export type ErrorCode =
  | 'bad_json' // the message is not JSON (or not a JSON object)
  | 'too_large' // over MAX_MESSAGE_BYTES
  | 'bad_version' // v is not PROTOCOL_VERSION
  | 'unknown_op'
  | 'bad_request' // a field is missing, ill-typed or unknown: see error.path
  | 'unauthorized' // token required and missing or wrong
  | 'unknown_env'
  | 'bad_options' // env options rejected (path names the option)
  | 'unknown_session' // never existed, closed, or reaped when idle
  | 'forbidden_session' // belongs to another connection
  | 'too_many_sessions'
  | 'invalid_action' // outside the action space or masked out; the env is unchanged
  | 'needs_reset' // step before reset, after the episode ended, or after a reset that failed
  | 'env_error' // the environment refused (a SelfoptError from reset/step)
  | 'internal'; // a bug of ours: the server keeps serving

export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly path: string | null = null,
  ) {
    super(message);
  }
}

// A union's own message when no member fits; zod's default was a bare "Invalid input", which says nothing of what was expected.
const Id = z.union([z.string().max(128), z.number().int()], { error: 'expected a string (at most 128 characters) or an integer' });
const SessionId = z.string().min(1).max(64);
const Options = z.record(z.string(), z.unknown());
/** Rng folds any integer to 32 bits; we accept the safe integers so that no seed is silently rounded. */
const Seed = z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
const Action = z.union([z.number(), z.array(z.number()).max(1 << 16)], { error: `expected an integer (a Discrete or MaskedDiscrete action) or an array of at most ${1 << 16} numbers (a Box action)` });

const base = { v: z.number(), id: Id };
export const Requests = {
  hello: z.strictObject({ ...base, op: z.literal('hello'), token: z.string().max(1024).optional(), client: z.string().max(256).optional() }),
  list: z.strictObject({ ...base, op: z.literal('list') }),
  make: z.strictObject({ ...base, op: z.literal('make'), env: z.string().min(1).max(64), options: Options.optional() }),
  reset: z.strictObject({ ...base, op: z.literal('reset'), session: SessionId, seed: Seed.optional(), options: Options.optional() }),
  step: z.strictObject({ ...base, op: z.literal('step'), session: SessionId, action: Action }),
  close: z.strictObject({ ...base, op: z.literal('close'), session: SessionId }),
} as const;

export type Op = keyof typeof Requests;
export type Request = { [K in Op]: z.infer<(typeof Requests)[K]> }[Op];
export const OPS = Object.keys(Requests) as Op[];

/** A zod issue path as a JSON path: ["options", "length"] -> "$.options.length", [3] -> "$[3]". */
export function jsonPath(path: readonly PropertyKey[]): string {
  let s = '$';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(String(p)) ? `.${String(p)}` : `[${JSON.stringify(String(p))}]`;
  return s;
}

/** The first zod issue as a ProtocolError, with the path of the bad field (prefixed by `under`). */
export function fromZod(code: ErrorCode, err: z.ZodError, under: readonly PropertyKey[] = []): ProtocolError {
  const issue = err.issues[0]!;
  let path = [...under, ...issue.path];
  // An unknown key is reported on its parent by zod; the key itself is the bad field.
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) path = [...path, issue.keys[0]!];
  return new ProtocolError(code, `${jsonPath(path)}: ${issue.message}`, jsonPath(path));
}

/**
 * Reads one request: size, JSON, envelope (v, id, op), then the op's own fields. Throws a
 * ProtocolError; `idOf` recovers the id for the error reply when the envelope was readable.
 */
export function parseRequest(text: string, byteLength: number): Request {
  if (byteLength > MAX_MESSAGE_BYTES) throw new ProtocolError('too_large', `message of ${byteLength} bytes; at most ${MAX_MESSAGE_BYTES} bytes`, null);
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch (e) {
    // Python's json.dumps writes NaN and inf as bare NaN and Infinity, which JSON lacks: said as
    // the field that is not a finite number, where "not JSON: Unexpected token 'N'" named neither.
    const nf = nonFiniteNumber(text);
    if (nf) throw new ProtocolError('bad_request', `${nf.path}: ${nf.token} is not a finite number (JSON has none such); expected a finite number`, nf.path);
    throw new ProtocolError('bad_json', `not JSON: ${(e as Error).message}`, null);
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new ProtocolError('bad_json', 'a request is a JSON object {v, id, op, ...}', '$');
  // JSON.parse makes "__proto__" an own key, but the checks below copy objects by assignment,
  // where it sets the copy's prototype instead: make's options {"__proto__": ...} vanished without
  // a word. Looked for only when the text could spell it (escapes included): steps stay cheap.
  if (text.includes('__proto__') || text.includes('\\u')) {
    const at = firstMember(msg, (k) => k === '__proto__')?.path;
    if (at) throw new ProtocolError('bad_request', `${jsonPath(at)}: "__proto__" is not allowed as a key (JavaScript takes it for the object's prototype)`, jsonPath(at));
  }
  const m = msg as Record<string, unknown>;
  if (m.v !== PROTOCOL_VERSION) throw new ProtocolError('bad_version', `v = ${JSON.stringify(m.v)}; this server speaks protocol version ${PROTOCOL_VERSION}`, '$.v');
  const id = Id.safeParse(m.id);
  if (!id.success) throw fromZod('bad_request', id.error, ['id']);
  if (typeof m.op !== 'string' || !Object.hasOwn(Requests, m.op)) throw new ProtocolError('unknown_op', `op = ${JSON.stringify(m.op)}; expected one of ${OPS.join(', ')}`, '$.op');
  const r = Requests[m.op as Op].safeParse(m);
  if (!r.success) throw fromZod('bad_request', r.error);
  return r.data as Request;
}

/**
 * The first member (depth first, in order) of a parsed JSON value for which `hit(key, member)`
 * holds, with its path, or undefined when none does.
 */
function firstMember(value: unknown, hit: (key: PropertyKey, member: unknown) => boolean, path: PropertyKey[] = []): { path: PropertyKey[]; member: unknown } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [k, v] of Array.isArray(value) ? value.entries() : Object.entries(value)) {
    if (hit(k, v)) return { path: [...path, k], member: v };
    const at = firstMember(v, hit, [...path, k]);
    if (at) return at;
  }
  return undefined;
}

/** What JSON.parse refuses where an encoder wrote a number that JSON lacks. */
const NON_FINITE = ['NaN', '-Infinity', 'Infinity'] as const;
/** Stands for one of them in the text read again: a string no client sends in a failed message. */
const MARK = '\u0000non-finite:';

/**
 * Reads `text` again with each bare NaN, Infinity or -Infinity (outside strings) as a marked
 * string; the path and spelling of the first, or undefined when there is none or the text is
 * still not JSON.
 */
function nonFiniteNumber(text: string): { path: string; token: string } | undefined {
  const parsed = readNonFinite(text);
  if (parsed === undefined) return undefined;
  const marked = (v: unknown) => typeof v === 'string' && v.startsWith(MARK);
  // The text may be the bare number alone ('$'), else it stands for some member.
  const at = marked(parsed.value) ? { path: [], member: parsed.value } : firstMember(parsed.value, (_, v) => marked(v));
  return at ? { path: jsonPath(at.path), token: (at.member as string).slice(MARK.length) } : undefined;
}

/** `text` parsed with its bare non-finite numbers as marked strings, or undefined when it has none or is still not JSON. */
function readNonFinite(text: string): { value: unknown } | undefined {
  let out = '', from = 0, found = false;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      continue;
    }
    const token = NON_FINITE.find((t) => text.startsWith(t, i));
    if (token) {
      out += text.slice(from, i) + JSON.stringify(MARK + token);
      i += token.length - 1;
      from = i + 1;
      found = true;
    }
  }
  if (!found) return undefined;
  try {
    return { value: JSON.parse(out + text.slice(from)) };
  } catch {
    return undefined;
  }
}

/** The id of a message, when one can be read, for an error reply. */
export function idOf(text: string): string | number | null {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    m = readNonFinite(text)?.value; // a bare NaN's reply goes to its request, as any bad field's does
  }
  const id = Id.safeParse((m as Record<string, unknown> | null | undefined)?.id);
  return id.success ? id.data : null;
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  if (typeof value === 'bigint') return Number(value);
  return value;
}

/** Serializes a reply (or any value) with the protocol's encoding of typed arrays and non-finite numbers. */
export function encode(value: unknown): string {
  return JSON.stringify(value, replacer);
}

export function okReply(id: string | number | null, result: unknown): string {
  return encode({ v: PROTOCOL_VERSION, id, ok: true, result });
}

export function errorReply(id: string | number | null, e: ProtocolError): string {
  return encode({ v: PROTOCOL_VERSION, id, ok: false, error: { code: e.code, message: e.message, path: e.path } });
}
