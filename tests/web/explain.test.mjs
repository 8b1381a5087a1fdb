// Unit tests of the plain-German explanations (pure, in node): the flagging rule, the sentence
// under a Sozialraumgebiet, years as ranges, indicators in words, reasons of missing values.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attentionRule, srgSentence, yearsText, indicatorWords, missingLabel, groupWords, statusLimits } from '../../web/js/explain.js';

const MSS = { id: 'mss', method: 'zscore', attention: ['3*', '4*', '2-'], status_thresholds: [-1, 1, 1.5], dynamics_thresholds: [-1, 1], min_population: 300, status: ['s1', 's3', 's4'], dynamics: ['d1'] };
const titles = { s1: 'Arbeitslose nach SGB II', s3: 'Transferbezug', s4: 'Kinderarmut', d4: 'Veränderung Kinderarmut' };
const titleOf = (id) => titles[id] || id;

test('the flagging rule in words', () => {
  assert.equal(attentionRule(MSS), 'Status „niedrig“ oder „sehr niedrig“ oder Status „mittel“ mit negativer Dynamik');
  assert.equal(attentionRule({ attention: ['4*'] }), 'Status „sehr niedrig“');
  assert.equal(attentionRule({ attention: [] }), 'keine Regel festgelegt');
  assert.equal(statusLimits(MSS), 'hoch: unter -1; mittel: -1 bis 1; niedrig: über 1 bis 1,5; sehr niedrig: über 1,5');
});

test('the Sozialraumgebiet sentence names the reason, the rule and the biggest contributor', () => {
  const a = { attention: true, status_class: 4, status_value: 3.7234, dynamics_class: 2, group: '4+/-', status_contributions: [{ indicator: 's1', z: 4.41 }, { indicator: 's4', z: 3.9 }] };
  const s = srgSentence(a, MSS, titleOf);
  assert.match(s, /^Sozialraumgebiet, weil der Status „sehr niedrig“ ist \(Statusindex 3,72; höherer Wert = stärkere Benachteiligung\)\./);
  assert.match(s, /Regel: Status „niedrig“/);
  assert.match(s, /Am stärksten trägt „Arbeitslose nach SGB II“ bei: 4,4 Standardabweichungen ungünstiger als der Durchschnitt der Gebiete\.$/);
  // flagged by the dynamics (mittel, negativ): the sentence says so and names the dynamics contributor
  const b = { attention: true, status_class: 2, status_value: 0.4, dynamics_class: 3, dynamics_value: 1.6, group: '2-', status_contributions: [{ indicator: 's1', z: 0.9 }], dynamics_contributions: [{ indicator: 'd4', z: 2.2 }] };
  assert.match(srgSentence(b, MSS, titleOf), /weil der Status „mittel“ ist und sich die Lage verschlechtert hat \(Dynamik „negativ“, Dynamikindex 1,6\).*„Veränderung Kinderarmut“/);
  assert.equal(srgSentence({ attention: false }, MSS, titleOf), '');
  assert.equal(groupWords('4+/-'), 'Status sehr niedrig, Dynamik stabil');
});

test('years as ranges, indicators and missing values in words', () => {
  assert.equal(yearsText([2021, 2022, 2023, 2024]), '2021–2024');
  assert.equal(yearsText([2020, 2022, 2023]), '2020 und 2022–2023');
  assert.equal(yearsText([]), 'keine');
  const kita = { kind: 'supply_rate', numerator: 'kitas.capacity', denominator: 'age_below_6' };
  assert.equal(indicatorWords(kita, titleOf, () => 'Kitas'), 'Versorgungsquote: Plätze in Kitas je 100 Kinder unter 6 Jahren; höher = bessere Versorgung.');
  assert.equal(indicatorWords({ kind: 'share', numerator: 'age_above_65', denominator: 'residents' }), 'Anteil in Prozent: Einwohner:innen ab 65 Jahren je 100 Einwohner:innen.');
  assert.equal(missingLabel('no_data', { year: 2020, all: true }), 'keine Daten für 2020');
  assert.equal(missingLabel('suppressed', { threshold: 3 }), 'geheim gehalten (Datenschutz: weniger als 3 Personen, oder daraus errechenbar)');
  assert.equal(missingLabel('below_min_population', { minPopulation: 300 }), 'kein Indexwert: weniger als 300 Einwohner:innen');
});
