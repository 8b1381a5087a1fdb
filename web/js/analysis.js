// "Tabelle und Diagramme": the panel under the map with the accessible table of every area
// (the non-visual equivalent of the map) and the charts planners use — histogram with the
// class breaks, ranking with the city average, scatter of two indicators with regression line,
// time series of several areas, and the comparison of two years (which also recolours the
// map). Every chart shows only published values (what the API returns; suppressed and
// missing values are counted, with their reason) and exports as PNG and CSV.

import * as api from './api.js';
import { num, fixed, esc } from './fmt.js';
import { $, download } from './dom.js';
import { state, ctx, variable, dataYears } from './state.js';
import { mapTasks } from './status.js';
import { STATUS_CLASSES } from './classify.js';
import { change, selectArea, areaValue, fmtValue, reasonOf, parentChain, inRangeIds, changeUnit } from './choropleth.js';
import { cell, csvDocument, downloadCsv, exportPng } from './export.js';
import { map, renderer } from './map.js';
import { histogram, barChart, scatter, lineChart, regression, svgToPng } from './svgchart.js';
import { missingLabel, yearsText } from './explain.js';

let view = 'table';
let sort = { col: 'value', dir: -1 };
let rankOrder = -1;
let scatterX = null;
let scatterY = null;
let seriesIds = null;
let lastSvg = null; // the chart on screen (PNG export)
let lastCsv = null; // [head, rows] of the view (CSV export)

const OKABE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
const DASHES = [null, '6 3', '2 3', '8 3 2 3', null, '6 3', '2 3'];

/** Whether the panel is open. */
export const analysisOpen = () => !$('analysis').hidden;

/** Opens the panel on `which` view (default: the last one). */
export function openAnalysis(which = view, focus = false) {
  view = which;
  $('analysis').hidden = false;
  $('analysis-open').setAttribute('aria-expanded', 'true');
  document.querySelectorAll('.analysis-tabs [role=tab]').forEach((t) => {
    const on = t.dataset.view === view;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    if (on) $('apanel').setAttribute('aria-labelledby', t.id);
  });
  if (view !== 'change' && state.change) change({ change: null });
  render();
  if (focus) document.querySelector(`.analysis-tabs [data-view="${view}"]`).focus();
}

/** Closes the panel (and ends the Jahresvergleich on the map). */
export function closeAnalysis() {
  $('analysis').hidden = true;
  $('analysis-open').setAttribute('aria-expanded', 'false');
  if (state.change) change({ change: null });
}

/** The view shown ('table', 'histogram', …). */
export const analysisView = () => view;

// ---------------------------------------------------------------------------------------------
// Helpers

function levelTitle() {
  return ctx.levels.find((l) => l.id === state.level)?.title || state.level;
}

/** Areas without a value, by reason: "6 ohne Wert (5 … , 1 …)". */
function missingNote(feats, valueOf) {
  const counts = new Map();
  for (const f of feats) {
    if (valueOf(f) !== null && valueOf(f) !== undefined) continue;
    const r = reasonOf(f) || 'no_data';
    counts.set(r, (counts.get(r) || 0) + 1);
  }
  if (!counts.size) return '';
  const v = variable();
  const n = [...counts.values()].reduce((a, b) => a + b, 0);
  const parts = [...counts].map(([r, k]) => `${k} ${r === 'change' ? `ohne Wert in einem der Jahre` : missingLabel(r, { year: state.year, threshold: ctx.cat.disclosure_threshold ?? 3, minPopulation: v.index?.min_population ?? 300, all: k === feats.length })}`);
  return `${n} ${n === 1 ? 'Gebiet' : 'Gebiete'} ohne Wert: ${parts.join('; ')}.`;
}

function toolbar(extra = '') {
  return `<div class="a-tools">${extra}<button type="button" data-export="png" ${lastSvgAllowed() ? '' : 'hidden'}>Als PNG</button><button type="button" data-export="csv">Als CSV (Excel)</button></div>`;
}

const lastSvgAllowed = () => view !== 'table';

function panelWidth() {
  return Math.max(320, Math.min(900, $('apanel').clientWidth - 24));
}

