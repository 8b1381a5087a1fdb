// Gebietsstände (versioned area definitions): sign-in with an API token, the list of stored
// versions and their areas on the map, drafts edited with leaflet-geoman (split, merge, vertex
// moves, new areas) with live statistics and warnings from the server, and the comparison of two
// versions. Everything here talks to the write-protected part of the API; the token stays in
// sessionStorage (gone when the tab closes) and goes out only as `Authorization: Bearer`.

import { API_ROOT } from './api.js';
import { ctx, state, map, highlight } from './main.js';
import { classify, STATUS_CLASSES } from './classify.js';
import { closeProfile } from './profile.js';
import { num, esc } from './fmt.js';

const L = window.L;
const $ = (id) => document.getElementById(id);

const TOKEN_KEY = 'kleinraum-token';
const ROLE_RANK = { public: 0, viewer: 1, planner: 2, admin: 3 };
const ROLE_LABEL = { public: 'öffentlich', viewer: 'Lesen', planner: 'Planung', admin: 'Administration' };
const KEY_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Colours of the comparison categories (Okabe–Ito, colour-blind safe; grey = nothing to see). */
export const CHANGE_CLASSES = [
  { value: 'unverändert', color: '#e4e4e4', label: 'unverändert' },
  { value: 'Gebietsänderung', color: '#56B4E9', label: 'Gebietsänderung (Grenzen geändert)' },
  { value: 'reale Veränderung', color: '#E69F00', label: 'reale Veränderung (Werte)' },
  { value: 'beides', color: '#CC79A7', label: 'beides' },
];

const WARNING_LABEL = { gap: 'Lücke', overlap: 'Überlappung', sliver: 'Differenzbildung möglich' };

/** Signed-in user ({role, name}); role 'public' without token. */
const auth = { role: 'public', name: null };

/** State of the Gebietsstände tab. */
const gs = {
  active: false, // the tab is shown and owns the map
  meta: null, // GET /gebietsstaende
  year: null,
  indicator: 'residents',
  mode: null, // 'view' | 'draft' | 'compare'
  viewKey: null,
  draft: null, // {id, base}
  layer: null, // L.GeoJSON of the shown areas (version, draft or comparison target)
  outline: null, // comparison: dashed boundaries of the "von" version
  selLayer: null,
  warnLayer: null,
  classes: null,
  colorOf: new Map(), // feature → fill colour
  tool: null, // 'split' | 'merge' | 'reshape' | 'draw'
  selected: [], // area ids picked for the current tool
  editing: null, // layer in geoman edit mode (reshape)
  lastChanged: [], // ids of the areas the last operation changed
  lastMs: null,
  warnings: [],
  compare: null, // {from, to, data}
  sort: { col: 'change', dir: -1 },
  mainTitle: '',
};

let renderer = null;
let pending = [];
function track(p) {
  const q = Promise.resolve(p).catch(showError);
  pending.push(q);
  q.finally(() => (pending = pending.filter((x) => x !== q)));
  return q;
}

function showError(e) {
  console.warn(e);
  setStatus(`Fehler: ${e.message || e}`);
}

function setStatus(text) {
  $('status').textContent = text;
}

// ---------------------------------------------------------------------------------------------
// HTTP

