// The map's ES modules form an acyclic graph from main.js, and main.js only bootstraps
// (nobody imports it): views import the state and map modules, never the entry point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './helpers.mjs';

const RE = /^\s*(?:import|export)\s+(?:[^;]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm;
// modules loaded on first use (the Gebietsstände tab): part of the graph too
const DYNAMIC = /\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function graphFrom(entry) {
  const graph = new Map();
  (function visit(file) {
    if (graph.has(file)) return;
    const src = readFileSync(file, 'utf8').replace(/^\s*\/\/.*$/gm, '').replace(/^\s*\/\*[\s\S]*?\*\//gm, '');
    const deps = [...src.matchAll(RE), ...src.matchAll(DYNAMIC)].map((m) => path.resolve(path.dirname(file), m[1]));
    graph.set(file, deps);
    for (const d of deps) {
      assert.ok(existsSync(d), `${path.relative(REPO, file)} imports a missing module ${path.relative(REPO, d)}`);
      visit(d);
    }
  })(entry);
  return graph;
}

test('the web modules have no import cycles and nobody imports main.js', () => {
  const entry = path.join(REPO, 'web/js/main.js');
  const graph = graphFrom(entry);
  assert.ok(graph.size > 10, `${graph.size} modules reachable`);
  assert.ok([...graph.keys()].some((f) => f.endsWith('redefine/tools.js')), 'the lazily loaded draft editor is checked as well');
  const colour = new Map();
  const stack = [];
  const cycles = [];
  (function dfs(f) {
    colour.set(f, 'grey');
    stack.push(f);
    for (const d of graph.get(f)) {
      if (colour.get(d) === 'grey') cycles.push([...stack.slice(stack.indexOf(d)), d].map((x) => path.relative(REPO, x)).join(' → '));
      else if (!colour.has(d)) dfs(d);
    }
    stack.pop();
    colour.set(f, 'black');
  })(entry);
  assert.deepEqual(cycles, [], 'import cycles');
  const importers = [...graph].filter(([, deps]) => deps.includes(entry)).map(([f]) => path.relative(REPO, f));
  assert.deepEqual(importers, [], 'modules importing main.js');
});
