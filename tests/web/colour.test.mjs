// Colour test of the map's palettes: CIEDE2000 between neighbouring classes of every palette,
// for normal vision and under simulated deuteranopia and protanopia (Machado, Oliveira &
// Fernandes 2009, severity 1.0), plus every class colour against the map background.
//
// Thresholds. A ΔE00 of about 1–2.3 is a just noticeable difference for large patches side by
// side under good light (Sharma et al. 2005). Map classes are small patches, seen on projectors,
// cheap monitors and printouts, and matched against the legend rather than side by side:
// - palettes of up to 5 classes (the map's default) need ΔE00 ≥ 8 between ANY two classes
//   (about 3–4 JND: MSS "hoch" and "niedrig" must not look alike even though they are not
//   neighbours);
// - the 6- and 7-class schemes need ΔE00 ≥ 5 between neighbours: that is what ColorBrewer's own
//   7-class YlOrRd keeps under deuteranopia (5.3), the densest scheme we offer;
// - every class colour stands ΔE00 ≥ 5 off the map background.
// The old map failed them: its 5-class scale sampled the 7-class list (two oranges 5.3 apart
// under deuteranopia), MSS "hoch"/"niedrig" were 7.5 apart under deuteranopia, and "stabil" lay
// 2.2 from the background.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PALETTES, CHANGE_PALETTES, STATUS_CLASSES, DYNAMICS_CLASSES, GROUP_CLASSES, MAP_BACKGROUND, paletteColors } from '../../web/js/classify.js';

const MIN_DE = 5;
const MIN_DE_FEW = 8;

// ---------------------------------------------------------------------------------------------
// sRGB → linear → (simulation) → XYZ (D65) → CIELAB

const hexRgb = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16) / 255);
const toLinear = (c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);

/** Machado et al. 2009, severity 1.0, applied to linear RGB. */
const MACHADO = {
  deuteranopia: [
    [0.367322, 0.860646, -0.227968],
    [0.280085, 0.672501, 0.047413],
    [-0.01182, 0.04294, 0.968881],
  ],
  protanopia: [
    [0.152286, 1.052583, -0.204868],
    [0.114503, 0.786281, 0.099216],
    [-0.003882, -0.048116, 1.051998],
  ],
};

function lab(hex, vision = 'normal') {
  let rgb = hexRgb(hex).map(toLinear);
  const m = MACHADO[vision];
  if (m) rgb = m.map((row) => Math.min(1, Math.max(0, row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2])));
  const [r, g, b] = rgb;
  const X = 0.4124564 * r + 0.3575761 * g + 0.1804375 * b;
  const Y = 0.2126729 * r + 0.7151522 * g + 0.072175 * b;
  const Z = 0.0193339 * r + 0.119192 * g + 0.9503041 * b;
  const [xn, yn, zn] = [0.95047, 1.0, 1.08883];
  const f = (t) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  const [fx, fy, fz] = [f(X / xn), f(Y / yn), f(Z / zn)];
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** CIEDE2000 colour difference (Sharma, Wu & Dalal 2005), kL = kC = kH = 1. */
export function ciede2000([L1, a1, b1], [L2, a2, b2]) {
  const rad = Math.PI / 180;
  const C1 = Math.hypot(a1, b1);
  const C2 = Math.hypot(a2, b2);
  const Cb = (C1 + C2) / 2;
  const G = 0.5 * (1 - Math.sqrt(Cb ** 7 / (Cb ** 7 + 25 ** 7)));
  const a1p = (1 + G) * a1;
  const a2p = (1 + G) * a2;
  const C1p = Math.hypot(a1p, b1);
  const C2p = Math.hypot(a2p, b2);
  const hp = (a, b) => (a === 0 && b === 0 ? 0 : ((Math.atan2(b, a) / rad) + 360) % 360);
  const h1p = hp(a1p, b1);
  const h2p = hp(a2p, b2);
  const dLp = L2 - L1;
  const dCp = C2p - C1p;
  let dhp = 0;
  if (C1p * C2p !== 0) {
    dhp = h2p - h1p;
    if (dhp > 180) dhp -= 360;
    else if (dhp < -180) dhp += 360;
  }
  const dHp = 2 * Math.sqrt(C1p * C2p) * Math.sin((dhp / 2) * rad);
  const Lbp = (L1 + L2) / 2;
  const Cbp = (C1p + C2p) / 2;
  let hbp = h1p + h2p;
  if (C1p * C2p !== 0) {
    if (Math.abs(h1p - h2p) <= 180) hbp = (h1p + h2p) / 2;
    else hbp = h1p + h2p < 360 ? (h1p + h2p + 360) / 2 : (h1p + h2p - 360) / 2;
  }
  const T = 1 - 0.17 * Math.cos((hbp - 30) * rad) + 0.24 * Math.cos(2 * hbp * rad) + 0.32 * Math.cos((3 * hbp + 6) * rad) - 0.2 * Math.cos((4 * hbp - 63) * rad);
  const dTheta = 30 * Math.exp(-(((hbp - 275) / 25) ** 2));
  const Rc = 2 * Math.sqrt(Cbp ** 7 / (Cbp ** 7 + 25 ** 7));
  const Sl = 1 + (0.015 * (Lbp - 50) ** 2) / Math.sqrt(20 + (Lbp - 50) ** 2);
  const Sc = 1 + 0.045 * Cbp;
  const Sh = 1 + 0.015 * Cbp * T;
  const Rt = -Math.sin(2 * dTheta * rad) * Rc;
  return Math.sqrt((dLp / Sl) ** 2 + (dCp / Sc) ** 2 + (dHp / Sh) ** 2 + Rt * (dCp / Sc) * (dHp / Sh));
}

