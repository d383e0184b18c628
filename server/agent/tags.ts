// `kcarectl --tag 'env:prod;ubuntu'`: items split by `;`, `name:value` or a bare name.

export interface Tag {
  name: string;
  value: string | null;
}

export const TAG_LIMITS = { maxTags: 64, maxName: 64, maxValue: 255, maxInput: 8192 };

/** Parses a tag string; the empty string means "no tags". Returns an error message for bad input. */
export function parseTags(input: string): { ok: true; tags: Tag[] } | { ok: false; message: string } {
  if (input.length > TAG_LIMITS.maxInput) return { ok: false, message: `tag string longer than ${TAG_LIMITS.maxInput} characters` };
  if (/[\u0000-\u001f\u007f]/.test(input)) return { ok: false, message: 'tag string contains control characters' };
  const byName = new Map<string, Tag>();
  for (const raw of input.split(';')) {
    const item = raw.trim();
    if (item === '') continue;
    const colon = item.indexOf(':');
    const name = (colon < 0 ? item : item.slice(0, colon)).trim();
    const value = colon < 0 ? null : item.slice(colon + 1).trim();
    if (name === '') return { ok: false, message: `tag without a name: '${item.slice(0, 40)}'` };
    if (name.length > TAG_LIMITS.maxName) return { ok: false, message: `tag name longer than ${TAG_LIMITS.maxName} characters` };
    if (value !== null && value.length > TAG_LIMITS.maxValue) return { ok: false, message: `tag value longer than ${TAG_LIMITS.maxValue} characters` };
    byName.set(name, { name, value }); // the last of a repeated name wins
  }
  if (byName.size > TAG_LIMITS.maxTags) return { ok: false, message: `more than ${TAG_LIMITS.maxTags} tags` };
  return { ok: true, tags: [...byName.values()] };
}
