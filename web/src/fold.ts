/**
 * The dashboard's folds of long per-instance sections (the rule, SHOWN and split, is
 * src/bench/fold.ts, which the HTML report follows too): what the reader opened stays open when the
 * page is drawn again (a filter changed, a live run read again).
 */
import { esc } from '../../src/bench/svg.js';

export { SHOWN, split, plural } from '../../src/bench/fold.js';

/** The folds the reader opened, by name. */
const opened = new Set<string>();

/** The attributes of the element that holds fold `name`'s folded part: hidden until opened. */
export function foldedPart(name: string): string {
  return `id="fold-${name}" data-folded${opened.has(name) ? '' : ' hidden'}`;
}

/** The line that shows (and hides again) fold `name`'s folded part; `what` is what it holds, with the counts. */
export function foldLine(name: string, what: string): string {
  return `<button type="button" class="fold" data-fold="${esc(name)}" data-what="${esc(what)}" aria-controls="fold-${esc(name)}" aria-expanded="${opened.has(name)}">${label(opened.has(name), what)}</button>`;
}

function label(open: boolean, what: string): string {
  return `${open ? '▾ hide' : '▸ show'} ${esc(what)}`;
}

/** Makes the fold lines under `root` work. */
export function wireFolds(root: HTMLElement): void {
  for (const b of root.querySelectorAll<HTMLButtonElement>('button.fold')) {
    b.addEventListener('click', () => {
      const name = b.dataset.fold!;
      const open = !opened.has(name);
      if (open) opened.add(name);
      else opened.delete(name);
      document.getElementById(`fold-${name}`)!.hidden = !open;
      b.setAttribute('aria-expanded', String(open));
      b.innerHTML = label(open, b.dataset.what!);
      // Hidden again, the part above the line is gone: the line stays where the reader is.
      if (!open) b.scrollIntoView({ block: 'nearest' });
    });
  }
}
