// The Leaflet map both tabs draw on: the canvas renderer with hatch patterns, the map itself,
// and the styling helpers the area layers share (fill, hover, tooltip, outline, legend rows).

import { ctx } from './state.js';
import { esc } from './fmt.js';
import { MAP_BACKGROUND } from './classify.js';

const L = window.L;

// ---------------------------------------------------------------------------------------------
// Canvas renderer with hatch patterns: Leaflet's canvas renderer fills with a colour only.

/**
 * A repeating pattern: `kind` 'diag' (one diagonal), 'cross' (both diagonals) or 'dots'; for
 * the Sozialraumgebiete a black line on a white one, visible on every fill colour.
 */
function pattern(ctx2d, kind, color, gap, halo) {
  const c = document.createElement('canvas');
  c.width = c.height = gap;
  const g = c.getContext('2d');
  const diag = (dir) => {
    g.beginPath();
    if (dir > 0) {
      g.moveTo(0, gap);
      g.lineTo(gap, 0);
      g.moveTo(-gap / 2, gap / 2);
      g.lineTo(gap / 2, -gap / 2);
      g.moveTo(gap / 2, gap * 1.5);
      g.lineTo(gap * 1.5, gap / 2);
    } else {
      g.moveTo(0, 0);
      g.lineTo(gap, gap);
      g.moveTo(-gap / 2, gap / 2);
      g.lineTo(gap / 2, gap * 1.5);
      g.moveTo(gap / 2, -gap / 2);
      g.lineTo(gap * 1.5, gap / 2);
    }
    g.stroke();
  };
  const draw = (col, w) => {
    g.strokeStyle = col;
    g.fillStyle = col;
    g.lineWidth = w;
    if (kind === 'dots') {
      g.beginPath();
      g.arc(gap / 2, gap / 2, w, 0, 2 * Math.PI);
      g.fill();
    } else {
      diag(1);
      if (kind === 'cross') diag(-1);
    }
  };
  if (halo) draw(halo, gap / 3);
  draw(color, gap / 6);
  return ctx2d.createPattern(c, 'repeat');
}

/** The patterns by name (the style option `hatch`). */
const PATTERNS = {
  srg: (c) => pattern(c, 'cross', 'rgba(0,0,0,0.9)', 10, 'rgba(255,255,255,0.85)'),
  suppressed: (c) => pattern(c, 'diag', '#6b6b6b', 7),
  nodata: (c) => pattern(c, 'diag', '#6b6b6b', 7),
  index: (c) => pattern(c, 'dots', '#5f5f5f', 6),
  zero: (c) => pattern(c, 'cross', '#8a8a8a', 8),
};

const HatchCanvas = L.Canvas.extend({
  _fillStroke(c, layer) {
    const o = layer.options;
    if (o.fill) {
      c.globalAlpha = o.fillOpacity;
      c.fillStyle = o.fillColor || o.color;
      c.fill(o.fillRule || 'evenodd');
      if (o.hatch) {
        this._patterns = this._patterns || {};
        const key = o.hatch;
        if (!this._patterns[key]) this._patterns[key] = (PATTERNS[key] || PATTERNS.nodata)(c);
        c.globalAlpha = 1;
        c.fillStyle = this._patterns[key];
        c.fill(o.fillRule || 'evenodd');
      }
    }
    if (o.stroke && o.weight !== 0) {
      if (c.setLineDash) c.setLineDash((layer.options && layer.options._dashArray) || []);
      c.globalAlpha = o.opacity;
      c.lineWidth = o.weight;
      c.strokeStyle = o.color;
      c.lineCap = o.lineCap;
      c.lineJoin = o.lineJoin;
      c.stroke();
    }
  },
});

// ---------------------------------------------------------------------------------------------
// The map

/** The map and its canvas renderer (set by createMap). */
export let map = null;
export let renderer = null;

/** Creates the map in #map: German controls, a scale bar, no background until the config names one. */
export function createMap() {
  renderer = new HatchCanvas({ padding: 0.3 });
  // keyboard: off, the area picker (keyboard.js) takes the arrow keys
  map = L.map('map', { renderer, preferCanvas: true, zoomSnap: 0.25, attributionControl: true, minZoom: 8, maxZoom: 18, zoomControl: false, keyboard: false });
  L.control.zoom({ zoomInTitle: 'Vergrößern', zoomOutTitle: 'Verkleinern' }).addTo(map);
  L.control.scale({ imperial: false, position: 'bottomright' }).addTo(map);
  map.attributionControl.setPrefix('Leaflet');
  map.getContainer().style.background = MAP_BACKGROUND;
  // the outlines lie over the areas but must not take their clicks
  map.createPane('outlines').style.zIndex = 420;
  map.getPane('outlines').style.pointerEvents = 'none';
  map.createPane('labels').style.zIndex = 640;
  map.getPane('labels').style.pointerEvents = 'none';
  map.setView([51, 10], 8);
  // the map container changes size when the profile panel opens or closes
  new ResizeObserver(() => map.invalidateSize({ pan: false })).observe(map.getContainer());
  return map;
}

