// The comparison of two Gebietsstände: the target's areas coloured by the kind of change with
// the old boundaries dashed on top, and the sortable table (predecessors with shares, residents
// and status class before and after, cause) with its CSV download.

import { num, esc } from '../fmt.js';
import { $, download } from '../dom.js';
import { map, renderer } from '../map.js';
import { withStatus } from '../status.js';
import { gs, CHANGE_CLASSES, areaId, fmtClass, mapTitle } from './model.js';
import { token, track, comparison, versionAreas, comparisonCsvUrl, fetchCsv } from './session.js';
import { layerOf, showFeatures, setSelection } from './layers.js';
import { stopTool } from './tools.js';
import { clearMap, renderDraftInfo } from './drafts.js';

const L = window.L;

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

/** Compares the versions chosen in „von“ and „nach“ for the tab's year. */
export async function showCompare() {
  const from = $('gs-from').value;
  const to = $('gs-to').value;
  if (!from || !to) return;
  stopTool();
  await withStatus('Vergleiche …', async () => {
    const [data, toFc, fromFc] = await Promise.all([comparison(from, to, gs.year), versionAreas(to, gs.year), versionAreas(from, gs.year)]);
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
  });
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
    `<a id="gs-csv" href="${esc(comparisonCsvUrl(c.from, c.to, gs.year))}" download="vergleich-${esc(d.from)}-${esc(d.to)}-${d.year}.csv">Tabelle als CSV</a></div>`;
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

/** Marks the table row of area `id` (clicked on the map) and scrolls it into view. */
export function selectRow(id) {
  const row = document.querySelector(`#gs-table tr[data-id="${CSS.escape(id)}"]`);
  if (row) {
    row.scrollIntoView({ block: 'nearest' });
    document.querySelectorAll('#gs-table tr.sel').forEach((r) => r.classList.remove('sel'));
    row.classList.add('sel');
  }
}

/** Clicks in the table: sort by a column, download the CSV (with the token), zoom to a row's area. */
export function onTableClick(e) {
  const s = e.target.closest('button[data-sort]');
  if (s) {
    gs.sort = s.dataset.sort === gs.sort.col ? { col: s.dataset.sort, dir: -gs.sort.dir } : { col: s.dataset.sort, dir: 1 };
    renderTable();
    return;
  }
  const a = e.target.closest('a#gs-csv');
  if (a && token()) {
    // a draft's CSV needs the token: fetch it and hand the browser a blob
    e.preventDefault();
    track(fetchCsv(a.href).then((blob) => download(blob, a.getAttribute('download'))));
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
}
