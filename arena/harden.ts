/**
 * Hardens the JavaScript built-ins of a sandboxed thread before strategy code runs there
 * (docs/sandbox.md), so that prototype pollution cannot reach the engine or the opponents that
 * share the thread: every built-in constructor, its prototype, the namespaces (Math, JSON,
 * Reflect, Atomics) and the global bindings of those names become non-extensible, with every
 * own data property read-only and every property non-configurable.
 *
 * Node's `--frozen-intrinsics` does the same with Object.freeze, but measured here it made a
 * simulation 3 to 6 times slower (frozen Object.prototype and typed-array prototypes); setting
 * the property attributes one by one gives the same protection at no measurable cost
 * (docs/BENCHMARKS.md).
 */
const TypedArray = Object.getPrototypeOf(Uint8Array) as object;

/** Global names bound to built-ins; each binding and the object behind it are hardened. */
const GLOBALS = [
  "Object",
  "Function",
  "Array",
  "Number",
  "String",
  "Boolean",
  "Symbol",
  "BigInt",
  "Math",
  "JSON",
  "Reflect",
  "Atomics",
  "Map",
  "Set",
  "WeakMap",
  "WeakSet",
  "WeakRef",
  "Promise",
  "Proxy",
  "RegExp",
  "Date",
  "Error",
  "TypeError",
  "RangeError",
  "SyntaxError",
  "ReferenceError",
  "EvalError",
  "URIError",
  "AggregateError",
  "ArrayBuffer",
  "SharedArrayBuffer",
  "DataView",
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
  "isFinite",
  "isNaN",
  "parseFloat",
  "parseInt",
  "NaN",
  "Infinity",
  "undefined",
  "globalThis",
] as const;

/**
 * Properties that ordinary code sets on its own instances (`this.name = "MyError"` in an error
 * class): read-only on the prototype, an assignment on an instance would throw (the "override
 * mistake"). These become accessors that return the original and define an own property on the
 * instance that is assigned, as Node's frozen intrinsics do.
 */
const OVERRIDABLE: ReadonlyMap<object, readonly string[]> = new Map<object, readonly string[]>([
  [Object.prototype, ["constructor", "toString", "toLocaleString", "valueOf"]],
  [Function.prototype, ["toString"]],
  ...[Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError].map(
    (E): [object, readonly string[]] => [E.prototype, ["name", "message", "toString", "constructor"]],
  ),
]);

function overridable(o: object, key: string, value: unknown, enumerable: boolean | undefined): void {
  Object.defineProperty(o, key, {
    get: () => value,
    set(this: object, v: unknown) {
      if (this === o) throw new TypeError(`Cannot assign to read only property '${key}' of a hardened built-in`);
      Object.defineProperty(this, key, { value: v, writable: true, enumerable: true, configurable: true });
    },
    enumerable,
    configurable: false,
  });
}

function hardenObject(o: object, seen: Set<object>): void {
  if (seen.has(o)) return;
  seen.add(o);
  const overrides = OVERRIDABLE.get(o) ?? [];
  for (const key of Reflect.ownKeys(o)) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d && d.configurable && "value" in d && typeof key === "string" && overrides.includes(key)) {
      overridable(o, key, d.value, d.enumerable);
      continue;
    }
    if (!d || !d.configurable) {
      if (d && "value" in d && d.writable && o !== globalThis) Object.defineProperty(o, key, { writable: false });
      continue;
    }
    Object.defineProperty(o, key, "value" in d ? { writable: false, configurable: false } : { configurable: false });
  }
  if (o !== globalThis) Object.preventExtensions(o);
}

/** Hardens the built-ins of the calling thread; idempotent. */
export function hardenIntrinsics(): void {
  const seen = new Set<object>();
  const g = globalThis as unknown as Record<string, unknown>;
  const targets: object[] = [TypedArray, (TypedArray as { prototype: object }).prototype];
  for (const name of GLOBALS) {
    const v = g[name];
    if ((typeof v === "object" || typeof v === "function") && v !== null && v !== globalThis) {
      targets.push(v);
      const proto = (v as { prototype?: unknown }).prototype;
      if ((typeof proto === "object" || typeof proto === "function") && proto !== null) targets.push(proto);
    }
  }
  // Reached through built-ins rather than through a global name.
  targets.push(
    Object.getPrototypeOf(function* () {}) as object,
    Object.getPrototypeOf(async function () {}) as object,
    Object.getPrototypeOf([][Symbol.iterator]()) as object,
    Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as object,
  );
  for (const t of targets) hardenObject(t, seen);
  // The global bindings themselves: `globalThis.Math = ...` must not replace what the engine calls.
  for (const name of GLOBALS) {
    const d = Object.getOwnPropertyDescriptor(globalThis, name);
    if (d?.configurable) {
      Object.defineProperty(
        globalThis,
        name,
        "value" in d ? { writable: false, configurable: false } : { configurable: false },
      );
    }
  }
}