let baseLayer = null;

/**
 * Adds the background map of the config (`/map-config` basemap: XYZ tiles or a WMS) with its
 * attribution and a switch; nothing without one (the offline intranet case).
 */
export function addBasemap(cfg) {
  if (!cfg) return null;
  const opts = { attribution: esc(cfg.attribution), maxZoom: 18, maxNativeZoom: cfg.max_zoom || 19, opacity: cfg.opacity ?? 1 };
  baseLayer =
    cfg.kind === 'wms'
      ? L.tileLayer.wms(cfg.url, { ...opts, layers: cfg.layers, format: cfg.format || 'image/png', styles: cfg.styles || '', version: cfg.version || '1.3.0', transparent: false })
      : L.tileLayer(cfg.url, opts);
  if (cfg.visible !== false) baseLayer.addTo(map);
  L.control.layers({}, { [esc(cfg.title || 'Hintergrundkarte')]: baseLayer }, { collapsed: false, position: 'topright' }).addTo(map);
  return baseLayer;
}

/** The view as `zoom/lat/lng` (the permalink's `v`). */
export function viewString() {
  const c = map.getCenter();
  return `${map.getZoom()}/${c.lat.toFixed(5)}/${c.lng.toFixed(5)}`;
}

/** Page pixel of a position on the map. */
export function toPage(ll) {
  const p = map.latLngToContainerPoint(ll);
  const r = map.getContainer().getBoundingClientRect();
  return { x: r.left + p.x, y: r.top + p.y };
}

// ---------------------------------------------------------------------------------------------
// Styling helpers of the area layers

/**
 * Style of an area polygon: its class colour, or — without a value — a pale fill with the
 * pattern of the reason (`noData`: true or a pattern name: suppressed, nodata, index, zero).
 */
export function areaStyle(fillColor, noData, weight) {
  return {
    renderer,
    fillColor,
    fillOpacity: noData ? 0.9 : 0.85,
    hatch: !noData || noData === 'none' ? null : typeof noData === 'string' ? noData : 'suppressed',
    color: '#ffffff',
    weight,
    opacity: 1,
  };
}

/**
 * Binds to area polygon `l` of feature `f` the tooltip `tooltip(f)`, the click handler
 * `click(f)` and the hover outline (back to border `weight` on mouseout; `hoverable(l)` may veto).
 */
export function bindArea(l, f, { tooltip, click, weight, hoverable = () => true }) {
  l.bindTooltip(() => tooltip(f), { sticky: true, className: 'area-tip', direction: 'top' });
  l.on('click', () => click(f));
  l.on('mouseover', () => hoverable(l) && l.setStyle({ weight: 2.5, color: '#222' }));
  l.on('mouseout', () => hoverable(l) && l.setStyle({ weight, color: '#fff' }));
}

/** Black-over-white outline of `geojson` (visible on every fill colour), not clickable; `opts`: more layer options. */
export function outline(geojson, opts = {}) {
  const line = (color, weight) => L.geoJSON(geojson, { interactive: false, ...opts, style: { renderer, fill: false, color, weight, opacity: 1 } });
  return L.layerGroup([line('#fff', 6), line('#000', 3)]);
}

/**
 * Legend rows of classification `c`: one per class, then the rows of areas without a value:
 * `missing` = [{key, label, count, pattern}] (one per reason), or one row labelled `noDataLabel`.
 */
export function classRows(c, noDataLabel, missing = null) {
  let h = '';
  c.classes.forEach((cl, i) => {
    h += `<tr data-class="${i}"><td><span class="swatch" style="background:${cl.color}"></span></td><td>${esc(cl.label)}</td><td class="n" data-count>${cl.count}</td></tr>`;
  });
  const rows = missing || [{ key: 'nodata', label: noDataLabel, count: c.noData.count, pattern: 'suppressed' }];
  for (const r of rows) {
    h += `<tr data-class="nodata" data-reason="${esc(r.key)}"><td><span class="swatch pat-${esc(r.pattern)}" style="background-color:${c.noData.color}"></span></td><td>${esc(r.label)}</td><td class="n" data-count>${r.count}</td></tr>`;
  }
  return h;
}

let highlightLayer = null;

/** Outlines area `id` of the indicator map; null removes the outline. */
export function highlight(id) {
  if (highlightLayer) highlightLayer.remove();
  highlightLayer = null;
  const f = id && ctx.byId.get(id);
  if (!f) return;
  highlightLayer = outline(f).addTo(map);
}