function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** `method` request to `path` (relative to the API root) with the token, JSON in and out. */
async function request(method, path, body, tok = token()) {
  const headers = { Accept: 'application/json' };
  if (tok) headers.Authorization = `Bearer ${tok}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(new URL(path, API_ROOT).href, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) {
    let detail = '';
    try {
      const j = await r.json();
      detail = [j.title, j.detail].filter(Boolean).join(': ');
    } catch {
      // not JSON: the status line says enough
    }
    const err = new Error(`${r.status} ${detail || r.statusText} (${method} ${path.split('?')[0]})`);
    err.status = r.status;
    throw err;
  }
  return r.json();
}

const get = (path) => request('GET', path);
const post = (path, body) => request('POST', path, body);
const enc = encodeURIComponent;

// ---------------------------------------------------------------------------------------------
// Sign-in

const canPlan = () => ROLE_RANK[auth.role] >= ROLE_RANK.planner;

function renderAuth() {
  const signedIn = auth.role !== 'public';
  $('auth-user').textContent = signedIn ? `Angemeldet als ${auth.name || 'unbekannt'} (${ROLE_LABEL[auth.role] || auth.role})` : '';
  $('login-open').hidden = signedIn;
  $('logout').hidden = !signedIn;
  // public users see no editing controls at all
  $('gs-edit').hidden = !canPlan();
  if (!canPlan() && gs.draft) closeDraft();
}

/** Asks the server who the token belongs to; null token = public. */
async function whoAmI(tok) {
  if (!tok) return { role: 'public', name: null };
  return request('GET', 'auth', undefined, tok);
}

async function login(tok) {
  let who;
  try {
    who = await whoAmI(tok);
  } catch (e) {
    if (e.status === 401 || e.status === 403) throw new Error('Das Token ist unbekannt.');
    throw e;
  }
  if (!who || who.role === 'public') throw new Error('Das Token ist unbekannt.');
  sessionStorage.setItem(TOKEN_KEY, tok);
  auth.role = who.role;
  auth.name = who.name;
  renderAuth();
  if (gs.meta || gs.active) await loadList();
}

async function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
  auth.role = 'public';
  auth.name = null;
  renderAuth();
  if (gs.mode === 'compare' || gs.mode === 'view') clearMap();
  if (gs.meta || gs.active) await loadList();
}

function wireAuth() {
  const dlg = $('login-dialog');
  $('login-open').addEventListener('click', () => {
    $('login-error').textContent = '';
    $('login-token').value = '';
    dlg.showModal();
    $('login-token').focus();
  });
  $('login-cancel').addEventListener('click', () => dlg.close());
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const tok = $('login-token').value.trim();
    if (!tok) return;
    $('login-submit').disabled = true;
    track(
      login(tok)
        .then(() => dlg.close())
        .catch((err) => ($('login-error').textContent = err.message))
        .finally(() => ($('login-submit').disabled = false)),
    );
  });
  $('logout').addEventListener('click', () => track(logout()));
}

// ---------------------------------------------------------------------------------------------
// Variables and formatting

function indicatorInfo(id) {
  return (gs.meta?.indicators || []).find((i) => i.id === id) || null;
}

/** Catalogue entry of an indicator (polarity, decimals) when the main catalogue has it. */
function catalogueEntry(id) {
  return ctx.cat?.indicators?.find((i) => i.id === id) || null;
}

function decimalsOf(id) {
  if (id === 'residents' || id === 'status_class') return 0;
  return catalogueEntry(id)?.decimals ?? 2;
}

/** Unit of an indicator: the Gebietsstände list's, else the main catalogue's. */
function unitOf(id) {
  return indicatorInfo(id)?.unit || catalogueEntry(id)?.unit || '';
}

function variableTitle(id = gs.indicator) {
  if (id === 'residents') return 'Einwohner:innen';
  if (id === 'status_class') return 'Statusindex – Klassen';
  const i = indicatorInfo(id);
  return i ? `${i.title}${unitOf(id) ? ' (' + unitOf(id) + ')' : ''}` : id;
}

function rawValue(p, id = gs.indicator) {
  let v;
  if (id === 'residents') v = p.residents;
  else if (id === 'status_class') v = p.status_class;
  else v = p.values ? p.values[id] : undefined;
  return v === undefined ? null : v;
}

const isEstimated = (p, id) => Array.isArray(p.estimated) && p.estimated.includes(id);

/** Display text of one value: "·" for suppressed, "–" for missing, "(geschätzt)" for estimates. */
function fmtValue(p, id = gs.indicator) {
  const v = rawValue(p, id);
  let s;
  if (v === null) s = p.suppressed ? '·' : '–';
  else if (id === 'status_class') s = `${v} (${STATUS_CLASSES.find((c) => c.value === v)?.label || ''})`;
  else s = num(v, decimalsOf(id)) + (id !== 'residents' && unitOf(id) ? ' ' + unitOf(id) : '');
  if (v !== null && isEstimated(p, id)) s += ' (geschätzt)';
  return s;
}

function fmtClass(c) {
  if (c === null || c === undefined) return '–';
  const label = STATUS_CLASSES.find((x) => x.value === c)?.label;
  return label ? `${c} (${label})` : String(c);
}

/**
 * The indicators of the statistics box for `props` (the areas shown): the status indicators of
 * the first index, the mapped indicator, then the others, each only if one of the areas has a
 * value that year; at most five.
 */
function mainIndicators(props) {
  const all = (gs.meta?.indicators || []).map((i) => i.id);
  const idx = ctx.cat?.indices?.[0];
  const order = [...(idx ? idx.status : []), gs.indicator, ...all].filter((id, i, a) => all.includes(id) && a.indexOf(id) === i);
  return order.filter((id) => props.some((p) => rawValue(p, id) !== null || p.suppressed)).slice(0, 5);
}

// ---------------------------------------------------------------------------------------------
// Map layers

function areaId(f) {
  return f.properties?.id ?? f.id;
}

function layerOf(id) {
  return gs.layer ? gs.layer.getLayers().find((l) => areaId(l.feature) === id) : null;
}

function baseStyle(f) {
  const fill = gs.colorOf.get(f) || '#bdbdbd';
  const noData = gs.mode !== 'compare' && !gs.classes?.hasValue(f);
  return {
    renderer,
    fillColor: fill,
    fillOpacity: noData ? 0.55 : 0.85,
    hatch: noData ? 'nodata' : null,
    color: '#ffffff',
    weight: 0.7,
    opacity: 1,
  };
}

function tooltipHtml(f) {
  const p = f.properties;
  let h = `<b>${esc(p.name)}</b> (${esc(areaId(f))})`;
  if (gs.mode === 'compare') {
    const a = gs.compare?.byId.get(areaId(f));
    if (a) h += `<br>${esc(a.change)}<br>Einwohner:innen: Vorgängergebiet ${num(a.residents_old, 0)}, jetzt ${num(a.residents_new, 0)}`;
    return h;
  }
  h += `<br>${esc(variableTitle())}: ${esc(fmtValue(p))}`;
  if (gs.indicator !== 'residents') h += `<br>Einwohner:innen: ${esc(fmtValue(p, 'residents'))}`;
  if (p.warnings && p.warnings.length) h += `<br><span class="warn-text">⚠ ${esc(p.warnings.join('; '))}</span>`;
  return h;
}

/** Recomputes the classes of the shown variable (or the comparison categories) and restyles. */
function recolour() {
  if (!gs.layer) return;
  const feats = gs.layer.getLayers().map((l) => l.feature);
  gs.colorOf = new Map();
  if (gs.mode === 'compare') {
    for (const f of feats) {
      const c = CHANGE_CLASSES.find((x) => x.value === gs.compare.byId.get(areaId(f))?.change);
      gs.colorOf.set(f, c ? c.color : '#bdbdbd');
    }
    gs.classes = null;
  } else {
    const id = gs.indicator;
    const ind = catalogueEntry(id);
    const palette = id === 'residents' ? 'neutral' : ind?.polarity === 'higher_is_worse' ? 'worse' : ind?.polarity === 'higher_is_better' ? 'better' : 'neutral';
    const values = feats.map((f) => rawValue(f.properties, id));
    const c = classify(values, {
      kind: id === 'status_class' ? 'status' : 'numeric',
      method: 'quantile',
      k: 5,
      palette,
      reverse: ind?.polarity === 'higher_is_better',
      format: (x) => num(x, decimalsOf(id)),
    });
    const withValue = new Set();
    feats.forEach((f, i) => {
      gs.colorOf.set(f, c.colorOf(i));
      if (c.classIndex(i) >= 0) withValue.add(f);
    });
    gs.classes = { ...c, hasValue: (f) => withValue.has(f), estimated: feats.filter((f) => isEstimated(f.properties, id) && rawValue(f.properties, id) !== null).length };
  }
  gs.layer.eachLayer((l) => l.setStyle(baseStyle(l.feature)));
  renderLegend();
}

function renderLegend() {
  const el = $('gs-legend');
  if (!gs.layer) {
    el.hidden = true;
    return;
  }
  el.hidden = false;
  let h = '';
  if (gs.mode === 'compare') {
    const d = gs.compare.data;
    h += `<h3>Vergleich ${esc(d.from)} → ${esc(d.to)}, ${d.year}</h3><table>`;
    for (const c of CHANGE_CLASSES) {
      const n = d.areas.filter((a) => a.change === c.value).length;
      h += `<tr data-change="${esc(c.value)}"><td><span class="swatch" style="background:${c.color}"></span></td><td>${esc(c.label)}</td><td class="n" data-count>${n}</td></tr>`;
    }
    h += `<tr><td><span class="swatch dashed"></span></td><td>Grenzen „von“ (${esc(d.from)})</td><td class="n">${d.summary?.areas_from ?? ''}</td></tr></table>`;
  } else {
    const c = gs.classes;
    h += `<h3>${esc(variableTitle())}, ${gs.year}</h3><table>`;
    c.classes.forEach((cl, i) => {
      h += `<tr data-class="${i}"><td><span class="swatch" style="background:${cl.color}"></span></td><td>${esc(cl.label)}</td><td class="n" data-count>${cl.count}</td></tr>`;
    });
    h += `<tr data-class="nodata"><td><span class="swatch nodata" style="background-color:${c.noData.color}"></span></td><td>keine Angabe (· = geheim gehalten)</td><td class="n" data-count>${c.noData.count}</td></tr></table>`;
    if (c.estimated) h += `<div class="hint">${c.estimated} Werte geschätzt (aus einem anderen Gebietsstand über Adressen umgerechnet)</div>`;
  }
  el.innerHTML = h;
}

function onAreaClick(f) {
  // geoman's draw mode gets the same click: it places a vertex, nothing else happens
  if (map.pm.globalDrawModeEnabled()) return;
  const id = areaId(f);
  if (gs.mode === 'draft' && gs.tool) {
    toolClick(id);
    return;
  }
  if (gs.mode === 'compare') {
    const row = document.querySelector(`#gs-table tr[data-id="${CSS.escape(id)}"]`);
    if (row) {
      row.scrollIntoView({ block: 'nearest' });
      document.querySelectorAll('#gs-table tr.sel').forEach((r) => r.classList.remove('sel'));
      row.classList.add('sel');
    }
  }
  setSelection([id]);
  if (gs.mode !== 'compare') renderStats([id], 'Gebiet');
}