const cityName = () => ctx.mapConfig?.title || 'Gesamtstadt';

function cityValue(id, year = state.year) {
  const c = ctx.city.get(year);
  const x = c ? c[id] : null;
  return typeof x === 'number' ? x : null;
}

/** The numeric variable behind the shown one: index classes → the index value. */
function numericOf(v) {
  if (v.kind === 'numeric') return { id: v.id, title: v.title, unit: v.unit, decimals: v.decimals, breaks: null };
  const idx = v.index;
  if (v.kind === 'dynamics') return { id: `${idx.id}_dynamics_value`, title: `${idx.title}: Dynamikindex (Wert)`, unit: '', decimals: 2, breaks: idx.dynamics_thresholds };
  return { id: `${idx.id}_status_value`, title: `${idx.title}: Statusindex (Wert)`, unit: '', decimals: 2, breaks: idx.status_thresholds };
}

// ---------------------------------------------------------------------------------------------
// Views

function render() {
  if (!analysisOpen() || !ctx.classes) return;
  lastSvg = null;
  lastCsv = null;
  const panel = $('apanel');
  const fn = { table: renderTable, histogram: renderHistogram, ranking: renderRanking, scatter: renderScatter, series: renderSeries, change: renderChange }[view];
  mapTasks.track(Promise.resolve(fn(panel)));
}

/** The accessible table of the map: every area, sortable, one row per area. */
function renderTable(panel) {
  const v = variable();
  const inside = state.range ? inRangeIds() : null;
  const rows = ctx.features.map((f) => {
    const p = f.properties;
    const x = areaValue(f, v);
    const ci = ctx.classes.classIndex(f._i);
    const parent = parentChain(p)[0];
    return {
      f,
      id: p.id,
      name: p.name,
      parent: parent ? parent.name : p.parent || '',
      value: typeof x === 'number' ? x : x === null || x === undefined ? null : String(x),
      text: x === null || x === undefined ? fmtValue(null, v, reasonOf(f)) : ctx.change ? `${x > 0 ? '+' : ''}${fixed(x, v.decimals)} ${changeUnit(v)}` : typeof x === 'number' && v.kind === 'numeric' ? `${fixed(x, v.decimals)}${v.unit ? ' ' + v.unit : ''}` : fmtValue(x, v),
      cls: ci >= 0 ? ctx.classes.classes[ci].label : '–',
      residents: p.residents,
      srg: ctx.srgIds.has(p.id),
      out: inside && !inside.has(p.id),
    };
  });
  const cols = [
    ['name', 'Gebiet'],
    ['id', 'ID'],
    ['parent', 'liegt in'],
    ['value', ctx.change ? `Veränderung ${ctx.change.from}→${ctx.change.to}` : `${v.title}${v.unit ? ' (' + v.unit + ')' : ''}`],
    ['cls', 'Klasse auf der Karte'],
    ['residents', 'Einwohner:innen'],
    ['srg', 'Sozialraum­gebiet'],
  ];
  const key = (r) => r[sort.col];
  rows.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    let c;
    if (x === null || x === undefined || x === '') c = y === null || y === undefined || y === '' ? 0 : 1;
    else if (y === null || y === undefined || y === '') c = -1;
    else if (typeof x === 'number' && typeof y === 'number') c = (x - y) * sort.dir;
    else if (typeof x === 'boolean') c = (Number(x) - Number(y)) * sort.dir;
    else c = String(x).localeCompare(String(y), 'de') * sort.dir;
    return c || a.id.localeCompare(b.id);
  });
  let h = toolbar();
  h += `<table class="a-table" id="area-table"><caption>${esc(ctx.change ? `Veränderung ${v.title}` : v.title)}, ${ctx.change ? `${ctx.change.from}→${ctx.change.to}` : state.year}, ${esc(levelTitle())}: ${rows.length} Gebiete${state.range ? ` (blass: außerhalb des Wertebereichs)` : ''}. Spaltenköpfe sortieren; ein Gebietsname öffnet den Steckbrief.</caption><thead><tr>`;
  for (const [c, t] of cols) {
    const on = sort.col === c;
    h += `<th scope="col" aria-sort="${on ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none'}"${['value', 'residents'].includes(c) ? ' class="num"' : ''}><button type="button" class="linklike" data-sort="${c}">${esc(t)}${on ? (sort.dir > 0 ? ' ▲' : ' ▼') : ''}</button></th>`;
  }
  h += '</tr></thead><tbody>';
  for (const r of rows) {
    h += `<tr data-id="${esc(r.id)}"${r.out ? ' class="out"' : ''}${state.area === r.id ? ' aria-current="true"' : ''}><th scope="row"><button type="button" class="linklike" data-open="${esc(r.id)}">${esc(r.name)}</button></th><td>${esc(r.id)}</td><td>${esc(r.parent)}</td><td class="num" data-value>${esc(r.text)}</td><td>${esc(r.cls)}</td><td class="num">${r.residents === null || r.residents === undefined ? '·' : num(r.residents, 0)}</td><td>${r.srg ? 'ja' : 'nein'}</td></tr>`;
  }
  h += '</tbody></table>';
  panel.innerHTML = h;
  lastCsv = [
    ['ID', 'Gebiet', 'liegt in', cols[3][1], 'Klasse auf der Karte', 'Einwohner:innen', 'Sozialraumgebiet'],
    rows.map((r) => [cell(r.id, { text: true }), cell(r.name), cell(r.parent), typeof r.value === 'number' ? cell(r.value, { decimals: v.decimals }) : cell(r.value), cell(r.cls), cell(r.residents, { decimals: 0 }), cell(r.srg)]),
  ];
}

