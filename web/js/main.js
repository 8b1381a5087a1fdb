// kleinraum web map: choropleth of indicators and MSS classes, Sozialraumgebiete, facilities,
// Steckbrief (profile) panel, permalink and exports. Reads only the public API.

import * as api from './api.js';
import { classify, PALETTES } from './classify.js';
import { num, esc } from './fmt.js';
import { openProfile, closeProfile, profileArea } from './profile.js';
import { exportCsv, exportPng } from './export.js';
import { initRedefine } from './redefine.js';

const L = window.L;
const $ = (id) => document.getElementById(id);

/** Okabe–Ito colours (colour-blind safe) for facility categories. */
const FACILITY_COLORS = ['#E69F00', '#56B4E9', '#009E73', '#CC79A7', '#0072B2', '#D55E00', '#F0E442'];

/** Application state; everything in it is part of the permalink. */
export const state = {
  level: null,
  year: null,
  indicator: null,
  method: 'quantile',
  k: 5,
  srg: true,
  srgIndex: null,
  facilities: [],
  area: null,
  view: null,
};

/** Loaded metadata and layers. */
export const ctx = {
  cat: null, // /indicators
  levels: [], // area collections [{id,title}]
  facilityCats: [], // facility collections [{id,title,color}]
  features: [], // current level's features (current year's properties)
  byId: new Map(),
  layer: null, // L.GeoJSON of the areas
  srgLayer: null, // overlay of the flagged areas
  classes: null, // result of classify()
  srgIds: new Set(),
  srgInfo: null, // index ranking used for the Sozialraumgebiete
  facilityLayers: new Map(),
  facilityData: new Map(),
  city: new Map(), // year → properties of the gesamt area
};

// ---------------------------------------------------------------------------------------------
// Canvas renderer with hatch patterns: Leaflet's canvas renderer fills with a colour only.

function hatchPattern(ctx2d, color, bg, gap) {
  const c = document.createElement('canvas');
  c.width = c.height = gap;
  const g = c.getContext('2d');
  if (bg) {
    g.fillStyle = bg;
    g.fillRect(0, 0, gap, gap);
  }
  g.strokeStyle = color;
  g.lineWidth = gap / 5;
  g.beginPath();
  // a diagonal that tiles seamlessly
  g.moveTo(0, gap);
  g.lineTo(gap, 0);
  g.moveTo(-gap / 2, gap / 2);
  g.lineTo(gap / 2, -gap / 2);
  g.moveTo(gap / 2, gap * 1.5);
  g.lineTo(gap * 1.5, gap / 2);
  g.stroke();
  return ctx2d.createPattern(c, 'repeat');
}

const HatchCanvas = L.Canvas.extend({
  _fillStroke(c, layer) {
    const o = layer.options;
    if (o.fill) {
      c.globalAlpha = o.fillOpacity;
      c.fillStyle = o.fillColor || o.color;
      c.fill(o.fillRule || 'evenodd');
      if (o.hatch) {
        this._patterns = this._patterns || {};
        const key = o.hatch;
        if (!this._patterns[key]) {
          this._patterns[key] = key === 'srg' ? hatchPattern(c, 'rgba(0,0,0,0.85)', null, 9) : hatchPattern(c, '#8a8a8a', null, 6);
        }
        c.globalAlpha = 1;
        c.fillStyle = this._patterns[key];
        c.fill(o.fillRule || 'evenodd');
      }
    }
    if (o.stroke && o.weight !== 0) {
      if (c.setLineDash) c.setLineDash((layer.options && layer.options._dashArray) || []);
      c.globalAlpha = o.opacity;
      c.lineWidth = o.weight;
      c.strokeStyle = o.color;
      c.lineCap = o.lineCap;
      c.lineJoin = o.lineJoin;
      c.stroke();
    }
  },
});

// ---------------------------------------------------------------------------------------------
// Indicator choices

