// Classification of indicator values into map classes: quantiles, equal intervals, natural
// breaks (Jenks) and the MSS method's own classes. Pure functions (no DOM), so the browser
// tests can check them against the API data.

/** Class colour palettes, light → dark. ColorBrewer sequential schemes (colour-blind safe). */
export const PALETTES = {
  // higher values mean more need: light yellow → dark red (YlOrRd)
  worse: ['#ffffb2', '#fed976', '#feb24c', '#fd8d3c', '#f03b20', '#bd0026', '#800026'],
  // higher values are better: dark = low supply (PuBu, reversed when drawn)
  // (starts at a visible blue, so the top class does not look like the background)
  better: ['#d0d1e6', '#a6bddb', '#74a9cf', '#3690c0', '#0570b0', '#045a8d', '#023858'],
  // neutral: viridis-like (perceptually uniform, colour-blind safe)
  neutral: ['#fde725', '#90d743', '#35b779', '#21918c', '#31688e', '#443983', '#440154'],
};

/** MSS status classes (1 hoch … 4 sehr niedrig): green → dark purple, lightness rising with need. */
export const STATUS_CLASSES = [
  { value: 1, label: 'hoch', color: '#a6d96a' },
  { value: 2, label: 'mittel', color: '#fff5b8' },
  { value: 3, label: 'niedrig', color: '#f4874b' },
  { value: 4, label: 'sehr niedrig', color: '#7b2a74' },
];

/** MSS dynamics classes (1 positiv, 2 stabil, 3 negativ): blue / grey / red (colour-blind safe). */
export const DYNAMICS_CLASSES = [
  { value: 1, label: 'positiv', color: '#4393c3' },
  { value: 2, label: 'stabil', color: '#e7e7e7' },
  { value: 3, label: 'negativ', color: '#d6604d' },
];

/** Label of class `value` in a list of discrete classes (STATUS_CLASSES, …); undefined if none. */
export function classLabel(list, value) {
  return list.find((c) => c.value === value)?.label;
}

/** Colour for values that are suppressed (disclosure control) or undefined. */
export const NO_DATA_COLOR = '#bdbdbd';

function mix(hex, target, t) {
  const p = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
  const a = p(hex);
  const b = p(target);
  return '#' + a.map((v, i) => Math.round(v + (b[i] - v) * t).toString(16).padStart(2, '0')).join('');
}

/**
 * MSS Gesamtindex groups ("1+", "1+/-", "1-", … "4-"): the status class's colour, lighter
 * with positive and darker with negative dynamics.
 */
export const GROUP_CLASSES = STATUS_CLASSES.flatMap((s) => [
  { value: `${s.value}+`, label: `${s.value}+ (${s.label}, Dynamik positiv)`, color: mix(s.color, '#ffffff', 0.45) },
  { value: `${s.value}+/-`, label: `${s.value}+/- (${s.label}, Dynamik stabil)`, color: s.color },
  { value: `${s.value}-`, label: `${s.value}- (${s.label}, Dynamik negativ)`, color: mix(s.color, '#000000', 0.35) },
]);

/** Sorted finite numbers of `values` (nulls and NaN are dropped). */
export function finiteSorted(values) {
  return values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
}

/**
 * Upper class limits (k − 1 inner breaks) by quantiles: each class gets about n/k values.
 * Duplicate limits (many equal values) are merged, so fewer classes may result.
 */
export function quantileBreaks(sorted, k) {
  const n = sorted.length;
  const out = [];
  for (let i = 1; i < k; i++) {
    const b = sorted[Math.min(n - 1, Math.max(0, Math.ceil((i * n) / k) - 1))];
    if (out.length === 0 || b > out[out.length - 1]) out.push(b);
  }
  return out.filter((b) => b < sorted[n - 1]);
}

/** Inner breaks of k equal intervals between the minimum and the maximum. */
export function equalBreaks(sorted, k) {
  const lo = sorted[0];
  const hi = sorted[sorted.length - 1];
  if (!(hi > lo)) return [];
  const out = [];
  for (let i = 1; i < k; i++) out.push(lo + ((hi - lo) * i) / k);
  return out;
}

/**
 * Natural breaks (Jenks–Fisher): the partition of the sorted values into k classes that
 * minimises the sum of squared deviations from the class means; exact dynamic programme,
 * O(k·n²), fine for a few thousand areas. Returns the inner breaks (upper limits of classes 1…k−1).
 */
