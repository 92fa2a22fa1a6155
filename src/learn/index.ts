/**
 * selfopt's learning core: tensors with reverse-mode autodiff, ops, layers (MLP and graph
 * networks), optimizers, gradient checks and checkpoints. See README.md in this folder.
 */
export * from './tensor.js';
export * from './scratch.js';
export * from './ops.js';
export * from './layers.js';
export * from './gnn.js';
export * from './optim.js';
export * from './checkpoint.js';
export { gradCheck, type GradCheckOptions, type GradCheckResult } from './gradcheck.js';
export { clamp, maximum, minimum, pick } from './ops/select.js';
export * from './policy.js';
export * from './advantages.js';
export * from './rollout.js';
export * from './ppo.js';
export * from './reinforce.js';
export { ContextualBandit, Chain, type ContextualBanditOptions, type ChainOptions } from './envs.js';
