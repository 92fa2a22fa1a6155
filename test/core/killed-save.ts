/**
 * The hard kill between a save's weight files and the JSON that names them (src/core/train.ts,
 * trainStateFiles), made by hand: run `a` trains `before` steps; `b`, a copy of it, trains on to
 * `after` (a run never killed); `k` is a's state with the weight files b's last save wrote, as if
 * b was killed before its JSON. Resumed to `after`, `k` must end where `b` did; the caller
 * compares the two (`k.ckpt` and `b.ckpt` in `dir` are their checkpoints).
 */
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export async function killedSave<T>(dir: string, run: (state: string, steps: number) => Promise<T>, before: number, after: number): Promise<{ whole: T; resumed: T }> {
  await run('a', before);
  cpSync(join(dir, 'a'), join(dir, 'b'), { recursive: true });
  const whole = await run('b', after);
  cpSync(join(dir, 'a'), join(dir, 'k'), { recursive: true });
  for (const f of readdirSync(join(dir, 'b')).filter((f) => f.endsWith('.ckpt'))) cpSync(join(dir, 'b', f), join(dir, 'k', f));
  const resumed = await run('k', after);
  return { whole, resumed };
}
