/**
 * Pictures of solutions (a chip placement, a partition): a problem that can draw one
 * (`Problem.picture`) gets an SVG of each solver's seed-1 solution per instance, saved beside the
 * results store under `pictures/<run>/<problem>/`, and the HTML report shows them with the run's
 * tables. Files, not store rows: they are large, and only ever read whole.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

export function savePicture(storePath: string, runId: string, problem: string, p: Picture): void {
  const name = `${safe(p.instance)}${SEP}${safe(p.solver)}.svg`;
  const dir = dirOf(storePath, runId, problem);
  if (Buffer.byteLength(name) <= MAX_NAME_BYTES) return writeFileAtomic(join(dir, name), p.svg);
  const ids = JSON.stringify({ instance: p.instance, solver: p.solver });
  const hash = createHash('sha256').update(ids).digest('hex').slice(0, 32);
  // '--' may not stand inside an XML comment: JSON escapes each '-' of the ids.
  writeFileAtomic(join(dir, `${LONG}${hash}${SEP}.svg`), `${HEAD}${ids.replace(/-/g, '\\u002d')} -->\n${p.svg}`);
}

/** The picture of a file savePicture named by hash: its ids from its first line. */
function longPicture(text: string): Picture | undefined {
  const nl = text.indexOf('\n');
  if (!text.startsWith(HEAD) || nl < 0) return undefined;
  try {
    const ids = JSON.parse(text.slice(HEAD.length, nl).replace(/ -->$/, '')) as { instance: string; solver: string };
    return { instance: ids.instance, solver: ids.solver, svg: text.slice(nl + 1) };
  } catch {
    return undefined;
  }
}

/** The run's pictures of `problem`, ordered by instance, then in `solverOrder`. */
export function loadPictures(storePath: string, runId: string, problem: string, solverOrder: string[]): Picture[] {
  const dir = dirOf(storePath, runId, problem);
  if (!existsSync(dir)) return [];
  const out: Picture[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.svg') || !f.includes(SEP)) continue;
    const svg = readFileSync(join(dir, f), 'utf8');
    const long = f.startsWith(LONG) ? longPicture(svg) : undefined;
    if (long) {
      out.push(long);
      continue;
    }
    const stem = f.slice(0, -'.svg'.length);
    const cut = stem.lastIndexOf(SEP);
    out.push({ instance: unsafe(stem.slice(0, cut)), solver: unsafe(stem.slice(cut + SEP.length)), svg });
  }
  const rank = (s: string) => (solverOrder.indexOf(s) + 1 || solverOrder.length + 1);
  return out.sort((a, b) => a.instance.localeCompare(b.instance) || rank(a.solver) - rank(b.solver));
}
