// The Berichtswesen from the map: links to the server's reports (PDF and Word) for what the map
// shows — the map print of the current indicator, the Monitoring, the Sozialraumgebiete paper,
// and the Steckbrief of the area in the profile. The server typesets them; the links are built
// from the state when they are about to be used, so they always match the current view.

import { API_ROOT } from './api.js';
import { $ } from './dom.js';
import { state, ctx } from './state.js';

/** URL of report `kind` with `params` (undefined values left out). */
export function reportHref(kind, params) {
  const u = new URL(`reports/${kind}`, API_ROOT);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
  return u.href;
}

/** The map print takes indicators and index classes (not index values or groups). */
function printable(id) {
  return ctx.cat.indicators.some((i) => i.id === id) || ctx.cat.indices.some((ix) => id === `${ix.id}_status_class`);
}

function viewItems() {
  const items = [];
  const level = state.level;
  const year = state.year;
  if (printable(state.indicator)) {
    const p = { level, year, indicator: state.indicator, method: state.method, classes: state.k };
    items.push(['Karte (A4 quer)', 'karte', p]);
  }
  items.push(['Monitoring', 'monitoring', { level, year }]);
  // The committee paper is about the index's own level and its latest index year.
  if (ctx.cat.indices.length) items.push(['Sozialraumgebiete', 'sozialraumgebiete', {}]);
  return items;
}

/** Builds the list, or only updates its links when the items are the same (keeps focus). */
function refresh() {
  const list = $('report-links');
  const items = viewItems();
  const hrefs = items.flatMap(([, kind, p]) => [reportHref(kind, p), reportHref(kind, { ...p, format: 'docx' })]);
  const labels = items.map(([label]) => label).join('|');
  if (list.dataset.labels === labels) {
    list.querySelectorAll('a').forEach((a, i) => {
      if (a.href !== hrefs[i]) a.href = hrefs[i];
    });
    return;
  }
  list.dataset.labels = labels;
  list.innerHTML = items.map(([label], i) => `<li>${label}: <a href="${hrefs[2 * i]}" download>PDF</a> · <a href="${hrefs[2 * i + 1]}" download>Word</a></li>`).join('');
}

/** Shows the Bericht box if the server makes reports; links follow the view. */
export function initReports() {
  const box = $('report-box');
  if (!ctx.mapConfig?.reports) return;
  box.hidden = false;
  refresh();
  // Brought up to date right before use: when the box opens, or a pointer or the keyboard
  // reaches a link.
  box.addEventListener('toggle', refresh);
  box.addEventListener('pointerover', refresh);
  box.addEventListener('focusin', refresh);
}

/** The Steckbrief links of the profile of area `id` (empty if the server makes no reports). */
export function steckbriefLinks(id) {
  if (!ctx.mapConfig?.reports) return '';
  const p = { level: state.level, area: id, year: state.year };
  return `<p class="report-links">Steckbrief als <a href="${reportHref('steckbrief', p)}" download>PDF</a> · <a href="${reportHref('steckbrief', { ...p, format: 'docx' })}" download>Word</a> herunterladen</p>`;
}
