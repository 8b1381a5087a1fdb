// Printing the map for a committee paper: the whole area on one A4 landscape page, the legend
// beside it, title above and source line below (the print stylesheet in app.css). The map is
// given its printed size before the page is laid out, and fitted to the whole level.

import { $ } from './dom.js';
import { state, ctx } from './state.js';
import { map } from './map.js';
import { afterRedraw } from './status.js';
import { pauseAutoFit } from './legend.js';

let saved = null;

/** Sizes and fits the map for print; resolves once it has redrawn. */
export async function preparePrint() {
  if (!map || saved) return;
  saved = { center: map.getCenter(), zoom: map.getZoom(), legendHidden: $('legend-body').hidden };
  pauseAutoFit(true);
  document.body.classList.add('printing');
  $('legend-body').hidden = false;
  document.querySelectorAll('#profile details').forEach((d) => (d.open = true));
  map.invalidateSize({ pan: false });
  const b = ctx.levels.find((l) => l.id === state.level)?.bbox;
  const bounds = b ? window.L.latLngBounds([b[1], b[0]], [b[3], b[2]]) : ctx.layer?.getBounds();
  if (bounds) map.fitBounds(bounds, { padding: [6, 6], animate: false });
  await afterRedraw();
}

/** Back to the screen layout and view. */
export function restorePrint() {
  if (!saved) return;
  document.body.classList.remove('printing');
  $('legend-body').hidden = saved.legendHidden;
  map.invalidateSize({ pan: false });
  map.setView(saved.center, saved.zoom, { animate: false });
  saved = null;
  pauseAutoFit(false);
}
