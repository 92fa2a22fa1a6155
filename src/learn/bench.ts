/**
 * Learning-core microbenchmark: `npm run bench:learn -- --json`.
 *
 * Prints {matmulGflops, spmmGflops, gcnStepMs4elt, ppoStepsPerSec, details}:
 *   matmulGflops   dense float32 256x256x256 product, one core
 *   spmmGflops     CSR x dense on the 4elt mesh (15606 nodes) with 64 features, using the GCN
 *                  propagation matrix D^-1/2 (A+I) D^-1/2 (2 flops per stored entry per feature)
 *   gcnStepMs4elt  one forward + backward of a 2-layer GCN on 4elt: 64 input features,
 *                  64 hidden (ReLU), 8 outputs, softmax cross-entropy against fixed labels
 *   ppoStepsPerSec env steps per second of PPO training (rollout + update, amortized per update)
 *                  on the trivial env Chain(length 8) (envs.ts) with CleanRL ppo.py's sizes: an
 *                  MLP actor and critic of 64-64 tanh, 4 envs x 128 steps, 4 epochs of 4
 *                  minibatches, rollouts in this thread (details: with 2 worker threads)
 * Each figure is the median of repeated runs after warm-up (DESIGN.md: timings after warm-up),
 * and each timed kernel's answer is checked against a plain reference first (PPO: every update's
 * losses finite, every step counted, and the trained policy better than the first one). The kernels timed are those the ops use (WebAssembly SIMD
 * for float32 where the runtime has it); details adds the JavaScript kernels alone, in float32,
 * float64, and float32 again after the kernel has seen float64 (the polymorphic case a
 * training process never hits), the GCN step without tidy(), and CPU-time based figures.
 *
 * Bars (issue 3): matmul >= 2 GFLOP/s; GCN step < 60 ms.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { loadavg, cpus } from 'node:os';
import { Rng } from '../core/rng.js';
import { DataPath } from '../core/data.js';
import { SelfoptError } from '../core/errors.js';
import { randn, zeros, tidy, type DType, type Storage } from './tensor.js';
import { gemmAcc, gemmAccJs } from './ops/matmul.js';
import { Csr, spmmAcc, spmmAccJs } from './ops/sparse.js';
import { simdAvailable } from './ops/simd.js';
import { relu, mul } from './ops/elementwise.js';
import { logSoftmax } from './ops/softmax.js';
import { mean, sum } from './ops/reduce.js';
import { GCNConv, gcnAdjacency } from './gnn.js';
import { parseMetisGraph } from './metis.js';
import { trainPpo, type PpoUpdateRow } from './ppo.js';

const GRAPH = 'partition/metis/4elt.graph';

/**
 * Median wall and CPU time in ms of `fn` over `reps` runs after `warmup` untimed runs. The CPU
 * time (this process, all threads) is reported beside the wall time because on a shared machine
 * other processes stretch wall time while CPU time stays close to what one idle core would take.
 */
