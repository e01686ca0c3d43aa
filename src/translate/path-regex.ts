// The regular expressions Portico accepts as the paths of a `use-regex` or `rewrite-target` Ingress. HAProxy
// compiles them with PCRE2 (a map_reg key and a Lua rewrite pattern), and one that PCRE2 refuses would fail the whole
// configuration, so a grammar decides here what may pass: ingress-nginx's alphabet for regex paths (its
// `IsValidRegex`: letters, digits, `-._~/:&=` and `^$[](){}*+?|\`), in a structure that PCRE2, nginx's PCRE and this
// parser all read the same way. It also refuses what would make one tenant's path cost every request exponential time
// (a repeated group that itself repeats, `(a+)+`) and anything that could break the map line or the rule it sits in
// (whitespace, `#`, quotes).

export const MAX_REGEX_PATH_LENGTH = 1024;

/** The largest repeat count in `{m,n}`. */
const MAX_REPEAT = 1000;
const LITERAL = /[-._~A-Za-z0-9/:&=]/;
/** What may follow a backslash: a character class, or a character the grammar gives a meaning to. */
/** A plain character inside a class. */
const CLASS_CHAR = /^[-._~A-Za-z0-9/:&=*+?$()|{}]$/;
const ESCAPES = new Set([...'dDwWsS', ...'.\\/()[]{}*+?|^$-']);

class Refusal extends Error {}

/** Recursive descent over the grammar; every method consumes what it accepts or throws a Refusal. */
/** The most unbounded repeats (`*`, `+`, `{m,}`) one expression may hold: a run of them (`.*.*.*x`) makes a failing
 * match cost a power of the path's length, on every request to the host. */
const MAX_UNBOUNDED = 6;

class Parser {
  private i = 0;
  private unboundedRepeats = 0;
  /** `startAnchor`: a branch may begin with `^` (an expression searched for anywhere, such as a header pattern). */
  constructor(
    private readonly s: string,
    private readonly startAnchor = false,
  ) {}

  parse(): void {
    this.alternation(0);
    if (this.i < this.s.length) this.fail(this.s[this.i] === ')' ? 'a ")" without its "("' : `unexpected ${JSON.stringify(this.s[this.i])}`);
  }

  private fail(why: string): never {
    throw new Refusal(`${why} at position ${this.i + 1}`);
  }

  private peek(): string | undefined {
    return this.s[this.i];
  }

  /** Branches separated by `|`; returns whether any of them repeats without bound. */
  private alternation(depth: number): boolean {
    let unbounded = this.sequence(depth);
    while (this.peek() === '|') {
      this.i++;
      unbounded = this.sequence(depth) || unbounded;
    }
    return unbounded;
  }

