// Gebietsstände (versioned area definitions): sign-in with an API token, the list of stored
// versions and their areas on the map, drafts edited with leaflet-geoman (split, merge, vertex
// moves, new areas) with live statistics and warnings from the server, and the comparison of two
// versions. This module switches the tabs and wires the controls; the parts are in redefine/.

import { $ } from './dom.js';
import { ctx } from './state.js';
import { map, highlight } from './map.js';
import { closeProfile } from './profile.js';
import { closeAnalysis } from './analysis.js';
import { change } from './choropleth.js';
import { gs, areaId, mapTitle } from './redefine/model.js';
import { track } from './redefine/session.js';
import { LAYERS, recolour, setSelection, onAreaClick } from './redefine/layers.js';
import { renderStats, renderChangedStats } from './redefine/stats.js';
import { setTool, stopTool, toolClick, mergeSelected, wireMergeDialog } from './redefine/tools.js';
import { loadList, showVersion, showDraft, newDraft, closeDraft, reloadDraft, wireSave } from './redefine/drafts.js';
import { showCompare, selectRow, onTableClick } from './redefine/compare.js';
import { initSignIn } from './redefine/signin.js';
import './redefine/testhook.js';

// ---------------------------------------------------------------------------------------------
// Tab switching: the tab owns the map while it is shown

function enter() {
  if (gs.active) return;
  gs.active = true;
  ctx.gsActive = true;
  gs.mainTitle = $('map-title').textContent;
  closeProfile(false);
  closeAnalysis();
  highlight(null);
  if (ctx.layer) ctx.layer.remove();
  if (ctx.srgLayer) ctx.srgLayer.remove();
  if (ctx.outlineLayer) ctx.outlineLayer.remove();
  map.getPane('labels').hidden = true;
  $('legend').hidden = true;
  $('map-message').hidden = true;
  $('analysis-open').hidden = true;
  for (const n of LAYERS) if (gs[n]) gs[n].addTo(map);
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
  for (const n of LAYERS) if (gs[n]) gs[n].remove();
  for (const id of ['gs-legend', 'gs-stats', 'gs-warnings', 'gs-table-panel']) $(id).hidden = true;
  ctx.gsActive = false;
  if (ctx.layer) ctx.layer.addTo(map);
  if (ctx.srgLayer) ctx.srgLayer.addTo(map);
  if (ctx.outlineLayer) ctx.outlineLayer.addTo(map);
  map.getPane('labels').hidden = false;
  $('legend').hidden = false;
  $('analysis-open').hidden = false;
  $('map-title').textContent = gs.mainTitle;
  change({});
}

/** Shows the Karte tab ('karte') or the Gebietsstände tab ('gs'). */
export function selectTab(which) {
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

/** A click on an area of the tab: the active tool's, else select it (and its table row). */
function areaClick(f) {
  // geoman's draw mode gets the same click: it places a vertex, nothing else happens
  if (map.pm?.globalDrawModeEnabled()) return;
  const id = areaId(f);
  if (gs.mode === 'draft' && gs.tool) {
    toolClick(id);
    return;
  }
  if (gs.mode === 'compare') selectRow(id);
  setSelection([id]);
  if (gs.mode !== 'compare') renderStats([id], 'Gebiet');
}

// ---------------------------------------------------------------------------------------------
// Wiring

/** Sets up sign-in and the Gebietsstände tab; called by main.js once the map exists. */
export function initRedefine() {
  onAreaClick(areaClick);
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
      if (gs.mode === 'draft' && gs.lastChanged.length && !$('gs-stats').hidden) renderChangedStats();
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
  $('gs-merge-go').addEventListener('click', () => track(mergeSelected()));
  wireMergeDialog();
  $('gs-compare').addEventListener('click', () => track(showCompare()));
  $('gs-table-panel').addEventListener('click', onTableClick);
  $('gs-stats').addEventListener('click', (e) => {
    if (e.target.closest('[data-close-stats]')) $('gs-stats').hidden = true;
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && gs.tool && !document.querySelector('dialog[open]')) stopTool();
  });
  initSignIn();
}

