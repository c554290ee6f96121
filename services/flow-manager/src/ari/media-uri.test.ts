import { describe, expect, it } from 'vitest';
import { asteriskMediaUri } from './media-uri.ts';

describe('asteriskMediaUri', () => {
  it('plays an http(s) file through sound: (Asterisk refuses a bare http URI)', () => {
    expect(asteriskMediaUri('http://media.example.com/a.wav')).toMatch(/^sound:http:\/\/media\.example\.com\/a\.wav#0+$/);
    expect(asteriskMediaUri('HTTPS://media.example.com/a.wav')).toMatch(/^sound:HTTPS:\/\//);
  });

  it('pads a short URI with a fragment up to the length Asterisk needs for its cache path', () => {
    const uri = asteriskMediaUri('http://x.io/a.wav');
    expect(uri.length).toBe('sound:'.length + 120);
    expect(new URL(uri.slice('sound:'.length)).pathname).toBe('/a.wav');
  });

  it('leaves a long URI, and non-HTTP media, as they are', () => {
    const long = `http://media.example.com/${'a'.repeat(120)}.wav`;
    expect(asteriskMediaUri(long)).toBe(`sound:${long}`);
    expect(asteriskMediaUri(`sound:${long}`)).toBe(`sound:${long}`);
    for (const uri of ['sound:hello-world', 'tone:ring', 'recording:abc', 'digits:123']) expect(asteriskMediaUri(uri)).toBe(uri);
  });

  it('keeps a URI that has a fragment already', () => {
    const uri = asteriskMediaUri('http://x.io/a.wav#t');
    expect(uri.startsWith('sound:http://x.io/a.wav#t0')).toBe(true);
  });
});
