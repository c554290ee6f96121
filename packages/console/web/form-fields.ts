import { problemsByField } from './field-problems.ts';
import { h } from './dom.ts';

/** A labelled form field with its own error line (`<id>-error`), linked for screen readers. */
export function field(id: string, label: string, control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, hint?: string): HTMLElement {
  control.id = `field-${id}`;
  control.name = id;
  const described = [`field-${id}-error`, hint ? `field-${id}-hint` : ''].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', described);
  return h(
    'div',
    { class: 'field', 'data-field': id },
    h('label', { for: `field-${id}` }, label),
    control,
    hint ? h('small', { id: `field-${id}-hint`, class: 'hint' }, hint) : null,
    h('p', { id: `field-${id}-error`, class: 'error field-error', role: 'alert' }),
  );
}

/**
 * Shows an API's validation problems on the fields they name (and the rest on the form's own
 * error line), marks those fields invalid and focuses the first. Empty problems clear it all.
 */
export function showProblems(form: HTMLFormElement, fields: readonly string[], problems: readonly string[], formError: HTMLElement): void {
  const byField = problemsByField(problems, fields);
  for (const name of fields) {
    const control = form.querySelector<HTMLElement>(`#field-${name}`);
    const error = form.querySelector<HTMLElement>(`#field-${name}-error`);
    const messages = byField.get(name);
    if (error) error.textContent = messages ? messages.join('; ') : '';
    if (messages) control?.setAttribute('aria-invalid', 'true');
    else control?.removeAttribute('aria-invalid');
  }
  formError.textContent = (byField.get('') ?? []).join('; ');
  const first = fields.find((name) => byField.has(name));
  if (first) form.querySelector<HTMLElement>(`#field-${first}`)?.focus();
}

/** A button that asks for a second press within 4 s before it acts (no modal dialog). */
export function confirmButton(label: string, confirmLabel: string, action: () => Promise<void>): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'danger' }, label);
  let armed: ReturnType<typeof setTimeout> | undefined;
  button.addEventListener('click', () => {
    if (!armed) {
      button.textContent = confirmLabel;
      armed = setTimeout(() => {
        armed = undefined;
        button.textContent = label;
      }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = undefined;
    button.disabled = true;
    void action().finally(() => {
      button.disabled = false;
      button.textContent = label;
    });
  });
  return button;
}
