import { api, ApiError, listAll } from '../api.ts';
import { h, replaceChildren } from '../dom.ts';
import { confirmButton, field, showProblems } from '../form-fields.ts';

/** An AI as the API shows it (the fields the console reads). */
interface Ai {
  id: string;
  name: string;
  detail: string;
  engine_model: string;
  engine_key_set: boolean;
  parameter: Record<string, unknown>;
  init_prompt: string;
  tts_type: string;
  tts_voice_id: string;
  stt_type: string;
  stt_language: string;
  tool_names: string[];
  tm_update?: string;
}

/** Form fields, in order; `PUT` keeps every other field of the AI as stored (vad_config, turn_config, ...). */
const fields = ['name', 'detail', 'engine_model', 'engine_key', 'init_prompt', 'tts_type', 'tts_voice_id', 'stt_type', 'stt_language', 'tool_names', 'parameter'] as const;

const suggestions: Record<string, string[]> = {
  engine_model: ['local.scripted', 'openai.gpt-4o-mini', 'anthropic.claude-3-5-haiku-latest', 'gemini.gemini-2.0-flash'],
  tts_type: ['', 'local', 'elevenlabs', 'deepgram', 'openai', 'cartesia', 'google', 'aws', 'azure'],
  stt_type: ['', 'local', 'deepgram', 'elevenlabs', 'cartesia'],
};

