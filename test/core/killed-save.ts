/**
 * The hard kill between a save's weight files and the JSON that names them (src/core/train.ts,
 * trainStateFiles), made by hand, against a run never interrupted: `b` trains straight to
 * `after` from a fresh state (the run never killed); `a` trains `before` steps and `c`, a copy of
 * it, trains on to `after` (a resumed run whose last save will be "killed"); `k` is a's state with
 * the files c's last save wrote, as if c was killed before its JSON. Resumed to `after`, `k` must
 * end where `b` did: the caller compares the two (`k.ckpt` and `b.ckpt` in `dir` are their
 * checkpoints). `whole` is b's result, `resumed` k's.
 */
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export async function killedSave<T>(dir: string, run: (state: string, steps: number) => Promise<T>, before: number, after: number): Promise<{ whole: T; resumed: T }> {
  const whole = await run('b', after);
  await run('a', before);
  cpSync(join(dir, 'a'), join(dir, 'c'), { recursive: true });
  await run('c', after);
  cpSync(join(dir, 'a'), join(dir, 'k'), { recursive: true });
  const killed = readdirSync(join(dir, 'c')).filter((f) => f.endsWith('.ckpt') && !readdirSync(join(dir, 'a')).includes(f));
  if (killed.length === 0) throw new Error(`killedSave: the resumed run c wrote no new state files (${readdirSync(join(dir, 'c')).join(', ')})`);
  for (const f of killed) cpSync(join(dir, 'c', f), join(dir, 'k', f));
  const resumed = await run('k', after);
  return { whole, resumed };
}
