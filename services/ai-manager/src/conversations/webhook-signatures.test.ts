import { describe, expect, it } from 'vitest';
import { signLine, signTwilio } from '../testing/messaging-fakes.ts';
import { verifyLineSignature, verifyTwilioSignature } from './webhook-signatures.ts';

describe('Twilio webhook signatures', () => {
  const token = 'twilio-auth-token-1';
  const url = 'https://hooks.example.com/v1.0/conversation_channels/0b4f7a35-2d9e-4a5e-9d57-1d2b6f5c1a00/webhook';
  const params = { MessageSid: 'SM123', From: '+15550001', To: '+15550002', Body: 'hello there', AccountSid: 'AC1' };

  it('accepts the signature Twilio computes over the URL and the sorted parameters', () => {
    expect(verifyTwilioSignature(token, signTwilio(url, params, token), url, params)).toBe(true);
  });

  it('refuses a tampered body, another URL, a wrong token and a missing signature', () => {
    const signature = signTwilio(url, params, token);
    expect(verifyTwilioSignature(token, signature, url, { ...params, Body: 'hello there!' })).toBe(false);
    expect(verifyTwilioSignature(token, signature, url, { ...params, Extra: 'x' })).toBe(false);
    expect(verifyTwilioSignature(token, signature, url.replace('hooks.', 'other.'), params)).toBe(false);
    expect(verifyTwilioSignature('another-token', signature, url, params)).toBe(false);
    expect(verifyTwilioSignature(token, undefined, url, params)).toBe(false);
    expect(verifyTwilioSignature(token, '', url, params)).toBe(false);
    expect(verifyTwilioSignature('', signature, url, params)).toBe(false);
  });

  it('accepts the URL signed with or without the default port', () => {
    const withPort = url.replace('hooks.example.com', 'hooks.example.com:443');
    expect(verifyTwilioSignature(token, signTwilio(withPort, params, token), url, params)).toBe(true);
    expect(verifyTwilioSignature(token, signTwilio(url, params, token), withPort, params)).toBe(true);
    const http = 'http://hooks.example.com/hook';
    expect(verifyTwilioSignature(token, signTwilio('http://hooks.example.com:80/hook', params, token), http, params)).toBe(true);
    // Another port is another URL.
    expect(verifyTwilioSignature(token, signTwilio(url.replace('hooks.example.com', 'hooks.example.com:8443'), params, token), url, params)).toBe(false);
  });
});

describe('LINE webhook signatures', () => {
  const secret = 'line-channel-secret';
  const body = JSON.stringify({ destination: 'Ubot', events: [{ type: 'message', message: { type: 'text', id: '1', text: 'こんにちは' } }] });

  it('accepts the HMAC-SHA256 of the raw body', () => {
    expect(verifyLineSignature(secret, signLine(body, secret), body)).toBe(true);
    expect(verifyLineSignature(secret, signLine(body, secret), Buffer.from(body, 'utf8'))).toBe(true);
  });

  it('refuses a tampered body, a re-serialised body, a wrong secret and a missing signature', () => {
    const signature = signLine(body, secret);
    expect(verifyLineSignature(secret, signature, body.replace('こんにちは', 'こんばんは'))).toBe(false);
    expect(verifyLineSignature(secret, signature, JSON.stringify(JSON.parse(body), null, 1))).toBe(false);
    expect(verifyLineSignature('other-secret', signature, body)).toBe(false);
    expect(verifyLineSignature(secret, undefined, body)).toBe(false);
    expect(verifyLineSignature(secret, 'not base64 at all', body)).toBe(false);
  });
});
