/** The worker-thread entry of the runner: Piscina calls the default export with one cell. */
import { workerData } from 'node:worker_threads';
import { shareMemoIn } from '../core/memo.js';
import { crossable, type Cell, type CellResult } from './cell.js';
import { runCell } from './run-cell.js';

/** What a pool tells its threads (Piscina's workerData): the memo directory they share, the pool's (local runner) or the worker's (`selfopt worker`, on Linux). */
export interface CellPoolData {
  memoDir?: string;
}

shareMemoIn((workerData as CellPoolData | null | undefined)?.memoDir);

export default async function runCellInWorker(cell: Cell): Promise<CellResult> {
  try {
    return await runCell(cell);
  } catch (e) {
    throw crossable(e); // a SelfoptError stays one for the runner across the thread boundary
  }
}
