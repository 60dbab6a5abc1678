// Expands every node of the NABirds taxonomy (555 classes, 1011 nodes incl. internal ones) through
// the Taxonomy view's provider: getChildren + getTreeItem on each node, as VS Code would when a
// user opens every branch. Baseline in the same run: building the core's taxonomy tree and
// visiting its nodes (the least the view must do). Prints one JSON object per line.
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { importNabirds } from '../src/core/taxonomy/importers';
import { parseProject, serializeProject } from '../src/core/taxonomy/project';
import { taxonomyTree, type TreeNode } from '../src/core/taxonomy/tree';
import { validateProject } from '../src/core/taxonomy/validate';
import type { ProjectSnapshot } from '../src/extension/project/store';
import { TaxonomyModel, type TaxonomyNode } from '../src/extension/taxonomy/model';
import { TaxonomyProvider } from '../src/extension/taxonomy/tree';
import { nabirdsForBench } from '../test/fixtures/nabirds';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function expandAll(provider: TaxonomyProvider, node?: TaxonomyNode): number {
  let n = 0;
  for (const child of provider.getChildren(node)) {
    const item = provider.getTreeItem(child);
    if (item.label === undefined) throw new Error('no label');
    n += 1 + expandAll(provider, child);
  }
  return n;
}

function visit(nodes: readonly TreeNode[]): number {
  let n = 0;
  for (const t of nodes) n += 1 + (t.value.length >= 0 ? visit(t.children) : 0);
  return n;
}

async function main() {
  const { root, data } = nabirdsForBench();
  const { project, images } = await importNabirds(root);
  const text = serializeProject(project);
  const counts = new Map<string, number>();
  for (const img of images) counts.set(img.classId, (counts.get(img.classId) ?? 0) + 1);

  // Each run is cold: a new snapshot (as after an edit: a new document version) and a new model.
  const snapshot = (): ProjectSnapshot => {
    const parsed = parseProject(text, 'nabirds.pscl.json');
    return { key: 'file:///nabirds.pscl.json', relativePath: 'nabirds.pscl.json', parsed, diagnostics: validateProject(parsed), imageCounts: counts };
  };
  const run = (filter: string) => {
    const s = snapshot();
    const model = new TaxonomyModel();
    model.setFilter(filter);
    model.setSnapshots([s]);
    const provider = new TaxonomyProvider(model);
    const t = performance.now();
    const nodes = expandAll(provider);
    return { ms: performance.now() - t, nodes };
  };
  const baseline = () => {
    const parsed = parseProject(text);
    const t = performance.now();
    const tree = taxonomyTree(parsed.project!, counts);
    const nodes = visit(tree.roots);
    return { ms: performance.now() - t, nodes };
  };
  for (let i = 0; i < 2; i++) (run(''), baseline()); // warm-up (JIT)
  for (const filter of ['', 'warbler']) {
    const views = Array.from({ length: RUNS }, () => run(filter));
    const bases = Array.from({ length: RUNS }, () => baseline());
    const ms = median(views.map((r) => r.ms));
    const baselineMs = median(bases.map((r) => r.ms));
    console.log(
      JSON.stringify({
        data,
        bench: 'tree-nabirds-expand-all',
        filter: filter || null,
        classes: project.classes.length,
        treeNodes: bases[0].nodes,
        viewNodes: views[0].nodes,
        runs: RUNS,
        ms: +ms.toFixed(2),
        baselineMs: +baselineMs.toFixed(2),
        ratio: +(ms / baselineMs).toFixed(2),
        targetMs: 200,
        underTarget: ms < 200,
      }),
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
