#!/usr/bin/env node
// A from-scratch CNN in plain JavaScript (Node.js, standard library only),
// served over cnn-oracle's streaming worker protocol (docs/protocol.md):
// JSON Lines on stdin/stdout, a handshake, then one reply per request.
//
// Check it against every fixture case of the ops it offers:
//
//   cnn-oracle verify --command "node examples/javascript/cnn_worker.js"
//
// Shapes follow fixtures/README.md: one sample per request, conv2d x is
// (C, H, W), kernels (D, C, kh, kw), biases (D,) tied or (D, Ho, Wo) untied.
'use strict';

const readline = require('readline');

const PROTOCOL = 'cnn-oracle-worker';

// ---- nested arrays ----

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// f applied to matching leaves of nested arrays of one shape.
function map(f, ...arrays) {
  if (!Array.isArray(arrays[0])) return f(...arrays);
  const length = arrays[0].length;
  check(arrays.every((a) => Array.isArray(a) && a.length === length), 'arrays of different shapes');
  return arrays[0].map((_, i) => map(f, ...arrays.map((a) => a[i])));
}

const sum = (values) => values.reduce((total, v) => total + v, 0);

function matrix(rows, cols, f) {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => f(r, c)));
}

const zerosLike = (m) => map(() => 0, m);
const add = (a, b) => map((u, v) => u + v, a, b);

// ---- 2-D correlation: the one primitive behind correlate2d, convolve2d and conv2d ----

// A rows x cols matrix of zeros with m laid in at (top, left).
function place(m, rows, cols, top = 0, left = 0) {
  return matrix(rows, cols, (r, c) => m[r - top]?.[c - left] ?? 0);
}

// Surround a matrix with zeros: `rows` above and below, `cols` left and right.
function pad(m, rows, cols = rows) {
  return place(m, m.length + 2 * rows, m[0].length + 2 * cols, rows, cols);
}

// The inverse of pad: drop `margin` rows and columns on every side.
function crop(m, margin) {
  return m.slice(margin, m.length - margin).map((row) => row.slice(margin, row.length - margin));
}

// Valid cross-correlation with a stride: y[r][c] = sum_uv x[r*s + u][c*s + v] k[u][v].
function correlate(x, k, stride = 1) {
  check(k.length <= x.length && k[0].length <= x[0].length, 'kernel is larger than the input');
  const rows = Math.floor((x.length - k.length) / stride) + 1;
  const cols = Math.floor((x[0].length - k[0].length) / stride) + 1;
  return matrix(rows, cols, (r, c) =>
    sum(k.flatMap((kRow, u) => kRow.map((kv, v) => x[r * stride + u][c * stride + v] * kv))),
  );
}

const rot180 = (k) => k.map((row) => [...row].reverse()).reverse();

// "full" starts as soon as kernel and input overlap: pad by kernel size - 1.
function correlate2d(x, k, mode) {
  check(mode === 'valid' || mode === 'full', `mode: must be 'valid' or 'full', got ${mode}`);
  return correlate(mode === 'full' ? pad(x, k.length - 1, k[0].length - 1) : x, k);
}

// Convolution is correlation with the kernel rotated by 180 degrees.
const convolve2d = (x, k, mode) => correlate2d(x, rot180(k), mode);

// Zeros between neighbouring elements: a strided layer's gradient, dilated,
// makes the stride-1 backward formulas hold again.
function dilate(m, stride) {
  const rows = (m.length - 1) * stride + 1;
  const cols = (m[0].length - 1) * stride + 1;
  return matrix(rows, cols, (r, c) => (r % stride || c % stride ? 0 : m[r / stride][c / stride]));
}

// ---- layers ----

// Y_i = B_i + sum_j X_j (*) K_ij, over the zero-padded input with a stride.
function conv2dForward(x, kernels, biases, { stride, padding, tied }) {
  const padded = x.map((channel) => pad(channel, padding));
  return kernels.map((kernel, i) => {
    const y = kernel.map((k, j) => correlate(padded[j], k, stride)).reduce(add);
    return tied ? map((v) => v + biases[i], y) : add(y, biases[i]);
  });
}

