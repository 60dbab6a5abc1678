// scripts/build.mjs loads .css as text for the webview bundles.
declare module '*.css' {
  const text: string;
  export default text;
}
