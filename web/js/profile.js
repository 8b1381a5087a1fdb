// The Steckbrief (profile) panel of one area: residents and age structure, every indicator
// with the city value and the rank, the index with the per-indicator contributions that
// explain the class, a time series chart and the facilities inside.

import * as api from './api.js';
import { STATUS_CLASSES, DYNAMICS_CLASSES, classLabel } from './classify.js';
import { num, esc, singular } from './fmt.js';
import { $ } from './dom.js';
import { state, ctx, variable, titleOf, dataYears } from './state.js';
import { highlight } from './map.js';
import { dropAreaFromHash } from './permalink.js';
import { facilityFeatures } from './facilities.js';
import { geometryRings, pointInRings } from './geometry.js';
import { srgSentence, attentionRule, statusLimits, dynamicsLimits, groupWords, yearsText } from './explain.js';
import { lineChart } from './svgchart.js';
import { steckbriefLinks } from './reports.js';

let returnFocus = null;
let shown = null;

const AGE_GROUPS = [
  ['age_below_6', 'unter 6'],
  ['age_6_15', '6 bis unter 15'],
  ['age_15_18', '15 bis unter 18'],
  ['age_18_27', '18 bis unter 27'],
  ['age_27_45', '27 bis unter 45'],
  ['age_45_55', '45 bis unter 55'],
  ['age_55_65', '55 bis unter 65'],
  ['age_above_65', '65 und älter'],
];

const FLAG_TEXT = {
  suppressed: '· (geheim gehalten: eine kleine Zahl, oder eine Zahl, aus der sich eine kleine errechnen ließe)',
  no_data: '– (keine Daten für dieses Jahr)',
  missing: '– (in der Quelle ohne Wert, z. B. „*“)',
};

/** Why an indicator has no value, in plain words (the API's `indicator_reasons`). */
const REASON_TEXT = {
  denominator_zero: 'Nenner ist 0',
  suppressed: 'geheim gehalten (Datenschutz)',
  no_data: 'keine Daten für dieses Jahr',
  below_min_population: 'zu wenige Einwohner:innen',
  excluded: 'ausgeschlossen',
  source_missing: 'in der Quelle ohne Wert (z. B. „*“)',
  not_additive: 'Anteilswert der Quelle: für größere Gebiete nicht zusammenfassbar',
  incomplete: 'für ein Teilgebiet fehlt der Wert',
};

/** The name of the whole municipality (the top level's area): "Gesamtstadt", or a Kreis's. */
function totalName() {
  return ctx.city.get(state.year)?.name || 'Gesamtstadt';
}

/** Id of the area whose profile is shown (null when closed). */
export function profileArea() {
  return $('profile').hidden ? null : shown;
}

/** Closes the panel; `restoreFocus` returns the keyboard focus to where it was. */
export function closeProfile(restoreFocus) {
  const p = $('profile');
  if (p.hidden) return;
  p.hidden = true;
  shown = null;
  highlight(null);
  state.area = null;
  dropAreaFromHash();
  if (restoreFocus && returnFocus && document.contains(returnFocus)) returnFocus.focus();
  else if (restoreFocus) document.getElementById('map').focus();
}

function count(p, col) {
  const v = p[col];
  const flag = p[`${col}_flag`];
  if (v !== null && v !== undefined) return num(v, 0);
  const t = FLAG_TEXT[flag] || '–';
  return t.replace('{t}', String(ctx.cat.disclosure_threshold ?? 3));
}

function rankOf(id, col) {
  const vals = ctx.features
    .map((f) => [f.properties.id, f.properties[col]])
    .filter(([, v]) => typeof v === 'number' && Number.isFinite(v))
    .sort((a, b) => b[1] - a[1]);
  const i = vals.findIndex(([fid]) => fid === id);
  return i < 0 ? null : { rank: i + 1, of: vals.length };
}

