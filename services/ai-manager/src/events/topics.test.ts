import { describe, expect, it } from 'vitest';
import { eventTopic, topicCustomerId, topicMatches } from './topics.ts';

const customer = '11111111-1111-4111-8111-111111111111';
const call = '22222222-2222-4222-8222-222222222222';

describe('websocket topics', () => {
  it('builds an event topic from the customer, the resource and its id', () => {
    expect(eventTopic('aicall_status_progressing', { customer_id: customer, id: call })).toBe(
      `customer_id:${customer}:aicall:${call}`,
    );
    expect(eventTopic('ai_created', { id: call })).toBeUndefined();
  });

  it('matches by whole segments, never by a partial resource name', () => {
    const topic = `customer_id:${customer}:aicall:${call}`;
    expect(topicMatches(`customer_id:${customer}`, topic)).toBe(true);
    expect(topicMatches(`customer_id:${customer}:aicall`, topic)).toBe(true);
    expect(topicMatches(`customer_id:${customer}:aicall:${call}`, topic)).toBe(true);
    expect(topicMatches(`customer_id:${customer}:ai`, topic)).toBe(false);
    expect(topicMatches(`customer_id:${customer}:aicall:${customer}`, topic)).toBe(false);
    expect(topicMatches(`customer_id:${call}:aicall`, topic)).toBe(false);
  });

  it('reads the customer of a subscription', () => {
    expect(topicCustomerId(`customer_id:${customer.toUpperCase()}:ai`)).toBe(customer);
    expect(topicCustomerId('agent_id:x')).toBeUndefined();
  });
});
