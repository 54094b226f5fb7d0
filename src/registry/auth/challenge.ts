/**
 * WWW-Authenticate parsing (RFC 9110 §11.6.1 / RFC 6750 §3): several challenges per header,
 * auth-params with token or quoted-string values (quoted values may contain commas and
 * escaped quotes, e.g. `scope="repository:a:pull,push repository:b:pull"`).
 */

export interface Challenge {
  /** Lower-case scheme: "bearer", "basic", ... */
  scheme: string;
  /** Lower-case parameter names. */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/** Parse one or more WWW-Authenticate header values into challenges, in order. */
export function parseChallenges(headerValues: string | string[] | undefined): Challenge[] {
  if (headerValues === undefined) return [];
  const values = Array.isArray(headerValues) ? headerValues : [headerValues];
  const out: Challenge[] = [];
  for (const v of values) out.push(...parseOne(v));
  return out;
}

function parseOne(s: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = s.length;
  const skipSpace = () => {
    while (i < n && (s[i] === " " || s[i] === "\t")) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && TOKEN_CHAR.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  // Lenient about unquoted values: real servers send `realm=https://host/token` unquoted.
  const readBare = (): string => {
    const start = i;
    while (i < n && s[i] !== "," && s[i] !== " " && s[i] !== "\t") i++;
    return s.slice(start, i);
  };
  const readQuoted = (): string => {
    i++; // opening quote
    let v = "";
    while (i < n && s[i] !== '"') {
      if (s[i] === "\\" && i + 1 < n) i++;
      v += s[i];
      i++;
    }
    i++; // closing quote (or end)
    return v;
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipSpace();
    if (s[i] === ",") {
      i++;
      continue;
    }
    const start = i;
    const name = readToken();
    if (name === "") {
      i++; // skip a stray character rather than loop forever
      continue;
    }
    skipSpace();
    if (s[i] === "=" && current) {
      i++;
      skipSpace();
      const value = s[i] === '"' ? readQuoted() : readBare();
      current.params[name.toLowerCase()] = value;
      continue;
    }
    // token68 form (`Basic dXNlcg==`) after a scheme: keep it, it carries no parameters we use.
    if (s[i] === "=" && !current) {
      i = start;
      break;
    }
    current = { scheme: name.toLowerCase(), params: {} };
    out.push(current);
  }
  return out;
}

/** Build the pull (or push) scope for a repository: `repository:<name>:pull`. */
export function repositoryScope(repository: string, actions: readonly string[] = ["pull"]): string {
  return `repository:${repository}:${actions.join(",")}`;
}
