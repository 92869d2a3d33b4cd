import { describe, expect, it } from 'vitest';
import type { MergeSide } from './merge-result.js';
import { type Keyed, type ThreeWayHooks, threeWay } from './three-way.js';

const keyed = (text: string): Keyed<string>[] =>
  text
    .split(' ')
    .filter(Boolean)
    .map((pair) => {
      const [key = '', value = key] = pair.split('=');
      return { key, value };
    });

function run(base: string | null, local: string, remote: string) {
  const calls: string[] = [];
  const hooks: ThreeWayHooks<string> = {
    winner: 'remote',
    same: (a, b) => a === b,
    bothChanged: (_b, l, r) => {
      calls.push(`both ${l} ${r}`);
      return r;
    },
    editOverDelete: (edited: string, side: MergeSide) => {
      calls.push(`kept ${side} ${edited}`);
    },
  };
  return { result: threeWay(base === null ? null : keyed(base), keyed(local), keyed(remote), hooks), calls };
}

describe('threeWay', () => {
  it('takes one-sided changes, adds from both sides, and deletes only untouched values', () => {
    expect(run('a b=1 c d', 'a b=2 d', 'a b=1 c e').result).toEqual(['a', '2', 'e']);
  });

  it('keeps an edit over a delete and reports it', () => {
    expect(run('a b=1', 'a', 'a b=2')).toEqual({ result: ['a', '2'], calls: ['kept remote 2'] });
    expect(run('a b=1', 'a b=2', 'a')).toEqual({ result: ['a', '2'], calls: ['kept local 2'] });
  });

  it('asks the caller only when both sides changed a key differently', () => {
    expect(run('a=1', 'a=2', 'a=3').calls).toEqual(['both 2 3']);
    expect(run('a=1', 'a=2', 'a=2').calls).toEqual([]);
    expect(run(null, 'a=2', 'a=3').calls).toEqual(['both 2 3']);
    expect(run(null, 'a', 'b').result).toEqual(['b', 'a']);
  });

  it("follows local's order and places remote additions after their remote predecessor", () => {
    expect(run('a b c', 'a b c x', 'a r1 b r2 c').result).toEqual(['a', 'r1', 'b', 'r2', 'c', 'x']);
    expect(run('a b', 'b a', 'a r b').result).toEqual(['b', 'a', 'r']);
  });

  it('pairs repeated keys by content first, so deleting one copy does not look like editing another', () => {
    // base holds the number twice (home, work); remote deleted the home copy, local deleted both.
    expect(run('t=home t=work', '', 't=work')).toEqual({ result: [], calls: [] });
    // local re-typed the work copy; the home copy stays paired with itself.
    expect(run('t=home t=work', 't=home t=cell', 't=home t=work').result).toEqual(['home', 'cell']);
    // both added copies; equal ones pair, different ones go to bothChanged.
    expect(run('', 't=a t=b', 't=b t=c')).toEqual({ result: ['c', 'b'], calls: ['both a c'] });
    // each side deleted the copy the other kept: the key survives with the winner's (remote's) copy.
    expect(run('t=home t=work', 't=work', 't=home')).toEqual({ result: ['home'], calls: ['kept remote home'] });
  });
});
