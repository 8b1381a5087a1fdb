// Classification of indicator values into map classes: quantiles, equal intervals, natural
// breaks (Jenks) and the MSS method's own classes. Pure functions (no DOM), so the browser
// tests can check them against the API data.

/**
 * Class colour palettes, light → dark, one list per number of classes (3–7): the real k-class
 * ColorBrewer schemes (Cynthia Brewer, colorbrewer2.org; designed so neighbouring classes stay
 * apart, also for colour-blind readers) rather than samples of the 7-class list, whose
 * neighbours can nearly coincide. `neutral` samples viridis (perceptually uniform, colour-blind
 * safe). tests/web/colour.test.mjs checks every neighbouring pair (CIEDE2000, also under
 * simulated deuteranopia and protanopia).
 */
export const PALETTES = {
  // higher values mean more need: light yellow → dark red (YlOrRd)
  worse: {
    3: ['#ffeda0', '#feb24c', '#f03b20'],
    4: ['#ffffb2', '#fecc5c', '#fd8d3c', '#e31a1c'],
    5: ['#ffffb2', '#fecc5c', '#fd8d3c', '#f03b20', '#bd0026'],
    6: ['#ffffb2', '#fed976', '#feb24c', '#fd8d3c', '#f03b20', '#bd0026'],
    7: ['#ffffb2', '#fed976', '#feb24c', '#fd8d3c', '#fc4e2a', '#e31a1c', '#b10026'],
  },
  // higher values are better: drawn reversed, dark = low supply (PuBu)
  better: {
    3: ['#ece7f2', '#a6bddb', '#2b8cbe'],
    4: ['#f1eef6', '#bdc9e1', '#74a9cf', '#0570b0'],
    5: ['#f1eef6', '#bdc9e1', '#74a9cf', '#2b8cbe', '#045a8d'],
    6: ['#f1eef6', '#d0d1e6', '#a6bddb', '#74a9cf', '#2b8cbe', '#045a8d'],
    7: ['#f1eef6', '#d0d1e6', '#a6bddb', '#74a9cf', '#3690c0', '#0570b0', '#034e7b'],
  },
  // neutral: viridis, yellow (low) → purple (high)
  neutral: Object.fromEntries([3, 4, 5, 6, 7].map((k) => [k, viridis(k)])),
};

/** Diverging palettes for changes between two years, 5 classes (decrease → increase). */
export const CHANGE_PALETTES = {
  // increase = worse: blue (better) … red (worse) (RdBu reversed; middle lifted off the white)
  worse: ['#0571b0', '#92c5de', '#e6e1d3', '#f4a582', '#ca0020'],
  // increase = better: red … blue
  better: ['#ca0020', '#f4a582', '#e6e1d3', '#92c5de', '#0571b0'],
  // no direction: orange … purple (PuOr)
  neutral: ['#e66101', '#fdb863', '#e6e1d3', '#b2abd2', '#5e3c99'],
};

/** Background of the map (outside the areas): apart from every class colour. */
export const MAP_BACKGROUND = '#c8cdd2';

/** `k` colours of viridis from yellow to purple (linear between 11 reference stops). */
export function viridis(k) {
  const stops = ['#fde725', '#bddf26', '#7ad151', '#44bf70', '#22a884', '#21918c', '#2a788e', '#355f8d', '#414487', '#482475', '#440154'];
  const rgb = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
  const out = [];
  for (let i = 0; i < k; i++) {
    // stay clear of the darkest end: black-purple hides the outlines drawn on it
    const t = (k === 1 ? 0.5 : i / (k - 1)) * 0.9 * (stops.length - 1);
    const a = Math.floor(t);
    const b = Math.min(stops.length - 1, a + 1);
    const f = t - a;
    const [x, y] = [rgb(stops[a]), rgb(stops[b])];
    out.push('#' + x.map((v, j) => Math.round(v + (y[j] - v) * f).toString(16).padStart(2, '0')).join(''));
  }
  return out;
}

/**
 * MSS status classes (1 hoch … 4 sehr niedrig): lightness falls monotonically with the status,
 * so the order reads in grey and for colour-blind readers (ColorBrewer YlOrBr, 4 classes).
 */
