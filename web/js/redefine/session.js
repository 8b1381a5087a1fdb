// The signed-in session of the Gebietsstände tab and every request it makes. The token stays
// in sessionStorage (gone when the browser tab closes) and goes out only as
// `Authorization: Bearer`; the requests are uncached (drafts change), through api.js.

import { API_ROOT, request } from '../api.js';
import { createTracker } from '../status.js';

const TOKEN_KEY = 'kleinraum-token';
const ROLE_RANK = { public: 0, viewer: 1, planner: 2, statistik: 3, admin: 4 };

/** Signed-in user ({role, name}); role 'public' without token. */
export const auth = { role: 'public', name: null };

/** True if the user may edit drafts. */
export const canPlan = () => ROLE_RANK[auth.role] >= ROLE_RANK.planner;

/** The stored token, or null. */
export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export const storeToken = (tok) => sessionStorage.setItem(TOKEN_KEY, tok);
export const forgetToken = () => sessionStorage.removeItem(TOKEN_KEY);

/** Pending work of the tab; `track` reports failures in the status line. */
export const tasks = createTracker();
export const track = tasks.track;

// ---------------------------------------------------------------------------------------------
// Requests

const enc = encodeURIComponent;
const get = (path) => request('GET', path, { token: token() });
const post = (path, body) => request('POST', path, { body, token: token() });

/** Asks the server who the token belongs to; null token = public. */
export async function whoAmI(tok) {
  if (!tok) return { role: 'public', name: null };
  return request('GET', 'auth', { token: tok });
}

/** The Gebietsstände the user may see, with years and indicators. */
export const listVersions = () => get('gebietsstaende');
/** Areas of a stored Gebietsstand with the values of `year` (GeoJSON). */
export const versionAreas = (key, year) => get(`gebietsstaende/${enc(key)}/areas?year=${year}`);
/** Opens a draft on Gebietsstand `base`: {id, base}. */
export const createDraft = (base) => post('entwurf', { base });
/** Areas of draft `id` with the values of `year` (GeoJSON). */
export const draftAreas = (id, year) => get(`entwurf/${enc(id)}/areas?year=${year}`);
/** One edit (split, merge, reshape, draw) of draft `id`: changed areas, warnings, server time. */
export const draftOperation = (id, year, body) => post(`entwurf/${enc(id)}/operation?year=${year}`, body);
/** Stores draft `id` as a Gebietsstand ({key, name, valid_from, note}). */
export const saveDraft = (id, body) => post(`entwurf/${enc(id)}/speichern`, body);
/** Comparison of two Gebietsstände in `year`: areas with predecessors and kind of change. */
export const comparison = (from, to, year) => get(`gebietsstaende/${enc(from)}/vergleich/${enc(to)}?year=${year}`);

/** URL of the comparison as CSV. */
export const comparisonCsvUrl = (from, to, year) => new URL(`gebietsstaende/${enc(from)}/vergleich/${enc(to)}?year=${year}&f=csv`, API_ROOT).href;

/** The CSV at `href` as a Blob, fetched with the token (a draft's comparison needs it). */
export function fetchCsv(href) {
  return request('GET', href, { token: token(), accept: 'text/csv', as: 'blob' }).catch((e) => {
    throw e.status ? new Error(`${e.status} beim CSV-Download`) : e;
  });
}
