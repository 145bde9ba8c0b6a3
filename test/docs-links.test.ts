// Every relative link in the project's Markdown (README, docs/, k8s/, the chart) points at a file
// that exists and, with a #fragment, at a heading that file has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ROOT } from './helpers/agent.ts';
import { anchors, relativeLinks } from './helpers/markdown.ts';

/** Markdown files under `dir`, node_modules and dot-directories left out. */
function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name.startsWith('.') || e.name === 'node_modules') return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return markdownFiles(path);
    return e.name.endsWith('.md') ? [path] : [];
  });
}

const FILES = markdownFiles(ROOT);

test("the Markdown files include the README, the docs and the manifests' and chart's READMEs", () => {
  const names = FILES.map((f) => relative(ROOT, f));
  for (const f of [
    'README.md',
    'docs/architecture.md',
    'docs/operators-guide.md',
    'k8s/README.md',
    'charts/netready/README.md',
  ]) {
    assert.ok(names.includes(f), f);
  }
});

for (const file of FILES) {
  test(`links in ${relative(ROOT, file)} resolve`, () => {
    for (const link of relativeLinks(readFileSync(file, 'utf8'))) {
      const [path, fragment] = link.split('#', 2) as [string, string | undefined];
      const target = path === '' ? file : join(dirname(file), decodeURIComponent(path));
      assert.ok(existsSync(target), `${link}: no ${relative(ROOT, target)}`);
      if (fragment !== undefined && statSync(target).isFile() && target.endsWith('.md')) {
        assert.ok(
          anchors(readFileSync(target, 'utf8')).has(fragment),
          `${link}: no heading #${fragment} in ${relative(ROOT, target)}`,
        );
      }
    }
  });
}
