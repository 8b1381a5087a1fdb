// The legend box: collapsible (collapsed by default on narrow screens, where it would cover a
// third of the map and swallow taps), and the fitting of the map around it: `fitView` pads
// the bounds by the legend's size and fits again when the layout settles (fonts, panels,
// the legend folding), until the user moves the map.

import { $ } from './dom.js';
import { map } from './map.js';

const NARROW = '(max-width: 900px)';
let autoFit = null; // bounds of the last automatic fit, while the user has not moved the map
let fitting = false;

/** Whether the legend is open. */
export const legendOpen = () => $('legend-toggle').getAttribute('aria-expanded') === 'true';

/** Opens or closes the legend (`open` undefined: toggles). */
export function setLegendOpen(open) {
  const want = open === undefined ? !legendOpen() : open;
  $('legend-toggle').setAttribute('aria-expanded', String(want));
  $('legend-body').hidden = !want;
  $('legend').classList.toggle('collapsed', !want);
  refit();
}

/**
 * Padding that keeps fitted bounds clear of the legend (bottom-left): beside it or above it,
 * whichever leaves the larger zoom. `{tl, br, sum}` in pixels (`sum` for getBoundsZoom).
 */
export function fitPadding(bounds = null) {
  const m = 12;
  const lg = $('legend');
  const L = window.L;
  let opts = [{ tl: [m, m], br: [m, m] }];
  const over = () => {
    const a = lg.getBoundingClientRect();
    const b = map.getContainer().getBoundingClientRect();
    return a.left < b.right && a.right > b.left && a.top < b.bottom && a.bottom > b.top;
  };
  if (lg && !lg.hidden && lg.offsetParent !== null && over()) {
    const w = lg.offsetWidth + 2 * m;
    const h = lg.offsetHeight + 2 * m;
    opts = [
      { tl: [w, m], br: [m, m] },
      { tl: [m, m], br: [m, h] },
    ];
  }
  let best = opts[0];
  if (bounds && opts.length > 1 && map) {
    const z = (o) => map.getBoundsZoom(bounds, false, L.point(o.tl[0] + o.br[0], o.tl[1] + o.br[1]));
    best = z(opts[0]) >= z(opts[1]) ? opts[0] : opts[1];
  }
  return { ...best, sum: L.point(best.tl[0] + best.br[0], best.tl[1] + best.br[1]) };
}

/** Fits the map to `bounds` clear of the legend, and keeps it fitted while the layout settles. */
export function fitView(bounds) {
  autoFit = bounds;
  doFit();
}

function doFit() {
  if (!autoFit || !map) return;
  const p = fitPadding(autoFit);
  fitting = true;
  map.fitBounds(autoFit, { paddingTopLeft: p.tl, paddingBottomRight: p.br, animate: false });
  fitting = false;
}

let timer = null;
let paused = false;
/** Stops (true) or resumes the automatic refitting (printing sets its own view). */
export function pauseAutoFit(on) {
  paused = on;
}

/** Fits again (debounced) if the view is still the automatic one. */
export function refit() {
  if (!autoFit || paused) return;
  clearTimeout(timer);
  timer = setTimeout(() => {
    if (paused) return;
    map.invalidateSize({ pan: false });
    doFit();
  }, 60);
}

/** Wires the toggle; collapses the legend on narrow screens; refits on layout changes. */
export function initLegend() {
  $('legend-toggle').addEventListener('click', () => setLegendOpen());
  setLegendOpen(!window.matchMedia(NARROW).matches);
  // a user's move ends the automatic fitting
  map.on('movestart', () => {
    if (!fitting) autoFit = null;
  });
  new ResizeObserver(() => refit()).observe(map.getContainer());
  new ResizeObserver(() => refit()).observe($('legend'));
  window.matchMedia(NARROW).addEventListener('change', (e) => setLegendOpen(!e.matches));
}

/** True while the view is the automatic fit (nobody moved the map since). */
export const isAutoFit = () => !!autoFit;
