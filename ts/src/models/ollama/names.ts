/** The model naming rule: which names go to Ollama Cloud, and the name the API is sent. */

export function splitTag(name: string): [string, string | undefined] {
  const slash = name.lastIndexOf('/');
  const head = name.slice(0, slash + 1);
  const last = name.slice(slash + 1);
  const colon = last.indexOf(':');
  if (colon < 0) return [head + last, undefined];
  return [head + last.slice(0, colon), last.slice(colon + 1)];
}

/** True for Ollama's cloud model tags: `gpt-oss:120b-cloud`, `glm-4.6:cloud`. */
export function isCloudModel(name: string): boolean {
  const [, tag] = splitTag(name);
  return tag !== undefined && (tag === 'cloud' || tag.endsWith('-cloud'));
}

/** The name Ollama Cloud's own API uses: `gpt-oss:120b-cloud` -> `gpt-oss:120b`. */
export function cloudApiName(name: string): string {
  const [base, tag] = splitTag(name);
  if (tag === 'cloud') return base;
  if (tag !== undefined && tag.endsWith('-cloud')) return `${base}:${tag.slice(0, -'-cloud'.length)}`;
  return name;
}