function renderHistogram(panel) {
  const v = variable();
  const nv = numericOf(v);
  const valueOf = (f) => (ctx.change && v.kind === 'numeric' ? areaValue(f, v) : f.properties[nv.id] ?? null);
  const vals = ctx.features.map(valueOf).filter((x) => typeof x === 'number');
  let breaks;
  let colorOf;
  if (nv.breaks) {
    breaks = nv.breaks;
    const cols = v.kind === 'dynamics' ? ['#2c7bb6', '#b8b8b8', '#d7301f'] : STATUS_CLASSES.map((c) => c.color);
    colorOf = (x) => cols[breaks.filter((b) => x > b).length];
  } else {
    breaks = ctx.classes.classes.slice(0, -1).map((c) => c.upper).filter(Number.isFinite);
    colorOf = (x) => {
      const c = ctx.classes.classes.find((k, i) => x <= k.upper || i === ctx.classes.classes.length - 1);
      return c ? c.color : '#8c96a0';
    };
  }
  const title = `${ctx.change ? `Veränderung ${v.title} ${ctx.change.from}→${ctx.change.to}` : nv.title}, ${ctx.change ? '' : state.year + ', '}${levelTitle()}`;
  const range = state.range ? state.range.split('~').map(Number) : null;
  const { svg, bins } = histogram({
    values: vals,
    breaks,
    colorOf,
    title,
    desc: `Verteilung von ${vals.length} Gebieten auf gleich breite Abschnitte; gestrichelt: die Klassengrenzen der Karte.`,
    xLabel: nv.unit ? `${nv.title} (${ctx.change ? changeUnit(v) : nv.unit})` : nv.title,
    decimals: nv.decimals,
    width: panelWidth(),
    range,
  });
  lastSvg = svg;
  const note = missingNote(ctx.features, valueOf);
  panel.innerHTML = toolbar() + `<p class="hint">${vals.length} Gebiete mit Wert. Gestrichelte Linien: Klassengrenzen der Karte (${breaks.map((b) => num(b, nv.decimals)).join(' / ') || 'keine'}). ${esc(note)}</p>`;
  panel.appendChild(svg);
  panel.insertAdjacentHTML(
    'beforeend',
    `<details><summary>Werte als Tabelle</summary><table class="a-table" id="hist-table"><thead><tr><th scope="col">von</th><th scope="col">bis</th><th scope="col" class="num">Gebiete</th></tr></thead><tbody>${bins
      .map((b) => `<tr><td>${num(b.lo, nv.decimals)}</td><td>${num(b.hi, nv.decimals)}</td><td class="num">${b.count}</td></tr>`)
      .join('')}</tbody></table></details>`,
  );
  lastCsv = [['von', 'bis', 'Anzahl Gebiete'], bins.map((b) => [cell(b.lo, { decimals: nv.decimals + 2 }), cell(b.hi, { decimals: nv.decimals + 2 }), cell(b.count)])];
}

