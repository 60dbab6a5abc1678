import assert from 'node:assert/strict';
import { it } from 'node:test';
import { unifiedDiff } from '../../src/cli/textDiff';

it('unifiedDiff: hunks with context, removals before additions, nothing for equal texts', () => {
  const a = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n') + '\n';
  const b = ['a', 'B', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'].join('\n') + '\n';
  assert.equal(
    unifiedDiff(a, b, { a: 'x', b: 'y' }, 1),
    ['--- x', '+++ y', '@@ -1,3 +1,3 @@', ' a', '-b', '+B', ' c', '@@ -10,1 +10,2 @@', ' j', '+k', ''].join('\n'),
  );
  assert.equal(unifiedDiff(a, a, { a: 'x', b: 'y' }), '');
  // Changes closer than twice the context merge into one hunk.
  const c = a.replace('c\n', 'C\n').replace('e\n', 'E\n');
  assert.equal(unifiedDiff(a, c, { a: 'x', b: 'y' }, 1), ['--- x', '+++ y', '@@ -2,5 +2,5 @@', ' b', '-c', '+C', ' d', '-e', '+E', ' f', ''].join('\n'));
});
