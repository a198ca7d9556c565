/**
 * Keys that appear twice in one JSON object, as paths (`model`, `objects.1.table`). JSON.parse
 * keeps the last of them silently; a request that says two things must be refused instead.
 * Only for text JSON.parse has already accepted. A loop with its own stack, not recursion: a
 * 64 KiB body can nest 30,000 deep.
 */
export function duplicateKeys(text: string, limit = 10): string[] {
  interface Frame {
    keys?: Set<string>; // objects only
    index: number; // arrays: the current element
    key?: string; // objects: the current key
  }
  const stack: Frame[] = [];
  const found: string[] = [];
  let expectKey = false;
  // Each key of a path at most 64 characters: the path goes back to the caller in a 400.
  const stepOf = (frame: Frame) => (frame.keys === undefined ? String(frame.index) : (frame.key ?? '').slice(0, 64));
  const path = (key: string) => [...stack.slice(0, -1).map(stepOf), key.slice(0, 64)].join('.');
  for (let at = 0; at < text.length && found.length < limit; at += 1) {
    const char = text[at];
    if (char === '"') {
      let end = at + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = stack.at(-1);
      if (expectKey && top?.keys !== undefined) {
        const key = JSON.parse(text.slice(at, end + 1)) as string;
        if (top.keys.has(key)) found.push(path(key));
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      at = end;
    } else if (char === '{') {
      stack.push({ keys: new Set(), index: 0 });
      expectKey = true;
    } else if (char === '[') {
      stack.push({ index: 0 });
    } else if (char === '}' || char === ']') {
      stack.pop();
    } else if (char === ',') {
      const top = stack.at(-1);
      if (top?.keys !== undefined) expectKey = true;
      else if (top !== undefined) top.index += 1;
    }
  }
  return found;
}
