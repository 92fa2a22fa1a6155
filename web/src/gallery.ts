/**
 * The run's drawings of its solutions, one instance at a time. The summary lists them (instance,
 * solver, size); only the chosen instance's are fetched, each from /api/picture, and kept while
 * the page is open, so the page's re-read of an unfinished run fetches none again. Partition's
 * test split drew 253: sent with every summary and all drawn, they made the page 49,000 px tall,
 * with the learning curves under them.
 */
import { esc, pictureFigure } from '../../src/bench/svg.js';
import { api, type PictureInfo } from './api.js';

export interface Gallery {
  run: string;
  problem: string;
  pictures: PictureInfo[];
  /** The page's filters ('' = all). */
  instance: string;
  solver: string;
  /** The instance the link names for the gallery ('' = none): shown first when it has drawings. */
  picture: string;
  /** Told of each instance chosen in the gallery, so the link can name it. */
  onChoose: (instance: string) => void;
}

/** Drawings fetched, by run, problem, instance, solver and size (a size that changed is a new drawing). */
const drawings = new Map<string, Promise<string>>();
/** Drawings kept (about 30 kB each): a few instances' worth of a big run, the oldest let go first. */
const KEPT_DRAWINGS = 200;
/** The instance chosen in the gallery, by run and problem: kept across the page's re-reads. */
const chosen = new Map<string, string>();
let shown: Gallery | undefined;

const $ = (id: string) => document.getElementById(id)!;

export function clearGallery(): void {
  shown = undefined;
  $('pictures').innerHTML = '';
  $('gallery-nav').innerHTML = '';
}

/** Draws the gallery of `g`: the filtered instance's drawings, or the chosen one's. */
export function drawGallery(g: Gallery): void {
  shown = g;
  const box = $('pictures');
  const nav = $('gallery-nav');
  const matching = g.pictures.filter((p) => (!g.instance || p.instance === g.instance) && (!g.solver || p.solver === g.solver));
  if (matching.length === 0) {
    nav.innerHTML = '';
    box.innerHTML = `<p class="muted">${g.pictures.length ? 'no drawing matches the filters' : `${esc(g.problem)} draws no solutions in this run`}</p>`;
    return;
  }
  const instances = [...new Set(matching.map((p) => p.instance))];
  const key = `${g.run}\0${g.problem}`;
  // The link's choice first (a link shows the drawings it was copied on), then the one made here.
  const instance = [g.picture, chosen.get(key) ?? ''].find((i) => instances.includes(i)) ?? instances[0]!;
  const at = instances.indexOf(instance);
  nav.innerHTML = instances.length > 1
    ? `<label>instance <select id="g-instance">${instances.map((i) => `<option value="${esc(i)}"${i === instance ? ' selected' : ''}>${esc(i)}</option>`).join('')}</select></label>
      <button type="button" id="g-prev"${at === 0 ? ' disabled' : ''}>‹ previous</button>
      <button type="button" id="g-next"${at === instances.length - 1 ? ' disabled' : ''}>next ›</button>
      <span class="muted" id="g-count">${at + 1} of ${instances.length} instances with drawings</span>`
    : '';
  const choose = (i: string) => {
    chosen.set(key, i);
    g.picture = i;
    g.onChoose(i);
    if (shown === g) drawGallery(g);
  };
  nav.querySelector<HTMLSelectElement>('#g-instance')?.addEventListener('change', (e) => choose((e.target as HTMLSelectElement).value));
  nav.querySelector('#g-prev')?.addEventListener('click', () => choose(instances[at - 1]!));
  nav.querySelector('#g-next')?.addEventListener('click', () => choose(instances[at + 1]!));

  const mine = matching.filter((p) => p.instance === instance);
  box.innerHTML = mine.map((p) => pictureFigure(p, '<p class="muted">loading…</p>')).join('');
  const figures = box.querySelectorAll<HTMLElement>('figure');
  mine.forEach((p, i) => void fill(figures[i]!, g, p));
}

/** Puts the drawing of `p` into its card, if the card is still on the page when it comes. */
async function fill(figure: HTMLElement, g: Gallery, p: PictureInfo): Promise<void> {
  const key = JSON.stringify([g.run, g.problem, p.instance, p.solver, p.bytes]);
  let svg = drawings.get(key);
  if (!svg) {
    svg = api.picture(g.run, g.problem, p);
    if (drawings.size >= KEPT_DRAWINGS) drawings.delete(drawings.keys().next().value!);
    drawings.set(key, svg);
  }
  try {
    const text = await svg;
    if (figure.isConnected) figure.innerHTML = text;
  } catch (e) {
    drawings.delete(key); // asked again on the next draw
    if (figure.isConnected) figure.innerHTML = `<p class="error">${esc(e instanceof Error ? e.message : String(e))}</p>`;
  }
}
