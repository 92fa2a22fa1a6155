/**
 * Checkpoints: one file holding a model's weights and everything needed to reproduce them.
 *
 * Layout (all integers little-endian):
 *   bytes 0..11   magic "selfopt-ckpt"
 *   bytes 12..15  format version (uint32), currently 1
 *   bytes 16..19  header length H in bytes (uint32)
 *   bytes 20..    H bytes of UTF-8 JSON: architecture, hyperparameters, training command, seed,
 *                 code version, and per tensor its name, shape, byte offset and length
 *   then zero padding to a multiple of 4, then the weights: float32 little-endian, in the order
 *   and at the offsets the header lists.
 *
 * Writing is atomic (temp file + rename), so a killed run leaves the previous checkpoint intact.
 * Loading checks the magic, the version, the header, the exact file length, the weights' sha256
 * (`weightsSha256` in the header; files written before it was recorded have none), and that the
 * architecture and every parameter name and shape match the model; on any problem it throws a
 * SelfoptError listing every mismatch and leaves the model untouched.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SelfoptError } from '../core/errors.js';
import { writeFileAtomic } from '../core/files.js';
import { codeVersion } from '../core/version.js';
import { shellCommand } from '../bench/command.js';
import { sizeOf } from './tensor.js';
import type { Module } from './layers.js';
import { shapeStr } from './check.js';

export const CHECKPOINT_MAGIC = 'selfopt-ckpt';
export const CHECKPOINT_VERSION = 1;
const PREAMBLE = 20;

export interface TensorEntry {
  name: string;
  shape: number[];
  /** Byte offset from the start of the weights section. */
  offset: number;
  /** Number of float32 values. */
  length: number;
}

export interface CheckpointHeader {
  architecture: Record<string, unknown>;
  hyperparameters: Record<string, unknown>;
  /** The command that trained these weights (e.g. "selfopt train decima --seed 3"). */
  command: string;
  seed: number | null;
  codeVersion: string;
  tensors: TensorEntry[];
  weightBytes: number;
  /**
   * sha256 (hex) of the weights section. A flipped byte in a weight otherwise loads silently:
   * the length and the header cannot tell. Absent in checkpoints written before it was recorded.
   */
  weightsSha256?: string;
}

export interface CheckpointMeta {
  hyperparameters?: Record<string, unknown>;
  /** Default: this process's command line, each argument quoted as a shell reads it back. */
  command?: string;
  seed?: number | null;
  /** Default: codeVersion() (git sha, +dirty when uncommitted). */
  codeVersion?: string;
}

/** Writes `model`'s weights and metadata to `path` atomically; returns the header written. */
export function saveCheckpoint(path: string, model: Module, meta: CheckpointMeta = {}): CheckpointHeader {
  const params = model.namedParameters();
  const tensors: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of params) {
    tensors.push({ name, shape: [...t.shape], offset, length: t.size });
    offset += 4 * t.size;
  }
  const header: CheckpointHeader = {
    architecture: model.architecture(),
    hyperparameters: meta.hyperparameters ?? {},
    command: meta.command ?? shellCommand(process.argv),
    seed: meta.seed ?? null,
    codeVersion: meta.codeVersion ?? codeVersion(),
    tensors,
    weightBytes: offset,
  };
  const weights = Buffer.alloc(offset);
  const view = new DataView(weights.buffer, weights.byteOffset, weights.byteLength);
  params.forEach(([, t], k) => {
    const base = tensors[k]!.offset;
    for (let i = 0; i < t.size; i++) view.setFloat32(base + 4 * i, t.data[i]!, true);
  });
  header.weightsSha256 = sha256(weights);
  writeFileAtomic(path, checkpointBytes(header, weights));
  return header;
}