export function jenksBreaks(sorted, k) {
  const n = sorted.length;
  k = Math.min(k, new Set(sorted).size);
  if (k < 2) return [];
  // prefix sums for O(1) within-class variance
  const s1 = new Float64Array(n + 1);
  const s2 = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    s1[i + 1] = s1[i] + sorted[i];
    s2[i + 1] = s2[i] + sorted[i] * sorted[i];
  }
  const ssd = (i, j) => {
    // values i..j inclusive
    const m = j - i + 1;
    const s = s1[j + 1] - s1[i];
    return s2[j + 1] - s2[i] - (s * s) / m;
  };
  // cost[c][j]: best cost of c+1 classes over values 0..j; from[c][j]: start of the last class
  const cost = [];
  const from = [];
  cost.push(Float64Array.from({ length: n }, (_, j) => ssd(0, j)));
  from.push(new Int32Array(n));
  for (let c = 1; c < k; c++) {
    const cc = new Float64Array(n).fill(Infinity);
    const ff = new Int32Array(n);
    for (let j = c; j < n; j++) {
      for (let i = c; i <= j; i++) {
        const v = cost[c - 1][i - 1] + ssd(i, j);
        if (v < cc[j]) {
          cc[j] = v;
          ff[j] = i;
        }
      }
    }
    cost.push(cc);
    from.push(ff);
  }
  const breaks = [];
  let j = n - 1;
  for (let c = k - 1; c > 0; c--) {
    const i = from[c][j];
    breaks.unshift(sorted[i - 1]);
    j = i - 1;
  }
  return breaks.filter((b, i) => i === 0 || b > breaks[i - 1]);
}

/** Breaks for `method` ('quantile' | 'equal' | 'jenks'). */
export function breaksFor(method, sorted, k) {
  if (sorted.length === 0) return [];
  if (method === 'equal') return equalBreaks(sorted, k);
  if (method === 'jenks') return jenksBreaks(sorted, k);
  return quantileBreaks(sorted, k);
}

/** Class index (0-based) of `v` for inner breaks: class i holds values ≤ breaks[i]. */
export function classOf(v, breaks) {
  let i = 0;
  while (i < breaks.length && v > breaks[i]) i++;
  return i;
}

/** Palette of an indicator by its polarity; higher_is_better is drawn reversed (dark = low supply). */
export function paletteOf(polarity) {
  return polarity === 'higher_is_worse' ? 'worse' : polarity === 'higher_is_better' ? 'better' : 'neutral';
}

/** `n` colours from a palette, spread over its range; `reverse` flips dark and light. */
export function paletteColors(name, n, reverse = false) {
  const p = PALETTES[name] || PALETTES.neutral;
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = n === 1 ? 0.5 : i / (n - 1);
    out.push(p[Math.round(t * (p.length - 1))]);
  }
  return reverse ? out.reverse() : out;
}

/**
 * Classifies `values` (one per feature, null = no value) and returns
 * `{ classes: [{label, lower, upper, color, count}], noData: {count, color}, colorOf: i → colour,
 *    classIndex: i → class or -1 }`.
 * `spec`: { kind: 'status'|'dynamics'|'group'|'numeric', method, k, palette, reverse, format }.
 */
export function classify(values, spec) {
  const discrete =
    spec.kind === 'status' ? STATUS_CLASSES : spec.kind === 'dynamics' ? DYNAMICS_CLASSES : spec.kind === 'group' ? GROUP_CLASSES : null;
  const idx = new Int32Array(values.length).fill(-1);
  let classes;
  if (discrete) {
    const pos = new Map(discrete.map((c, i) => [c.value, i]));
    classes = discrete.map((c) => ({ label: c.label, lower: c.value, upper: c.value, color: c.color, count: 0, value: c.value }));
    values.forEach((v, i) => {
      const p = v === null || v === undefined ? undefined : pos.get(v);
      if (p !== undefined) idx[i] = p;
    });
  } else {
    const sorted = finiteSorted(values);
    const breaks = breaksFor(spec.method, sorted, spec.k);
    const n = sorted.length ? breaks.length + 1 : 0;
    const colors = paletteColors(spec.palette, n, spec.reverse);
    const fmt = spec.format || ((x) => String(x));
    classes = [];
    for (let c = 0; c < n; c++) {
      const lower = c === 0 ? sorted[0] : breaks[c - 1];
      const upper = c === n - 1 ? sorted[sorted.length - 1] : breaks[c];
      const label = c === 0 ? `${fmt(lower)} – ${fmt(upper)}` : `> ${fmt(lower)} – ${fmt(upper)}`;
      classes.push({ label, lower, upper, color: colors[c], count: 0 });
    }
    values.forEach((v, i) => {
      if (typeof v === 'number' && Number.isFinite(v)) idx[i] = classOf(v, breaks);
    });
  }
  let noData = 0;
  for (const c of idx) {
    if (c >= 0) classes[c].count++;
    else noData++;
  }
  return {
    classes,
    noData: { count: noData, color: NO_DATA_COLOR },
    classIndex: (i) => idx[i],
    colorOf: (i) => (idx[i] >= 0 ? classes[idx[i]].color : NO_DATA_COLOR),
  };
}
