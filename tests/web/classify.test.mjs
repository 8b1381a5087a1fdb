// Unit tests of the classification module (pure, runs in node without a browser).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jenksBreaks, quantileBreaks, equalBreaks, classify, classOf } from '../../web/js/classify.js';

/** Sum of squared deviations from the class means for the given inner breaks. */
function ssd(sorted, breaks) {
  let total = 0;
  let start = 0;
  for (let c = 0; c <= breaks.length; c++) {
    let end = start;
    while (end < sorted.length && (c === breaks.length || sorted[end] <= breaks[c])) end++;
    const part = sorted.slice(start, end);
    const m = part.reduce((a, b) => a + b, 0) / part.length;
    total += part.reduce((a, b) => a + (b - m) ** 2, 0);
    start = end;
  }
  return total;
}

test('Jenks finds the optimal partition (checked by brute force)', () => {
  // deterministic pseudo-random data
  let s = 7;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let trial = 0; trial < 20; trial++) {
    const n = 9 + (trial % 5);
    const v = Array.from({ length: n }, () => Math.round(rnd() * 1000) / 10).sort((a, b) => a - b);
    const k = 3;
    const got = jenksBreaks(v, k);
    let best = Infinity;
    for (let i = 1; i < n - 1; i++)
      for (let j = i + 1; j < n; j++) {
        if (v[i - 1] === v[i] || v[j - 1] === v[j]) continue;
        best = Math.min(best, ssd(v, [v[i - 1], v[j - 1]]));
      }
    assert.ok(Math.abs(ssd(v, got) - best) < 1e-9, `trial ${trial}: ${ssd(v, got)} vs ${best}`);
  }
});

test('Jenks separates obvious clusters', () => {
  const v = [1, 2, 3, 10, 11, 12, 50, 51, 52].sort((a, b) => a - b);
  assert.deepEqual(jenksBreaks(v, 3), [3, 12]);
});

test('quantile and equal-interval breaks', () => {
  const v = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.deepEqual(quantileBreaks(v, 4), [25, 50, 75]);
  assert.deepEqual(equalBreaks([0, 10], 5), [2, 4, 6, 8]);
  // many equal values: duplicate limits are merged (all three quartiles are 0)
  assert.deepEqual(quantileBreaks([0, 0, 0, 0, 0, 0, 1, 2], 4), [0]);
  assert.equal(classOf(2, [2, 4]), 0);
  assert.equal(classOf(2.1, [2, 4]), 1);
  assert.equal(classOf(9, [2, 4]), 2);
});

test('classify counts classes and no-data values', () => {
  const r = classify([1, 2, null, 4, 5, NaN, 10], { kind: 'numeric', method: 'equal', k: 3, palette: 'worse' });
  assert.equal(r.noData.count, 2);
  // range 1–10 in thirds: ≤ 4, ≤ 7, ≤ 10
  assert.deepEqual(r.classes.map((c) => c.count), [3, 1, 1]);
  assert.equal(r.classes[0].upper, 4);
  assert.equal(r.classIndex(2), -1);
  const s = classify([1, 2, 2, 4, null, 3], { kind: 'status' });
  assert.deepEqual(s.classes.map((c) => c.count), [1, 2, 1, 1]);
  assert.equal(s.noData.count, 1);
  const g = classify(['1+', '4-', '2+/-', 'x'], { kind: 'group' });
  assert.equal(g.classes.reduce((a, c) => a + c.count, 0), 3);
  assert.equal(g.noData.count, 1);
});