/** The file: preamble, header JSON, padding, then the weights section as given. */
export function checkpointBytes(header: CheckpointHeader, weights: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const dataStart = align4(PREAMBLE + json.length);
  const buf = Buffer.alloc(dataStart + weights.length);
  buf.write(CHECKPOINT_MAGIC, 0, 'latin1');
  buf.writeUInt32LE(CHECKPOINT_VERSION, 12);
  buf.writeUInt32LE(json.length, 16);
  json.copy(buf, PREAMBLE);
  weights.copy(buf, dataStart);
  return buf;
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * The header of the checkpoint at `path`, which must hold a model of `type` (its architecture's
 * type): another model's checkpoint is one clear error saying what the file holds, at `where`
 * (the path, or how it was given), and `expected` (the checkpoint wanted and the command that
 * makes it), rather than a list of mismatched tensors when loaded.
 */
export function checkpointHeaderOf(path: string, type: string, expected: string, where = path): CheckpointHeader {
  const { header } = readCheckpoint(path);
  if (header.architecture.type !== type) throw new SelfoptError(`checkpoint holds a ${String(header.architecture.type)}`, where, expected);
  return header;
}

/** Reads and validates a checkpoint file without a model: its header and its weights by name. */
export function readCheckpoint(path: string): { header: CheckpointHeader; weights: Map<string, Float32Array> } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new SelfoptError(`cannot read checkpoint: ${(e as Error).message}`, path, 'a readable checkpoint file');
  }
  const bad = (what: string, where: string, expected: string) => new SelfoptError(what, `${path}${where}`, expected);
  if (buf.length < PREAMBLE) throw bad(`truncated checkpoint: ${buf.length} bytes`, '', `at least the ${PREAMBLE}-byte preamble`);
  const magic = buf.toString('latin1', 0, 12);
  if (magic !== CHECKPOINT_MAGIC) throw bad(`not a selfopt checkpoint (starts with ${JSON.stringify(magic)})`, ' byte 0', `the magic "${CHECKPOINT_MAGIC}"`);
  const version = buf.readUInt32LE(12);
  if (version !== CHECKPOINT_VERSION) throw bad(`checkpoint format version ${version}`, ' byte 12', `version ${CHECKPOINT_VERSION}`);
  const hlen = buf.readUInt32LE(16);
  if (PREAMBLE + hlen > buf.length) throw bad(`truncated checkpoint: the header needs ${PREAMBLE + hlen} bytes, got ${buf.length}`, ' byte 16', `a file of ${PREAMBLE + hlen}+ bytes`);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(buf.toString('utf8', PREAMBLE, PREAMBLE + hlen)) as CheckpointHeader;
  } catch (e) {
    throw bad(`unreadable checkpoint header: ${(e as Error).message}`, ` bytes ${PREAMBLE}..${PREAMBLE + hlen}`, 'JSON');
  }
  validateHeader(header, (what, expected) => bad(what, ' header', expected));
  const dataStart = align4(PREAMBLE + hlen);
  const expectedLen = dataStart + header.weightBytes;
  if (buf.length < expectedLen) throw bad(`truncated checkpoint: expected ${expectedLen} bytes, got ${buf.length}`, '', `${expectedLen} bytes (header + ${header.weightBytes} bytes of weights)`);
  if (buf.length > expectedLen) throw bad(`checkpoint has ${buf.length - expectedLen} bytes after the weights (${buf.length} bytes, expected ${expectedLen})`, '', `exactly ${expectedLen} bytes`);
  if (header.weightsSha256 !== undefined) {
    const actual = sha256(buf.subarray(dataStart));
    if (actual !== header.weightsSha256) {
      throw bad(`the weights are damaged: their sha256 is ${actual}, the header records ${header.weightsSha256}`, ` bytes ${dataStart}..${expectedLen}`, 'the weights as saved (restore the file, or train again)');
    }
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const weights = new Map<string, Float32Array>();
  for (const t of header.tensors) {
    const w = new Float32Array(t.length);
    const base = dataStart + t.offset;
    for (let i = 0; i < t.length; i++) w[i] = view.getFloat32(base + 4 * i, true);
    weights.set(t.name, w);
  }
  return { header, weights };
}

