import { duplicateKeys } from '../../src/api/duplicateKeys';

describe('duplicate JSON keys', () => {
  it.each<[string, string, string[]]>([
    ['an exact duplicate', '{"model":"a","model":"b"}', ['model']],
    ['a duplicate spelled with an escape', '{"model":"a","m\\u006fdel":"b"}', ['model']],
    ['a duplicate inside an object in an array', '{"objects":[{"table":"t"},{"table":"t","table":"u"}]}', ['objects.1.table']],
    ['several, in order', '{"a":{"x":1,"y":[1,{"z":1,"z":2}]},"b":1,"b":2}', ['a.y.1.z', 'b']],
    ['a key after a string holding quotes, braces and backslashes', '{"a":"\\"},\\\\","a":1}', ['a']],
    ['none: equal keys in sibling objects', '{"objects":[{"table":"t"},{"table":"t"}]}', []],
    ['none: values equal to keys', '{"model":"model","type":["model","model"]}', []],
    ['none: case variants (the schema names those)', '{"model":"a","Model":"b"}', []],
    ['one under a long key, each key of the path cut to 64 characters', `{"${'k'.repeat(1000)}":{"${'x'.repeat(100)}":1,"${'x'.repeat(100)}":2}}`, [`${'k'.repeat(64)}.${'x'.repeat(64)}`]],
  ])('%s', (_label, text, expected) => {
    JSON.parse(text); // the scanner only sees text JSON.parse accepted
    expect(duplicateKeys(text)).toEqual(expected);
  });

  it('scans 30,000 nested arrays without recursion', () => {
    expect(duplicateKeys(`${'['.repeat(30_000)}${']'.repeat(30_000)}`)).toEqual([]);
  });
});