/** Replaces the map's areas with `features` (GeoJSON, EPSG:4326). */
function showFeatures(features, fit) {
  removeLayer('layer');
  gs.layer = L.geoJSON(null, {
    style: (f) => baseStyle(f),
    onEachFeature: (f, l) => {
      l.bindTooltip(() => tooltipHtml(f), { sticky: true, className: 'area-tip', direction: 'top' });
      l.on('click', () => onAreaClick(f));
      l.on('mouseover', () => !l.pm?.enabled() && l.setStyle({ weight: 2.5, color: '#222' }));
      l.on('mouseout', () => !l.pm?.enabled() && l.setStyle({ weight: 0.7, color: '#fff' }));
    },
  });
  gs.layer.addData({ type: 'FeatureCollection', features });
  recolour();
  if (fit && features.length) map.fitBounds(gs.layer.getBounds(), { padding: [8, 8], animate: false });
  gs.layer.addTo(map);
}

function removeLayer(name) {
  if (gs[name]) {
    if (name === 'layer') gs.layer.eachLayer((l) => l.pm && l.pm.enabled() && l.pm.disable());
    gs[name].remove();
    gs[name] = null;
  }
}

function setSelection(ids) {
  gs.selected = ids;
  removeLayer('selLayer');
  const feats = ids.map((id) => layerOf(id)?.feature).filter(Boolean);
  if (!feats.length) return;
  const opts = (color, weight) => ({ interactive: false, pmIgnore: true, snapIgnore: true, style: { renderer, fill: false, color, weight, opacity: 1 } });
  gs.selLayer = L.layerGroup([L.geoJSON(feats, opts('#fff', 6)), L.geoJSON(feats, opts('#000', 3))]).addTo(map);
}

function clearMap() {
  stopTool();
  for (const n of ['layer', 'outline', 'selLayer', 'warnLayer']) removeLayer(n);
  gs.mode = null;
  gs.compare = null;
  gs.viewKey = null;
  gs.colorOf = new Map();
  $('gs-legend').hidden = true;
  $('gs-stats').hidden = true;
  $('gs-warnings').hidden = true;
  $('gs-table-panel').hidden = true;
  $('map-title').textContent = 'Gebietsstände';
  renderList();
}

// ---------------------------------------------------------------------------------------------
// Tab switching: the tab owns the map while it is shown

function enter() {
  if (gs.active) return;
  gs.active = true;
  gs.mainTitle = $('map-title').textContent;
  closeProfile(false);
  highlight(null);
  if (ctx.layer) ctx.layer.remove();
  if (ctx.srgLayer) ctx.srgLayer.remove();
  $('legend').hidden = true;
  for (const n of ['layer', 'outline', 'selLayer', 'warnLayer']) if (gs[n]) gs[n].addTo(map);
  $('gs-legend').hidden = !gs.layer;
  $('gs-stats').hidden = !$('gs-stats').innerHTML;
  $('gs-warnings').hidden = !gs.warnings.length;
  $('gs-table-panel').hidden = gs.mode !== 'compare';
  $('map-title').textContent = mapTitle();
  if (!gs.meta) track(loadList());
}

function leave() {
  if (!gs.active) return;
  stopTool();
  gs.active = false;
  for (const n of ['layer', 'outline', 'selLayer', 'warnLayer']) if (gs[n]) gs[n].remove();
  for (const id of ['gs-legend', 'gs-stats', 'gs-warnings', 'gs-table-panel']) $(id).hidden = true;
  if (ctx.layer) ctx.layer.addTo(map);
  if (ctx.srgLayer) ctx.srgLayer.addTo(map);
  $('legend').hidden = false;
  $('map-title').textContent = gs.mainTitle;
}

function selectTab(which) {
  const gsTab = which === 'gs';
  $('tab-karte').setAttribute('aria-selected', String(!gsTab));
  $('tab-gs').setAttribute('aria-selected', String(gsTab));
  $('tab-karte').tabIndex = gsTab ? -1 : 0;
  $('tab-gs').tabIndex = gsTab ? 0 : -1;
  $('panel-karte').hidden = gsTab;
  $('panel-gs').hidden = !gsTab;
  if (gsTab) enter();
  else leave();
}

function mapTitle() {
  if (gs.mode === 'compare' && gs.compare) return `Vergleich ${gs.compare.from} → ${gs.compare.to} · ${gs.year} · Art der Veränderung`;
  if (gs.mode === 'draft' && gs.draft) return `${variableTitle()} · ${gs.year} · Entwurf (Grundlage ${gs.draft.base})`;
  if (gs.mode === 'view' && gs.viewKey) {
    const m = gs.meta?.gebietsstaende.find((g) => g.key === gs.viewKey);
    return `${variableTitle()} · ${gs.year} · Gebietsstand ${m ? m.name : gs.viewKey}`;
  }
  return 'Gebietsstände';
}

// ---------------------------------------------------------------------------------------------
// The list of Gebietsstände

/** File name of a source path (the full path is in the tooltip); other sources unchanged. */
function shortSource(src) {
  if (!src) return '–';
  return /^(\/|[A-Za-z]:\\)/.test(src) ? src.split(/[\\/]/).pop() : src;
}

function fmtDate(d) {
  if (!d) return 'ohne Datum';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(d);
  return m ? `${m[3]}.${m[2]}.${m[1]}` : d;
}

async function loadList() {
  const meta = await get('gebietsstaende');
  gs.meta = meta;
  const years = meta.years || [];
  if (!years.includes(gs.year)) gs.year = years.includes(state.year) ? state.year : years[years.length - 1];
  $('gs-year').innerHTML = years.map((y) => `<option value="${y}">${y}</option>`).join('');
  $('gs-year').value = String(gs.year);
  const opts = [['residents', 'Einwohner:innen'], ['status_class', 'Statusindex – Klassen'], ...(meta.indicators || []).map((i) => [i.id, variableTitle(i.id)])];
  if (!opts.some(([id]) => id === gs.indicator)) gs.indicator = 'residents';
  $('gs-indicator').innerHTML = opts.map(([id, t]) => `<option value="${esc(id)}">${esc(t)}</option>`).join('');
  $('gs-indicator').value = gs.indicator;
  const keys = meta.gebietsstaende.map((g) => g.key);
  const option = (g) => `<option value="${esc(g.key)}" title="${esc(g.key)}">${esc(g.name)}${g.status === 'draft' ? ' – Entwurf' : ''}</option>`;
  for (const [id, def] of [
    ['gs-base', meta.base],
    ['gs-from', meta.base],
    ['gs-to', keys.find((k) => k !== meta.base) || meta.base],
  ]) {
    const sel = $(id);
    const prev = sel.value;
    sel.innerHTML = meta.gebietsstaende.map(option).join('');
    sel.value = keys.includes(prev) ? prev : def;
  }
  renderList();
  if (gs.active && !gs.mode) $('map-title').textContent = mapTitle();
}

