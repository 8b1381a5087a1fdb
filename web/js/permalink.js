// The permalink: the view state in the URL's hash (`#l=…&y=…&i=…`).

import { state } from './state.js';

const HASH_KEYS = { level: 'l', year: 'y', indicator: 'i', method: 'm', k: 'k', srg: 's', srgIndex: 'x', facilities: 'f', area: 'a', view: 'v', change: 'c', range: 'r' };

/** Writes the state into the hash (without a history entry). */
export function writeHash() {
  const p = new URLSearchParams();
  for (const [k, short] of Object.entries(HASH_KEYS)) {
    let v = state[k];
    if (v === null || v === undefined) continue;
    if (k === 'srg') v = v ? '1' : '0';
    if (k === 'facilities') {
      if (!v.length) continue;
      v = v.join(',');
    }
    p.set(short, String(v));
  }
  const h = '#' + p.toString().replace(/%2C/g, ',').replace(/%2F/g, '/');
  if (location.hash !== h) history.replaceState(null, '', h);
}

/** The state fields the hash sets. */
export function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  const out = {};
  for (const [k, short] of Object.entries(HASH_KEYS)) {
    const v = p.get(short);
    if (v === null || v === '') continue;
    if (k === 'year' || k === 'k') out[k] = Number(v);
    else if (k === 'srg') out[k] = v === '1';
    else if (k === 'facilities') out[k] = v.split(',').filter(Boolean);
    else out[k] = v;
  }
  return out;
}

/** Removes the area (`a=`) from the hash, leaving the rest. */
export function dropAreaFromHash() {
  history.replaceState(null, '', location.hash.replace(/([#&])a=[^&]*&?/, '$1').replace(/&$/, ''));
}
