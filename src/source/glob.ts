/**
 * A file-name filter for folder replay, in the glob syntax plants already type into shells:
 * `*` (any run within one path segment), `?` (one character), `**` (any number of segments),
 * `[abc]`/`[a-z]`/`[!a]`, and `{png,jpg}`. A pattern without `/` is matched against the file's name
 * alone, one with `/` against its path relative to the replay folder. Case-sensitive, as Linux is.
 */
export function globMatcher(pattern: string): (relativePath: string) => boolean {
  const re = new RegExp(`^${globToRegExp(pattern)}$`);
  const byName = !pattern.includes('/');
  return (relativePath) => {
    const p = relativePath.split('\\').join('/');
    return re.test(byName ? p.slice(p.lastIndexOf('/') + 1) : p);
  };
}

function globToRegExp(glob: string): string {
  let out = '';
  let i = 0;
  let braces = 0;
  while (i < glob.length) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches zero or more whole segments; a trailing `**` anything below.
      if (glob[i + 2] === '/') {
        out += '(?:[^/]*/)*';
        i += 3;
      } else {
        out += '.*';
        i += 2;
      }
      continue;
    }
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) out += '\\[';
      else {
        let body = glob.slice(i + 1, end);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        out += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '{') {
      braces++;
      out += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      out += ')';
    } else if (c === ',' && braces > 0) out += '|';
    else out += c.replace(/[.+^$()|\\]/g, '\\$&');
    i++;
  }
  return out;
}