function renderList() {
  if (!gs.meta) return;
  $('gs-list').innerHTML = gs.meta.gebietsstaende
    .map((g) => {
      const status = g.status === 'draft' ? '<span class="badge draft">Entwurf</span>' : '<span class="badge pub">veröffentlicht</span>';
      const lineage = g.lineage && g.lineage.length ? ` · Herkunft: ${g.lineage.map(esc).join(', ')}` : '';
      const sel = gs.mode === 'view' && gs.viewKey === g.key;
      return (
        `<li data-key="${esc(g.key)}"${sel ? ' class="sel"' : ''}>` +
        `<button type="button" class="linklike" data-show="${esc(g.key)}" aria-pressed="${sel}">${esc(g.name)}</button> ${status}` +
        `<div class="meta">${esc(g.key)}${g.valid_from ? ' · gültig ab ' + esc(fmtDate(g.valid_from)) : ''} · <span data-n>${g.n_areas}</span> Gebiete${lineage}</div>` +
        `<div class="meta" title="${esc(g.source)}${g.note ? '\n' + esc(g.note) : ''}">Quelle: ${esc(shortSource(g.source))}${g.created_by ? ' · ' + esc(g.created_by) : ''}</div></li>`
      );
    })
    .join('');
}

async function showVersion(key, fit = true) {
  stopTool();
  setBusy(true, 'Lade Gebiete …');
  try {
    const fc = await get(`gebietsstaende/${enc(key)}/areas?year=${gs.year}`);
    clearMap();
    gs.mode = 'view';
    gs.viewKey = key;
    showFeatures(fc.features, fit);
    $('map-title').textContent = mapTitle();
    renderList();
    renderDraftInfo();
  } finally {
    setBusy(false);
  }
}

function setBusy(on, msg) {
  setStatus(on ? msg : '');
}

// ---------------------------------------------------------------------------------------------
// Drafts

function renderDraftInfo() {
  const has = gs.draft && gs.mode === 'draft';
  $('gs-tools').hidden = !has;
  $('gs-save-row').hidden = !has;
  $('gs-draft-show').hidden = !gs.draft || has;
  $('gs-draft-info').textContent = !gs.draft
    ? ''
    : has
      ? `Entwurf ${gs.draft.id} auf Grundlage von ${gs.draft.base}. Änderungen werden sofort berechnet.`
      : `Offener Entwurf ${gs.draft.id} (Grundlage ${gs.draft.base}) wird gerade nicht angezeigt.`;
  if (!has) $('gs-tool-panel').hidden = true;
}

async function showDraft() {
  if (!gs.draft) return;
  const draft = gs.draft;
  const fc = await get(`entwurf/${enc(draft.id)}/areas?year=${gs.year}`);
  clearMap();
  gs.draft = draft;
  gs.mode = 'draft';
  showFeatures(fc.features, false);
  if (gs.lastChanged.length) renderStats(gs.lastChanged.filter((id) => layerOf(id)), 'Geänderte Gebiete');
  renderWarnings();
  $('map-title').textContent = mapTitle();
  renderDraftInfo();
}

async function newDraft() {
  const base = $('gs-base').value;
  stopTool();
  setBusy(true, 'Lege Entwurf an …');
  try {
    const d = await post('entwurf', { base });
    const fc = await get(`entwurf/${enc(d.id)}/areas?year=${gs.year}`);
    clearMap();
    gs.draft = { id: d.id, base: d.base || base };
    gs.mode = 'draft';
    gs.lastChanged = [];
    gs.lastMs = null;
    gs.warnings = [];
    showFeatures(fc.features, true);
    $('map-title').textContent = mapTitle();
    renderDraftInfo();
    $('gs-stats').hidden = true;
    $('gs-stats').innerHTML = '';
  } finally {
    setBusy(false);
  }
}

function closeDraft() {
  gs.draft = null;
  if (gs.mode === 'draft') clearMap();
  renderDraftInfo();
}

async function reloadDraft() {
  const fc = await get(`entwurf/${enc(gs.draft.id)}/areas?year=${gs.year}`);
  const keepEdit = gs.tool === 'reshape' && gs.selected[0];
  stopEditing();
  showFeatures(fc.features, false);
  if (gs.lastChanged.length) renderStats(gs.lastChanged, 'Geänderte Gebiete');
  if (keepEdit) startEditing(keepEdit);
  $('map-title').textContent = mapTitle();
}

/** Sends one draft operation and puts its result on the map. */
async function operate(body) {
  setBusy(true, 'Berechne …');
  try {
    const res = await post(`entwurf/${enc(gs.draft.id)}/operation?year=${gs.year}`, body);
    applyResult(res);
    return res;
  } finally {
    setBusy(false);
  }
}

function applyResult(res) {
  for (const id of res.removed || []) {
    const l = layerOf(id);
    if (l) {
      if (l.pm && l.pm.enabled()) l.pm.disable();
      gs.layer.removeLayer(l);
    }
  }
  // Neighbours that got a vertex of the edit on their shared edge: new outline, same values.
  for (const f of [...(res.changed || []), ...(res.geometry_updates || [])]) {
    const l = layerOf(areaId(f));
    if (l) {
      if (l.pm && l.pm.enabled()) l.pm.disable();
      gs.layer.removeLayer(l);
    }
    gs.layer.addData(f);
  }
  recolour();
  gs.lastChanged = (res.changed || []).map(areaId);
  gs.lastMs = res.server_ms;
  gs.warnings = res.warnings || [];
  renderStats(gs.lastChanged, 'Geänderte Gebiete');
  renderWarnings();
  setSelection(gs.lastChanged.filter((id) => layerOf(id)));
}

