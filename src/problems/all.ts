/**
 * Every registered problem. A new problem adds one line here; the CLI, the runner and the
 * workers all find problems through this list and nothing else.
 */
import type { Problem } from '../core/problem.js';
import { unknownName } from '../core/errors.js';
import { indexProblem } from './index/index.js';
import { schedulingProblem } from './scheduling/index.js';
import { partitionProblem } from './partition/index.js';
import { chipProblem } from './chip/index.js';
import { compilerProblem } from './compiler/index.js';

export const problems: readonly Problem[] = [indexProblem, schedulingProblem, partitionProblem, chipProblem, compilerProblem];

export function getProblem(name: string, where = 'problem name'): Problem {
  const p = problems.find((q) => q.name === name);
  if (!p) throw unknownName('problem', name, problems.map((q) => q.name), where);
  return p;
}
