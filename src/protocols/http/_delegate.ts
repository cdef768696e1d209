/**
 * The trick the lazy request and the fast response share: an object whose
 * prototype answers a few members itself and hands every other member of a
 * platform class (along its whole prototype chain: a platform's class may be
 * a subclass, as edge-runtime's are) to a real instance, built on first use.
 */

/**
 * Defines on `prototype` every method and getter of `base.prototype` it does
 * not define itself, each calling `realOf(this)` and answering from the
 * result. `prototype` should inherit from `base.prototype`, so that
 * `instanceof` holds.
 */
export function delegateMembers(prototype: object, base: { prototype: object }, realOf: (self: never) => object): void {
  const members = new Map<string, PropertyDescriptor>();
  for (let p: object | null = base.prototype; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) if (!members.has(name)) members.set(name, Object.getOwnPropertyDescriptor(p, name)!);
  }
  for (const [name, d] of members) {
    if (name === "constructor" || Object.prototype.hasOwnProperty.call(prototype, name)) continue;
    if (typeof d.value === "function") {
      Object.defineProperty(prototype, name, {
        value: function (this: never, ...args: unknown[]) {
          const real = realOf(this) as Record<string, (...a: unknown[]) => unknown>;
          return real[name]!(...args);
        },
        configurable: true,
        writable: true,
      });
    } else if (d.get !== undefined) {
      Object.defineProperty(prototype, name, {
        get(this: never) {
          return (realOf(this) as Record<string, unknown>)[name];
        },
        configurable: true,
      });
    }
  }
}
