// The drawing tools of a draft (leaflet-geoman): split (draw over the part to cut off), merge
// (pick areas), reshape (drag vertices; shared vertices of the neighbours move along) and draw
// a new area; each edit goes to the server as one operation whose result replaces the areas.

import * as api from '../api.js';
import { esc } from '../fmt.js';
import { $ } from '../dom.js';
import { ctx } from '../state.js';
import { map } from '../map.js';
import { withStatus } from '../status.js';
import { sameVertex, replaceVertex, interiorPoint, geometryRings, pointInRings } from '../geometry.js';
import { gs, areaId } from './model.js';
import { track, draftOperation } from './session.js';
import { layerOf, baseStyle, recolour, removeLayer, setSelection, fitClear } from './layers.js';
import { renderStats, renderWarnings, keepClear } from './stats.js';

const L = window.L;

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

// ---------------------------------------------------------------------------------------------
// Operations

/** Sends one draft operation and puts its result on the map. */
function operate(body) {
  return withStatus('Berechne …', async () => {
    const res = await draftOperation(gs.draft.id, gs.year, body);
    applyResult(res);
    return res;
  });
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
  keepClear(gs.lastChanged);
}

// ---------------------------------------------------------------------------------------------
// Tools

/** Starts `tool` (null: none). */
export function setTool(tool) {
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

/** Ends the current tool, its drawing or editing, and the selection. */
export function stopTool() {
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

/** A click on area `id` while a tool is active. */
export function toolClick(id) {
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

function renderMergeList() {
  $('gs-merge-list').innerHTML = gs.selected
    .map((id) => `<li>${esc(layerOf(id)?.feature.properties.name || id)} (${esc(id)})</li>`)
    .join('');
  $('gs-merge-go').disabled = gs.selected.length < 2;
  $('gs-merge-go').textContent = gs.selected.length >= 2 ? `${gs.selected.length} Gebiete zusammenlegen` : 'Zusammenlegen bestätigen';
}

/** Geometry of the configured coarser levels (moderately simplified), loaded once. */
const coarse = new Map();
async function coarserLevels() {
  const levels = ctx.levels.filter((l) => l.id !== 'gesamt').slice(1);
  await Promise.all(
    levels
      .filter((l) => !coarse.has(l.id))
      .map(async (l) => {
        const [geo, names] = await Promise.all([api.geometry(l.id, 12), api.names(l.id)]);
        const name = new Map(names.map((f) => [f.properties.id, f.properties.name]));
        coarse.set(
          l.id,
          geo.filter((g) => g.geometry).map((g) => ({ id: g.properties.id, name: name.get(g.properties.id) || g.properties.id, rings: geometryRings(g.geometry) })),
        );
      }),
  );
  return levels;
}

/**
 * The coarser areas the areas `ids` lie in, per level where they differ:
 * [{title, names: [...]}] (empty: all in the same areas of every coarser level).
 */
export async function crossedBoundaries(ids) {
  const levels = await coarserLevels();
  const out = [];
  for (const l of levels) {
    const hit = new Set();
    for (const id of ids) {
      const ly = layerOf(id);
      if (!ly) continue;
      const p = interiorPoint(ly);
      const a = coarse.get(l.id).find((c) => pointInRings(p.lng, p.lat, c.rings));
      if (a) hit.add(a.name);
    }
    if (hit.size > 1) out.push({ title: l.title, names: [...hit].sort((a, b) => a.localeCompare(b, 'de')) });
  }
  return out;
}

let pendingMerge = null;

/** Merges the picked areas (two or more); across a boundary of a coarser level only after the planner confirms it and names the new area. */
export async function mergeSelected() {
  if (gs.selected.length < 2) return;
  const areas = [...gs.selected];
  const crossed = await crossedBoundaries(areas);
  if (crossed.length) {
    pendingMerge = areas;
    $('merge-why').textContent = `Die gewählten Gebiete liegen in verschiedenen ${crossed.map((c) => `${c.title} (${c.names.join(', ')})`).join(' und ')}. Das neue Gebiet überschreitet diese Grenze${crossed.length > 1 ? 'n' : ''}; es braucht einen eigenen Namen.`;
    $('merge-name').value = '';
    $('merge-error').textContent = '';
    $('merge-dialog').showModal();
    $('merge-name').focus();
    return;
  }
  await operate({ op: 'merge', areas }).finally(endOperation);
}

/** The confirmation dialog of a merge across a boundary. */
export function wireMergeDialog() {
  $('merge-cancel').addEventListener('click', () => {
    pendingMerge = null;
    $('merge-dialog').close();
  });
  $('merge-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $('merge-name').value.trim();
    if (!name) {
      $('merge-error').textContent = 'Bitte einen Namen für das neue Gebiet angeben.';
      return;
    }
    const areas = pendingMerge;
    pendingMerge = null;
    $('merge-dialog').close();
    if (areas) track(operate({ op: 'merge', areas, name }).finally(endOperation));
  });
}

/** geoman finished a polygon: split the selected area or draw a new one. */
export function onCreate(e) {
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

// ---------------------------------------------------------------------------------------------
// Vertex moves

let dragFrom = null;

/** Puts area `id` into geoman's edit mode (reshape). */
export function startEditing(id) {
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

export function stopEditing() {
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
  if (sameVertex(from, to)) return;
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
