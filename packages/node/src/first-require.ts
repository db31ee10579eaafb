/**
 * Calls a function once, just before the app first requires one of the given packages: what
 * lets bizmon load its instrumentations (and OpenTelemetry's instrumentation framework with
 * them, about 10 MiB and 40 ms of every start on Node 24, bench/startup.mjs) only in processes
 * that load a package they patch.
 *
 * One wrapper of `Module.prototype.require`, which is where require-in-the-middle hooks too:
 * a bare specifier is matched by its package name, a relative one by the requiring file's
 * package (a package's own files, `pg/lib/client.js`, reached some other way than through its
 * name), at the cost of one string test per require until it fires.
 *
 * The hooks the function installs (require-in-the-middle's, through bizmon's instrumentations)
 * take this wrapper's place in the chain, as if they had been installed when it was: while the
 * function runs, `Module.prototype.require` is the one this wrapper wraps, so they wrap that;
 * then the chain above is put back, and this wrapper passes every require on to them (or, when
 * nothing wrapped it since, leaves the chain). So this very require goes through them, and
 * hooks that wrapped this wrapper in the meantime (an app's OpenTelemetry SDK started before it
 * loads `pg`) still see it once and stay above bizmon's, as with hooks installed at start.
 */
import Module from 'node:module';

type Require = (this: Module, id: string) => unknown;

const escape = (name: string): string => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const alternativesOf = (names: readonly string[]): string => names.map(escape).join('|');

/**
 * Matches a path or URL inside one of the packages, wherever the package manager put them
 * (`…/node_modules/pg/lib/client.js`): the requiring file here, the module's URL in the ESM
 * loader hook (register.mts).
 */
export function packageFilePattern(names: readonly string[]): RegExp {
  return new RegExp(`[/\\\\]node_modules[/\\\\](?:${alternativesOf(names)})[/\\\\]`);
}

/**
 * Installs the wrapper; `onFirst` runs at most once. Returns the function that removes it
 * (shutdown before any of the packages loaded).
 */
export function onFirstRequire(names: readonly string[], onFirst: () => void): () => void {
  const proto = Module.prototype as unknown as { require: Require };
  const original = proto.require;
  /** Where this wrapper sends requires: the original, then what `onFirst` installed. */
  let next = original;
  const bare = new RegExp(`^(?:${alternativesOf(names)})(?:/|$)`);
  const inside = packageFilePattern(names);
  let fired = false;

  function fire(): void {
    fired = true;
    const top = proto.require;
    proto.require = next;
    try {
      onFirst();
    } finally {
      next = proto.require;
      // Nothing wrapped this wrapper: it leaves the chain; otherwise the chain above stays.
      if (top !== wrapper) proto.require = top;
    }
  }

  function wrapper(this: Module, id: string): unknown {
    if (
      !fired &&
      typeof id === 'string' &&
      (bare.test(id) || (id.startsWith('.') && inside.test(this?.filename ?? '')))
    ) {
      fire();
    }
    // eslint-disable-next-line prefer-rest-params
    return next.apply(this, arguments as unknown as [string]);
  }

  proto.require = wrapper;
  return () => {
    fired = true;
    if (proto.require === wrapper) proto.require = next;
  };
}
