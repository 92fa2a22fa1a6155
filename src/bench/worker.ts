/** The worker-thread entry of the runner: Piscina calls the default export with one cell. */
import { crossable, type Cell, type CellResult } from './cell.js';
import { runCell } from './run-cell.js';

export default async function runCellInWorker(cell: Cell): Promise<CellResult> {
  try {
    return await runCell(cell);
  } catch (e) {
    throw crossable(e); // a SelfoptError stays one for the runner across the thread boundary
  }
}
