// The drawing library (leaflet-geoman, ~145 KB compressed) is loaded only when a planner signs
// in or opens a draft: public visitors of the map never download it.

import { map } from '../map.js';
import { onCreate } from './tools.js';

let ready = null;

function inject(tag, attrs) {
  return new Promise((resolve, reject) => {
    const el = document.createElement(tag);
    Object.assign(el, attrs);
    el.onload = () => resolve();
    el.onerror = () => reject(new Error(`${attrs.src || attrs.href} konnte nicht geladen werden`));
    document.head.appendChild(el);
  });
}

/** Loads leaflet-geoman (script and stylesheet) once and sets it up on the map. */
export function ensureGeoman() {
  if (!ready) {
    ready = Promise.all([inject('link', { rel: 'stylesheet', href: 'vendor/leaflet-geoman/leaflet-geoman.css' }), inject('script', { src: 'vendor/leaflet-geoman/leaflet-geoman.js' })])
      .then(() => {
        // geoman adds its handler to maps created after it loaded; this map is older
        if (!map.pm && window.L.PM) {
          window.L.PM.reInitLayer(map);
          map.pm.setGlobalOptions({});
        }
        map.pm.setLang('de');
        map.on('pm:create', onCreate);
      })
      .catch((e) => {
        ready = null;
        throw e;
      });
  }
  return ready;
}

/** True once the drawing library is there. */
export const geomanLoaded = () => !!map.pm;
