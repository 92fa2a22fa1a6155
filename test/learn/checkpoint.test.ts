/** Checkpoints: exact round trip, and bad files that must load nothing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, readdirSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { SelfoptError } from '../../src/core/errors.js';
import { MLP, type Module } from '../../src/learn/layers.js';
import { DagMessagePassing } from '../../src/learn/gnn.js';
import { saveCheckpoint, loadCheckpoint, readCheckpoint, checkpointBytes } from '../../src/learn/checkpoint.js';
import { PROJECT_ROOT } from '../../src/core/version.js';
import { tempDir } from '../tmp.js';
import { shellWords } from '../../src/bench/command.js';

const dir = tempDir('selfopt-ckpt-');
const snapshot = (m: Module) => m.parameters().map((p) => Array.from(p.data));

function saved(name: string, model: Module): string {
  const path = join(dir, name);
  saveCheckpoint(path, model, { hyperparameters: { lr: 0.001, hidden: [8] }, command: 'selfopt train test --seed 3', seed: 3, codeVersion: 'abc123' });
  return path;
}

test('round trip: every weight comes back bit for bit, with the metadata', () => {
  const a = new MLP([3, 8, 2], { rng: new Rng(1) });
  a.layers[0]!.bias!.data.set([0.1, -0.2, 1e-30, -0, Infinity, 3, 4, 5]);
  const path = saved('mlp.ckpt', a);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), []); // atomic write cleaned up
  const b = new MLP([3, 8, 2], { rng: new Rng(2) });
  assert.notDeepEqual(snapshot(b), snapshot(a));
  const header = loadCheckpoint(path, b);
  assert.deepEqual(snapshot(b), snapshot(a));
  assert.ok(Object.is(b.layers[0]!.bias!.data[3], -0));
  assert.equal(header.command, 'selfopt train test --seed 3');
  assert.equal(header.seed, 3);
  assert.equal(header.codeVersion, 'abc123');
  assert.deepEqual(header.hyperparameters, { lr: 0.001, hidden: [8] });
  assert.deepEqual(header.architecture, a.architecture());
  assert.deepEqual(header.tensors.map((t) => t.name), ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
  // Same model, same bytes: a checkpoint is reproducible.
  const again = saved('mlp2.ckpt', a);
  assert.deepEqual(readFileSync(again), readFileSync(path));
  const dag = new DagMessagePassing({ inFeatures: 5, outFeatures: 8, hidden: [16, 8], rng: new Rng(4) });
  const dag2 = new DagMessagePassing({ inFeatures: 5, outFeatures: 8, hidden: [16, 8], rng: new Rng(5) });
  loadCheckpoint(saved('dag.ckpt', dag), dag2);
  assert.deepEqual(snapshot(dag2), snapshot(dag));
});

test('a truncated file is a clear error (expected vs got bytes) and loads nothing', () => {
  const path = saved('trunc.ckpt', new MLP([3, 8, 2], { rng: new Rng(1) }));
  const full = statSync(path).size;
  truncateSync(path, full - 10);
  const target = new MLP([3, 8, 2], { rng: new Rng(9) });
  const before = snapshot(target);
  assert.throws(() => loadCheckpoint(path, target), (e: unknown) => {
    assert.ok(e instanceof SelfoptError);
    assert.match(e.message, new RegExp(`truncated checkpoint: expected ${full} bytes, got ${full - 10}`));
    assert.equal(e.where, path);
    return true;
  });
  assert.deepEqual(snapshot(target), before);
  truncateSync(path, 30); // inside the header
  assert.throws(() => loadCheckpoint(path, target), /truncated checkpoint: the header needs \d+ bytes, got 30/);
  truncateSync(path, 7);
  assert.throws(() => loadCheckpoint(path, target), /truncated checkpoint: 7 bytes/);
  assert.deepEqual(snapshot(target), before);
});

test('foreign, corrupt and over-long files are refused', () => {
  const path = join(dir, 'foreign.ckpt');
  writeFileSync(path, 'PK\u0003\u0004 this is a zip file, not a checkpoint');
  assert.throws(() => loadCheckpoint(path, new MLP([1, 1], { rng: new Rng(1) })), /not a selfopt checkpoint/);
  const good = saved('long.ckpt', new MLP([2, 2], { rng: new Rng(1) }));
  writeFileSync(good, Buffer.concat([readFileSync(good), Buffer.from([0, 0, 0, 0])]));
  assert.throws(() => readCheckpoint(good), /4 bytes after the weights/);
  const bytes = readFileSync(saved('hdr.ckpt', new MLP([2, 2], { rng: new Rng(1) })));
  bytes[21] = 0x7b; // break the JSON
  writeFileSync(join(dir, 'hdr.ckpt'), bytes);
  assert.throws(() => readCheckpoint(join(dir, 'hdr.ckpt')), /unreadable checkpoint header/);
  assert.throws(() => readCheckpoint(join(dir, 'missing.ckpt')), /cannot read checkpoint/);
});

test('a flipped byte in the weights is refused (it loaded silently); a checkpoint from before the checksum still loads', () => {
  const a = new MLP([3, 8, 2], { rng: new Rng(1) });
  const path = saved('flip.ckpt', a);
  const { header, weights } = readCheckpoint(path);
  assert.match(header.weightsSha256 ?? '', /^[0-9a-f]{64}$/);
  const bytes = readFileSync(path);
  bytes[bytes.length - 5]! ^= 0x01;
  writeFileSync(path, bytes);
  const target = new MLP([3, 8, 2], { rng: new Rng(9) });
  const before = snapshot(target);
  assert.throws(() => loadCheckpoint(path, target), (e: unknown) => {
    assert.ok(e instanceof SelfoptError);
    assert.match(e.message, /the weights are damaged: their sha256 is [0-9a-f]{64}, the header records [0-9a-f]{64}/);
    assert.match(e.where, /flip\.ckpt bytes \d+\.\.\d+$/);
    return true;
  });
  assert.deepEqual(snapshot(target), before, 'nothing was loaded');

  // Written before weightsSha256 was recorded: the header has none, and the file loads as it did.
  const { weightsSha256: _, ...old } = header;
  const section = Buffer.alloc(header.weightBytes);
  for (const t of header.tensors) Buffer.from(weights.get(t.name)!.buffer).copy(section, t.offset);
  writeFileSync(join(dir, 'old.ckpt'), checkpointBytes(old, section));
  loadCheckpoint(join(dir, 'old.ckpt'), target);
  assert.deepEqual(snapshot(target), snapshot(a));
  // A checksum that is not one is a header error, not a mismatch.
  writeFileSync(join(dir, 'badsum.ckpt'), checkpointBytes({ ...header, weightsSha256: 'abc' }, section));
  assert.throws(() => readCheckpoint(join(dir, 'badsum.ckpt')), /weightsSha256 is "abc".*64 lowercase hex digits/);
});

test('every shipped checkpoint records its weights\' sha256, and they match', () => {
  const root = join(PROJECT_ROOT, 'checkpoints');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ckpt'));
  assert.ok(files.length >= 5, files.join(', '));
  for (const f of files) assert.match(readCheckpoint(join(root, f)).header.weightsSha256 ?? 'none', /^[0-9a-f]{64}$/, f);
});

test('a checkpoint of another architecture lists every mismatch and leaves the model unchanged', () => {
  const path = saved('arch.ckpt', new MLP([3, 8, 2], { rng: new Rng(1) }));
  const wider = new MLP([3, 16, 2], { rng: new Rng(2) });
  const before = snapshot(wider);
  try {
    loadCheckpoint(path, wider);
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof SelfoptError);
    assert.match(e.message, /checkpoint does not match the model \(4 mismatches; nothing was loaded\)/);
    assert.match(e.message, /architecture\.sizes: checkpoint \[3,8,2\], model \[3,16,2\]/);
    assert.match(e.message, /'layers\.0\.weight' has shape \[3,8\] in the checkpoint but \[3,16\] in the model/);
    assert.match(e.message, /'layers\.0\.bias' has shape \[8\] in the checkpoint but \[16\] in the model/);
    assert.match(e.message, /'layers\.1\.weight' has shape \[8,2\] in the checkpoint but \[16,2\] in the model/);
  }
  assert.deepEqual(snapshot(wider), before);
  const deeper = new MLP([3, 8, 8, 2], { rng: new Rng(2) });
  assert.throws(() => loadCheckpoint(path, deeper), /'layers\.2\.weight' \[8,2\] is not in the checkpoint/);
  const other = new DagMessagePassing({ inFeatures: 3, outFeatures: 2, hidden: [8], rng: new Rng(3) });
  assert.throws(() => loadCheckpoint(path, other), /architecture\.type: checkpoint "MLP", model "DagMessagePassing"[\s\S]*the checkpoint has 'layers\.0\.weight' \[3,8\], which the model does not/);
});

test('the default command quotes each argument, so a shell reads back the same arguments', () => {
  const argv = process.argv;
  const args = ['node', '/opt/my selfopt/main.js', 'train', 'decima', '--opt', "name=it's", '--out', 'a b.ckpt'];
  process.argv = args;
  try {
    saveCheckpoint(join(dir, 'argv.ckpt'), new MLP([2, 2], { rng: new Rng(1) }));
  } finally {
    process.argv = argv;
  }
  const { header } = readCheckpoint(join(dir, 'argv.ckpt'));
  assert.deepEqual(shellWords(header.command), args);
});
