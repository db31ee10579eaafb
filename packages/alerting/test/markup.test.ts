/**
 * Property: whatever an alert's text holds, the rendered markdown has the structure of the same
 * alert with harmless text — our headings, fields, links and separators, nothing more — and
 * the HTML body has only our tags.
 */
import fc from 'fast-check';
import MarkdownIt from 'markdown-it';
import {
  htmlMarkup,
  renderNotification,
  type AlertItem,
  type Notification,
} from '@bizmon/alerting';

const md = new MarkdownIt({ html: true, linkify: false });

/** Token types other than text, in order, and the link targets. */
function structure(markdown: string): { types: string[]; links: number } {
  const types: string[] = [];
  let links = 0;
  const walk = (tokens: ReturnType<typeof md.parse>) => {
    for (const t of tokens) {
      if (t.children) walk(t.children);
      if (['inline', 'text', 'text_special', 'softbreak'].includes(t.type)) continue;
      types.push(`${t.type}:${t.tag}`);
      if (t.type === 'link_open') links++;
    }
  };
  walk(md.parse(markdown, {}));
  return { types, links };
}

interface Parts {
  name: string;
  severity: string;
  summary: string;
  description: string;
  key: string;
  value: string;
  runbookPath: string;
  startsAt: string;
  source: string;
}

function notification(p: Parts, status: 'firing' | 'resolved'): Notification {
  const alert: AlertItem = {
    name: p.name,
    severity: p.severity,
    status,
    summary: p.summary,
    description: p.description,
    labels: { [`k${p.key}`]: p.value },
    startsAt: p.startsAt,
    endsAt: status === 'resolved' ? p.startsAt : undefined,
    runbookUrl: `http://runbook.example/${p.runbookPath}`,
    sourceUrl: 'javascript:alert(1)',
  };
  return {
    source: p.source,
    alerts: [alert, { ...alert, name: `${p.name}2` }],
    truncatedAlerts: 1,
  };
}

const harmless: Parts = {
  name: 'N',
  severity: 'S',
  summary: 'summary',
  description: 'description',
  key: 'key',
  value: 'value',
  runbookPath: 'rb',
  startsAt: 'not a time',
  source: 'src',
};

// Strings rich in what markup is made of, plus arbitrary Unicode.
const special = fc.constantFrom(
  ...'\\`*_~[]()<>#|!&$:@"\'-+=.{}\n\r\t \u2028\u001b\u0085\u202e'.split(''),
  '### ',
  '---',
  '[x](http://evil.example)',
  '<at id=all></at>',
  '<@all>',
  '<font color="info">',
  '&#91;',
  '&lt;',
  '![i](http://evil.example/i.png)',
  '```',
  '    ',
  '1. ',
  '@13800000000',
  ':DONE:',
  'http://evil.example/',
);
const text = fc
  .array(fc.oneof(special, fc.string({ unit: 'grapheme', maxLength: 4 })), { maxLength: 12 })
  .map((parts) => parts.join(''));
const parts = fc.record({
  name: text,
  severity: text,
  summary: text,
  description: text.map((s) => `d${s}`),
  key: text,
  value: text,
  runbookPath: text,
  startsAt: text.map((s) => `t${s}`),
  source: text,
});

test('markdown: the structure of a harmless alert, whatever the text', () => {
  for (const status of ['firing', 'resolved'] as const) {
    const expected = structure(
      renderNotification(notification(harmless, status), { language: 'zh' }).body,
    );
    expect(expected.links).toBe(2);
    fc.assert(
      fc.property(parts, (p) => {
        const { title, body } = renderNotification(notification(p, status), { language: 'zh' });
        expect(structure(body)).toEqual(expected);
        expect(title).not.toMatch(/[\r\n]/);
      }),
      { numRuns: 300 },
    );
  }
});

test('email HTML: only our tags, and our links only to http(s)', () => {
  fc.assert(
    fc.property(parts, (p) => {
      const n = notification(p, 'firing');
      const html = renderNotification(n, { language: 'en' }, htmlMarkup).body;
      const tags = [...html.matchAll(/<\/?([^\s>/]+)/g)].map((m) => m[1]);
      expect(tags.every((t) => ['h3', 'ul', 'li', 'b', 'a', 'hr', 'p', 'i'].includes(t!))).toBe(
        true,
      );
      const hrefs = [...html.matchAll(/<a href="([^"]*)">/g)].map((m) => m[1]);
      expect(hrefs).toHaveLength(2);
      expect(hrefs.every((h) => h!.startsWith('http://runbook.example/'))).toBe(true);
      expect((html.match(/<a /g) ?? []).length).toBe(2);
    }),
    { numRuns: 300 },
  );
});
