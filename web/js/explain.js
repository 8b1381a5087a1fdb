// Plain German for the index: what the status and dynamics index mean, the rule that flags a
// Sozialraumgebiet, why one area is flagged, the key of the group codes, and why a value is
// missing. Pure functions (no DOM, no state), so tests can run them in node.

import { num } from './fmt.js';

export const STATUS_LABELS = { 1: 'hoch', 2: 'mittel', 3: 'niedrig', 4: 'sehr niedrig' };
export const DYNAMICS_LABELS = { 1: 'positiv', 2: 'stabil', 3: 'negativ' };
const DYN_SIGN = { '+': 'positiver', '+/-': 'stabiler', '-': 'negativer' };

/** "a, b und c". */
export function list(items, last = 'und') {
  const a = items.filter(Boolean);
  if (a.length <= 1) return a.join('');
  return `${a.slice(0, -1).join(', ')} ${last} ${a[a.length - 1]}`;
}

const q = (s) => `„${s}“`;

/**
 * The flagging rule of index `idx` in words, from its `attention` patterns ("3*", "4*", "2-"):
 * "Status „niedrig“ oder „sehr niedrig“, oder Status „mittel“ mit negativer Dynamik".
 */
export function attentionRule(idx) {
  const pats = idx.attention || [];
  const any = pats.filter((p) => p.endsWith('*')).map((p) => STATUS_LABELS[p[0]]).filter(Boolean);
  const parts = [];
  if (any.length) parts.push(`Status ${list(any.map(q), 'oder')}`);
  for (const p of pats.filter((x) => !x.endsWith('*'))) {
    const st = STATUS_LABELS[p[0]];
    const dyn = DYN_SIGN[p.slice(1)];
    if (st && dyn) parts.push(`Status ${q(st)} mit ${dyn} Dynamik`);
    else if (st) parts.push(`Status ${q(st)}`);
  }
  return parts.length ? list(parts, 'oder') : 'keine Regel festgelegt';
}

/** Status class limits in words: "hoch: unter −1; mittel: −1 bis 1; niedrig: über 1 bis 1,5; sehr niedrig: über 1,5". */
export function statusLimits(idx) {
  const [a, b, c] = idx.status_thresholds.map((x) => num(x, 2));
  return `hoch: unter ${a}; mittel: ${a} bis ${b}; niedrig: über ${b} bis ${c}; sehr niedrig: über ${c}`;
}

/** Dynamics class limits in words. */
export function dynamicsLimits(idx) {
  const [a, b] = idx.dynamics_thresholds.map((x) => num(x, 2));
  return `positiv: unter ${a}; stabil: ${a} bis ${b}; negativ: über ${b}`;
}

/** How the index is computed, for non-statisticians (the help under the indicator choice). */
export function indexHelp(idx, titleOf) {
  const st = list(idx.status.map((i) => titleOf(i)));
  const dy = list((idx.dynamics || []).map((i) => titleOf(i)));
  const base =
    idx.method === 'reference'
      ? 'Jeder Indikator wird mit seinem Vergleichswert (z. B. dem Landeswert) verglichen'
      : 'Jeder Indikator wird mit dem Durchschnitt aller Gebiete verglichen (in Standardabweichungen)';
  let t = `Der Statusindex fasst ${st} zusammen: höherer Wert = stärkere Benachteiligung. ${base}; die Summe ergibt den Index. Klassen: ${statusLimits(idx)}.`;
  if (dy) t += ` Der Dynamikindex misst ebenso die Veränderung (${dy}): höherer Wert = Lage hat sich verschlechtert; ${dynamicsLimits(idx)}.`;
  t += ` Sozialraumgebiet: ${attentionRule(idx)}. Gebiete mit weniger als ${num(idx.min_population, 0)} Einwohner:innen bekommen keinen Indexwert.`;
  return t;
}

/** The key of the group codes ("4+/-"): first the status class, then the dynamics sign. */
export function groupKey() {
  return 'Gruppe: Ziffer = Status (1 hoch, 2 mittel, 3 niedrig, 4 sehr niedrig), Zeichen = Dynamik (+ positiv, +/- stabil, - negativ). Zahl = Statusindex: höherer Wert = stärkere Benachteiligung.';
}

/** A group code in words: "4+/-" → "Status sehr niedrig, Dynamik stabil". */
export function groupWords(g) {
  if (!g) return '';
  const st = STATUS_LABELS[g[0]];
  const dyn = { '+': 'positiv', '+/-': 'stabil', '-': 'negativ' }[g.slice(1)];
  return [st && `Status ${st}`, dyn && `Dynamik ${dyn}`].filter(Boolean).join(', ');
}

/**
 * Why area `a` (a row of /collections/{level}/index) is a Sozialraumgebiet, in one sentence
 * with the rule and the biggest contributor; '' if it is not flagged.
 */
