/**
 * Module resolve hook of a sandboxed simulation thread (arena/worker.ts registers it): a module
 * in the folder of prepared strategies may import nothing at all. Strategy files are bundled
 * into one module each before the sandbox starts (arena/sandbox.ts), so a legitimate strategy
 * never imports; this refuses `node:` built-ins (the network among them), other files, data:
 * URLs, and dynamic imports from eval'd code, whose referrer is the strategy module too.
 */
interface ResolveContext {
  parentURL?: string;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<unknown>;

let strategyDirUrl = "";

export function initialize(data: { strategyDirUrl: string }): void {
  strategyDirUrl = data.strategyDirUrl;
}

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<unknown> {
  if (strategyDirUrl !== "" && context.parentURL?.startsWith(strategyDirUrl)) {
    throw new Error(`a sandboxed strategy may not import '${specifier}' (docs/sandbox.md)`);
  }
  return next(specifier, context);
}
