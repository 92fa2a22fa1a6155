import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { cellPoolOptions } from '../../src/bench/cell.js';

/** Children of this process that have exited but were never waited for. */
function zombies(): number {
  const out = execFileSync('ps', ['-o', 'stat=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out.split('\n').filter((s) => s.startsWith('Z')).length;
}

test('the cell pool reaps the child processes its cells started and killed (no zombies while it lives)', { skip: process.platform !== 'linux' && 'needs Linux ps' }, async () => {
  const pool = new Piscina({ ...cellPoolOptions(2), filename: fileURLToPath(new URL('./spawn-task.js', import.meta.url)) });
  try {
    for (let i = 0; i < 8; i++) await pool.run(null);
    let left = zombies();
    for (let i = 0; i < 40 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      left = zombies();
    }
    assert.equal(left, 0, 'killed children are reaped while the pool is alive');
  } finally {
    await pool.destroy();
  }
});
