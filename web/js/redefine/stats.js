// The live statistics box (one card per area: residents, main indicators, status class) and
// the warnings of the server's guard (gaps, overlaps, slivers) as a list and map markers.

import { num, esc } from '../fmt.js';
import { $ } from '../dom.js';
import { ctx } from '../state.js';
import { map } from '../map.js';
import { gs, indicatorInfo, fmtValue, fmtClass, mainIndicators, rawValue, catalogueEntry } from './model.js';
import { layerOf, removeLayer } from './layers.js';

const L = window.L;

const WARNING_LABEL = { gap: 'Lücke', overlap: 'Überlappung', sliver: 'Differenzbildung möglich' };

/** The level the Gebietsstände are recomputed on (the finest configured level). */
const baseLevel = () => ctx.levels?.[0]?.id;

/**
 * Why a value of the statistics box is missing, in a few words (every "–" says why):
 * kept secret, no data that year, too few residents for the index, index not computed that
 * year, or not computable (empty reference group).
 */
export function whyMissing(p, id) {
  if (p.suppressed) return 'geheim gehalten: Differenzbildung möglich';
  const idx = ctx.cat?.indices?.[0];
  if (id === 'status_class') {
    const years = gs.meta?.index_years || idx?.data_years || [];
    if (years.length && !years.includes(gs.year)) return `Index nur für ${years.join(', ')} berechnet`;
    if (p.residents === null || p.residents === undefined) return `keine Einwohnerzahl für ${gs.year}`;
    if (idx && p.residents < idx.min_population) return `unter ${num(idx.min_population, 0)} Einwohner:innen: kein Indexwert`;
    return 'kein Indexwert (Werte fehlen)';
  }
  if (id === 'residents') return `keine Daten für ${gs.year}`;
  const years = catalogueEntry(id)?.data_years?.[baseLevel()];
  if (years && !years.includes(gs.year)) return `keine Daten für ${gs.year}`;
  if (p.residents === 0) return 'keine Einwohner:innen';
  return 'nicht berechenbar (Bezugsgruppe leer oder Wert fehlt)';
}

/** A value of the box with the reason when it is missing. */
function shown(p, id) {
  const v = id === 'status_class' ? p.status_class : rawValue(p, id);
  if (v !== null && v !== undefined) return esc(id === 'status_class' ? fmtClass(v) : fmtValue(p, id));
  return `${p.suppressed ? '·' : '–'} <span class="why" data-why>(${esc(whyMissing(p, id))})</span>`;
}

/** The statistics box for the areas `ids` under `title` ('Gebiet': one clicked area, every indicator). */
export function renderStats(ids, title) {
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
    h += `<tr><th>Einwohner:innen ${gs.year}</th><td class="num" data-residents="${p.residents ?? ''}">${shown(p, 'residents')}</td></tr>`;
    for (const ind of all) {
      const info = indicatorInfo(ind);
      h += `<tr data-indicator="${esc(ind)}"><th>${esc(info ? info.title : ind)}</th><td class="num">${shown(p, ind)}</td></tr>`;
    }
    h += `<tr><th>Statusklasse</th><td class="num" data-status-class="${p.status_class ?? ''}">${shown(p, 'status_class')}</td></tr>`;
    if (p.group) h += `<tr><th>Gesamtindex</th><td class="num">${esc(p.group)}</td></tr>`;
    h += '</table>';
    if (p.warnings && p.warnings.length) h += `<p class="warn-text">⚠ ${p.warnings.map(esc).join('<br>')}</p>`;
    h += '</section>';
  }
  box.innerHTML = h;
  box.hidden = false;
  if (title === 'Gebiet') keepClear(ids);
}

/**
 * Keeps the areas `ids` clear of the statistics box: if the box covers them, the map moves
 * (zooming out if it must) so they lie beside it; on a narrow map the box goes to the bottom.
 */
export function keepClear(ids) {
  const box = $('gs-stats');
  const ls = ids.map(layerOf).filter(Boolean);
  if (box.hidden || !ls.length) return;
  const L = window.L;
  const c = map.getContainer().getBoundingClientRect();
  const narrow = c.width - box.offsetWidth < 260;
  box.classList.toggle('bottom', narrow);
  const r = box.getBoundingClientRect();
  const bounds = L.featureGroup(ls).getBounds();
  const nw = map.latLngToContainerPoint(bounds.getNorthWest());
  const se = map.latLngToContainerPoint(bounds.getSouthEast());
  const bx = { x0: r.left - c.left, x1: r.right - c.left, y0: r.top - c.top, y1: r.bottom - c.top };
  const covered = nw.x < bx.x1 && se.x > bx.x0 && nw.y < bx.y1 && se.y > bx.y0;
  if (!covered) return;
  const lg = $('gs-legend');
  const legendH = lg && !lg.hidden ? lg.offsetHeight + 16 : 0;
  const pad = narrow ? { tl: [20, 20], br: [20, c.bottom - r.top + 16] } : { tl: [20, 20], br: [c.right - r.left + 16, Math.max(20, legendH)] };
  map.fitBounds(bounds, { paddingTopLeft: pad.tl, paddingBottomRight: pad.br, maxZoom: map.getZoom(), animate: false });
}

/** The statistics box for the areas the last operation changed (those still shown). */
export function renderChangedStats() {
  renderStats(gs.lastChanged.filter((id) => layerOf(id)), 'Geänderte Gebiete');
  keepClear(gs.lastChanged);
}

/** The warnings of the last operation: the list box and a marker at each located one. */
export function renderWarnings() {
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