const dE = (h1, h2, vision) => ciede2000(lab(h1, vision), lab(h2, vision));
const VISIONS = ['normal', 'deuteranopia', 'protanopia'];

test('CIEDE2000 reproduces the published test pairs (Sharma et al. 2005)', () => {
  const pairs = [
    [[50, 2.6772, -79.7751], [50, 0, -82.7485], 2.0425],
    [[50, 0, 0], [50, -1, 2], 2.3669],
    [[50, 2.5, 0], [73, 25, -18], 27.1492],
    [[60.2574, -34.0099, 36.2677], [60.4626, -34.1751, 39.4387], 1.2644],
    [[22.7233, 20.0904, -46.694], [23.0331, 14.973, -42.5619], 2.0373],
    [[90.8027, -2.0831, 1.441], [91.1528, -1.6435, 0.0447], 1.4441],
  ];
  for (const [a, b, want] of pairs) assert.ok(Math.abs(ciede2000(a, b) - want) < 1e-4, `${a} ${b}: ${ciede2000(a, b)} ≠ ${want}`);
});

test('the simulation keeps greys grey and confuses red with green', () => {
  for (const v of ['deuteranopia', 'protanopia']) {
    const [, a, b] = lab('#808080', v);
    assert.ok(Math.abs(a) < 1 && Math.abs(b) < 1, `${v}: grey stays grey`);
    // a saturated red and a green of similar lightness become near neighbours
    assert.ok(dE('#d62728', '#2ca02c', v) < dE('#d62728', '#2ca02c') / 2, `${v}: red/green confused`);
  }
});

/** Every palette the map draws, as ordered class lists ([name, colours, few?]); the 12 Gesamtindex groups are checked as neighbours. */
function palettes() {
  const out = [];
  for (const [name, byK] of Object.entries(PALETTES)) {
    for (const k of [3, 4, 5, 6, 7]) {
      assert.equal(byK[k].length, k, `${name} has a ${k}-class list`);
      out.push([`${name}/${k}`, paletteColors(name, k)]);
    }
  }
  for (const [name, list] of Object.entries(CHANGE_PALETTES)) out.push([`change/${name}`, list]);
  out.push(['status', STATUS_CLASSES.map((c) => c.color)]);
  out.push(['dynamics', DYNAMICS_CLASSES.map((c) => c.color)]);
  // the Gesamtindex: neighbours within a status class (+, +/-, -) and across status at equal dynamics
  for (const s of [1, 2, 3, 4]) out.push([`group/${s}`, GROUP_CLASSES.filter((g) => g.status === s).map((g) => g.color), false]);
  for (const d of ['+', '+/-', '-']) out.push([`group/${d}`, GROUP_CLASSES.filter((g) => g.value.slice(1) === d).map((g) => g.color), false]);
  return out;
}

test(`classes differ by ΔE00 ≥ ${MIN_DE_FEW} (any two, up to 5 classes) or ≥ ${MIN_DE} (neighbours, 6–7 classes), also under deuteranopia and protanopia`, () => {
  const report = [];
  const failures = [];
  for (const [name, colors, few = colors.length <= 5] of palettes()) {
    const min = few ? MIN_DE_FEW : MIN_DE;
    for (const v of VISIONS) {
      const pairs = [];
      for (let i = 0; i < colors.length; i++) for (let j = i + 1; j < colors.length; j++) if (few || j === i + 1) pairs.push([i, j]);
      const ds = pairs.map(([i, j]) => [dE(colors[i], colors[j], v), i, j]);
      report.push(`${name.padEnd(16)} ${v.padEnd(13)} min ${Math.min(...ds.map((d) => d[0])).toFixed(1)} (${few ? 'any two' : 'neighbours'})`);
      for (const [d, i, j] of ds) if (d < min) failures.push(`${name} ${v}: ${colors[i]} vs ${colors[j]} ΔE00 ${d.toFixed(2)} < ${min}`);
    }
  }
  if (process.env.COLOUR_REPORT) console.log(report.join('\n'));
  assert.deepEqual(failures, []);
});

test('the old palettes fail these thresholds (the test can tell)', () => {
  const old5 = ['#ffffb2', '#feb24c', '#fd8d3c', '#bd0026', '#800026'];
  assert.ok(dE(old5[1], old5[2], 'deuteranopia') < MIN_DE_FEW);
  assert.ok(dE('#a6d96a', '#f4874b', 'deuteranopia') < MIN_DE_FEW, 'old MSS hoch vs niedrig');
  assert.ok(dE('#e7e7e7', '#eef0f2') < MIN_DE, 'old "stabil" on the old background');
});

test(`every class colour stands off the map background by ΔE00 ≥ ${MIN_DE} (no class looks like "no area")`, () => {
  const failures = [];
  for (const [name, colors] of palettes()) {
    for (const v of VISIONS) for (const c of colors) if (dE(c, MAP_BACKGROUND, v) < MIN_DE) failures.push(`${name} ${v}: ${c} ΔE00 ${dE(c, MAP_BACKGROUND, v).toFixed(2)}`);
  }
  assert.deepEqual(failures, []);
});

test('status classes get darker with every step (monotonic lightness), in every simulation', () => {
  for (const v of VISIONS) {
    const L = STATUS_CLASSES.map((c) => lab(c.color, v)[0]);
    for (let i = 1; i < L.length; i++) assert.ok(L[i] < L[i - 1] - 5, `${v}: ${L.map((x) => x.toFixed(0)).join(' > ')}`);
  }
});