interface Timing {
  wallMs: number;
  cpuMs: number;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeIt(fn: () => void, warmup: number, reps: number): Timing {
  for (let i = 0; i < warmup; i++) fn();
  const wall: number[] = [], cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
}

function randomArray(dtype: DType, n: number, rng: Rng): Float32Array | Float64Array {
  const a = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

function fail(what: string, expected: string): never {
  throw new SelfoptError(`benchmark self-check failed: ${what}`, 'src/learn/bench.ts', expected);
}

type Gemm = (a: Storage, b: Storage, c: Storage, m: number, k: number, n: number) => void;
type Spmm = (a: Csr, x: Storage, out: Storage, d: number) => void;

/** GFLOP/s (wall, cpu) of C += A B for n x n x n, after checking sampled entries against a float64 dot product. */
export function benchMatmul(n: number, dtype: DType, reps: number, rng: Rng, gemm: Gemm = gemmAcc): { wall: number; cpu: number } {
  const a = randomArray(dtype, n * n, rng), b = randomArray(dtype, n * n, rng);
  const c = dtype === 'float64' ? new Float64Array(n * n) : new Float32Array(n * n);
  gemm(a, b, c, n, n, n);
  for (let s = 0; s < 32; s++) {
    const i = rng.int(n), j = rng.int(n);
    let ref = 0;
    for (let k = 0; k < n; k++) ref += a[i * n + k]! * b[k * n + j]!;
    if (Math.abs(c[i * n + j]! - ref) > 1e-3 * Math.max(1, Math.abs(ref))) fail(`matmul C[${i},${j}] = ${c[i * n + j]}, reference ${ref}`, 'the kernel to agree with a dot product');
  }
  const t = timeIt(() => {
    c.fill(0);
    gemm(a, b, c, n, n, n);
  }, 5, reps);
  return { wall: (2 * n * n * n) / (t.wallMs * 1e6), cpu: (2 * n * n * n) / (t.cpuMs * 1e6) };
}

/** GFLOP/s (wall, cpu) of A X for a d-wide X, after checking sampled entries against a direct sum. */
export function benchSpmm(a: Csr, d: number, reps: number, rng: Rng, kernel: Spmm = spmmAcc): { wall: number; cpu: number } {
  const x = randomArray('float32', a.cols * d, rng);
  const out = new Float32Array(a.rows * d);
  kernel(a, x, out, d);
  for (let s = 0; s < 32; s++) {
    const r = rng.int(a.rows), j = rng.int(d);
    let ref = 0;
    for (let p = a.rowPtr[r]!; p < a.rowPtr[r + 1]!; p++) ref += (a.values ? a.values[p]! : 1) * x[a.colIdx[p]! * d + j]!;
    if (Math.abs(out[r * d + j]! - ref) > 1e-4 * Math.max(1, Math.abs(ref))) fail(`spmm out[${r},${j}] = ${out[r * d + j]}, reference ${ref}`, 'the kernel to agree with a direct sum');
  }
  const t = timeIt(() => {
    out.fill(0);
    kernel(a, x, out, d);
  }, 5, reps);
  return { wall: (2 * a.nnz * d) / (t.wallMs * 1e6), cpu: (2 * a.nnz * d) / (t.cpuMs * 1e6) };
}

/**
 * Median ms of one forward + backward of a 2-layer GCN, the step run inside tidy() (buffer reuse,
 * as a training loop runs it) or not; checks that every parameter got a finite gradient.
 */
export function benchGcnStep(ahat: Csr, dims: { input: number; hidden: number; classes: number }, reps: number, rng: Rng, reuse = true): Timing {
  const n = ahat.rows;
  const x = randn([n, dims.input], rng);
  const conv1 = new GCNConv(dims.input, dims.hidden, { rng });
  const conv2 = new GCNConv(dims.hidden, dims.classes, { rng });
  const params = [...conv1.parameters(), ...conv2.parameters()];
  // Labels as a one-hot matrix, so the loss is mean over nodes of -log p(label).
  const onehot = zeros([n, dims.classes]);
  for (let v = 0; v < n; v++) onehot.data[v * dims.classes + rng.int(dims.classes)] = 1;
  const forwardBackward = (): number => {
    for (const p of params) p.grad = null;
    const h = relu(conv1.forward(ahat, x));
    const z = conv2.forward(ahat, h);
    const loss = mul(mean(sum(mul(logSoftmax(z), onehot), 1)), -1);
    loss.backward();
    return loss.item();
  };
  const step = reuse ? () => tidy(forwardBackward) : forwardBackward;
  const loss = step();
  if (!(loss > 0 && Number.isFinite(loss))) fail(`GCN loss ${loss}`, 'a positive finite cross-entropy');
  for (const p of params) if (p.grad === null || !p.grad.every(Number.isFinite)) fail('a GCN parameter got no finite gradient', 'gradients for every parameter');
  return timeIt(step, 3, reps);
}

/**
 * PPO training throughput: env steps per second per update (rollout + advantage + minibatch
 * epochs), median over `updates` updates after `warmup` untimed ones, on Chain(length 8) with
 * CleanRL's default sizes. Checks every update's losses and step count, and that the return of
 * the last rollouts beats the first.
 */
export async function benchPpo(opts: { workers: number; updates: number; warmup: number; numEnvs?: number; numSteps?: number; hidden?: number[] }): Promise<{ stepsPerSec: number; cpuStepsPerSec: number; firstReturn: number | null; lastReturn: number | null }> {
  const numEnvs = opts.numEnvs ?? 4, numSteps = opts.numSteps ?? 128, hidden = opts.hidden ?? [64, 64];
  const batch = numEnvs * numSteps;
  const walls: number[] = [], cpus: number[] = [];
  let t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
  const rows: PpoUpdateRow[] = [];
  const here = new URL('.', import.meta.url);
  await trainPpo({
    seed: 1,
    env: { module: new URL('envs.js', here).href, export: 'Chain', options: { length: 8 } },
    policy: { module: new URL('policy.js', here).href, export: 'MlpPolicy', options: { obsDim: 8, numActions: 2, hidden } },
    totalTimesteps: batch * (opts.warmup + opts.updates),
    numEnvs,
    numSteps,
    workers: opts.workers,
  }, {
    onUpdate: (row) => {
      const t = process.hrtime.bigint(), c = process.cpuUsage(c0);
      if (row.update > opts.warmup) {
        walls.push(Number(t - t0) / 1e9);
        cpus.push((c.user + c.system) / 1e6);
      }
      rows.push(row);
      t0 = process.hrtime.bigint();
      c0 = process.cpuUsage();
    },
  });
  rows.forEach((r, i) => {
    if (r.globalStep !== (i + 1) * batch) fail(`PPO update ${r.update} counted ${r.globalStep} steps`, `${(i + 1) * batch}`);
    if (![r.pgLoss, r.vLoss, r.entropy, r.approxKl].every(Number.isFinite)) fail(`PPO update ${r.update} has a non-finite loss (${JSON.stringify(r)})`, 'finite losses');
  });
  const firstReturn = rows[0]!.meanReturn, lastReturn = rows.at(-1)!.meanReturn;
  if (rows.length >= 8 && !(lastReturn !== null && (firstReturn === null || lastReturn > firstReturn))) fail(`PPO did not improve on the chain: mean return ${firstReturn} -> ${lastReturn}`, 'a better last rollout than the first');
  return { stepsPerSec: batch / median(walls), cpuStepsPerSec: batch / median(cpus), firstReturn, lastReturn };
}

function parseArgs(argv: readonly string[]): { json: boolean; dataDir?: string; reps: number } {
  const out: { json: boolean; dataDir?: string; reps: number } = { json: false, reps: 21 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') out.json = true;
    else if (a === '--data') out.dataDir = argv[++i];
    else if (a === '--reps') out.reps = Number(argv[++i]);
    else throw new SelfoptError(`unknown argument '${a}'`, 'bench:learn command line', '--json, --data DIR, --reps N');
  }
  if (!(Number.isInteger(out.reps) && out.reps > 0)) throw new SelfoptError(`--reps ${out.reps}`, 'bench:learn command line', 'a positive integer');
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const rng = new Rng(20190819);
  const log = (s: string) => {
    if (!args.json) console.log(s);
  };
  const r3 = (v: number) => Math.round(v * 1000) / 1000;

  // The kernels matmul() and spmm() use (WebAssembly SIMD where available), then the JavaScript
  // kernels alone: float32 first, so that they are timed monomorphic, as in a training process.
  const mm = benchMatmul(256, 'float32', args.reps, rng.split('matmul'));
  log(`matmul 256x256x256 float32: ${mm.wall.toFixed(2)} GFLOP/s (cpu-time based ${mm.cpu.toFixed(2)}; ${simdAvailable() ? 'WebAssembly SIMD' : 'JavaScript'} kernel; bar >= 2)`);
  const mmJs = benchMatmul(256, 'float32', args.reps, rng.split('matmulJs'), gemmAccJs);
  log(`  JavaScript kernel alone: ${mmJs.wall.toFixed(2)} GFLOP/s (cpu-time based ${mmJs.cpu.toFixed(2)})`);

  let spmm: { wall: number; cpu: number } | null = null, spmmJs: { wall: number; cpu: number } | null = null;
  let gcn: Timing | null = null, gcnFresh: Timing | null = null;
  const graph: Record<string, unknown> = {};
  const path = new DataPath({ dataDir: args.dataDir }).find(GRAPH);
  if (path === undefined) {
    console.error(`bench:learn: ${GRAPH} not found on the data path (--data, $SELFOPT_DATA, ./data, ../shared/data); spmm and GCN figures are null`);
  } else {
    const g = parseMetisGraph(readFileSync(path, 'utf8'), path);
    const ahat = gcnAdjacency(g.adjacency);
    Object.assign(graph, { graph: path, nodes: g.n, edges: g.m, propagationNnz: ahat.nnz });
    spmm = benchSpmm(ahat, 64, args.reps, rng.split('spmm'));
    log(`spmm 4elt (${g.n} nodes, ${ahat.nnz} entries) x 64 features: ${spmm.wall.toFixed(2)} GFLOP/s (cpu-time based ${spmm.cpu.toFixed(2)})`);
    spmmJs = benchSpmm(ahat, 64, args.reps, rng.split('spmmJs'), spmmAccJs);
    log(`  JavaScript kernel alone: ${spmmJs.wall.toFixed(2)} GFLOP/s`);
    gcn = benchGcnStep(ahat, { input: 64, hidden: 64, classes: 8 }, args.reps, rng.split('gcn'));
    log(`GCN 64-64-8 forward+backward on 4elt: ${gcn.wallMs.toFixed(1)} ms (cpu ${gcn.cpuMs.toFixed(1)} ms; bar < 60)`);
    gcnFresh = benchGcnStep(ahat, { input: 64, hidden: 64, classes: 8 }, args.reps, rng.split('gcn'), false);
    log(`  the same step without tidy() (fresh buffers every op): ${gcnFresh.wallMs.toFixed(1)} ms (cpu ${gcnFresh.cpuMs.toFixed(1)} ms)`);
  }

  const mm64 = benchMatmul(256, 'float64', args.reps, rng.split('matmul64'), gemmAccJs);
  const mmPoly = benchMatmul(256, 'float32', args.reps, rng.split('matmul32b'), gemmAccJs);
  log(`JavaScript matmul float64: ${mm64.wall.toFixed(2)} GFLOP/s; float32 again after the kernel saw float64: ${mmPoly.wall.toFixed(2)} GFLOP/s`);
  const ppoUpdates = Math.max(5, Math.ceil(args.reps / 2));
  const ppo = await benchPpo({ workers: 0, updates: ppoUpdates, warmup: 3 });
  log(`PPO on Chain(8), MLP 64-64, 4 envs x 128 steps, 4 epochs x 4 minibatches: ${Math.round(ppo.stepsPerSec)} env steps/s (cpu-time based ${Math.round(ppo.cpuStepsPerSec)}; mean return ${ppo.firstReturn?.toFixed(3)} -> ${ppo.lastReturn?.toFixed(3)}, optimal 0.930)`);
  const ppo2 = await benchPpo({ workers: 2, updates: ppoUpdates, warmup: 3 });
  log(`  rollouts on 2 worker threads: ${Math.round(ppo2.stepsPerSec)} env steps/s`);
  log(`load average (1 min) ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cores`);

  if (args.json) {
    console.log(JSON.stringify({
      matmulGflops: r3(mm.wall),
      spmmGflops: spmm && r3(spmm.wall),
      gcnStepMs4elt: gcn && r3(gcn.wallMs),
      ppoStepsPerSec: Math.round(ppo.stepsPerSec),
      details: {
        statistic: `median of ${args.reps} runs after warm-up; *Cpu figures use process CPU time instead of wall time`,
        loadAverage1m: r3(loadavg()[0]!),
        cores: cpus().length,
        kernels: simdAvailable() ? 'WebAssembly SIMD (float32), JavaScript fallback' : 'JavaScript',
        matmulGflopsCpu: r3(mm.cpu),
        matmulGflopsJs: r3(mmJs.wall),
        spmmGflopsJs: spmmJs && r3(spmmJs.wall),
        spmmGflopsCpu: spmm && r3(spmm.cpu),
        gcnStepCpuMs4elt: gcn && r3(gcn.cpuMs),
        gcn: { input: 64, hidden: 64, classes: 8, loss: 'softmax cross-entropy', step: 'inside tidy() (buffer reuse)' },
        gcnStepMs4eltWithoutTidy: gcnFresh && r3(gcnFresh.wallMs),
        gcnStepCpuMs4eltWithoutTidy: gcnFresh && r3(gcnFresh.cpuMs),
        ...graph,
        matmulGflopsJsFloat64: r3(mm64.wall),
        matmulGflopsJsFloat32AfterFloat64: r3(mmPoly.wall),
        ppo: {
          env: 'Chain(length 8, horizon 32) from src/learn/envs.ts: one-hot observations of 8, 2 actions, left masked at the start',
          policy: 'MlpPolicy: actor 8-64-64-2 and critic 8-64-64-1, tanh',
          numEnvs: 4, numSteps: 128, updateEpochs: 4, numMinibatches: 4,
          statistic: `median over ${ppoUpdates} updates after 3 warm-up updates of (4 x 128 env steps) / (rollout + update wall time)`,
          meanReturnFirstToLast: [ppo.firstReturn, ppo.lastReturn],
        },
        ppoStepsPerSecCpu: Math.round(ppo.cpuStepsPerSec),
        ppoStepsPerSecWorkers2: Math.round(ppo2.stepsPerSec),
      },
    }));
  }
}

// Run only as the entry point, so the bench functions can be imported by tests.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    if (e instanceof SelfoptError) {
      console.error(`bench:learn: ${e.message}`);
      process.exit(1);
    }
    throw e;
  });
}
