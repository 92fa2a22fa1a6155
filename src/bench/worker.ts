/** The worker-thread entry of the runner: Piscina calls the default export with one cell. */
import type { Cell, CellResult } from './cell.js';
import { runCell } from './run-cell.js';

export default function runCellInWorker(cell: Cell): Promise<CellResult> {
  return runCell(cell);
}