// dK_ij = X_j (*) dY_i, dX_j = sum_i dY_i full-convolved with K_ij, dB_i = dY_i
// (summed when tied), with dY dilated by the stride and the padding cropped.
function conv2dBackward(x, kernels, dy, { stride, padding, tied }) {
  const padded = x.map((channel) => pad(channel, padding));
  // Rows and columns no window reached (when H + 2P - K is not a multiple of
  // the stride) get zero gradient: the dilated dY, extended with zeros to the
  // size of a stride-1 output, covers them.
  const rows = padded[0].length - kernels[0][0].length + 1;
  const cols = padded[0][0].length - kernels[0][0][0].length + 1;
  const dxPadded = padded.map(zerosLike);
  const dkernels = dy.map((dyI, i) => {
    const grad = place(dilate(dyI, stride), rows, cols);
    kernels[i].forEach((k, j) => {
      dxPadded[j] = add(dxPadded[j], convolve2d(grad, k, 'full'));
    });
    return padded.map((xJ) => correlate(xJ, grad));
  });
  const dx = dxPadded.map((m) => crop(m, padding));
  const dbiases = tied ? dy.map((dyI) => sum(dyI.flat())) : dy;
  return { dx, dkernels, dbiases };
}

function conv2d({ x, kernels, biases, dy }, { stride = 1, padding = 0, bias }) {
  const channels = kernels[0].length;
  check(channels === x.length, `kernels have ${channels} channels but x has ${x.length}`);
  // Tied: one bias per kernel, biases (D,). Untied: one per output position.
  const shapedAs = Array.isArray(biases[0]) ? 'untied' : 'tied';
  check(!bias || bias === shapedAs, `param bias is ${bias} but biases are shaped as ${shapedAs} biases`);
  const options = { stride, padding, tied: shapedAs === 'tied' };
  const y = conv2dForward(x, kernels, biases, options);
  return dy === undefined ? { y } : { y, ...conv2dBackward(x, kernels, dy, options) };
}

// y = W x + b; dx = W^T dy, dW = dy x^T, db = dy.
function dense({ x, weights, bias, dy }) {
  const columns = weights[0].length;
  check(columns === x.length, `weights have ${columns} columns but x has ${x.length} values`);
  const y = weights.map((row, o) => sum(row.map((w, i) => w * x[i])) + bias[o]);
  if (dy === undefined) return { y };
  const dx = x.map((_, i) => sum(weights.map((row, o) => row[i] * dy[o])));
  return { y, dx, dweights: dy.map((g) => x.map((v) => g * v)), dbias: dy };
}

// Each output is the first maximum of its window in row-major order (a
// strict ">" keeps the first of tied maxima); only it gets the gradient.
function maxpool2d({ x, dy }, { window, stride }) {
  const rows = Math.floor((x[0].length - window) / stride) + 1;
  const cols = Math.floor((x[0][0].length - window) / stride) + 1;
  const argmax = x.map((channel) =>
    matrix(rows, cols, (r, c) => {
      let best = [r * stride, c * stride];
      for (let u = 0; u < window; u++) {
        for (let v = 0; v < window; v++) {
          const [row, col] = [r * stride + u, c * stride + v];
          if (channel[row][col] > channel[best[0]][best[1]]) best = [row, col];
        }
      }
      return best;
    }),
  );
  const y = argmax.map((argC, ch) => argC.map((line) => line.map(([row, col]) => x[ch][row][col])));
  if (dy === undefined) return { y, argmax };
  const dx = x.map(zerosLike);
  argmax.forEach((argC, ch) =>
    argC.forEach((argRow, r) =>
      argRow.forEach(([row, col], c) => {
        dx[ch][row][col] += dy[ch][r][c]; // overlapping windows add up
      }),
    ),
  );
  return { y, argmax, dx };
}

// ---- activations: y = f(x), dx = f'(x) dy ----

function elementwise(f, derivative) {
  return ({ x, dy }, params) => {
    const y = map((v) => f(v, params), x);
    return dy === undefined ? { y } : { y, dx: map((v, g) => derivative(v, params) * g, x, dy) };
  };
}

// Two branches so that exp never overflows: sigmoid(+-1000) is exact.
const sigmoid = (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));

// exp(x_i - max x) / sum_j exp(x_j - max x): the shift keeps exp <= 1.
function softmaxOf(x) {
  const top = Math.max(...x);
  const exps = x.map((v) => Math.exp(v - top));
  const total = sum(exps);
  return exps.map((e) => e / total);
}