/** Describes the selected map variable: an indicator or an index part. */
export function variable(id = state.indicator) {
  const ind = ctx.cat.indicators.find((i) => i.id === id);
  if (ind) {
    const palette = ind.polarity === 'higher_is_worse' ? 'worse' : ind.polarity === 'higher_is_better' ? 'better' : 'neutral';
    return {
      id,
      kind: 'numeric',
      title: ind.title,
      unit: ind.unit || '',
      decimals: ind.decimals ?? 2,
      palette,
      // higher_is_better: dark = low supply
      reverse: ind.polarity === 'higher_is_better',
      description: ind.description || ind.formula || '',
      source: ind.source || '',
      indicator: ind,
    };
  }
  for (const idx of ctx.cat.indices) {
    const parts = {
      [`${idx.id}_group`]: { kind: 'group', title: `${idx.title}: Gesamtindex` },
      [`${idx.id}_status_class`]: { kind: 'status', title: `${idx.title}: Statusindex (Klassen)` },
      [`${idx.id}_dynamics_class`]: { kind: 'dynamics', title: `${idx.title}: Dynamikindex (Klassen)` },
      [`${idx.id}_status_value`]: { kind: 'numeric', title: `${idx.title}: Statusindex (z-Wert)`, palette: 'worse', decimals: 2 },
    };
    if (parts[id]) {
      return {
        id,
        unit: '',
        decimals: 2,
        palette: 'worse',
        reverse: false,
        description: `Gestuftes Indexverfahren (${idx.method}); Status aus ${idx.status.join(', ')}, Dynamik aus ${idx.dynamics.join(', ')}; Schwellen Status ${idx.status_thresholds.join(' / ')}, Dynamik ${idx.dynamics_thresholds.join(' / ')}.`,
        source: '',
        index: idx,
        ...parts[id],
      };
    }
  }
  return null;
}

function indicesOf(level) {
  return ctx.cat.indices.filter((i) => i.level === level);
}

function fillIndicatorSelect() {
  const sel = $('indicator');
  const idx = indicesOf(state.level);
  let html = '';
  if (idx.length) {
    for (const i of idx) {
      html += `<optgroup label="${esc(i.title)}">`;
      html += `<option value="${esc(i.id)}_group">Gesamtindex (Status/Dynamik)</option>`;
      html += `<option value="${esc(i.id)}_status_class">Statusindex – Klassen</option>`;
      html += `<option value="${esc(i.id)}_dynamics_class">Dynamikindex – Klassen</option>`;
      html += `<option value="${esc(i.id)}_status_value">Statusindex – z-Wert</option>`;
      html += '</optgroup>';
    }
  }
  html += '<optgroup label="Indikatoren">';
  for (const i of ctx.cat.indicators) html += `<option value="${esc(i.id)}">${esc(i.title)}${i.unit ? ' (' + esc(i.unit) + ')' : ''}</option>`;
  html += '</optgroup>';
  sel.innerHTML = html;
  if (!variable(state.indicator) || (variable(state.indicator).index && variable(state.indicator).index.level !== state.level)) {
    state.indicator = idx.length ? `${idx[0].id}_status_class` : ctx.cat.indicators[0].id;
  }
  sel.value = state.indicator;

  const srgSel = $('srg-index');
  srgSel.innerHTML = idx.map((i) => `<option value="${esc(i.id)}">${esc(i.title)}</option>`).join('');
  if (!idx.some((i) => i.id === state.srgIndex)) state.srgIndex = idx.length ? idx[0].id : null;
  srgSel.value = state.srgIndex || '';
  srgSel.disabled = $('srg').disabled = !idx.length;
  $('srg-note').textContent = idx.length ? '' : 'Auf dieser Ebene wird kein Index berechnet (Sozialraumgebiete gibt es nur auf der Ebene der Indexberechnung).';
}

// ---------------------------------------------------------------------------------------------
// Permalink

const HASH_KEYS = { level: 'l', year: 'y', indicator: 'i', method: 'm', k: 'k', srg: 's', srgIndex: 'x', facilities: 'f', area: 'a', view: 'v' };

function writeHash() {
  const p = new URLSearchParams();
  for (const [k, short] of Object.entries(HASH_KEYS)) {
    let v = state[k];
    if (v === null || v === undefined) continue;
    if (k === 'srg') v = v ? '1' : '0';
    if (k === 'facilities') {
      if (!v.length) continue;
      v = v.join(',');
    }
    p.set(short, String(v));
  }
  const h = '#' + p.toString().replace(/%2C/g, ',').replace(/%2F/g, '/');
  if (location.hash !== h) history.replaceState(null, '', h);
}