export function srgSentence(a, idx, titleOf) {
  if (!a || !a.attention) return '';
  const st = STATUS_LABELS[a.status_class];
  const dyn = DYNAMICS_LABELS[a.dynamics_class];
  const byStatus = (idx.attention || []).some((p) => p.endsWith('*') && Number(p[0]) === a.status_class);
  let why;
  let contribs;
  if (byStatus || !a.group || !(idx.attention || []).includes(a.group)) {
    why = `der Status ${q(st)} ist (Statusindex ${num(a.status_value, 2)}; höherer Wert = stärkere Benachteiligung)`;
    contribs = a.status_contributions;
  } else {
    why = `der Status ${q(st)} ist und sich die Lage verschlechtert hat (Dynamik ${q(dyn)}, Dynamikindex ${num(a.dynamics_value, 2)})`;
    contribs = a.dynamics_contributions;
  }
  let t = `Sozialraumgebiet, weil ${why}. Regel: ${attentionRule(idx)}.`;
  const top = (contribs || []).filter((c) => Number.isFinite(c.z)).sort((x, y) => y.z - x.z)[0];
  if (top) {
    const dev = idx.method === 'reference' ? 'Vergleichswert' : 'Durchschnitt der Gebiete';
    t += ` Am stärksten trägt ${q(titleOf(top.indicator))} bei: ${num(Math.abs(top.z), 1)} Standardabweichungen ${top.z >= 0 ? 'ungünstiger' : 'günstiger'} als der ${dev}.`;
  }
  return t;
}

/**
 * Legend text for a reason why a value is missing (`/collections/{id}/missing`): one row each,
 * so "kept secret" is not confused with "no data this year" or "too few residents".
 */
export function missingLabel(reason, { year, threshold = 3, minPopulation = 300, all = false } = {}) {
  switch (reason) {
    case 'no_data':
      return all ? `keine Daten für ${year}` : `keine Angabe in den Daten für ${year}`;
    case 'suppressed':
      return `geheim gehalten (Datenschutz: weniger als ${threshold} Personen, oder daraus errechenbar)`;
    case 'denominator_zero':
      return 'nicht berechenbar (Bezugsgruppe leer, z. B. keine Kinder)';
    case 'below_min_population':
      return `kein Indexwert: weniger als ${num(minPopulation, 0)} Einwohner:innen`;
    case 'excluded':
      return 'kein Indexwert: vom Index ausgenommen (Sonderfall)';
    case 'too_few_areas':
      return 'kein Indexwert: zu wenige Gebiete für einen Vergleich';
    default:
      return 'keine Angabe';
  }
}

/** Years as a short German range: [2021, 2022, 2023, 2024] → "2021–2024", [2020, 2022] → "2020 und 2022". */
export function yearsText(years) {
  if (!years.length) return 'keine';
  const runs = [];
  for (const y of years) {
    const r = runs[runs.length - 1];
    if (r && y === r[1] + 1) r[1] = y;
    else runs.push([y, y]);
  }
  return list(runs.map(([a, b]) => (a === b ? String(a) : `${a}–${b}`)));
}

const OPERANDS = {
  residents: 'Einwohner:innen',
  age_below_6: 'Kinder unter 6 Jahren',
  age_6_15: 'Kinder von 6 bis unter 15 Jahren',
  age_15_18: 'Jugendliche von 15 bis unter 18 Jahren',
  age_under_15: 'Kinder unter 15 Jahren',
  age_15_65: 'Einwohner:innen von 15 bis unter 65 Jahren',
  age_above_65: 'Einwohner:innen ab 65 Jahren',
  foreigners: 'Ausländer:innen',
  female: 'Frauen',
  unemployed_sgb2: 'Arbeitslose nach SGB II',
  transfer_recipients: 'Empfänger:innen von Transferleistungen',
  children_under_15_sgb2: 'Kinder unter 15 in SGB-II-Bedarfsgemeinschaften',
};

/** An operand of a formula in words: a count column, a facility measure, a table column. */
export function operandWords(op, facilityTitle = (c) => c) {
  if (!op) return '';
  const [a, b] = op.split('.');
  if (b === 'capacity') return `Plätze in ${facilityTitle(a)}`;
  if (b === 'count') return `Anzahl ${facilityTitle(a)}`;
  if (b) return `${b} (Tabelle ${a})`;
  return OPERANDS[op] || op;
}

/**
 * What an indicator is, in words, when the config gives no description: "Plätze in Kitas je
 * 100 Kinder unter 6 Jahren" instead of "kitas.capacity / age_below_6 × 100".
 */
export function indicatorWords(ind, titleOf = (id) => id, facilityTitle = (c) => c) {
  const n = operandWords(ind.numerator, facilityTitle);
  const d = operandWords(ind.denominator, facilityTitle);
  switch (ind.kind) {
    case 'share':
      return `Anteil in Prozent: ${n} je 100 ${d}.`;
    case 'rate_per_1000':
      return `${n} je 1.000 ${d}.`;
    case 'supply_rate':
      return `Versorgungsquote: ${n} je 100 ${d}; höher = bessere Versorgung.`;
    case 'density_km2':
      return `${n} je Quadratkilometer.`;
    case 'change':
      return `Veränderung von „${titleOf(ind.numerator)}“ gegenüber ${ind.years ?? 1} Jahr${(ind.years ?? 1) === 1 ? '' : 'en'} vorher${ind.unit === 'Pp.' || !ind.unit ? ' (in Prozentpunkten)' : ''}.`;
    default:
      return `Wert aus der Quelle: ${n}.`;
  }
}