function validateHeader(h: CheckpointHeader, bad: (what: string, expected: string) => SelfoptError): void {
  const obj = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!obj(h)) throw bad('the header is not an object', 'a JSON object');
  if (!obj(h.architecture)) throw bad('architecture is missing', 'an architecture object');
  if (!obj(h.hyperparameters)) throw bad('hyperparameters is missing', 'a hyperparameters object');
  if (typeof h.command !== 'string' || typeof h.codeVersion !== 'string') throw bad('command or codeVersion is missing', 'strings');
  if (!Array.isArray(h.tensors) || !Number.isInteger(h.weightBytes)) throw bad('tensors or weightBytes is missing', 'a tensors list and an integer weightBytes');
  let offset = 0;
  const names = new Set<string>();
  h.tensors.forEach((t, i) => {
    const ok = obj(t) && typeof t.name === 'string' && Array.isArray(t.shape) && t.shape.every((d) => Number.isInteger(d) && d >= 0) && t.length === sizeOf(t.shape) && t.offset === offset;
    if (!ok) throw bad(`tensor entry ${i} (${JSON.stringify(t)}) is inconsistent`, `name, shape, length = product of shape, offset = ${offset}`);
    if (names.has(t.name)) throw bad(`tensor '${t.name}' appears twice`, 'unique tensor names');
    names.add(t.name);
    offset += 4 * t.length;
  });
  if (h.weightsSha256 !== undefined && !(typeof h.weightsSha256 === 'string' && /^[0-9a-f]{64}$/.test(h.weightsSha256))) throw bad(`weightsSha256 is ${JSON.stringify(h.weightsSha256)}`, '64 lowercase hex digits');
  if (offset !== h.weightBytes) throw bad(`weightBytes is ${h.weightBytes} but the tensors need ${offset}`, 'weightBytes equal to the sum of the tensor sizes');
}

/**
 * Loads a checkpoint into `model`. Every mismatch of architecture, parameter names and shapes is
 * reported in one error, and nothing is written into the model unless everything matches.
 */
export function loadCheckpoint(path: string, model: Module): CheckpointHeader {
  const { header, weights } = readCheckpoint(path);
  const problems: string[] = [];
  diffJson('architecture', header.architecture, model.architecture(), problems);
  const params = model.namedParameters();
  const inFile = new Map(header.tensors.map((t) => [t.name, t]));
  for (const [name, p] of params) {
    const t = inFile.get(name);
    if (!t) problems.push(`parameter '${name}' ${shapeStr(p.shape)} is not in the checkpoint`);
    else if (shapeStr(t.shape) !== shapeStr(p.shape)) problems.push(`parameter '${name}' has shape ${shapeStr(t.shape)} in the checkpoint but ${shapeStr(p.shape)} in the model`);
  }
  const inModel = new Set(params.map(([n]) => n));
  for (const t of header.tensors) if (!inModel.has(t.name)) problems.push(`the checkpoint has '${t.name}' ${shapeStr(t.shape)}, which the model does not`);
  if (problems.length > 0) {
    throw new SelfoptError(
      `checkpoint does not match the model (${problems.length} mismatch${problems.length > 1 ? 'es' : ''}; nothing was loaded):\n  - ${problems.join('\n  - ')}\n`,
      path,
      `a checkpoint saved from a model with the same architecture (the file has ${JSON.stringify(header.architecture)})`,
    );
  }
  for (const [name, p] of params) p.data.set(weights.get(name)!);
  return header;
}

/** Appends "path: file X, model Y" for every leaf where two JSON values differ. */
function diffJson(path: string, a: unknown, b: unknown, out: string[]): void {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diffJson(`${path}.${k}`, a[k], b[k], out);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${path}: checkpoint ${JSON.stringify(a) ?? 'absent'}, model ${JSON.stringify(b) ?? 'absent'}`);
}
