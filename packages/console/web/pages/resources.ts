import { api, ApiError, listAll } from '../api.ts';
import { formatTime, h, replaceChildren } from '../dom.ts';
import { confirmButton } from '../form-fields.ts';
import { renderKnowledgebaseDocuments } from './knowledgebase-documents.ts';

type Resource = Record<string, unknown> & { id: string };

/** A kind of resource edited as JSON (the API validates it). */
export interface ResourceKind {
  path: string;
  title: string;
  /** One of them, in sentences. */
  singular: string;
  endpoint: string;
  /** The fields a create or replace body takes, with the value of a new one. */
  template: Record<string, unknown>;
  /** Columns of the list besides the id. */
  columns: { title: string; value: (item: Resource, names: Map<string, string>) => string }[];
  /** Names of flows, for columns that show a flow id (numbers). */
  needsFlowNames?: boolean;
  /** What one of them holds besides its fields (a knowledge base's documents), shown below the list. */
  children?: { label: string; render: (container: HTMLElement, item: Resource) => Promise<void> };
}

const flowName = (id: unknown, names: Map<string, string>) => (typeof id === 'string' ? `${names.get(id) ?? '(unknown flow)'} ${id.slice(0, 8)}` : 'none');

/** Flows, numbers (bound to flows by `call_flow_id` / `message_flow_id`) and knowledge bases. */
export const resourceKinds: ResourceKind[] = [
  {
    path: 'flows',
    title: 'Flows',
    singular: 'flow',
    endpoint: '/v1.0/flows',
    template: { name: '', detail: '', actions: [{ type: 'answer' }, { type: 'talk', option: { text: 'Hello!' } }, { type: 'hangup' }], on_complete_flow_id: null },
    columns: [
      { title: 'Name', value: (item) => String(item.name || '(no name)') },
      { title: 'Actions', value: (item) => (Array.isArray(item.actions) ? item.actions.map((action: { type?: string }) => action.type).join(' > ') : '') },
      { title: 'Updated', value: (item) => formatTime(item.tm_update as string) },
    ],
  },
  {
    path: 'numbers',
    title: 'Numbers',
    singular: 'number',
    endpoint: '/v1.0/numbers',
    template: { number: '+1555', call_flow_id: null, message_flow_id: null },
    needsFlowNames: true,
    columns: [
      { title: 'Number', value: (item) => String(item.number) },
      { title: 'Call flow', value: (item, names) => flowName(item.call_flow_id, names) },
      { title: 'Message flow', value: (item, names) => flowName(item.message_flow_id, names) },
    ],
  },
  {
    path: 'knowledgebases',
    title: 'Knowledge bases',
    singular: 'knowledge base',
    endpoint: '/v1.0/knowledgebases',
    template: { name: '', detail: '', language: 'en-US' },
    columns: [
      { title: 'Name', value: (item) => String(item.name || '(no name)') },
      { title: 'Language', value: (item) => String(item.language ?? '') },
    ],
    children: { label: 'Documents', render: renderKnowledgebaseDocuments },
  },
];

/** The fields of `item` that a replace body takes. */
function editable(kind: ResourceKind, item: Resource): Record<string, unknown> {
  return Object.fromEntries(Object.keys(kind.template).filter((name) => name in item).map((name) => [name, item[name]]));
}