/** The AIs page: the list, and a form to create or edit one (`#/ais`). */
export async function renderAis(container: HTMLElement): Promise<void> {
  const list = h('div', { class: 'list' }, h('p', {}, 'Loading ...'));
  const editor = h('div', { class: 'editor' });
  replaceChildren(
    container,
    h('div', { class: 'page-head' }, h('h1', { id: 'page-title' }, 'AIs'), h('button', { type: 'button', onclick: () => openForm(undefined) }, 'New AI')),
    list,
    editor,
  );

  async function refresh(): Promise<void> {
    const ais = await listAll<Ai>('/v1.0/ais');
    if (ais.length === 0) {
      replaceChildren(list, h('p', {}, 'No AIs yet.'));
      return;
    }
    replaceChildren(
      list,
      h(
        'table',
        {},
        h('caption', { class: 'visually-hidden' }, 'Your AIs'),
        h('thead', {}, h('tr', {}, ...['Name', 'Engine', 'Speech', 'Engine key', 'Tools', ''].map((title) => h('th', { scope: 'col' }, title)))),
        h(
          'tbody',
          {},
          ...ais.map((ai) =>
            h(
              'tr',
              { 'data-id': ai.id },
              h('td', {}, ai.name || '(no name)', h('br'), h('small', { class: 'muted' }, ai.id)),
              h('td', {}, ai.engine_model),
              h('td', {}, `TTS ${ai.tts_type || 'default'}, STT ${ai.stt_type || 'default'}`),
              h('td', {}, h('span', { class: ai.engine_key_set ? 'badge on' : 'badge' }, ai.engine_key_set ? 'set' : 'not set')),
              h('td', {}, ai.tool_names.join(', ') || 'none'),
              h(
                'td',
                { class: 'actions' },
                h('button', { type: 'button', onclick: () => openForm(ai) }, 'Edit'),
                confirmButton('Delete', 'Really delete?', async () => {
                  await api('DELETE', `/v1.0/ais/${ai.id}`);
                  editor.replaceChildren();
                  await refresh();
                }),
              ),
            ),
          ),
        ),
      ),
    );
  }

  function openForm(ai: Ai | undefined): void {
    const input = (name: string, value: string, type = 'text') => {
      const element = h('input', { type, value, autocomplete: 'off' });
      const options = suggestions[name];
      if (options) element.setAttribute('list', `${name}-options`);
      return element;
    };
    const textarea = (value: string, rows: number) => {
      const element = h('textarea', { rows, spellcheck: 'false' });
      element.value = value;
      return element;
    };
    const removeKey = h('input', { type: 'checkbox', id: 'field-engine_key_remove' });
    const keyState = ai ? (ai.engine_key_set ? 'set' : 'not set') : 'not set';
    const formError = h('p', { class: 'error', role: 'alert' });
    const form = h(
      'form',
      { class: 'card', 'aria-labelledby': 'ai-form-title', novalidate: true },
      h('h2', { id: 'ai-form-title' }, ai ? `Edit AI ${ai.name || ai.id}` : 'New AI'),
      ...Object.entries(suggestions).map(([name, options]) => h('datalist', { id: `${name}-options` }, ...options.map((option) => h('option', { value: option })))),
      field('name', 'Name', input('name', ai?.name ?? '')),
      field('detail', 'Detail', input('detail', ai?.detail ?? '')),
      field('engine_model', 'Engine model', input('engine_model', ai?.engine_model ?? ''), '<provider>.<model>, for example openai.gpt-4o-mini; local.scripted runs offline.'),
      field('engine_key', `Engine key (${keyState})`, input('engine_key', '', 'password'), 'Write-only: it is never shown again. Leave empty to keep the stored key.'),
      ai?.engine_key_set ? h('div', { class: 'check' }, removeKey, h('label', { for: 'field-engine_key_remove' }, 'Remove the stored engine key')) : null,
      field('init_prompt', 'Initial prompt', textarea(ai?.init_prompt ?? '', 5)),
      h('div', { class: 'row' }, field('tts_type', 'TTS', input('tts_type', ai?.tts_type ?? '')), field('tts_voice_id', 'TTS voice', input('tts_voice_id', ai?.tts_voice_id ?? ''))),
      h('div', { class: 'row' }, field('stt_type', 'STT', input('stt_type', ai?.stt_type ?? '')), field('stt_language', 'STT language', input('stt_language', ai?.stt_language ?? ''), 'BCP-47, e.g. en-US')),
      field('tool_names', 'Tools', input('tool_names', (ai?.tool_names ?? []).join(', ')), 'Comma-separated tool names, "all", or empty for none.'),
      field('parameter', 'Parameter (JSON object)', textarea(JSON.stringify(ai?.parameter ?? {}, null, 2), 4)),
      formError,
      h('div', { class: 'buttons' }, h('button', { type: 'submit' }, ai ? 'Save' : 'Create'), h('button', { type: 'button', class: 'secondary', onclick: () => editor.replaceChildren() }, 'Cancel')),
    );
    const value = (name: string) => (form.querySelector(`#field-${name}`) as HTMLInputElement | HTMLTextAreaElement).value;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      let parameter: unknown;
      try {
        parameter = JSON.parse(value('parameter') || '{}');
      } catch (error) {
        showProblems(form, fields, [`parameter: not valid JSON (${error instanceof Error ? error.message : String(error)})`], formError);
        return;
      }
      const body: Record<string, unknown> = {
        name: value('name'),
        detail: value('detail'),
        engine_model: value('engine_model').trim(),
        init_prompt: value('init_prompt'),
        tts_type: value('tts_type').trim(),
        tts_voice_id: value('tts_voice_id').trim(),
        stt_type: value('stt_type').trim(),
        stt_language: value('stt_language').trim(),
        tool_names: value('tool_names').split(',').map((name) => name.trim()).filter(Boolean),
        parameter,
      };
      if (value('engine_key')) body.engine_key = value('engine_key');
      else if (removeKey.checked) body.engine_key = '';
      const request = ai ? api<Ai>('PUT', `/v1.0/ais/${ai.id}`, body) : api<Ai>('POST', '/v1.0/ais', body);
      request.then(
        async (saved) => {
          showProblems(form, fields, [], formError);
          replaceChildren(editor, h('p', { class: 'notice', role: 'status' }, `${ai ? 'Saved' : 'Created'} AI ${saved.name || saved.id}.`));
          await refresh();
        },
        (error: unknown) => {
          if (error instanceof ApiError && error.problems.length > 0) showProblems(form, fields, error.problems, formError);
          else showProblems(form, fields, [error instanceof Error ? error.message : String(error)], formError);
        },
      );
    });
    replaceChildren(editor, form);
    (form.querySelector('#field-name') as HTMLInputElement).focus();
  }

  await refresh();
}