function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  const out = {};
  for (const [k, short] of Object.entries(HASH_KEYS)) {
    const v = p.get(short);
    if (v === null || v === '') continue;
    if (k === 'year' || k === 'k') out[k] = Number(v);
    else if (k === 'srg') out[k] = v === '1';
    else if (k === 'facilities') out[k] = v.split(',').filter(Boolean);
    else out[k] = v;
  }
  return out;
}

function viewString() {
  const c = map.getCenter();
  return `${map.getZoom()}/${c.lat.toFixed(5)}/${c.lng.toFixed(5)}`;
}

// ---------------------------------------------------------------------------------------------
// Map

let map;
let renderer;
let busy = 0;
let idleWaiters = [];

function setBusy(d, msg) {
  busy += d;
  $('status').textContent = busy > 0 ? msg || 'Lade Daten …' : '';
  if (busy === 0) {
    const w = idleWaiters;
    idleWaiters = [];
    // resolve after Leaflet's canvas redraw (scheduled on the next animation frame)
    requestAnimationFrame(() => requestAnimationFrame(() => w.forEach((f) => f())));
  }
}

function showError(e) {
  console.warn(e);
  $('status').textContent = `Fehler: ${e.message || e}`;
}

function areaValue(f, v = variable()) {
  const x = f.properties[v.id];
  return x === undefined ? null : x;
}

function fmtValue(x, v = variable()) {
  if (x === null || x === undefined) return 'keine Angabe';
  if (v.kind === 'status' || v.kind === 'dynamics') {
    const label = classify([x], { kind: v.kind }).classes.find((c) => c.value === x)?.label;
    return `${x} (${label})`;
  }
  if (typeof x === 'number') return `${num(x, v.decimals)}${v.unit ? ' ' + v.unit : ''}`;
  return String(x);
}

function styleFor(i) {
  const isNo = ctx.classes.classIndex(i) < 0;
  return {
    renderer,
    fillColor: ctx.classes.colorOf(i),
    fillOpacity: isNo ? 0.55 : 0.85,
    hatch: isNo ? 'nodata' : null,
    color: '#ffffff',
    weight: 0.6,
    opacity: 1,
  };
}

/** Recomputes the classes of the current variable and restyles every area. */
function recolour() {
  const v = variable();
  const values = ctx.features.map((f) => areaValue(f, v));
  ctx.classes = classify(values, {
    kind: v.kind,
    method: state.method,
    k: state.k,
    palette: v.palette,
    reverse: v.reverse,
    format: (x) => num(x, v.decimals),
  });
  if (ctx.layer) ctx.layer.eachLayer((l) => l.setStyle(styleFor(l.feature._i)));
  const noValues = ctx.classes.noData.count === ctx.features.length;
  $('method').disabled = $('classes').disabled = v.kind !== 'numeric';
  $('indicator-desc').textContent = v.description + (v.source ? ` Quelle: ${v.source}` : '');
  const levelTitle = ctx.levels.find((l) => l.id === state.level)?.title || state.level;
  $('map-title').textContent = `${v.title}${v.unit ? ' (' + v.unit + ')' : ''} · ${state.year} · ${levelTitle}`;
  if (noValues) $('status').textContent = `Für ${state.year} liegen keine Werte für „${v.title}“ vor.`;
  else if (busy === 0) $('status').textContent = '';
  renderLegend();
}

function renderLegend() {
  const v = variable();
  const c = ctx.classes;
  const methodName = { quantile: 'Quantile', equal: 'gleiche Intervalle', jenks: 'natürliche Brüche (Jenks)' }[state.method];
  let h = `<h3>${esc(v.title)}${v.unit ? ' (' + esc(v.unit) + ')' : ''}, ${state.year}</h3>`;
  if (v.kind === 'numeric') h += `<div class="hint">Klassierung: ${esc(methodName)}</div>`;
  h += '<table>';
  c.classes.forEach((cl, i) => {
    h += `<tr data-class="${i}"><td><span class="swatch" style="background:${cl.color}"></span></td><td>${esc(cl.label)}</td><td class="n" data-count>${cl.count}</td></tr>`;
  });
  h += `<tr data-class="nodata"><td><span class="swatch nodata" style="background-color:${c.noData.color}"></span></td><td>keine Angabe (geheim gehalten, zu wenige Einwohner:innen oder nicht berechnet)</td><td class="n" data-count>${c.noData.count}</td></tr>`;
  if (state.srg && ctx.srgInfo) {
    h += `<tr data-class="srg"><td><span class="swatch srg"></span></td><td>Sozialraumgebiet (${esc(ctx.srgInfo.title)} ${ctx.srgInfo.year})</td><td class="n" data-count>${ctx.srgIds.size}</td></tr>`;
  }
  h += '</table>';
  $('legend').innerHTML = h;
}

