// The indicator map (the Karte tab): areas of the selected level coloured by the classes of an
// indicator or index (or by the change between two years), the reasons of missing values, the
// legend, the years that have data, the outlines and names of the coarser level, the
// Sozialraumgebiete overlay and list, the value-range filter, search and the selected area;
// `change()` applies a change of the view state.
//
// On the wire: the outlines of a level are loaded once, simplified for the zoom (the server's
// zoom tiers; a finer tier replaces them when the user zooms in); the values of a year come
// without geometry, so a year switch moves a few kilobytes.

import * as api from './api.js';
import { classify, changeClasses, classLabel, STATUS_CLASSES, DYNAMICS_CLASSES, CHANGE_PALETTES, NO_DATA_COLOR } from './classify.js';
import { num, esc } from './fmt.js';
import { $ } from './dom.js';
import { state, ctx, variable, indicesOf, dataYears } from './state.js';
import { map, renderer, areaStyle, bindArea, classRows, highlight } from './map.js';
import { setStatus, isBusy, whileLoading, mapTasks } from './status.js';
import { writeHash } from './permalink.js';
import { openProfile, closeProfile } from './profile.js';
import { missingLabel, yearsText, groupKey, groupWords } from './explain.js';
import { setAreaLabels, setOutlineLabels, resetLabelPoints } from './labels.js';
import { fitView, fitPadding } from './legend.js';

const L = window.L;

