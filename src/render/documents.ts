/** Prints manifests as multi-document YAML, each document with an optional leading comment. */
import { readFileSync } from 'node:fs';
import { Document } from 'yaml';

export interface Manifest {
  /** Lines printed as `# …` above the document. */
  comment?: string;
  value: unknown;
}

/** One YAML stream, documents separated by `---`. */
export function toYamlStream(manifests: readonly Manifest[]): string {
  return manifests
    .map((m) => {
      const doc = new Document(m.value, { aliasDuplicateObjects: false });
      if (m.comment) doc.commentBefore = m.comment.split('\n').map((l) => (l ? ` ${l}` : '')).join('\n');
      return doc.toString({ lineWidth: 0 });
    })
    .join('---\n');
}

let version: string | undefined;
/** This kubegate's version, from package.json (the default image tag). */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}

/** The image the render commands use unless told otherwise. */
export function defaultImage(): string {
  return `kubegate/kubegate:${packageVersion()}`;
}
