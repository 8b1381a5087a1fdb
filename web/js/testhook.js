// Test and benchmark hook of the indicator map: read-only views of what the map shows
// (window.kleinraumMap; tests/web/*.test.mjs and bench-render.mjs use it).

import { state, ctx } from './state.js';
import { map, toPage } from './map.js';
import { isBusy, mapTasks } from './status.js';
import { interiorPoint } from './geometry.js';
import { profileArea } from './profile.js';
import { shownLabels } from './labels.js';
import { reasonOf } from './choropleth.js';
import { cursorArea } from './keyboard.js';
import { preparePrint, restorePrint } from './print.js';

window.kleinraumMap = {
  /** Resolves when no request or redraw is pending. */
  idle: () => mapTasks.idle(50, () => !isBusy()),
  /** Number of area polygons on the map. */
  featureCount: () => (ctx.layer ? ctx.layer.getLayers().length : 0),
  /** Number of area polygons the canvas renderer actually drew (projected, non-empty). */
  drawnCount: () => (ctx.layer ? ctx.layer.getLayers().filter((l) => l._parts && l._parts.length > 0).length : 0),
  /** Legend rows: classes with label, colour and count, then no-data and Sozialraumgebiete. */
  legend: () => ({
    classes: ctx.classes.classes.map((c) => ({ label: c.label, color: c.color, count: c.count, lower: c.lower, upper: c.upper, value: c.value })),
    noData: ctx.classes.noData.count,
    srg: state.srg && ctx.srgInfo ? ctx.srgIds.size : null,
    // areas without value by reason (suppressed, no_data, below_min_population, …)
    missing: Object.fromEntries(
      [...new Set(ctx.features.filter((f) => ctx.classes.classIndex(f._i) < 0).map((f) => reasonOf(f) || 'unknown'))].map((r) => [r, ctx.features.filter((f) => ctx.classes.classIndex(f._i) < 0 && (reasonOf(f) || 'unknown') === r).length]),
    ),
  }),
  /** Labels on the map: [{name, kind: 'outline'|'area', x, y}]. */
  labels: () => shownLabels(),
  /** Outline level shown for orientation and its number of areas. */
  outline: () => ({ level: ctx.outlineLevel || null, count: ctx.outlineFeatures.length, shown: !!ctx.outlineLayer && map.hasLayer(ctx.outlineLayer) }),
  /** Zoom tier of the loaded geometry (null = full) and the vertices drawn. */
  geometry: () => ({ tier: ctx.tier, vertices: ctx.layer ? ctx.layer.getLayers().reduce((n, l) => n + JSON.stringify(l.feature.geometry.coordinates).split('],[').length, 0) : 0 }),
  /** The keyboard picker's area. */
  cursor: () => cursorArea(),
  preparePrint: () => preparePrint(),
  restorePrint: () => restorePrint(),
  /** Fill colour and hatch per area id. */
  styles: () => Object.fromEntries(ctx.layer.getLayers().map((l) => [l.feature.properties.id, { fill: l.options.fillColor, hatch: l.options.hatch || null }])),
  /** Ids of the areas outlined as Sozialraumgebiete. */
  markedIds: () => (ctx.srgLayer ? ctx.srgLayer.getLayers().map((l) => l.feature.properties.id) : []),
  /** Screen position (page pixels) of a point inside area `id`, for clicking it. */
  pointInside: (id) => {
    const l = ctx.layer.getLayers().find((x) => x.feature.properties.id === id);
    return l ? toPage(interiorPoint(l)) : null;
  },
  /** Number of facility points loaded into the (clustered) layer of category `cat`; null if not shown. */
  facilityCount: (cat) => (ctx.facilityLayers.has(cat) && map.hasLayer(ctx.facilityLayers.get(cat)) ? ctx.facilityLayers.get(cat).getLayers().length : null),
  state: () => ({ ...state }),
  profileArea: () => profileArea(),
  map: () => map,
};
