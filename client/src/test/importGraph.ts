// The client's module graph as the TypeScript compiler resolves it, and the import cycles in it.

import { API } from 'typescript/unstable/sync';

/** For each source file, the source files it imports (type-only imports included). */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/**
 * Loads the project of `tsconfig` and resolves every import of the files under `sourceDir`
 * with the compiler; imports that lead outside `sourceDir` (packages, styles) are left out.
 */
export function loadImportGraph(tsconfig: string, sourceDir: string): ImportGraph {
  const api = new API({ cwd: sourceDir });
  try {
    const snapshot = api.updateSnapshot({ openProjects: [tsconfig] });
    const project = snapshot.getProjects().find((p) => p.configFileName === tsconfig);
    if (!project) throw new Error(`${tsconfig} did not load`);
    const inSource = (file: string) => file.startsWith(sourceDir) && !file.endsWith('.d.ts');
    const graph = new Map<string, string[]>();
    for (const fileName of project.program.getSourceFileNames().filter(inSource)) {
      const file = project.program.getSourceFile(fileName);
      if (!file) continue;
      const imported = new Set<string>();
      for (const specifier of file.imports) {
        // The module symbol of a resolved specifier is declared by the imported file itself.
        const module = project.checker.getSymbolAtLocation(specifier);
        for (const declaration of module?.declarations ?? []) {
          const target = project.program.getSourceFile(declaration.path)?.fileName;
          if (target && inSource(target)) imported.add(target);
        }
      }
      graph.set(fileName, [...imported].sort());
    }
    return graph;
  } finally {
    api.close();
  }
}

/**
 * Import cycles, each as the files along it with the first repeated at the end. Every file that
 * is part of a cycle shows up in at least one of them.
 */
export function findCycles(graph: ImportGraph): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();

  function visit(file: string) {
    if (done.has(file)) return;
    if (onPath.has(file)) {
      cycles.push([...path.slice(path.indexOf(file)), file]);
      return;
    }
    onPath.add(file);
    path.push(file);
    for (const next of graph.get(file) ?? []) visit(next);
    path.pop();
    onPath.delete(file);
    done.add(file);
  }

  for (const file of [...graph.keys()].sort()) visit(file);
  return cycles;
}
