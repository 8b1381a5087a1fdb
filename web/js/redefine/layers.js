// The Gebietsstände tab's layers on the shared map: the shown areas (a version, the draft or the
// comparison target) coloured by the variable or by the kind of change, their legend, and the
// outline of the selected areas. What a click on an area does is set by redefine.js.

import { classify, paletteOf } from '../classify.js';
import { num, esc } from '../fmt.js';
import { $ } from '../dom.js';
import { map, areaStyle, bindArea, outline, classRows } from '../map.js';
import { gs, CHANGE_CLASSES, areaId, catalogueEntry, decimalsOf, variableTitle, rawValue, isEstimated, fmtValue } from './model.js';

const L = window.L;

/** The layers of the tab (fields of `gs`). */
export const LAYERS = ['layer', 'outline', 'selLayer', 'warnLayer'];

let areaClick = () => {};

/** Sets what a click on an area does. */
export function onAreaClick(fn) {
  areaClick = fn;
}

/** The polygon layer of area `id`, if shown. */
export function layerOf(id) {
  return gs.layer ? gs.layer.getLayers().find((l) => areaId(l.feature) === id) : null;
}

/** Style of an area: its class colour (or change category), hatched without a value. */
export function baseStyle(f) {
  return areaStyle(gs.colorOf.get(f) || '#bdbdbd', gs.mode !== 'compare' && !gs.classes?.hasValue(f), 0.7);
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
export function recolour() {
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
    const values = feats.map((f) => rawValue(f.properties, id));
    const c = classify(values, {
      kind: id === 'status_class' ? 'status' : 'numeric',
      method: 'quantile',
      k: 5,
      palette: id === 'residents' ? 'neutral' : paletteOf(ind?.polarity),
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
    h += classRows(c, 'keine Angabe (· = geheim gehalten)') + '</table>';
    if (c.estimated) h += `<div class="hint">${c.estimated} Werte geschätzt: aus einem anderen Gebietsstand ${esc(gs.meta?.weighting?.label || 'über die Adressen')} umgerechnet</div>`;
  }
  el.innerHTML = h;
}

/** Replaces the map's areas with `features` (GeoJSON, EPSG:4326); `fit` zooms to them. */
export function showFeatures(features, fit) {
  removeLayer('layer');
  gs.layer = L.geoJSON(null, {
    style: (f) => baseStyle(f),
    onEachFeature: (f, l) => bindArea(l, f, { tooltip: tooltipHtml, click: (x) => areaClick(x), weight: 0.7, hoverable: (x) => !x.pm?.enabled() }),
  });
  gs.layer.addData({ type: 'FeatureCollection', features });
  recolour();
  if (fit && features.length) map.fitBounds(gs.layer.getBounds(), { padding: [8, 8], animate: false });
  gs.layer.addTo(map);
}

/** Removes the layer `gs[name]` (one of LAYERS) from the map and forgets it. */
export function removeLayer(name) {
  if (gs[name]) {
    if (name === 'layer') gs.layer.eachLayer((l) => l.pm && l.pm.enabled() && l.pm.disable());
    gs[name].remove();
    gs[name] = null;
  }
}

/** Selects and outlines the areas `ids`. */
export function setSelection(ids) {
  gs.selected = ids;
  removeLayer('selLayer');
  const feats = ids.map((id) => layerOf(id)?.feature).filter(Boolean);
  if (!feats.length) return;
  gs.selLayer = outline(feats, { pmIgnore: true, snapIgnore: true }).addTo(map);
}

/** Fits `bounds` into the part of the map the legend does not cover, so every point is clickable. */
export function fitClear(bounds) {
  const lg = $('gs-legend');
  const below = lg.hidden ? 0 : lg.offsetHeight + 20;
  map.fitBounds(bounds, { maxZoom: 16, paddingTopLeft: [40, 40], paddingBottomRight: [40, 40 + below], animate: false });
}
