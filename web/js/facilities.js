// Facilities (Kitas, Schulen, …): the categories' checkboxes and their clustered point layers.

import * as api from './api.js';
import { num, esc } from './fmt.js';
import { $ } from './dom.js';
import { state, ctx } from './state.js';
import { map } from './map.js';
import { whileLoading } from './status.js';

const L = window.L;

/** Okabe–Ito colours (colour-blind safe) for facility categories. */
export const FACILITY_COLORS = ['#E69F00', '#56B4E9', '#009E73', '#CC79A7', '#0072B2', '#D55E00', '#F0E442'];

/** Every facility of category `cat` (loaded once, shared with the profile's lists). */
export function facilityFeatures(cat) {
  if (!ctx.facilityData.has(cat)) ctx.facilityData.set(cat, api.allItems(cat));
  return ctx.facilityData.get(cat);
}

function clusterIcon(color) {
  return (cluster) => {
    const n = cluster.getChildCount();
    const size = n < 10 ? 28 : n < 100 ? 34 : 42;
    return L.divIcon({
      html: `<div style="background:${color};width:${size}px;height:${size}px;line-height:${size}px;border-radius:50%;border:2px solid #fff;color:#000;font-weight:600;text-align:center;box-shadow:0 0 0 1px #333">${n}</div>`,
      className: 'fac-cluster',
      iconSize: [size, size],
    });
  };
}

async function clusterLayer(info) {
  const feats = await facilityFeatures(info.id);
  const group = L.markerClusterGroup({
    iconCreateFunction: clusterIcon(info.color),
    disableClusteringAtZoom: 16,
    maxClusterRadius: 50,
    chunkedLoading: true,
  });
  const markers = feats
    .filter((f) => f.geometry && f.geometry.type === 'Point')
    .map((f) => {
      const [x, y] = f.geometry.coordinates;
      const p = f.properties;
      const m = L.circleMarker([y, x], { radius: 6, color: '#222', weight: 1, fillColor: info.color, fillOpacity: 0.95 });
      m.bindPopup(
        `<b>${esc(p.name || p.id)}</b><br>${esc(info.title)}<br>Kapazität: ${p.capacity === null || p.capacity === undefined ? 'keine Angabe' : num(p.capacity, 0)}`,
      );
      return m;
    });
  group.addLayers(markers);
  return group;
}

/** Shows (`on`) or hides the facilities of category `cat`. */
export async function setFacility(cat, on) {
  const info = ctx.facilityCats.find((c) => c.id === cat);
  if (!info) return;
  if (!on) {
    ctx.facilityLayers.get(cat)?.remove();
  } else {
    if (!ctx.facilityLayers.has(cat)) {
      await whileLoading(`Lade ${info.title} …`, async () => ctx.facilityLayers.set(cat, await clusterLayer(info)));
    }
    if (state.facilities.includes(cat)) ctx.facilityLayers.get(cat).addTo(map);
  }
}

/** The checkboxes of the facility categories. */
export function fillFacilities() {
  $('facilities').innerHTML = ctx.facilityCats
    .map(
      (c) =>
        `<label class="check"><input type="checkbox" value="${esc(c.id)}" ${state.facilities.includes(c.id) ? 'checked' : ''}><span class="swatch" style="background:${c.color};width:.9em;border-radius:50%"></span> ${esc(c.title)}</label>`,
    )
    .join('');
}
