/**
 * Counts the typed arrays with storage of their own that `fn` makes (new, from, of): float32,
 * float64 and int32 (index arrays), by wrapping the global constructors for the call. Views of
 * another array's buffer (subarray, or a constructor given an ArrayBuffer) own no storage and are
 * not counted: they are what an inference step hands out from its scratch.
 */
export function typedArraysMadeBy(fn: () => void): { float32: number; float64: number; int32: number } {
  const made = { float32: 0, float64: 0, int32: 0 };
  const F32 = globalThis.Float32Array, F64 = globalThis.Float64Array, I32 = globalThis.Int32Array;
  const counted = <C extends typeof Float32Array | typeof Float64Array | typeof Int32Array>(C: C, key: keyof typeof made): C => {
    const proxy: C = new Proxy(C, {
      construct(target, args, newTarget) {
        if (!(args[0] instanceof ArrayBuffer)) made[key]++;
        return Reflect.construct(target, args, newTarget === proxy ? target : newTarget) as object;
      },
    });
    return proxy;
  };
  globalThis.Float32Array = counted(F32, 'float32');
  globalThis.Float64Array = counted(F64, 'float64');
  globalThis.Int32Array = counted(I32, 'int32');
  try {
    fn();
  } finally {
    globalThis.Float32Array = F32;
    globalThis.Float64Array = F64;
    globalThis.Int32Array = I32;
  }
  return made;
}

/** The float typed arrays of typedArraysMadeBy. */
export function floatArraysMadeBy(fn: () => void): { float32: number; float64: number } {
  const { float32, float64 } = typedArraysMadeBy(fn);
  return { float32, float64 };
}