function tooltipHtml(f) {
  const p = f.properties;
  const v = variable();
  const srg = ctx.srgIds.has(p.id) ? '<br><b>Sozialraumgebiet</b>' : '';
  return `<b>${esc(p.name)}</b> (${esc(p.id)})<br>${esc(v.title)}: ${esc(fmtValue(areaValue(f, v), v))}${srg}`;
}

async function loadLevel(fit) {
  setBusy(1, 'Lade Gebiete …');
  try {
    const features = await api.areas(state.level, state.year);
    if (!performance.getEntriesByName('kleinraum-data').length) performance.mark('kleinraum-data');
    if (ctx.layer) ctx.layer.remove();
    if (ctx.srgLayer) ctx.srgLayer.remove();
    ctx.srgLayer = null;
    features.forEach((f, i) => (f._i = i));
    ctx.features = features;
    ctx.byId = new Map(features.map((f) => [f.properties.id, f]));
    ctx.layer = null;
    recolour(); // classes first, so each polygon is created with its final style
    const layer = L.geoJSON(
      { type: 'FeatureCollection', features },
      {
        style: (f) => styleFor(f._i),
        onEachFeature: (f, l) => {
          l.bindTooltip(() => tooltipHtml(f), { sticky: true, className: 'area-tip', direction: 'top' });
          l.on('click', () => selectArea(f.properties.id, false));
          l.on('mouseover', () => l.setStyle({ weight: 2.5, color: '#222' }));
          l.on('mouseout', () => l.setStyle({ weight: 0.6, color: '#fff' }));
        },
      },
    );
    // fit before adding: the polygons are projected once, at the final zoom
    if (fit) map.fitBounds(layer.getBounds(), { padding: [8, 8], animate: false });
    ctx.layer = layer.addTo(map);
    if (!performance.getEntriesByName('kleinraum-first-render').length) {
      // Leaflet's canvas draws on the next animation frame; the mark follows it
      requestAnimationFrame(() => requestAnimationFrame(() => performance.mark('kleinraum-first-render')));
    }
    fillSearch();
    await Promise.all([loadCity(), loadSrg()]);
  } finally {
    setBusy(-1);
  }
}

async function loadYear() {
  setBusy(1, 'Lade Werte …');
  try {
    const features = await api.areas(state.level, state.year);
    // same areas, new properties: keep the drawn layers, swap the values
    for (const f of features) {
      const old = ctx.byId.get(f.properties.id);
      if (old) old.properties = f.properties;
    }
    recolour();
    await loadCity();
    if (state.area) openProfile(state.area);
  } finally {
    setBusy(-1);
  }
}

async function loadCity() {
  if (!ctx.levels.some((l) => l.id === 'gesamt')) return;
  if (ctx.city.has(state.year)) return;
  const f = await api.areas('gesamt', state.year);
  if (f.length) ctx.city.set(state.year, f[0].properties);
}

/** Marks the Sozialraumgebiete of the selected index (its latest year with values). */
async function loadSrg() {
  ctx.srgIds = new Set();
  ctx.srgInfo = null;
  if (ctx.srgLayer) {
    ctx.srgLayer.remove();
    ctx.srgLayer = null;
  }
  const idx = indicesOf(state.level).find((i) => i.id === state.srgIndex);
  const list = $('srg-list');
  if (!idx) {
    list.innerHTML = '';
    $('srg-list-section').hidden = true;
    renderLegend();
    return;
  }
  const rank = await api.indexRanking(state.level, idx.id);
  ctx.srgInfo = rank;
  const flagged = rank.areas.filter((a) => a.attention === true);
  ctx.srgIds = new Set(flagged.map((a) => a.id));
  $('srg-list-section').hidden = false;
  $('srg-list-title').textContent = `Sozialraumgebiete ${rank.year} (${flagged.length}), nach Statusindex`;
  list.innerHTML = flagged
    .map((a) => `<li><button type="button" data-id="${esc(a.id)}">${esc(a.name)}</button> <span class="grp">${esc(a.group || '')} · ${num(a.status_value, 2)}</span></li>`)
    .join('');
  if (state.srg) {
    const feats = ctx.features.filter((f) => ctx.srgIds.has(f.properties.id));
    ctx.srgLayer = L.geoJSON(
      { type: 'FeatureCollection', features: feats },
      { interactive: false, style: { renderer, fill: true, fillColor: '#000', fillOpacity: 0, hatch: 'srg', color: '#000', weight: 2.2, opacity: 1 } },
    ).addTo(map);
  }
  renderLegend();
}