/** Fills the indicator and index selects for the current level; keeps the choice if it is offered. */
export function fillIndicatorSelect() {
  const sel = $('indicator');
  const idx = indicesOf(state.level);
  let html = '';
  if (idx.length) {
    for (const i of idx) {
      html += `<optgroup label="${esc(i.title)}">`;
      html += `<option value="${esc(i.id)}_group">Gesamtindex (Status und Dynamik)</option>`;
      html += `<option value="${esc(i.id)}_status_class">Statusindex – Klassen</option>`;
      html += `<option value="${esc(i.id)}_dynamics_class">Dynamikindex – Klassen</option>`;
      html += `<option value="${esc(i.id)}_status_value">Statusindex – Wert</option>`;
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
// Values, reasons, classes

/** The value of the map variable for feature `f` (the change in Jahresvergleich mode). */
export function areaValue(f, v = variable()) {
  if (ctx.change && v.kind === 'numeric') return ctx.change.delta.get(f.properties.id) ?? null;
  const x = f.properties[v.id];
  return x === undefined ? null : x;
}

/** A value of variable `v` as text ("12,3 %", "3 (niedrig)"); the reason when there is none. */
export function fmtValue(x, v = variable(), reason = null) {
  if (x === null || x === undefined) return reason ? `keine Angabe: ${reasonText(reason)}` : 'keine Angabe';
  if (v.kind === 'status' || v.kind === 'dynamics') return `${x} (${classLabel(v.kind === 'status' ? STATUS_CLASSES : DYNAMICS_CLASSES, x)})`;
  if (v.kind === 'group') return `${x} (${groupWords(String(x))})`;
  if (typeof x === 'number') return `${num(x, v.decimals)}${v.unit ? ' ' + v.unit : ''}`;
  return String(x);
}

/** Which kind of change the Jahresvergleich shows for `v` ("Pp." for shares). */
export function changeUnit(v = variable()) {
  if (!v.unit) return '';
  return v.unit === '%' ? 'Pp.' : v.unit;
}

const PATTERN_OF = { no_data: 'none', suppressed: 'suppressed', denominator_zero: 'zero', below_min_population: 'index', excluded: 'index', change: 'nodata' };

/** Map id → reason (`/missing`) for the current variable and year; empty when not known. */
function reasonsFor(v) {
  const out = new Map();
  const m = ctx.missing;
  if (!m || ctx.change) return out;
  const entry = v.indicator ? m.indicators?.[v.id] : v.index ? m.indices?.[v.index.id] : null;
  for (const [reason, ids] of Object.entries(entry?.missing || {})) for (const id of ids) out.set(id, reason);
  return out;
}

/** The reason why feature `f` has no value on the map now (null if it has one). */
export function reasonOf(f) {
  return ctx.reasons?.get(f.properties.id) ?? (ctx.change ? 'change' : null);
}

function reasonText(reason) {
  if (reason === 'change') return `kein Wert in ${ctx.change.from} oder ${ctx.change.to}`;
  const v = variable();
  return missingLabel(reason, {
    year: state.year,
    threshold: ctx.cat.disclosure_threshold ?? 3,
    minPopulation: v.index?.min_population ?? 300,
    all: !dataYears(v).includes(state.year),
  });
}

function inRange(x) {
  if (!state.range || typeof x !== 'number') return true;
  const [lo, hi] = state.range.split('~').map(Number);
  return (!Number.isFinite(lo) || x >= lo) && (!Number.isFinite(hi) || x <= hi);
}

function styleFor(f) {
  const i = f._i;
  const ci = ctx.classes.classIndex(i);
  if (ci < 0) return areaStyle(NO_DATA_COLOR, PATTERN_OF[reasonOf(f)] || 'suppressed', 0.6);
  const s = areaStyle(ctx.classes.colorOf(i), false, 0.6);
  if (!inRange(areaValue(f))) return { ...s, fillColor: '#ffffff', fillOpacity: 0.45 };
  return s;
}

/** Recomputes the classes of the current variable and restyles every area. */
function recolour() {
  const v = variable();
  const values = ctx.features.map((f) => areaValue(f, v));
  if (ctx.change && v.kind === 'numeric') {
    const pal = CHANGE_PALETTES[v.polarity === 'higher_is_worse' ? 'worse' : v.polarity === 'higher_is_better' ? 'better' : 'neutral'];
    ctx.classes = changeClasses(values, pal, (x) => num(x, v.decimals));
  } else {
    ctx.classes = classify(values, {
      kind: v.kind,
      method: state.method,
      k: state.k,
      palette: v.palette,
      reverse: v.reverse,
      format: (x) => num(x, v.decimals),
    });
  }
  ctx.reasons = reasonsFor(v);
  if (ctx.layer) ctx.layer.eachLayer((l) => l.setStyle(styleFor(l.feature)));
  $('method').disabled = $('classes').disabled = v.kind !== 'numeric' || !!ctx.change;
  $('indicator-desc').innerHTML = v.summary
    ? `${esc(v.summary)} <details><summary>Wie wird der Index berechnet?</summary>${esc(v.description)}</details>`
    : esc(v.description + (v.source ? ` Quelle: ${v.source}` : ''));
  const levelTitle = ctx.levels.find((l) => l.id === state.level)?.title || state.level;
  $('map-title').textContent = ctx.change
    ? `Veränderung ${v.title} ${ctx.change.from}→${ctx.change.to}${changeUnit(v) ? ' (' + changeUnit(v) + ')' : ''} · ${levelTitle}`
    : `${v.title}${v.unit ? ' (' + v.unit + ')' : ''} · ${state.year} · ${levelTitle}`;
  renderYears();
  renderMessage();
  renderRange();
  if (!isBusy()) setStatus('');
  renderLegend();
  document.dispatchEvent(new CustomEvent('kleinraum:recoloured'));
}

/** The year ticks: years without data for the current variable are marked. */
function renderYears() {
  const v = variable();
  const have = new Set(dataYears(v));
  $('year-ticks').innerHTML = ctx.cat.years
    .map((y) => `<span class="${have.has(y) ? '' : 'empty'}${y === state.year ? ' cur' : ''}" title="${have.has(y) ? y : `${y}: keine Daten für diesen Indikator`}">${y}</span>`)
    .join('');
  const yr = $('year');
  yr.setAttribute('aria-valuetext', have.has(state.year) ? String(state.year) : `${state.year}, keine Daten für diesen Indikator`);
  $('year-out').textContent = have.has(state.year) ? String(state.year) : `${state.year} (keine Daten)`;
  $('year-hint').textContent = `Daten für „${v.title}“: ${yearsText(dataYears(v))}`;
}

/** The message over the map when the shown year has no data for the variable. */
function renderMessage() {
  const box = $('map-message');
  const v = variable();
  const years = dataYears(v);
  if (ctx.change || years.includes(state.year) || !ctx.features.length) {
    box.hidden = true;
    box.innerHTML = '';
    return;
  }
  const latest = years[years.length - 1];
  box.innerHTML =
    `<p>Für <b>${state.year}</b> gibt es keine Werte für „${esc(v.title)}“ ${years.length ? `– Daten gibt es für ${esc(yearsText(years))}.` : 'auf dieser Ebene.'}</p>` +
    (latest !== undefined ? `<button type="button" data-year="${latest}">${latest} zeigen</button>` : '');
  box.hidden = false;
}

/** Rows of the legend for areas without value: one per reason, with its count. */
function missingRows() {
  const counts = new Map();
  ctx.features.forEach((f) => {
    if (ctx.classes.classIndex(f._i) >= 0) return;
    const r = reasonOf(f) || 'unknown';
    counts.set(r, (counts.get(r) || 0) + 1);
  });
  const order = ['no_data', 'suppressed', 'denominator_zero', 'below_min_population', 'excluded', 'change', 'unknown'];
  return order
    .filter((r) => counts.has(r))
    .map((r) => ({ key: r, label: r === 'unknown' ? 'keine Angabe' : reasonText(r), count: counts.get(r), pattern: PATTERN_OF[r] || 'suppressed' }));
}

function renderLegend() {
  const v = variable();
  const c = ctx.classes;
  const methodName = { quantile: 'Quantile', equal: 'gleiche Intervalle', jenks: 'natürliche Brüche (Jenks)' }[state.method];
  let h = ctx.change
    ? `<h3>Veränderung ${esc(v.title)} ${ctx.change.from}→${ctx.change.to}${changeUnit(v) ? ' (' + esc(changeUnit(v)) + ')' : ''}</h3><div class="hint">Klassen: ½ und 1½ Standardabweichungen der Veränderungen</div>`
    : `<h3>${esc(v.title)}${v.unit ? ' (' + esc(v.unit) + ')' : ''}, ${state.year}</h3>`;
  if (v.kind === 'numeric' && !ctx.change) h += `<div class="hint">Klassierung: ${esc(methodName)}</div>`;
  if (v.kind === 'status' || v.kind === 'group' || v.id.endsWith('_status_value')) h += '<div class="hint">höherer Statusindex = stärkere Benachteiligung</div>';
  if (v.kind === 'group') h += `<div class="hint">${esc(groupKey())}</div>`;
  h += '<table>';
  h += classRows(c, 'keine Angabe', missingRows());
  if (state.srg && ctx.srgInfo) {
    h += `<tr data-class="srg"><td><span class="swatch srg"></span></td><td>Sozialraumgebiet (${esc(ctx.srgInfo.title)} ${ctx.srgInfo.year})</td><td class="n" data-count>${ctx.srgIds.size}</td></tr>`;
  }
  if (ctx.outlineLayer) {
    const ol = ctx.levels.find((l) => l.id === ctx.outlineLevel)?.title || '';
    h += `<tr data-class="outline"><td><span class="swatch outline"></span></td><td>Grenzen: ${esc(ol)}</td><td></td></tr>`;
  }
  h += '</table>';
  $('legend-body').innerHTML = h;
}

function tooltipHtml(f) {
  const p = f.properties;
  const v = variable();
  const srg = ctx.srgIds.has(p.id) ? '<br><b>Sozialraumgebiet</b>' : '';
  const x = areaValue(f, v);
  const label = ctx.change ? `Veränderung ${ctx.change.from}→${ctx.change.to}` : v.title;
  const val = x === null || x === undefined ? fmtValue(null, v, reasonOf(f)) : ctx.change ? `${x > 0 ? '+' : ''}${num(x, v.decimals)} ${changeUnit(v)}` : fmtValue(x, v);
  return `<b>${esc(p.name)}</b> (${esc(p.id)})<br>${esc(label)}: ${esc(val)}${srg}`;
}

// ---------------------------------------------------------------------------------------------
// Loading

/**
 * The server's zoom tier for map zoom `z`; beyond the finest tier the finest one (it is exact to
 * half a pixel there: the map never needs the full geometry). null without tiers.
 */
export function zoomTier(z) {
  const tiers = ctx.mapConfig?.zoom_tiers || [];
  if (!tiers.length) return null;
  const t = tiers.find((x) => x >= Math.ceil(z - 1e-9));
  return t === undefined ? tiers[tiers.length - 1] : t;
}

/** The level whose outlines and names are drawn over `level` (a coarser one), or null. */
function outlineLevelFor(level) {
  const ol = ctx.mapConfig?.outline_level;
  if (!ol || ol === level) return null;
  const order = ctx.levels.map((l) => l.id);
  return order.indexOf(ol) > order.indexOf(level) ? ol : null;
}

/** Bounds of a level from its collection extent. */
function levelBounds(level) {
  const b = ctx.levels.find((l) => l.id === level)?.bbox;
  return b ? L.latLngBounds([b[1], b[0]], [b[3], b[2]]) : null;
}

/** Names and parents of the levels coarser than `level` (for parents by name). */
async function loadNames(level) {
  const order = ctx.levels.map((l) => l.id).filter((id) => id !== 'gesamt');
  const coarser = order.slice(order.indexOf(level) + 1);
  await Promise.all(
    coarser
      .filter((l) => !ctx.names.has(l))
      .map(async (l) => {
        const fs = await api.names(l);
        ctx.names.set(l, new Map(fs.map((f) => [f.properties.id, { name: f.properties.name, parent: f.properties.parent }])));
      }),
  );
}

/** The chain of coarser areas of area properties `p`: [{level, title, id, name}] (finest first). */
export function parentChain(p, level = state.level) {
  const order = ctx.levels.filter((l) => l.id !== 'gesamt');
  const out = [];
  let pid = p.parent;
  for (let i = order.findIndex((l) => l.id === level) + 1; i < order.length && pid; i++) {
    const e = ctx.names.get(order[i].id)?.get(pid);
    if (!e) break;
    out.push({ level: order[i].id, title: order[i].title, id: pid, name: e.name });
    pid = e.parent;
  }
  return out;
}

const INDEX_PARTS = ['status_value', 'status_class', 'dynamics_value', 'dynamics_class', 'group', 'attention'];

/** The properties the map, the profile, the table, the charts and the CSV use (not the age groups). */
export function valueProperties(level) {
  const out = ['id', 'name', 'parent', 'year', 'area_km2'];
  if ((ctx.cat.count_columns || []).includes('residents')) out.push('residents', 'residents_flag');
  for (const c of ctx.facilityCats) out.push(`${c.id}_count`, `${c.id}_capacity`);
  for (const i of ctx.cat.indicators) out.push(i.id);
  for (const idx of ctx.cat.indices.filter((i) => i.level === level)) for (const p of INDEX_PARTS) out.push(`${idx.id}_${p}`);
  return out;
}

/** The values of `level` in `year` as the map uses them. */
export const levelValues = (level, year) => api.values(level, year, valueProperties(level));

function buildFeatures(geo, vals) {
  const byId = new Map(vals.map((f) => [f.properties.id, f.properties]));
  return geo.map((g, i) => ({
    type: 'Feature',
    id: g.properties.id,
    geometry: g.geometry,
    properties: byId.get(g.properties.id) || { id: g.properties.id, name: g.properties.id },
    _i: i,
  }));
}

function drawOutline(feats) {
  if (ctx.outlineLayer) ctx.outlineLayer.remove();
  ctx.outlineLayer = null;
  ctx.outlineFeatures = feats || [];
  if (!feats || !feats.length) {
    setOutlineLabels([]);
    return;
  }
  const r = outlineRenderer();
  const line = (color, weight) => L.geoJSON({ type: 'FeatureCollection', features: feats }, { interactive: false, pane: 'outlines', style: { renderer: r, fill: false, color, weight, opacity: 1 } });
  const casing = line('#ffffff', 4.5);
  const dark = line('#262626', 2);
  ctx.outlineLayer = L.layerGroup([casing, dark]);
  if (!ctx.gsActive) ctx.outlineLayer.addTo(map);
  setOutlineLabels(dark.getLayers());
}

let outlineCanvas = null;
function outlineRenderer() {
  if (!outlineCanvas) outlineCanvas = L.canvas({ pane: 'outlines', padding: 0.3 });
  return outlineCanvas;
}

/** Names of the outline level, from the values of that level (once). */
async function outlineFeatures(level, tier) {
  if (!level) return null;
  await loadNames(ctx.levels[ctx.levels.findIndex((l) => l.id === level) - 1]?.id ?? level);
  const geo = await api.geometry(level, tier);
  const names = ctx.names.get(level) || new Map();
  return geo.map((g) => ({ type: 'Feature', geometry: g.geometry, properties: { id: g.properties.id, name: names.get(g.properties.id)?.name || g.properties.id } }));
}

/** Loads and draws the areas of the current level and year; `fit` zooms to them. */
export function loadLevel(fit) {
  return whileLoading('Lade Gebiete …', async () => {
    const bounds = levelBounds(state.level);
    const zoom = fit && bounds ? map.getBoundsZoom(bounds, false, fitPadding().sum) : map.getZoom();
    const tier = zoomTier(zoom);
    const ol = outlineLevelFor(state.level);
    ctx.outlineLevel = ol;
    const [geo, vals, miss, olFeats] = await Promise.all([
      api.geometry(state.level, tier),
      levelValues(state.level, state.year),
      api.missing(state.level, state.year),
      outlineFeatures(ol, tier),
      loadNames(state.level),
    ]);
    if (!performance.getEntriesByName('kleinraum-data').length) performance.mark('kleinraum-data');
    if (ctx.layer) ctx.layer.remove();
    if (ctx.srgLayer) ctx.srgLayer.remove();
    ctx.srgLayer = null;
    ctx.tier = tier;
    ctx.missing = miss;
    const features = buildFeatures(geo, vals);
    ctx.features = features;
    ctx.byId = new Map(features.map((f) => [f.properties.id, f]));
    ctx.layer = null;
    if (state.change) await loadChange();
    recolour(); // classes first, so each polygon is created with its final style
    const layer = L.geoJSON(
      { type: 'FeatureCollection', features },
      {
        style: (f) => styleFor(f),
        onEachFeature: (f, l) => bindArea(l, f, { tooltip: tooltipHtml, click: () => selectArea(f.properties.id, false), weight: 0.6 }),
      },
    );
    // fit before adding: the polygons are projected once, at the final zoom
    if (fit) fitView(layer.getBounds());
    ctx.layer = layer;
    if (!ctx.gsActive) layer.addTo(map);
    drawOutline(olFeats);
    setAreaLabels(layer.getLayers());
    if (!performance.getEntriesByName('kleinraum-first-render').length) {
      // Leaflet's canvas draws on the next animation frame; the mark follows it
      requestAnimationFrame(() => requestAnimationFrame(() => performance.mark('kleinraum-first-render')));
    }
    fillSearch();
    await Promise.all([loadCity(), loadSrg()]);
    document.dispatchEvent(new CustomEvent('kleinraum:level'));
  });
}

function loadYear() {
  return whileLoading('Lade Werte …', async () => {
    const [vals, miss] = await Promise.all([levelValues(state.level, state.year), api.missing(state.level, state.year)]);
    // same areas, new properties: keep the drawn layers, swap the values
    for (const f of vals) {
      const old = ctx.byId.get(f.properties.id);
      if (old) old.properties = f.properties;
    }
    ctx.missing = miss;
    recolour();
    await loadCity();
    if (state.area) openProfile(state.area);
  });
}

/** After zooming in: the finer tier of the outlines replaces the coarse one (never the reverse). */
export function refineGeometry() {
  if (!ctx.layer || ctx.tier === null) return null;
  const want = zoomTier(map.getZoom());
  if (want === null || want <= ctx.tier) return null;
  const level = state.level;
  const ol = ctx.outlineLevel;
  return mapTasks.track(
    (async () => {
      const [geo, olFeats] = await Promise.all([api.geometry(level, want), outlineFeatures(ol, want)]);
      if (state.level !== level || !ctx.layer) return;
      const byId = new Map(geo.map((g) => [g.properties.id, g.geometry]));
      ctx.layer.eachLayer((l) => {
        const g = byId.get(l.feature.properties.id);
        if (!g) return;
        l.feature.geometry = g;
        l.setLatLngs(L.GeoJSON.coordsToLatLngs(g.coordinates, g.type === 'MultiPolygon' ? 2 : 1));
      });
      ctx.tier = want;
      drawOutline(olFeats);
      drawSrg();
      highlight(state.area);
      resetLabelPoints();
    })(),
  );
}

async function loadCity() {
  if (!ctx.levels.some((l) => l.id === 'gesamt')) return;
  if (ctx.city.has(state.year)) return;
  const f = await levelValues('gesamt', state.year);
  if (f.length) ctx.city.set(state.year, f[0].properties);
}

/** The Jahresvergleich: values of both years, the change per area. */
async function loadChange() {
  const [a, b] = state.change.split('-').map(Number);
  const v = variable();
  const [fa, fb] = await Promise.all([levelValues(state.level, a), levelValues(state.level, b)]);
  const va = new Map(fa.map((f) => [f.properties.id, f.properties[v.id]]));
  const vb = new Map(fb.map((f) => [f.properties.id, f.properties[v.id]]));
  const delta = new Map();
  for (const [id, x] of vb) {
    const y = va.get(id);
    if (typeof x === 'number' && typeof y === 'number') delta.set(id, Math.round((x - y) * 1e9) / 1e9);
  }
  ctx.change = { from: a, to: b, indicator: v.id, fromValues: va, toValues: vb, delta };
}

/** Draws the hatched overlay of the flagged areas. */
function drawSrg() {
  if (ctx.srgLayer) ctx.srgLayer.remove();
  ctx.srgLayer = null;
  if (!state.srg || !ctx.srgIds.size) return;
  const feats = ctx.features.filter((f) => ctx.srgIds.has(f.properties.id));
  ctx.srgLayer = L.geoJSON(
    { type: 'FeatureCollection', features: feats },
    { interactive: false, style: { renderer, fill: true, fillColor: '#000', fillOpacity: 0, hatch: 'srg', color: '#000', weight: 1.6, opacity: 1 } },
  );
  if (!ctx.gsActive) ctx.srgLayer.addTo(map);
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
  $('srg-key').textContent = groupKey();
  // one tab stop: the list is walked with the arrow keys (roving tabindex)
  list.innerHTML = flagged
    .map(
      (a, i) =>
        `<li><button type="button" data-id="${esc(a.id)}" tabindex="${i === 0 ? 0 : -1}" aria-label="${esc(`${a.name}: Gruppe ${a.group || '–'} (${groupWords(a.group)}), Statusindex ${num(a.status_value, 2)}`)}">${esc(a.name)}</button> <span class="grp" aria-hidden="true">${esc(a.group || '')} · ${num(a.status_value, 2)}</span></li>`,
    )
    .join('');
  drawSrg();
  renderLegend();
}

/** Arrow keys in the Sozialraumgebiete list move the focus (the list is one tab stop). */
export function srgListKeys(e) {
  const bs = [...$('srg-list').querySelectorAll('button[data-id]')];
  const i = bs.indexOf(document.activeElement);
  if (i < 0) return;
  const to = { ArrowDown: i + 1, ArrowRight: i + 1, ArrowUp: i - 1, ArrowLeft: i - 1, Home: 0, End: bs.length - 1 }[e.key];
  if (to === undefined) return;
  e.preventDefault();
  const j = Math.max(0, Math.min(bs.length - 1, to));
  bs.forEach((b, k) => (b.tabIndex = k === j ? 0 : -1));
  bs[j].focus();
}

// ---------------------------------------------------------------------------------------------
// Value-range filter

function renderRange() {
  const v = variable();
  const numeric = v.kind === 'numeric';
  const box = $('range-box');
  $('range-on').disabled = !numeric;
  if (!numeric) {
    $('range-info').textContent = 'Nur für Indikatoren mit Zahlenwerten.';
    return;
  }
  const vals = ctx.features.map((f) => areaValue(f, v)).filter((x) => typeof x === 'number');
  if (!vals.length) {
    $('range-on').disabled = true;
    $('range-info').textContent = 'Keine Werte in diesem Jahr.';
    return;
  }
  const [lo, hi] = state.range ? state.range.split('~').map(Number) : [NaN, NaN];
  $('range-on').checked = !!state.range;
  box.querySelectorAll('input[type=number]').forEach((i) => (i.disabled = !state.range));
  if (!state.range) {
    // floor/ceil at the shown decimals, so the default range holds every value
    const f = 10 ** v.decimals;
    $('range-lo').value = String(Math.floor(Math.min(...vals) * f) / f);
    $('range-hi').value = String(Math.ceil(Math.max(...vals) * f) / f);
  } else if (state.range) {
    if (Number.isFinite(lo)) $('range-lo').value = String(lo);
    if (Number.isFinite(hi)) $('range-hi').value = String(hi);
  }
  const inside = vals.filter((x) => inRange(x)).length;
  $('range-info').textContent = state.range ? `${inside} von ${vals.length} Gebieten mit Wert liegen im Bereich; die übrigen sind blass.` : `${vals.length} Gebiete mit Wert (${num(Math.min(...vals), v.decimals)} bis ${num(Math.max(...vals), v.decimals)}).`;
}

/** Areas inside the value range (all when no filter is set). */
export function inRangeIds() {
  return new Set(ctx.features.filter((f) => inRange(areaValue(f))).map((f) => f.properties.id));
}

// ---------------------------------------------------------------------------------------------
// Search and selection

function fillSearch() {
  $('search-list').innerHTML = ctx.features
    .map((f) => `<option value="${esc(f.properties.name)} (${esc(f.properties.id)})"></option>`)
    .join('');
}

/** The area a search text names: "Name (id)", an id, or (the start of) a name. */
export function findArea(q) {
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

/** Opens the profile of area `id`; `zoom` fits the map to it. */
export function selectArea(id, zoom) {
  const f = ctx.byId.get(id);
  if (!f) return;
  state.area = id;
  if (zoom) {
    const l = ctx.layer.getLayers().find((x) => x.feature === f);
    // on narrow screens the panel overlays the map's right side: keep the area left of it
    const overlay = window.matchMedia('(max-width: 1100px)').matches ? Math.min(416, window.innerWidth * 0.92) : 0;
    if (l) {
      const p = fitPadding();
      map.fitBounds(l.getBounds(), { maxZoom: 14, paddingTopLeft: [Math.max(30, p.tl[0]), 30], paddingBottomRight: [30 + overlay, Math.max(30, p.br[1])] });
    }
  }
  writeHash();
  highlight(id);
  mapTasks.track(openProfile(id));
}

// ---------------------------------------------------------------------------------------------
// State changes

/** The year to show for variable `v`: the current one if it has data, else the latest with data. */
export function yearWithData(v, year = state.year) {
  const ys = dataYears(v);
  if (!ys.length || ys.includes(year)) return year;
  return ys[ys.length - 1];
}

async function applyState(prev) {
  if (prev.level !== state.level) {
    fillIndicatorSelect();
    closeProfile(false);
    if (prev.level !== undefined) state.area = null;
    ctx.change = null;
    await loadLevel(true);
  } else if (prev.year !== state.year) {
    await loadYear();
    if (state.change) {
      await loadChange();
      recolour();
    }
  } else {
    if (prev.srgIndex !== state.srgIndex || prev.srg !== state.srg) await loadSrg();
    if (state.change && (prev.change !== state.change || prev.indicator !== state.indicator)) await loadChange();
    if (!state.change) ctx.change = null;
    recolour();
    if (state.area && prev.indicator !== state.indicator) openProfile(state.area);
  }
  $('year').value = String(state.year);
  writeHash();
}

/** Applies `patch` to the view state and redraws what it changes. */
export function change(patch) {
  const prev = { ...state };
  Object.assign(state, patch);
  // a new indicator lands on a year with data (the current one if it has any)
  let note = '';
  if ('indicator' in patch && !('year' in patch)) {
    const y = yearWithData(variable());
    if (y !== state.year) {
      state.year = y;
      note = `„${variable().title}“ hat für ${prev.year} keine Daten: gezeigt wird ${y}.`;
    }
  }
  if (state.change && variable().kind !== 'numeric') state.change = null;
  return mapTasks.track(applyState(prev).then(() => note && setStatus(note)));
}