  private sequence(depth: number): boolean {
    let unbounded = false;
    if (this.startAnchor && this.peek() === '^') this.i++;
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '|' || c === ')') return unbounded;
      if (c === '$') {
        // An end anchor ends its branch.
        this.i++;
        const next = this.peek();
        if (next !== undefined && next !== '|' && next !== ')') this.fail('"$" only at the end of the path or of a branch');
        return unbounded;
      }
      const innerUnbounded = this.atom(depth);
      const repeat = this.quantifier();
      if (repeat === 'unbounded' && ++this.unboundedRepeats > MAX_UNBOUNDED)
        this.fail(`more than ${MAX_UNBOUNDED} unbounded repeats (*, +, {m,}): matching time grows as a power of the path's length with each`);
      if (repeat === 'unbounded' && innerUnbounded) this.fail('a repeated group that itself repeats (it can take exponential time to match)');
      unbounded = unbounded || innerUnbounded || repeat === 'unbounded';
    }
  }

  /** One atom; returns whether it contains an unbounded repeat (only a group can). */
  private atom(depth: number): boolean {
    const c = this.peek();
    if (c === '(') {
      if (depth >= 10) this.fail('groups nested more than 10 deep');
      this.i++;
      if (this.s.startsWith('?:', this.i)) this.i += 2;
      else if (this.peek() === '?') this.fail('"(?" other than a non-capturing group "(?:"');
      const unbounded = this.alternation(depth + 1);
      if (this.peek() !== ')') this.fail('a "(" without its ")"');
      this.i++;
      return unbounded;
    }
    if (c === '[') {
      this.characterClass();
      return false;
    }
    if (c === '\\') {
      this.escape();
      return false;
    }
    if (c === '.' || (c !== undefined && LITERAL.test(c))) {
      this.i++;
      return false;
    }
    if (c === '^') this.fail('"^" outside a character class (the path is anchored at its start already)');
    return this.fail(`${JSON.stringify(c)} where a character, group or class was expected`);
  }

  private escape(): void {
    const e = this.s[this.i + 1];
    if (e === undefined || !ESCAPES.has(e)) this.fail(`"\\${e ?? ''}" is not an escape this grammar knows`);
    this.i += 2;
  }

  private characterClass(): void {
    this.i++;
    if (this.peek() === '^') this.i++;
    let members = 0;
    // The previous member when it was one plain character, the only thing a range may start from: PCRE2 refuses a
    // range from a class escape (`[\\d-z]`) and one whose bounds are reversed (`[/--]`), which would fail the whole
    // configuration.
    let last: string | undefined;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('a "[" without its "]"');
      if (c === ']' && members > 0) {
        this.i++;
        return;
      }
      const end = this.s[this.i + 1];
      if (c === '-' && members > 0 && end !== undefined && end !== ']') {
        if (last === undefined) this.fail('a "-" after an escape or a range (write it first or last in the class, or escape it)');
        if (!CLASS_CHAR.test(end)) this.fail(`${JSON.stringify(end)} ending a range in a character class`);
        if (end < last) this.fail('a range in a character class with its bounds reversed');
        this.i += 2;
        members++;
        last = undefined;
        continue;
      }
      if (c === '\\') {
        this.escape();
        last = undefined;
      } else if (CLASS_CHAR.test(c)) {
        last = c;
        this.i++;
      } else this.fail(`${JSON.stringify(c)} in a character class`);
      members++;
    }
  }

  /** An optional quantifier (and its lazy `?`): none, bounded (`?`, `{m,n}`) or unbounded (`*`, `+`, `{m,}`). */
  private quantifier(): 'none' | 'bounded' | 'unbounded' {
    const c = this.peek();
    let kind: 'none' | 'bounded' | 'unbounded' = 'none';
    if (c === '*' || c === '+') kind = 'unbounded';
    else if (c === '?') kind = 'bounded';
    else if (c === '{') {
      const m = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(this.s.slice(this.i));
      if (!m) this.fail('"{" that is not a repeat count {m}, {m,} or {m,n}');
      const min = Number(m[1]);
      const max = m[3] === undefined ? min : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
      if (min > MAX_REPEAT || (max !== Number.POSITIVE_INFINITY && (max > MAX_REPEAT || max < min))) this.fail(`a repeat count outside 0-${MAX_REPEAT} or with its bounds reversed`);
      this.i += m[0].length - 1;
      kind = max === Number.POSITIVE_INFINITY ? 'unbounded' : 'bounded';
    } else return 'none';
    this.i++;
    if (this.peek() === '?') this.i++;
    const next = this.peek();
    if (next === '*' || next === '+' || next === '?' || next === '{') this.fail('a repeat of a repeat');
    return kind;
  }
}

/**
 * Why `path` is not a regular expression Portico routes by, or undefined when it is one. Paths start with `/`
 * (Kubernetes requires it of every path), so the expression is anchored at the start of the request path, as
 * ingress-nginx writes `location ~* "^<path>"`.
 */
export function pathRegexProblem(path: string): string | undefined {
  if (path.length > MAX_REGEX_PATH_LENGTH) return `is ${path.length} characters long; the limit is ${MAX_REGEX_PATH_LENGTH}`;
  if (!path.startsWith('/')) return 'must start with "/"';
  try {
    new Parser(path).parse();
    return undefined;
  } catch (e) {
    if (e instanceof Refusal) return `is not a regular expression Portico accepts: ${e.message}`;
    throw e;
  }
}

export const MAX_HEADER_PATTERN_LENGTH = 1024;

/**
 * Why `pattern` is not a header pattern Portico accepts (canary-by-header-pattern), or undefined when it is one. The
 * same grammar as paths, but searched for anywhere in the header value (as ingress-nginx's `ngx.re.match` does), so a
 * branch may begin with `^`, and no leading `/` is asked for.
 */
export function headerPatternProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_HEADER_PATTERN_LENGTH) return `is ${pattern.length} characters long; the limit is ${MAX_HEADER_PATTERN_LENGTH}`;
  try {
    new Parser(pattern, true).parse();
    return undefined;
  } catch (e) {
    if (e instanceof Refusal) return `is not a regular expression Portico accepts: ${e.message}`;
    throw e;
  }
}

/** A literal path as a regular expression that matches exactly it (the paths of other Ingresses on a regex host). */
export function literalRegex(path: string): string {
  return path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
