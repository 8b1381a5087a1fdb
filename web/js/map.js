// The Leaflet map both tabs draw on: the canvas renderer with hatch patterns, the map itself,
// and the styling helpers the area layers share (fill, hover, tooltip, outline, legend rows).

import { ctx } from './state.js';
import { esc } from './fmt.js';

const L = window.L;

// ---------------------------------------------------------------------------------------------
// Canvas renderer with hatch patterns: Leaflet's canvas renderer fills with a colour only.

function hatchPattern(ctx2d, color, bg, gap) {
  const c = document.createElement('canvas');
  c.width = c.height = gap;
  const g = c.getContext('2d');
  if (bg) {
    g.fillStyle = bg;
    g.fillRect(0, 0, gap, gap);
  }
  g.strokeStyle = color;
  g.lineWidth = gap / 5;
  g.beginPath();
  // a diagonal that tiles seamlessly
  g.moveTo(0, gap);
  g.lineTo(gap, 0);
  g.moveTo(-gap / 2, gap / 2);
  g.lineTo(gap / 2, -gap / 2);
  g.moveTo(gap / 2, gap * 1.5);
  g.lineTo(gap * 1.5, gap / 2);
  g.stroke();
  return ctx2d.createPattern(c, 'repeat');
}

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
        if (!this._patterns[key]) {
          this._patterns[key] = key === 'srg' ? hatchPattern(c, 'rgba(0,0,0,0.85)', null, 9) : hatchPattern(c, '#8a8a8a', null, 6);
        }
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

/** Creates the map in #map, with the background tiles of the page's `kleinraum-tiles` meta tag if any. */
export function createMap() {
  const tiles = document.querySelector('meta[name="kleinraum-tiles"]')?.content?.trim();
  renderer = new HatchCanvas({ padding: 0.3 });
  map = L.map('map', { renderer, preferCanvas: true, zoomSnap: 0.25, attributionControl: true, minZoom: 8, maxZoom: 18 });
  map.attributionControl.setPrefix('Leaflet');
  if (tiles) {
    const [url, attribution] = tiles.split('|');
    L.tileLayer(url, { attribution: attribution || '' }).addTo(map);
  }
  map.setView([51, 10], 8);
  // the map container changes size when the profile panel opens or closes
  new ResizeObserver(() => map.invalidateSize({ pan: false })).observe(map.getContainer());
  return map;
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

/** Style of an area polygon: its class colour, or hatched and paler without a value. */
export function areaStyle(fillColor, noData, weight) {
  return {
    renderer,
    fillColor,
    fillOpacity: noData ? 0.55 : 0.85,
    hatch: noData ? 'nodata' : null,
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

/** Legend rows of classification `c`: one per class, then the no-data row labelled `noDataLabel` (HTML). */
export function classRows(c, noDataLabel) {
  let h = '';
  c.classes.forEach((cl, i) => {
    h += `<tr data-class="${i}"><td><span class="swatch" style="background:${cl.color}"></span></td><td>${esc(cl.label)}</td><td class="n" data-count>${cl.count}</td></tr>`;
  });
  h += `<tr data-class="nodata"><td><span class="swatch nodata" style="background-color:${c.noData.color}"></span></td><td>${noDataLabel}</td><td class="n" data-count>${c.noData.count}</td></tr>`;
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
