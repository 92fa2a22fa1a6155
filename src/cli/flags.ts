/** The flags several `selfopt` commands share, each checked where it is parsed: a bad one fails before any work. */
import { Option } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DataPath } from '../core/data.js';
import { SelfoptError } from '../core/errors.js';
import { fileInTheWay } from '../core/files.js';
import { DEFAULT_STORE_PATH } from '../bench/store-rows.js';

export const dataOption = () => new Option('--data <dir>', 'data directory searched first (then $SELFOPT_DATA, ./data, ../shared/data)');
/**
 * The data search path with --data DIR first. A DIR that is not a directory (a typo, a file) was
 * skipped in silence: a bench ran without the real instances it was pointed at, and said nothing.
 */
export function dataPath(dir: string | undefined): DataPath {
  const data = new DataPath({ dataDir: dir });
  const flag = data.dirs.find((d) => d.origin === '--data');
  if (flag && !flag.exists) {
    throw new SelfoptError(`--data ${dir}: ${existsSync(flag.dir) ? 'not a directory' : 'no such directory'}`, 'command line', 'a directory of datasets, searched before $SELFOPT_DATA, ./data and ../shared/data (see `selfopt data`)');
  }
  return data;
}
export const storeOption = () => new Option('--store <file>', 'results store (DuckDB file)').default(DEFAULT_STORE_PATH);
/**
 * --html's path, or beside the store and named after it (a.duckdb: a.html; the default store's is
 * .selfopt/report.html): two stores' reports do not overwrite each other.
 */
export const reportPath = (html: string | undefined, store: string) => {
  const stem = basename(store).replace(/\.duckdb$/, '');
  return resolve(html ?? join(dirname(store), stem === 'results' ? 'report.html' : `${stem}.html`));
};
export const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
// The report's path. A boolean word is a flag misread as a path: `--html false` wrote a report
// file named `false`, `--html true` one named `true`. A directory is refused here too: bench
// found it only after every cell had run, when the report could not be written over it.
export const htmlOption = () => new Option('--html <file>', 'HTML report path (default: beside the store, named after it; .selfopt/report.html for the default store)').argParser((v: string) => {
  if (['0', 'false', 'no'].includes(v)) throw new SelfoptError(`--html ${v}`, 'command line', 'the report\'s file path; --no-html is the flag that turns the report off');
  if (['1', 'true', 'yes'].includes(v)) throw new SelfoptError(`--html ${v}`, 'command line', 'the report\'s file path; without --html the report is written beside the store (.selfopt/report.html)');
  if (existsSync(v) && statSync(v).isDirectory()) throw new SelfoptError(`--html ${v} is a directory`, 'command line', `the report's file path, such as ${join(v, 'report.html')}`);
  const file = fileInTheWay(resolve(v));
  if (file) throw new SelfoptError(`--html ${v} is under ${file}, a file`, 'command line', 'the report\'s file path, in a directory (made if missing)');
  return v;
});

// BullMQ refused an empty name, or one with ':' (its key separator), with a stack trace, once the
// run had started (an empty run left in the store).
export const queueNameOption = (description: string) => new Option('--queue-name <name>', description).default('selfopt-cells').argParser((v: string) => {
  if (v === '' || v.includes(':')) throw new SelfoptError(`--queue-name '${v}'`, 'command line', "a non-empty name without ':' (BullMQ's key separator), such as selfopt-cells");
  return v;
});
