import { api, ApiError, storeKey } from '../api.ts';
import { h, replaceChildren } from '../dom.ts';
import type { Customer } from '../main.ts';

/** The sign-in form: the key is checked with `GET /v1.0/customer` before it is kept. */
export function renderSignIn(container: HTMLElement, signedIn: (customer: Customer) => Promise<void>): void {
  const input = h('input', { id: 'access-key', name: 'access-key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false', 'aria-describedby': 'sign-in-error' });
  const error = h('p', { id: 'sign-in-error', class: 'error', role: 'alert' });
  const form = h(
    'form',
    { class: 'card narrow' },
    h('h1', { id: 'page-title' }, 'Sign in'),
    h('p', {}, 'Enter an access key of your customer account. It is kept in this tab only (sessionStorage) and sent with each request to the public API.'),
    h('label', { for: 'access-key' }, 'Access key'),
    input,
    error,
    h('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    error.textContent = '';
    api<Customer>('GET', '/v1.0/customer', undefined, key).then(
      async (customer) => {
        storeKey(key);
        await signedIn(customer);
      },
      (failure: unknown) => {
        error.textContent = failure instanceof ApiError && failure.status === 401 ? 'This access key is not valid.' : `Sign-in failed: ${failure instanceof Error ? failure.message : String(failure)}`;
        input.focus();
      },
    );
  });
  replaceChildren(container, form);
  input.focus();
}
