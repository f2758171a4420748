import { describe, expect, it } from 'vitest';
import { findCycles, loadImportGraph, type ImportGraph } from './importGraph';

const clientDir = decodeURIComponent(new URL('../..', import.meta.url).pathname).replace(/\/$/, '');
const sourceDir = `${clientDir}/src/`;

let clientGraph: ImportGraph | undefined;
/** The client's import graph, loaded once for the tests that read it. */
function clientImports(): ImportGraph {
  clientGraph ??= loadImportGraph(`${clientDir}/tsconfig.app.json`, sourceDir);
  return clientGraph;
}

describe('import graph', () => {
  it('finds a cycle and names the files along it', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts', 'd.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', []],
    ]);
    expect(findCycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });

  it('finds none in a graph without one', () => {
    expect(findCycles(new Map([['a.ts', ['b.ts', 'c.ts']], ['b.ts', ['c.ts']], ['c.ts', []]]))).toEqual([]);
  });

  it('resolves the imports of the client sources with the compiler', () => {
    const graph = clientImports();
    expect(graph.get(`${sourceDir}main.tsx`)).toContain(`${sourceDir}App.tsx`);
    expect(graph.get(`${sourceDir}chat/ChatContext.tsx`)).toContain(`${sourceDir}chat/client.ts`);
  });

  it('has no cycles in the client sources', () => {
    const cycles = findCycles(clientImports()).map((cycle) => cycle.map((file) => file.slice(sourceDir.length)).join(' -> '));
    expect(cycles).toEqual([]);
  });
});
