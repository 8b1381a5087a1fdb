// The shared view state of the indicator map (the Karte tab): what is shown (every field of
// `state` is part of the permalink), what has been loaded (`ctx`), and the description of the
// map variable. No imports of views: every module may read and write it.

import { paletteOf } from './classify.js';

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
};

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
      description: ind.description || ind.formula || '',
      source: ind.source || '',
      indicator: ind,
    };
  }
  for (const idx of ctx.cat.indices) {
    const parts = {
      [`${idx.id}_group`]: { kind: 'group', title: `${idx.title}: Gesamtindex` },
      [`${idx.id}_status_class`]: { kind: 'status', title: `${idx.title}: Statusindex (Klassen)` },
      [`${idx.id}_dynamics_class`]: { kind: 'dynamics', title: `${idx.title}: Dynamikindex (Klassen)` },
      [`${idx.id}_status_value`]: { kind: 'numeric', title: `${idx.title}: Statusindex (z-Wert)`, palette: 'worse', decimals: 2 },
    };
    if (parts[id]) {
      return {
        id,
        unit: '',
        decimals: 2,
        palette: 'worse',
        reverse: false,
        description: `${idx.method === 'reference' ? 'Vergleich mit einem Referenzwert (z. B. Landesdurchschnitt)' : 'Gestuftes Indexverfahren (z-Werte)'}; Status aus ${idx.status.join(', ')}, Dynamik aus ${idx.dynamics.join(', ')}; Schwellen Status ${idx.status_thresholds.join(' / ')}, Dynamik ${idx.dynamics_thresholds.join(' / ')}.`,
        source: '',
        index: idx,
        ...parts[id],
      };
    }
  }
  return null;
}

/** The indices computed on `level`. */
export function indicesOf(level) {
  return ctx.cat.indices.filter((i) => i.level === level);
}