function ageSection(p, ts) {
  // the selected year's age counts; if that year has none, the nearest year that has them
  let yi = ts.years.indexOf(state.year);
  const has = (i) => AGE_GROUPS.some(([c]) => ts.counts[c] && ts.counts[c][i] !== null && ts.counts[c][i] !== undefined);
  let note = '';
  if (yi < 0 || !has(yi)) {
    const cand = ts.years.map((y, i) => i).filter(has).sort((a, b) => Math.abs(ts.years[a] - state.year) - Math.abs(ts.years[b] - state.year));
    if (!cand.length) return `<p class="meta">Keine Altersgliederung verfügbar.</p>`;
    yi = cand[0];
    note = `<p class="meta">Für ${state.year} liegt keine Altersgliederung vor; gezeigt: ${ts.years[yi]}.</p>`;
  }
  const total = ts.counts.residents ? ts.counts.residents[yi] : null;
  let h = note + `<table aria-label="Altersgliederung ${ts.years[yi]}"><thead><tr><th>Alter</th><th class="num">Anzahl</th><th class="num">Anteil</th><th></th></tr></thead><tbody>`;
  for (const [col, label] of AGE_GROUPS) {
    const v = ts.counts[col] ? ts.counts[col][yi] : null;
    const flag = ts.count_flags[col] ? ts.count_flags[col][yi] : 'no_data';
    const share = v !== null && total ? (100 * v) / total : null;
    const shown = v !== null ? num(v, 0) : (FLAG_TEXT[flag] || '–').replace('{t}', String(ctx.cat.disclosure_threshold ?? 3));
    h += `<tr><td>${label}</td><td class="num">${esc(shown)}</td><td class="num">${share === null ? '' : num(share, 1) + ' %'}</td><td><span class="agebar" style="width:${share === null ? 0 : Math.min(100, share * 2.5)}px"></span></td></tr>`;
  }
  return h + '</tbody></table>';
}

const WHY_SHORT = { no_data: 'keine Daten', suppressed: 'geheim gehalten', denominator_zero: 'nicht berechenbar', below_min_population: 'zu wenige Einwohner:innen', excluded: 'ausgenommen', too_few_areas: 'zu wenige Gebiete', source_missing: 'in der Quelle ohne Wert', not_additive: 'nicht zusammenfassbar', incomplete: 'Teilgebiet fehlt' };

/** Why area `id` has no value of indicator `ind` this year (short), from /missing. */
function whyMissing(ind, id) {
  for (const [reason, ids] of Object.entries(ctx.missing?.indicators?.[ind]?.missing || {})) if (ids.includes(id)) return WHY_SHORT[reason] || '';
  return '';
}

function indicatorSection(p, city) {
  const cur = variable();
  let h = `<table aria-label="Indikatoren ${state.year}"><thead><tr><th>Indikator</th><th class="num">Wert</th><th class="num" title="${esc(totalName())}">Gesamt</th><th class="num" title="Rang unter den Gebieten dieser Ebene, höchster Wert = 1">Rang</th></tr></thead><tbody>`;
  for (const ind of ctx.cat.indicators) {
    const v = p[ind.id];
    const r = v === null || v === undefined ? null : rankOf(p.id, ind.id);
    const cv = city ? city[ind.id] : null;
    const sel = cur && cur.id === ind.id ? ' class="sel"' : '';
    const why = v === null || v === undefined ? whyMissing(ind.id, p.id) : '';
    h += `<tr${sel} data-indicator="${esc(ind.id)}"><td><button type="button" class="linklike" data-show="${esc(ind.id)}" title="Auf der Karte zeigen">${esc(ind.title)}</button>${ind.unit ? ' <span class="meta">' + esc(ind.unit) + '</span>' : ''}</td>`;
    h += `<td class="num" data-value>${num(v, ind.decimals ?? 2)}${why ? ` <span class="why">(${esc(why)})</span>` : ''}</td><td class="num">${num(cv, ind.decimals ?? 2)}</td><td class="num">${r ? `${r.rank}/${r.of}` : '–'}</td></tr>`;
  }
  return h + `</tbody></table><p class="meta">Gesamt = Wert für ${esc(totalName())} im selben Jahr; Rang: höchster Wert = 1; „–“: kein Wert (Grund beim Zeigen auf den Strich).</p>`;
}

