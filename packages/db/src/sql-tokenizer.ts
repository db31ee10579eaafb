/**
 * The SQL tokenizer behind parseStatement (sql-analysis.ts): identifiers, keywords and
 * punctuation; every literal (strings, dollar quotes, numbers, parameters) becomes a valueless
 * LITERAL token and comments are dropped, so no value can reach a label.
 */

/** Only this much of a statement is scanned: the first table is always near the start. */
const MAX_SCAN_CHARS = 16384;

export const enum T {
  Word, // unquoted identifier or keyword; value lower-cased
  Quoted, // "quoted identifier"; value as written
  Literal, // string, number, parameter: value never kept
  Punct, // ( ) , ; . and operators; value is the character(s)
}

export interface Token {
  t: T;
  v: string;
}

const LITERAL: Token = { t: T.Literal, v: '' };

function isWordStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
}

function isWordPart(c: number): boolean {
  return isWordStart(c) || (c >= 48 && c <= 57) || c === 36;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Index after a single-quoted string starting at `i` (the quote). */
function skipString(s: string, i: number, backslashEscapes: boolean): number {
  const n = s.length;
  i++;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (backslashEscapes && c === 92) i += 2;
    else if (c === 39) {
      if (s.charCodeAt(i + 1) === 39) i += 2;
      else return i + 1;
    } else i++;
  }
  return n;
}

export function tokenize(sql: string): Token[] {
  const s = sql.length > MAX_SCAN_CHARS ? sql.slice(0, MAX_SCAN_CHARS) : sql;
  const n = s.length;
  const out: Token[] = [];
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c <= 32) {
      i++;
    } else if (c === 45 && s.charCodeAt(i + 1) === 45) {
      const end = s.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
    } else if (c === 47 && s.charCodeAt(i + 1) === 42) {
      // Block comments nest in PostgreSQL.
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (s.charCodeAt(i) === 47 && s.charCodeAt(i + 1) === 42) {
          depth++;
          i += 2;
        } else if (s.charCodeAt(i) === 42 && s.charCodeAt(i + 1) === 47) {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (c === 39) {
      i = skipString(s, i, false);
      out.push(LITERAL);
    } else if (c === 34) {
      let j = i + 1;
      let v = '';
      while (j < n) {
        const q = s.indexOf('"', j);
        if (q < 0) {
          v += s.slice(j);
          j = n;
          break;
        }
        v += s.slice(j, q);
        if (s.charCodeAt(q + 1) === 34) {
          v += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      i = j;
      out.push({ t: T.Quoted, v });
    } else if (c === 36) {
      if (isDigit(s.charCodeAt(i + 1))) {
        i++;
        while (i < n && isDigit(s.charCodeAt(i))) i++;
        out.push(LITERAL);
        continue;
      }
      // Dollar quote: $$…$$ or $tag$…$tag$.
      let j = i + 1;
      while (j < n && isWordPart(s.charCodeAt(j)) && s.charCodeAt(j) !== 36) j++;
      if (s.charCodeAt(j) === 36) {
        const tag = s.slice(i, j + 1);
        const end = s.indexOf(tag, j + 1);
        i = end < 0 ? n : end + tag.length;
        out.push(LITERAL);
      } else {
        out.push({ t: T.Punct, v: '$' });
        i++;
      }
    } else if (isDigit(c) || (c === 46 && isDigit(s.charCodeAt(i + 1)))) {
      i++;
      while (i < n) {
        const d = s.charCodeAt(i);
        if (isDigit(d) || d === 46 || d === 95) i++;
        else if (
          (d === 101 || d === 69) &&
          (isDigit(s.charCodeAt(i + 1)) || s.charCodeAt(i + 1) === 45 || s.charCodeAt(i + 1) === 43)
        )
          i += 2;
        else break;
      }
      out.push(LITERAL);
    } else if (isWordStart(c)) {
      let j = i + 1;
      while (j < n && isWordPart(s.charCodeAt(j))) j++;
      const next = s.charCodeAt(j);
      if (next === 39) {
        // Prefixed string: E'…' (backslash escapes), B'…', X'…', N'…'.
        const prefix = s.slice(i, j).toLowerCase();
        i = skipString(s, j, prefix === 'e');
        out.push(LITERAL);
      } else if (next === 38 && s.charCodeAt(j + 1) === 39 && j - i === 1) {
        i = skipString(s, j + 1, false); // U&'…'
        out.push(LITERAL);
      } else {
        out.push({ t: T.Word, v: s.slice(i, j).toLowerCase() });
        i = j;
      }
    } else if (c === 58 && s.charCodeAt(i + 1) === 58) {
      out.push({ t: T.Punct, v: '::' });
      i += 2;
    } else {
      out.push({ t: T.Punct, v: s[i]! });
      i++;
    }
  }
  return out;
}
