import { describe, expect, it } from 'vitest';
import { buildConsole, consoleAssetPrefix } from './build-console.ts';
import { consoleContentSecurityPolicy } from './security-headers.ts';

describe('buildConsole', () => {
  it('bundles the page\'s script, the AudioWorklet module and one stylesheet named by their content hash, and names them in the page', async () => {
    const bundle = await buildConsole();
    const names = [...bundle.assets.keys()].sort();
    expect(names).toHaveLength(3);
    expect(names[0]).toMatch(/^audio-worklet-[A-Z0-9]{8}\.js$/);
    expect(names[1]).toMatch(/^main-[A-Z0-9]{8}\.js$/);
    expect(names[2]).toMatch(/^styles-[A-Z0-9]{8}\.css$/);
    const page = bundle.index.body.toString('utf8');
    for (const name of names) expect(page).toContain(`${consoleAssetPrefix}${name}`);
    expect(page).not.toContain('{{');
    expect(bundle.assets.get(names[0]!)?.contentType).toBe('text/javascript; charset=utf-8');
    expect(page).toContain(`<meta name="audio-worklet" content="${consoleAssetPrefix}${names[0]}">`);
    expect(bundle.indexEtag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
  });

  it('gives the page no inline script or style, which its Content-Security-Policy would block', async () => {
    const page = (await buildConsole()).index.body.toString('utf8');
    const scripts = [...page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="\/console\/assets\//);
      expect(body?.trim()).toBe('');
    }
    expect(page).not.toMatch(/<style\b|\sstyle="|\son[a-z]+="/i);
    expect(consoleContentSecurityPolicy).toContain("script-src 'self'");
    expect(consoleContentSecurityPolicy).not.toContain('unsafe-inline');
  });

  it('builds the same names for the same sources (a rebuild keeps cached assets valid)', async () => {
    const [first, second] = await Promise.all([buildConsole(), buildConsole()]);
    expect([...first.assets.keys()]).toEqual([...second.assets.keys()]);
    expect(first.indexEtag).toBe(second.indexEtag);
  });
});