/** The statistics box: one card per area with residents, main indicators and status class. */
function renderStats(ids, title) {
  const box = $('gs-stats');
  const props = ids.map((id) => layerOf(id)?.feature.properties).filter(Boolean);
  const inds = mainIndicators(props);
  let h = `<div class="gs-stats-head"><h3>${esc(title)} <span class="hint">(${ids.length})</span></h3>`;
  if (gs.mode === 'draft' && gs.lastMs !== null && title !== 'Gebiet') h += `<span class="hint" data-server-ms="${gs.lastMs}">Serverzeit ${num(gs.lastMs, 1)} ms</span>`;
  h += `<button type="button" class="close" data-close-stats aria-label="Statistik schließen">×</button></div>`;
  const idx = ctx.cat?.indices?.[0];
  const indexYears = gs.meta?.index_years;
  if (idx && Array.isArray(indexYears) && !indexYears.includes(gs.year)) h += `<p class="hint">${esc(idx.title)}: für ${gs.year} nicht berechnet (Indexjahre ${indexYears.join(', ')}).</p>`;
  for (const id of ids) {
    const l = layerOf(id);
    if (!l) continue;
    const p = l.feature.properties;
    const all = title === 'Gebiet' ? (gs.meta?.indicators || []).map((i) => i.id) : inds;
    h += `<section class="gs-card" data-area="${esc(id)}"><h4>${esc(p.name)} <span class="id">${esc(id)}</span></h4><table>`;
    h += `<tr><th>Einwohner:innen ${gs.year}</th><td class="num" data-residents="${p.residents ?? ''}">${esc(fmtValue(p, 'residents'))}</td></tr>`;
    for (const ind of all) {
      const info = indicatorInfo(ind);
      h += `<tr data-indicator="${esc(ind)}"><th>${esc(info ? info.title : ind)}</th><td class="num">${esc(fmtValue(p, ind))}</td></tr>`;
    }
    h += `<tr><th>Statusklasse</th><td class="num" data-status-class="${p.status_class ?? ''}">${esc(p.status_class === null && p.suppressed ? '·' : fmtClass(p.status_class))}</td></tr>`;
    if (p.group) h += `<tr><th>Gesamtindex</th><td class="num">${esc(p.group)}</td></tr>`;
    h += '</table>';
    if (p.warnings && p.warnings.length) h += `<p class="warn-text">⚠ ${p.warnings.map(esc).join('<br>')}</p>`;
    h += '</section>';
  }
  box.innerHTML = h;
  box.hidden = false;
}

function renderWarnings() {
  removeLayer('warnLayer');
  const box = $('gs-warnings');
  const ws = gs.warnings;
  if (!ws.length) {
    box.hidden = true;
    box.innerHTML = '';
    return;
  }
  box.innerHTML =
    `<h3>Warnungen (${ws.length})</h3><ul>` +
    ws.map((w) => `<li data-kind="${esc(w.kind)}"><b>${esc(WARNING_LABEL[w.kind] || w.kind)}</b> · ${esc(w.area)}: ${esc(w.message)}</li>`).join('') +
    '</ul>';
  box.hidden = false;
  const markers = ws
    .filter((w) => Array.isArray(w.location) && w.location.length === 2)
    .map((w) => {
      const m = L.marker([w.location[1], w.location[0]], {
        icon: L.divIcon({ className: `gs-warn-icon ${w.kind}`, html: '⚠', iconSize: [26, 26], iconAnchor: [13, 13] }),
        pmIgnore: true,
        snapIgnore: true,
        keyboard: false,
        title: `Achtung: ${WARNING_LABEL[w.kind] || w.kind}`,
      });
      m.bindTooltip(`<b>Achtung: ${esc(WARNING_LABEL[w.kind] || w.kind)}</b><br>${esc(w.message)}`, { direction: 'top', offset: [0, -12], permanent: ws.length <= 3, className: 'gs-warn-tip' });
      return m;
    });
  gs.warnLayer = L.layerGroup(markers).addTo(map);
}

// --- tools -----------------------------------------------------------------------------------

const TOOL_HINT = {
  split: 'Teilen: Klicken Sie das Gebiet an, das geteilt werden soll.',
  merge: 'Zusammenlegen: Klicken Sie zwei oder mehr Gebiete an und bestätigen Sie.',
  reshape: 'Stützpunkte verschieben: Klicken Sie ein Gebiet an und ziehen Sie seine Stützpunkte. Gemeinsame Stützpunkte der Nachbargebiete werden mitverschoben.',
  draw: 'Neues Gebiet: Zeichnen Sie ein Polygon (Klick je Stützpunkt, Klick auf den ersten Punkt schließt ab). Die Fläche wird den bestehenden Gebieten entnommen.',
};

const DRAW_OPTIONS = {
  snappable: true,
  snapDistance: 15,
  allowSelfIntersection: false,
  templineStyle: { color: '#d40000', weight: 2 },
  hintlineStyle: { color: '#d40000', dashArray: [5, 5] },
  pathOptions: { color: '#d40000', fillColor: '#d40000', fillOpacity: 0.2 },
};

function setTool(tool) {
  stopTool();
  if (!tool || !gs.draft) return;
  gs.tool = tool;
  document.querySelectorAll('#gs-tools [data-tool]').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.tool === tool)));
  $('gs-tool-panel').hidden = false;
  $('gs-tool-hint').textContent = TOOL_HINT[tool];
  $('gs-merge-box').hidden = tool !== 'merge';
  $('gs-draw-box').hidden = tool !== 'draw';
  renderMergeList();
  if (tool === 'draw') map.pm.enableDraw('Polygon', DRAW_OPTIONS);
}

function stopTool() {
  if (map && map.pm) map.pm.disableDraw();
  stopEditing();
  gs.tool = null;
  gs.selected = [];
  removeLayer('selLayer');
  document.querySelectorAll('#gs-tools [data-tool]').forEach((b) => b.setAttribute('aria-pressed', 'false'));
  $('gs-tool-panel').hidden = true;
}

/** After a one-shot tool: the tool ends, the changed areas stay outlined. */
function endOperation() {
  stopTool();
  setSelection(gs.lastChanged.filter((id) => layerOf(id)));
}

function toolClick(id) {
  if (gs.tool === 'split') {
    setSelection([id]);
    const l = layerOf(id);
    fitClear(l.getBounds());
    $('gs-tool-hint').textContent = `Teilen von ${l.feature.properties.name} (${id}): Zeichnen Sie ein Polygon über den Teil, der abgetrennt werden soll; Klick auf den ersten Punkt schließt ab.`;
    map.pm.enableDraw('Polygon', DRAW_OPTIONS);
  } else if (gs.tool === 'merge') {
    const sel = gs.selected.includes(id) ? gs.selected.filter((x) => x !== id) : [...gs.selected, id];
    setSelection(sel);
    renderMergeList();
  } else if (gs.tool === 'reshape') {
    startEditing(id);
  }
}

/** Fits `bounds` into the part of the map the legend does not cover, so every point is clickable. */
function fitClear(bounds) {
  const lg = $('gs-legend');
  const below = lg.hidden ? 0 : lg.offsetHeight + 20;
  map.fitBounds(bounds, { maxZoom: 16, paddingTopLeft: [40, 40], paddingBottomRight: [40, 40 + below], animate: false });
}

function renderMergeList() {
  $('gs-merge-list').innerHTML = gs.selected
    .map((id) => `<li>${esc(layerOf(id)?.feature.properties.name || id)} (${esc(id)})</li>`)
    .join('');
  $('gs-merge-go').disabled = gs.selected.length < 2;
  $('gs-merge-go').textContent = gs.selected.length >= 2 ? `${gs.selected.length} Gebiete zusammenlegen` : 'Zusammenlegen bestätigen';
}

