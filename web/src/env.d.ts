/** CSS imported for its side effect: esbuild bundles it into assets/app.css. */
declare module "*.css";