function fillSearch() {
  $('search-list').innerHTML = ctx.features
    .map((f) => `<option value="${esc(f.properties.name)} (${esc(f.properties.id)})"></option>`)
    .join('');
}

function findArea(q) {
  q = q.trim().toLowerCase();
  if (!q) return null;
  const m = q.match(/\(([^)]+)\)\s*$/);
  if (m && ctx.byId.has(m[1])) return ctx.byId.get(m[1]);
  const exactId = ctx.features.find((f) => f.properties.id.toLowerCase() === q);
  if (exactId) return exactId;
  return (
    ctx.features.find((f) => f.properties.name.toLowerCase() === q) ||
    ctx.features.find((f) => f.properties.name.toLowerCase().startsWith(q)) ||
    ctx.features.find((f) => f.properties.name.toLowerCase().includes(q) || f.properties.id.startsWith(q))
  );
}

let highlightLayer = null;

/** Outlines area `id` (black over white: visible on every fill colour); null removes the outline. */
export function highlight(id) {
  if (highlightLayer) highlightLayer.remove();
  highlightLayer = null;
  const f = id && ctx.byId.get(id);
  if (!f) return;
  highlightLayer = L.layerGroup([
    L.geoJSON(f, { interactive: false, style: { renderer, fill: false, color: '#fff', weight: 6, opacity: 1 } }),
    L.geoJSON(f, { interactive: false, style: { renderer, fill: false, color: '#000', weight: 3, opacity: 1 } }),
  ]).addTo(map);
}

/** Opens the profile of area `id`; `zoom` fits the map to it. */
export function selectArea(id, zoom) {
  const f = ctx.byId.get(id);
  if (!f) return;
  state.area = id;
  if (zoom) {
    const l = ctx.layer.getLayers().find((x) => x.feature === f);
    // on narrow screens the panel overlays the map's right side: keep the area left of it
    const overlay = window.matchMedia('(max-width: 1100px)').matches ? Math.min(416, window.innerWidth * 0.92) : 0;
    if (l) map.fitBounds(l.getBounds(), { maxZoom: 14, paddingTopLeft: [30, 30], paddingBottomRight: [30 + overlay, 30] });
  }
  writeHash();
  highlight(id);
  track(openProfile(id));
}

// ---------------------------------------------------------------------------------------------
// Facilities

async function facilityFeatures(cat) {
  if (!ctx.facilityData.has(cat)) ctx.facilityData.set(cat, api.allItems(cat));
  return ctx.facilityData.get(cat);
}

function clusterIcon(color) {
  return (cluster) => {
    const n = cluster.getChildCount();
    const size = n < 10 ? 28 : n < 100 ? 34 : 42;
    return L.divIcon({
      html: `<div style="background:${color};width:${size}px;height:${size}px;line-height:${size}px;border-radius:50%;border:2px solid #fff;color:#000;font-weight:600;text-align:center;box-shadow:0 0 0 1px #333">${n}</div>`,
      className: 'fac-cluster',
      iconSize: [size, size],
    });
  };
}

