import { api, ApiError, listAll } from '../api.ts';
import { formatTime, h, replaceChildren } from '../dom.ts';
import { confirmButton, field, showProblems } from '../form-fields.ts';

interface KnowledgebaseDocument {
  id: string;
  name: string;
  source: string;
  content_length: number;
  passage_count: number;
  tm_create: string;
}

const fields = ['name', 'source', 'content'] as const;

/** A knowledge base's documents: the list, a form to add one (plain text or Markdown), delete. */
export async function renderKnowledgebaseDocuments(container: HTMLElement, knowledgebase: { id: string; name?: unknown }): Promise<void> {
  const endpoint = `/v1.0/knowledgebases/${knowledgebase.id}/documents`;
  const list = h('div', { class: 'list' }, h('p', {}, 'Loading ...'));
  const formError = h('p', { class: 'error', role: 'alert' });
  const content = h('textarea', { rows: 8 });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'document-form-title', novalidate: true },
    h('h3', { id: 'document-form-title' }, 'Add a document'),
    field('name', 'Name', h('input', { type: 'text', autocomplete: 'off' })),
    field('source', 'Source', h('input', { type: 'text', autocomplete: 'off' }), 'Where the text came from (a URL or file name); shown with search results.'),
    field('content', 'Text', content, 'Plain text or Markdown.'),
    formError,
    h('div', { class: 'buttons' }, h('button', { type: 'submit' }, 'Add document')),
  );
  const value = (name: string) => (form.querySelector(`#field-${name}`) as HTMLInputElement | HTMLTextAreaElement).value;
  replaceChildren(container, h('section', { 'aria-labelledby': 'documents-title' }, h('h2', { id: 'documents-title' }, `Documents of ${String(knowledgebase.name || knowledgebase.id)}`), list, form));

  async function refresh(): Promise<void> {
    const documents = await listAll<KnowledgebaseDocument>(endpoint);
    replaceChildren(
      list,
      documents.length === 0
        ? h('p', {}, 'No documents yet.')
        : h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ...['Name', 'Source', 'Characters', 'Passages', 'Added', ''].map((title) => h('th', { scope: 'col' }, title)))),
            h(
              'tbody',
              {},
              ...documents.map((document) =>
                h(
                  'tr',
                  { 'data-id': document.id },
                  h('td', {}, document.name),
                  h('td', {}, document.source),
                  h('td', {}, document.content_length),
                  h('td', {}, document.passage_count),
                  h('td', {}, formatTime(document.tm_create)),
                  h(
                    'td',
                    { class: 'actions' },
                    confirmButton('Delete', 'Really delete?', async () => {
                      await api('DELETE', `${endpoint}/${document.id}`);
                      await refresh();
                    }),
                  ),
                ),
              ),
            ),
          ),
    );
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    api<KnowledgebaseDocument>('POST', endpoint, { name: value('name'), source: value('source'), content: value('content') }).then(
      async () => {
        form.reset();
        showProblems(form, fields, [], formError);
        await refresh();
      },
      (error: unknown) => showProblems(form, fields, error instanceof ApiError && error.problems.length > 0 ? error.problems : [error instanceof Error ? error.message : String(error)], formError),
    );
  });
  await refresh();
}
