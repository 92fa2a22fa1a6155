import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SelfoptError } from '../../../src/core/errors.js';
import { hyperedgeCut, loadHmetisHypergraph, parseHmetisHypergraph } from '../../../src/problems/partition/hypergraph.js';

// The hMETIS manual's example (figure 2): 4 hyperedges on 7 vertices, in each of the four formats.
const PLAIN = '% the manual example\n4 7\n1 2\n1 7 5 6\n5 6 4\n2 3 4\n';
const EDGE_WEIGHTS = '4 7 1\n2 1 2\n3 1 7 5 6\n8 5 6 4\n7 2 3 4\n';
const BOTH = '4 7 11\n2 1 2\n3 1 7 5 6\n8 5 6 4\n7 2 3 4\n5\n1\n8\n7\n3\n9\n3\n';

test('hMETIS .hgr: pins, hyperedge and vertex weights of the manual example in every format', () => {
  const h = parseHmetisHypergraph(PLAIN, 'plain.hgr');
  assert.equal(h.m, 4); assert.equal(h.n, 7);
  assert.deepEqual([...h.eptr], [0, 2, 6, 9, 12]);
  assert.deepEqual([...h.pins], [0, 1, 0, 6, 4, 5, 4, 5, 3, 1, 2, 3]);
  assert.deepEqual([...h.hewgt], [1, 1, 1, 1]);
  assert.deepEqual([...h.vwgt], [1, 1, 1, 1, 1, 1, 1]);
  const e = parseHmetisHypergraph(EDGE_WEIGHTS, 'ew.hgr');
  assert.deepEqual([...e.hewgt], [2, 3, 8, 7]);
  assert.deepEqual([...e.pins], [...h.pins]);
  const b = parseHmetisHypergraph(BOTH, 'both.hgr');
  assert.deepEqual([...b.vwgt], [5, 1, 8, 7, 3, 9, 3]);
  const v = parseHmetisHypergraph('4 7 10\n1 2\n1 7 5 6\n5 6 4\n2 3 4\n5\n1\n8\n7\n3\n9\n3\n\n', 'vw.hgr');
  assert.deepEqual([...v.vwgt], [5, 1, 8, 7, 3, 9, 3]);
  assert.deepEqual([...v.hewgt], [1, 1, 1, 1]);
  // cut-net: parts {1,2,3} | {4,5,6,7} cut hyperedges 2 (1 7 5 6) and 4 (2 3 4): weights 3 + 7
  assert.equal(hyperedgeCut(e, Int32Array.from([0, 0, 0, 1, 1, 1, 1])), 10);
  assert.equal(hyperedgeCut(e, new Int32Array(7)), 0);
});

test('hMETIS .hgr: every defect is one error naming the file and line', () => {
  const cases: [string, number, RegExp][] = [
    ['', 1, /no header/],
    ['4 7 2\n1 2\n', 1, /fmt 2/],
    ['4\n1 2\n', 1, /header has 1 numbers/],
    ['4 7\n1 2\n1 7 5 6\n5 6 4\n', 4, /only 3 hyperedge lines/],
    ['3 7\n1 2\n1 7 5 6\n5 6 4\n2 3 4\n', 5, /beyond the 3 hyperedges/],
    ['4 7\n1 2\n1 8 5 6\n5 6 4\n2 3 4\n', 3, /pin 8, out of range/],
    ['4 7\n1 2\n1 0 5 6\n5 6 4\n2 3 4\n', 3, /pin 0, out of range/],
    ['4 7\n1 2\n1 7 5 7\n5 6 4\n2 3 4\n', 3, /lists vertex 7 twice/],
    ['4 7 1\n2 1 2\n0 1 7 5 6\n8 5 6 4\n7 2 3 4\n', 3, /weight 0/],
    ['4 7 1\n2 1 2\n3\n8 5 6 4\n7 2 3 4\n', 3, /no pins/],
    ['4 7\n1 2\n% comment\n1 x 5 6\n5 6 4\n2 3 4\n', 4, /'x' is not a non-negative integer/],
    ['4 7 10\n1 2\n1 7 5 6\n5 6 4\n2 3 4\n5\n1\n8\n', 8, /only 3 vertex weight lines/],
    ['4 7 10\n1 2\n1 7 5 6\n5 6 4\n2 3 4\n5\n1 2\n8\n7\n3\n9\n3\n', 7, /weight line 2 has 2 numbers/],
    ['4 7 10\n1 2\n1 7 5 6\n5 6 4\n2 3 4\n5\n1\n1073741824\n7\n3\n9\n3\n', 8, /vertex 3 has weight 1073741824/],
    // header counts past what the bytes after the header hold are refused before any allocation
    // (they allocated m- and n-entry arrays first: a bare RangeError, or the machine's memory)
    ['3 2000000000\n1 2\n2 3\n1 3\n', 1, /^header says n = 2000000000 vertices but only 12 bytes follow it, which pin at most 6 of them/],
    ['2000000000 3\n1 2\n', 1, /^header says m = 2000000000 hyperedges but only 4 bytes follow it \(at bad\.hgr:1\); expected m hyperedge lines of one pin or more, at least 3999999999 bytes$/],
    ['% c\n3 3 1\n5 1 2\n1 3\n', 2, /header says m = 3 hyperedges but only 10 bytes follow it .*a weight and one pin or more, at least 11 bytes/],
    ['1 2000000000 10\n1 2\n', 1, /header says m = 1 hyperedges and n = 2000000000 vertex weights but only 4 bytes follow it/],
  ];
  for (const [text, line, what] of cases) {
    assert.throws(() => parseHmetisHypergraph(text, 'bad.hgr'), (e: unknown) => {
      assert.ok(e instanceof SelfoptError, String(e));
      assert.match(e.message, what);
      assert.match(e.message, new RegExp(`bad\\.hgr:${line}\\b`), `${JSON.stringify(text)}: ${e.message}`);
      return true;
    });
  }
});

test('hMETIS .hgr: loads from a file; a missing file is one clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'selfopt-hgr-'));
  try {
    const path = join(dir, 'ex.hgr');
    writeFileSync(path, BOTH.replace(/\n/g, '\r\n')); // CRLF tolerated
    assert.deepEqual([...loadHmetisHypergraph(path).vwgt], [5, 1, 8, 7, 3, 9, 3]);
    assert.throws(() => loadHmetisHypergraph(join(dir, 'missing.hgr')), (e: unknown) => e instanceof SelfoptError && /cannot read hypergraph file/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
