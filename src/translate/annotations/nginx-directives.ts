// nginx's configuration tokenizer (ngx_conf_read_token in src/core/ngx_conf_file.c), for the text of a snippet
// annotation. The snippet is never configuration here: it is read the way nginx reads it, so that a directive means
// what it meant to ingress-nginx, and then each directive is translated or the whole snippet refused
// (snippets.ts). Blocks (`{`, `}`) end the reading: Portico has no `if` or `location` to put them in.

export interface Directive {
  name: string;
  args: string[];
  /** 1-based line of the directive's name, for messages. */
  line: number;
}

export type Tokenized = { ok: true; directives: Directive[] } | { ok: false; reason: string };

/** Longest snippet read: real ones are a few hundred bytes; this bounds the work any annotation can cause. */
export const MAX_SNIPPET = 65_536;

const SPACE = new Set([' ', '\t', '\r', '\n']);

/**
 * nginx's unescaping of a word (quoted or not): `\"`, `\'` and `\\` become the character, `\t`, `\r` and `\n` the
 * control character, and any other backslash stays with the character after it.
 */
function unescape(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '\\' || i + 1 >= raw.length) {
      out += c;
      continue;
    }
    const n = raw[i + 1]!;
    if (n === '"' || n === "'" || n === '\\') {
      out += n;
      i++;
    } else if (n === 't' || n === 'r' || n === 'n') {
      out += n === 't' ? '\t' : n === 'r' ? '\r' : '\n';
      i++;
    } else out += c;
  }
  return out;
}

/** A character for messages: visible as itself, anything else by its code. */
const shown = (c: string): string => (/^[\x21-\x7e]$/.test(c) ? `"${c}"` : `U+${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);

/**
 * The directives of `text`, as nginx splits them: words separated by whitespace, a directive ended by `;`, `#` at the
 * start of a word begins a comment to the end of the line, `"` or `'` at the start of a word quotes it (a quoted word
 * may hold whitespace, `;`, `#` and line breaks, and must be followed by whitespace or `;`), a backslash makes the next
 * character part of the word. One pass over the text, no backtracking.
 */
export function tokenize(text: string): Tokenized {
  if (text.length > MAX_SNIPPET) return { ok: false, reason: `the snippet is ${text.length} characters long, more than the ${MAX_SNIPPET} Portico reads` };
  const directives: Directive[] = [];
  let words: string[] = [];
  let first = 0;
  let line = 1;
  let word: string | undefined;
  let quote: string | undefined;
  let escaped = false;
  let needSpace = false;
  let comment = false;
  const fail = (reason: string): Tokenized => ({ ok: false, reason: `line ${line}: ${reason}` });
  const endWord = (): void => {
    if (word === undefined) return;
    if (words.length === 0) first = line;
    words.push(unescape(word));
    word = undefined;
  };
  for (const c of text) {
    if (comment) {
      if (c === '\n') {
        comment = false;
        line++;
      }
      continue;
    }
    if (quote !== undefined) {
      if (c === '\n') line++;
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === quote) {
        quote = undefined;
        needSpace = true;
        endWord();
        continue;
      }
      word += c;
      continue;
    }
    if (needSpace) {
      if (!SPACE.has(c) && c !== ';') return fail(`unexpected ${shown(c)} after a quoted string (nginx wants a space or ";" there)`);
      needSpace = false;
    }
    if (word !== undefined) {
      if (escaped) {
        escaped = false;
        word += c;
        continue;
      }
      if (c === '\\') {
        escaped = true;
        word += c;
        continue;
      }
      // As in nginx, `}` inside a word is a character, and so is `{` right after `$` (`${name}`).
      if (!SPACE.has(c) && c !== ';' && (c !== '{' || word.endsWith('$'))) {
        word += c;
        continue;
      }
      endWord();
    }
    if (c === '\n') line++;
    if (SPACE.has(c)) continue;
    if (c === ';') {
      if (words.length === 0) return fail('unexpected ";"');
      directives.push({ name: words[0]!, args: words.slice(1), line: first });
      words = [];
      continue;
    }
    if (c === '{' || c === '}') {
      const what = words.length > 0 ? `the block of ${JSON.stringify(words[0])}` : `${shown(c)}`;
      return fail(`${what}: blocks (if, location, ...) are not translated`);
    }
    if (c === '#') {
      comment = true;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      word = '';
      if (words.length === 0) first = line;
      continue;
    }
    word = c;
    if (c === '\\') escaped = true;
    if (words.length === 0) first = line;
  }
  if (quote !== undefined) return fail(`unterminated ${quote === '"' ? 'double' : 'single'}-quoted string`);
  endWord();
  if (words.length > 0) return fail(`${JSON.stringify(words[0]!.slice(0, 64))} has no ";" at its end`);
  return { ok: true, directives };
}
