// kleinraum web map: choropleth of indicators and MSS classes, Sozialraumgebiete, facilities,
// Steckbrief (profile) panel, table and charts, permalink and exports; the Gebietsstände tab.
// This module only starts the application: loads the catalogue and the map settings, sets the
// initial state from the permalink, draws the map and wires the controls. Nothing imports it.
// The Gebietsstände tab (and, for planners, the drawing library) is loaded on first use.

import * as api from './api.js';
import { esc } from './fmt.js';
import { $ } from './dom.js';
import { state, ctx, dataYears, variable } from './state.js';
import { map, renderer, createMap, viewString, highlight, addBasemap } from './map.js';
import { setStatus, showError, mapTasks } from './status.js';
import { readHash, writeHash } from './permalink.js';
import { fillIndicatorSelect, loadLevel, findArea, selectArea, change, srgListKeys, refineGeometry, parentChain, yearWithData } from './choropleth.js';
import { FACILITY_COLORS, fillFacilities, setFacility } from './facilities.js';
import { openProfile, closeProfile, setParentChain } from './profile.js';
import { exportCsv, exportPng } from './export.js';
import { initLabels } from './labels.js';
import { initLegend } from './legend.js';
import { initKeyboard } from './keyboard.js';
import { interiorPoint } from './geometry.js';
import { initAnalysis, openAnalysis } from './analysis.js';
import { preparePrint, restorePrint } from './print.js';
import { initReports } from './reports.js';
import './testhook.js';

const track = mapTasks.track;

async function init() {
  createMap();
  const [cat, cols, landing, cfg] = await Promise.all([api.catalogue(), api.collections(), api.getJSON('?f=json'), api.mapConfig()]);
  ctx.cat = cat;
  ctx.mapConfig = cfg;
  // area levels have a temporal extent, facility categories none
  ctx.levels = cols.collections
    .filter((c) => c.extent && c.extent.temporal)
    .map((c) => ({ id: c.id, title: c.title, bbox: c.extent.spatial?.bbox?.[0] || null }));
  ctx.facilityCats = cols.collections
    .filter((c) => !(c.extent && c.extent.temporal))
    .map((c, i) => ({ id: c.id, title: c.title, color: FACILITY_COLORS[i % FACILITY_COLORS.length] }));
  map.attributionControl.addAttribution('Daten: kleinraum-API');
  addBasemap(cfg.basemap);
  initLabels(map, interiorPoint);
  initLegend();
  initKeyboard();
  setParentChain(parentChain);
  renderFooter(cfg);

  const mapLevels = ctx.levels.filter((l) => l.id !== 'gesamt');
  $('level').innerHTML = mapLevels.map((l) => `<option value="${esc(l.id)}">${esc(l.title)}</option>`).join('');
  const years = cat.years;
  const yr = $('year');
  yr.min = years[0];
  yr.max = years[years.length - 1];

  // defaults: the finest level and the first index's latest year with values; then the permalink
  const firstIdx = cat.indices[0];
  const idxYears = firstIdx ? firstIdx.data_years || firstIdx.years : [];
  Object.assign(state, {
    level: mapLevels[0].id,
    year: idxYears.length ? idxYears[idxYears.length - 1] : years[years.length - 1],
    indicator: firstIdx ? `${firstIdx.id}_status_class` : cat.indicators[0].id,
    srgIndex: firstIdx ? firstIdx.id : null,
  });
  const h = readHash();
  Object.assign(state, h);
  if (!mapLevels.some((l) => l.id === state.level)) state.level = mapLevels[0].id;
  if (!years.includes(state.year)) state.year = years[years.length - 1];
  if (![3, 4, 5, 6, 7].includes(state.k)) state.k = 5;
  if (!['quantile', 'equal', 'jenks'].includes(state.method)) state.method = 'quantile';
  if (state.change && !/^\d{4}-\d{4}$/.test(state.change)) state.change = null;
  if (state.range && !/^-?[\d.]*~-?[\d.]*$/.test(state.range)) state.range = null;
  state.facilities = state.facilities.filter((f) => ctx.facilityCats.some((c) => c.id === f));

  $('level').value = state.level;
  $('method').value = state.method;
  $('classes').value = String(state.k);
  $('srg').checked = state.srg;
  fillFacilities();
  fillIndicatorSelect();
  // a permalink without year lands on a year with data
  if (h.year === undefined) state.year = yearWithData(variable());
  yr.value = state.year;
  const view = state.view;
  await loadLevel(!view);
  await Promise.all(state.facilities.map((c) => setFacility(c, true)));
  if (state.area && ctx.byId.has(state.area)) {
    highlight(state.area);
    await openProfile(state.area);
  } else state.area = null;
  // The view is set last, once the profile panel has given the map its final size: set before,
  // the resize would shift the centre by half the panel's width.
  map.invalidateSize({ pan: false });
  if (view) {
    const [z, lat, lng] = view.split('/').map(Number);
    if ([z, lat, lng].every(Number.isFinite)) map.setView([lat, lng], z, { animate: false });
  }
  state.view = view || viewString();
  writeHash();
  wireControls();
  initReports();
  initAnalysis();
  if (state.change) openAnalysis('change');
  $('print-footer').textContent = `Quelle: kleinraum – ${location.origin}${location.pathname} · Stand ${new Date().toLocaleDateString('de-DE')}`;
  if (landing.title) {
    $('title').textContent = cfg.title || landing.title;
    document.title = `${cfg.title || landing.title} – Karte der Sozialräume`;
  }
  initGebietsstaende();
}

