// State of the Gebietsstände tab and how its values read: the title, unit and decimals of the
// shown variable, formatted values (estimates, suppressed counts, status classes), the
// comparison categories and the map title.

import { ctx } from '../state.js';
import { STATUS_CLASSES, classLabel } from '../classify.js';
import { num } from '../fmt.js';

/** Colours of the comparison categories (Okabe–Ito, colour-blind safe; grey = nothing to see). */
export const CHANGE_CLASSES = [
  { value: 'unverändert', color: '#e4e4e4', label: 'unverändert' },
  { value: 'Gebietsänderung', color: '#56B4E9', label: 'Gebietsänderung (Grenzen geändert)' },
  { value: 'reale Veränderung', color: '#E69F00', label: 'reale Veränderung (Werte)' },
  { value: 'beides', color: '#CC79A7', label: 'beides' },
];

/** State of the Gebietsstände tab. */
export const gs = {
  active: false, // the tab is shown and owns the map
  meta: null, // GET /gebietsstaende
  year: null,
  indicator: 'residents',
  mode: null, // 'view' | 'draft' | 'compare'
  viewKey: null,
  draft: null, // {id, base}
  layer: null, // L.GeoJSON of the shown areas (version, draft or comparison target)
  outline: null, // comparison: dashed boundaries of the "von" version
  selLayer: null,
  warnLayer: null,
  classes: null,
  colorOf: new Map(), // feature → fill colour
  tool: null, // 'split' | 'merge' | 'reshape' | 'draw'
  selected: [], // area ids picked for the current tool
  editing: null, // layer in geoman edit mode (reshape)
  lastChanged: [], // ids of the areas the last operation changed
  lastMs: null,
  warnings: [],
  compare: null, // {from, to, data}
  sort: { col: 'change', dir: -1 },
  mainTitle: '',
};

/** Id of an area feature. */
export function areaId(f) {
  return f.properties?.id ?? f.id;
}

/** Entry of an indicator in the Gebietsstände list. */
export function indicatorInfo(id) {
  return (gs.meta?.indicators || []).find((i) => i.id === id) || null;
}

/** Catalogue entry of an indicator (polarity, decimals) when the main catalogue has it. */
export function catalogueEntry(id) {
  return ctx.cat?.indicators?.find((i) => i.id === id) || null;
}

export function decimalsOf(id) {
  if (id === 'residents' || id === 'status_class') return 0;
  return catalogueEntry(id)?.decimals ?? 2;
}

/** Unit of an indicator: the Gebietsstände list's, else the main catalogue's. */
function unitOf(id) {
  return indicatorInfo(id)?.unit || catalogueEntry(id)?.unit || '';
}

export function variableTitle(id = gs.indicator) {
  if (id === 'residents') return 'Einwohner:innen';
  if (id === 'status_class') return 'Statusindex – Klassen';
  const i = indicatorInfo(id);
  return i ? `${i.title}${unitOf(id) ? ' (' + unitOf(id) + ')' : ''}` : id;
}

export function rawValue(p, id = gs.indicator) {
  let v;
  if (id === 'residents') v = p.residents;
  else if (id === 'status_class') v = p.status_class;
  else v = p.values ? p.values[id] : undefined;
  return v === undefined ? null : v;
}

export const isEstimated = (p, id) => Array.isArray(p.estimated) && p.estimated.includes(id);

/** Display text of one value: "·" for suppressed, "–" for missing, "(geschätzt)" for estimates. */
export function fmtValue(p, id = gs.indicator) {
  const v = rawValue(p, id);
  let s;
  if (v === null) s = p.suppressed ? '·' : '–';
  else if (id === 'status_class') s = `${v} (${classLabel(STATUS_CLASSES, v) || ''})`;
  else s = num(v, decimalsOf(id)) + (id !== 'residents' && unitOf(id) ? ' ' + unitOf(id) : '');
  if (v !== null && isEstimated(p, id)) s += ' (geschätzt)';
  return s;
}

/** A status class with its label ("3 (niedrig)"); "–" for none. */
export function fmtClass(c) {
  if (c === null || c === undefined) return '–';
  const label = classLabel(STATUS_CLASSES, c);
  return label ? `${c} (${label})` : String(c);
}

/**
 * The indicators of the statistics box for `props` (the areas shown): the status indicators of
 * the first index, the mapped indicator, then the others, each only if one of the areas has a
 * value that year; at most five.
 */
export function mainIndicators(props) {
  const all = (gs.meta?.indicators || []).map((i) => i.id);
  const idx = ctx.cat?.indices?.[0];
  const order = [...(idx ? idx.status : []), gs.indicator, ...all].filter((id, i, a) => all.includes(id) && a.indexOf(id) === i);
  return order.filter((id) => props.some((p) => rawValue(p, id) !== null || p.suppressed)).slice(0, 5);
}

/** Title above the map for what the tab shows. */
export function mapTitle() {
  if (gs.mode === 'compare' && gs.compare) return `Vergleich ${gs.compare.from} → ${gs.compare.to} · ${gs.year} · Art der Veränderung`;
  if (gs.mode === 'draft' && gs.draft) return `${variableTitle()} · ${gs.year} · Entwurf (Grundlage ${gs.draft.base})`;
  if (gs.mode === 'view' && gs.viewKey) {
    const m = gs.meta?.gebietsstaende.find((g) => g.key === gs.viewKey);
    return `${variableTitle()} · ${gs.year} · Gebietsstand ${m ? m.name : gs.viewKey}`;
  }
  return 'Gebietsstände';
}
