/**
 * Reader for Circuit Training's netlist protobuf text (google-research/circuit_training
 * docs/NETLIST_FORMAT.md): a sequence of `node { name input* attr* }` blocks. Node kinds:
 * hard macros (type MACRO, or `macro` not named `Grp*`), soft macros (standard-cell clusters:
 * type `macro` named `Grp*`, as in CT and the TILOS clustered netlists), ports, macro pins
 * (x_offset/y_offset from the centre of their `macro_name`) and standard cells. A net is a
 * driver plus its `input` list; its weight is the driver's `weight` attribute (default 1).
 * Node index = position in the file without the `__metadata__` node (the `.plc` index).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { SelfoptError } from '../../core/errors.js';

export const HARD_MACRO = 0;
export const SOFT_MACRO = 1;
export const PORT = 2;
export const HARD_PIN = 3;
export const SOFT_PIN = 4;
export const STDCELL = 5;
export const KIND_NAMES = ['MACRO', 'macro', 'PORT', 'MACRO_PIN', 'macro_pin', 'STDCELL'] as const;

/** Orientations in the order of their codes; N = 0. */
export const ORIENTATIONS = ['N', 'FN', 'S', 'FS', 'E', 'FE', 'W', 'FW'] as const;
export type Orientation = (typeof ORIENTATIONS)[number];

export function orientationCode(s: string, where: string): number {
  if (s === '-' || s === '') return 0;
  const i = (ORIENTATIONS as readonly string[]).indexOf(s);
  if (i < 0) throw new SelfoptError(`unknown orientation '${s}'`, where, `one of ${ORIENTATIONS.join(', ')} or -`);
  return i;
}

export interface Netlist {
  /** Node names, in file order without `__metadata__`. */
  names: string[];
  kind: Uint8Array;
  /** Initial centre from the netlist (µm); pins: their absolute x/y as written. */
  x: Float64Array;
  y: Float64Array;
  w: Float64Array;
  h: Float64Array;
  /** Initial orientation code (ORIENTATIONS) of macros; 0 otherwise. */
  orient: Uint8Array;
  /** Pins: offset from the owning macro's centre in orientation N; 0 otherwise. */
  pinDx: Float64Array;
  pinDy: Float64Array;
  /** Pins: node index of the owning macro; -1 for every other node. */
  pinMacro: Int32Array;
  /** Nets in CSR form: pins of net e = netPins[netStart[e] .. netStart[e+1]), driver first. */
  netStart: Int32Array;
  netPins: Int32Array;
  netWeight: Float64Array;
  /** Σ net weight (Circuit Training's net count used in the wirelength normalisation). */
  totalNetWeight: number;
  /** Node indices by kind. */
  hardMacros: Int32Array;
  softMacros: Int32Array;
  ports: Int32Array;
  stdcells: Int32Array;
  /** Nodes a `.plc` file places: macros, ports and standard cells, ascending. */
  placeable: Int32Array;
  /** Attributes of the `__metadata__` node, if any. */
  metadata: Record<string, number | string>;
  index: Map<string, number>;
}

interface RawNode {
  name: string;
  line: number;
  inputs: string[];
  inputLines: number[];
  attr: Map<string, number | string>;
  /** 1-based line of each attribute's value. */
  attrLine: Map<string, number>;
}

/** Attributes that hold a number (`f:` or `i:`): a string there is a malformed netlist, not a 0. */
const NUMBER_ATTRS = ['x', 'y', 'width', 'height', 'x_offset', 'y_offset', 'weight'];
/** Fields of a node (TensorFlow's NodeDef, which Circuit Training's netlists are): op and device carry nothing here. */
const NODE_FIELDS = ['name', 'input', 'op', 'device'];