/** geoman finished a polygon: split the selected area or draw a new one. */
function onCreate(e) {
  const drawn = e.layer;
  const geometry = drawn.toGeoJSON(false).geometry;
  drawn.remove();
  map.pm.disableDraw();
  if (!gs.draft) return;
  if (gs.tool === 'split' && gs.selected.length === 1) {
    const id = gs.selected[0];
    track(operate({ op: 'split', area: id, geometry }).finally(endOperation));
  } else if (gs.tool === 'draw') {
    const name = $('gs-draw-name').value.trim() || 'Neues Gebiet';
    track(operate({ op: 'draw', geometry, name }).finally(endOperation));
  }
}

// --- vertex moves ----------------------------------------------------------------------------

/** Same vertex: identical coordinates (shared borders come from the same source coordinates). */
const same = (a, b) => Math.abs(a.lat - b.lat) < 1e-12 && Math.abs(a.lng - b.lng) < 1e-12;

/** Replaces every vertex equal to `from` in a nested LatLng array; returns the number replaced. */
function replaceVertex(latlngs, from, to) {
  let n = 0;
  for (let i = 0; i < latlngs.length; i++) {
    const x = latlngs[i];
    if (Array.isArray(x)) n += replaceVertex(x, from, to);
    else if (same(x, from)) {
      latlngs[i] = L.latLng(to.lat, to.lng);
      n++;
    }
  }
  return n;
}

let dragFrom = null;

function startEditing(id) {
  stopEditing();
  const l = layerOf(id);
  if (!l) return;
  gs.selected = [id];
  gs.editing = l;
  l.setStyle({ weight: 2.5, color: '#d40000' });
  l.pm.enable({ snappable: true, snapDistance: 15, hideMiddleMarkers: true, preventMarkerRemoval: true, draggable: false, allowSelfIntersection: false });
  l.on('pm:markerdragstart', onDragStart);
  l.on('pm:markerdragend', onDragEnd);
  $('gs-tool-hint').textContent = `Stützpunkte von ${l.feature.properties.name} (${id}) verschieben; Einrasten an Nachbargrenzen ist aktiv.`;
}

function stopEditing() {
  const l = gs.editing;
  gs.editing = null;
  dragFrom = null;
  if (!l) return;
  l.off('pm:markerdragstart', onDragStart);
  l.off('pm:markerdragend', onDragEnd);
  if (l.pm && l.pm.enabled()) l.pm.disable();
  if (gs.layer && gs.layer.hasLayer(l)) l.setStyle(baseStyle(l.feature));
}

function onDragStart(e) {
  const ll = e.markerEvent.target.getLatLng();
  dragFrom = L.latLng(ll.lat, ll.lng);
}

function onDragEnd(e) {
  const from = dragFrom;
  dragFrom = null;
  // geoman undoes a move that makes the polygon self-intersect; nothing to send then
  if (!from || e.intersectionReset) return;
  const to = e.markerEvent.target.getLatLng();
  if (same(from, to)) return;
  const edited = e.layer || gs.editing;
  const geometries = moveSharedVertex(edited, from, to);
  const id = areaId(edited.feature);
  track(operate({ op: 'reshape', geometries }).then(() => gs.tool === 'reshape' && startEditing(id)));
}

/**
 * Moves the vertex at `from` to `to` in every other draft area that has it, so the shared border
 * stays without gap or overlap; returns the new geometries of all modified areas by id.
 */
export function moveSharedVertex(edited, from, to) {
  const geometries = { [areaId(edited.feature)]: edited.toGeoJSON(false).geometry };
  gs.layer.eachLayer((l) => {
    if (l === edited) return;
    if (!l.getBounds().pad(0.01).contains(from)) return;
    const lls = l.getLatLngs();
    if (replaceVertex(lls, from, to) > 0) {
      l.setLatLngs(lls);
      geometries[areaId(l.feature)] = l.toGeoJSON(false).geometry;
    }
  });
  return geometries;
}

// ---------------------------------------------------------------------------------------------
// Saving