/** A list of one kind and a JSON editor for creating and replacing one (`#/flows`, ...). */
export async function renderResources(container: HTMLElement, kind: ResourceKind): Promise<void> {
  const list = h('div', { class: 'list' }, h('p', {}, 'Loading ...'));
  const editor = h('div', { class: 'editor' });
  replaceChildren(
    container,
    h('div', { class: 'page-head' }, h('h1', { id: 'page-title' }, kind.title), h('button', { type: 'button', onclick: () => openEditor(undefined) }, `New ${kind.singular}`)),
    list,
    editor,
  );

  async function refresh(): Promise<void> {
    const [items, flows] = await Promise.all([listAll<Resource>(kind.endpoint), kind.needsFlowNames ? listAll<Resource>('/v1.0/flows') : Promise.resolve([])]);
    const names = new Map(flows.map((flow) => [flow.id, String(flow.name || '(no name)')]));
    if (items.length === 0) {
      replaceChildren(list, h('p', {}, `No ${kind.title.toLowerCase()} yet.`));
      return;
    }
    replaceChildren(
      list,
      h(
        'table',
        {},
        h('caption', { class: 'visually-hidden' }, `Your ${kind.title.toLowerCase()}`),
        h('thead', {}, h('tr', {}, ...[...kind.columns.map((column) => column.title), 'Id', ''].map((title) => h('th', { scope: 'col' }, title)))),
        h(
          'tbody',
          {},
          ...items.map((item) =>
            h(
              'tr',
              { 'data-id': item.id },
              ...kind.columns.map((column) => h('td', {}, column.value(item, names))),
              h('td', {}, h('small', { class: 'muted' }, item.id)),
              h(
                'td',
                { class: 'actions' },
                h('button', { type: 'button', onclick: () => openEditor(item) }, 'Edit'),
                kind.children ? h('button', { type: 'button', class: 'secondary', onclick: () => void openChildren(item) }, kind.children.label) : null,
                confirmButton('Delete', 'Really delete?', async () => {
                  await api('DELETE', `${kind.endpoint}/${item.id}`);
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

  async function openChildren(item: Resource): Promise<void> {
    if (!kind.children) return;
    const section = h('div', {});
    replaceChildren(editor, section);
    try {
      await kind.children.render(section, item);
    } catch (error) {
      replaceChildren(editor, h('p', { class: 'error', role: 'alert' }, error instanceof Error ? error.message : String(error)));
    }
  }

  function openEditor(item: Resource | undefined): void {
    const text = h('textarea', { id: 'json-editor', rows: 18, spellcheck: 'false', class: 'code', 'aria-describedby': 'json-editor-error' });
    text.value = JSON.stringify(item ? editable(kind, item) : kind.template, null, 2);
    const error = h('div', { id: 'json-editor-error', class: 'error', role: 'alert' });
    const form = h(
      'form',
      { class: 'card', 'aria-labelledby': 'editor-title' },
      h('h2', { id: 'editor-title' }, item ? `Edit ${kind.singular} ${item.id}` : `New ${kind.singular}`),
      h('label', { for: 'json-editor' }, `The ${kind.singular} as JSON (${Object.keys(kind.template).join(', ')})`),
      text,
      error,
      h('div', { class: 'buttons' }, h('button', { type: 'submit' }, item ? 'Save' : 'Create'), h('button', { type: 'button', class: 'secondary', onclick: () => editor.replaceChildren() }, 'Cancel')),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      let body: unknown;
      try {
        body = JSON.parse(text.value);
      } catch (failure) {
        replaceChildren(error, `Not valid JSON: ${failure instanceof Error ? failure.message : String(failure)}`);
        text.setAttribute('aria-invalid', 'true');
        text.focus();
        return;
      }
      const request = item ? api<Resource>('PUT', `${kind.endpoint}/${item.id}`, body) : api<Resource>('POST', kind.endpoint, body);
      request.then(
        async (saved) => {
          replaceChildren(editor, h('p', { class: 'notice', role: 'status' }, `${item ? 'Saved' : 'Created'} ${kind.singular} ${saved.id}.`));
          await refresh();
        },
        (failure: unknown) => {
          const problems = failure instanceof ApiError ? failure.problems : [];
          replaceChildren(error, h('p', {}, failure instanceof Error ? failure.message : String(failure)), problems.length > 1 ? h('ul', {}, ...problems.map((problem) => h('li', {}, problem))) : null);
          text.setAttribute('aria-invalid', 'true');
          text.focus();
        },
      );
    });
    replaceChildren(editor, form);
    text.focus();
  }

  await refresh();
}
