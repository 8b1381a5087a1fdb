// kleinraum web map: choropleth of indicators and MSS classes, Sozialraumgebiete, facilities,
// Steckbrief (profile) panel, permalink and exports; the Gebietsstände tab. Reads the API.
// This module only starts the application: loads the catalogue, sets the initial state from
// the permalink, draws the map and wires the controls. Nothing imports it.

import * as api from './api.js';
import { esc } from './fmt.js';
import { $ } from './dom.js';
import { state, ctx } from './state.js';
import { map, renderer, createMap, viewString, highlight } from './map.js';
import { setStatus, showError, mapTasks } from './status.js';
import { readHash, writeHash } from './permalink.js';
import { fillIndicatorSelect, loadLevel, findArea, selectArea, change } from './choropleth.js';
import { FACILITY_COLORS, fillFacilities, setFacility } from './facilities.js';
import { openProfile, closeProfile } from './profile.js';
import { exportCsv, exportPng } from './export.js';
import { initRedefine } from './redefine.js';
import './testhook.js';

const track = mapTasks.track;

async function init() {
  createMap();
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
  // Long series (a Kreis's 2014–2024): label every second year, and always the last, so the
  // labels never run into each other.
  const step = years.length > 6 ? Math.ceil(years.length / 6) : 1;
  $('year-ticks').innerHTML = years
    .map((y, i) => `<span>${i % step === 0 || i === years.length - 1 ? y : ''}</span>`)
    .join('');

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
  $('print-footer').textContent = `Quelle: kleinraum – ${location.origin}${location.pathname} · Stand ${new Date().toLocaleDateString('de-DE')}`;
  if (landing.title) {
    $('title').textContent = landing.title;
    document.title = `${landing.title} – Karte der Sozialräume`;
  }
  // sign-in and the Gebietsstände tab (versions, drafts, comparison)
  initRedefine();
}

/** The controls of the Karte tab, the permalink and the profile panel. */
function wireControls() {
  const yr = $('year');
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
      setStatus('');
      selectArea(f.properties.id, true);
    } else setStatus(`Kein Gebiet gefunden für „${$('search').value}“.`);
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
      setStatus('Link kopiert.');
    } catch {
      setStatus(`Link: ${location.href}`);
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
}

init().catch(showError);
