// Stylesheets the page imports: esbuild bundles them into the page's CSS file.
declare module '*.css' {}