/** Impressum and Datenschutzerklärung from the config (a public body must link both). */
function renderFooter(cfg) {
  const links = [
    [cfg.impressum_url, 'Impressum'],
    [cfg.datenschutz_url, 'Datenschutzerklärung'],
  ].filter(([u]) => u);
  $('site-footer').innerHTML =
    `<span>Daten: ${esc(cfg.title || 'kleinraum')}, ausgewertet mit kleinraum</span>` +
    links.map(([u, t]) => ` · <a href="${esc(u)}" rel="noopener">${t}</a>`).join('');
  $('site-footer').hidden = false;
}

// ---------------------------------------------------------------------------------------------
// The Gebietsstände tab and sign-in: loaded on first use (public visitors of the map need neither)

let redefine = null;
function loadRedefine() {
  if (!redefine) redefine = import('./redefine.js').then((m) => (m.initRedefine(), m));
  return redefine;
}

function initGebietsstaende() {
  // the tab and the sign-in button load the module, which then owns them
  const once = (id, then) => {
    const el = $(id);
    const h = async (e) => {
      e.preventDefault();
      e.stopImmediatePropagation();
      el.removeEventListener('click', h, true);
      const m = await track(loadRedefine());
      if (m) then(m);
    };
    el.addEventListener('click', h, true);
  };
  once('tab-gs', (m) => m.selectTab('gs'));
  once('login-open', () => $('login-open').click());
  document.querySelector('.tabs').addEventListener('keydown', (e) => {
    if ((e.key === 'ArrowLeft' || e.key === 'ArrowRight') && !redefine) {
      e.preventDefault();
      track(loadRedefine().then((m) => ($('tab-gs').focus(), m.selectTab('gs'))));
    }
  });
  // a planner signed in earlier in this browser tab: restore the session
  try {
    if (sessionStorage.getItem('kleinraum-token')) track(loadRedefine());
  } catch {
    // no session storage: nobody signed in
  }
}

// ---------------------------------------------------------------------------------------------

/** The controls of the Karte tab, the permalink, the profile panel, skip links, printing. */
function wireControls() {
  const yr = $('year');
  $('level').addEventListener('change', (e) => change({ level: e.target.value }));
  $('indicator').addEventListener('change', (e) => change({ indicator: e.target.value }));
  yr.addEventListener('input', (e) => {
    const y = Number(e.target.value);
    $('year-out').textContent = dataYears().includes(y) ? String(y) : `${y} (keine Daten)`;
  });
  yr.addEventListener('change', (e) => change({ year: Number(e.target.value) }));
  $('method').addEventListener('change', (e) => change({ method: e.target.value }));
  $('classes').addEventListener('change', (e) => change({ k: Number(e.target.value) }));
  $('srg').addEventListener('change', (e) => change({ srg: e.target.checked }));
  $('srg-index').addEventListener('change', (e) => change({ srgIndex: e.target.value }));
  $('map-message').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-year]');
    if (b) change({ year: Number(b.dataset.year) });
  });
  const setRange = () => {
    if (!$('range-on').checked) return change({ range: null });
    const lo = $('range-lo').value;
    const hi = $('range-hi').value;
    return change({ range: `${lo}~${hi}` });
  };
  $('range-on').addEventListener('change', setRange);
  $('range-lo').addEventListener('change', setRange);
  $('range-hi').addEventListener('change', setRange);
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
  $('srg-list').addEventListener('keydown', srgListKeys);
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const f = findArea($('search').value);
    if (f) {
      setStatus('');
      selectArea(f.properties.id, true);
    } else setStatus(`Kein Gebiet gefunden für „${$('search').value}“.`);
  });
  $('profile-close').addEventListener('click', () => closeProfile(true));
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !$('profile').hidden && !document.querySelector('dialog[open]')) closeProfile(true);
  });
  $('export-csv').addEventListener('click', () => exportCsv());
  $('export-png').addEventListener('click', () => track(exportPng(map, renderer)));
  // committee papers: the whole area on one A4 landscape page, legend beside it
  $('print').addEventListener('click', () => track(preparePrint().then(() => window.print())));
  window.addEventListener('beforeprint', () => preparePrint());
  window.addEventListener('afterprint', restorePrint);
  window.matchMedia('print').addEventListener('change', (e) => (e.matches ? preparePrint() : restorePrint()));
  $('copy-link').addEventListener('click', async () => {
    writeHash();
    try {
      await navigator.clipboard.writeText(location.href);
      setStatus('Link kopiert.');
    } catch {
      setStatus(`Link: ${location.href}`);
    }
  });
  // skip links: focus the target (the map, the table, the settings)
  $('skip-map').addEventListener('click', (e) => {
    e.preventDefault();
    map.getContainer().focus();
  });
  $('skip-table').addEventListener('click', (e) => {
    e.preventDefault();
    openAnalysis('table', true);
  });
  $('skip-controls').addEventListener('click', (e) => {
    e.preventDefault();
    $('level').focus();
  });
  map.on('moveend', () => {
    state.view = viewString();
    writeHash();
  });
  map.on('zoomend', () => refineGeometry());
  window.addEventListener('hashchange', () => {
    const h2 = readHash();
    const patch = {};
    for (const k of ['level', 'year', 'indicator', 'method', 'k', 'srg', 'srgIndex', 'change', 'range']) if (h2[k] !== undefined && h2[k] !== state[k]) patch[k] = h2[k];
    if (Object.keys(patch).length) {
      for (const [k, v] of Object.entries(patch)) {
        const el = { level: 'level', year: 'year', indicator: 'indicator', method: 'method', k: 'classes' }[k];
        if (el) $(el).value = String(v);
      }
      if ('srg' in patch) $('srg').checked = patch.srg;
      change(patch);
    }
  });
}

init().catch(showError);