async function indexSection(id) {
  const idxs = ctx.cat.indices.filter((i) => i.level === state.level);
  let h = '';
  for (const idx of idxs) {
    const rank = await api.indexRanking(state.level, idx.id);
    const a = rank.areas.find((x) => x.id === id);
    if (!a) continue;
    h += `<h4>${esc(idx.title)} ${rank.year}</h4>`;
    if (a.status_value === null) {
      const why = a.reason === 'excluded' ? 'vom Index ausgenommen (Sonderfall)' : a.reason === 'below_min_population' ? `weniger als ${num(idx.min_population, 0)} Einwohner:innen` : 'nicht berechnet';
      h += `<p class="meta">Kein Indexwert: ${esc(why)}.</p>`;
      continue;
    }
    const n = rank.areas.filter((x) => x.rank).length;
    h += `<p>Status <b>${esc(classLabel(STATUS_CLASSES, a.status_class) ?? '–')}</b> (Statusindex ${num(a.status_value, 2)}; höherer Wert = stärkere Benachteiligung)`;
    if (a.dynamics_class) h += `, Dynamik <b>${esc(classLabel(DYNAMICS_CLASSES, a.dynamics_class) ?? '–')}</b> (Dynamikindex ${num(a.dynamics_value, 2)}; höherer Wert = Lage verschlechtert)`;
    h += `. Gruppe <b>${esc(a.group || '–')}</b> (${esc(groupWords(a.group))}); Rang ${a.rank} von ${n} (1 = am stärksten benachteiligt).`;
    h += a.attention ? ' <span class="badge srg">Sozialraumgebiet</span>' : '';
    h += '</p>';
    const contrib = (list, title) => {
      if (!list || !list.length) return '';
      let t = `<table aria-label="${esc(title)}"><thead><tr><th>${esc(title)}</th><th class="num" title="Abweichung vom Durchschnitt der Gebiete in Standardabweichungen">Abweichung</th><th></th></tr></thead><tbody>`;
      for (const c of list) {
        const w = Math.min(60, Math.abs(c.z) * 15);
        t += `<tr><td>${esc(titleOf(c.indicator))}</td><td class="num">${c.z > 0 ? '+' : ''}${num(c.z, 2)}</td><td><span class="bar${c.z < 0 ? ' neg' : ''}" style="width:${w}px"></span></td></tr>`;
      }
      return t + '</tbody></table>';
    };
    h += contrib(a.status_contributions, 'Beitrag zum Statusindex');
    h += contrib(a.dynamics_contributions, 'Beitrag zum Dynamikindex');
    h += `<p class="meta">Abweichung: wie viele Standardabweichungen das Gebiet vom Durchschnitt der Gebiete abweicht (positiv = ungünstiger). Statusklassen: ${esc(statusLimits(idx))}.${a.dynamics_class ? ` Dynamikklassen: ${esc(dynamicsLimits(idx))}.` : ''} Sozialraumgebiet: ${esc(attentionRule(idx))}.</p>`;
  }
  return h ? `<h3>Index</h3>${h}` : '';
}