function renderRanking(panel) {
  const v = variable();
  const nv = numericOf(v);
  const valueOf = (f) => (ctx.change && v.kind === 'numeric' ? areaValue(f, v) : f.properties[nv.id] ?? null);
  const rows = ctx.features
    .map((f) => ({ id: f.properties.id, name: f.properties.name, value: valueOf(f), color: ctx.classes.colorOf(f._i) }))
    .filter((r) => typeof r.value === 'number')
    .sort((a, b) => (rankOrder < 0 ? b.value - a.value : a.value - b.value) || a.id.localeCompare(b.id));
  rows.forEach((r, i) => (r.rank = i + 1));
  const ref = ctx.change ? null : cityValue(nv.id);
  const vals = rows.map((r) => r.value).concat(ref !== null ? [ref] : []);
  const lo = Math.min(0, ...vals);
  const hi = Math.max(...vals, 0);
  const pos = (x) => ((x - lo) / (hi - lo || 1)) * 100;
  const unit = ctx.change ? changeUnit(v) : nv.unit;
  let h = toolbar(`<label>Reihenfolge <select id="rank-order"><option value="-1"${rankOrder < 0 ? ' selected' : ''}>höchster Wert oben</option><option value="1"${rankOrder > 0 ? ' selected' : ''}>niedrigster Wert oben</option></select></label>`);
  h += `<p class="hint">${rows.length} Gebiete${ref !== null ? `; gestrichelt: ${esc(cityName())} ${num(ref, nv.decimals)}${unit ? ' ' + esc(unit) : ''}` : ''}. Ein Balken öffnet den Steckbrief (Pfeiltasten wechseln den Balken). ${esc(missingNote(ctx.features, valueOf))}</p>`;
  h += `<ol class="rank-list" aria-label="Rangfolge ${esc(nv.title)}">`;
  rows.forEach((r, i) => {
    const a = pos(Math.min(0, r.value));
    const b = pos(Math.max(0, r.value));
    h += `<li><button type="button" data-open="${esc(r.id)}" tabindex="${i === 0 ? 0 : -1}" data-value="${r.value}"><span class="rk">${r.rank}.</span><span class="nm">${esc(r.name)}</span><span class="track"><span class="fill" style="left:${a}%;width:${Math.max(0.3, b - a)}%;background:${r.color}"></span>${ref !== null ? `<span class="ref" style="left:${pos(ref)}%"></span>` : ''}</span><span class="vl">${fixed(r.value, nv.decimals)}${unit ? ' ' + esc(unit) : ''}</span></button></li>`;
  });
  h += '</ol>';
  panel.innerHTML = h;
  lastSvg = barChart({ rows: rows.map((r) => ({ ...r, label: r.name })), reference: ref !== null ? { value: ref, label: cityName() } : null, title: `Rangfolge ${nv.title}, ${state.year}`, desc: `${rows.length} Gebiete nach Wert`, decimals: nv.decimals, unit });
  lastCsv = [['Rang', 'ID', 'Gebiet', `${nv.title}${unit ? ' (' + unit + ')' : ''}`], rows.map((r) => [cell(r.rank), cell(r.id, { text: true }), cell(r.name), cell(r.value, { decimals: nv.decimals })])];
  if (ref !== null) lastCsv[1].push([cell(''), cell(''), cell(`${cityName()} (Gesamtstadt)`), cell(ref, { decimals: nv.decimals })]);
}

