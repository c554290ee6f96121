// The echogarden WASM packages ship emscripten factories without type declarations.
declare module '@echogarden/fvad-wasm' {
  const createModule: (options?: Record<string, unknown>) => Promise<unknown>;
  export default createModule;
}
