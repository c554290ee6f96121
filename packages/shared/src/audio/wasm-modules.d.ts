// The echogarden WASM package ships an emscripten factory without type declarations.
declare module '@echogarden/speex-resampler-wasm/simd' {
  const createModule: (options?: Record<string, unknown>) => Promise<unknown>;
  export default createModule;
}
