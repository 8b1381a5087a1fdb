// The list of Gebietsstände, showing one on the map, and the draft session: open a draft on a
// base version, show it again, reload it for another year, close it, save it as a Gebietsstand.

import { esc, date } from '../fmt.js';
import { $, wireDialog } from '../dom.js';
import { state } from '../state.js';
import { setStatus, withStatus } from '../status.js';
import { gs, mapTitle, variableTitle } from './model.js';
import { track, listVersions, versionAreas, createDraft, draftAreas, saveDraft } from './session.js';
import { LAYERS, showFeatures, removeLayer } from './layers.js';
import { renderStats, renderChangedStats, renderWarnings } from './stats.js';
import { stopTool, startEditing, stopEditing } from './tools.js';
import { ensureGeoman } from './geoman.js';

const KEY_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Takes the tab's areas off the map and clears what belongs to them. */
export function clearMap() {
  stopTool();
  for (const n of LAYERS) removeLayer(n);
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
// The list of Gebietsstände

/** File name of a source path (the full path is in the tooltip); other sources unchanged. */
function shortSource(src) {
  if (!src) return '–';
  return /^(\/|[A-Za-z]:\\)/.test(src) ? src.split(/[\\/]/).pop() : src;
}

/** Loads the Gebietsstände the user may see and fills the list and the selects. */
export async function loadList() {
  const meta = await listVersions();
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
        `<div class="meta">${esc(g.key)}${g.valid_from ? ' · gültig ab ' + esc(date(g.valid_from)) : ''} · <span data-n>${g.n_areas}</span> Gebiete${lineage}</div>` +
        `<div class="meta" title="${esc(g.source)}${g.note ? '\n' + esc(g.note) : ''}">Quelle: ${esc(shortSource(g.source))}${g.created_by ? ' · ' + esc(g.created_by) : ''}</div></li>`
      );
    })
    .join('');
}

/** Shows the areas of Gebietsstand `key`; `fit` zooms to them. */
export async function showVersion(key, fit = true) {
  stopTool();
  await withStatus('Lade Gebiete …', async () => {
    const fc = await versionAreas(key, gs.year);
    clearMap();
    gs.mode = 'view';
    gs.viewKey = key;
    showFeatures(fc.features, fit);
    $('map-title').textContent = mapTitle();
    renderList();
    renderDraftInfo();
  });
}

// ---------------------------------------------------------------------------------------------
// The draft session

/** The draft's info line, toolbar and save row, by whether the open draft is shown. */
export function renderDraftInfo() {
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

/** Shows the open draft again (after a version or the comparison was shown). */
export async function showDraft() {
  if (!gs.draft) return;
  const draft = gs.draft;
  const [fc] = await Promise.all([draftAreas(draft.id, gs.year), ensureGeoman()]);
  clearMap();
  gs.draft = draft;
  gs.mode = 'draft';
  showFeatures(fc.features, false);
  if (gs.lastChanged.length) renderChangedStats();
  renderWarnings();
  $('map-title').textContent = mapTitle();
  renderDraftInfo();
}

/** Opens a new draft on the chosen base version. */
export async function newDraft() {
  const base = $('gs-base').value;
  stopTool();
  await withStatus('Lege Entwurf an …', async () => {
    const [d] = await Promise.all([createDraft(base), ensureGeoman()]);
    const fc = await draftAreas(d.id, gs.year);
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
  });
}

export function closeDraft() {
  gs.draft = null;
  if (gs.mode === 'draft') clearMap();
  renderDraftInfo();
}

/** Loads the shown draft again (another year), keeping the area in edit mode. */
export async function reloadDraft() {
  const fc = await draftAreas(gs.draft.id, gs.year);
  const keepEdit = gs.tool === 'reshape' && gs.selected[0];
  stopEditing();
  showFeatures(fc.features, false);
  if (gs.lastChanged.length) renderStats(gs.lastChanged, 'Geänderte Gebiete');
  if (keepEdit) startEditing(keepEdit);
  $('map-title').textContent = mapTitle();
}

/** The dialog that saves the draft as a Gebietsstand. */
export function wireSave() {
  wireDialog('save', {
    openId: 'gs-save',
    focusId: 'save-key',
    track,
    prepare: () => {
      if (!$('save-name').value) $('save-name').value = `Entwurf auf Grundlage von ${gs.draft?.base || ''}`;
      if (!$('save-valid').value) $('save-valid').value = new Date().toISOString().slice(0, 10);
    },
    submit: (dlg) => {
      const key = $('save-key').value.trim();
      if (!KEY_RE.test(key)) {
        $('save-error').textContent = 'Der Schlüssel besteht aus Kleinbuchstaben, Ziffern, „-“ und „_“ (höchstens 64 Zeichen, beginnt mit Buchstabe oder Ziffer).';
        return null;
      }
      const body = { key, name: $('save-name').value.trim() || key, valid_from: $('save-valid').value || null, note: $('save-note').value };
      return saveDraft(gs.draft.id, body).then(async (r) => {
        dlg.close();
        await loadList();
        setStatus(`Gespeichert als Entwurf „${r.key || key}“.`);
      });
    },
  });
}

