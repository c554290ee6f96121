import { aiFieldsSchema } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { aiReplacedFields } from './ai-tools.ts';

describe('update_ai', () => {
  it('sends back exactly the fields PUT /v1.0/ais/{id} would reset when left out', () => {
    // A field left out of a PUT keeps its stored value only when its schema leaves it undefined;
    // a default (or a required field) replaces it, so update_ai must send its current value.
    const replaced = Object.entries(aiFieldsSchema.shape)
      .filter(([, schema]) => {
        const parsed = schema.safeParse(undefined);
        return !parsed.success || parsed.data !== undefined;
      })
      .map(([name]) => name);
    expect([...aiReplacedFields].sort()).toEqual(replaced.sort());
  });
});
