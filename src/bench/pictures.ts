/**
 * Pictures of solutions (a chip placement, a partition): a problem that can draw one
 * (`Problem.picture`) gets an SVG of each solver's seed-1 solution per instance, saved beside the
 * results store under `pictures/<run>/<problem>/`, and the HTML report shows them with the run's
 * tables. Files, not store rows: they are large, and only ever read whole.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../core/files.js';

export interface Picture {
  instance: string;
  solver: string;
  svg: string;
}

const SEP = '__';

function dirOf(storePath: string, runId: string, problem: string): string {
  return join(dirname(storePath), 'pictures', runId, problem);
}

/**
 * A file-name-safe form of an id (instance ids may be paths or user file names): each other
 * character as its UTF-8 bytes in %XX, so that `unsafe` gives the id back and two ids never share
 * a file (ids of these characters only are their own file names, as before).
 */
function safe(id: string): string {
  return id.replace(/[^A-Za-z0-9._+-]/gu, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}

/** The id of a file name `safe` made; a name it did not make (a stray '%zz') is its own id. */
function unsafe(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/**
 * A name past what file systems take (255 bytes; a long non-ASCII id triples in %XX) is the hash
 * of the two ids instead, and they go on the file's first line, an XML comment before the <svg>.
 */
const MAX_NAME_BYTES = 255;
const LONG = '~';
const HEAD = '<!-- selfopt picture ';

/**
 * The file savePicture writes the drawing of (instance, solver) to: named by the ids, or by their
 * hash when that name is too long (`ids` is then the JSON its first line holds).
 */
function fileOf(instance: string, solver: string): { name: string; ids?: string } {
  const name = `${safe(instance)}${SEP}${safe(solver)}.svg`;
  if (Buffer.byteLength(name) <= MAX_NAME_BYTES) return { name };
  const ids = JSON.stringify({ instance, solver });
  return { name: `${LONG}${createHash('sha256').update(ids).digest('hex').slice(0, 32)}${SEP}.svg`, ids };
}

export function savePicture(storePath: string, runId: string, problem: string, p: Picture): void {
  const { name, ids } = fileOf(p.instance, p.solver);
  const file = join(dirOf(storePath, runId, problem), name);
  // '--' may not stand inside an XML comment: JSON escapes each '-' of the ids.
  writeFileAtomic(file, ids === undefined ? p.svg : `${HEAD}${ids.replace(/-/g, '\\u002d')} -->\n${p.svg}`);
}

/** A picture file of a run's problem: its ids, and where in the file its drawing starts. */
interface PictureFile {
  instance: string;
  solver: string;
  file: string;
  /** Bytes before the drawing: the ids' line of a file named by hash, else 0. */
  skip: number;
  /** The drawing's bytes. */
  bytes: number;
}

/** The ids of a file savePicture named by hash, from its first line, with the line's length in bytes. */
function longIds(text: string): { instance: string; solver: string; skip: number } | undefined {
  const nl = text.indexOf('\n');
  if (!text.startsWith(HEAD) || nl < 0) return undefined;
  try {
    const ids = JSON.parse(text.slice(HEAD.length, nl).replace(/ -->$/, '')) as { instance: string; solver: string };
    return { instance: ids.instance, solver: ids.solver, skip: Buffer.byteLength(text.slice(0, nl + 1)) };
  } catch {
    return undefined;
  }
}

/** The ids a file's name gives (`<instance>__<solver>.svg`, the last '__' parting them). */
function namedIds(f: string): { instance: string; solver: string } {
  const stem = f.slice(0, -'.svg'.length);
  const cut = stem.lastIndexOf(SEP);
  return { instance: unsafe(stem.slice(0, cut)), solver: unsafe(stem.slice(cut + SEP.length)) };
}

/**
 * The run's picture files of `problem`, ordered by instance, then in `solverOrder`. Only a file
 * named by hash is read (for its ids); the others are named by theirs.
 */
function pictureFiles(storePath: string, runId: string, problem: string, solverOrder: readonly string[]): PictureFile[] {
  const dir = dirOf(storePath, runId, problem);
  if (!existsSync(dir)) return [];
  const out: PictureFile[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.svg') || !f.includes(SEP)) continue;
    const file = join(dir, f);
    const size = statSync(file).size;
    const long = f.startsWith(LONG) ? longIds(readFileSync(file, 'utf8')) : undefined;
    if (long) {
      out.push({ instance: long.instance, solver: long.solver, file, skip: long.skip, bytes: size - long.skip });
      continue;
    }
    out.push({ ...namedIds(f), file, skip: 0, bytes: size });
  }
  const rank = (s: string) => (solverOrder.indexOf(s) + 1 || solverOrder.length + 1);
  return out.sort((a, b) => a.instance.localeCompare(b.instance) || rank(a.solver) - rank(b.solver));
}

function drawing(p: PictureFile): string {
  return readFileSync(p.file).subarray(p.skip).toString('utf8');
}

/** The run's pictures of `problem`, ordered by instance, then in `solverOrder`. */
export function loadPictures(storePath: string, runId: string, problem: string, solverOrder: readonly string[]): Picture[] {
  return pictureFiles(storePath, runId, problem, solverOrder).map((p) => ({ instance: p.instance, solver: p.solver, svg: drawing(p) }));
}

/** A picture named but not drawn: what a page lists before it asks for the drawings it shows. */
export interface PictureInfo {
  instance: string;
  solver: string;
  /** The drawing's size in bytes. */
  bytes: number;
}

/**
 * The run's pictures of `problem` without their drawings, in loadPictures' order. A big run has
 * hundreds (partition's test split: 253, 4-7 MB), and a page shows a few at a time.
 */
export function listPictures(storePath: string, runId: string, problem: string, solverOrder: readonly string[]): PictureInfo[] {
  return pictureFiles(storePath, runId, problem, solverOrder).map((p) => ({ instance: p.instance, solver: p.solver, bytes: p.bytes }));
}

/**
 * The drawing of one picture (an SVG), or undefined when the run drew none of that instance and
 * solver. The file savePicture names by the ids is read alone: finding it among the run's files
 * listed, stat'ed and (those named by hash) read, per request, made each of the dashboard's
 * picture requests cost as much as the run has pictures (partition's test split: 253). Only a
 * file it did not name (one named by hand, '100%zz__rmi.svg'), or none, is looked for among them.
 */
export function readPicture(storePath: string, runId: string, problem: string, instance: string, solver: string): string | undefined {
  const dir = dirOf(storePath, runId, problem);
  const { name, ids } = fileOf(instance, solver);
  const text = readIfThere(join(dir, name));
  if (text !== undefined) {
    // The name must give these ids back: a solver id holding '__' would name another's file, and
    // a hash, though 128 bits, is checked against the ids its file holds.
    const own = ids === undefined ? namedIds(name) : longIds(text);
    if (own?.instance === instance && own.solver === solver) return ids === undefined ? text : text.slice(text.indexOf('\n') + 1);
  }
  const p = pictureFiles(storePath, runId, problem, []).find((x) => x.instance === instance && x.solver === solver);
  return p && drawing(p);
}

/** A file's text, or undefined when there is no such file. */
function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}
