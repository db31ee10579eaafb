import escapeHtml from 'escape-html';

/**
 * How one channel's format shows a message. Our template decides the structure (headings,
 * fields, links, mentions); everything taken from an alert — labels, annotations, the source —
 * goes through {@link Markup.text}, which makes it show as written and never as markup.
 */
export interface Markup {
  /** Text from an alert, on one line, inert in this format. */
  text(s: string): string;
  /** A heading of ours; `content` is already in this format. */
  heading(content: string): string;
  /** A labelled field of ours; `value` is already in this format. */
  field(label: string, value: string): string;
  /** A link of ours, made only for an http(s) URL (see {@link httpUrl}). */
  link(label: string, url: URL): string;
  /** The links line of ours; each link already made by {@link Markup.link}. */
  links(links: string[]): string;
  /** A remark of ours (the "more alerts were left out" line). */
  note(content: string): string;
  /** One alert's section: our heading over its fields. */
  section(heading: string, fields: string[]): string;
  /** Joins the sections of several alerts. */
  sections(sections: string[]): string;
}

/**
 * Line breaks (CR, LF, VT, FF, NEL, U+2028/2029), other control characters and the
 * bidirectional overrides (which can show text in another order than it reads). A markdown
 * heading, list, quote or rule only starts at the beginning of a line, and a mail header ends
 * at CR/LF: text from an alert is kept to one line so it can never start one.
 */
const BREAKS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g;

/**
 * `s` on one line: runs of control characters (line breaks included) become one space, and
 * the ends are trimmed (trailing spaces would make a markdown line break).
 */
export function oneLine(s: string): string {
  return s.replace(BREAKS, ' ').trim();
}

/**
 * The URL when it is an absolute http(s) URL, else undefined (then it is shown as text, never
 * as a link: `javascript:`, `data:` and relative targets make no link).
 */
export function httpUrl(raw: string | undefined): URL | undefined {
  if (!raw) return undefined;
  try {
    const u = new URL(raw.trim());
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Characters with a meaning in DingTalk, WeChat Work and Feishu markdown: emphasis, code,
 * strike-through, links and images, inline HTML (`<font>`, Feishu's `<at id=all>`, WeChat Work's
 * `<@userid>`), headings, tables, Feishu's `:emoji:` and `$` formulas, DingTalk's `@mobile`
 * mentions, and `&` and `\` so no entity or escape of the sender's survives.
 */
const MARKDOWN_SPECIAL = /[\\`*_~[\]()<>#|!&$:@]/g;

/**
 * Markdown text: each special character as an HTML numeric character reference (`<` → `&#60;`),
 * the escape Feishu documents for its card markdown. CommonMark, which DingTalk and WeChat Work
 * follow, decodes references to plain characters that never form markup; neither documents
 * backslash escapes, which an unsupporting renderer would show while still parsing the link.
 * Hand-written because no library escapes markdown this way (markdown escapers use backslashes).
 */
function markdownText(s: string): string {
  return oneLine(s).replace(MARKDOWN_SPECIAL, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A link destination that cannot end early or break out: characters that close or confuse a
 * markdown destination are percent-encoded (URL serialisation already encodes spaces, `<`, `>`).
 */
function markdownUrl(url: URL): string {
  return url.href.replace(
    /[()[\]<>"'`*_~|\\ ]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/** DingTalk, WeChat Work and Feishu markdown (and the webhook's `text`). */
export const markdown: Markup = {
  text: markdownText,
  heading: (content) => `### ${content}`,
  field: (label, value) => `- **${label}**: ${value}`,
  link: (label, url) => `[${label}](${markdownUrl(url)})`,
  links: (links) => `- ${links.join(' | ')}`,
  note: (content) => `> ${content}`,
  section: (heading, fields) => [heading, '', ...fields].join('\n'),
  sections: (sections) => sections.join('\n\n---\n\n'),
};

/** Plain text (email's text part): one line per field, nothing to escape beyond that. */
export const plain: Markup = {
  text: oneLine,
  heading: (content) => content,
  field: (label, value) => `- ${label}: ${value}`,
  link: (label, url) => `${label}: ${url.href}`,
  links: (links) => `- ${links.join(' | ')}`,
  note: (content) => content,
  section: (heading, fields) => [heading, '', ...fields].join('\n'),
  sections: (sections) => sections.join('\n\n----\n\n'),
};

/** HTML (email's HTML part), escaped with `escape-html`. */
export const html: Markup = {
  text: (s) => escapeHtml(oneLine(s)),
  heading: (content) => `<h3>${content}</h3>`,
  field: (label, value) => `<li><b>${escapeHtml(label)}</b>: ${value}</li>`,
  link: (label, url) => `<a href="${escapeHtml(url.href)}">${escapeHtml(label)}</a>`,
  links: (links) => `<li>${links.join(' | ')}</li>`,
  note: (content) => `<p><i>${content}</i></p>`,
  section: (heading, fields) => `${heading}\n<ul>\n${fields.join('\n')}\n</ul>`,
  sections: (sections) => sections.join('\n<hr>\n'),
};
