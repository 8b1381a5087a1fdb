// The shared view state of the indicator map (the Karte tab): what is shown (every field of
// `state` is part of the permalink), what has been loaded (`ctx`), and the description of the
// map variable. No imports of views: every module may read and write it.

import { paletteOf } from './classify.js';
import { indexHelp, attentionRule, indicatorWords } from './explain.js';

/** Application state; everything in it is part of the permalink. */
export const state = {
  level: null,
  year: null,
  indicator: null,
  method: 'quantile',
  k: 5,
  srg: true,
  srgIndex: null,
  facilities: [],
  area: null,
  view: null,
  change: null, // Jahresvergleich "2021-2024": the map shows the change between two years
  range: null, // value-range filter "lo~hi": areas outside are dimmed
};

/** Loaded metadata and layers. */
export const ctx = {
  cat: null, // /indicators
  levels: [], // area collections [{id,title}]
  facilityCats: [], // facility collections [{id,title,color}]
  features: [], // current level's features (current year's properties)
  byId: new Map(),
  layer: null, // L.GeoJSON of the areas
  srgLayer: null, // overlay of the flagged areas
  classes: null, // result of classify()
  srgIds: new Set(),
  srgInfo: null, // index ranking used for the Sozialraumgebiete
  facilityLayers: new Map(),
  facilityData: new Map(),
  city: new Map(), // year → properties of the gesamt area
  mapConfig: null, // /map-config
  tier: null, // zoom tier of the loaded area geometry (null = full)
  missing: null, // /collections/{level}/missing of the shown year
  outlineLayer: null, // outlines of the coarser level (orientation)
  outlineFeatures: [],
  names: new Map(), // level → Map(id → {name, parent}) of coarser levels (parents by name)
  change: null, // Jahresvergleich: {from, to, delta: Map(id → Δ), fromValues, toValues}
};

const titleOf = (id) => ctx.cat.indicators.find((i) => i.id === id)?.title || id;

/** Describes the selected map variable: an indicator or an index part. */
export function variable(id = state.indicator) {
  const ind = ctx.cat.indicators.find((i) => i.id === id);
  if (ind) {
    return {
      id,
      kind: 'numeric',
      title: ind.title,
      unit: ind.unit || '',
      decimals: ind.decimals ?? 2,
      palette: paletteOf(ind.polarity),
      // higher_is_better: dark = low supply
      reverse: ind.polarity === 'higher_is_better',
      polarity: ind.polarity,
      description: ind.description || indicatorWords(ind, titleOf, (c) => ctx.facilityCats.find((f) => f.id === c)?.title || c),
      source: ind.source || '',
      indicator: ind,
    };
  }
  for (const idx of ctx.cat.indices) {
    const parts = {
      [`${idx.id}_group`]: { kind: 'group', title: `${idx.title}: Gesamtindex` },
      [`${idx.id}_status_class`]: { kind: 'status', title: `${idx.title}: Statusindex (Klassen)` },
      [`${idx.id}_dynamics_class`]: { kind: 'dynamics', title: `${idx.title}: Dynamikindex (Klassen)` },
      [`${idx.id}_status_value`]: { kind: 'numeric', title: `${idx.title}: Statusindex (Wert)`, palette: 'worse', decimals: 2 },
    };
    if (parts[id]) {
      return {
        id,
        unit: '',
        decimals: 2,
        palette: 'worse',
        reverse: false,
        polarity: 'higher_is_worse',
        description: indexHelp(idx, titleOf),
        summary: `Höherer Statusindex = stärkere Benachteiligung. Sozialraumgebiet: ${attentionRule(idx)}.`,
        source: '',
        index: idx,
        ...parts[id],
      };
    }
  }
  return null;
}

/** Indicator title by id (the id itself if unknown). */
export { titleOf };

/** Years in which variable `v` has values on `level` (from /indicators). */
export function dataYears(v = variable(), level = state.level) {
  if (!v) return [];
  if (v.indicator) return v.indicator.data_years?.[level] ?? ctx.cat.years;
  if (v.index) return v.index.level === level ? v.index.data_years ?? ctx.cat.years : [];
  return ctx.cat.years;
}

/** The indices computed on `level`. */
export function indicesOf(level) {
  return ctx.cat.indices.filter((i) => i.level === level);
}