function unquote(s: string): string {
  const t = s.trim();
  return t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/** Parses netlist text; `source` names the file in error messages. */
export function parseNetlist(text: string, source = 'netlist'): Netlist {
  const raw: RawNode[] = [];
  const lines = text.split('\n');
  let depth = 0;
  let cur: RawNode | undefined;
  let key: string | undefined;
  for (let ln = 0; ln < lines.length; ln++) {
    let s = lines[ln]!.trim();
    // A comment runs from a '#' outside quotes to the end of the line (protobuf text format).
    if (s.includes('#')) s = s.replace(/^((?:[^"#]|"(?:[^"\\]|\\.)*")*)#.*$/, '$1').trim();
    if (s === '') continue;
    const where = `${source}:${ln + 1}`;
    if (s === '}') {
      if (depth === 0) throw new SelfoptError("unmatched '}'", where, 'a closing brace inside a node');
      depth--;
      if (depth === 0) {
        raw.push(cur!);
        cur = undefined;
      } else if (depth === 1) key = undefined;
      continue;
    }
    // One field or block opening per line, as Circuit Training writes: a compact line such as
    // `attr { key: "width" value { f: 50 } }` would otherwise read as one unknown field, dropped.
    const bare = s.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    if (/[{}]/.test(bare.endsWith('{') ? bare.slice(0, -1) : bare))
      throw new SelfoptError(`cannot read '${s}'`, where, "one field or block opening per line (as Circuit Training writes netlists), each '}' on its own line");
    if (s.endsWith('{')) {
      const head = s.slice(0, -1).trim();
      if (depth === 0 && head === 'node') cur = { name: '', line: ln + 1, inputs: [], inputLines: [], attr: new Map(), attrLine: new Map() };
      else if (depth === 2 && head === 'value' && key === undefined) throw new SelfoptError("an attr's value before its key", where, 'key: "<name>" first in each attr block');
      else if (!((depth === 1 && head === 'attr') || (depth === 2 && head === 'value')))
        throw new SelfoptError(`unexpected block '${head}' at depth ${depth}`, where, 'node { attr { value { } } }');
      depth++;
      continue;
    }
    const colon = s.indexOf(':');
    if (colon < 0 || depth === 0) throw new SelfoptError(`cannot read '${s}'`, where, 'field: value inside a node');
    const field = s.slice(0, colon).trim();
    const val = s.slice(colon + 1);
    if (depth === 1) {
      if (!NODE_FIELDS.includes(field)) throw new SelfoptError(`unknown node field '${field}'`, where, `one of ${NODE_FIELDS.join(', ')}, or an attr block`);
      if (field === 'name') {
        if (cur!.name !== '') throw new SelfoptError(`second name '${unquote(val)}' for node '${cur!.name}'`, where, 'one name per node');
        cur!.name = unquote(val);
      } else if (field === 'input') {
        cur!.inputs.push(unquote(val));
        cur!.inputLines.push(ln + 1);
      }
    } else if (depth === 2) {
      if (field !== 'key') throw new SelfoptError(`unknown attr field '${field}'`, where, 'key: "<name>" and a value block');
      key = unquote(val);
    } else if (depth === 3 && key !== undefined) {
      cur!.attrLine.set(key, ln + 1);
      if (field === 'f' || field === 'i') {
        const v = Number(val);
        if (!Number.isFinite(v)) throw new SelfoptError(`attribute ${key} is not a number: '${val.trim()}'`, where, 'a finite number');
        cur!.attr.set(key, v);
      } else cur!.attr.set(key, unquote(val));
    }
  }
  if (depth !== 0) throw new SelfoptError('file ends inside a node', `${source}:${lines.length}`, "balanced '{' and '}'");

  const metadata: Record<string, number | string> = {};
  const nodes = raw.filter((r) => {
    if (r.name !== '__metadata__') return true;
    for (const [k, v] of r.attr) metadata[k] = v;
    return false;
  });
  const n = nodes.length;
  const index = new Map<string, number>();
  nodes.forEach((r, i) => {
    if (r.name === '') throw new SelfoptError('node without a name', `${source}:${r.line}`, 'name: "<node name>" in every node');
    for (const k of NUMBER_ATTRS) {
      const v = r.attr.get(k);
      if (typeof v === 'string') throw new SelfoptError(`attribute ${k} of node '${r.name}' is '${v}', not a number`, `${source}:${r.attrLine.get(k)}`, `${k} as a number (f: or i:)`);
    }
    if (index.has(r.name)) throw new SelfoptError(`duplicate node name '${r.name}'`, `${source}:${r.line}`, 'unique node names');
    index.set(r.name, i);
  });
  const kind = new Uint8Array(n);
  const x = new Float64Array(n), y = new Float64Array(n), w = new Float64Array(n), h = new Float64Array(n);
  const orient = new Uint8Array(n);
  const pinDx = new Float64Array(n), pinDy = new Float64Array(n);
  const pinMacro = new Int32Array(n).fill(-1);
  const num = (r: RawNode, k: string, dflt: number): number => {
    const v = r.attr.get(k);
    return typeof v === 'number' ? v : dflt;
  };
  for (let i = 0; i < n; i++) {
    const r = nodes[i]!;
    const where = `${source}:${r.line} (node '${r.name}')`;
    const t = r.attr.get('type');
    if (typeof t !== 'string') throw new SelfoptError(`node '${r.name}' has no type`, where, 'a type attribute');
    const tl = t.toLowerCase();
    if (tl === 'macro') kind[i] = t === 'MACRO' || !r.name.startsWith('Grp') ? HARD_MACRO : SOFT_MACRO;
    else if (tl === 'port') kind[i] = PORT;
    else if (tl === 'macro_pin') kind[i] = HARD_PIN; // refined below from the owner's kind
    else if (tl === 'stdcell') kind[i] = STDCELL;
    else throw new SelfoptError(`unknown node type '${t}'`, where, 'MACRO, macro, PORT, MACRO_PIN, macro_pin or STDCELL');
    x[i] = num(r, 'x', 0);
    y[i] = num(r, 'y', 0);
    w[i] = num(r, 'width', 0);
    h[i] = num(r, 'height', 0);
    if (w[i]! < 0 || h[i]! < 0) throw new SelfoptError(`node '${r.name}' has width ${w[i]} and height ${h[i]}`, where, 'a width and height of 0 or more');
    const o = r.attr.get('orientation');
    if (typeof o === 'string') orient[i] = orientationCode(o, where);
  }
  for (let i = 0; i < n; i++) {
    if (kind[i] !== HARD_PIN) continue;
    const r = nodes[i]!;
    const where = `${source}:${r.line} (node '${r.name}')`;
    const m = r.attr.get('macro_name');
    const mi = typeof m === 'string' ? index.get(m) : undefined;
    if (mi === undefined) throw new SelfoptError(`pin '${r.name}' names unknown macro '${String(m)}'`, where, 'macro_name of a macro node in the netlist');
    if (kind[mi] !== HARD_MACRO && kind[mi] !== SOFT_MACRO) throw new SelfoptError(`pin '${r.name}' owner '${m}' is not a macro`, where, 'macro_name of a macro node');
    pinMacro[i] = mi;
    if (kind[mi] === SOFT_MACRO) kind[i] = SOFT_PIN;
    pinDx[i] = num(r, 'x_offset', 0);
    pinDy[i] = num(r, 'y_offset', 0);
  }

  // Nets: each node with inputs drives one net.
  let nNets = 0;
  let nPins = 0;
  for (const r of nodes) if (r.inputs.length > 0) { nNets++; nPins += 1 + r.inputs.length; }
  const netStart = new Int32Array(nNets + 1);
  const netPins = new Int32Array(nPins);
  const netWeight = new Float64Array(nNets);
  let e = 0, p = 0, total = 0;
  for (let i = 0; i < n; i++) {
    const r = nodes[i]!;
    if (r.inputs.length === 0) continue;
    netStart[e] = p;
    netPins[p++] = i;
    for (let j = 0; j < r.inputs.length; j++) {
      const s = r.inputs[j]!;
      const si = index.get(s);
      if (si === undefined)
        throw new SelfoptError(`net of '${r.name}' names unknown node '${s}'`, `${source}:${r.inputLines[j]}`, 'the name of a node in the netlist');
      netPins[p++] = si;
    }
    const wt = num(r, 'weight', 1);
    if (wt < 0) throw new SelfoptError(`net of '${r.name}' has weight ${wt}`, `${source}:${r.attrLine.get('weight')}`, 'a net weight of 0 or more (a negative one would reward longer wires)');
    netWeight[e] = wt;
    total += wt;
    e++;
  }
  netStart[nNets] = p;
  const byKind = (ks: number[]): Int32Array => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) if (ks.includes(kind[i]!)) out.push(i);
    return Int32Array.from(out);
  };
  return {
    names: nodes.map((r) => r.name), kind, x, y, w, h, orient, pinDx, pinDy, pinMacro,
    netStart, netPins, netWeight, totalNetWeight: total,
    hardMacros: byKind([HARD_MACRO]), softMacros: byKind([SOFT_MACRO]), ports: byKind([PORT]), stdcells: byKind([STDCELL]),
    placeable: byKind([HARD_MACRO, SOFT_MACRO, PORT, STDCELL]),
    metadata, index,
  };
}

/** Reads text from a file, gunzipping `.gz`. */
export function readText(path: string): string {
  const buf = readFileSync(path);
  return path.endsWith('.gz') ? gunzipSync(buf).toString('utf8') : buf.toString('utf8');
}

export function readNetlist(path: string): Netlist {
  return parseNetlist(readText(path), path);
}

export function netCount(nl: Netlist): number {
  return nl.netStart.length - 1;
}