function wireSave() {
  const dlg = $('save-dialog');
  $('gs-save').addEventListener('click', () => {
    $('save-error').textContent = '';
    if (!$('save-name').value) $('save-name').value = `Entwurf auf Grundlage von ${gs.draft?.base || ''}`;
    if (!$('save-valid').value) $('save-valid').value = new Date().toISOString().slice(0, 10);
    dlg.showModal();
    $('save-key').focus();
  });
  $('save-cancel').addEventListener('click', () => dlg.close());
  $('save-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const key = $('save-key').value.trim();
    if (!KEY_RE.test(key)) {
      $('save-error').textContent = 'Der Schlüssel besteht aus Kleinbuchstaben, Ziffern, „-“ und „_“ (höchstens 64 Zeichen, beginnt mit Buchstabe oder Ziffer).';
      return;
    }
    const body = { key, name: $('save-name').value.trim() || key, valid_from: $('save-valid').value || null, note: $('save-note').value };
    $('save-submit').disabled = true;
    track(
      post(`entwurf/${enc(gs.draft.id)}/speichern`, body)
        .then(async (r) => {
          dlg.close();
          await loadList();
          setStatus(`Gespeichert als Entwurf „${r.key || key}“.`);
        })
        .catch((err) => ($('save-error').textContent = err.message))
        .finally(() => ($('save-submit').disabled = false)),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Comparison

const TABLE_COLS = [
  { id: 'id', title: 'ID', key: (a) => a.id },
  { id: 'name', title: 'Name', key: (a) => a.name },
  { id: 'pred', title: 'Vorgänger (Anteil)', key: (a) => (a.predecessors || []).map((p) => p.id).join(',') },
  { id: 'res_old', title: 'Einw. Vorgänger', key: (a) => a.residents_old, num: true },
  { id: 'res_new', title: 'Einw. neu', key: (a) => a.residents_new, num: true },
  { id: 'class_old', title: 'Klasse Vorgänger', key: (a) => a.class_old, num: true },
  { id: 'class_new', title: 'Klasse neu', key: (a) => a.class_new, num: true },
  { id: 'change', title: 'Ursache', key: (a) => CHANGE_CLASSES.findIndex((c) => c.value === a.change), num: true, left: true },
];

async function showCompare() {
  const from = $('gs-from').value;
  const to = $('gs-to').value;
  if (!from || !to) return;
  stopTool();
  setBusy(true, 'Vergleiche …');
  try {
    const [data, toFc, fromFc] = await Promise.all([
      get(`gebietsstaende/${enc(from)}/vergleich/${enc(to)}?year=${gs.year}`),
      get(`gebietsstaende/${enc(to)}/areas?year=${gs.year}`),
      get(`gebietsstaende/${enc(from)}/areas?year=${gs.year}`),
    ]);
    const keepDraft = gs.draft;
    clearMap();
    gs.draft = keepDraft;
    gs.mode = 'compare';
    gs.compare = { from, to, data, byId: new Map(data.areas.map((a) => [a.id, a])) };
    // the table takes the lower part of the map column: size the map before fitting
    renderTable();
    map.invalidateSize({ pan: false });
    showFeatures(toFc.features, false);
    // zoom to what changed (a few areas are invisible at city scale), else show everything
    const changed = gs.layer.getLayers().filter((l) => gs.compare.byId.get(areaId(l.feature))?.change !== 'unverändert');
    const b = changed.length ? L.featureGroup(changed).getBounds().pad(changed.length < 20 ? 1.5 : 0.1) : gs.layer.getBounds();
    if (b.isValid()) map.fitBounds(b, { padding: [8, 8], maxZoom: 14, animate: false });
    gs.outline = L.geoJSON(fromFc, {
      interactive: false,
      pmIgnore: true,
      snapIgnore: true,
      style: { renderer, fill: false, color: '#1a1a1a', weight: 1, opacity: 0.9, dashArray: '4 3' },
    }).addTo(map);
    $('map-title').textContent = mapTitle();
    renderDraftInfo();
  } finally {
    setBusy(false);
  }
}

function csvUrl() {
  const c = gs.compare;
  return new URL(`gebietsstaende/${enc(c.from)}/vergleich/${enc(c.to)}?year=${gs.year}&f=csv`, API_ROOT).href;
}

function renderTable() {
  const c = gs.compare;
  const d = c.data;
  const col = TABLE_COLS.find((x) => x.id === gs.sort.col) || TABLE_COLS[0];
  const rows = [...d.areas].sort((a, b) => {
    const x = col.key(a);
    const y = col.key(b);
    let r;
    if (x === null || x === undefined) r = y === null || y === undefined ? 0 : 1;
    else if (y === null || y === undefined) r = -1;
    else r = col.num ? x - y : String(x).localeCompare(String(y), 'de');
    return r * gs.sort.dir || a.id.localeCompare(b.id);
  });
  const s = d.summary || {};
  let h =
    `<div class="gs-table-head"><h3>Vergleich ${esc(d.from)} → ${esc(d.to)}, ${d.year}</h3>` +
    `<span class="hint">${s.areas_from ?? '?'} → ${s.areas_to ?? d.areas.length} Gebiete · ${s.unchanged ?? '?'} unverändert · ${s.boundary_effect ?? '?'} mit Gebietsänderung · ${s.real_change ?? '?'} mit realer Veränderung</span>` +
    `<a id="gs-csv" href="${esc(csvUrl())}" download="vergleich-${esc(d.from)}-${esc(d.to)}-${d.year}.csv">Tabelle als CSV</a></div>`;
  h += '<table id="gs-table"><thead><tr>';
  for (const x of TABLE_COLS) {
    const sorted = x.id === gs.sort.col;
    h += `<th${x.num && !x.left ? ' class="num"' : ''} aria-sort="${sorted ? (gs.sort.dir > 0 ? 'ascending' : 'descending') : 'none'}"><button type="button" class="linklike" data-sort="${x.id}">${esc(x.title)}${sorted ? (gs.sort.dir > 0 ? ' ▲' : ' ▼') : ''}</button></th>`;
  }
  h += '</tr></thead><tbody>';
  for (const a of rows) {
    const pred = (a.predecessors || []).map((p) => `${esc(p.id)} <span class="hint">${num(p.share * 100, 1)} %</span>`).join('<br>');
    const cc = CHANGE_CLASSES.find((x) => x.value === a.change);
    h +=
      `<tr data-id="${esc(a.id)}"><td>${esc(a.id)}</td><td>${esc(a.name)}</td><td>${pred || '–'}</td>` +
      `<td class="num">${num(a.residents_old, 0)}</td><td class="num">${num(a.residents_new, 0)}</td>` +
      `<td class="num">${esc(fmtClass(a.class_old))}</td><td class="num">${esc(fmtClass(a.class_new))}</td>` +
      `<td data-change="${esc(a.change)}"><span class="swatch" style="background:${cc ? cc.color : '#bdbdbd'}"></span> ${esc(a.change)}</td></tr>`;
  }
  h += '</tbody></table>';
  const panel = $('gs-table-panel');
  panel.innerHTML = h;
  panel.hidden = false;
}

/** CSV of a draft needs the token: fetch it and hand the browser a blob. */
async function downloadCsv(a) {
  const headers = { Accept: 'text/csv' };
  headers.Authorization = `Bearer ${token()}`;
  const r = await fetch(a.href, { headers });
  if (!r.ok) throw new Error(`${r.status} beim CSV-Download`);
  const blob = await r.blob();
  const url = URL.createObjectURL(blob);
  const tmp = document.createElement('a');
  tmp.href = url;
  tmp.download = a.getAttribute('download');
  document.body.append(tmp);
  tmp.click();
  tmp.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---------------------------------------------------------------------------------------------
// Wiring

/** Sets up sign-in and the Gebietsstände tab; called by main.js once the map exists. */
export function initRedefine(opts) {
  renderer = opts.renderer;
  map.pm.setLang('de');
  map.on('pm:create', onCreate);
  wireAuth();
  wireSave();
  $('tab-karte').addEventListener('click', () => selectTab('karte'));
  $('tab-gs').addEventListener('click', () => selectTab('gs'));
  document.querySelector('.tabs').addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    const next = e.target.id === 'tab-karte' ? 'tab-gs' : 'tab-karte';
    $(next).focus();
    selectTab(next === 'tab-gs' ? 'gs' : 'karte');
  });
  $('gs-list').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-show]');
    if (b) track(showVersion(b.dataset.show));
  });
  $('gs-year').addEventListener('change', (e) => {
    gs.year = Number(e.target.value);
    if (gs.mode === 'view') track(showVersion(gs.viewKey, false));
    else if (gs.mode === 'draft') track(reloadDraft());
    else if (gs.mode === 'compare') track(showCompare());
  });
  $('gs-indicator').addEventListener('change', (e) => {
    gs.indicator = e.target.value;
    if (gs.mode === 'view' || gs.mode === 'draft') {
      recolour();
      $('map-title').textContent = mapTitle();
      if (gs.mode === 'draft' && gs.lastChanged.length && !$('gs-stats').hidden) renderStats(gs.lastChanged.filter((id) => layerOf(id)), 'Geänderte Gebiete');
    }
  });
  $('gs-new').addEventListener('click', () => track(newDraft()));
  $('gs-draft-close').addEventListener('click', () => closeDraft());
  $('gs-draft-show').addEventListener('click', () => track(showDraft()));
  $('gs-tools').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-tool]');
    if (b) setTool(gs.tool === b.dataset.tool ? null : b.dataset.tool);
  });
  $('gs-tool-end').addEventListener('click', () => stopTool());
  $('gs-merge-go').addEventListener('click', () => {
    if (gs.selected.length < 2) return;
    const areas = [...gs.selected];
    track(operate({ op: 'merge', areas }).finally(endOperation));
  });
  $('gs-compare').addEventListener('click', () => track(showCompare()));
  $('gs-table-panel').addEventListener('click', (e) => {
    const s = e.target.closest('button[data-sort]');
    if (s) {
      gs.sort = s.dataset.sort === gs.sort.col ? { col: s.dataset.sort, dir: -gs.sort.dir } : { col: s.dataset.sort, dir: 1 };
      renderTable();
      return;
    }
    const a = e.target.closest('a#gs-csv');
    if (a && token()) {
      e.preventDefault();
      track(downloadCsv(a));
      return;
    }
    const tr = e.target.closest('tr[data-id]');
    if (tr) {
      const l = layerOf(tr.dataset.id);
      if (l) {
        setSelection([tr.dataset.id]);
        map.fitBounds(l.getBounds(), { maxZoom: 15, padding: [30, 30] });
      }
    }
  });
  $('gs-stats').addEventListener('click', (e) => {
    if (e.target.closest('[data-close-stats]')) $('gs-stats').hidden = true;
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && gs.tool && !document.querySelector('dialog[open]')) stopTool();
  });
  renderAuth();
  // a token from earlier in this tab's session: ask the server what it is worth now
  const tok = token();
  if (tok)
    track(
      whoAmI(tok)
        .then((who) => {
          auth.role = who.role;
          auth.name = who.name;
          renderAuth();
        })
        .catch(() => sessionStorage.removeItem(TOKEN_KEY)),
    );
}