async function facilitySection(f) {
  const p = f.properties;
  let h = '<h3>Einrichtungen im Gebiet</h3><table><thead><tr><th>Art</th><th class="num">Anzahl</th><th class="num">Kapazität</th></tr></thead><tbody>';
  for (const c of ctx.facilityCats) {
    h += `<tr><td>${esc(c.title)}</td><td class="num">${num(p[`${c.id}_count`], 0)}</td><td class="num">${p[`${c.id}_capacity`] ? num(p[`${c.id}_capacity`], 0) : '–'}</td></tr>`;
  }
  h += '</tbody></table>';
  // the list: facilities whose point lies in the polygon (same result as the server's count
  // except for points exactly on a border); the full outline, not the simplified one on the map
  let geom = f.geometry;
  try {
    geom = (await api.areaGeometry(state.level, p.id)).geometry || geom;
  } catch {
    // the map's outline is close enough for the list
  }
  const rings = geom ? geometryRings(geom) : [];
  const lists = await Promise.all(
    ctx.facilityCats.map(async (c) => {
      if (!p[`${c.id}_count`]) return '';
      const feats = (await facilityFeatures(c.id)).filter((x) => x.geometry && pointInRings(x.geometry.coordinates[0], x.geometry.coordinates[1], rings));
      if (!feats.length) return '';
      feats.sort((a, b) => String(a.properties.name).localeCompare(String(b.properties.name), 'de'));
      return `<details><summary>${esc(c.title)} (${feats.length})</summary><ul>${feats
        .map((x) => `<li>${esc(x.properties.name || x.properties.id)}${x.properties.capacity !== null && x.properties.capacity !== undefined ? ` – ${num(x.properties.capacity, 0)} Plätze` : ''}</li>`)
        .join('')}</ul></details>`;
    }),
  );
  return h + lists.join('');
}

async function drawChart(id) {
  const v = variable();
  const el = $('profile-chart');
  if (!el) return;
  const col = v.kind === 'numeric' ? v.id : v.kind === 'dynamics' ? `${v.index.id}_dynamics_value` : `${v.index.id}_status_value`;
  const title = v.kind === 'numeric' ? v.title : col.endsWith('dynamics_value') ? `${v.index.title}: Dynamikindex` : `${v.index.title}: Statusindex`;
  const ts = await api.timeseries(state.level, id);
  const series = (t) => {
    if (!t) return null;
    if (t.indicators[col]) return t.indicators[col];
    for (const [ix, parts] of Object.entries(t.indices || {})) {
      const part = col.startsWith(ix + '_') ? col.slice(ix.length + 1) : null;
      if (part && parts[part] && part !== 'group') return parts[part];
    }
    return null;
  };
  const mine = series(ts);
  let city = null;
  if (ctx.levels.some((l) => l.id === 'gesamt')) {
    try {
      city = series(await api.timeseries('gesamt', 'gesamt'));
    } catch {
      city = null; // no city series for this variable
    }
  }
  const n = mine ? mine.filter((x) => x !== null).length : 0;
  if (!mine || n === 0) {
    el.innerHTML = `<p class="meta">Keine Zeitreihe für „${esc(title)}“.</p>`;
    return;
  }
  el.innerHTML = '';
  const width = Math.max(240, el.clientWidth || 340);
  const list = [{ label: 'Gebiet', values: mine, color: '#7b2a74' }];
  if (city) list.push({ label: totalName(), values: city, color: '#0072B2', dash: '6 4' });
  el.appendChild(lineChart({ years: ts.years, series: list, title: `${title}${v.unit ? ' (' + v.unit + ')' : ''}`, desc: `Zeitreihe des Gebiets${city ? ' und ' + totalName() : ''}; Daten für ${yearsText(dataYears(v))}.`, decimals: v.decimals, width, height: 190 }));
  if (n === 1) el.insertAdjacentHTML('beforeend', '<p class="meta">Nur ein Jahr mit Werten.</p>');
}

let parentChainOf = () => [];
/** Sets how the profile finds the coarser areas of an area (choropleth.js's parentChain). */
export function setParentChain(fn) {
  parentChainOf = fn;
}