// The Jacobian is not diagonal: dx_i = s_i (dy_i - sum_j dy_j s_j).
function softmax({ x, dy }) {
  const y = softmaxOf(x);
  if (dy === undefined) return { y };
  const weighted = sum(y.map((s, j) => s * dy[j]));
  return { y, dx: y.map((s, i) => s * (dy[i] - weighted)) };
}

// ---- losses: the mean over the n outputs, and dE/dy_pred ----

// log is undefined at 0 and 1: evaluate at the prediction clipped to
// [eps, 1 - eps], as the reference does (reference/losses.py).
const PROBABILITY_EPSILON = 1e-12;
const clip = (p) => Math.min(Math.max(p, PROBABILITY_EPSILON), 1 - PROBABILITY_EPSILON);

function loss(term, derivative) {
  return ({ y_true: yTrue, y_pred: yPred }) => {
    check(yTrue.length === yPred.length, `y_true has ${yTrue.length} values, y_pred ${yPred.length}`);
    const n = yTrue.length;
    return {
      loss: sum(yTrue.map((y, i) => term(y, yPred[i]))) / n,
      dy_pred: yTrue.map((y, i) => derivative(y, yPred[i]) / n),
    };
  };
}

const OPS = {
  relu: elementwise(
    (v) => (v <= 0 ? 0 : v), // NaN <= 0 is false: NaN passes through
    (v) => (v > 0 ? 1 : 0), // the kink at 0 gets slope 0
  ),
  leaky_relu: elementwise(
    (v, { slope }) => (v > 0 ? v : slope * v),
    (v, { slope }) => (v > 0 ? 1 : slope),
  ),
  sigmoid: elementwise(sigmoid, (v) => sigmoid(v) * (1 - sigmoid(v))),
  tanh: elementwise(Math.tanh, (v) => 1 - Math.tanh(v) ** 2),
  softmax,
  dense,
  conv2d,
  maxpool2d,
  mse: loss(
    (y, p) => (p - y) ** 2,
    (y, p) => 2 * (p - y),
  ),
  binary_cross_entropy: loss(
    (y, p) => -(y * Math.log(clip(p)) + (1 - y) * Math.log(1 - clip(p))),
    (y, p) => (1 - y) / (1 - clip(p)) - y / clip(p),
  ),
  correlate2d: ({ x, k }, { mode }) => ({ y: correlate2d(x, k, mode) }),
  convolve2d: ({ x, k }, { mode }) => ({ y: convolve2d(x, k, mode) }),
  rot180: ({ k }) => ({ y: rot180(k) }),
};

// ---- the protocol ----

// JSON has no NaN or infinity: they travel as these strings, both ways.
const NON_FINITE = new Map([
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
]);
const decode = (value) => map((v) => (NON_FINITE.has(v) ? NON_FINITE.get(v) : v), value);
const encode = (_key, value) =>
  typeof value === 'number' && !Number.isFinite(value) ? String(value) : value; // "NaN", "-Infinity"...

function send(message) {
  // One line per message; writes to a pipe are synchronous in Node on POSIX,
  // so nothing is left buffered when the process exits.
  process.stdout.write(JSON.stringify(message, encode) + '\n');
}

function answer(request) {
  if (!Object.hasOwn(OPS, request.op)) return { not_implemented: `cnn_worker.js has no ${request.op}` };
  const inputs = Object.fromEntries(Object.entries(request.inputs).map(([k, v]) => [k, decode(v)]));
  return { outputs: OPS[request.op](inputs, request.params ?? {}) };
}

async function main() {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  let greeted = false;
  for await (const line of lines) {
    if (!line.trim()) continue;
    if (!greeted) {
      const hello = JSON.parse(line);
      check(hello.protocol === PROTOCOL, `expected the hello line, got ${line.slice(0, 80)}`);
      const ops = Object.keys(OPS);
      send({ protocol: PROTOCOL, version: 1, implementation: 'cnn_worker.js', ops });
      greeted = true;
      continue;
    }
    let id = null;
    try {
      const request = JSON.parse(line);
      id = request.id;
      send({ id, ...answer(request) });
    } catch (error) {
      // One failing case must not end the session: report it on one line.
      send({ id, error: String(error?.message ?? error).replace(/\s+/g, ' ') });
    }
  }
}

main().catch((error) => {
  process.stderr.write(`cnn_worker.js: ${error.message}\n`);
  process.exit(2);
});
