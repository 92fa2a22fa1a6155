/**
 * The chip macro placement env (src/problems/chip/rl-env.ts, the env the RL placer trains on) as
 * the server makes it: one instance per session, named by id (a generated `synth_*` netlist or a
 * real one found on the server's data path, never a client's path), checked on make so that a bad
 * option is `bad_options` naming it. Two things differ from the in-process env, both for clients:
 *   - `obs.spec` is `{id}` only: a real instance's spec also holds the server's file paths, which
 *     a client cannot use (it has no netlist reader) and should not see.
 *   - reset's `info.netlist` carries the netlist graph, which the in-process policy rebuilds from
 *     the spec and a client cannot: node kinds and sizes, pins, nets, the canvas and the order in
 *     which macros are placed. Rewards, masks and every other field are the env's own.
 */
import { DataPath } from '../core/data.js';
import { unknownName } from '../core/errors.js';
import { REAL_NETLISTS, parseSyntheticName, startPlacement } from '../problems/chip/instances.js';
import { KIND_NAMES } from '../problems/chip/netlist.js';
import { MAX_GRID_SIDE } from '../problems/chip/plc.js';
import { placementOrder } from '../problems/chip/heuristics.js';
import { loadSpec, PlacementEnv, type InstanceSpec, type PlacementObs } from '../problems/chip/rl-env.js';
import type { ResetResult, StepResult } from '../core/env.js';
import { ProtocolError } from './protocol.js';

/**
 * Generated netlists a client may ask for: hard + soft + ports nodes. The generator pairs every
 * node with its nearest ones (quadratic): Ariane133's size (1,410) is made and reset in ~2 s here,
 * synth_h400_s4000 (the generator's own limit) held the server for 22 s, and `_p<ports>` is
 * otherwise unbounded.
 */
export const MAX_GENERATED_NODES = 2000;
/** The action space (and the mask sent every step): Circuit Training's grids are at most 128 x 128 (MAX_GRID_SIDE). */
export const MAX_CELLS = MAX_GRID_SIDE * MAX_GRID_SIDE;

export interface ChipEnvOptions {
  instance: string;
  maxCells?: number;
  fdRounds?: number;
  rewardScale?: number;
}

const bad = (option: string, message: string): ProtocolError => new ProtocolError('bad_options', `$.options.${option}: ${message}`, `$.options.${option}`);

/** The spec of an instance id: generated, or real and found on `data` (the server's data path). */
function specFor(id: string, data: string | undefined): InstanceSpec {
  const real = REAL_NETLISTS.find((r) => r.name === id);
  if (real) {
    const dp = new DataPath({ dataDir: data });
    const netlist = dp.find(real.netlist), plc = dp.find(real.plc);
    if (!netlist || !plc) throw bad('instance', `netlist '${id}' is not on the server's data path (${dp.dirs.map((d) => d.dir).join(', ')}); expected ${real.netlist} and ${real.plc} there, or a generated synth_h<hard>_s<soft>[_p<ports>]_<seed>`);
    return { id, netlist, plc };
  }
  const gen = parseSyntheticName(id);
  if (!gen) throw bad('instance', unknownName('instance', id, REAL_NETLISTS.map((r) => r.name), 'chip env').message + ', or synth_h<hard 1..400>_s<soft 0..4000>[_p<ports>]_<seed> of 2 nodes or more, e.g. synth_h8_s40_1');
  const nodes = gen.hard + gen.soft + gen.ports;
  if (nodes > MAX_GENERATED_NODES) throw bad('instance', `'${id}' has ${nodes} macros, clusters and ports; the server makes generated netlists of at most ${MAX_GENERATED_NODES}`);
  return { id };
}

/** The netlist graph a client needs to embed the netlist (typed arrays travel as JSON arrays). */
function netlistOf(spec: InstanceSpec): Record<string, unknown> {
  const inst = loadSpec(spec);
  const { nl, settings: s } = inst;
  const start = startPlacement(nl, s);
  return {
    canvas: { width: s.width, height: s.height, columns: s.columns, rows: s.rows },
    numNodes: nl.names.length,
    kindNames: KIND_NAMES,
    kind: nl.kind,
    width: nl.w,
    height: nl.h,
    // where each node starts: ports (fixed) and standard cells where the netlist puts them, macros at the centre
    x: start.x,
    y: start.y,
    pinMacro: nl.pinMacro,
    pinDx: nl.pinDx,
    pinDy: nl.pinDy,
    netStart: nl.netStart,
    netPins: nl.netPins,
    netWeight: nl.netWeight,
    macroOrder: placementOrder(inst),
  };
}

export class ServedPlacementEnv extends PlacementEnv {
  private readonly id: string;
  private netlist: Record<string, unknown> | undefined;

  constructor(private readonly spec: InstanceSpec, options: Omit<ChipEnvOptions, 'instance'> & { maxCells: number }) {
    super({ instances: [spec], ...options });
    this.id = spec.id;
  }

  protected override doReset(): ResetResult<PlacementObs> {
    const r = super.doReset();
    this.netlist ??= netlistOf(this.spec);
    return { obs: { ...r.obs, spec: { id: this.id } }, info: { ...r.info, netlist: this.netlist } };
  }

  protected override doStep(action: number): StepResult<PlacementObs> {
    const r = super.doStep(action);
    return { ...r, obs: { ...r.obs, spec: { id: this.id } } };
  }
}

/** Makes the env for checked options (the registry's zod schema bounds each number first). */
export function makeChipEnv(o: ChipEnvOptions, data: string | undefined): ServedPlacementEnv {
  const spec = specFor(o.instance, data);
  // Loaded here, not on the first reset, so that an instance that cannot be read fails make.
  const { settings: s } = loadSpec(spec);
  const cells = s.columns * s.rows;
  if (cells > MAX_CELLS) throw bad('instance', `'${o.instance}' has a ${s.columns} x ${s.rows} grid; the server serves grids of at most ${MAX_CELLS} cells`);
  const maxCells = o.maxCells ?? cells;
  if (maxCells < cells) throw bad('maxCells', `${maxCells} is fewer than the ${cells} grid cells (${s.columns} x ${s.rows}) of '${o.instance}'; expected at least ${cells}, or none (the grid's own count)`);
  return new ServedPlacementEnv(spec, { maxCells, ...(o.fdRounds !== undefined ? { fdRounds: o.fdRounds } : {}), ...(o.rewardScale !== undefined ? { rewardScale: o.rewardScale } : {}) });
}
