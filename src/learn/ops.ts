/**
 * Every differentiable op of the learning core, in one import. The ops live in ops/ by kind:
 * elementwise (broadcasting arithmetic, activations), matmul (dense products), sparse (CSR
 * products, gather, scatter, segment pooling), reduce (sum, mean, layer norm), softmax (masked
 * softmax, log-softmax, entropy), shape (concat, slice, reshape, transpose).
 */
export { add, sub, mul, div, neg, relu, leakyRelu, tanh, sigmoid, exp, log, square, sqrt, activate, type Activation } from './ops/elementwise.js';
export { matmul, linear, linearStack, gemmAcc, gemmTNAcc, gemmNTAcc, gemmAccJs, gemmTNAccJs } from './ops/matmul.js';
export { setSimdEnabled, simdAvailable } from './ops/simd.js';
export { Csr, spmm, spmmAcc, spmmAccJs, gather, scatterAdd, segmentSum, segmentMean, segmentMax } from './ops/sparse.js';
export { sum, mean, layerNorm } from './ops/reduce.js';
export { softmax, logSoftmax, categoricalEntropy, type Mask } from './ops/softmax.js';
export { concat, slice, reshape, transpose } from './ops/shape.js';