// Test hook: read-only views and the pixel positions the tests click.
window.kleinraumRedefine = {
  /** Resolves when no request of this module is pending and the map has redrawn. */
  idle: async () => {
    for (let i = 0; i < 200; i++) {
      await Promise.all(pending);
      if (pending.length === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  },
  auth: () => ({ ...auth }),
  mode: () => gs.mode,
  tool: () => gs.tool,
  draft: () => (gs.draft ? { ...gs.draft } : null),
  ids: () => (gs.layer ? gs.layer.getLayers().map((l) => areaId(l.feature)) : []),
  /** True while this tab's areas are on the map. */
  shown: () => !!gs.layer && map.hasLayer(gs.layer),
  properties: (id) => layerOf(id)?.feature.properties ?? null,
  lastChanged: () => [...gs.lastChanged],
  warnings: () => gs.warnings.map((w) => ({ ...w })),
  /** Bounds of area `id` as {west, south, east, north} in degrees. */
  bounds: (id) => {
    const b = layerOf(id)?.getBounds();
    return b ? { west: b.getWest(), south: b.getSouth(), east: b.getEast(), north: b.getNorth() } : null;
  },
  /** Page pixel of a lon/lat position. */
  toPage: (lng, lat) => {
    const p = map.latLngToContainerPoint([lat, lng]);
    const r = map.getContainer().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  },
  /**
   * Page pixel of a point inside area `id` that a click reaches (not under the legend or a box),
   * preferring points deep inside; null if none is on screen.
   */
  pointInside: (id) => {
    const l = layerOf(id);
    if (!l) return null;
    const r = map.getContainer().getBoundingClientRect();
    const ll = polygonInterior(l);
    const c = map.latLngToContainerPoint(ll);
    const page = (p) => ({ x: r.left + p.x, y: r.top + p.y });
    const ok = (p) => {
      const q = page(p);
      return q.x > r.left + 2 && q.x < r.right - 2 && q.y > r.top + 2 && q.y < r.bottom - 2 && window.kleinraumRedefine.clickable(q.x, q.y) && document.elementFromPoint(q.x, q.y)?.tagName === 'CANVAS';
    };
    if (ok(c) && pointInPolygon(l, ll)) return page(c);
    // else: the inside grid point with the most inside neighbours that a click reaches
    const b = l.getBounds();
    const N = 40;
    const grid = [];
    for (let i = 0; i <= N; i++)
      for (let j = 0; j <= N; j++) {
        const p = L.latLng(b.getSouth() + ((b.getNorth() - b.getSouth()) * i) / N, b.getWest() + ((b.getEast() - b.getWest()) * j) / N);
        grid.push({ i, j, p, in: pointInPolygon(l, p) });
      }
    const at = (i, j) => grid[i * (N + 1) + j];
    let best = null;
    for (const g of grid) {
      if (!g.in) continue;
      let depth = 0;
      for (let di = -2; di <= 2; di++) for (let dj = -2; dj <= 2; dj++) if (at(g.i + di, g.j + dj)?.in) depth++;
      const cp = map.latLngToContainerPoint(g.p);
      if ((!best || depth > best.depth) && ok(cp)) best = { depth, cp };
    }
    return best ? page(best.cp) : null;
  },
  /** Fits the map to the areas `ids` (one id or a list), clear of the legend. */
  fit: (ids) => {
    const ls = [].concat(ids).map(layerOf).filter(Boolean);
    if (ls.length) fitClear(L.featureGroup(ls).getBounds());
  },
  /** Vertices of area `id` (every ring), as [lng, lat]. */
  vertices: (id) => {
    const out = [];
    const walk = (a) => a.forEach((x) => (Array.isArray(x) ? walk(x) : out.push([x.lng, x.lat])));
    const l = layerOf(id);
    if (l) walk(l.getLatLngs());
    return out;
  },
  /** Ids of the areas that have a vertex at exactly (lng, lat). */
  sharedBy: ([lng, lat]) => {
    const at = L.latLng(lat, lng);
    const ids = [];
    const has = (a) => a.some((x) => (Array.isArray(x) ? has(x) : same(x, at)));
    gs.layer?.eachLayer((l) => has(l.getLatLngs()) && ids.push(areaId(l.feature)));
    return ids;
  },
  /** True if a click at page pixel (x, y) reaches the map itself (no legend or box above it). */
  clickable: (x, y) => {
    const el = document.elementFromPoint(x, y);
    return !!el && map.getContainer().contains(el) && !el.closest('.leaflet-control');
  },
};

/** Even-odd test of `ll` against every ring of polygon layer `l`. */
function pointInPolygon(l, ll) {
  const rings = [];
  const walk = (a) => (a.length && a[0].lat !== undefined ? rings.push(a) : a.forEach(walk));
  walk(l.getLatLngs());
  let c = false;
  for (const r of rings)
    for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
      const a = r[i];
      const d = r[j];
      if (a.lat > ll.lat !== d.lat > ll.lat && ll.lng < ((d.lng - a.lng) * (ll.lat - a.lat)) / (d.lat - a.lat) + a.lng) c = !c;
    }
  return c;
}

/** A point inside the polygon: the middle of the widest inside run on a few horizontal lines. */
function polygonInterior(l) {
  const b = l.getBounds();
  const inside = (lat, lng) => pointInPolygon(l, L.latLng(lat, lng));
  let best = null;
  for (const t of [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8]) {
    const lat = b.getSouth() + (b.getNorth() - b.getSouth()) * t;
    let run = 0;
    let start = null;
    for (let i = 0; i <= 60; i++) {
      const lng = b.getWest() + ((b.getEast() - b.getWest()) * i) / 60;
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