function numericChoices() {
  const out = ctx.cat.indicators.filter((i) => (i.data_years?.[state.level] || []).includes(state.year)).map((i) => ({ id: i.id, title: i.title, unit: i.unit || '', decimals: i.decimals ?? 2 }));
  for (const idx of ctx.cat.indices.filter((i) => i.level === state.level && (i.data_years || []).includes(state.year))) {
    out.push({ id: `${idx.id}_status_value`, title: `${idx.title}: Statusindex`, unit: '', decimals: 2 });
  }
  return out;
}

function strength(r) {
  const a = Math.abs(r);
  const s = a < 0.3 ? 'schwacher' : a < 0.7 ? 'mittlerer' : 'starker';
  return `${s} ${r >= 0 ? 'positiver' : 'negativer'} Zusammenhang`;
}

function renderScatter(panel) {
  const choices = numericChoices();
  const v = variable();
  if (choices.length < 2) {
    panel.innerHTML = `<p>Für ${state.year} gibt es auf dieser Ebene keine zwei Indikatoren mit Werten.</p>`;
    return;
  }
  if (!choices.some((c) => c.id === scatterY)) scatterY = choices.some((c) => c.id === numericOf(v).id) ? numericOf(v).id : choices[0].id;
  if (!choices.some((c) => c.id === scatterX) || scatterX === scatterY) scatterX = choices.find((c) => c.id !== scatterY).id;
  const cx = choices.find((c) => c.id === scatterX);
  const cy = choices.find((c) => c.id === scatterY);
  const opts = (sel) => choices.map((c) => `<option value="${esc(c.id)}"${c.id === sel ? ' selected' : ''}>${esc(c.title)}</option>`).join('');
  const pts = ctx.features
    .map((f) => ({ id: f.properties.id, label: f.properties.name, x: f.properties[scatterX], y: f.properties[scatterY], color: ctx.srgIds.has(f.properties.id) ? '#b34402' : '#4a6fa5', mark: ctx.srgIds.has(f.properties.id) }))
    .filter((p) => typeof p.x === 'number' && typeof p.y === 'number');
  const lab = (c) => `${c.title}${c.unit ? ' (' + c.unit + ')' : ''}`;
  const { svg, fit } = scatter({
    points: pts,
    title: `${cy.title} und ${cx.title}, ${state.year}`,
    desc: `${pts.length} Gebiete; Linie: lineare Regression; r = ${num(regression(pts).r, 2)}.`,
    xLabel: lab(cx),
    yLabel: lab(cy),
    xDecimals: cx.decimals,
    yDecimals: cy.decimals,
    onClick: (id) => selectArea(id, true),
    width: panelWidth(),
  });
  lastSvg = svg;
  const excluded = ctx.features.length - pts.length;
  panel.innerHTML =
    toolbar(`<label>waagerecht <select id="sc-x">${opts(scatterX)}</select></label><label>senkrecht <select id="sc-y">${opts(scatterY)}</select></label>`) +
    `<p class="hint" id="sc-fit" data-r="${fit.r}" data-n="${fit.n}" data-a="${fit.a}" data-b="${fit.b}">${fit.n} Gebiete mit beiden Werten${excluded ? ` (${excluded} ohne Wert nicht gezeigt)` : ''}. r = ${num(fit.r, 2)}: ${Number.isFinite(fit.r) ? strength(fit.r) : 'nicht berechenbar'}. Regressionsgerade: ${esc(cy.title)} ≈ ${num(fit.a, 3)} ${fit.b >= 0 ? '+' : '−'} ${num(Math.abs(fit.b), 3)} × ${esc(cx.title)}. Schwarz umrandet: Sozialraumgebiete. Ein Punkt öffnet den Steckbrief.</p>`;
  panel.appendChild(svg);
  lastCsv = [['ID', 'Gebiet', lab(cx), lab(cy), 'Sozialraumgebiet'], pts.map((p) => [cell(p.id, { text: true }), cell(p.label), cell(p.x, { decimals: cx.decimals }), cell(p.y, { decimals: cy.decimals }), cell(p.mark)])];
}

/** The series of variable `v` in a time series answer. */
function seriesOf(ts, id) {
  if (ts.indicators?.[id]) return ts.indicators[id];
  for (const [ix, parts] of Object.entries(ts.indices || {})) {
    const part = id.startsWith(ix + '_') ? id.slice(ix.length + 1) : null;
    if (part && parts[part] && part !== 'group') return parts[part];
  }
  return null;
}

