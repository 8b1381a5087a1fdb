// Small SVG charts for the analysis panel: histogram with class breaks, ranking bars with a
// reference line, scatter with regression line, lines over the years. Each returns an <svg>
// with role="img", a title and a description (read by screen readers); PNG export draws the
// SVG onto a canvas. German number format throughout. No state, no data loading.

import { num, esc } from './fmt.js';

const NS = 'http://www.w3.org/2000/svg';
const FONT = 'system-ui, "Segoe UI", Roboto, Arial, sans-serif';
let uid = 0;

/** An SVG element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

/** About `n` round tick values covering [lo, hi]. */
export function niceTicks(lo, hi, n = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  const out = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) out.push(Math.round(t / step) * step || 0);
  return out;
}

/** Decimals to print ticks with `step` between them. */
const tickDecimals = (ticks) => (ticks.length > 1 ? Math.max(0, -Math.floor(Math.log10(Math.abs(ticks[1] - ticks[0]) || 1) + 1e-9)) : 2);

function frame({ width, height, title, desc, margin }) {
  const id = `svgc${++uid}`;
  const svg = el('svg', { xmlns: NS, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${id}-t ${id}-d`, 'font-family': FONT, 'font-size': 11 });
  svg.appendChild(el('title', { id: `${id}-t` }, title));
  svg.appendChild(el('desc', { id: `${id}-d` }, desc));
  svg.appendChild(el('rect', { x: 0, y: 0, width, height, fill: '#ffffff' }));
  svg.appendChild(el('text', { x: margin.l, y: 16, 'font-size': 13, 'font-weight': 600, fill: '#111' }, title));
  return { svg, x0: margin.l, x1: width - margin.r, y0: height - margin.b, y1: margin.t };
}

function axisX(svg, f, ticks, scale, label, fmt) {
  svg.appendChild(el('line', { x1: f.x0, x2: f.x1, y1: f.y0, y2: f.y0, stroke: '#333' }));
  for (const t of ticks) {
    const x = scale(t);
    svg.appendChild(el('line', { x1: x, x2: x, y1: f.y0, y2: f.y0 + 4, stroke: '#333' }));
    svg.appendChild(el('text', { x, y: f.y0 + 15, 'text-anchor': 'middle', fill: '#333' }, fmt(t)));
  }
  if (label) svg.appendChild(el('text', { x: (f.x0 + f.x1) / 2, y: f.y0 + 30, 'text-anchor': 'middle', fill: '#111' }, label));
}

function axisY(svg, f, ticks, scale, label, fmt) {
  svg.appendChild(el('line', { x1: f.x0, x2: f.x0, y1: f.y0, y2: f.y1, stroke: '#333' }));
  for (const t of ticks) {
    const y = scale(t);
    svg.appendChild(el('line', { x1: f.x0 - 4, x2: f.x1, y1: y, y2: y, stroke: '#e3e3e3' }));
    svg.appendChild(el('text', { x: f.x0 - 6, y: y + 4, 'text-anchor': 'end', fill: '#333' }, fmt(t)));
  }
  if (label) svg.appendChild(el('text', { x: 12, y: (f.y0 + f.y1) / 2, transform: `rotate(-90 12 ${(f.y0 + f.y1) / 2})`, 'text-anchor': 'middle', fill: '#111' }, label));
}

/**
 * Equal-width bins over the values (about √n, 5–30 bins, edges on the tick grid when possible).
 * Returns [{lo, hi, count}]; a value on an inner edge counts in the lower bin, like the classes.
 */
export function bins(values, n) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return [];
  const lo = v[0];
  const hi = v[v.length - 1];
  const k = n || Math.max(5, Math.min(30, Math.round(Math.sqrt(v.length))));
  if (hi === lo) return [{ lo, hi, count: v.length }];
  const w = (hi - lo) / k;
  const out = Array.from({ length: k }, (_, i) => ({ lo: lo + i * w, hi: i === k - 1 ? hi : lo + (i + 1) * w, count: 0 }));
  for (const x of v) {
    let i = Math.ceil((x - lo) / w) - 1;
    i = Math.max(0, Math.min(k - 1, i));
    out[i].count++;
  }
  return out;
}

/**
 * Histogram of `values` with vertical lines at the class `breaks`; bars coloured by the class
 * of their middle (`colorOf(x)`); an optional shaded `range` [lo, hi].
 */
export function histogram({ values, breaks = [], colorOf = () => '#8c96a0', title, desc, xLabel, decimals = 2, width = 640, height = 280, range = null }) {
  const bs = bins(values);
  const f = frame({ width, height, title, desc, margin: { l: 48, r: 16, t: 30, b: 44 } });
  const svg = f.svg;
  if (!bs.length) return { svg, bins: bs };
  const lo = bs[0].lo;
  const hi = bs[bs.length - 1].hi;
  const sx = (x) => f.x0 + ((x - lo) / (hi - lo || 1)) * (f.x1 - f.x0);
  const max = Math.max(...bs.map((b) => b.count));
  const yt = niceTicks(0, max, 4).filter((t) => Number.isInteger(t));
  const top = Math.max(max, yt[yt.length - 1] || 1);
  const sy = (y) => f.y0 - (y / top) * (f.y0 - f.y1);
  axisY(svg, f, yt, sy, 'Anzahl Gebiete', (t) => num(t, 0));
  if (range) {
    const a = sx(Math.max(lo, range[0]));
    const b = sx(Math.min(hi, range[1]));
    if (b > a) svg.appendChild(el('rect', { x: a, y: f.y1, width: b - a, height: f.y0 - f.y1, fill: '#1f4e79', 'fill-opacity': 0.08, 'data-range': '' }));
  }
  for (const b of bs) {
    const x = sx(b.lo);
    const w = Math.max(1, sx(b.hi) - x - 1);
    svg.appendChild(
      el('rect', { x, y: sy(b.count), width: w, height: f.y0 - sy(b.count), fill: colorOf((b.lo + b.hi) / 2), stroke: '#555', 'stroke-width': 0.5, 'data-count': b.count }, el('title', {}, `${num(b.lo, decimals)} bis ${num(b.hi, decimals)}: ${b.count} Gebiete`)),
    );
  }
  for (const br of breaks) {
    if (br <= lo || br >= hi) continue;
    const x = sx(br);
    svg.appendChild(el('line', { x1: x, x2: x, y1: f.y1, y2: f.y0, stroke: '#111', 'stroke-width': 1.5, 'stroke-dasharray': '4 3', 'data-break': br }));
    svg.appendChild(el('text', { x: x + 3, y: f.y1 + 10, fill: '#111', 'font-size': 10 }, num(br, decimals)));
  }
  const xt = niceTicks(lo, hi, 6);
  const d = Math.min(decimals, tickDecimals(xt));
  axisX(svg, f, xt, sx, xLabel, (t) => num(t, d));
  return { svg, bins: bs };
}

/**
 * Horizontal bars, one row per entry ({label, value, color}), with a vertical reference line
 * ({value, label}); for PNG export of the ranking (the page shows an HTML list).
 */
export function barChart({ rows, reference, title, desc, decimals = 2, unit = '', width = 640 }) {
  const rowH = 14;
  const height = 46 + rows.length * rowH + 30;
  const f = frame({ width, height, title, desc, margin: { l: 200, r: 70, t: 34, b: 30 } });
  const svg = f.svg;
  const vals = rows.map((r) => r.value).concat(reference ? [reference.value] : []);
  const lo = Math.min(0, ...vals);
  const hi = Math.max(...vals);
  const sx = (x) => f.x0 + ((x - lo) / (hi - lo || 1)) * (f.x1 - f.x0);
  rows.forEach((r, i) => {
    const y = f.y1 + i * rowH;
    svg.appendChild(el('text', { x: f.x0 - 6, y: y + 10, 'text-anchor': 'end', fill: '#111' }, `${r.rank ? r.rank + '. ' : ''}${r.label}`));
    const a = sx(Math.min(0, r.value));
    const b = sx(Math.max(0, r.value));
    svg.appendChild(el('rect', { x: a, y: y + 2, width: Math.max(1, b - a), height: rowH - 4, fill: r.color || '#8c96a0', stroke: '#555', 'stroke-width': 0.4 }));
    svg.appendChild(el('text', { x: b + 4, y: y + 10, fill: '#333' }, `${num(r.value, decimals)}${unit ? ' ' + unit : ''}`));
  });
  if (reference && Number.isFinite(reference.value)) {
    const x = sx(reference.value);
    svg.appendChild(el('line', { x1: x, x2: x, y1: f.y1 - 4, y2: f.y1 + rows.length * rowH, stroke: '#111', 'stroke-width': 1.5, 'stroke-dasharray': '5 3' }));
    svg.appendChild(el('text', { x, y: f.y1 - 7, 'text-anchor': 'middle', fill: '#111', 'font-weight': 600 }, `${reference.label}: ${num(reference.value, decimals)}`));
  }
  return svg;
}

/** Least squares y = a + b·x and Pearson's r of paired finite values. */
export function regression(points) {
  const p = points.filter((q) => Number.isFinite(q.x) && Number.isFinite(q.y));
  const n = p.length;
  if (n < 3) return { n, a: NaN, b: NaN, r: NaN };
  const mx = p.reduce((s, q) => s + q.x, 0) / n;
  const my = p.reduce((s, q) => s + q.y, 0) / n;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (const q of p) {
    sxx += (q.x - mx) ** 2;
    syy += (q.y - my) ** 2;
    sxy += (q.x - mx) * (q.y - my);
  }
  const b = sxx ? sxy / sxx : NaN;
  return { n, a: my - b * mx, b, r: sxx && syy ? sxy / Math.sqrt(sxx * syy) : NaN };
}

/**
 * Scatter of `points` ({id, label, x, y, color, mark}) with the regression line; a click on a
 * point calls `onClick(id)`.
 */
export function scatter({ points, title, desc, xLabel, yLabel, xDecimals = 2, yDecimals = 2, onClick, width = 640, height = 380 }) {
  const f = frame({ width, height, title, desc, margin: { l: 56, r: 16, t: 30, b: 46 } });
  const svg = f.svg;
  const fit = regression(points);
  if (!points.length) return { svg, fit };
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const xt = niceTicks(Math.min(...xs), Math.max(...xs), 6);
  const yt = niceTicks(Math.min(...ys), Math.max(...ys), 5);
  const [xlo, xhi] = [Math.min(xt[0], ...xs), Math.max(xt[xt.length - 1], ...xs)];
  const [ylo, yhi] = [Math.min(yt[0], ...ys), Math.max(yt[yt.length - 1], ...ys)];
  const sx = (x) => f.x0 + ((x - xlo) / (xhi - xlo || 1)) * (f.x1 - f.x0);
  const sy = (y) => f.y0 - ((y - ylo) / (yhi - ylo || 1)) * (f.y0 - f.y1);
  axisY(svg, f, yt, sy, yLabel, (t) => num(t, Math.min(yDecimals, tickDecimals(yt))));
  axisX(svg, f, xt, sx, xLabel, (t) => num(t, Math.min(xDecimals, tickDecimals(xt))));
  for (const p of points) {
    const c = el('circle', { cx: sx(p.x), cy: sy(p.y), r: p.mark ? 4.5 : 3.5, fill: p.color || '#4a6fa5', 'fill-opacity': 0.8, stroke: p.mark ? '#000' : '#fff', 'stroke-width': p.mark ? 1.5 : 0.6, 'data-id': p.id, class: onClick ? 'pt' : null }, el('title', {}, `${p.label}: ${num(p.x, xDecimals)} / ${num(p.y, yDecimals)}`));
    if (onClick) c.addEventListener('click', () => onClick(p.id));
    svg.appendChild(c);
  }
  if (Number.isFinite(fit.b)) {
    const y = (x) => fit.a + fit.b * x;
    // the line ends at the plot area
    const clip = `clip${++uid}`;
    svg.appendChild(el('clipPath', { id: clip }, el('rect', { x: f.x0, y: f.y1, width: f.x1 - f.x0, height: f.y0 - f.y1 })));
    svg.appendChild(el('line', { x1: sx(xlo), y1: sy(y(xlo)), x2: sx(xhi), y2: sy(y(xhi)), stroke: '#b2182b', 'stroke-width': 2, 'clip-path': `url(#${clip})`, 'data-fit': '' }));
    svg.appendChild(el('text', { x: f.x1, y: 16, 'text-anchor': 'end', fill: '#b2182b', 'font-weight': 600 }, `Regressionsgerade, r = ${num(fit.r, 2)} (n = ${fit.n})`));
  }
  // the plot area clips nothing: points stay inside by construction
  return { svg, fit };
}

/** Line chart over the years: `series` [{label, values (aligned with years), color, dash}]. */
export function lineChart({ years, series, title, desc, yLabel, decimals = 2, width = 640, height = 300 }) {
  const f = frame({ width, height, title, desc, margin: { l: 56, r: 150, t: 30, b: 36 } });
  const svg = f.svg;
  const all = series.flatMap((s) => s.values).filter((v) => typeof v === 'number' && Number.isFinite(v));
  if (!all.length || !years.length) return svg;
  const yt = niceTicks(Math.min(...all), Math.max(...all), 5);
  const [ylo, yhi] = [Math.min(yt[0], ...all), Math.max(yt[yt.length - 1], ...all)];
  const sx = (i) => (years.length === 1 ? (f.x0 + f.x1) / 2 : f.x0 + 10 + (i / (years.length - 1)) * (f.x1 - f.x0 - 20));
  const sy = (y) => f.y0 - ((y - ylo) / (yhi - ylo || 1)) * (f.y0 - f.y1);
  axisY(svg, f, yt, sy, yLabel, (t) => num(t, Math.min(decimals, tickDecimals(yt))));
  svg.appendChild(el('line', { x1: f.x0, x2: f.x1, y1: f.y0, y2: f.y0, stroke: '#333' }));
  years.forEach((y, i) => svg.appendChild(el('text', { x: sx(i), y: f.y0 + 15, 'text-anchor': 'middle', fill: '#333' }, String(y))));
  series.forEach((s, k) => {
    let d = '';
    s.values.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) return;
      const prev = i > 0 && typeof s.values[i - 1] === 'number';
      d += `${prev && d ? 'L' : 'M'}${sx(i).toFixed(1)},${sy(v).toFixed(1)}`;
    });
    if (d) svg.appendChild(el('path', { d, fill: 'none', stroke: s.color, 'stroke-width': 2.2, 'stroke-dasharray': s.dash || null, 'data-series': s.label }));
    s.values.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) return;
      svg.appendChild(el('circle', { cx: sx(i), cy: sy(v), r: 3.2, fill: s.color, stroke: '#fff', 'stroke-width': 0.8 }, el('title', {}, `${s.label} ${years[i]}: ${num(v, decimals)}`)));
    });
    // legend on the right
    const ly = f.y1 + 8 + k * 16;
    svg.appendChild(el('line', { x1: f.x1 + 10, x2: f.x1 + 30, y1: ly, y2: ly, stroke: s.color, 'stroke-width': 2.5, 'stroke-dasharray': s.dash || null }));
    svg.appendChild(el('text', { x: f.x1 + 34, y: ly + 4, fill: '#111' }, s.label.length > 20 ? s.label.slice(0, 19) + '…' : s.label));
  });
  return svg;
}

/** PNG (as a Blob) of an <svg>, at `scale` times its size. */
export function svgToPng(svg, scale = 2) {
  const w = Number(svg.getAttribute('width'));
  const h = Number(svg.getAttribute('height'));
  const text = new XMLSerializer().serializeToString(svg);
  const img = new Image();
  const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml;charset=utf-8' }));
  return new Promise((resolve, reject) => {
    img.onload = () => {
      const c = document.createElement('canvas');
      c.width = Math.round(w * scale);
      c.height = Math.round(h * scale);
      const g = c.getContext('2d');
      g.scale(scale, scale);
      g.drawImage(img, 0, 0);
      URL.revokeObjectURL(url);
      c.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG konnte nicht erzeugt werden'))), 'image/png');
    };
    img.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error('Diagramm konnte nicht gezeichnet werden'));
    };
    img.src = url;
  });
}

/** HTML-escaped text (re-exported for the chart views). */
export { esc };