async function setFacility(cat, on) {
  const info = ctx.facilityCats.find((c) => c.id === cat);
  if (!info) return;
  if (!on) {
    ctx.facilityLayers.get(cat)?.remove();
  } else {
    if (!ctx.facilityLayers.has(cat)) {
      setBusy(1, `Lade ${info.title} …`);
      try {
        const feats = await facilityFeatures(cat);
        const group = L.markerClusterGroup({
          iconCreateFunction: clusterIcon(info.color),
          disableClusteringAtZoom: 16,
          maxClusterRadius: 50,
          chunkedLoading: true,
        });
        const markers = feats
          .filter((f) => f.geometry && f.geometry.type === 'Point')
          .map((f) => {
            const [x, y] = f.geometry.coordinates;
            const p = f.properties;
            const m = L.circleMarker([y, x], { radius: 6, color: '#222', weight: 1, fillColor: info.color, fillOpacity: 0.95 });
            m.bindPopup(
              `<b>${esc(p.name || p.id)}</b><br>${esc(info.title)}<br>Kapazität: ${p.capacity === null || p.capacity === undefined ? 'keine Angabe' : num(p.capacity, 0)}`,
            );
            return m;
          });
        group.addLayers(markers);
        ctx.facilityLayers.set(cat, group);
      } finally {
        setBusy(-1);
      }
    }
    if (state.facilities.includes(cat)) ctx.facilityLayers.get(cat).addTo(map);
  }
}

function fillFacilities() {
  $('facilities').innerHTML = ctx.facilityCats
    .map(
      (c) =>
        `<label class="check"><input type="checkbox" value="${esc(c.id)}" ${state.facilities.includes(c.id) ? 'checked' : ''}><span class="swatch" style="background:${c.color};width:.9em;border-radius:50%"></span> ${esc(c.title)}</label>`,
    )
    .join('');
}

// ---------------------------------------------------------------------------------------------
// Wiring

let pending = [];
function track(p) {
  const q = Promise.resolve(p).catch(showError);
  pending.push(q);
  q.finally(() => (pending = pending.filter((x) => x !== q)));
  return q;
}

async function applyState(prev) {
  if (prev.level !== state.level) {
    fillIndicatorSelect();
    closeProfile(false);
    if (prev.level !== undefined) state.area = null;
    await loadLevel(true);
  } else if (prev.year !== state.year) {
    await loadYear();
  } else {
    if (prev.srgIndex !== state.srgIndex || prev.srg !== state.srg) await loadSrg();
    recolour();
    if (state.area && prev.indicator !== state.indicator) openProfile(state.area);
  }
  $('year-out').textContent = state.year;
  writeHash();
}

function change(patch) {
  const prev = { ...state };
  Object.assign(state, patch);
  return track(applyState(prev));
}