async function renderSeries(panel) {
  const v = variable();
  const nv = numericOf(v);
  if (!seriesIds) {
    const start = state.area ? [state.area] : [...ctx.srgIds].slice(0, 2);
    seriesIds = start.length ? start : ctx.features.slice(0, 2).map((f) => f.properties.id);
  }
  seriesIds = seriesIds.filter((id) => ctx.byId.has(id)).slice(0, 6);
  const level = state.level;
  const tss = await Promise.all(seriesIds.map((id) => api.timeseries(level, id)));
  let city = null;
  if (ctx.levels.some((l) => l.id === 'gesamt')) city = await api.timeseries('gesamt', 'gesamt').catch(() => null);
  if (view !== 'series' || state.level !== level) return;
  const years = tss[0]?.years || city?.years || ctx.cat.years;
  const series = tss.map((ts, i) => ({ label: ctx.byId.get(seriesIds[i])?.properties.name || seriesIds[i], id: seriesIds[i], values: seriesOf(ts, nv.id) || years.map(() => null), color: OKABE[i % OKABE.length], dash: DASHES[i % DASHES.length] }));
  if (city) series.push({ label: cityName(), id: 'gesamt', values: seriesOf(city, nv.id) || years.map(() => null), color: '#555555', dash: '3 3' });
  const svg = lineChart({ years, series, title: `${nv.title}${nv.unit ? ' (' + nv.unit + ')' : ''}`, desc: `Zeitreihen von ${series.map((s) => s.label).join(', ')}.`, yLabel: nv.unit, decimals: nv.decimals, width: panelWidth() });
  lastSvg = svg;
  const chips = seriesIds
    .map((id) => `<li><span>${esc(ctx.byId.get(id)?.properties.name || id)}</span> <button type="button" class="chip-x" data-remove="${esc(id)}" aria-label="${esc(ctx.byId.get(id)?.properties.name || id)} entfernen">×</button></li>`)
    .join('');
  panel.innerHTML =
    toolbar(
      `<form id="series-add" class="series-add"><label for="series-q">Gebiet hinzufügen</label><input id="series-q" list="search-list" autocomplete="off" placeholder="Name oder ID"><button type="submit">Hinzufügen</button></form>`,
    ) +
    `<ul class="chips" aria-label="Gezeigte Gebiete">${chips}</ul><p class="hint">Bis zu 6 Gebiete und ${esc(cityName())}. Daten für „${esc(nv.title)}“: ${esc(yearsText(dataYears(v)))}; fehlende Jahre bleiben leer.</p>`;
  panel.appendChild(svg);
  const head = ['Gebiet', ...years.map(String)];
  panel.insertAdjacentHTML(
    'beforeend',
    `<details><summary>Werte als Tabelle</summary><table class="a-table" id="series-table"><thead><tr>${head.map((x) => `<th scope="col">${esc(x)}</th>`).join('')}</tr></thead><tbody>${series
      .map((s) => `<tr><th scope="row">${esc(s.label)}</th>${s.values.map((x) => `<td class="num">${num(x, nv.decimals)}</td>`).join('')}</tr>`)
      .join('')}</tbody></table></details>`,
  );
  lastCsv = [['ID', ...head], series.map((s) => [cell(s.id, { text: true }), cell(s.label), ...s.values.map((x) => cell(x, { decimals: nv.decimals }))])];
}