export const STATUS_CLASSES = [
  { value: 1, label: 'hoch', color: '#ffffd4' },
  { value: 2, label: 'mittel', color: '#fed98e' },
  { value: 3, label: 'niedrig', color: '#fe9929' },
  { value: 4, label: 'sehr niedrig', color: '#b34402' },
];

/** MSS dynamics classes (1 positiv, 2 stabil, 3 negativ): blue / grey / red, "stabil" visible on the map. */
export const DYNAMICS_CLASSES = [
  { value: 1, label: 'positiv', color: '#2c7bb6' },
  { value: 2, label: 'stabil', color: '#b8b8b8' },
  { value: 3, label: 'negativ', color: '#d7301f' },
];

/** Label of class `value` in a list of discrete classes (STATUS_CLASSES, …); undefined if none. */
export function classLabel(list, value) {
  return list.find((c) => c.value === value)?.label;
}

/** Colour for values that are suppressed (disclosure control) or undefined (drawn hatched). */
export const NO_DATA_COLOR = '#f4f4f4';

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
  { value: `${s.value}+`, label: `${s.value}+ (${s.label}, Dynamik positiv)`, color: mix(s.color, '#ffffff', 0.55), status: s.value },
  { value: `${s.value}+/-`, label: `${s.value}+/- (${s.label}, Dynamik stabil)`, color: s.color, status: s.value },
  { value: `${s.value}-`, label: `${s.value}- (${s.label}, Dynamik negativ)`, color: mix(s.color, '#3b1d00', 0.45), status: s.value },
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

/**
 * `n` colours of a palette: its own n-class list (fewer than 3 classes take the ends of the
 * 3-class list); `reverse` flips dark and light.
 */
export function paletteColors(name, n, reverse = false) {
  const p = PALETTES[name] || PALETTES.neutral;
  let out;
  if (n <= 0) out = [];
  else if (p[n]) out = [...p[n]];
  else if (n < 3) out = n === 1 ? [p[3][1]] : [p[3][0], p[3][2]];
  else out = [...p[7]];
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

/** Population standard deviation of finite numbers (0 for fewer than two). */
export function stdDev(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  if (v.length < 2) return 0;
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
}

/**
 * Classes of change between two years: 5 classes symmetric around 0, "kaum verändert" within
 * ±½ standard deviation of the changes, "deutlich" beyond ±1½. `deltas`: one per feature (null
 * = no value in one of the years); `palette`: a CHANGE_PALETTES list (decrease → increase).
 * Same shape as classify(); each class also has `lower`/`upper` (open ends ±Infinity).
 */
export function changeClasses(deltas, palette, format = (x) => String(x)) {
  const sd = stdDev(deltas);
  const t1 = sd / 2;
  const t2 = sd * 1.5;
  const f = (x) => format(x);
  const defs = [
    { label: `deutlich gesunken (unter −${f(t2)})`, lower: -Infinity, upper: -t2 },
    { label: `gesunken (−${f(t2)} bis −${f(t1)})`, lower: -t2, upper: -t1 },
    { label: `kaum verändert (±${f(t1)})`, lower: -t1, upper: t1 },
    { label: `gestiegen (${f(t1)} bis ${f(t2)})`, lower: t1, upper: t2 },
    { label: `deutlich gestiegen (über ${f(t2)})`, lower: t2, upper: Infinity },
  ];
  const classes = defs.map((d, i) => ({ ...d, color: palette[i], count: 0 }));
  const idx = new Int32Array(deltas.length).fill(-1);
  deltas.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isFinite(d)) return;
    // boundaries belong to the calmer class: |d| = t1 is "kaum verändert"
    let c;
    if (d < -t2) c = 0;
    else if (d < -t1) c = 1;
    else if (d <= t1) c = 2;
    else if (d <= t2) c = 3;
    else c = 4;
    idx[i] = c;
  });
  let noData = 0;
  for (const c of idx) {
    if (c >= 0) classes[c].count++;
    else noData++;
  }
  return {
    classes,
    sd,
    thresholds: [t1, t2],
    noData: { count: noData, color: NO_DATA_COLOR },
    classIndex: (i) => idx[i],
    colorOf: (i) => (idx[i] >= 0 ? classes[idx[i]].color : NO_DATA_COLOR),
  };
}