async function init() {
  const tiles = document.querySelector('meta[name="kleinraum-tiles"]')?.content?.trim();
  renderer = new HatchCanvas({ padding: 0.3 });
  map = L.map('map', { renderer, preferCanvas: true, zoomSnap: 0.25, attributionControl: true, minZoom: 8, maxZoom: 18 });
  map.attributionControl.setPrefix('Leaflet');
  if (tiles) {
    const [url, attribution] = tiles.split('|');
    L.tileLayer(url, { attribution: attribution || '' }).addTo(map);
  }
  map.setView([51, 10], 8);

  // the map container changes size when the profile panel opens or closes
  new ResizeObserver(() => map.invalidateSize({ pan: false })).observe(map.getContainer());
  const [cat, cols, landing] = await Promise.all([api.catalogue(), api.collections(), api.getJSON('?f=json')]);
  ctx.cat = cat;
  // area levels have a temporal extent, facility categories none
  ctx.levels = cols.collections.filter((c) => c.extent && c.extent.temporal).map((c) => ({ id: c.id, title: c.title }));
  ctx.facilityCats = cols.collections
    .filter((c) => !(c.extent && c.extent.temporal))
    .map((c, i) => ({ id: c.id, title: c.title, color: FACILITY_COLORS[i % FACILITY_COLORS.length] }));
  map.attributionControl.addAttribution('Daten: kleinraum-API');

  const mapLevels = ctx.levels.filter((l) => l.id !== 'gesamt');
  $('level').innerHTML = mapLevels.map((l) => `<option value="${esc(l.id)}">${esc(l.title)}</option>`).join('');
  const years = cat.years;
  const yr = $('year');
  yr.min = years[0];
  yr.max = years[years.length - 1];
  $('year-ticks').innerHTML = years.map((y) => `<span>${y}</span>`).join('');

  // defaults: the finest level and the first index's latest year; then the permalink
  const firstIdx = cat.indices[0];
  Object.assign(state, {
    level: mapLevels[0].id,
    year: firstIdx && firstIdx.years.length ? firstIdx.years[firstIdx.years.length - 1] : years[years.length - 1],
    indicator: firstIdx ? `${firstIdx.id}_status_class` : cat.indicators[0].id,
    srgIndex: firstIdx ? firstIdx.id : null,
  });
  const h = readHash();
  Object.assign(state, h);
  if (!mapLevels.some((l) => l.id === state.level)) state.level = mapLevels[0].id;
  if (!years.includes(state.year)) state.year = years[years.length - 1];
  if (![3, 4, 5, 6, 7].includes(state.k)) state.k = 5;
  if (!['quantile', 'equal', 'jenks'].includes(state.method)) state.method = 'quantile';
  state.facilities = state.facilities.filter((f) => ctx.facilityCats.some((c) => c.id === f));

  $('level').value = state.level;
  yr.value = state.year;
  $('year-out').textContent = state.year;
  $('method').value = state.method;
  $('classes').value = String(state.k);
  $('srg').checked = state.srg;
  fillFacilities();
  fillIndicatorSelect();
  const view = state.view;
  await loadLevel(!view);
  await Promise.all(state.facilities.map((c) => setFacility(c, true)));
  if (state.area && ctx.byId.has(state.area)) {
    highlight(state.area);
    await openProfile(state.area);
  }
  else state.area = null;
  // The view is set last, once the profile panel has given the map its final size: set before,
  // the resize would shift the centre by half the panel's width.
  map.invalidateSize({ pan: false });
  if (view) {
    const [z, lat, lng] = view.split('/').map(Number);
    if ([z, lat, lng].every(Number.isFinite)) map.setView([lat, lng], z, { animate: false });
  }
  state.view = view || viewString();
  writeHash();

  $('level').addEventListener('change', (e) => change({ level: e.target.value }));
  $('indicator').addEventListener('change', (e) => change({ indicator: e.target.value }));
  yr.addEventListener('input', (e) => ($('year-out').textContent = e.target.value));
  yr.addEventListener('change', (e) => change({ year: Number(e.target.value) }));
  $('method').addEventListener('change', (e) => change({ method: e.target.value }));
  $('classes').addEventListener('change', (e) => change({ k: Number(e.target.value) }));
  $('srg').addEventListener('change', (e) => change({ srg: e.target.checked }));
  $('srg-index').addEventListener('change', (e) => change({ srgIndex: e.target.value }));
  $('facilities').addEventListener('change', (e) => {
    const cat = e.target.value;
    state.facilities = e.target.checked ? [...new Set([...state.facilities, cat])] : state.facilities.filter((c) => c !== cat);
    writeHash();
    track(setFacility(cat, e.target.checked));
  });
  $('srg-list').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-id]');
    if (b) selectArea(b.dataset.id, true);
  });
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const f = findArea($('search').value);
    if (f) {
      $('status').textContent = '';
      selectArea(f.properties.id, true);
    } else $('status').textContent = `Kein Gebiet gefunden für „${$('search').value}“.`;
  });
  $('profile-close').addEventListener('click', () => closeProfile(true));
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !$('profile').hidden) closeProfile(true);
  });
  $('export-csv').addEventListener('click', () => exportCsv());
  $('export-png').addEventListener('click', () => track(exportPng(map, renderer)));
  $('print').addEventListener('click', () => window.print());
  // committee papers: the facility lists of the profile are printed expanded
  window.addEventListener('beforeprint', () => document.querySelectorAll('#profile details').forEach((d) => (d.open = true)));
  $('copy-link').addEventListener('click', async () => {
    writeHash();
    try {
      await navigator.clipboard.writeText(location.href);
      $('status').textContent = 'Link kopiert.';
    } catch {
      $('status').textContent = `Link: ${location.href}`;
    }
  });
  map.on('moveend', () => {
    state.view = viewString();
    writeHash();
  });
  window.addEventListener('hashchange', () => {
    const h2 = readHash();
    const patch = {};
    for (const k of ['level', 'year', 'indicator', 'method', 'k', 'srg', 'srgIndex']) if (h2[k] !== undefined && h2[k] !== state[k]) patch[k] = h2[k];
    if (Object.keys(patch).length) {
      for (const [k, v] of Object.entries(patch)) {
        const el = { level: 'level', year: 'year', indicator: 'indicator', method: 'method', k: 'classes' }[k];
        if (el) $(el).value = String(v);
      }
      if ('srg' in patch) $('srg').checked = patch.srg;
      change(patch);
    }
  });
  $('print-footer').textContent = `Quelle: kleinraum – ${location.origin}${location.pathname} · Stand ${new Date().toLocaleDateString('de-DE')}`;
  if (landing.title) {
    $('title').textContent = landing.title;
    document.title = `${landing.title} – Karte der Sozialräume`;
  }
  // sign-in and the Gebietsstände tab (versions, drafts, comparison)
  initRedefine({ renderer });
}

