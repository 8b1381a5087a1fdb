// Exports: the current table as CSV (for Excel: `;`, decimal comma, UTF-8 BOM) and the map
// view as PNG (the canvas renderer's pixels plus title, legend and source line).

import { $, download } from './dom.js';
import { state, ctx, variable } from './state.js';

/**
 * One cell of a CSV for German Excel: decimal comma, numbers rounded to `decimals` (as the map
 * shows them), booleans as ja/nein, `text: true` keeps ids as text (="01100101": Excel would
 * drop the leading zero of a plain number), quotes where needed.
 */
export function cell(v, { decimals = null, text = false } = {}) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '';
    const r = decimals === null ? v : Number(v.toFixed(decimals));
    return String(Object.is(r, -0) ? 0 : r).replace('.', ',');
  }
  if (typeof v === 'boolean') return v ? 'ja' : 'nein';
  const s = String(v);
  if (text) return `="${s.replace(/"/g, '""')}"`;
  return /[;"\n\r]/.test(s) || /^[=+\-@]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text for Excel (UTF-8 BOM, `;`, CRLF) from a header and rows of ready cells. */
export function csvDocument(head, rows) {
  return '\ufeff' + [head.map((h) => cell(h)).join(';'), ...rows.map((r) => r.join(';'))].join('\r\n') + '\r\n';
}

/** Downloads CSV text as `name`. */
export function downloadCsv(text, name) {
  download(new Blob([text], { type: 'text/csv;charset=utf-8' }), name);
}

/** The current table (areas of the level, values of the year) as CSV text for Excel. */
export function csvText() {
  const v = variable();
  const cols = [
    ['id', 'ID', { text: true }],
    ['name', 'Name', {}],
    ['parent', 'übergeordnet (ID)', { text: true }],
    ['year', 'Jahr', {}],
    ['residents', 'Einwohner:innen', { decimals: 0 }],
  ];
  const dec = (id) => ctx.cat.indicators.find((i) => i.id === id)?.decimals ?? 2;
  cols.push([v.id, `${v.title}${v.unit ? ' (' + v.unit + ')' : ''}`, { decimals: v.kind === 'numeric' ? v.decimals : null }]);
  for (const ind of ctx.cat.indicators) {
    if (ind.id === v.id) continue;
    cols.push([ind.id, `${ind.title}${ind.unit ? ' (' + ind.unit + ')' : ''}`, { decimals: dec(ind.id) }]);
  }
  for (const idx of ctx.cat.indices.filter((i) => i.level === state.level)) {
    for (const [part, t, d] of [
      ['status_value', 'Statusindex', 2],
      ['status_class', 'Statusklasse', 0],
      ['dynamics_class', 'Dynamikklasse', 0],
      ['group', 'Gesamtindex', null],
      ['attention', 'Sozialraumgebiet', null],
    ]) {
      const c = `${idx.id}_${part}`;
      if (c === v.id) continue;
      cols.push([c, `${idx.title}: ${t}`, { decimals: d }]);
    }
  }
  const rows = ctx.features.map((f) => {
    const ci = ctx.classes.classIndex(f._i);
    const cls = ci >= 0 ? ctx.classes.classes[ci].label : 'keine Angabe';
    return [...cols.map(([c, , o]) => cell(f.properties[c], o)), cell(cls)];
  });
  return csvDocument([...cols.map((c) => c[1]), 'Kartenklasse'], rows);
}

/** Downloads the current table. */
export function exportCsv() {
  download(new Blob([csvText()], { type: 'text/csv;charset=utf-8' }), `kleinraum_${state.level}_${state.year}_${state.indicator}.csv`);
}

/** Renders the map view with title and legend into a canvas. */
export async function mapCanvas(map, renderer) {
  const size = map.getSize();
  const dpr = window.devicePixelRatio || 1;
  const legendRows = [...ctx.classes.classes.map((c) => [c.color, c.label, c.count])];
  if (ctx.classes.noData.count) legendRows.push(['#f4f4f4', 'keine Angabe', ctx.classes.noData.count]);
  if (state.srg && ctx.srgInfo) legendRows.push(['srg', `Sozialraumgebiet (${ctx.srgInfo.year})`, ctx.srgIds.size]);
  const head = 34;
  const foot = 22;
  const out = document.createElement('canvas');
  out.width = Math.round(size.x * dpr);
  out.height = Math.round((size.y + head + foot) * dpr);
  const g = out.getContext('2d');
  g.scale(dpr, dpr);
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, size.x, size.y + head + foot);
  g.fillStyle = '#eef0f2';
  g.fillRect(0, head, size.x, size.y);
  // the renderer's canvas is larger than the view (padding) and offset in the map pane
  const canvas = renderer._container;
  const mapRect = map.getContainer().getBoundingClientRect();
  const cRect = canvas.getBoundingClientRect();
  g.drawImage(canvas, cRect.left - mapRect.left, cRect.top - mapRect.top + head, cRect.width, cRect.height);
  // facility clusters are DOM icons, not canvas pixels: draw them (single points are on the canvas)
  for (const [cat, group] of ctx.facilityLayers) {
    if (!map.hasLayer(group) || !group._featureGroup) continue;
    const color = ctx.facilityCats.find((c) => c.id === cat)?.color || '#888';
    group._featureGroup.eachLayer((l) => {
      if (typeof l.getChildCount !== 'function') return;
      const p = map.latLngToContainerPoint(l.getLatLng());
      const n = l.getChildCount();
      const r = n < 10 ? 12 : n < 100 ? 15 : 19;
      g.beginPath();
      g.arc(p.x, p.y + head, r, 0, 2 * Math.PI);
      g.fillStyle = color;
      g.fill();
      g.lineWidth = 2;
      g.strokeStyle = '#fff';
      g.stroke();
      g.lineWidth = 1;
      g.fillStyle = '#000';
      g.font = '600 12px system-ui, sans-serif';
      g.textAlign = 'center';
      g.fillText(String(n), p.x, p.y + head + 4);
      g.textAlign = 'start';
    });
  }
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, size.x, head);
  g.fillRect(0, head + size.y, size.x, foot);
  const v = variable();
  g.fillStyle = '#111';
  g.font = '600 16px system-ui, sans-serif';
  g.fillText($('map-title').textContent, 10, 22);
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#444';
  g.fillText(`Quelle: kleinraum (${location.host}), ${new Date().toLocaleDateString('de-DE')} · ${v.source || ''}`, 10, head + size.y + 15);
  // legend box
  g.font = '12px system-ui, sans-serif';
  const w = Math.min(320, 40 + Math.max(...legendRows.map((r) => g.measureText(`${r[1]}  (${r[2]})`).width)));
  const h = 10 + legendRows.length * 18;
  const x0 = 10;
  const y0 = head + size.y - h - 10;
  g.fillStyle = 'rgba(255,255,255,0.93)';
  g.fillRect(x0, y0, w, h);
  g.strokeStyle = '#999';
  g.strokeRect(x0, y0, w, h);
  legendRows.forEach(([color, label, n], i) => {
    const y = y0 + 6 + i * 18;
    if (color === 'srg') {
      g.strokeStyle = '#000';
      g.lineWidth = 2;
      g.strokeRect(x0 + 7, y + 1, 22, 11);
      g.lineWidth = 1;
    } else {
      g.fillStyle = color;
      g.fillRect(x0 + 6, y, 24, 13);
      g.strokeStyle = '#777';
      g.strokeRect(x0 + 6, y, 24, 13);
    }
    g.fillStyle = '#111';
    g.fillText(`${label}  (${n})`, x0 + 36, y + 11);
  });
  return out;
}

/** Downloads the map view as PNG. */
export async function exportPng(map, renderer) {
  const c = await mapCanvas(map, renderer);
  const blob = await new Promise((r) => c.toBlob(r, 'image/png'));
  download(blob, `kleinraum_${state.level}_${state.year}_${state.indicator}.png`);
}