/** Gives every "–" of the indicator table its reason (shown on hover and to screen readers). */
function explainMissing(body, ts) {
  const yi = ts.years.indexOf(state.year);
  if (yi < 0 || !ts.indicator_reasons) return;
  body.querySelectorAll('tr[data-indicator]').forEach((tr) => {
    const reason = ts.indicator_reasons[tr.dataset.indicator]?.[yi];
    const cell = tr.querySelector('td[data-value]');
    if (!reason || !cell) return;
    const why = REASON_TEXT[reason] || reason;
    const short = WHY_SHORT[reason];
    // the dash explains itself on hover and to screen readers; the short reason stays visible
    cell.innerHTML = `<abbr class="why" title="${esc(why)}" aria-label="kein Wert: ${esc(why)}" data-reason="${esc(reason)}">–</abbr>${short ? ` <span class="why" aria-hidden="true">(${esc(short)})</span>` : ''}`;
  });
}

/** Opens (or refreshes) the profile of area `id` for the current year and variable. */
export async function openProfile(id) {
  const f = ctx.byId.get(id);
  if (!f) return;
  const panel = $('profile');
  const wasHidden = panel.hidden;
  if (wasHidden && document.activeElement && document.activeElement !== document.body) returnFocus = document.activeElement;
  shown = id;
  const p = f.properties;
  const level = ctx.levels.find((l) => l.id === state.level);
  const city = ctx.city.get(state.year);
  const srg = ctx.srgIds.has(id);
  const body = $('profile-body');
  const chain = parentChainOf(p);
  const srgRow = srg ? ctx.srgInfo.areas.find((a) => a.id === id) : null;
  const srgIdx = srg ? ctx.cat.indices.find((i) => i.id === ctx.srgInfo.index) : null;
  body.innerHTML =
    `<h2 id="profile-title">${esc(p.name)}</h2><p class="meta">${esc(level ? level.title : state.level)} · ID ${esc(p.id)} · Fläche ${num(p.area_km2, 2)} km² · Jahr ${state.year}</p>` +
    (chain.length ? `<p class="meta" data-parents>liegt in: ${chain.map((c) => `${esc(singular(c.title))} <b>${esc(c.name)}</b>`).join(' · ')}</p>` : p.parent ? `<p class="meta">übergeordnet: ${esc(p.parent)}</p>` : '') +
    steckbriefLinks(id) +
    (srg
      ? `<div class="srg-why"><p><span class="badge srg">Sozialraumgebiet</span> (${esc(ctx.srgInfo.title)} ${ctx.srgInfo.year})</p><p id="srg-sentence">${esc(srgSentence(srgRow, srgIdx, titleOf))}</p></div>`
      : '') +
    `<h3>Einwohner:innen</h3><p><b data-residents>${esc(count(p, 'residents'))}</b> am 31.12.${state.year}${city && city.residents ? ` (${esc(totalName())} ${num(city.residents, 0)})` : ''}</p>` +
    '<div id="profile-age"><p class="meta">Lade …</p></div>' +
    `<h3>Indikatoren ${state.year}</h3>` +
    indicatorSection(p, city) +
    '<h3>Zeitreihe</h3><div id="profile-chart" class="chart"></div>' +
    '<div id="profile-index"></div><div id="profile-fac"></div>';
  panel.hidden = false;
  if (wasHidden) panel.focus();
  body.querySelectorAll('button[data-show]').forEach((b) =>
    b.addEventListener('click', () => {
      const sel = document.getElementById('indicator');
      sel.value = b.dataset.show;
      sel.dispatchEvent(new Event('change'));
    }),
  );
  const ts = await api.timeseries(state.level, id);
  if (shown !== id) return;
  $('profile-age').innerHTML = ageSection(p, ts);
  explainMissing(body, ts);
  const [idxHtml, facHtml] = await Promise.all([indexSection(id), facilitySection(f), drawChart(id)]);
  if (shown !== id) return;
  $('profile-index').innerHTML = idxHtml;
  $('profile-fac').innerHTML = facHtml;
}
