// The indicator map (the Karte tab): areas of the selected level coloured by the classes of an
// indicator or index, their legend, the Sozialraumgebiete overlay and list, search and the
// selected area; `change()` applies a change of the view state.

import * as api from './api.js';
import { classify, classLabel, STATUS_CLASSES, DYNAMICS_CLASSES } from './classify.js';
import { num, esc } from './fmt.js';
import { $ } from './dom.js';
import { state, ctx, variable, indicesOf } from './state.js';
import { map, renderer, areaStyle, bindArea, classRows, highlight } from './map.js';
import { setStatus, isBusy, whileLoading, mapTasks } from './status.js';
import { writeHash } from './permalink.js';
import { openProfile, closeProfile } from './profile.js';

const L = window.L;

/** Fills the indicator and index selects for the current level; keeps the choice if it is offered. */
export function fillIndicatorSelect() {
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
// Classes, styles and legend

function areaValue(f, v = variable()) {
  const x = f.properties[v.id];
  return x === undefined ? null : x;
}

function fmtValue(x, v = variable()) {
  if (x === null || x === undefined) return 'keine Angabe';
  if (v.kind === 'status' || v.kind === 'dynamics') return `${x} (${classLabel(v.kind === 'status' ? STATUS_CLASSES : DYNAMICS_CLASSES, x)})`;
  if (typeof x === 'number') return `${num(x, v.decimals)}${v.unit ? ' ' + v.unit : ''}`;
  return String(x);
}

function styleFor(i) {
  return areaStyle(ctx.classes.colorOf(i), ctx.classes.classIndex(i) < 0, 0.6);
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
  if (noValues) setStatus(`Für ${state.year} liegen keine Werte für „${v.title}“ vor.`);
  else if (!isBusy()) setStatus('');
  renderLegend();
}

function renderLegend() {
  const v = variable();
  const c = ctx.classes;
  const methodName = { quantile: 'Quantile', equal: 'gleiche Intervalle', jenks: 'natürliche Brüche (Jenks)' }[state.method];
  let h = `<h3>${esc(v.title)}${v.unit ? ' (' + esc(v.unit) + ')' : ''}, ${state.year}</h3>`;
  if (v.kind === 'numeric') h += `<div class="hint">Klassierung: ${esc(methodName)}</div>`;
  h += '<table>';
  h += classRows(c, 'keine Angabe (geheim gehalten, zu wenige Einwohner:innen oder nicht berechnet)');
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

// ---------------------------------------------------------------------------------------------
// Loading

/** Loads and draws the areas of the current level and year; `fit` zooms to them. */
export function loadLevel(fit) {
  return whileLoading('Lade Gebiete …', async () => {
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
        onEachFeature: (f, l) => bindArea(l, f, { tooltip: tooltipHtml, click: () => selectArea(f.properties.id, false), weight: 0.6 }),
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
  });
}

function loadYear() {
  return whileLoading('Lade Werte …', async () => {
    const features = await api.areas(state.level, state.year);
    // same areas, new properties: keep the drawn layers, swap the values
    for (const f of features) {
      const old = ctx.byId.get(f.properties.id);
      if (old) old.properties = f.properties;
    }
    recolour();
    await loadCity();
    if (state.area) openProfile(state.area);
  });
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
    if (l) map.fitBounds(l.getBounds(), { maxZoom: 14, paddingTopLeft: [30, 30], paddingBottomRight: [30 + overlay, 30] });
  }
  writeHash();
  highlight(id);
  mapTasks.track(openProfile(id));
}

// ---------------------------------------------------------------------------------------------
// State changes

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

/** Applies `patch` to the view state and redraws what it changes. */
export function change(patch) {
  const prev = { ...state };
  Object.assign(state, patch);
  return mapTasks.track(applyState(prev));
}
