import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

/** One file of the console as the server sends it. */
export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
}

/** The built console: its page and the assets the page names, by file name. */
export interface ConsoleBundle {
  /** The page (`/console`): it names the hashed assets, so it must be revalidated. */
  index: ConsoleAsset;
  /** Strong validator of the page, for `If-None-Match`. */
  indexEtag: string;
  /** Hashed files (`main-<hash>.js`, `audio-worklet-<hash>.js`, `styles-<hash>.css`): their content never changes under a name. */
  assets: ReadonlyMap<string, ConsoleAsset>;
}

/** Where the console's assets are served; the page names them under it. */
export const consoleAssetPrefix = '/console/assets/';

const webDirectory = path.join(import.meta.dirname, '..', 'web');

const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * Bundles the console (web/main.ts, web/audio/audio-worklet.ts and web/styles.css) in memory
 * with esbuild: the page's ES module, the Talk page's AudioWorklet module (a worklet loads a
 * module by URL, and the Content-Security-Policy takes only the console's own files) and one
 * stylesheet, each named with a hash of its content, and the page with those names filled in. Takes well under a second; nothing is written to disk.
 */
export async function buildConsole(): Promise<ConsoleBundle> {
  const result = await build({
    entryPoints: [path.join(webDirectory, 'main.ts'), path.join(webDirectory, 'audio', 'audio-worklet.ts'), path.join(webDirectory, 'styles.css')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    outdir: 'out',
    entryNames: '[name]-[hash]',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const assets = new Map<string, ConsoleAsset>();
  for (const file of result.outputFiles) {
    const name = path.basename(file.path);
    const contentType = contentTypes[path.extname(name)];
    if (!contentType) throw new Error(`the console's build made an unexpected file: ${name}`);
    assets.set(name, { body: Buffer.from(file.contents), contentType });
  }
  const named = (entry: string, extension: string) => {
    const name = [...assets.keys()].find((candidate) => candidate.startsWith(`${entry}-`) && candidate.endsWith(extension));
    if (!name) throw new Error(`the console's build made no ${entry}${extension}`);
    return `${consoleAssetPrefix}${name}`;
  };
  const template = await readFile(path.join(webDirectory, 'index.html'), 'utf8');
  const html = template
    .replace('{{script}}', named('main', '.js'))
    .replace('{{worklet}}', named('audio-worklet', '.js'))
    .replace('{{styles}}', named('styles', '.css'));
  const body = Buffer.from(html);
  return {
    index: { body, contentType: 'text/html; charset=utf-8' },
    indexEtag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    assets,
  };
}

let shared: Promise<ConsoleBundle> | undefined;

/** The console built once per process (every server of the process serves the same files). */
export function loadConsole(): Promise<ConsoleBundle> {
  shared ??= buildConsole().catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  return shared;
}