function renderChange(panel) {
  const v = variable();
  if (v.kind !== 'numeric') {
    panel.innerHTML = '<p>Der Jahresvergleich gibt es für Indikatoren mit Zahlenwerten. Wählen Sie links einen Indikator.</p>';
    return;
  }
  const years = dataYears(v);
  if (years.length < 2) {
    panel.innerHTML = `<p>„${esc(v.title)}“ hat nur Daten für ${esc(yearsText(years))}: kein Vergleich möglich.</p>`;
    return;
  }
  const [a, b] = state.change ? state.change.split('-').map(Number) : [years[0], years[years.length - 1]];
  const opt = (sel) => years.map((y) => `<option${y === sel ? ' selected' : ''}>${y}</option>`).join('');
  let h = toolbar(
    `<label>von <select id="ch-from">${opt(a)}</select></label><label>bis <select id="ch-to">${opt(b)}</select></label><label class="check"><input type="checkbox" id="ch-map"${state.change ? ' checked' : ''}> auf der Karte zeigen</label>`,
  );
  if (!ctx.change) {
    h += `<p class="hint">Die Karte zeigt die Veränderung, sobald „auf der Karte zeigen“ gewählt ist.</p>`;
    panel.innerHTML = h;
    return;
  }
  const unit = changeUnit(v);
  const rows = ctx.features
    .map((f) => {
      const id = f.properties.id;
      const ci = ctx.classes.classIndex(f._i);
      return { id, name: f.properties.name, from: ctx.change.fromValues.get(id) ?? null, to: ctx.change.toValues.get(id) ?? null, delta: ctx.change.delta.get(id) ?? null, cls: ci >= 0 ? ctx.classes.classes[ci].label : `kein Wert in ${ctx.change.from} oder ${ctx.change.to}` };
    })
    .sort((x, y) => (y.delta ?? -Infinity) - (x.delta ?? -Infinity) || x.id.localeCompare(y.id));
  h += `<p class="hint">Veränderung je Gebiet von ${ctx.change.from} bis ${ctx.change.to}${unit ? ' in ' + esc(unit) : ''}; Klassen: kaum verändert innerhalb ±½ Standardabweichung der Veränderungen, deutlich ab ±1½. ${esc(missingNote(ctx.features, (f) => ctx.change.delta.get(f.properties.id) ?? null))}</p>`;
  h += `<table class="a-table" id="change-table"><caption>Veränderung ${esc(v.title)} ${ctx.change.from}→${ctx.change.to}</caption><thead><tr><th scope="col">Gebiet</th><th scope="col">ID</th><th scope="col" class="num">${ctx.change.from}</th><th scope="col" class="num">${ctx.change.to}</th><th scope="col" class="num">Veränderung</th><th scope="col">Klasse</th></tr></thead><tbody>`;
  for (const r of rows) {
    h += `<tr data-id="${esc(r.id)}"><th scope="row"><button type="button" class="linklike" data-open="${esc(r.id)}">${esc(r.name)}</button></th><td>${esc(r.id)}</td><td class="num">${fixed(r.from, v.decimals)}</td><td class="num">${fixed(r.to, v.decimals)}</td><td class="num" data-delta="${r.delta ?? ''}">${r.delta === null ? '–' : (r.delta > 0 ? '+' : '') + fixed(r.delta, v.decimals)}</td><td>${esc(r.cls)}</td></tr>`;
  }
  h += '</tbody></table>';
  panel.innerHTML = h;
  lastSvg = null;
  lastCsv = [
    ['ID', 'Gebiet', `${v.title} ${ctx.change.from}`, `${v.title} ${ctx.change.to}`, `Veränderung${unit ? ' (' + unit + ')' : ''}`, 'Klasse'],
    rows.map((r) => [cell(r.id, { text: true }), cell(r.name), cell(r.from, { decimals: v.decimals }), cell(r.to, { decimals: v.decimals }), cell(r.delta, { decimals: v.decimals }), cell(r.cls)]),
  ];
}

// ---------------------------------------------------------------------------------------------
// Events

async function exportView(kind) {
  const base = `kleinraum_${state.level}_${state.year}_${state.indicator}_${view}`;
  if (kind === 'csv' && lastCsv) downloadCsv(csvDocument(lastCsv[0], lastCsv[1]), `${base}.csv`);
  if (kind === 'png' && lastSvg) download(await svgToPng(lastSvg), `${base}.png`);
  // the comparison is a map: its PNG is the map view with the change classes
  else if (kind === 'png' && view === 'change') await exportPng(map, renderer);
}

