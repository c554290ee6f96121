/** Reads an async iterable to its end. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** Reads an async iterable and returns what it threw (fails if it ended without throwing). */
export async function collectError(iterable: AsyncIterable<unknown>): Promise<unknown> {
  try {
    for await (const _item of iterable) {
      // drain
    }
  } catch (error) {
    return error;
  }
  throw new Error('stream ended without an error');
}