// Test and benchmark hook: read-only views of what the map shows.
window.kleinraumMap = {
  /** Resolves when no request or redraw is pending. */
  idle: async () => {
    for (let i = 0; i < 50; i++) {
      await Promise.all(pending);
      if (busy === 0 && pending.length === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  },
  /** Number of area polygons on the map. */
  featureCount: () => (ctx.layer ? ctx.layer.getLayers().length : 0),
  /** Number of area polygons the canvas renderer actually drew (projected, non-empty). */
  drawnCount: () => (ctx.layer ? ctx.layer.getLayers().filter((l) => l._parts && l._parts.length > 0).length : 0),
  /** Legend rows: classes with label, colour and count, then no-data and Sozialraumgebiete. */
  legend: () => ({
    classes: ctx.classes.classes.map((c) => ({ label: c.label, color: c.color, count: c.count, lower: c.lower, upper: c.upper, value: c.value })),
    noData: ctx.classes.noData.count,
    srg: state.srg && ctx.srgInfo ? ctx.srgIds.size : null,
  }),
  /** Fill colour and hatch per area id. */
  styles: () => Object.fromEntries(ctx.layer.getLayers().map((l) => [l.feature.properties.id, { fill: l.options.fillColor, hatch: l.options.hatch || null }])),
  /** Ids of the areas outlined as Sozialraumgebiete. */
  markedIds: () => (ctx.srgLayer ? ctx.srgLayer.getLayers().map((l) => l.feature.properties.id) : []),
  /** Screen position (page pixels) of a point inside area `id`, for clicking it. */
  pointInside: (id) => {
    const l = ctx.layer.getLayers().find((x) => x.feature.properties.id === id);
    if (!l) return null;
    const ll = interiorPoint(l);
    const p = map.latLngToContainerPoint(ll);
    const r = map.getContainer().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  },
  /** Number of facility points loaded into the (clustered) layer of category `cat`; null if not shown. */
  facilityCount: (cat) => (ctx.facilityLayers.has(cat) && map.hasLayer(ctx.facilityLayers.get(cat)) ? ctx.facilityLayers.get(cat).getLayers().length : null),
  state: () => ({ ...state }),
  profileArea: () => profileArea(),
  map: () => map,
};

/** A point inside the polygon (its label point): scan the bbox's middle row for the widest inside run. */
function interiorPoint(l) {
  const b = l.getBounds();
  const latlngs = l.getLatLngs();
  const rings = [];
  const walk = (a) => (a.length && a[0].lat !== undefined ? rings.push(a) : a.forEach(walk));
  walk(latlngs);
  const inside = (lat, lng) => {
    let c = false;
    for (const r of rings)
      for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
        const a = r[i];
        const d = r[j];
        if (a.lat > lat !== d.lat > lat && lng < ((d.lng - a.lng) * (lat - a.lat)) / (d.lat - a.lat) + a.lng) c = !c;
      }
    return c;
  };
  let best = null;
  for (const t of [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8]) {
    const lat = b.getSouth() + (b.getNorth() - b.getSouth()) * t;
    let run = 0;
    let start = null;
    const N = 60;
    for (let i = 0; i <= N; i++) {
      const lng = b.getWest() + ((b.getEast() - b.getWest()) * i) / N;
      if (inside(lat, lng)) {
        if (start === null) start = lng;
        run++;
        if (!best || run > best.run) best = { run, ll: L.latLng(lat, (start + lng) / 2) };
      } else {
        start = null;
        run = 0;
      }
    }
    if (best && best.run > 6) break;
  }
  return best ? best.ll : b.getCenter();
}

init().catch(showError);
export { map, PALETTES };