function onClick(e) {
  const open = e.target.closest('[data-open]');
  if (open) {
    selectArea(open.dataset.open, true);
    return;
  }
  const s = e.target.closest('button[data-sort]');
  if (s) {
    sort = s.dataset.sort === sort.col ? { col: sort.col, dir: -sort.dir } : { col: s.dataset.sort, dir: ['value', 'residents', 'srg'].includes(s.dataset.sort) ? -1 : 1 };
    render();
    document.querySelector(`#area-table button[data-sort="${sort.col}"]`)?.focus();
    return;
  }
  const x = e.target.closest('button[data-export]');
  if (x) {
    mapTasks.track(exportView(x.dataset.export));
    return;
  }
  const rm = e.target.closest('button[data-remove]');
  if (rm) {
    seriesIds = seriesIds.filter((id) => id !== rm.dataset.remove);
    render();
  }
}

function onChange(e) {
  const t = e.target;
  if (t.id === 'rank-order') {
    rankOrder = Number(t.value);
    render();
  } else if (t.id === 'sc-x' || t.id === 'sc-y') {
    if (t.id === 'sc-x') scatterX = t.value;
    else scatterY = t.value;
    render();
  } else if (t.id === 'ch-from' || t.id === 'ch-to' || t.id === 'ch-map') {
    const a = Number($('ch-from').value);
    const b = Number($('ch-to').value);
    const on = $('ch-map').checked && a !== b;
    change({ change: on ? `${Math.min(a, b)}-${Math.max(a, b)}` : null });
  }
}

function onKeys(e) {
  // the ranking list is one tab stop: arrows move between the bars
  const list = e.target.closest('.rank-list');
  if (list) {
    const bs = [...list.querySelectorAll('button')];
    const i = bs.indexOf(document.activeElement);
    const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: bs.length - 1, PageDown: i + 10, PageUp: i - 10 }[e.key];
    if (i >= 0 && to !== undefined) {
      e.preventDefault();
      const j = Math.max(0, Math.min(bs.length - 1, to));
      bs.forEach((b, k) => (b.tabIndex = k === j ? 0 : -1));
      bs[j].focus();
    }
  }
}

/** Wires the panel: open/close, tabs (arrow keys), sorting, exports, chart controls. */
export function initAnalysis() {
  $('analysis-open').addEventListener('click', () => (analysisOpen() ? closeAnalysis() : openAnalysis(view, true)));
  $('analysis-close').addEventListener('click', () => {
    closeAnalysis();
    $('analysis-open').focus();
  });
  const tabs = document.querySelector('.analysis-tabs');
  tabs.addEventListener('click', (e) => {
    const t = e.target.closest('[role=tab]');
    if (t) openAnalysis(t.dataset.view);
  });
  tabs.addEventListener('keydown', (e) => {
    const ts = [...tabs.querySelectorAll('[role=tab]')];
    const i = ts.indexOf(document.activeElement);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: ts.length - 1 }[e.key];
    if (i < 0 || to === undefined) return;
    e.preventDefault();
    const j = (to + ts.length) % ts.length;
    openAnalysis(ts[j].dataset.view, true);
  });
  const panel = $('apanel');
  panel.addEventListener('click', onClick);
  panel.addEventListener('change', onChange);
  panel.addEventListener('keydown', onKeys);
  panel.addEventListener('submit', (e) => {
    if (e.target.id !== 'series-add') return;
    e.preventDefault();
    const q = $('series-q').value.trim().toLowerCase();
    const m = q.match(/\(([^)]+)\)\s*$/);
    const f = (m && ctx.byId.get(m[1])) || ctx.features.find((x) => x.properties.id.toLowerCase() === q || x.properties.name.toLowerCase() === q) || ctx.features.find((x) => x.properties.name.toLowerCase().startsWith(q));
    if (f && !seriesIds.includes(f.properties.id)) seriesIds = [...seriesIds, f.properties.id].slice(-6);
    render();
    $('series-q')?.focus();
  });
  document.addEventListener('kleinraum:recoloured', () => render());
  document.addEventListener('kleinraum:level', () => {
    seriesIds = null;
  });
  window.addEventListener('resize', () => analysisOpen() && view !== 'table' && render());
}
